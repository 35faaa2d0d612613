import { expect, test } from '@playwright/test';
import { collectErrors, sessionThatAsks, signInAsAdmin, waitForHydration } from './support';

// The Switchboard of playwright.config.ts with SWITCHBOARD_SECRET_KEY, and the standalone engine
// it connects as a second workspace.
const port = Number(process.env.E2E_PORT ?? 3917);
const console_ = `http://127.0.0.1:${port + 8}`;
const stagingEngine = `http://127.0.0.1:${port + 9}`;

test.use({ baseURL: console_ });

test.beforeEach(async ({ page }) => {
  await signInAsAdmin(page.request, console_);
});

test('an admin connects a second upstream as a workspace, switches to it and back, and each shows its own sessions', async ({
  page,
}) => {
  const errors = collectErrors(page);
  const here = await sessionThatAsks(page.request, ['echo default'], 'In the default workspace');

  // One workspace: no switch in the navigation.
  await page.goto('/settings');
  await waitForHydration(page);
  await expect(page.getByTestId('workspace-switch')).toHaveCount(0);
  const panel = page.getByTestId('workspaces');
  const connect = panel.getByTestId('workspace-connect');
  await connect.getByLabel('Short name').fill('staging');
  await connect.getByLabel('Name', { exact: true }).fill('Staging');
  await connect.getByLabel('Address').fill(stagingEngine);
  // A key the engine refuses: said in words, and the rest of the draft kept.
  await connect.getByLabel('API key').fill('not-the-key');
  await connect.getByRole('button', { name: 'Connect' }).click();
  await expect(panel.getByRole('alert')).toContainText('refused this key');
  await expect(connect.getByLabel('Address')).toHaveValue(stagingEngine);
  await connect.getByLabel('API key').fill('e2e-staging-engine-key');
  await connect.getByRole('button', { name: 'Connect' }).click();
  await expect(panel.getByTestId('workspace-row').filter({ hasText: 'Staging' })).toContainText('Admins only');
  await expect(connect.getByLabel('Short name')).toHaveValue('');
  // Its webhooks: an address of its own, refused until a signing secret is set.
  const staging = panel.getByTestId('workspace-row').filter({ hasText: 'Staging' });
  await expect(staging.getByTestId('workspace-webhooks')).toContainText('POST /webhooks/anthropic/staging');
  await expect(staging.getByTestId('workspace-webhooks')).toContainText('No signing secret');
  const webhook = panel.getByTestId('workspace-webhook');
  await webhook.getByLabel('Workspace (its short name)').fill('staging');
  await webhook.getByLabel('Signing secret').fill('not-a-secret');
  await webhook.getByRole('button', { name: 'Save the secret' }).click();
  await expect(panel.getByRole('alert')).toContainText('This is not a webhook signing secret');
  await webhook.getByLabel('Signing secret').fill(`whsec_${Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString('base64')}`);
  await webhook.getByRole('button', { name: 'Save the secret' }).click();
  await expect(panel.getByTestId('workspace-webhook-saved')).toContainText('webhooks are received with the new secret');
  await expect(staging.getByTestId('workspace-webhooks')).toContainText('Signing secret set.');

  // Two: the switch appears; choosing Staging leads to its overview.
  await page.reload();
  const switcher = page.getByTestId('workspace-switch');
  await expect(switcher.getByLabel('Workspace')).toHaveValue('default');
  await switcher.getByLabel('Workspace').selectOption({ label: 'Staging' });
  await switcher.getByRole('button', { name: 'Switch' }).click();
  // Its pages' addresses name it, so that a copied address opens Staging too.
  await expect(page).toHaveURL(`${console_}/?workspace=staging`);
  await expect(page.getByTestId('workspace-switch').getByLabel('Workspace')).toHaveValue('staging');

  // The default workspace's session is not Staging's.
  await page.goto(`/sessions/${here}`);
  await expect(page.getByTestId('failure')).toBeVisible();
  await page.goto('/sessions');
  await expect(page.locator(`a[href="/sessions/${here}"]`)).toHaveCount(0);
  await waitForHydration(page);
  await expect(page).toHaveURL(`${console_}/sessions?workspace=staging`);
  // That address, opened in another browser of the same person whose choice is the default,
  // opens Staging.
  const other = await page.context().browser()!.newContext({ baseURL: console_ });
  await signInAsAdmin(other.request, console_);
  const copied = await other.newPage();
  await copied.goto(`/sessions?workspace=staging`);
  await expect(copied.getByTestId('workspace-switch').getByLabel('Workspace')).toHaveValue('staging');
  await other.close();

  // Back: it is there again.
  await page.getByTestId('workspace-switch').getByLabel('Workspace').selectOption({ label: 'Default' });
  await page.getByTestId('workspace-switch').getByRole('button', { name: 'Switch' }).click();
  await expect(page).toHaveURL(`${console_}/`);
  await page.goto('/sessions');
  await expect(page.locator(`a[href="/sessions/${here}"]`).first()).toBeVisible();
  // The refused key and the other workspace's session answered with errors on purpose.
  expect(errors.filter((e) => !e.startsWith('Failed to load resource'))).toEqual([]);
});
