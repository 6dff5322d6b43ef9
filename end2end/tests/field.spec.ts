import { test, expect, type Page, type APIRequestContext } from '@playwright/test';
import { hydrated, signIn } from './helpers';

// The officer's phone with no signal: missions still open after a reload and a cold start,
// work done offline waits in the outbox across closed pages, and reaches the server once when
// the signal returns.

const phone = () => test.info().project.name === 'phone';
const officerLogin = () => (phone() ? 'd2.officer1' : 'd2.officer2');
const shift = () => ({ district: 'D2', shift: 'C', shift_date: phone() ? '2020-12-20' : '2020-12-21' });

/** Command staff issue two missions in D2; its sergeant acknowledges and assigns them (API). */
async function twoMissionsFor(page: Page, officer: string): Promise<string[]> {
  await signIn(page, 'commander');
  const api: APIRequestContext = page.request;
  const rec = await (await api.post('/api/missions/recommend', { data: { shift: shift() } })).json();
  const items = rec.proposals.slice(0, 2).map((p: any, i: number) => ({
    id: `0193b3c4-0000-7000-8000-${phone() ? 'aa' : 'bb'}00000000${i}0`,
    template_id: p.template_id, place: p.place, place_label: p.place_label, priority: p.priority,
    instructions: '', reason: p.reason,
  }));
  const issued = await api.post('/api/missions/issue', { data: { shift: shift(), items } });
  expect(issued.status()).toBe(200);
  await page.context().clearCookies();
  await signIn(page, 'd2.sergeant');
  const board = await (await page.request.post('/api/missions/board', { data: { shift: shift() } })).json();
  const officerId = board.officers.find((o: any) => o[1].includes(officer === 'd2.officer1' ? '201' : '202'))[0];
  for (const it of items) {
    const ack = await page.request.post('/api/missions/transition', { data: { id: it.id, step: 'acknowledge', args: {} } });
    expect(ack.status()).toBe(200);
    const asg = await page.request.post('/api/missions/transition', { data: { id: it.id, step: 'assign', args: { assignee_user_id: officerId } } });
    expect(asg.status()).toBe(200);
  }
  await page.context().clearCookies();
  return items.map((i: any) => i.id);
}

test('missions open offline, offline work waits across closed pages and syncs once', async ({ page, context, browser }) => {
  test.setTimeout(120_000);
  const ids = await twoMissionsFor(page, officerLogin());
  await signIn(page, officerLogin(), '/missions');
  await hydrated(page);
  const items = page.getByTestId('my-missions').locator('li.mission');
  await expect(items).toHaveCount(2);
  await expect(page.getByTestId('sync-status')).toContainText('All changes synced');
  await page.waitForFunction(() => navigator.serviceWorker?.controller != null, null, { timeout: 30_000 });

  // No signal: reload, and the missions are still there (from the device).
  await context.setOffline(true);
  await page.reload();
  await expect(items).toHaveCount(2);
  await expect(page.getByTestId('connectivity')).toHaveText('No signal');

  // Work one mission offline.
  const first = page.locator(`li.mission[data-mission="${ids[0]}"]`);
  await first.locator('.mission-head').click();
  await page.getByRole('button', { name: 'Start mission' }).click();
  await expect(first).toHaveAttribute('data-status', 'in_progress');
  if (!(await page.locator('.outcome-form').isVisible())) await first.locator('.mission-head').click();
  const form = page.locator('.outcome-form');
  await form.getByRole('button', { name: 'more Contacts made' }).click();
  await form.getByRole('button', { name: 'Disorder' }).click();
  await form.getByRole('button', { name: 'Complete mission' }).click();
  await expect(first).toHaveAttribute('data-status', 'completed');
  await expect(page.getByTestId('sync-status')).toHaveAttribute('data-pending', '2');
  await page.screenshot({ path: test.info().outputPath('offline-pending.png'), fullPage: true });

  // Close the page; a cold start, still offline: the work is still pending, the mission still done.
  await page.close();
  const again = await context.newPage();
  await again.goto('/missions');
  await expect(again.locator(`li.mission[data-mission="${ids[0]}"]`)).toHaveAttribute('data-status', 'completed');
  await expect(again.getByTestId('sync-status')).toHaveAttribute('data-pending', '2');

  // Signal returns: the outbox drains, and the server has the completion once.
  await context.setOffline(false);
  await expect(again.getByTestId('sync-status')).toHaveAttribute('data-pending', '0', { timeout: 30_000 });
  await expect(again.getByTestId('sync-status')).toContainText('All changes synced');
  const sergeant = await browser.newPage({ baseURL: test.info().project.use.baseURL });
  await signIn(sergeant, 'd2.sergeant');
  const board = await (await sergeant.request.post('/api/missions/board', { data: { shift: shift() } })).json();
  const done = board.missions.find((m: any) => m.id === ids[0]);
  expect(done.status).toBe('completed');
  expect(done.outcome).toEqual({ contacts: 1, conditions: 'Disorder', reports: 0 });
  const other = board.missions.find((m: any) => m.id === ids[1]);
  expect(other.status).toBe('assigned');
});
