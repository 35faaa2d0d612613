import { expect, test } from '@playwright/test';
import { collectErrors, unique, waitForHydration } from './support';

// The team's notification channels on the Settings page, and the Inbox's email choice on a
// Switchboard with no mail server (server/tests/notify.rs sends to both against local receivers).

test('an admin adds a signed webhook channel, sees its secret once, and removes it', async ({ page }) => {
  const errors = collectErrors(page);
  await page.goto('/settings');
  await waitForHydration(page);
  const panel = page.getByTestId('channels');
  const name = unique('pager');
  // A URL that is not one is refused, and the draft stays.
  await panel.getByLabel('Signed JSON webhook').check();
  await panel.getByTestId('channel-name').fill(name);
  await panel.getByTestId('channel-url').fill('ftp://hooks.example/secret-path');
  await panel.getByTestId('channel-add').click();
  await expect(panel.getByRole('alert')).toContainText('must start with https://');
  await expect(panel.getByTestId('channel-name')).toHaveValue(name);

  // A public address (TEST-NET-3): a channel may not reach this machine or its network.
  await panel.getByTestId('channel-url').fill('https://203.0.113.9/secret-path');
  await panel.getByTestId('channel-add').click();
  await expect(panel.getByTestId('channel-secret')).toContainText(`${name} checks signatures with this secret`);
  await expect(panel.getByTestId('channel-secret').locator('code')).toHaveText(/^whsec_/);
  const row = panel.getByTestId('channel-row').filter({ hasText: name });
  await expect(row).toContainText('Signed webhook');
  await expect(row).toContainText('https://203.0.113.9 …');
  // The URL is write-only: read back, the page shows its host only.
  await page.reload();
  await waitForHydration(page);
  await expect(page.getByTestId('channel-row').filter({ hasText: name })).toBeVisible();
  await expect(page.locator('body')).not.toContainText('secret-path');
  await expect(page.getByTestId('channel-secret')).toHaveCount(0);
  await page.getByTestId('channel-row').filter({ hasText: name }).getByRole('button', { name: 'Remove' }).click();
  await expect(page.getByTestId('channel-row').filter({ hasText: name })).toHaveCount(0);
  // The browser logs the refused request itself; nothing else went wrong.
  expect(errors).toEqual([expect.stringMatching(/status of 400 .*\/api\/notify\/channels\/create\]$/)]);
});

test('without a mail server the Inbox says email is off', async ({ page }) => {
  await page.goto('/inbox');
  await waitForHydration(page);
  await expect(page.getByTestId('email-choice')).toHaveAttribute('data-state', 'unavailable');
  await expect(page.getByTestId('email-choice')).toContainText('SWITCHBOARD_SMTP_URL');
});
