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

  // Two: the switch appears; choosing Staging leads to its overview.
  await page.reload();
  const switcher = page.getByTestId('workspace-switch');
  await expect(switcher.getByLabel('Workspace')).toHaveValue('default');
  await switcher.getByLabel('Workspace').selectOption({ label: 'Staging' });
  await switcher.getByRole('button', { name: 'Switch' }).click();
  await expect(page).toHaveURL(`${console_}/`);
  await expect(page.getByTestId('workspace-switch').getByLabel('Workspace')).toHaveValue('staging');

  // The default workspace's session is not Staging's.
  await page.goto(`/sessions/${here}`);
  await expect(page.getByTestId('failure')).toBeVisible();
  await page.goto('/sessions');
  await expect(page.locator(`a[href="/sessions/${here}"]`)).toHaveCount(0);

  // Back: it is there again.
  await page.getByTestId('workspace-switch').getByLabel('Workspace').selectOption({ label: 'Default' });
  await page.getByTestId('workspace-switch').getByRole('button', { name: 'Switch' }).click();
  await expect(page).toHaveURL(`${console_}/`);
  await page.goto('/sessions');
  await expect(page.locator(`a[href="/sessions/${here}"]`).first()).toBeVisible();
  // The refused key and the other workspace's session answered with errors on purpose.
  expect(errors.filter((e) => !e.startsWith('Failed to load resource'))).toEqual([]);
});
