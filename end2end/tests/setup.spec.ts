import { test, expect, type Page } from '@playwright/test';
import { devicePage, hydrated, signIn } from './helpers';

// A department's own Beatbook. The first test runs against a server started with the demo off
// (playwright.config.ts starts one per project, so each sets its store up from nothing); the
// second against the demo city.

const emptyServer = () =>
  `http://127.0.0.1:${Number(process.env.E2E_PORT ?? 3107) + (test.info().project.name === 'phone' ? 1 : 2)}`;

async function addShift(page: Page, code: string, name: string, starts: string, ends: string, off: string[] = []) {
  await page.getByTestId('add-shift').click();
  const form = page.getByTestId('shift-form');
  await form.getByLabel('Code').fill(code);
  await form.getByLabel('Name').fill(name);
  await form.getByLabel('Starts').fill(starts);
  await form.getByLabel('Ends').fill(ends);
  for (const day of off) await form.locator(`input[name=day][value=${day}]`).uncheck();
  await form.getByRole('button', { name: 'Add shift' }).click();
}

test('a department without the demo: the administrator sees what is missing and sets up its shifts', async ({ browser }) => {
  const page = await devicePage(browser, { baseURL: emptyServer() });
  await signIn(page, 'founder', '/');
  // No crime data for administrators: their start is the setup.
  const start = page.getByTestId('administrator-start');
  await expect(start).toBeVisible();
  await expect(page.getByTestId('demo-clock')).toHaveCount(0);
  await start.getByRole('link', { name: 'Setup' }).click();
  await page.waitForURL('**/setup');
  await hydrated(page);

  // The checklist says what a first mission still needs, and where each is done.
  const step = (key: string) => page.locator(`[data-testid=checklist] li[data-step=${key}]`);
  await expect(page.getByTestId('setup-summary')).toHaveText('5 of 6 steps to a first issued mission are still to do.');
  for (const key of ['districts', 'shifts', 'accounts', 'incidents', 'first_mission']) {
    await expect(step(key)).toHaveAttribute('data-state', 'todo');
  }
  await expect(step('menu')).toHaveAttribute('data-state', 'done');
  await expect(step('harm')).toHaveAttribute('data-state', 'optional');
  await expect(step('districts').getByRole('link', { name: 'Go' })).toHaveAttribute('href', '/upload');
  await expect(page.getByTestId('no-shifts')).toBeVisible();

  // A shift of no length is refused before anything is sent, naming the field.
  await addShift(page, 'A', 'Day watch', '06:00', '06:00');
  await expect(page.getByTestId('shift-error')).toContainText('ends_local: the shift starts and ends at 06:00');
  const form = page.getByTestId('shift-form');
  await form.getByLabel('Ends').fill('14:00');
  for (const day of ['Sat', 'Sun']) await form.locator(`input[name=day][value=${day}]`).uncheck();
  await form.getByRole('button', { name: 'Add shift' }).click();
  await expect(page.getByTestId('setup-message')).toHaveText('Saved shift A: 06:00–14:00 (8 h), Mon–Fri.');
  await expect(step('shifts')).toHaveAttribute('data-state', 'done');

  // A night watch across midnight, and a weekend power shift laid over it: overlap is shown.
  await addShift(page, 'C', 'Night watch', '22:00', '06:00');
  await expect(page.getByTestId('setup-message')).toContainText('Saved shift C: 22:00–06:00 (8 h, into the next day), every day.');
  await addShift(page, 'P', 'Power', '18:00', '02:00', ['Mon', 'Tue', 'Wed', 'Thu', 'Sun']);
  await expect(page.getByTestId('setup-message')).toHaveText('Saved shift P: 18:00–02:00 (8 h, into the next day), Fri, Sat. It overlaps C.');
  const rows = page.locator('[data-testid=shifts] tbody tr');
  await expect(rows).toHaveCount(3);
  await expect(page.locator('tr[data-shift=P] [data-testid=overlaps]')).toHaveText('C');
  await expect(page.locator('tr[data-shift=C] [data-testid=overlaps]')).toHaveText('P');

  // The server's own refusal: a code already taken.
  await addShift(page, 'A', 'Again', '07:00', '15:00');
  await expect(page.getByTestId('setup-message')).toContainText("a shift with code 'A' exists already");
  await page.getByTestId('shift-form').getByRole('button', { name: 'Cancel' }).click();
  await expect(rows).toHaveCount(3);

  // An edit keeps the code; a removal takes the row away.
  await page.locator('tr[data-shift=A]').getByRole('button', { name: 'Edit' }).click();
  await expect(page.getByTestId('shift-form').getByLabel('Code')).toHaveAttribute('readonly', '');
  await page.getByTestId('shift-form').getByLabel('Ends').fill('16:00');
  await page.getByTestId('shift-form').getByRole('button', { name: 'Save shift' }).click();
  await expect(page.getByTestId('setup-message')).toHaveText('Saved shift A: 06:00–16:00 (10 h), Mon–Fri.');
  await page.locator('tr[data-shift=P]').getByRole('button', { name: 'Remove' }).click();
  await expect(page.getByTestId('setup-message')).toHaveText('Removed shift P.');
  await expect(rows).toHaveCount(2);

  // A roster before the districts: refused whole, each fault named by line and column.
  await expect(page.getByTestId('no-squads')).toBeVisible();
  await page.locator('input[name=roster]').setInputFiles({
    name: 'roster.csv',
    mimeType: 'text/csv',
    buffer: Buffer.from('username,display_name,role,district,squad,badge\nr.lee,Ofc Ray Lee,officer,D1,1A,5120\n'),
  });
  await page.getByRole('button', { name: 'Import roster' }).click();
  const refused = page.getByTestId('roster-message');
  await expect(refused).toContainText("line 2, district: no district 'D1' (none are loaded yet: load the district boundaries first)");
  await expect(refused).toContainText("line 2, squad: squad '1A' has no sergeant (lines 2)");
  await expect(page.getByTestId('no-squads')).toBeVisible();

  // What the administrator did is in the audit log, with what it was.
  const audit = await (await page.request.post('/api/admin/audit', { data: { search: { action: 'manage_setup' } } })).json();
  expect(audit.some((r: any) => r.detail.startsWith('changed: 06:00–14:00 (8 h), Mon–Fri -> 06:00–16:00'))).toBe(true);
  expect(audit.some((r: any) => r.outcome === 'failure' && r.detail.includes('exists already'))).toBe(true);
  await page.context().close();
});

test('command sets the patrol rules, and the plan proposes as many places as they say', async ({ page }) => {
  await signIn(page, 'commander', '/rules');
  await hydrated(page);
  // The demo city's clock: its data end on 31 Dec 2020, and the shift screens open there.
  await expect(page.getByTestId('demo-clock')).toHaveText('Demo city: today is 31 Dec 2020');
  // Command works at a desk: its device store opens with no PIN asked.
  await expect(page.getByTestId('vault-state')).toHaveAttribute('data-state', 'open', { timeout: 30_000 });
  await expect(page.getByTestId('choose-pin')).toHaveCount(0);
  await expect(page.getByRole('link', { name: 'Setup' })).toHaveCount(0);
  const form = page.getByTestId('rules-form');
  const version = Number((await page.getByTestId('rules-version').textContent())?.match(/version (\d+)/)?.[1] ?? 0);
  const field = (name: string) => form.locator(`input[name=${name}]`);
  const places = await field('places_per_shift').inputValue();

  // A cap below the target is named before anything is sent.
  const target = Number(await field('target_visits').inputValue());
  await field('cap_visits').fill(String(target - 1));
  await form.getByRole('button', { name: /Put version \d+ in force/ }).click();
  await expect(page.getByTestId('rules-error')).toContainText(`cap_visits: a cap of ${target - 1} visits in 24 hours is below the target of ${target}`);
  await field('cap_visits').fill(String(target * 2));

  const shift = { district: 'D1', shift: 'B', shift_date: '2020-12-15' };
  const proposals = async () =>
    (await (await page.request.post('/api/missions/recommend', { data: { shift } })).json()).proposals.length;
  try {
    await field('places_per_shift').fill('7');
    await form.getByRole('button', { name: `Put version ${version + 1} in force` }).click();
    await expect(page.getByTestId('rules-message')).toHaveText(`Version ${version + 1} is in force from now on.`);
    await expect(page.getByTestId('rules-version')).toHaveText(`In force: version ${version + 1}`);
    await expect(page.locator('[data-testid=rules-history] tbody tr').first()).toContainText(String(version + 1));
    expect(await proposals()).toBe(7);
  } finally {
    // The other specs plan on the demo's rules: put the places back.
    const now = (await (await page.request.post('/api/setup/rules', { data: {} })).json()).current;
    const back = await page.request.post('/api/setup/rules_save', {
      data: { expected_version: now.version, rules: { ...now.rules, places_per_shift: Number(places) } },
    });
    expect(back.status(), await back.text()).toBe(200);
  }
  expect(await proposals()).toBe(Number(places));
  await page.goto('/plan');
  await hydrated(page);
  await expect(page.locator('input[type=date]')).toHaveValue('2020-12-31');
});
