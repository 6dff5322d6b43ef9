import { test, expect, type Page } from '@playwright/test';
import { devicePage, hydrated, signIn, watchCspViolations } from './helpers';

// The mission workflow as the department runs it: command staff issue a shift's missions from
// the recommendations; the district's sergeant acknowledges and assigns three; the officer sees
// them by distance from where they stand, runs a Koper visit and completes one; the board shows it.

// Each viewport works its own shift and officer: the projects share one server.
const phone = () => test.info().project.name === 'phone';
const shiftQuery = () => `district=D1&shift=B&date=${phone() ? '2020-12-15' : '2020-12-16'}`;
const officerName = () => (phone() ? 'Demo Officer 101 (synthetic)' : 'Demo Officer 102 (synthetic)');
const officerLogin = () => (phone() ? 'd1.officer1' : 'd1.officer2');

async function shot(page: Page, name: string) {
  await page.screenshot({ path: test.info().outputPath(`${name}.png`), fullPage: true });
}

test('issue from recommendations, acknowledge and assign, work a Koper visit, see it on the board', async ({ browser }) => {
  test.setTimeout(180_000);
  // Command staff: the shift's recommendations, issued.
  const command = await devicePage(browser);
  await signIn(command, 'commander', '/plan');
  await command.goto(`/plan?${shiftQuery()}`);
  await hydrated(command);
  const proposals = command.getByTestId('proposals').locator('li.proposal');
  // Ranked by the method District 1's own backtest chose (on the demo, the 365-day count), and
  // the plan says why.
  await expect(proposals.first()).toContainText('#1 by incidents in District 1');
  await expect(command.getByTestId('ranked-why')).toContainText('90 shifts of 8 h to 2020-12-31');
  const open = await command.locator('li.proposal:not(.skipped)').count();
  expect(open).toBeGreaterThanOrEqual(5);
  // Each place comes with the template its harm calls for, and says why; the planner makes
  // the top five Koper visits, with their own words for the first.
  const first = command.locator('li.proposal:not(.skipped)').first();
  await expect(first.locator('.template-note')).toContainText('harm, the most here.');
  for (let i = 0; i < 5; i++) {
    await command.locator('li.proposal:not(.skipped)').nth(i).getByLabel('Template').selectOption({ label: 'Koper visit' });
  }
  await first.getByText('Instructions').click();
  await first.locator('textarea[name=instructions]').fill('Koper visits at the corner, random order.');
  // Reject the sixth proposal onwards: issue the top five.
  for (let i = 5; i < open; i++) {
    await command.locator('li.proposal:not(.skipped)').nth(i).getByRole('checkbox').uncheck();
  }
  await expect(command.getByTestId('issue')).toHaveText('Issue 5 missions');
  await shot(command, '1-plan');
  await command.getByTestId('issue').click();
  await expect(command.getByTestId('plan-message')).toHaveText('Issued 5 missions.');
  // Issued places are not proposed again for this shift.
  await expect(command.locator('li.proposal.skipped')).toHaveCount(5);

  // The sergeant acknowledges three and assigns them.
  const sergeant = await devicePage(browser);
  await signIn(sergeant, 'd1.sergeant', '/board');
  await sergeant.goto(`/board?${shiftQuery()}`);
  await hydrated(sergeant);
  const column = (name: string) => sergeant.locator(`.column[data-column="${name}"]`);
  await expect(column('Issued').locator('article.card')).toHaveCount(5);
  for (let i = 1; i <= 3; i++) {
    await column('Issued').locator('article.card').first().getByRole('button', { name: 'Acknowledge' }).click();
    await expect(column('Acknowledged').locator('article.card')).toHaveCount(i);
  }
  for (let i = 1; i <= 3; i++) {
    const card = column('Acknowledged').locator('article.card').first();
    await card.getByRole('combobox').selectOption({ label: officerName() });
    await card.getByRole('button', { name: 'Assign' }).click();
    await expect(column('Assigned').locator('article.card')).toHaveCount(i);
  }
  await expect(column('Assigned')).toContainText(`Assigned: ${officerName()}`);
  await shot(sergeant, '2-board-assigned');

  // The officer, standing downtown: missions by distance.
  const here = { latitude: 49.2827, longitude: -123.1207 };
  const officer = await devicePage(browser, { geolocation: here, permissions: ['geolocation'] });
  const officerCsp = await watchCspViolations(officer);
  await signIn(officer, officerLogin(), '/missions');
  const mine = await (await officer.request.post('/api/missions/mine', { data: {} })).json();
  expect(mine).toHaveLength(3);
  await officer.clock.install();
  await officer.goto('/missions');
  await hydrated(officer);
  await expect(officer.getByTestId('position')).toContainText('49.28270');
  const items = officer.getByTestId('my-missions').locator('li.mission');
  await expect(items).toHaveCount(3);
  await expect(items.first().getByTestId('distance')).not.toBeEmpty();
  const metres = await items.getByTestId('distance').allTextContents();
  const asMetres = metres.map((t) => (t.includes('km') ? parseFloat(t) * 1000 : parseFloat(t)));
  expect([...asMetres].sort((a, b) => a - b)).toEqual(asMetres);
  await shot(officer, '3-my-missions');

  // Walk into the nearest place: the Koper timer starts, and nudges at 10 minutes.
  const nearestId = await items.first().getAttribute('data-mission');
  const nearest = mine.find((m: any) => m.id === nearestId);
  await items.first().locator('.mission-head').click();
  await expect(officer.getByTestId('koper-timer')).toHaveText('Timer starts when you are inside the place.');
  // The place on the department's basemap: tiles drawn, the cell outlined, the attribution shown.
  const placeMap = officer.locator('.place-map');
  await expect(placeMap.locator('.leaflet-container')).toBeVisible();
  await expect(placeMap.locator('.leaflet-tile-loaded').first()).toBeVisible();
  await expect(placeMap.locator('.leaflet-control-attribution')).toContainText('Beatbook test grid');
  await expect(placeMap.locator('canvas')).not.toHaveCount(0);
  await officer.context().setGeolocation({ latitude: nearest.place.lat, longitude: nearest.place.lon });
  await expect(officer.getByTestId('koper-timer')).toContainText('in place');
  // Ten minutes pass with the app open: the device samples its position every 15 s, and the
  // timer reads the visit from those samples (hotspot::presence, the dashboard's rules).
  await officer.clock.runFor('10:05');
  await expect(officer.getByTestId('koper-nudge')).toHaveText('10 minutes: a Koper visit counts from here.');
  await expect(officer.getByTestId('koper-timer')).toContainText('10:0');
  await officer.getByRole('button', { name: 'Start mission' }).click();
  await expect(items.first()).toHaveAttribute('data-status', 'in_progress');
  // While the mission is under way the device leaves GPS breadcrumbs: standing still, one fix a
  // minute, queued in the outbox as a batch within five minutes and pushed with its accuracy.
  const pushed: any[] = [];
  officer.on('request', (r) => {
    if (r.url().includes('/api/sync/push')) pushed.push(...(r.postDataJSON()?.mutations ?? []));
  });
  // In ten-second steps, so the page's effects see each tick even on a loaded machine (one long
  // jump lets the app coalesce its clock updates).
  for (let i = 0; i < 33; i++) await officer.clock.runFor(10_000);
  await expect.poll(() => pushed.filter((m) => m.kind === 'breadcrumbs').length).toBeGreaterThan(0);
  const crumbs = pushed.filter((m) => m.kind === 'breadcrumbs').flatMap((m) => m.fixes);
  expect(crumbs.length).toBeGreaterThanOrEqual(5);
  expect(crumbs.length).toBeLessThanOrEqual(7);
  for (const f of crumbs) {
    expect(f.lat).toBeCloseTo(nearest.place.lat, 6);
    expect(f.accuracy_m).not.toBeNull();
  }
  await expect(officer.getByTestId('sync-status')).toHaveAttribute('data-pending', '0');
  await items.first().locator('.mission-head').click().catch(() => {});
  if (!(await officer.locator('.outcome-form').isVisible())) await items.first().locator('.mission-head').click();
  const form = officer.locator('.outcome-form');
  await form.getByRole('button', { name: 'more Contacts made' }).click();
  await form.getByRole('button', { name: 'more Contacts made' }).click();
  await form.getByRole('button', { name: 'Quiet' }).click();
  await shot(officer, '4-koper-visit');
  await form.getByRole('button', { name: 'Complete mission' }).click();
  await expect(officer.locator(`li.mission[data-mission="${nearestId}"]`)).toHaveAttribute('data-status', 'completed');
  await expect(officer.getByTestId('sync-status')).toHaveAttribute('data-pending', '0');
  expect(await officerCsp()).toEqual([]);

  // The sergeant's board shows it done, with its outcome.
  await sergeant.reload();
  await hydrated(sergeant);
  const done = column('Done').locator(`article.card[data-mission="${nearestId}"]`);
  await expect(done).toBeVisible();
  await expect(done.getByTestId('outcome')).toContainText('Contacts made: 2');
  await expect(done.getByTestId('outcome')).toContainText('Conditions found: Quiet');
  await shot(sergeant, '5-board-done');
});

test('another district\'s sergeant cannot act on the board, and bad input is explained', async ({ page }) => {
  await signIn(page, 'd2.sergeant', '/board');
  await page.goto(`/board?${shiftQuery()}`);
  await expect(page.getByRole('alert')).toContainText('outside your districts');
  await page.goto('/plan?district=D2&shift=B&date=15.12.2020');
  await expect(page.getByRole('alert')).toContainText('shift_date');
});

test('the Mission Menu editor adds a template with its outcome fields and versions an edit', async ({ page }) => {
  const name = `Bus stop check ${test.info().project.name}`;
  await signIn(page, 'analyst', '/menu');
  await page.goto('/menu');
  await hydrated(page);
  await page.getByTestId('new-template').click();
  const form = page.locator('form.template-form');
  await form.getByLabel('Name').fill(name);
  await form.getByLabel('Goal').fill('Riders wait without being robbed.');
  await form.getByLabel('Tactic').selectOption('business_check');
  await form.getByLabel('property').check();
  await form.getByTestId('add-outcome-field').click();
  await form.getByTestId('add-outcome-field').click();
  const fields = form.getByTestId('outcome-field');
  await fields.nth(0).getByLabel('Label').fill('People spoken to');
  await fields.nth(1).getByLabel('Label').fill('Lighting');
  await fields.nth(1).getByLabel('Answered as').selectOption('choice');
  // One choice is not a choice: the form says which field, before anything is sent.
  await fields.nth(1).getByLabel('Choices, separated by commas').fill('Working');
  await form.getByRole('button', { name: 'Add to the menu' }).click();
  await expect(page.getByTestId('template-error')).toContainText("'lighting' needs at least two choices");
  await fields.nth(1).getByLabel('Choices, separated by commas').fill('Working, Out');
  await shot(page, 'menu-new-template');
  await form.getByRole('button', { name: 'Add to the menu' }).click();
  await expect(form).toHaveCount(0);
  const added = page.getByTestId('menu').locator('li', { hasText: name });
  await expect(added).toContainText('v1 · 15 min · 1 per shift');

  // What the server stored: the fields, their keys and kinds.
  const menu = await (await page.request.post('/api/missions/menu', { data: { include_retired: true } })).json();
  const stored = menu.find((t: any) => t.name === name);
  expect(stored.crime_types).toEqual(['property']);
  expect(stored.outcome_fields).toEqual([
    { key: 'people_spoken_to', label: 'People spoken to', kind: 'count' },
    { key: 'lighting', label: 'Lighting', kind: 'choice', choices: ['Working', 'Out'] },
  ]);

  // An edit is a new version; a removed field is gone from it, the kept one keeps its key.
  await added.getByRole('button', { name: 'Edit' }).click();
  await form.getByTestId('outcome-field').nth(0).getByRole('button', { name: 'Remove “People spoken to”' }).click();
  await form.getByTestId('outcome-field').nth(0).getByLabel('Label').fill('Street lighting');
  await form.getByRole('button', { name: 'Save as new version' }).click();
  await expect(page.getByTestId('menu').locator('li', { hasText: name })).toContainText('v2');
  const after = await (await page.request.post('/api/missions/menu', { data: { include_retired: true } })).json();
  expect(after.find((t: any) => t.name === name).outcome_fields).toEqual([
    { key: 'lighting', label: 'Street lighting', kind: 'choice', choices: ['Working', 'Out'] },
  ]);
});
