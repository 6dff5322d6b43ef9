import { test, expect } from '@playwright/test';
import { DEVICE_PIN, FROM_BEATBOOK, devicePage, deviceStore, fieldReady, issueAndAssign, signIn, unlock } from './helpers';

// The device store's lock: sealed at rest, opened by a signed-in session (the server-held key)
// or, with no signal, by the officer's PIN; wrong PINs count and five drop the PIN copy, after
// which only signing in with signal opens it — and unsynced work survives all of it. The idle
// lock closes the store after 30 minutes untouched. Signed in but without the server-held key (a
// server error), the PIN opens it; a refusal of the key (a revoked device) offers no PIN.

const phone = () => test.info().project.name === 'phone';
const officer = () => (phone() ? 'd4.officer5' : 'd4.officer6');
const officerNumber = () => (phone() ? '405' : '406');
const shift = (day: number) => ({ district: 'D4', shift: 'C', shift_date: `2020-12-${day + (phone() ? 0 : 1)}` });
const missionId = (tag: string) => `0193b3c4-0000-7000-8d00-${tag}${phone() ? 'a' : 'b'}0000000010`;
const item = (page: any, id: string) => page.locator(`li.mission[data-mission="${id}"]`);

/** A mission `tag` assigned to this project's officer on `day`, and the officer signed in on a
 *  fresh device with it loaded and a PIN chosen. */
async function officerWithMission(browser: any, tag: string, day: number) {
  const id = missionId(tag);
  const setup = await devicePage(browser);
  await issueAndAssign(setup, shift(day), [id], officerNumber());
  const page = await devicePage(browser);
  await signIn(page, officer(), '/missions');
  await fieldReady(page);
  return { id, setup, page };
}

test('wrong PINs count, five drop the PIN copy, and signing in with signal still opens the work', async ({ browser }) => {
  test.setTimeout(200_000);
  const { id, setup, page } = await officerWithMission(browser, '1', 14);
  // At rest, nothing about the mission is readable.
  const raw = await deviceStore(page);
  expect(raw[`field-state:${officer()}`]).not.toContain(id);
  expect(JSON.parse(raw[`field-state:${officer()}`]).sealed).toBe(1);

  await page.context().setOffline(true);
  await item(page, id).locator('.mission-head').click();
  await item(page, id).getByRole('button', { name: 'Start mission' }).click();
  await expect(page.getByTestId('sync-status')).toHaveAttribute('data-pending', '1');

  // A reload with no signal: locked; two wrong PINs, then the right one.
  await page.reload();
  const form = page.getByTestId('unlock');
  await expect(form).toBeVisible();
  await expect(page.getByTestId('my-missions')).toHaveCount(0);
  for (const left of [4, 3]) {
    await form.getByTestId('pin').fill('0000');
    await form.getByRole('button', { name: 'Unlock' }).click();
    await expect(form.getByTestId('unlock-message')).toHaveText(`Wrong PIN (${left} tries left).`);
  }
  await unlock(page);
  await expect(item(page, id)).toHaveAttribute('data-status', 'in_progress');
  await expect(page.getByTestId('sync-status')).toHaveAttribute('data-pending', '1');

  // The right PIN reset the count; five wrong ones now drop the PIN copy.
  await page.reload();
  for (let i = 0; i < 5; i++) {
    await form.getByTestId('pin').fill('1111');
    await form.getByRole('button', { name: 'Unlock' }).click();
    await expect(form.getByTestId('unlock-message')).toBeVisible();
  }
  await expect(form.getByTestId('unlock-message')).toContainText('can no longer be opened with a PIN');
  await form.getByTestId('pin').fill(DEVICE_PIN);
  await form.getByRole('button', { name: 'Unlock' }).click();
  await expect(form.getByTestId('unlock-message')).toContainText('can no longer be opened with a PIN');
  expect(JSON.parse((await deviceStore(page))[`device-keys:${officer()}`]).pin).toBeNull();

  // With signal, signing in opens the store with the server-held key: the work is there and
  // reaches the server once; the officer chooses a new PIN.
  await page.context().setOffline(false);
  await signIn(page, officer(), '/missions');
  await expect(page.getByTestId('choose-pin')).toBeVisible();
  await fieldReady(page);
  await expect(page.getByTestId('sync-status')).toHaveAttribute('data-pending', '0', { timeout: 30_000 });
  await expect(item(page, id)).toHaveAttribute('data-status', 'in_progress');
  const events = await (await setup.request.post('/api/missions/events', { data: { id } })).json();
  expect(events.filter((e: any) => e.transition === 'start')).toHaveLength(1);
});

test('the idle lock closes the store after 30 minutes untouched, and the PIN opens it offline', async ({ browser }) => {
  test.setTimeout(150_000);
  const id = missionId('2');
  const setup = await devicePage(browser);
  await issueAndAssign(setup, shift(16), [id], officerNumber());
  const page = await devicePage(browser);
  await page.clock.install();
  await signIn(page, officer(), '/missions');
  await fieldReady(page);
  await page.context().setOffline(true);
  await expect(item(page, id)).toBeVisible();
  await page.clock.runFor('29:00');
  await expect(item(page, id)).toBeVisible();
  await page.clock.runFor('01:30');
  await expect(page.getByTestId('unlock')).toBeVisible();
  await expect(page.getByTestId('my-missions')).toHaveCount(0);
  await unlock(page);
  await expect(item(page, id)).toHaveAttribute('data-status', 'assigned');
});

test('when the device key cannot be had after signing in, the PIN opens the store; a refusal offers no PIN', async ({ browser }) => {
  test.setTimeout(150_000);
  const { id, page } = await officerWithMission(browser, '3', 18);

  // Signed in, but the server-held key does not come (a server error): the lock screen, and the
  // officer's PIN opens the missions.
  await page.route('**/api/device/key', (route) =>
    route.fulfill({ status: 503, headers: FROM_BEATBOOK, contentType: 'application/json', body: '{"error":"unavailable","message":"down"}' }),
  );
  await page.reload();
  await expect(page.getByTestId('unlock')).toBeVisible();
  await expect(page.getByTestId('my-missions')).toHaveCount(0);
  await unlock(page);
  await expect(item(page, id)).toHaveAttribute('data-status', 'assigned');

  // The server refuses the key, as it does for a revoked device: no PIN is offered.
  await page.unroute('**/api/device/key');
  await page.route('**/api/device/key', (route) =>
    route.fulfill({ status: 403, headers: FROM_BEATBOOK, contentType: 'application/json', body: '{"error":"revoked","message":"revoked"}' }),
  );
  await page.reload();
  await expect(page.locator('.vault-error')).toContainText('refused this device its key (403)');
  await expect(page.getByTestId('unlock')).toHaveCount(0);
  await expect(page.getByTestId('my-missions')).toHaveCount(0);
});
