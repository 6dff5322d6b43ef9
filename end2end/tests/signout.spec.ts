import { test, expect } from '@playwright/test';
import { deviceStore, devicePage, fieldReady, hydrated, issueAndAssign, signIn } from './helpers';

const sealed = (raw: string | undefined) => raw !== undefined && JSON.parse(raw).sealed === 1;

// Signing out of a device in the field: with nothing waiting, the device is cleared; with work
// waiting, sign-out is refused; with no signal, a sergeant's override code signs the officer out
// and keeps the work on the device, and at the officer's next sign-in the work syncs exactly
// once with both names in the audit log.

const phone = () => test.info().project.name === 'phone';
const officerLogin = () => (phone() ? 'd3.officer1' : 'd3.officer2');
const officerNumber = () => (phone() ? '301' : '302');
const shift = () => ({ district: 'D3', shift: 'C', shift_date: phone() ? '2020-12-22' : '2020-12-23' });
const missionId = () => `0193b3c4-0000-7000-8000-${phone() ? 'cc' : 'dd'}0000000010`;

test('signing out with nothing waiting clears the device', async ({ browser }) => {
  const page = await devicePage(browser);
  await signIn(page, 'd4.officer1', '/missions');
  await fieldReady(page);
  const before = await deviceStore(page);
  expect(Object.keys(before)).toEqual(expect.arrayContaining([
    'field-state:d4.officer1', 'field-cache:d4.officer1', 'field-last-user', 'device-keys:d4.officer1',
  ]));
  // What the device keeps about the officer and the city is sealed.
  expect(sealed(before['field-state:d4.officer1']) && sealed(before['field-cache:d4.officer1'])).toBe(true);
  await Promise.all([page.waitForURL('**/signin'), page.getByTestId('sign-out').click()]);
  const after = Object.keys(await deviceStore(page));
  expect(after.filter((k) => k.includes('d4.officer1') || k === 'field-last-user' || k === 'city-overview')).toEqual([]);
  // The session is over on the server too.
  expect((await page.request.post('/api/missions/mine', { data: {} })).status()).toBe(401);
});

test('work waiting: sign-out refused; offline a sergeant overrides; it syncs once at the next sign-in', async ({ browser }) => {
  test.setTimeout(150_000);
  // Command issues a mission in D3; D3's sergeant assigns it to the officer and takes a new
  // override code (shown once).
  const setup = await devicePage(browser);
  await issueAndAssign(setup, shift(), [missionId()], officerNumber());
  await setup.goto('/board');
  await hydrated(setup);
  await setup.getByTestId('override-code-button').click();
  const code = (await setup.getByTestId('override-code-value').textContent())!.trim();
  expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{10}$/);

  // The officer loads the mission (and, with the hot-spot inputs, the sergeant's verifier).
  const officer = await devicePage(browser);
  await signIn(officer, officerLogin(), '/missions');
  await fieldReady(officer);
  const mission = officer.locator(`li.mission[data-mission="${missionId()}"]`);
  await expect(mission).toHaveAttribute('data-status', 'assigned');

  // No signal: the officer starts the mission, then tries to sign out.
  await officer.context().setOffline(true);
  await mission.locator('.mission-head').click();
  await mission.getByRole('button', { name: 'Start mission' }).click();
  await expect(mission).toHaveAttribute('data-status', 'in_progress');
  await expect(officer.getByTestId('sync-status')).toHaveAttribute('data-pending', '1');
  await officer.getByTestId('sign-out').click();
  const panel = officer.getByTestId('signout-panel');
  await expect(panel).toContainText('1 change on this device has not reached the server yet');
  await panel.getByRole('button', { name: 'Sync now' }).click();
  await expect(officer.getByTestId('sync-status')).toHaveAttribute('data-pending', '1');
  await expect(officer).toHaveURL(/\/missions/);

  // A wrong code is refused; the sergeant's code signs the officer out, work kept.
  await panel.getByTestId('override-supervisor').selectOption('d3.sergeant');
  await panel.getByTestId('override-code').fill('WRONGCODE0');
  await panel.getByRole('button', { name: 'Sign out with override' }).click();
  await expect(panel.getByTestId('signout-message')).toHaveText('That code is not right (4 tries left).');
  await panel.getByTestId('override-code').fill(code.toLowerCase());
  await panel.getByRole('button', { name: 'Sign out with override' }).click({ noWaitAfter: true });
  await expect(officer).toHaveURL(/\/signin$/, { timeout: 30_000 });
  await expect(officer.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  // The work stays on the device, sealed: nothing of it readable without the officer's keys.
  const kept = await deviceStore(officer);
  expect(Object.keys(kept)).not.toContain('field-last-user');
  const doc = kept[`field-state:${officerLogin()}`];
  expect(sealed(doc)).toBe(true);
  expect(doc).not.toContain(missionId());
  expect(doc).not.toContain('d3.sergeant');
  // Nothing reached the server meanwhile.
  const events = async () =>
    (await (await setup.request.post('/api/missions/events', { data: { id: missionId() } })).json())
      .filter((e: any) => e.transition === 'start');
  expect(await events()).toHaveLength(0);

  // Signal returns; the officer signs in again: the override is reported, the work syncs once.
  await officer.context().setOffline(false);
  await signIn(officer, officerLogin(), '/missions');
  await hydrated(officer);
  await expect(officer.getByTestId('sync-status')).toHaveAttribute('data-pending', '0', { timeout: 30_000 });
  await expect(mission).toHaveAttribute('data-status', 'in_progress');
  expect(await events()).toHaveLength(1);

  // Both names are on record.
  await setup.context().clearCookies();
  await signIn(setup, 'admin');
  const audit = await (await setup.request.post('/api/admin/audit', { data: { search: { action: 'sync_override' } } })).json();
  const mine = audit.filter((r: any) => r.actor === officerLogin());
  expect(mine).toHaveLength(1);
  expect(mine[0].outcome).toBe('success');
  expect(mine[0].detail).toContain(`d3.sergeant signed ${officerLogin()} out of device`);
  expect(mine[0].detail).toContain('1 unsynced change(s)');
});
