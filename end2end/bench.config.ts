import { defineConfig } from '@playwright/test';

// Benchmarks in the browser (bench/command-views.sh starts the server and sets BENCH_URL).
export default defineConfig({
  testDir: './bench',
  outputDir: './test-results/bench',
  workers: 1,
  retries: 0,
  timeout: 600_000,
  reporter: [['list']],
  use: {
    baseURL: process.env.BENCH_URL ?? 'http://127.0.0.1:3120',
    viewport: { width: 1024, height: 1366 },
    hasTouch: true,
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ],
    },
  },
});
