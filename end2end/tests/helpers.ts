import { expect, type Page } from '@playwright/test';

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
