import { test, expect, type Page } from '@playwright/test';
import { hydrated, signIn, watchCspViolations } from './helpers';

// Hostile input against the running server: oversized and malformed bodies, SQL metacharacters,
// path traversal, and script typed into text fields that are shown back to other people. Each
// answer is a 4xx with a message (never a 5xx), nothing from a refused request is stored, and
// nothing typed ever runs as script in the browser.

// Names unique per project and repeat: the projects (and --repeat-each runs) share one server.
const tag = () => `${test.info().project.name}${test.info().repeatEachIndex || ''}`;
const MARKUP = `<img src=x onerror="window.__pwned=1">`;
const SCRIPT = `<script>window.__pwned=2</script>`;

/** Retires the template named `name` (the tests' own templates must not reach other tests' shift
 * plans, which take the Mission Menu's active templates). */
async function retire(page: Page, name: string) {
  const menu = await (await page.request.post('/api/missions/menu', { data: { include_retired: false } })).json();
  const t = menu.find((m: any) => m.name === name);
  const draft = {
    name: t.name, goal: t.goal, tactic: t.tactic, dwell_minutes: t.dwell_minutes, visits_per_shift: t.visits_per_shift,
    crime_types: t.crime_types, outcome_fields: t.outcome_fields, evidence_note: t.evidence_note, active: false,
  };
  const resp = await page.request.post('/api/missions/menu/save', { data: { key: t.key, expected_version: t.version, draft } });
  expect(resp.status(), await resp.text()).toBe(200);
}

async function notRun(page: Page, cspViolations: () => Promise<string[]>) {
  expect(await page.evaluate(() => (window as any).__pwned)).toBeUndefined();
  expect(await cspViolations()).toEqual([]);
}

test('script typed into sign-in, the Mission Menu and a device revocation is shown as text, never run', async ({ page, browser }) => {
  const cspViolations = await watchCspViolations(page);
  // 1. A username that is markup: the failed attempt lands in the audit log.
  const bad = `${MARKUP}${tag()}`.toLowerCase();
  await page.goto('/signin');
  await page.getByLabel('Username').fill(bad);
  await page.getByLabel('Password').fill('wrong password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('signin-error')).toHaveText('Wrong username or password.');

  // 2. A Mission Menu template whose name and goal are markup and script (an analyst).
  const name = `${MARKUP} ${tag()}`;
  await signIn(page, 'analyst', '/menu');
  await hydrated(page);
  await page.getByTestId('new-template').click();
  const form = page.locator('form.template-form');
  await form.getByLabel('Name').fill(name);
  await form.getByLabel('Goal').fill(SCRIPT);
  await form.getByRole('button', { name: 'Add to the menu' }).click();
  await expect(form).toHaveCount(0);
  const item = page.getByTestId('menu').locator('li', { hasText: name });
  await expect(item).toHaveCount(1);
  await expect(item).toContainText(SCRIPT);
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId('menu').locator('li', { hasText: name })).toContainText(SCRIPT);
  await notRun(page, cspViolations);
  await retire(page, name);

  // 3. The administrator reads the audit log (the markup username) and revokes a device giving
  // markup as the reason.
  await page.context().clearCookies();
  await signIn(page, 'admin', '/admin/audit');
  await hydrated(page);
  await page.getByLabel('Who').fill(bad);
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page.getByTestId('audit').locator('td', { hasText: bad }).first()).toBeVisible();
  await notRun(page, cspViolations);

  const other = await browser.newContext({ baseURL: test.info().project.use.baseURL });
  const officer = await other.newPage();
  const phone = test.info().project.name === 'phone';
  const device = `0193b3c4-0000-7000-8000-${phone ? 'ee' : 'ff'}000000${100 + test.info().repeatEachIndex}a`;
  await signIn(officer, phone ? 'd3.officer3' : 'd3.officer4');
  expect((await officer.request.post('/api/device/key', { data: { device_id: device } })).status()).toBe(200);
  await page.goto('/admin/devices');
  await hydrated(page);
  const row = page.locator(`tr[data-device="${device}"]`);
  await row.getByRole('button', { name: 'Revoke…' }).click();
  await row.getByLabel('Why').fill(SCRIPT);
  await row.getByRole('button', { name: 'Revoke device' }).click();
  await expect(row).toContainText(`revoked`);
  await expect(row).toContainText(SCRIPT);
  await page.reload();
  await hydrated(page);
  await expect(page.locator(`tr[data-device="${device}"]`)).toContainText(SCRIPT);
  await notRun(page, cspViolations);
  await other.close();
});

test('oversized, malformed and metacharacter-laden requests get a clear 4xx and store nothing', async ({ page }) => {
  await signIn(page, 'analyst', '/');
  const req = page.request;
  const clear4xx = async (resp: Awaited<ReturnType<typeof req.post>>, what: string) => {
    const status = resp.status();
    const body = await resp.text();
    expect(status, `${what}: ${body.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
    expect(status, `${what}: ${body.slice(0, 200)}`).toBeLessThan(500);
    expect(body.length, `${what} says why`).toBeGreaterThan(10);
    return body;
  };
  const menuBefore = (await (await req.post('/api/missions/menu', { data: { include_retired: true } })).json()).length;

  // Oversized: a body past the server's limit is refused before it is read whole.
  const huge = 'x'.repeat(3 * 1024 * 1024);
  await clear4xx(await req.post('/api/missions/menu/save', { headers: { 'content-type': 'application/json' }, data: huge }), 'oversized');
  await clear4xx(await req.post('/api/sync/push', { headers: { 'content-type': 'application/json' }, data: huge }), 'oversized push');

  // Malformed JSON, wrong shapes, wrong types.
  for (const [path, body] of [
    ['/api/missions/menu/save', '{"key": null, "draft": '],
    ['/api/missions/menu/save', '[1, 2, 3]'],
    ['/api/crime', '{"query": {"end": 20201130, "days": "seven"}}'],
    ['/api/sync/push', '{"schema_version": 1, "device_id": 5, "mutations": {}}'],
    ['/api/admin/audit', 'null'],
  ]) {
    await clear4xx(await req.post(path, { headers: { 'content-type': 'application/json' }, data: body }), `${path} ${body}`);
  }
  // A template that fails validation, carrying script and SQL: refused, nothing stored.
  const refused = await req.post('/api/missions/menu/save', {
    data: { key: null, expected_version: null, draft: {
      name: '', goal: `${SCRIPT}'); DROP TABLE missions; --`, tactic: 'directed_patrol', dwell_minutes: 15,
      visits_per_shift: 1, crime_types: [], outcome_fields: [], evidence_note: '', active: true } },
  });
  expect((await clear4xx(refused, 'invalid template'))).toContain('name');
  expect((await (await req.post('/api/missions/menu', { data: { include_retired: true } })).json()).length).toBe(menuBefore);

  // SQL metacharacters are data: stored and read back exactly, and the tables are intact.
  const sqlName = `${tag()} O'Brien's "corner"; DROP TABLE mission_templates; --`;
  const saved = await req.post('/api/missions/menu/save', {
    data: { key: null, expected_version: null, draft: {
      name: sqlName, goal: `1' OR '1'='1`, tactic: 'directed_patrol', dwell_minutes: 15, visits_per_shift: 1,
      crime_types: [], outcome_fields: [], evidence_note: '', active: true } },
  });
  expect(saved.status(), await saved.text()).toBe(200);
  const menu = await (await req.post('/api/missions/menu', { data: { include_retired: true } })).json();
  expect(menu.length).toBe(menuBefore + 1);
  expect(menu.find((t: any) => t.name === sqlName)?.goal).toBe(`1' OR '1'='1`);
  await retire(page, sqlName);

  // Path traversal in file names: nothing outside the site or the snapshot is served.
  await page.context().clearCookies();
  await signIn(page, 'commander', '/');
  for (const path of [
    '/snapshot/..%2F..%2F..%2Fetc%2Fpasswd',
    '/snapshot/..%2F..%2FCargo.toml',
    '/snapshot/2020-11-30.csv%00.html',
    '/maps/..%2F..%2F..%2Fetc/basemap.pmtiles',
    '/pkg/..%2F..%2FCargo.toml',
    '/icons/..%2F..%2F..%2Fetc%2Fpasswd',
  ]) {
    const resp = await page.request.get(path);
    const body = await resp.text();
    expect(resp.status(), `${path}: ${body.slice(0, 120)}`).toBeGreaterThanOrEqual(400);
    expect(resp.status(), path).toBeLessThan(500);
    expect(body).not.toContain('root:');
    expect(body).not.toContain('[workspace]');
  }
  // Metacharacters in a search are a search, not a query: no records match, none are leaked.
  await page.context().clearCookies();
  await signIn(page, 'admin', '/');
  const leak = await page.request.post('/api/admin/audit', { data: { search: { actor: `x' OR '1'='1` } } });
  expect(leak.status()).toBe(200);
  expect(await leak.json()).toEqual([]);
});

test('uploads: a file named with markup is shown as text, a malformed file is refused with the reason', async ({ page }) => {
  const cspViolations = await watchCspViolations(page);
  await signIn(page, 'analyst', '/upload');
  await hydrated(page);
  // A dry run of a canonical file whose name is markup and whose one bad row carries script.
  const name = `${MARKUP}-${tag()}.csv`;
  const csv = `id,occurred_at,offense,category,lat,lon\nx-1,2020-12-30T10:00,Mischief,,49.28,-123.12\nx-2,${SCRIPT},Mischief,,49.28,-123.12\n`;
  await page.locator('input[type=file]').setInputFiles({ name, mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await page.getByRole('button', { name: 'Load' }).click();
  const result = page.getByTestId('upload-result');
  await expect(result).toContainText(`Dry run, nothing stored — ${name}: read 2, loaded 1`);
  await expect(result).toContainText('set aside 1');
  await notRun(page, cspViolations);

  // Not a CSV at all, and GeoJSON that is not a FeatureCollection: refused, saying why.
  await page.locator('input[type=file]').setInputFiles({ name: 'noise.csv', mimeType: 'text/csv', buffer: Buffer.from([0xff, 0xfe, 0, 0x9c, 10]) });
  await page.getByRole('button', { name: 'Load' }).click();
  await expect(page.getByTestId('upload-error')).toContainText('Not loaded:');
  await page.locator('select[name=kind]').selectOption('districts');
  await page.getByLabel('Dry run: check everything, store nothing').uncheck();
  await page.locator('input[type=file]').setInputFiles({ name: 'd.geojson', mimeType: 'application/geo+json', buffer: Buffer.from('{"type":"Point","coordinates":[0,0]}') });
  await page.getByRole('button', { name: 'Load' }).click();
  await expect(page.getByTestId('upload-error')).toContainText('Geometry');
  await notRun(page, cspViolations);
});
