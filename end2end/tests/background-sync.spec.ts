import { test, expect } from '@playwright/test';
import { devicePage, hydrated, issueAndAssign, signIn } from './helpers';

// Background Sync: work saved offline reaches the server when the signal returns even though the
// officer closed the app — the service worker pushes the outbox from the device store.

const phone = () => test.info().project.name === 'phone';
const officerLogin = () => (phone() ? 'd4.officer3' : 'd4.officer4');
const officerNumber = () => (phone() ? '403' : '404');
const shift = () => ({ district: 'D4', shift: 'A', shift_date: phone() ? '2020-12-24' : '2020-12-25' });
const missionId = () => `0193b3c4-0000-7000-8000-${phone() ? 'ee' : 'ff'}0000000010`;

test('the service worker pushes the outbox when the signal returns, with the app closed', async ({ browser }) => {
  test.setTimeout(120_000);
  const admin = await devicePage(browser);
  await issueAndAssign(admin, shift(), [missionId()], officerNumber());

  const officer = await devicePage(browser);
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
