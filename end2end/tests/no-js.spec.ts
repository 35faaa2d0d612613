import { type APIRequestContext, type Page, expect, test } from '@playwright/test';
import { fact, sessionThatAsks, unique } from './support';

// The console with JavaScript off: every page is complete as the server renders it, links and
// GET forms navigate, and a missing id is a real 404.

test('the agents list and the demo agent render without JavaScript @no-js', async ({ page }) => {
  await page.goto('/agents');
  await expect(page.getByRole('heading', { level: 1, name: 'Agents' })).toBeVisible();
  const demo = page.getByTestId('agent-list').getByRole('row').filter({ hasText: 'Demo: scripted agent' });
  // Other specs create agents beside this one and the list is newest first: the demo agent, the
  // oldest, may be a page or more down. The pager is a plain link too.
  for (let pages = 0; (await demo.count()) === 0 && pages < 20; pages++) {
    await page.getByRole('link', { name: 'Next page →' }).click();
  }
  await expect(demo.getByRole('cell').nth(1)).toHaveText('scripted');
  await expect(demo.getByRole('cell').nth(2)).toHaveText('8 built-in, 1 custom');

  await demo.getByRole('link', { name: 'Demo: scripted agent' }).click();
  await expect(page).toHaveURL(/\/agents\/agent_[^/?]+$/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Demo: scripted agent v1');
  await expect(page).toHaveTitle('Demo: scripted agent · Switchboard');
  await expect(fact(page, 'Model')).toHaveText('scripted');
  await expect(fact(page, 'Tools')).toHaveText('8 built-in, 1 custom');
  await expect(fact(page, 'MCP servers')).toHaveText('none');
  await expect(page.getByRole('heading', { name: 'System prompt' })).toBeVisible();
  await expect(page.getByRole('region', { name: 'Versions' }).getByRole('link', { name: 'Version 1' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Edit', exact: true })).toBeVisible();
});

test('a missing agent answers 404 without JavaScript @no-js', async ({ page }) => {
  const response = await page.goto('/agents/agent_doesnotexist');
  expect(response?.status()).toBe(404);
  await expect(page.getByRole('heading', { level: 2, name: 'Not found' })).toBeVisible();
  await expect(page.getByRole('alert')).toContainText('agent_doesnotexist');
  await expect(page.getByRole('link', { name: 'Back to the agents' })).toHaveAttribute('href', '/agents');
});

test('the environments list and the demo environment render without JavaScript @no-js', async ({ page }) => {
  await page.goto('/environments');
  await expect(page.getByRole('heading', { level: 1, name: 'Environments' })).toBeVisible();
  const demo = page.getByTestId('environment-list').getByRole('row').filter({ hasText: 'Demo environment' });
  await expect(demo.getByRole('cell').nth(1)).toHaveText('limited (0 hosts)');

  await demo.getByRole('link', { name: 'Demo environment', exact: true }).click();
  await expect(page).toHaveURL(/\/environments\/env_[^/?]+$/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Demo environment');
  await expect(page.getByText('A sandbox without network access, for the demo agent.', { exact: true })).toBeVisible();
  await expect(fact(page, 'Type')).toHaveText('cloud');
  await expect(fact(page, 'Networking')).toHaveText('limited (0 hosts)');
});

test('the sessions filter is a plain form that puts the status in the address @no-js', async ({ page }) => {
  await page.goto('/sessions');
  await expect(page.getByRole('heading', { level: 1, name: 'Sessions' })).toBeVisible();
  const filters = page.getByRole('form', { name: 'Filter sessions' });
  await expect(filters.getByRole('combobox', { name: 'Agent' })).toContainText('Demo: scripted agent');
  await filters.getByRole('combobox', { name: 'Status' }).selectOption('idle');
  await filters.getByRole('button', { name: 'Filter' }).click();

  await expect(page).toHaveURL(/\/sessions\?status=idle(&|$)/);
  await expect(page.getByRole('heading', { level: 1, name: 'Sessions' })).toBeVisible();
  await expect(page.getByRole('form', { name: 'Filter sessions' }).getByRole('combobox', { name: 'Status' })).toHaveValue(
    'idle',
  );
  // Other tests run at the same time: either no session matches, or every one listed is idle.
  const list = page.getByTestId('session-list');
  if ((await list.count()) === 0) {
    await expect(page.getByRole('heading', { name: 'No sessions match these filters' })).toBeVisible();
  } else {
    const statuses = await list.locator('tbody tr > td:nth-child(2)').allInnerTexts();
    expect(statuses.length).toBeGreaterThan(0);
    expect(new Set(statuses)).toEqual(new Set(['idle']));
  }

  // A day to come: nothing started since; the empty state offers the way back.
  await page.getByRole('form', { name: 'Filter sessions' }).getByLabel('Started on or after').fill('2999-01-01');
  await page.getByRole('form', { name: 'Filter sessions' }).getByRole('button', { name: 'Filter' }).click();
  await expect(page).toHaveURL(/since=2999-01-01/);
  await expect(page.getByRole('heading', { name: 'No sessions match these filters' })).toBeVisible();
  await page.getByRole('link', { name: 'Clear the filters' }).click();
  await expect(page).toHaveURL(/\/sessions$/);
  await expect(page.getByLabel('Started on or after')).toHaveValue('');
  await expect(page.getByRole('heading', { name: 'No sessions match these filters' })).toHaveCount(0);
});

test('files can be listed and uploaded without JavaScript @no-js', async ({ page }) => {
  await page.goto('/files');
  await expect(page.getByRole('heading', { level: 1, name: 'Files' })).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Upload a file' })).toBeVisible();
  await expect(page.getByText('Drop a file here or choose one. Up to 1 MiB per file.')).toBeVisible();

  // The upload form posts by itself and comes back to the list.
  const name = `${unique('plain-upload').replace(/\s+/g, '-')}.txt`;
  await page.getByLabel('File', { exact: true }).setInputFiles({
    name,
    mimeType: 'text/plain',
    buffer: Buffer.from('sent by a plain form\n'),
  });
  await page.getByRole('button', { name: 'Upload', exact: true }).click();
  await expect(page).toHaveURL(/\/files\?uploaded=file_\w+$/);
  const id = new URL(page.url()).searchParams.get('uploaded')!;
  await expect(page.getByRole('status')).toHaveText(`Uploaded ${id}.`);
  const row = page.getByTestId('file-list').getByRole('row').filter({ hasText: name });
  await expect(row).toContainText(id);
  await expect(row.getByRole('link', { name: 'Start a session with it' })).toHaveAttribute(
    'href',
    `/sessions/new?file_id=${id}`,
  );
});

test('the vaults page renders without JavaScript @no-js', async ({ page }) => {
  await page.goto('/vaults');
  await expect(page.getByRole('heading', { level: 1, name: 'Vaults' })).toBeVisible();
  await expect(page.getByText('Secrets are write-only.')).toBeVisible();
  await expect(page.getByLabel('New vault named')).toBeEditable();
  await expect(page.getByRole('button', { name: 'Create vault' })).toBeEnabled();
  await expect(page.getByRole('link', { name: 'Show archived' })).toHaveAttribute('href', '/vaults?include_archived=true');
});

/** How many of `session`'s calls the inbox lists as waiting. */
async function waitingIn(request: APIRequestContext, session: string): Promise<number> {
  const { calls } = await (await request.get('/api/inbox/list')).json();
  return calls.filter((c: { session_id: string }) => c.session_id === session).length;
}

/** The `user.tool_confirmation`s the API holds for `session` (its JSON export): result and message. */
async function confirmationsOf(request: APIRequestContext, session: string): Promise<string[]> {
  const response = await request.get(`/api/sessions/${session}/export?format=json`);
  expect(response.ok(), await response.text()).toBeTruthy();
  const { events } = await response.json();
  return events
    .filter((e: { type: string }) => e.type === 'user.tool_confirmation')
    .map((e: { result: string; deny_message?: string }) => [e.result, e.deny_message].filter(Boolean).join(': '));
}

test('an approval card allows a call exactly once and denies one with a reason, without JavaScript @no-js', async ({
  page,
  context,
  request,
}) => {
  const session = await sessionThatAsks(request, ['echo first', 'echo second'], 'Decided without JavaScript');
  await expect.poll(() => waitingIn(request, session), { timeout: 20_000 }).toBe(2);

  // The session page as the server sends it, open in two tabs: its cards are plain forms.
  const other = await context.newPage();
  for (const tab of [page, other]) {
    await tab.goto(`/sessions/${session}`);
    await expect(tab.getByTestId('approval-card')).toHaveCount(2);
  }
  const allowFirst = (tab: Page) =>
    tab.getByTestId('approval-card').filter({ hasText: 'echo first' }).getByRole('button', { name: 'Allow', exact: true });
  await allowFirst(page).click();
  await expect(page).toHaveURL(new RegExp(`/sessions/${session}\\?decision=allowed&decided=`));
  await expect(page.getByTestId('form-outcome')).toHaveText('You allowed the call. The agent goes on.');
  await expect(page.getByTestId('approval-card').filter({ hasText: 'echo first' })).toHaveCount(0);
  await expect(page.getByTestId('approval-card').filter({ hasText: 'echo second' })).toHaveCount(1);
  // Pressed again, in the other tab: nothing more is sent, and the page says why.
  await allowFirst(other).click();
  await expect(other.getByTestId('form-outcome')).toContainText('This call was already decided');
  await expect(other.getByTestId('approval-card').filter({ hasText: 'echo first' })).toHaveCount(0);

  // The second call, from the inbox: denied with a reason for the agent.
  await page.goto('/inbox');
  const second = page.getByTestId('approval-card').filter({ hasText: 'echo second' });
  await second.getByTestId('deny-with-message').click();
  await second.getByLabel('Message to the agent').fill('Not the second one.');
  await second.getByRole('button', { name: 'Deny with this message' }).click();
  await expect(page).toHaveURL(/\/inbox\?decision=denied&decided=/);
  await expect(page.getByTestId('form-outcome')).toHaveText('You denied the call. The agent was told.');
  await expect(page.getByTestId('approval-card').filter({ hasText: 'echo second' })).toHaveCount(0);

  // One confirmation for each call went upstream, whatever the presses.
  await expect.poll(() => confirmationsOf(request, session), { timeout: 15_000 }).toEqual([
    'allow',
    'deny: Not the second one.',
  ]);
});
