import { test, expect } from '@playwright/test';
import { devicePage, fieldReady, hydrated, signIn, walkWithFollowUp, watchCspViolations } from './helpers';

// Feedback that reaches someone: an officer finishes a "Park and walk" with a note and
// "needs follow-up"; the sergeant reads the note on the board and in the district's follow-up
// queue and turns it into a new mission in one step; the outcomes page counts it.

// Each viewport works its own shift and officer: the projects share one server.
const phone = () => test.info().project.name === 'phone';
const shift = () => ({ district: 'D3', shift: 'B', shift_date: phone() ? '2020-12-08' : '2020-12-09' });
const officer = () => (phone() ? 'd3.officer1' : 'd3.officer2');
const NOTE = 'Owner of the corner store asks about the broken lane light.';

test('a note and "needs follow-up" reach the sergeant, who makes a mission of it; outcomes count it', async ({ browser }) => {
  test.setTimeout(180_000);
  const s = shift();
  const id = crypto.randomUUID();

  // Command issues a "Park and walk" at the district's top place; the sergeant assigns it.
  const setup = await devicePage(browser);
  await signIn(setup, 'commander');
  const menu = await (await setup.request.post('/api/missions/menu', { data: { include_retired: false } })).json();
  const walk = menu.find((t: any) => t.name === 'Park and walk');
  const rec = await (await setup.request.post('/api/missions/recommend', { data: { shift: s } })).json();
  const top = rec.proposals.find((p: any) => !p.skipped);
  const issued = await setup.request.post('/api/missions/issue', {
    data: { shift: s, items: [{ id, template_id: walk.id, place: top.place, place_label: top.place_label, priority: 1, instructions: 'Walk the block.', reason: top.reason }] },
  });
  expect(issued.status(), await issued.text()).toBe(200);
  await setup.context().clearCookies();
  await signIn(setup, 'd3.sergeant');
  const board = await (await setup.request.post('/api/missions/board', { data: { shift: s } })).json();
  const officerId = board.officers.find((o: any) => o[1].includes(phone() ? 'Officer 301' : 'Officer 302'))[0];
  for (const [step, args] of [['acknowledge', {}], ['assign', { assignee_user_id: officerId }]] as const) {
    const r = await setup.request.post('/api/missions/transition', { data: { id, step, args } });
    expect(r.status(), await r.text()).toBe(200);
  }

  // The officer works it on their phone and answers "needs follow-up" with a note.
  const field = await devicePage(browser);
  const csp = await watchCspViolations(field);
  await signIn(field, officer(), '/missions');
  await fieldReady(field);
  const item = field.locator(`li.mission[data-mission="${id}"]`);
  await walkWithFollowUp(field, item, 'Quiet', NOTE);
  expect(await csp()).toEqual([]);

  // The sergeant's board: the card says so, with the officer's words.
  const sergeant = await devicePage(browser);
  await signIn(sergeant, 'd3.sergeant', '/board');
  await sergeant.goto(`/board?district=D3&shift=B&date=${s.shift_date}`);
  await hydrated(sergeant);
  const card = sergeant.locator(`article.card[data-mission="${id}"]`);
  await expect(card.getByTestId('needs-follow-up')).toBeVisible();
  await expect(card.getByTestId('outcome-note')).toHaveText(NOTE);

  // The follow-up queue: the same words; one tap makes a mission at the same place.
  await sergeant.goto('/followups');
  await hydrated(sergeant);
  const waiting = sergeant.locator(`li.followup[data-mission="${id}"]`);
  await expect(waiting.getByTestId('followup-note')).toHaveText(NOTE);
  await waiting.getByLabel('Note or reason').fill('Check the lane light with the owner.');
  await waiting.getByRole('button', { name: 'Make a mission' }).click();
  await expect(sergeant.getByTestId('followup-message')).toContainText(`Issued a follow-up mission at ${top.place_label}`);
  await expect(waiting).toHaveCount(0);
  await sergeant.screenshot({ path: test.info().outputPath('followups.png'), fullPage: true });

  // Command's outcomes for the district count the finished walk and its follow-up.
  const command = await devicePage(browser);
  await signIn(command, 'commander', '/outcomes');
  await hydrated(command);
  await command.getByTestId('outcomes-district').selectOption('D3');
  await command.locator('input[name=from]').fill('2020-12-01');
  await command.locator('input[name=from]').dispatchEvent('change');
  const row = command.locator('[data-testid=outcomes] tr[data-group="Park and walk"]');
  await expect(row.locator('[data-col=completed]')).not.toHaveText('0');
  await expect(row.locator('[data-col=follow_ups]')).not.toHaveText('0');
  await expect(command.getByTestId('week-chart')).toBeVisible();
  await expect(command.getByTestId('outcomes-csv')).toHaveAttribute('download', /beatbook-outcomes-2020-12-01-2020-12-31\.csv/);
  await command.screenshot({ path: test.info().outputPath('outcomes.png'), fullPage: true });
});
