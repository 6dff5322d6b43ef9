import { test, expect, type Page } from '@playwright/test';
import { openNav, signIn, watchCspViolations } from './helpers';

// The foundation's promises, as a person would check them: the city shows, the page is live
// (hydrated), Beatbook is installable, and with no signal it still opens — reload, cold start,
// and a route never visited in this page.

async function waitForOfflineReady(page: Page) {
  // The service worker controls the page and the device store holds the city.
  await page.waitForFunction(() => navigator.serviceWorker?.controller != null, null, { timeout: 30_000 });
  await expect(page.getByTestId('offline-ready')).toBeVisible();
}

test('the demo city is rendered on the server and the page hydrates', async ({ page }) => {
  const violations = await watchCspViolations(page);
  await signIn(page, 'commander');
  const response = await page.goto('/');
  expect(response?.status()).toBe(200);
  expect(response?.headers()['cache-control']).toBe('no-store');
  const html = await response!.text();
  // Server-side rendering: the numbers are in the HTML before any script runs.
  expect(html).toContain('City overview');
  expect(html).toContain('37,512');
  await expect(page.getByRole('heading', { name: 'City overview' })).toBeVisible();
  await expect(page.getByTestId('incident-count')).toHaveText('37,512');
  await expect(page.locator('.cell-map svg rect').first()).toBeAttached();

  // Hydrated: a click changes state (only the WebAssembly app can do this).
  const table = page.getByTestId('offense-table');
  await expect(async () => {
    await page.getByRole('button', { name: 'Table' }).click();
    await expect(table).toBeVisible({ timeout: 1_000 });
  }).toPass({ timeout: 30_000 });
  await expect(table.getByRole('row', { name: /Theft from Vehicle/ })).toContainText('10,428');
  await page.getByRole('button', { name: 'Map' }).click();
  await expect(table).toBeHidden();
  await expect(page.locator('.cell-map svg')).toBeVisible();
  // The strict Content-Security-Policy let the app run and blocked nothing of its own.
  expect(response?.headers()['content-security-policy']).toContain("'strict-dynamic'");
  expect(await violations()).toEqual([]);
});

test('the web app manifest makes Beatbook installable', async ({ page, request }) => {
  await signIn(page, 'commander');
  await page.goto('/');
  const href = await page.locator('link[rel="manifest"]').getAttribute('href');
  expect(href).toBe('/manifest.webmanifest');
  const res = await request.get(href!);
  expect(res.status()).toBe(200);
  expect(res.headers()['content-type']).toContain('application/manifest+json');
  const manifest = await res.json();
  expect(manifest.name).toBe('Beatbook');
  expect(manifest.short_name).toBeTruthy();
  expect(manifest.start_url).toBe('/');
  expect(manifest.display).toBe('standalone');
  expect(manifest.theme_color).toMatch(/^#[0-9a-f]{6}$/i);
  expect(manifest.prefer_related_applications).not.toBe(true);
  const sizes = (purpose: string) =>
    manifest.icons.filter((i: any) => (i.purpose ?? 'any').split(' ').includes(purpose)).map((i: any) => i.sizes);
  expect(sizes('any')).toEqual(expect.arrayContaining(['192x192', '512x512']));
  expect(sizes('maskable')).toContain('512x512');
  for (const icon of manifest.icons) {
    const r = await request.get(icon.src);
    expect(r.status(), icon.src).toBe(200);
    expect(r.headers()['content-type']).toBe(icon.type);
  }
});

test('with no signal, reload, cold start and an unvisited route still render the app', async ({ page, context }) => {
  await signIn(page, 'd1.officer1');
  await page.goto('/');
  await waitForOfflineReady(page);

  // The worker precached this build's hashed bundle.
  const precached: string[] = await page.evaluate(async () => {
    const names = await caches.keys();
    const cache = await caches.open(names.find((n) => n.startsWith('beatbook-shell-'))!);
    return (await cache.keys()).map((r) => new URL(r.url).pathname);
  });
  expect(precached).toContain('/shell');
  expect(precached.some((p) => /^\/pkg\/beatbook\.[^/]+\.wasm$/.test(p))).toBe(true);
  expect(precached.some((p) => /^\/pkg\/beatbook\.[^/]+\.js$/.test(p))).toBe(true);
  expect(precached.some((p) => /^\/pkg\/beatbook\.[^/]+\.css$/.test(p))).toBe(true);

  await context.setOffline(true);

  // Reload with no signal.
  await page.reload();
  await expect(page.getByRole('heading', { name: 'City overview' })).toBeVisible();
  await expect(page.getByTestId('from-device')).toBeVisible();
  await expect(page.getByTestId('incident-count')).toHaveText('37,512');
  await expect(page.getByTestId('connectivity')).toHaveText('No signal');

  // Cold navigation to a route this page never loaded.
  await page.goto('/places');
  await expect(page.getByRole('heading', { name: 'Busiest micro places' })).toBeVisible();
  await expect(page.getByTestId('places').locator('li')).toHaveCount(25);

  // Cold start: a fresh tab, still offline.
  const fresh = await context.newPage();
  await fresh.goto('/places');
  await expect(fresh.getByRole('heading', { name: 'Busiest micro places' })).toBeVisible();
  await expect(fresh.getByTestId('places').locator('li').first()).toContainText('incidents');
  await fresh.screenshot({ path: test.info().outputPath('offline-places.png'), fullPage: true });

  // Client-side navigation works offline too.
  await (await openNav(fresh)).getByRole('link', { name: 'Overview' }).click();
  await expect(fresh.getByTestId('incident-count')).toHaveText('37,512');
  await context.setOffline(false);
});

test('unknown paths get a real 404 page', async ({ page }) => {
  await signIn(page, 'commander');
  const res = await page.goto('/no-such-page');
  expect(res?.status()).toBe(404);
  await expect(page.getByRole('heading', { name: 'Not found' })).toBeVisible();
});
