import { test, expect } from '@playwright/test';
import { DEMO_PASSWORD, hydrated, openNav, signIn } from './helpers';

// Signing in and out as the people who use Beatbook do: pages need a session, wrong passwords
// say so without saying which half was wrong, the session cookie is out of the page's reach,
// and signing out ends it.

test('a page asks for sign-in and returns to where it was going', async ({ page }) => {
  await page.goto('/places');
  await expect(page).toHaveURL(/\/signin\?next=%2Fplaces|\/signin\?next=\/places/);
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();

  await page.getByLabel('Username').fill('d2.sergeant');
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('signin-error')).toHaveText('Wrong username or password.');
  await page.screenshot({ path: test.info().outputPath('signin-error.png'), fullPage: true });

  await page.getByLabel('Username').fill('d2.sergeant');
  await page.getByLabel('Password').fill(DEMO_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/places$/);
  await expect(page.getByTestId('account')).toContainText('Demo Sergeant 2');
  await expect(page.getByTestId('account')).toContainText('sergeant');
});

test('the session cookie is HttpOnly and signing out ends the session', async ({ page, context }) => {
  await signIn(page, 'analyst');
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === 'beatbook_session');
  expect(session).toBeTruthy();
  expect(session!.httpOnly).toBe(true);
  expect(session!.sameSite).toBe('Lax');
  expect(await page.evaluate(() => document.cookie)).not.toContain('beatbook_session');
  expect(await page.evaluate(() => JSON.stringify(localStorage))).not.toContain(session!.value);

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/signin/);
  // The old cookie value no longer opens anything.
  await context.addCookies([{ ...session! }]);
  const res = await page.request.post('/api/city_overview', { form: {} });
  expect(res.status()).toBe(401);
});

test('an administrator searches the audit log and sees no crime data', async ({ page }) => {
  await signIn(page, 'admin', '/admin/audit');
  await expect(page.getByRole('heading', { name: 'Audit log' })).toBeVisible();
  await expect(page.getByTestId('audit')).toContainText('sign_in');
  await expect((await openNav(page)).getByRole('link', { name: 'Audit' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Plan' })).toHaveCount(0);
  // The city overview is crime data: refused, and the refusal is on record.
  const res = await page.request.post('/api/city_overview', { form: {} });
  expect(res.status()).toBe(403);
  await page.screenshot({ path: test.info().outputPath('audit-log.png'), fullPage: true });
});

test('thirty minutes untouched with signal: the session locks and the page goes to the sign-in', async ({ page }) => {
  test.setTimeout(120_000);
  await page.clock.install();
  await signIn(page, 'commander', '/crime');
  await hydrated(page);
  // The crime view's live refreshes keep the session in use on the server; the page knows
  // nobody has touched it.
  await page.clock.runFor('29:00');
  await expect(page).toHaveURL(/\/crime/);
  await page.clock.runFor('01:30');
  await expect(page).toHaveURL(/\/signin\?reason=idle&next=%2Fcrime/, { timeout: 30_000 });
  await expect(page.getByText('Locked after 30 minutes without activity')).toBeVisible();
  // The session is over on the server, and recorded as an idle lock.
  expect((await page.request.post('/api/missions/mine', { data: {} })).status()).toBe(401);
});
