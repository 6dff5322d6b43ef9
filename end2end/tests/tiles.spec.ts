import { test, expect } from '@playwright/test';
import { hydrated, signIn, watchCspViolations } from './helpers';

// A department's online tile service (BEATBOOK_TILE_URL; here the loopback server that
// playwright.config.ts starts): drawn over the basemap file, allowed by the CSP from exactly its
// origin, and never stored by the service worker.

const tileOrigin = `http://127.0.0.1:${Number(process.env.E2E_PORT ?? 3107) + 3}`;

test('online tiles are drawn on the map, allowed by the CSP, and never stored on the device', async ({ page }) => {
  const violations = await watchCspViolations(page);
  const before = (await (await page.request.get(`${tileOrigin}/hits`)).json()).hits;
  await signIn(page, 'commander', '/crime');
  const response = await page.reload();
  const csp = response?.headers()['content-security-policy'] ?? '';
  expect(csp).toContain(`img-src 'self' data: blob: ${tileOrigin};`);
  await hydrated(page);

  const tiles = page.locator('.online-tiles img.leaflet-tile-loaded');
  await expect(tiles.first()).toBeVisible({ timeout: 30_000 });
  expect(await tiles.first().getAttribute('src')).toMatch(new RegExp(`^${tileOrigin}/tiles/\\d+/\\d+/\\d+\\.png$`));
  expect(await tiles.first().evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);
  await expect(page.locator('.leaflet-control-attribution')).toContainText('Beatbook test tiles');
  const after = (await (await page.request.get(`${tileOrigin}/hits`)).json()).hits;
  expect(after).toBeGreaterThan(before);
  expect(await violations()).toEqual([]);

  // The service worker controls the page and stores its own files, never a tile.
  await page.waitForFunction(() => navigator.serviceWorker?.controller != null, null, { timeout: 30_000 });
  const stored: string[] = await page.evaluate(async () => {
    const urls: string[] = [];
    for (const name of await caches.keys()) {
      for (const request of await (await caches.open(name)).keys()) urls.push(request.url);
    }
    return urls;
  });
  expect(stored.length).toBeGreaterThan(0);
  expect(stored.filter((u) => u.startsWith(tileOrigin))).toEqual([]);
  await page.screenshot({ path: test.info().outputPath('online-tiles.png') });
});
