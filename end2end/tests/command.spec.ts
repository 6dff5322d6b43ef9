import { test, expect, type Page } from '@playwright/test';
import { hydrated, signIn, watchCspViolations } from './helpers';

// The command views on tablets and phones: the crime view (map, filters, a cell's composition,
// the department's basemap read in byte ranges) and the Chief's Daily Snapshot (print preview).

/** Nothing widens the page past the screen (tables and maps scroll inside themselves). */
async function fitsTheScreen(page: Page) {
  expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1)).toBe(true);
}

async function shot(page: Page, name: string) {
  await page.screenshot({ path: test.info().outputPath(`${name}.png`), fullPage: true });
}

test('the crime view maps harm, filters it and opens a cell', async ({ page }) => {
  const violations = await watchCspViolations(page);
  await signIn(page, 'analyst', '/crime');
  // The basemap arrives as byte ranges of one PMTiles file.
  const basemap = page.waitForResponse((r) => r.url().includes('/basemap.pmtiles') && r.status() === 206);
  await page.goto('/crime?end=2020-11-30');
  await hydrated(page);
  const range = await basemap;
  expect(range.headers()['content-range']).toMatch(/^bytes 0-\d+\/\d+$/);

  const summary = page.getByTestId('crime-summary');
  await expect(summary).toContainText('2020-11-03 to 2020-11-30');
  const all = Number((await summary.textContent())!.match(/: (\d+) incidents/)![1]);
  expect(all).toBeGreaterThan(1000);
  // Cells are drawn on the map's canvas, and the incidents clustered.
  await expect(page.locator('#crime-map-state')).not.toHaveAttribute('data-drawn', '');
  await expect(page.locator('.crime-map .leaflet-container')).toHaveAttribute('data-clusters', /^[1-9]\d*$/);
  await expect(page.locator('.crime-map .leaflet-control-attribution')).toContainText('Beatbook test grid');
  await fitsTheScreen(page);
  await shot(page, 'crime-view');

  // Filter to property crime in District 1: fewer incidents, and the address says so.
  await page.getByTestId('filter-category').selectOption('property');
  await expect(page).toHaveURL(/category=property/);
  await expect(summary).not.toContainText(`: ${all} incidents`);
  await page.getByTestId('filter-district').selectOption('D1');
  await expect(page).toHaveURL(/district=D1/);
  const d1 = Number((await summary.textContent())!.match(/: (\d+) incidents/)![1]);
  expect(d1).toBeLessThan(all);
  expect(d1).toBeGreaterThan(0);
  // Gi* shading, after the false-discovery-rate correction.
  await page.getByTestId('shade-gi').click();
  await expect(page).toHaveURL(/shade=gi/);
  await expect(summary).toContainText('hot spots by Gi*');

  // A cell's composition: which offences, their share of harm, and 12 weeks of trend.
  await page.getByTestId('top-cells').getByRole('button').first().click();
  const comp = page.getByTestId('composition');
  await expect(comp.locator('tbody tr').first()).toBeVisible();
  await expect(comp.getByTestId('weekly-trend').locator('rect')).toHaveCount(12);
  await shot(page, 'crime-cell');
  expect(await violations()).toEqual([]);
});

test('the Chief\'s Daily Snapshot prints on one or two sheets', async ({ page }) => {
  await signIn(page, 'commander', '/snapshot');
  await page.goto('/snapshot?date=2020-11-30');
  await hydrated(page);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText("Chief's Daily Snapshot — 2020-11-30");
  await expect(page.getByTestId('snapshot-counts').locator('tr[data-category="property"] td.n').first()).not.toHaveText('0');
  await expect(page.getByTestId('snapshot-hotspots').locator('tbody tr')).toHaveCount(10);
  await fitsTheScreen(page);
  await shot(page, 'snapshot');
  // Print preview: the print stylesheet hides the app's chrome and the controls.
  await page.emulateMedia({ media: 'print' });
  await expect(page.locator('.app-header')).toBeHidden();
  await expect(page.getByTestId('print')).toBeHidden();
  await shot(page, 'snapshot-print');
  const pdf = await page.pdf({ format: 'A4', path: test.info().outputPath('snapshot-print.pdf') });
  // One or two sheets.
  const pages = (pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g) ?? []).length;
  expect(pages).toBeGreaterThanOrEqual(1);
  expect(pages).toBeLessThanOrEqual(2);
  await page.emulateMedia({ media: 'screen' });
  // The server's own PDF downloads too.
  const download = await page.request.get('/snapshot/2020-11-30.pdf');
  expect(download.status()).toBe(200);
  expect(download.headers()['content-type']).toBe('application/pdf');
});
