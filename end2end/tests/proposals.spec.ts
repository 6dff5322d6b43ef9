import { test, expect, type Page } from '@playwright/test';
import { devicePage, fieldReady, hydrated, signIn, watchCspViolations } from './helpers';

// The Mission Menu from the field and from the map: an officer proposes a mission at a place
// they know (tapped on the map, then where they stand); their sergeant approves it into the
// board's shift (and edits it before acknowledging), and the officer reads that it is now a
// mission. Command adds a mission at a
// tapped place for a time window within a night shift.

// Each viewport works its own shift and officer: the projects share one server.
const phone = () => test.info().project.name === 'phone';
const day = () => (phone() ? '2020-12-12' : '2020-12-13');
const officer = () => (phone() ? 'd1.officer5' : 'd1.officer6');
// Where the officer stands: Granville Street downtown, in District 1.
const HERE = { latitude: 49.2826, longitude: -123.1185 };

/** Taps the middle of a place picker's map (the map opens on the district's middle). */
async function tapMap(page: Page, scope = page.locator('body')) {
  const map = scope.getByTestId('place-picker').locator('.leaflet-container');
  await expect(map).toBeVisible({ timeout: 30_000 });
  await map.click();
  await expect(scope.getByTestId('picked')).toContainText('Chosen: ');
}

test('an officer proposes a mission at a place they know; the sergeant approves it into the shift', async ({ browser }) => {
  test.setTimeout(180_000);
  const why = `Cars broken into behind the parkade every evening (${test.info().project.name}).`;

  const field = await devicePage(browser, { geolocation: HERE, permissions: ['geolocation'] });
  const csp = await watchCspViolations(field);
  await signIn(field, officer(), '/missions');
  await fieldReady(field);
  const propose = field.getByTestId('propose-form');
  // Nothing chosen yet: the form says what is missing.
  await propose.getByLabel('What you have seen there').fill(why);
  await propose.getByRole('button', { name: 'Propose' }).click();
  await expect(field.getByTestId('propose-error')).toHaveText('Choose the place: tap the map, or use your position.');
  // A tap on the map chooses a place; "Use my position" then chooses where the officer stands.
  await tapMap(field, propose);
  await propose.getByTestId('use-position').click();
  await expect(propose.getByTestId('picked')).toHaveText('Chosen: 49.28260, -123.11850');
  await propose.getByLabel('Template').selectOption({ label: 'Park and walk' });
  await propose.getByRole('button', { name: 'Propose' }).click();
  await expect(field.getByTestId('propose-message')).toContainText('Proposed: Park and walk at ');
  const mine = field.getByTestId('my-proposals').locator('li').first();
  await expect(mine).toHaveAttribute('data-status', 'pending');
  await expect(mine.locator('.standing')).toHaveText('Waiting for a decision');
  await field.screenshot({ path: test.info().outputPath('propose.png'), fullPage: true });
  expect(await csp()).toEqual([]);

  // The sergeant sees it above the board of the shift they choose and approves it there.
  const sergeant = await devicePage(browser);
  await signIn(sergeant, 'd1.sergeant', '/board');
  await sergeant.goto(`/board?district=D1&shift=C&date=${day()}`);
  await hydrated(sergeant);
  const card = sergeant.getByTestId('proposal-queue').locator('article.proposal-card', { hasText: why });
  await expect(card).toContainText('Park and walk');
  await card.getByTestId('proposal-reason').fill('Park by the exit ramp.');
  await card.getByRole('button', { name: `Approve for shift C on ${day()}` }).click();
  await expect(sergeant.getByTestId('proposal-decided')).toContainText(`for shift C on ${day()}`);
  await expect(card).toHaveCount(0);
  const issued = sergeant.locator('details.column[data-column="Issued"] article.card', { hasText: why });
  await expect(issued).toHaveCount(1);
  await expect(issued.locator('.template')).toHaveText('Park and walk');
  // Until it is acknowledged the planner may still change it: its priority and instructions.
  await issued.getByTestId('edit-mission').click();
  const edit = issued.getByTestId('edit-form');
  await edit.locator('select[name=edit-priority]').selectOption('1');
  await edit.getByLabel('Instructions').fill('Walk the parkade ramps, then the lane.');
  await edit.getByRole('button', { name: 'Save changes' }).click();
  await expect(sergeant.getByTestId('proposal-decided')).toContainText('Saved the changes to the mission at');
  await expect(issued.getByTestId('instructions')).toHaveText('Walk the parkade ramps, then the lane.');
  await expect(issued.locator('.priority')).toHaveText('P1');
  await sergeant.screenshot({ path: test.info().outputPath('approved.png'), fullPage: true });

  // The officer reads where it stands.
  await field.reload();
  await hydrated(field);
  await expect(mine).toHaveAttribute('data-status', 'approved');
  await expect(mine.locator('.standing')).toHaveText(/^Approved by Demo Sergeant 1 .*: now a mission$/);
});

test('command issues a mission at a tapped place for a window within a night shift', async ({ browser }) => {
  test.setTimeout(120_000);
  const page = await devicePage(browser);
  await signIn(page, 'commander', '/plan');
  await page.goto(`/plan?district=D1&shift=C&date=${day()}`);
  await hydrated(page);
  await expect(page.getByTestId('proposals')).toBeVisible({ timeout: 60_000 });
  const own = page.getByTestId('own-place');
  await own.locator('summary').click();
  await own.getByRole('button', { name: 'Issue at this place' }).click();
  await expect(page.getByTestId('own-place-error')).toHaveText('Tap the map where the mission should be.');
  await tapMap(page, own);
  await own.locator('select[name=own-template]').selectOption({ label: 'Koper visit' });
  await own.getByLabel('From (optional)').fill('23:00');
  await own.getByLabel('Until').fill('01:00');
  await own.getByRole('button', { name: 'Issue at this place' }).click();
  await expect(page.getByTestId('plan-message')).toHaveText('Issued 1 mission.');
  await page.screenshot({ path: test.info().outputPath('own-place.png'), fullPage: true });

  // On the board: a micro place (150 m cell) named like the ranked ones, 23:00–01:00 Pacific
  // Standard Time, which is 07:00–09:00 UTC the next day.
  const board = await (
    await page.request.post('/api/missions/board', { data: { shift: { district: 'D1', shift: 'C', shift_date: day() } } })
  ).json();
  const m = board.missions.find((x: any) => x.reason === 'Chosen by the planner' && x.template.name === 'Koper visit');
  expect(m.place.kind).toBe('cell');
  expect(m.place.size_m).toBe(150);
  expect(m.place_label).not.toBe('');
  const [y, mo, d] = day().split('-').map(Number);
  expect(m.window_start).toBe(Date.UTC(y, mo - 1, d + 1, 7) / 1000);
  expect(m.window_end).toBe(Date.UTC(y, mo - 1, d + 1, 9) / 1000);
});

test('a proposal of the plan can be for part of the shift', async ({ page }) => {
  const date = phone() ? '2020-12-10' : '2020-12-11';
  await signIn(page, 'commander', '/plan');
  await page.goto(`/plan?district=D2&shift=B&date=${date}`);
  await hydrated(page);
  const first = page.locator('[data-testid=proposals] li.proposal:not(.skipped)').first();
  await expect(first).toBeVisible({ timeout: 60_000 });
  const label = (await first.locator('.where').textContent()) ?? '';
  await first.getByText('Instructions and time').click();
  await first.getByLabel('From (optional)').fill('18:00');
  await first.getByLabel('Until').fill('20:00');
  await page.getByTestId('issue').click();
  await expect(page.getByTestId('plan-message')).toHaveText(/^Issued \d+ missions?\.$/);
  // 18:00–20:00 Pacific Standard Time is 02:00–04:00 UTC the next day; the others keep the
  // whole shift (14:00–22:00).
  const board = await (
    await page.request.post('/api/missions/board', { data: { shift: { district: 'D2', shift: 'B', shift_date: date } } })
  ).json();
  const [y, mo, d] = date.split('-').map(Number);
  const part = board.missions.filter((m: any) => m.window_start === Date.UTC(y, mo - 1, d + 1, 2) / 1000);
  expect(part.length).toBe(1);
  expect(label.startsWith(part[0].place_label)).toBe(true);
  expect(part[0].window_end).toBe(Date.UTC(y, mo - 1, d + 1, 4) / 1000);
  const whole = board.missions.filter((m: any) => m.window_start === Date.UTC(y, mo - 1, d, 22) / 1000);
  expect(whole.length).toBe(board.missions.length - 1);
});
