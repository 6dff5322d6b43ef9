import { defineConfig, devices } from '@playwright/test';

const port = Number(process.env.E2E_PORT ?? 3107);
const baseURL = `http://127.0.0.1:${port}`;

// Debian's Chromium, never a downloaded browser; the flags keep it off the (closed) network.
const chromium = {
  executablePath: '/usr/bin/chromium',
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ],
};

export default defineConfig({
  testDir: './tests',
  outputDir: './test-results',
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 15_000 },
  reporter: [['list'], ['./failure-summary.ts']],
  use: {
    baseURL,
    launchOptions: chromium,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
  projects: [
    { name: 'phone', use: { ...devices['Pixel 7'], launchOptions: chromium } },
    { name: 'tablet', use: { viewport: { width: 1024, height: 1366 }, isMobile: false, hasTouch: true, launchOptions: chromium } },
  ],
  webServer: [
    // The department's online tile service (tiles.spec.ts), on loopback; the demo server draws
    // its tiles over the basemap file.
    {
      command: `node tile-server.mjs ${port + 3}`,
      url: `http://127.0.0.1:${port + 3}/hits`,
      timeout: 30_000,
      reuseExistingServer: false,
    },
    {
      command: './serve-e2e.sh',
      url: `${baseURL}/readyz`,
      timeout: 180_000,
      reuseExistingServer: false,
      stdout: 'pipe',
      stderr: 'pipe',
    },
    // A department's own first start, demo off, one per project (setup.spec.ts): each project
    // sets its store up from nothing.
    ...[1, 2].map((n) => ({
      command: `E2E_EMPTY=1 E2E_PORT=${port + n} ./serve-e2e.sh`,
      url: `http://127.0.0.1:${port + n}/readyz`,
      timeout: 180_000,
      reuseExistingServer: false,
      stdout: 'pipe' as const,
      stderr: 'pipe' as const,
    })),
  ],
});
