import { test, expect, type Browser, type Page } from '@playwright/test';
import { hydrated, signIn } from './helpers';

// Background Sync: work saved offline reaches the server when the signal returns even though the
// officer closed the app — the service worker pushes the outbox from the device store.

const phone = () => test.info().project.name === 'phone';
const officerLogin = () => (phone() ? 'd4.officer3' : 'd4.officer4');
const officerNumber = () => (phone() ? '403' : '404');
const shift = () => ({ district: 'D4', shift: 'A', shift_date: phone() ? '2020-12-24' : '2020-12-25' });
const missionId = () => `0193b3c4-0000-7000-8000-${phone() ? 'ee' : 'ff'}0000000010`;

async function newContextPage(browser: Browser): Promise<Page> {
  const project = test.info().project.use;
  const context = await browser.newContext({
    viewport: project.viewport, isMobile: project.isMobile, hasTouch: project.hasTouch,
    userAgent: project.userAgent, deviceScaleFactor: project.deviceScaleFactor, baseURL: project.baseURL,
  });
  return context.newPage();
}

test('the service worker pushes the outbox when the signal returns, with the app closed', async ({ browser }) => {
  test.setTimeout(120_000);
  const admin = await newContextPage(browser);
  await signIn(admin, 'commander');
  const rec = await (await admin.request.post('/api/missions/recommend', { data: { shift: shift() } })).json();
  const p = rec.proposals[0];
  const item = { id: missionId(), template_id: p.template_id, place: p.place, place_label: p.place_label,
    priority: p.priority, instructions: '', reason: p.reason };
  expect((await admin.request.post('/api/missions/issue', { data: { shift: shift(), items: [item] } })).status()).toBe(200);
  await admin.context().clearCookies();
  await signIn(admin, 'd4.sergeant');
  const board = await (await admin.request.post('/api/missions/board', { data: { shift: shift() } })).json();
  const officerId = board.officers.find((o: any) => o[1].includes(officerNumber()))[0];
  for (const [step, args] of [['acknowledge', {}], ['assign', { assignee_user_id: officerId }]] as const) {
    expect((await admin.request.post('/api/missions/transition', { data: { id: missionId(), step, args } })).status()).toBe(200);
  }

  const officer = await newContextPage(browser);
  await signIn(officer, officerLogin(), '/missions');
  await hydrated(officer);
  await expect(officer.getByTestId('sync-status')).toContainText('All changes synced');
  await officer.waitForFunction(() => navigator.serviceWorker?.controller != null, null, { timeout: 30_000 });
  const mission = officer.locator(`li.mission[data-mission="${missionId()}"]`);
  await officer.context().setOffline(true);
  await mission.locator('.mission-head').click();
  await mission.getByRole('button', { name: 'Start mission' }).click();
  await expect(officer.getByTestId('sync-status')).toHaveAttribute('data-pending', '1');
  const context = officer.context();
  await officer.close();

  // Signal back, app closed: the start reaches the server, once.
  await context.setOffline(false);
  const starts = async () =>
    (await (await admin.request.post('/api/missions/events', { data: { id: missionId() } })).json())
      .filter((e: any) => e.transition === 'start').length;
  await expect.poll(starts, { timeout: 60_000 }).toBe(1);
});
