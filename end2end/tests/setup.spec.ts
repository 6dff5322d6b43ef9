import { test, expect, type Page } from '@playwright/test';
import fs from 'node:fs';
import path from 'node:path';
import { devicePage, fieldReady, hydrated, signIn, walkWithFollowUp } from './helpers';

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
  await expect(page.getByTestId('setup-summary')).toHaveText('6 of 7 steps to a first issued mission are still to do.');
  for (const key of ['districts', 'shifts', 'accounts', 'incidents', 'first_mission']) {
    await expect(step(key)).toHaveAttribute('data-state', 'todo');
  }
  await expect(step('menu')).toHaveAttribute('data-state', 'done');
  // The shipped harm index is in force until the department confirms it (or chooses another).
  await expect(step('harm')).toHaveAttribute('data-state', 'todo');
  await expect(step('harm')).toContainText('cchi@2020 (the Cambridge Crime Harm Index 2020');
  const picker = page.getByTestId('harm-picker');
  await expect(picker.getByLabel('Table')).toHaveValue('cchi@2020');
  await picker.getByRole('button', { name: 'Confirm this table' }).click();
  await expect(page.getByTestId('harm-message')).toHaveText('Harm table cchi@2020 confirmed: it stays in force.');
  await expect(step('harm')).toHaveAttribute('data-state', 'done');
  await expect(page.getByTestId('setup-summary')).toHaveText('5 of 7 steps to a first issued mission are still to do.');
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

// ---- From nothing to a counted outcome -----------------------------------------------------------

/** Signs in with a password of the person's own (not the demo's). */
async function signInWith(page: Page, username: string, password: string, next = '/') {
  await page.goto(`/signin?next=${encodeURIComponent(next)}`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await Promise.all([page.waitForURL((url) => url.pathname === next), page.getByRole('button', { name: 'Sign in' }).click()]);
  await expect(page.getByTestId('account')).toBeVisible();
}

/** The administrator gives `who` a temporary password on Accounts and reads it, shown once. */
async function temporaryPassword(admin: Page, who: string): Promise<string> {
  await admin.goto('/admin/users');
  await hydrated(admin);
  await admin.locator(`tr[data-account="${who}"]`).getByRole('button', { name: 'Edit' }).click();
  await admin.getByRole('button', { name: 'Set a temporary password' }).click();
  const shown = admin.getByTestId('temporary-password');
  await expect(shown).toHaveText(/^[a-z2-9]{4}(-[a-z2-9]{4}){3}$/);
  return (await shown.textContent()) ?? '';
}

/** Hydrated, and the service worker in control: its first activation reloads the page, which
 * would drop a file already chosen. */
async function settled(page: Page) {
  await hydrated(page);
  await page.waitForFunction(() => navigator.serviceWorker?.controller != null, null, { timeout: 30_000 });
  await hydrated(page);
}

/** Loads a file on Load data as the analyst would, not as a dry run. */
async function load(page: Page, kind: string, name: string, body: string | Buffer, fill: Record<string, string> = {}) {
  await page.goto('/upload');
  await settled(page);
  await page.locator('select[name=kind]').selectOption(kind);
  for (const [field, value] of Object.entries(fill)) await page.locator(`input[name=${field}]`).fill(value);
  await page.locator('input[name=file]').setInputFiles({ name, mimeType: 'text/csv', buffer: Buffer.isBuffer(body) ? body : Buffer.from(body) });
  await page.locator('input[name=dry_run]').uncheck();
  await page.getByRole('button', { name: 'Load' }).click();
  await expect(page.getByTestId('upload-result')).toContainText(`${name}: read `, { timeout: 60_000 });
}

// A district around downtown Vancouver, its incidents of 15 November to 31 December 2020 (from
// the demo's file of VPD's open data) and the Cambridge Crime Harm Index as mapped to VPD's
// offences: what a department loads on its first day.
const DOWNTOWN = { west: -123.14, south: 49.27, east: -123.10, north: 49.29 };
const DISTRICTS = JSON.stringify({
  type: 'FeatureCollection',
  features: [{
    type: 'Feature',
    properties: { code: 'N1', name: 'Downtown' },
    geometry: { type: 'Polygon', coordinates: [[[DOWNTOWN.west, DOWNTOWN.south], [DOWNTOWN.east, DOWNTOWN.south], [DOWNTOWN.east, DOWNTOWN.north], [DOWNTOWN.west, DOWNTOWN.north], [DOWNTOWN.west, DOWNTOWN.south]]] },
  }],
});
function downtownIncidents(): string {
  const lines = fs.readFileSync(path.join(__dirname, '../../bodega/demo/vancouver_crime_2020.csv'), 'utf8').trim().split('\n');
  const kept = lines.slice(1).filter((line) => {
    const [, at, , , lat, lon] = line.split(',');
    return at >= '2020-11-15' && Number(lat) > DOWNTOWN.south && Number(lat) < DOWNTOWN.north && Number(lon) > DOWNTOWN.west && Number(lon) < DOWNTOWN.east;
  });
  return [lines[0], ...kept].join('\n') + '\n';
}
const HARM = path.join(__dirname, '../../../shared/data/harm/vancouver_mapping_cchi2020.csv');
// A Monday: the day watch (A, 06:00–16:00 on weekdays since the first test) runs.
const DAY = '2020-12-21';
// Where the officer stands: Granville Street, downtown.
const HERE = { latitude: 49.2826, longitude: -123.1185 };

test('a department from nothing to a counted outcome: setup, plan, proposal, field, follow-up, outcomes — no SQL', async ({ browser }) => {
  test.setTimeout(240_000);
  const server = emptyServer();
  const at = (extra: object = {}) => devicePage(browser, { baseURL: server, ...extra });

  // The administrator (made by `server user add`) imports the analyst from a roster and gives a
  // temporary password.
  const admin = await at();
  await signIn(admin, 'founder', '/setup');
  await hydrated(admin);
  const roster = async (csv: string) => {
    await admin.goto('/setup');
    await settled(admin);
    await admin.locator('input[name=roster]').setInputFiles({ name: 'roster.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await admin.getByRole('button', { name: 'Import roster' }).click();
    await expect(admin.getByTestId('roster-message')).toContainText('Roster imported:');
  };
  await roster('username,display_name,role,district,squad,badge,unit\nana.lyst,Ana Lyst,analyst,,,7001,\n');
  const analyst = await at();
  await signInWith(analyst, 'ana.lyst', await temporaryPassword(admin, 'ana.lyst'), '/upload');

  // The analyst loads the district, the incidents and the harm table.
  await load(analyst, 'districts', 'districts.geojson', DISTRICTS);
  await load(analyst, 'incidents', 'rms-downtown.csv', downtownIncidents());
  await expect(analyst.getByTestId('upload-result')).toContainText('set aside 0');
  await load(analyst, 'harm', 'vancouver_mapping_cchi2020.csv', fs.readFileSync(HARM), { table: 'cambridge-chi', table_version: '2020' });
  await expect(analyst.getByTestId('in-force')).toHaveText('harm table in force: cambridge-chi@2020 (was cchi@2020)');

  // The squad and command from the roster; each gets a temporary password.
  await roster(
    'username,display_name,role,district,squad,badge,unit\n' +
      's.kim,Sgt Sam Kim,sergeant,N1,N1-DAY,5101,\n' +
      'o.diaz,Ofc Olga Diaz,officer,N1,N1-DAY,5102,1A1\n' +
      'c.cho,Cmdr Chris Cho,command,,,5001,\n',
  );
  await expect(admin.locator('[data-testid=squads]')).toContainText('N1-DAY');
  const passwords: Record<string, string> = {};
  for (const who of ['s.kim', 'o.diaz', 'c.cho']) passwords[who] = await temporaryPassword(admin, who);
  await admin.goto('/setup');
  await hydrated(admin);
  for (const key of ['districts', 'shifts', 'accounts', 'incidents', 'harm']) {
    await expect(admin.locator(`[data-testid=checklist] li[data-step=${key}]`)).toHaveAttribute('data-state', 'done');
  }

  // Command plans the day watch: two ranked places with templates of its choosing, and one
  // place tapped on the map.
  const command = await at();
  await signInWith(command, 'c.cho', passwords['c.cho'], '/plan');
  await command.goto(`/plan?district=N1&shift=A&date=${DAY}`);
  await hydrated(command);
  const offered = command.locator('[data-testid=proposals] li.proposal:not(.skipped)');
  await expect(offered.first()).toBeVisible({ timeout: 60_000 });
  await expect(command.locator('main')).toContainText('cambridge-chi@2020');
  const n = await offered.count();
  expect(n).toBeGreaterThanOrEqual(2);
  await offered.nth(0).locator('select[name=template]').selectOption({ label: 'Business check' });
  await offered.nth(1).locator('select[name=template]').selectOption({ label: 'Community contact' });
  for (let i = 2; i < n; i++) await offered.nth(i).getByRole('checkbox').uncheck();
  await command.getByTestId('issue').click();
  await expect(command.getByTestId('plan-message')).toHaveText('Issued 2 missions.');
  const own = command.getByTestId('own-place');
  await own.locator('summary').click();
  const map = own.getByTestId('place-picker').locator('.leaflet-container');
  await expect(map).toBeVisible({ timeout: 30_000 });
  await map.click();
  await expect(own.getByTestId('picked')).toContainText('Chosen: ');
  await own.locator('select[name=own-template]').selectOption({ label: 'Koper visit' });
  await own.getByRole('button', { name: 'Issue at this place' }).click();
  await expect(command.getByTestId('plan-message')).toHaveText('Issued 1 mission.');

  // The officer proposes a place they know; the sergeant approves it into the day watch.
  const why = `Tents and needles in the lane behind the parkade (${test.info().project.name}).`;
  const field = await at({ geolocation: HERE, permissions: ['geolocation'] });
  await signInWith(field, 'o.diaz', passwords['o.diaz'], '/missions');
  await fieldReady(field);
  const propose = field.getByTestId('propose-form');
  await propose.getByLabel('Template').selectOption({ label: 'Park and walk' });
  await propose.getByTestId('use-position').click();
  await propose.getByLabel('What you have seen there').fill(why);
  await propose.getByRole('button', { name: 'Propose' }).click();
  await expect(field.getByTestId('propose-message')).toContainText('Proposed: Park and walk at ');

  const sergeant = await at();
  await signInWith(sergeant, 's.kim', passwords['s.kim'], '/board');
  await sergeant.goto(`/board?district=N1&shift=A&date=${DAY}`);
  await hydrated(sergeant);
  const proposal = sergeant.getByTestId('proposal-queue').locator('article.proposal-card', { hasText: why });
  await proposal.getByRole('button', { name: `Approve for shift A on ${DAY}` }).click();
  await expect(sergeant.getByTestId('proposal-decided')).toContainText(`for shift A on ${DAY}`);
  const column = (name: string) => sergeant.locator(`.column[data-column="${name}"]`);
  await expect(column('Issued').locator('article.card')).toHaveCount(4);
  const card = (name: string) => column(name).locator('article.card', { hasText: why });
  await card('Issued').getByRole('button', { name: 'Acknowledge' }).click();
  await card('Acknowledged').getByRole('combobox').selectOption({ label: 'Ofc Olga Diaz' });
  await card('Acknowledged').getByRole('button', { name: 'Assign' }).click();
  await expect(card('Assigned')).toContainText('Assigned: Ofc Olga Diaz');

  // The officer works it: done, with a note and "needs follow-up".
  const note = `Owner of the parkade wants the lane gated; spoke with two people there (${test.info().project.name}).`;
  await field.reload();
  await fieldReady(field);
  const item = field.locator('li.mission', { hasText: 'Park and walk' });
  await walkWithFollowUp(field, item, 'Disorder', note);

  // The sergeant reads the note in the follow-up queue and makes a mission of it in one step.
  await sergeant.goto('/followups');
  await hydrated(sergeant);
  const waiting = sergeant.locator('li.followup', { hasText: note });
  await expect(waiting.getByTestId('followup-note')).toHaveText(note);
  await waiting.getByLabel('Note or reason').fill('Meet the parkade owner about the gate.');
  await waiting.getByRole('button', { name: 'Make a mission' }).click();
  await expect(sergeant.getByTestId('followup-message')).toContainText('Issued a follow-up mission at');

  // Command's outcomes count it.
  await command.goto('/outcomes');
  await hydrated(command);
  await command.getByTestId('outcomes-district').selectOption('N1');
  // A department's own store runs on the calendar: six years at once are refused, naming the
  // field, and the dates stay to be put right.
  await command.locator('input[name=from]').fill('2020-12-01');
  await command.locator('input[name=from]').dispatchEvent('change');
  await expect(command.getByTestId('outcomes-error')).toContainText('from: at most 366 days at a time');
  await command.locator('input[name=to]').fill('2020-12-31');
  await command.locator('input[name=to]').dispatchEvent('change');
  const row = command.locator('[data-testid=outcomes] tr[data-group="Park and walk"]');
  await expect(row.locator('[data-col=completed]')).toHaveText('1');
  await expect(row.locator('[data-col=follow_ups]')).toHaveText('1');
  await command.screenshot({ path: test.info().outputPath('first-outcome.png'), fullPage: true });
});
