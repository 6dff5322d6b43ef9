import { test, expect } from '@playwright/test';
import { devicePage, fieldReady, hydrated, signIn } from './helpers';

// The administrator's screens: accounts (roles, districts) and devices (revocation). Each project
// works on its own officer, since both run against one server.
const officer = () => (test.info().project.name === 'phone' ? 'd2.officer5' : 'd2.officer6');

test('an administrator gives an officer a second district, then revokes the lost phone', async ({ browser, page }) => {
  const who = officer();
  // The officer's phone registers when the field app first opens.
  const phone = await devicePage(browser);
  await signIn(phone, who, '/missions');
  await fieldReady(phone);

  await signIn(page, 'admin', '/admin/users');
  await hydrated(page);
  const row = page.locator(`tr[data-account="${who}"]`);
  await expect(row).toContainText('password');
  await expect(row.locator('td').nth(3)).toHaveText('D2');
  await row.getByRole('button', { name: 'Edit' }).click();
  const edit = page.locator('tr.account-edit');
  await expect(edit.locator('input[name=role][value=officer]')).toBeChecked();
  await edit.locator('input[name=district][value=D3]').check();
  await edit.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByTestId('accounts-message')).toHaveText(`Saved ${who}.`);
  await expect(row.locator('td').nth(3)).toHaveText('D2, D3');
  // What the server holds, and what it recorded.
  const accounts = await (await page.request.post('/api/admin/accounts', { data: {} })).json();
  expect(accounts.accounts.find((a: any) => a.username === who).districts).toEqual(['D2', 'D3']);
  // Back to D2 alone, so D3's shift boards in other tests do not list this officer.
  await row.getByRole('button', { name: 'Edit' }).click();
  await edit.locator('input[name=district][value=D3]').uncheck();
  await edit.getByRole('button', { name: 'Save' }).click();
  await expect(row.locator('td').nth(3)).toHaveText('D2');

  await page.goto('/admin/devices');
  await hydrated(page);
  const device = page.locator('tr[data-device]', { hasText: who });
  await expect(device).toHaveCount(1);
  await expect(device).toContainText('active');
  await device.getByRole('button', { name: 'Revoke…' }).click();
  await device.getByLabel('Why').fill('lost on patrol');
  await device.getByRole('button', { name: 'Revoke device' }).click();
  await expect(page.getByTestId('devices-message')).toContainText('Revoked.');
  await expect(device).toContainText('revoked');
  await expect(device).toContainText('lost on patrol');
  // The phone's session ended with it.
  expect(await (await phone.request.post('/api/me')).json()).toBeNull();

  const audit = await (await page.request.post('/api/admin/audit', { data: { search: { actor: 'admin' } } })).json();
  const mine = (action: string) => audit.filter((r: any) => r.action === action && r.target.includes(action === 'manage_users' ? who : ''));
  expect(mine('manage_users').some((r: any) => r.detail.includes('districts D2,D3 (were D2)')) && mine('manage_users').some((r: any) => r.detail.includes('districts D2 (were D2,D3)'))).toBe(true);
  expect(mine('manage_devices').some((r: any) => r.detail === 'revoked: lost on patrol')).toBe(true);
});

test('people who are not administrators never see the account screens', async ({ page }) => {
  await signIn(page, 'commander', '/');
  await expect(page.getByRole('link', { name: 'Accounts' })).toHaveCount(0);
  expect((await page.request.post('/api/admin/accounts', { data: {} })).status()).toBe(403);
  await page.goto('/admin/users');
  await expect(page.getByRole('alert')).toContainText('does not allow');
});

test('an administrator gives an officer a temporary password, shown once, and the officer signs in with it', async ({ browser, page }) => {
  // Runs last in this file: the officer's demo password is replaced.
  const who = officer();
  await signIn(page, 'admin', '/admin/users');
  await hydrated(page);
  await page.locator(`tr[data-account="${who}"]`).getByRole('button', { name: 'Edit' }).click();
  await page.getByRole('button', { name: 'Set a temporary password' }).click();
  const shown = page.getByTestId('temporary-password');
  await expect(shown).toHaveText(/^[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}$/);
  const password = (await shown.textContent()) ?? '';

  const field = await devicePage(browser);
  await field.goto('/signin?next=/missions');
  await field.getByLabel('Username').fill(who);
  await field.getByLabel('Password').fill(password);
  await Promise.all([field.waitForURL('**/missions'), field.getByRole('button', { name: 'Sign in' }).click()]);
  await hydrated(field);
  await expect(field.getByTestId('account')).toBeVisible();
  // The audit log says it was set, never what it is.
  const audit = await (await page.request.post('/api/admin/audit', { data: { search: { action: 'manage_users' } } })).json();
  expect(audit.some((r: any) => r.target === `user ${who}` && r.detail.startsWith('temporary password set'))).toBe(true);
  expect(JSON.stringify(audit)).not.toContain(password);
});
