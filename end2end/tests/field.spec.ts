import { test, expect, type Browser, type Page } from '@playwright/test';
import { devicePage, fieldReady, issueAndAssign, signIn, unlock } from './helpers';

// Officers and sergeants in the field with no signal: their missions still open after a reload
// and a cold start; the officer completes two missions and the sergeant acknowledges one while
// offline; the work waits across closed pages and reaches the server exactly once when the
// signal returns, and both screens say so.

const phone = () => test.info().project.name === 'phone';
const officerLogin = () => (phone() ? 'd2.officer1' : 'd2.officer2');
const officerNumber = () => (phone() ? '201' : '202');
const shift = () => ({ district: 'D2', shift: 'C', shift_date: phone() ? '2020-12-20' : '2020-12-21' });
const missionId = (i: number) => `0193b3c4-0000-7000-8000-${phone() ? 'aa' : 'bb'}00000000${i}0`;

/** The officer's device, signed in on "My missions", synced and ready for no signal. */
async function fieldPage(browser: Browser, user: string): Promise<Page> {
  const page = await devicePage(browser);
  await signIn(page, user, '/missions');
  await fieldReady(page);
  return page;
}

/** "I am here" at a mission's place: the hot spots near it, scored on the device, are listed. */
async function nearbyShows(page: Page, i: number) {
  await page.getByTestId('i-am-here').selectOption(missionId(i));
  const list = page.getByTestId('nearby-hot-spots').locator('.nearby-list li');
  await expect(list.first()).toBeVisible();
  // Best first, all within the 1.5 km radius, each with a distance and a compass direction.
  const rows = await list.evaluateAll((els) =>
    els.map((e) => [Number(e.getAttribute('data-rank')), Number(e.getAttribute('data-distance-m')), e.textContent]));
  expect(rows.map((r) => r[0])).toEqual([...rows.map((r) => r[0] as number)].sort((a, b) => a - b));
  for (const [, metres, text] of rows) {
    expect(metres as number).toBeLessThanOrEqual(1500);
    // By default the next 12 hours' forecast the last sync brought ranks them.
    expect(text).toMatch(/harm [\d.]+ expected in 12 h · \d+ incidents in 90 days.*(m|km) (N|NE|E|SE|S|SW|W|NW)/);
  }
  await expect(page.getByTestId('nearby-hot-spots')).toContainText("The next 12 hours' forecast from");
}

const item = (page: Page, i: number) => page.locator(`li.mission[data-mission="${missionId(i)}"]`);

test('officer and sergeant work offline; three actions sync exactly once', async ({ browser }) => {
  test.setTimeout(150_000);
  const setup = await browser.newPage({ baseURL: test.info().project.use.baseURL });
  await issueAndAssign(setup, shift(), [0, 1, 2].map(missionId), officerNumber(), 2);
  await setup.close();
  let officer = await fieldPage(browser, officerLogin());
  let sergeant = await fieldPage(browser, 'd2.sergeant');
  await expect(officer.getByTestId('my-missions').locator('li.mission')).toHaveCount(2);
  await expect(item(sergeant, 2)).toHaveAttribute('data-status', 'issued');

  // Both lose signal; a reload still shows their missions, from the device.
  for (const page of [officer, sergeant]) {
    await page.context().setOffline(true);
    await page.reload();
    // The store is sealed; with no signal the officer's PIN opens it.
    await unlock(page);
    await expect(page.getByTestId('connectivity')).toHaveText('No signal');
  }
  await expect(officer.getByTestId('my-missions').locator('li.mission')).toHaveCount(2);
  await expect(item(sergeant, 2)).toBeVisible();
  // ...and the hot spots near them, scored on the device from the aggregates it keeps.
  await nearbyShows(officer, 0);
  await nearbyShows(sergeant, 2);

  // The officer completes two missions; the sergeant acknowledges the third.
  for (const i of [0, 1]) {
    await item(officer, i).locator('.mission-head').click();
    const form = officer.locator(`li.mission[data-mission="${missionId(i)}"] .outcome-form`);
    await form.getByRole('button', { name: 'more Contacts made' }).click();
    await form.getByRole('button', { name: 'Quiet' }).click();
    await form.getByRole('button', { name: 'Complete mission' }).click();
    await expect(item(officer, i)).toHaveAttribute('data-status', 'completed');
  }
  await item(sergeant, 2).locator('.mission-head').click();
  await item(sergeant, 2).getByRole('button', { name: 'Acknowledge', exact: true }).click();
  await expect(item(sergeant, 2)).toHaveAttribute('data-status', 'acknowledged');
  await expect(officer.getByTestId('sync-status')).toHaveAttribute('data-pending', '2');
  await expect(sergeant.getByTestId('sync-status')).toHaveAttribute('data-pending', '1');
  await officer.screenshot({ path: test.info().outputPath('officer-offline-pending.png'), fullPage: true });

  // Close the pages; reopen with no signal (a cold start): still pending, still done.
  const officerContext = officer.context();
  const sergeantContext = sergeant.context();
  await officer.close();
  await sergeant.close();
  officer = await officerContext.newPage();
  sergeant = await sergeantContext.newPage();
  await officer.goto('/missions');
  await sergeant.goto('/missions');
  await unlock(officer);
  await unlock(sergeant);
  await expect(officer.getByTestId('sync-status')).toHaveAttribute('data-pending', '2');
  await expect(sergeant.getByTestId('sync-status')).toHaveAttribute('data-pending', '1');
  await expect(item(officer, 0)).toHaveAttribute('data-status', 'completed');
  await expect(item(sergeant, 2)).toHaveAttribute('data-status', 'acknowledged');
  await nearbyShows(officer, 1);

  // Signal returns: both outboxes drain and both screens say so.
  await officerContext.setOffline(false);
  await sergeantContext.setOffline(false);
  for (const page of [officer, sergeant]) {
    await expect(page.getByTestId('sync-status')).toHaveAttribute('data-pending', '0', { timeout: 30_000 });
    await expect(page.getByTestId('sync-status')).toContainText('All changes synced');
  }
  // The server has each action exactly once.
  const board = await (await sergeant.request.post('/api/missions/board', { data: { shift: shift() } })).json();
  const status = (i: number) => board.missions.find((m: any) => m.id === missionId(i)).status;
  expect([status(0), status(1), status(2)]).toEqual(['completed', 'completed', 'acknowledged']);
  const events = await (await sergeant.request.post('/api/missions/events', { data: { id: missionId(0) } })).json();
  expect(events.filter((e: any) => e.transition === 'complete')).toHaveLength(1);
  const acks = await (await sergeant.request.post('/api/missions/events', { data: { id: missionId(2) } })).json();
  expect(acks.filter((e: any) => e.transition === 'acknowledge')).toHaveLength(1);
  // The sergeant's device now shows the officer's completions too.
  await expect(item(sergeant, 0)).toHaveAttribute('data-status', 'completed');
});

test('two windows of one officer with no signal: each write keeps its own place in the outbox and reaches the server once', async ({ browser }) => {
  test.setTimeout(150_000);
  // D2's officers 3 and 4, shift A on 26/27 Dec: no other spec uses them.
  const login = phone() ? 'd2.officer3' : 'd2.officer4';
  const twoShift = { district: 'D2', shift: 'A', shift_date: phone() ? '2020-12-26' : '2020-12-27' };
  const ids = [0, 1].map((i) => `0193b3c4-0000-7000-8e00-${phone() ? 'a2' : 'b2'}00000000${i}0`);
  const setup = await browser.newPage({ baseURL: test.info().project.use.baseURL });
  await issueAndAssign(setup, twoShift, ids, phone() ? '203' : '204');
  await setup.close();

  // The same phone, two tabs of Beatbook, both showing the two missions.
  const first = await fieldPage(browser, login);
  const second = await first.context().newPage();
  await second.goto('/missions');
  await fieldReady(second);
  const mission = (page: Page, i: number) => page.locator(`li.mission[data-mission="${ids[i]}"]`);
  await expect(mission(second, 1)).toHaveAttribute('data-status', 'assigned');

  // No signal. Each tab completes a different mission; the second tab has not seen the first's.
  await first.context().setOffline(true);
  for (const [page, i] of [[first, 0], [second, 1]] as const) {
    await mission(page, i).locator('.mission-head').click();
    await mission(page, i).getByRole('button', { name: 'Start mission' }).click();
    await expect(mission(page, i)).toHaveAttribute('data-status', 'in_progress');
  }
  // Both starts are on the device: the second tab read the first's before saving its own.
  await expect(second.getByTestId('sync-status')).toHaveAttribute('data-pending', '2');
  await expect(mission(second, 0)).toHaveAttribute('data-status', 'in_progress');

  // Signal returns: the server has both starts, each exactly once.
  await first.context().setOffline(false);
  for (const page of [first, second]) {
    await page.evaluate(() => window.dispatchEvent(new Event('online')));
    await expect(page.getByTestId('sync-status')).toHaveAttribute('data-pending', '0', { timeout: 30_000 });
  }
  const sergeant = await browser.newPage({ baseURL: test.info().project.use.baseURL });
  await signIn(sergeant, 'd2.sergeant');
  for (const id of ids) {
    const events = await (await sergeant.request.post('/api/missions/events', { data: { id } })).json();
    expect(events.filter((e: any) => e.transition === 'start'), id).toHaveLength(1);
  }
  await sergeant.close();
});
