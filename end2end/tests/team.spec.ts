import { readFileSync } from 'node:fs';
import { type Browser, type Page, expect, test } from '@playwright/test';
import { signedOut, waitForHydration } from './support';

// A team on a Switchboard that starts with no accounts (the third server of playwright.config.ts):
// the first admin from the setup link, an approver and a viewer created on the Users page, a tool
// call decided by the approver from the inbox, the viewer watching without decision buttons, and
// the audit log.
const port = Number(process.env.E2E_PORT ?? 3917);
const fresh = `http://127.0.0.1:${port + 3}`;
const PASSWORD = 'a team password, long enough';

test.use({ baseURL: fresh, storageState: signedOut });

/** The one-time setup link from the fresh Switchboard's log. */
function setupLink(): string {
  const log = readFileSync(process.env.E2E_FRESH_LOG!, 'utf8');
  const link = /http:\/\/\S+\/setup\?token=[0-9a-f]+/.exec(log);
  expect(link, `the setup link in the log:\n${log}`).toBeTruthy();
  return link![0];
}

async function signIn(browser: Browser, username: string): Promise<Page> {
  const context = await browser.newContext({ baseURL: fresh, storageState: signedOut });
  const page = await context.newPage();
  await page.goto('/login');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('signed-in')).toContainText(username);
  return page;
}

async function createAccount(page: Page, username: string, role: string, chooseOwn = false): Promise<void> {
  const form = page.locator('form').filter({ has: page.getByRole('button', { name: 'Create the account' }) });
  await form.getByLabel('Username').fill(username);
  await form.getByLabel('First password').fill(PASSWORD);
  await form.getByRole('checkbox', { name: 'They choose their own password' }).setChecked(chooseOwn);
  // Only the role asked for (a new form starts with viewer).
  for (const each of ['viewer', 'operator', 'approver', 'admin']) {
    await form.getByRole('checkbox', { name: each }).setChecked(each === role);
  }
  await form.getByRole('button', { name: 'Create the account' }).click();
  await expect(page.getByRole('status')).toContainText(`Created ${username} with the roles ${role}`);
  await expect(page.locator(`tr[data-username="${username}"]`)).toBeVisible();
  // The form is empty again for the next account.
  await expect(form.getByLabel('Username')).toHaveValue('');
}

test('first admin from the setup link; an approver decides a call from the inbox, a viewer only watches; the audit log shows both', async ({
  page,
  browser,
}) => {
  // Three people sign in and ten pages load: on the debug server scripts/test runs, beside the
  // other workers, this journey took 34 s of the default 30.
  test.slow();
  // Nothing is reachable before the first admin exists.
  await page.goto('/sessions');
  await expect(page).toHaveURL(/\/setup$/);
  await page.goto(setupLink());
  await page.getByLabel('Username').fill('root');
  await page.getByLabel('Display name').fill('Rae Root');
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByLabel('Password again').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create the admin and sign in' }).click();
  await expect(page.getByTestId('signed-in')).toContainText('Rae Root (root)');

  // The admin creates an approver and a viewer.
  await page.goto('/users');
  await waitForHydration(page);
  await createAccount(page, 'april', 'approver');
  await createAccount(page, 'vic', 'viewer');

  // A session waits on a bash call (the admin starts it through the API, as an operator would).
  const definition = JSON.stringify({
    name: 'Team journey agent',
    model: 'scripted',
    system: JSON.stringify({ turns: [[{ tool: 'bash', input: { command: 'ls /workspace' } }, { text: 'Listed.' }]] }),
    tools: [{ type: 'agent_toolset_20260401', default_config: { permission_policy: { type: 'always_ask' } } }],
  });
  const agent = await page.request.post('/api/agents/create', { form: { definition } });
  expect(agent.ok(), await agent.text()).toBeTruthy();
  const choices = await (await page.request.get('/api/sessions/choices')).json();
  const session = await page.request.post('/api/sessions/create', {
    form: { 'form[agent_id]': (await agent.json()).id, 'form[environment_id]': choices.environments[0].id },
  });
  expect(session.ok(), await session.text()).toBeTruthy();
  const id = (await session.json()).row.id;
  const steer = await page.request.post('/api/sessions/steer', {
    data: { session_id: id, text: 'What is in the workspace?', file_ids: [], interrupt: false },
  });
  expect(steer.ok(), await steer.text()).toBeTruthy();

  // The viewer sees the session and the call, but no decision buttons and no message box.
  const viewer = await signIn(browser, 'vic');
  await viewer.goto(`/sessions/${id}`);
  await waitForHydration(viewer);
  await expect(viewer.getByTestId('timeline').locator('[data-kind="agent.tool_use"]')).toContainText('ls /workspace');
  // The session waits on the call now: an approver would have its card at this point.
  await expect(viewer.getByTestId('live-state')).toContainText('Waiting for your approval of 1 tool call');
  await expect(viewer.getByTestId('approval-card')).toHaveCount(0);
  await expect(viewer.getByTestId('composer-text')).toHaveCount(0);
  await expect(viewer.getByRole('link', { name: 'Users' })).toHaveCount(0);
  // Calling the decision endpoint directly is refused too.
  const forged = await viewer.request.post('/api/sessions/decide', {
    data: { session_id: id, verdicts: [{ event_id: 'sevt_x', allow: true, deny_message: null }] },
  });
  expect(forged.status()).toBe(403);

  // In the inbox the viewer sees the call too, still without a card.
  await viewer.goto('/inbox');
  await waitForHydration(viewer);
  const seen = viewer.locator(`[data-testid="inbox-session"][data-session="${id}"]`);
  await expect(seen.getByTestId('inbox-call')).toContainText('ls /workspace');
  await expect(seen.getByTestId('approval-card')).toHaveCount(0);

  // The approver sees the count on the Inbox link and in the title, and allows the call from the
  // inbox.
  const approver = await signIn(browser, 'april');
  const badge = approver.getByTestId('inbox-badge');
  await expect(badge).toHaveText('1');
  await expect(approver).toHaveTitle(/^\(1\) /);
  await approver.getByRole('link', { name: /^Inbox/ }).click();
  await expect(approver).toHaveURL(/\/inbox$/);
  const waiting = approver.locator(`[data-testid="inbox-session"][data-session="${id}"]`);
  await expect(waiting).toContainText('Agent: Team journey agent');
  await expect(waiting.getByTestId('inbox-call')).toContainText('$ ls /workspace');
  await expect(waiting.getByTestId('waiting')).toContainText('waiting');
  const card = waiting.getByTestId('approval-card');
  await expect(card).toContainText('Allow bash?');
  await card.getByTestId('allow').click();
  await expect(waiting).toHaveCount(0);
  await expect(approver.getByTestId('inbox-empty')).toBeVisible();
  await expect(badge).toHaveCount(0);
  await expect(approver).toHaveTitle(/^Inbox · Switchboard$/);
  // The session carried on.
  await approver.goto(`/sessions/${id}`);
  await expect(approver.getByTestId('timeline').locator('[data-kind="agent.message"]').last()).toContainText('Listed.');

  // The audit log names both: the accounts the admin created, the approver's decision, the
  // viewer's refused call.
  await page.goto('/audit');
  const log = page.getByTestId('audit-log');
  await expect(log.locator('tr[data-action="users/create"]')).toHaveCount(2);
  await expect(log.locator('tr[data-action="users/create"]').first()).toContainText('root');
  const decision = log.locator('tr[data-action="sessions/decide"]');
  await expect(decision.filter({ hasText: 'april' })).toContainText('ok 200');
  await expect(decision.filter({ hasText: 'vic' })).toContainText('refused 403');
  // The approver sees their own entries only.
  await approver.goto('/audit');
  await expect(approver.getByText('Your own actions.')).toBeVisible();
  await expect(approver.getByTestId('audit-log').locator('tr[data-action="users/create"]')).toHaveCount(0);

  // A new operator chooses her own password at her first sign-in: until then only her Account
  // page opens. Then she sees where she is signed in and ends the other browser's sign-in.
  await page.goto('/users');
  await waitForHydration(page);
  await createAccount(page, 'nina', 'operator', true);
  await expect(page.locator('tr[data-username="nina"]')).toContainText('new password due');
  const nina = await signIn(browser, 'nina');
  await expect(nina).toHaveURL(/\/account\?required=1$/);
  await expect(nina.getByTestId('password-required')).toContainText('asked you to choose your own');
  // Her pages do not open the inbox's stream meanwhile: it would only be refused, over and over.
  const inboxStreams: string[] = [];
  nina.on('request', (request) => {
    if (request.url().includes('/api/inbox/stream')) inboxStreams.push(request.url());
  });
  await nina.goto('/sessions');
  await expect(nina).toHaveURL(/\/account\?required=1$/);
  await waitForHydration(nina);
  // The stream opens right after hydration for everyone else (it does below, once she may).
  await nina.waitForTimeout(1_500);
  expect(inboxStreams).toEqual([]);
  const ninasOwn = 'her own choice, long enough';
  await nina.getByLabel('Current password').fill(PASSWORD);
  await nina.getByLabel('New password', { exact: true }).fill(ninasOwn);
  await nina.getByLabel('New password again').fill(ninasOwn);
  await nina.getByRole('button', { name: 'Change the password' }).click();
  await expect(nina).toHaveURL(/\/account\?done=password$/);
  await expect(nina.getByRole('status')).toContainText('Your password is changed');
  const stream = nina.waitForRequest((request) => request.url().includes('/api/inbox/stream'));
  await nina.goto('/sessions');
  await expect(nina).toHaveURL(/\/sessions$/);
  await stream;
  // A second browser of hers, then its sign-in ended from the first.
  const other = await (await browser.newContext({ baseURL: fresh, storageState: signedOut })).newPage();
  await other.goto('/login');
  await other.getByLabel('Username').fill('nina');
  await other.getByLabel('Password').fill(ninasOwn);
  await other.getByRole('button', { name: 'Sign in' }).click();
  await expect(other.getByTestId('signed-in')).toContainText('nina');
  await nina.getByTestId('signed-in').getByRole('link', { name: 'nina' }).click();
  await expect(nina).toHaveURL(/\/account$/);
  await waitForHydration(nina);
  const logins = nina.getByTestId('my-logins');
  await expect(logins.locator('tbody tr')).toHaveCount(2);
  await expect(logins.locator('tr[data-current="true"]')).toContainText('this browser');
  await logins.locator('tr[data-current="false"]').getByRole('button', { name: 'End' }).click();
  await expect(logins.locator('tbody tr')).toHaveCount(1);
  await other.goto('/sessions');
  await expect(other).toHaveURL(/\/login/);
});
