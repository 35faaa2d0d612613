import { expect, test as setup } from '@playwright/test';
import { join } from 'node:path';
import { ADMIN_PASSWORD } from './support';

// Signs in as the first admin of the main Switchboard (created from SWITCHBOARD_ADMIN_PASSWORD)
// and keeps the login cookie for every other test.
setup('sign in as the first admin', async ({ page }) => {
  await page.goto('/sessions');
  await expect(page).toHaveURL(/\/login\?next=%2Fsessions/);
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill(ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/sessions$/);
  await expect(page.getByTestId('signed-in')).toContainText('admin');
  await page.context().storageState({ path: join(__dirname, '..', '.auth', 'admin.json') });
});
