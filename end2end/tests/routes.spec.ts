import { test, expect, type Page } from '@playwright/test';
import { devicePage, hydrated, signIn } from './helpers';

// Every screen of the demo city, as each role that may use it: it renders, hydrates, says no
// error, and logs no console error; a screenshot of each is kept. One viewport (the tablet):
// the phone's layout is covered screen by screen in the other specs.

const ROUTES: Record<string, string[]> = {
  commander: ['/', '/places', '/plan', '/menu', '/crime', '/accuracy', '/followups', '/presence', '/outcomes', '/snapshot', '/rules'],
  'd1.sergeant': ['/missions', '/board', '/plan', '/followups', '/presence', '/outcomes'],
  'd1.officer7': ['/', '/missions', '/places'],
  analyst: ['/upload', '/crime', '/menu'],
  admin: ['/', '/setup', '/admin/users', '/admin/devices', '/admin/audit'],
};

async function visit(page: Page, path: string, errors: string[]) {
  errors.length = 0;
  await page.goto(path);
  await hydrated(page);
  await expect(page.locator('main h1, main [data-testid=administrator-start]').first()).toBeVisible();
  await expect(page.locator('main .loading')).toHaveCount(0, { timeout: 30_000 });
  await expect(page.locator('main .error')).toHaveCount(0);
  // The demo city has data on every screen: no empty state anywhere.
  await expect(page.locator('main .empty'), `an empty state on ${path}`).toHaveCount(0);
  await page.screenshot({ path: test.info().outputPath(`${path === '/' ? 'home' : path.slice(1).replace(/\//g, '-')}.png`), fullPage: true });
  expect(errors, `console errors on ${path}`).toEqual([]);
}

for (const [user, paths] of Object.entries(ROUTES)) {
  test(`every screen ${user} may use renders without an error`, async ({ browser }) => {
    test.skip(test.info().project.name !== 'tablet', 'one viewport');
    test.setTimeout(240_000);
    const page = await devicePage(browser);
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    // A refused or failed request names itself (the console's own line does not say which).
    page.on('response', (r) => {
      if (r.status() >= 400) errors.push(`${r.status()} ${new URL(r.url()).pathname}`);
    });
    await signIn(page, user, paths[0]);
    for (const path of paths) await visit(page, path, errors);
    await page.context().close();
  });
}
