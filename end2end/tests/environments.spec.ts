import { expect, test, type Page } from '@playwright/test';
import { collectErrors, fact, idFromUrl, unique, waitForHydration } from './support';

/** Opens the new-environment form, hydrated. */
async function openNewEnvironmentForm(page: Page): Promise<void> {
  await page.goto('/environments/new');
  await expect(page.getByRole('heading', { level: 1, name: 'New environment' })).toBeVisible();
  await waitForHydration(page);
}

test('an environment with limited networking and a pip package shows its facts, and an edit changes them', async ({
  page,
}) => {
  const errors = collectErrors(page);
  const name = unique('Data science');
  await openNewEnvironmentForm(page);
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Description', { exact: true }).fill('For notebooks');
  await page.getByLabel('Limited to the hosts below').check();
  await page.getByRole('textbox', { name: 'Allowed hosts (one per line)' }).fill('api.example.com');
  await page.getByLabel('Also allow package registries').check();
  await page.getByRole('textbox', { name: 'pip', exact: true }).fill('requests==2.32.3');
  await page.getByRole('button', { name: 'Create environment' }).click();

  await expect(page).toHaveURL(/\/environments\/env_[^/?]+$/);
  const id = idFromUrl(page);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(name);
  await expect(page.getByText('For notebooks', { exact: true })).toBeVisible();
  await expect(fact(page, 'Id')).toHaveText(id);
  await expect(fact(page, 'Type')).toHaveText('cloud');
  await expect(fact(page, 'Networking')).toHaveText('limited (1 host)');
  await expect(fact(page, 'Allowed hosts')).toHaveText('api.example.com');
  await expect(fact(page, 'pip packages')).toHaveText('requests==2.32.3');

  // Edit: the form starts from what was saved.
  await waitForHydration(page);
  await page.getByRole('link', { name: 'Edit', exact: true }).click();
  await expect(page).toHaveURL(`/environments/${id}?edit=1`);
  await expect(page.getByLabel('Name', { exact: true })).toHaveValue(name);
  await expect(page.getByLabel('Limited to the hosts below')).toBeChecked();
  await expect(page.getByLabel('Also allow package registries')).toBeChecked();
  await expect(page.getByRole('textbox', { name: 'pip', exact: true })).toHaveValue('requests==2.32.3');
  await page.getByLabel('Description', { exact: true }).fill('For notebooks and reports');
  await page.getByRole('textbox', { name: 'Allowed hosts (one per line)' }).fill('api.example.com\ndocs.example.com');
  await page.getByRole('button', { name: 'Save changes' }).click();

  // The page shows what was just saved, without a reload.
  await expect(page).toHaveURL(`/environments/${id}`);
  await expect(page.getByRole('link', { name: 'Edit', exact: true })).toBeVisible();
  await expect(page.getByText('For notebooks and reports', { exact: true })).toBeVisible();
  await expect(fact(page, 'Networking')).toHaveText('limited (2 hosts)');
  await expect(fact(page, 'Allowed hosts')).toHaveText('api.example.com, docs.example.com');
  // What was saved is what a fresh load shows.
  await page.reload();
  await expect(page.getByText('For notebooks and reports', { exact: true })).toBeVisible();
  await expect(fact(page, 'Networking')).toHaveText('limited (2 hosts)');
  await expect(fact(page, 'Allowed hosts')).toHaveText('api.example.com, docs.example.com');
  await expect(fact(page, 'pip packages')).toHaveText('requests==2.32.3');
  expect(errors).toEqual([]);
});

test('an environment a session uses cannot be deleted, the refusal shows in place, and it can be archived', async ({
  page,
}) => {
  const errors = collectErrors(page);
  const name = unique('Busy environment');
  await openNewEnvironmentForm(page);
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByRole('button', { name: 'Create environment' }).click();
  await expect(page).toHaveURL(/\/environments\/env_[^/?]+$/);
  const id = idFromUrl(page);
  await expect(fact(page, 'Networking')).toHaveText('unrestricted');

  // A session in that environment.
  const title = unique('Session in a busy environment');
  await page.goto('/sessions/new');
  await expect(page.getByRole('heading', { level: 1, name: 'New session' })).toBeVisible();
  await waitForHydration(page);
  await page.getByRole('combobox', { name: 'Agent', exact: true }).selectOption({ label: 'Demo: scripted agent (latest: v1)' });
  await page.getByRole('combobox', { name: 'Environment', exact: true }).selectOption({ label: name });
  await page.getByLabel('Title', { exact: true }).fill(title);
  await page.getByRole('button', { name: 'Start session' }).click();
  await expect(page).toHaveURL(/\/sessions\/sesn_[^/?]+$/);
  await expect(page.getByRole('heading', { level: 1 })).toContainText(title);

  // From the session to its environment, then try to delete it.
  await waitForHydration(page);
  await fact(page, 'Environment').getByRole('link', { name: id }).click();
  await expect(page).toHaveURL(`/environments/${id}`);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(name);
  await page.getByRole('button', { name: 'Delete', exact: true }).click();
  const confirm = page.getByRole('group', { name: 'Confirm' });
  await expect(confirm).toContainText('The API refuses while sessions still use it.');
  await confirm.getByRole('button', { name: 'Yes, delete' }).click();
  await expect(page.getByRole('alert')).toContainText(`Environment ${id} is used by 1 session(s) that are not archived`);
  await expect(page).toHaveURL(`/environments/${id}`);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(name);

  // Archiving is what the refusal suggests.
  await page.getByRole('button', { name: 'Archive', exact: true }).click();
  await page.getByRole('group', { name: 'Confirm' }).getByRole('button', { name: 'Yes, archive' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(`${name} archived`);
  await expect(page.getByRole('link', { name: 'Edit', exact: true })).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Archive', exact: true })).toHaveCount(0);

  await page.goto('/environments');
  const list = page.getByTestId('environment-list');
  await expect(list.getByRole('link', { name: 'Demo environment', exact: true })).toBeVisible();
  await expect(list.getByRole('link', { name })).toHaveCount(0);
  await waitForHydration(page);
  await page.getByRole('link', { name: 'Show archived' }).click();
  await expect(page).toHaveURL('/environments?include_archived=true');
  await expect(page.getByRole('row').filter({ has: page.getByRole('link', { name }) })).toContainText('archived');

  // Chromium reports the refused delete (409); nothing else may fail.
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatch(/status of 409 \(Conflict\) \[http:\/\/[^\]]+\/api\/environments\/delete[^\]]*\]$/);
});

test('an admin issues a self-hosted environment key once, sees it listed by its ending, and revokes it', async ({
  page,
  request,
}) => {
  const errors = collectErrors(page);
  const made = await request.post('/api/environments/save', {
    form: { id: '', 'form[name]': unique('Fleet'), 'form[kind]': 'self_hosted' },
  });
  expect(made.ok(), await made.text()).toBeTruthy();
  const id = (await made.json()).row.id;
  await page.goto(`/environments/${id}`);
  await waitForHydration(page);
  await expect(page.getByText('No keys yet')).toBeVisible();

  await page.getByRole('button', { name: 'Issue an environment key' }).click();
  const notice = page.getByRole('status').filter({ hasText: 'shown this once' });
  const key = ((await notice.locator('pre').textContent()) ?? '').trim();
  expect(key).toMatch(/^envk_[A-Za-z0-9]+$/);
  // Listed by its last four characters, never whole; used by nobody yet.
  const keys = page.getByTestId('environment-keys');
  await expect(keys.getByRole('row')).toHaveCount(2);
  const row = keys.getByRole('row').nth(1);
  await expect(row).toContainText(`…${key.slice(-4)}`);
  await expect(row).toContainText('never');
  await expect(row).toContainText('live');
  await expect(keys).not.toContainText(key);

  // The key works against the engine (whose address the worker's command names, for an admin)
  // until it is revoked.
  const command = (await page.locator('pre.json').filter({ hasText: 'switchboard worker' }).textContent()) ?? '';
  const base = command.match(/--base-url (\S+)/)?.[1];
  expect(base, command).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  const stats = async () =>
    (
      await request.get(`${base}/v1/environments/${id}/work/stats`, {
        headers: { authorization: `Bearer ${key}`, 'anthropic-beta': 'managed-agents-2026-04-01' },
      })
    ).status();
  expect(await stats()).toBe(200);
  await row.getByRole('button', { name: 'Revoke' }).click();
  await row.getByRole('button', { name: 'Yes, revoke' }).click();
  await expect(row).toContainText('revoked');
  await expect(row.getByRole('button', { name: 'Revoke' })).toHaveCount(0);
  expect(await stats()).toBe(401);
  await page.reload();
  await expect(page.getByTestId('environment-keys').getByRole('row').nth(1)).toContainText('revoked');
  const archived = await request.post('/api/environments/archive', { form: { id } });
  expect(archived.ok(), await archived.text()).toBeTruthy();
  expect(errors).toEqual([]);
});
