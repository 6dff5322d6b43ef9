import { expect, test, type Browser, type Locator, type Page } from '@playwright/test';

/** The header Beatbook's server puts on every answer (protocol::SERVER_HEADER): an answer a test
 * stands in for the server's must carry it, or the app takes it for a proxy's or a portal's. */
export const FROM_BEATBOOK = { 'x-beatbook': '1' };

/** The demo accounts' password (serve-e2e.sh sets it for the server). */
export const DEMO_PASSWORD = process.env.BEATBOOK_DEMO_PASSWORD ?? 'beatbook-e2e-password';

/** Signs in through the sign-in form, as a person would, and lands on `next`. */
export async function signIn(page: Page, username: string, next = '/') {
  await page.goto(`/signin?next=${encodeURIComponent(next)}`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(DEMO_PASSWORD);
  await Promise.all([
    page.waitForURL((url) => url.pathname === next),
    page.getByRole('button', { name: 'Sign in' }).click(),
  ]);
  await expect(page.getByTestId('account')).toBeVisible();
}

/** Collects Content-Security-Policy violations the page reports. */
export async function watchCspViolations(page: Page): Promise<() => Promise<string[]>> {
  await page.addInitScript(() => {
    (window as any).__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      (window as any).__cspViolations.push(`${e.violatedDirective}: ${e.blockedURI} (${e.sourceFile}:${e.lineNumber})`);
    });
  });
  return async () => page.evaluate(() => (window as any).__cspViolations ?? []);
}

/** Waits until the WebAssembly app has hydrated the page (taps before that reach only HTML). */
export async function hydrated(page: Page) {
  await page.locator('body[data-hydrated]').waitFor({ state: 'attached', timeout: 30_000 });
}

/** A page in a fresh browser context with the project's device settings (its own cookies, its
 * own device store: one person's phone). */
export async function devicePage(browser: Browser, extra: object = {}): Promise<Page> {
  const project = test.info().project.use;
  const context = await browser.newContext({
    viewport: project.viewport, isMobile: project.isMobile, hasTouch: project.hasTouch,
    userAgent: project.userAgent, deviceScaleFactor: project.deviceScaleFactor, baseURL: project.baseURL,
    ...extra,
  });
  return context.newPage();
}

/** Command issues the top `ids.length` recommendations of `shift` as missions with these ids;
 * the district's sergeant acknowledges and assigns the first `assign` of them to the officer
 * whose name holds `officerNumber`. Leaves `page` signed in as the sergeant. */
export async function issueAndAssign(
  page: Page,
  shift: { district: string; shift: string; shift_date: string },
  ids: string[],
  officerNumber: string,
  assign = ids.length,
) {
  await signIn(page, 'commander');
  const rec = await (await page.request.post('/api/missions/recommend', { data: { shift } })).json();
  // Koper visits, whatever template each place's harm calls for: the specs fill in its fields.
  const koper = rec.templates.find((t: any) => t.tactic === 'directed_patrol').id;
  const items = rec.proposals.slice(0, ids.length).map((p: any, i: number) => ({
    id: ids[i], template_id: koper, place: p.place, place_label: p.place_label,
    priority: p.priority, instructions: '', reason: p.reason,
  }));
  const issued = await page.request.post('/api/missions/issue', { data: { shift, items } });
  expect(issued.status(), await issued.text()).toBe(200);
  await page.context().clearCookies();
  await signIn(page, `${shift.district.toLowerCase()}.sergeant`);
  const board = await (await page.request.post('/api/missions/board', { data: { shift } })).json();
  const officerId = board.officers.find((o: any) => o[1].includes(officerNumber))[0];
  for (const id of ids.slice(0, assign)) {
    for (const [step, args] of [['acknowledge', {}], ['assign', { assignee_user_id: officerId }]] as const) {
      const r = await page.request.post('/api/missions/transition', { data: { id, step, args } });
      expect(r.status(), `${step} ${id}`).toBe(200);
    }
  }
}

/** The PIN the tests' officers choose for their devices. */
export const DEVICE_PIN = '2468';

/** Signed in on `/missions`, hydrated, synced, the device's PIN chosen (on a first sign-in),
 * hot-spot inputs on the device, and the service worker in control (so the page opens with no
 * signal). */
export async function fieldReady(page: Page) {
  await hydrated(page);
  await expect(page.getByTestId('sync-status')).toContainText('All changes synced');
  const choose = page.getByTestId('choose-pin');
  if (await choose.isVisible()) {
    await choose.getByTestId('pin').fill(DEVICE_PIN);
    await choose.getByTestId('pin-again').fill(DEVICE_PIN);
    await choose.getByRole('button', { name: 'Set PIN' }).click();
    await expect(choose).toBeHidden({ timeout: 30_000 });
  }
  // The hot-spot inputs landed: the forecast the sync brought (or, with none, the kept aggregates).
  await expect(page.getByTestId('nearby-hot-spots')).toContainText(/The next 12 hours' forecast from|Scored on this device/, { timeout: 30_000 });
  await page.waitForFunction(() => navigator.serviceWorker?.controller != null, null, { timeout: 30_000 });
}

/** With no signal after a reload or a cold start: the PIN opens the device's store. */
export async function unlock(page: Page, pin = DEVICE_PIN) {
  const form = page.getByTestId('unlock');
  await form.getByTestId('pin').fill(pin);
  await form.getByRole('button', { name: 'Unlock' }).click();
  await expect(form).toBeHidden({ timeout: 30_000 });
}

/** The `beatbook` device store as stored: its keys, and the raw stored value of each. */
export async function deviceStore(page: Page): Promise<Record<string, string>> {
  return page.evaluate(async () => {
    const db: IDBDatabase = await new Promise((ok, ko) => {
      const r = indexedDB.open('beatbook');
      r.onsuccess = () => ok(r.result);
      r.onerror = () => ko(r.error);
    });
    const store = db.transaction('cache').objectStore('cache');
    const keys: string[] = await new Promise((ok) => {
      const r = store.getAllKeys();
      r.onsuccess = () => ok(r.result as string[]);
    });
    const out: Record<string, string> = {};
    for (const k of keys) {
      out[k] = await new Promise((ok) => {
        const r = store.get(k);
        r.onsuccess = () => ok(String(r.result));
      });
    }
    db.close();
    return out;
  });
}

/** The main navigation's links: on a phone they fold under the Menu button, which this opens. */
export async function openNav(page: Page) {
  const toggle = page.getByTestId('menu-toggle');
  if (await toggle.isVisible()) {
    await hydrated(page);
    if ((await toggle.getAttribute('aria-expanded')) !== 'true') await toggle.click();
    await expect(page.locator('#main-nav')).toBeVisible();
  }
  return page.locator('#main-nav');
}

/** The officer works a "Park and walk" on their device: starts `item`, then completes it with one
 * contact, `conditions` found, "needs follow-up" and `note`, and waits until it is synced. */
export async function walkWithFollowUp(field: Page, item: Locator, conditions: string, note: string) {
  await item.locator('.mission-head').click();
  await field.getByRole('button', { name: 'Start mission' }).click();
  await expect(item).toHaveAttribute('data-status', 'in_progress');
  if (!(await field.locator('.outcome-form').isVisible())) await item.locator('.mission-head').click();
  const form = field.locator('.outcome-form');
  await form.getByRole('button', { name: 'more Contacts made' }).click();
  await form.getByRole('group', { name: 'Conditions found' }).getByRole('button', { name: conditions }).click();
  await form.getByRole('group', { name: 'Needs follow-up' }).getByRole('button', { name: 'Yes' }).click();
  await form.getByLabel('Note (optional)').fill(note);
  await form.getByRole('button', { name: 'Complete mission' }).click();
  await expect(item).toHaveAttribute('data-status', 'completed');
  await expect(field.getByTestId('sync-status')).toHaveAttribute('data-pending', '0', { timeout: 30_000 });
}
