import { test, expect, type Page } from '@playwright/test';
import { devicePage, fieldReady, issueAndAssign, signIn, unlock } from './helpers';

// The browser half of the sync fault table (docs/SYNC.md): a tab killed mid-write (#7), storage
// that refuses writes (#10), an old client meeting a new server (#11), and a network that flaps
// while two people work (#12). The server half is server/tests/server/sync.rs.

const phone = () => test.info().project.name === 'phone';
// D1's officers 3–6 and shifts on 26–31 Dec: no other spec uses them.
const officer = (k: number) => `d1.officer${phone() ? k : k + 1}`;
const officerNumber = (k: number) => `10${phone() ? k : k + 1}`;
const shift = (day: number) => ({ district: 'D1', shift: 'A', shift_date: `2020-12-${day + (phone() ? 0 : 1)}` });
const ids = (tag: string, n: number) =>
  Array.from({ length: n }, (_, i) => `0193b3c4-0000-7000-8f00-${tag}${phone() ? 'a' : 'b'}00000000${i}0`);
const item = (page: Page, id: string) => page.locator(`li.mission[data-mission="${id}"]`);

async function officerDevice(browser: any, login: string): Promise<Page> {
  const page = await devicePage(browser);
  await signIn(page, login, '/missions');
  await fieldReady(page);
  return page;
}

test('#7 a tab killed mid-write: what the screen showed as saved is on the device, and nothing half-written', async ({ browser }) => {
  test.setTimeout(150_000);
  const missions = ids('7', 3);
  const setup = await devicePage(browser);
  await issueAndAssign(setup, shift(26), missions, officerNumber(3));
  let page = await officerDevice(browser, officer(3));
  const context = page.context();
  await context.setOffline(true);
  let started = 0;
  for (const [round, id] of missions.entries()) {
    await item(page, id).locator('.mission-head').click();
    await item(page, id).getByRole('button', { name: 'Start mission' }).click({ noWaitAfter: true });
    // Close the tab a few milliseconds into the write (a different moment each round).
    await page.waitForTimeout(round * 7);
    const shownSaved = await page.evaluate(
      (id) => document.querySelector(`li.mission[data-mission="${id}"]`)?.getAttribute('data-status') === 'in_progress',
      id,
    ).catch(() => false);
    await page.close();
    page = await context.newPage();
    await page.goto('/missions');
    await unlock(page);
    await expect(page.getByTestId('sync-status')).toBeVisible();
    // Shown as saved → on the device: the reopened app (which reads only the device) shows
    // it, and counts it as waiting; not shown → either way, but never half: the status and
    // the waiting count agree (the effect is the outbox's, never stored apart from it).
    const status = await item(page, id).getAttribute('data-status');
    if (shownSaved) expect(status).toBe('in_progress');
    expect(['in_progress', 'assigned']).toContain(status);
    started += status === 'in_progress' ? 1 : 0;
    await expect(page.getByTestId('sync-status')).toHaveAttribute('data-pending', String(started));
  }
  // Back online: what was saved reaches the server once.
  await context.setOffline(false);
  await expect(page.getByTestId('sync-status')).toHaveAttribute('data-pending', '0', { timeout: 30_000 });
  // Each start is on the server at most once, and device and server agree. (A write the killed
  // tab left in flight can still commit after the new tab read the store; the service worker's
  // Background Sync then delivers it, and the device learns it at its next pull.)
  for (const id of missions) {
    const starts = async () =>
      (await (await setup.request.post('/api/missions/events', { data: { id } })).json())
        .filter((e: any) => e.transition === 'start').length;
    await expect.poll(async () => {
      await page.getByTestId('sync-status').getByRole('button', { name: 'Sync now' }).click({ timeout: 1_000 }).catch(() => {});
      const onDevice = await item(page, id).getAttribute('data-status');
      return (await starts()) === (onDevice === 'in_progress' ? 1 : 0);
    }, { timeout: 45_000, intervals: [1_000] }).toBe(true);
    expect(await starts()).toBeLessThanOrEqual(1);
  }
});

test('#10 a full device refuses the write: it is not shown as saved and the officer is told', async ({ browser }) => {
  const [id] = ids('a', 1);
  const setup = await devicePage(browser);
  await issueAndAssign(setup, shift(27), [id], officerNumber(3));
  const page = await devicePage(browser);
  // Record the request for persistent storage the app makes at sign-in, and let the test fill
  // the disk: while `__storageFull` is set, IndexedDB refuses every write with the
  // QuotaExceededError a full device gives.
  await page.addInitScript(() => {
    const w = window as any;
    const original = navigator.storage?.persist?.bind(navigator.storage);
    w.__persistAsked = 0;
    if (original) {
      navigator.storage.persist = () => {
        w.__persistAsked += 1;
        return original();
      };
    }
    w.__storageFull = false;
    const put = IDBObjectStore.prototype.put;
    IDBObjectStore.prototype.put = function (...args: any[]) {
      if (w.__storageFull) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      return put.apply(this, args as any);
    };
  });
  await signIn(page, officer(3), '/missions');
  await fieldReady(page);
  expect(await page.evaluate(() => (window as any).__persistAsked)).toBeGreaterThan(0);
  await page.evaluate(() => ((window as any).__storageFull = true));
  await page.context().setOffline(true);
  await item(page, id).locator('.mission-head').click();
  await item(page, id).getByRole('button', { name: 'Start mission' }).click();
  await expect(page.getByTestId('sync-status')).toContainText('not saved');
  await expect(item(page, id)).toHaveAttribute('data-status', 'assigned');
  await expect(page.getByTestId('sync-status')).toHaveAttribute('data-pending', '0');
  // Room again: the officer repeats the step and it is kept.
  await page.evaluate(() => ((window as any).__storageFull = false));
  await item(page, id).getByRole('button', { name: 'Start mission' }).click();
  await expect(item(page, id)).toHaveAttribute('data-status', 'in_progress');
  await expect(page.getByTestId('sync-status')).toHaveAttribute('data-pending', '1');
});

test('#11 an old client meets a new server: told to update, the outbox survives and re-pushes once', async ({ browser }) => {
  test.setTimeout(120_000);
  const [id] = ids('b', 1);
  const setup = await devicePage(browser);
  await issueAndAssign(setup, shift(28), [id], officerNumber(3));
  const page = await officerDevice(browser, officer(3));
  // The server's real answer to a client of another wire version.
  const probe = await page.request.post('/api/sync/push', {
    data: { schema_version: 999, device_id: 'probe', mutations: [] },
  });
  expect(probe.status()).toBe(409);
  const upgrade = await probe.text();
  expect(JSON.parse(upgrade).error).toBe('upgrade');
  // From here the server speaks a newer version than this client (the refusal it gives such a
  // client is replayed for every push until the client has updated).
  const upgradeHeaders = probe.headers();
  await page.route('**/api/sync/push', (route) =>
    route.fulfill({ status: 409, headers: upgradeHeaders, contentType: 'application/json', body: upgrade }));
  await item(page, id).locator('.mission-head').click();
  await item(page, id).getByRole('button', { name: 'Start mission' }).click();
  await expect(item(page, id)).toHaveAttribute('data-status', 'in_progress');
  await expect(page.getByTestId('sync-status')).toHaveAttribute('data-pending', '1');
  await expect(page.getByTestId('sync-status')).toContainText('update');
  // The client updates (a reload under the current worker) and pushes its untouched outbox.
  await page.unroute('**/api/sync/push');
  await page.reload();
  await expect(page.getByTestId('sync-status')).toHaveAttribute('data-pending', '0', { timeout: 30_000 });
  const events = await (await setup.request.post('/api/missions/events', { data: { id } })).json();
  expect(events.filter((e: any) => e.transition === 'start')).toHaveLength(1);
});

test('#12 a flapping network while two people work: everything converges, each action once', async ({ browser }) => {
  test.setTimeout(200_000);
  const missions = ids('c', 4);
  const setup = await devicePage(browser);
  await issueAndAssign(setup, shift(29), missions, officerNumber(3), 2);
  const off = await officerDevice(browser, officer(3));
  const sgt = await officerDevice(browser, 'd1.sergeant');
  // A seeded schedule of toggles (like Jepsen's disconnect-random), with work in between.
  let seed = phone() ? 12 : 21;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const actions: Array<[Page, string, string]> = [
    [off, missions[0], 'Start mission'],
    [sgt, missions[2], 'Acknowledge'],
    [off, missions[1], 'Start mission'],
    [sgt, missions[3], 'Acknowledge'],
  ];
  for (const [page, id, button] of actions) {
    for (const p of [off, sgt]) await p.context().setOffline(random() < 0.5);
    await item(page, id).locator('.mission-head').click();
    await item(page, id).getByRole('button', { name: button, exact: true }).click();
    for (let flap = 0; flap < 3; flap++) {
      await page.waitForTimeout(Math.floor(random() * 400));
      for (const p of [off, sgt]) await p.context().setOffline(random() < 0.5);
    }
  }
  // Quiesce: signal everywhere; both outboxes drain.
  for (const p of [off, sgt]) await p.context().setOffline(false);
  for (const p of [off, sgt]) {
    await p.getByTestId('sync-status').getByRole('button', { name: 'Sync now' }).click();
    await expect(p.getByTestId('sync-status')).toHaveAttribute('data-pending', '0', { timeout: 60_000 });
  }
  // Strong convergence: every screen shows the server's status of every mission it holds.
  const board = await (await setup.request.post('/api/missions/board', { data: { shift: shift(29) } })).json();
  const server = new Map(board.missions.map((m: any) => [m.id, m.status]));
  expect(missions.map((id) => server.get(id))).toEqual(['in_progress', 'in_progress', 'acknowledged', 'acknowledged']);
  for (const p of [off, sgt]) {
    await p.getByTestId('sync-status').getByRole('button', { name: 'Sync now' }).click();
    for (const id of missions) {
      if (await item(p, id).count()) await expect(item(p, id)).toHaveAttribute('data-status', server.get(id) as string);
    }
  }
  for (const [, id, button] of actions) {
    const events = await (await setup.request.post('/api/missions/events', { data: { id } })).json();
    const kind = button === 'Acknowledge' ? 'acknowledge' : 'start';
    expect(events.filter((e: any) => e.transition === kind), `${kind} ${id}`).toHaveLength(1);
  }
});
