import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type APIRequestContext, type Browser, type Page, expect, test } from '@playwright/test';
import { ADMIN_PASSWORD, collectErrors, signedOut, waitForHydration } from './support';

// The team journey through a round-robin balancer in front of two replicas on one PostgreSQL
// database (round-robin.mjs and the `replicas` project of playwright.config.ts): an admin makes an
// approver, who asks for email of waiting calls and allows one; then the replica that polls the
// inbox and sends the email is SIGKILLed, and the survivor carries the login, the next call, its
// email and its decision, each exactly once.
const port = Number(process.env.E2E_PORT ?? 3917);
const balancer = `http://127.0.0.1:${port + 10}`;
const engine = `http://127.0.0.1:${port + 13}`;
const mailbox = `http://127.0.0.1:${port + 15}/messages`;
const ENGINE_KEY = 'e2e-replicas-engine-key';
const PASSWORD = 'an approver password, long enough';
const ADDRESS = 'april@example.com';

type Replica = { name: string; pid: number; up: boolean; leases: string[]; answered: number };

/** The replicas as the balancer knows them. */
async function replicas(request: APIRequestContext): Promise<Replica[]> {
  return (await request.get(`${balancer}/__replicas`)).json();
}

/** The text of the messages the mail sink took for `address`, their bodies decoded. */
async function mailTo(request: APIRequestContext, address: string): Promise<string[]> {
  const messages: { to: string[]; data: string }[] = await (await request.get(mailbox)).json();
  return messages.filter((m) => m.to.includes(address)).map((m) => decoded(m.data));
}

/** A message's body as lettre encoded it (7-bit, quoted-printable or base64), decoded once. */
function decoded(data: string): string {
  const split = data.indexOf('\r\n\r\n');
  const [head, body] = [data.slice(0, split), data.slice(split + 4)];
  const encoding = /^content-transfer-encoding:\s*(\S+)/im.exec(head)?.[1].toLowerCase();
  if (encoding === 'base64') return Buffer.from(body.replace(/\s/g, ''), 'base64').toString('utf8');
  if (encoding !== 'quoted-printable') return body;
  const bytes = body
    .replace(/=\r\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16)));
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

/** The calls a message links to (their `event` parameter), with the links' origin and session. */
function linkedCalls(text: string): { origin: string; session: string; call: string }[] {
  return text
    .split(/\s+/)
    .filter((word) => word.includes('/sessions/') && word.includes('&t='))
    .map((word) => {
      const link = new URL(word);
      return { origin: link.origin, session: link.pathname.split('/').pop()!, call: link.searchParams.get('event')! };
    });
}

/** The session's `user.tool_confirmation` events as the engine, upstream of both replicas, has them. */
async function confirmations(request: APIRequestContext, session: string): Promise<string[]> {
  const response = await request.get(`${engine}/v1/sessions/${session}/events?limit=1000`, {
    headers: { 'x-api-key': ENGINE_KEY, 'anthropic-version': '2023-06-01', 'anthropic-beta': 'managed-agents-2026-04-01' },
  });
  expect(response.ok(), await response.text()).toBeTruthy();
  const { data } = await response.json();
  return data
    .filter((e: { type: string }) => e.type === 'user.tool_confirmation')
    .map((e: { tool_use_id: string }) => e.tool_use_id);
}

/**
 * A page's console errors less the one this journey expects: its inbox stream's, if the kill cut
 * it (the replica's death ends the response without its last chunk; EventSource opens the stream
 * again through the balancer).
 */
function withoutKnown(errors: string[]): string[] {
  const cut = `Failed to load resource: net::ERR_INCOMPLETE_CHUNKED_ENCODING [${balancer}/api/inbox/stream]`;
  let cuts = 0;
  return errors.filter((error) => error !== cut || ++cuts > 1);
}

async function signIn(browser: Browser, username: string, password: string): Promise<Page> {
  const context = await browser.newContext({ baseURL: balancer, storageState: signedOut });
  const page = await context.newPage();
  await page.goto('/login');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('signed-in')).toContainText(username);
  return page;
}

/** A scripted agent that asks before bash, in an environment of its own, and its session told "Go.". */
async function sessionThatAsksTwice(request: APIRequestContext): Promise<string> {
  const turns = [
    [{ tool: 'bash', input: { command: 'echo before the kill' } }, { text: 'Done.' }],
    [{ tool: 'bash', input: { command: 'echo after the kill' } }, { text: 'Done again.' }],
  ];
  const definition = JSON.stringify({
    name: 'Replicated agent',
    model: 'scripted',
    system: JSON.stringify({ turns }),
    tools: [{ type: 'agent_toolset_20260401', default_config: { permission_policy: { type: 'always_ask' } } }],
  });
  const agent = await request.post('/api/agents/create', { form: { definition } });
  expect(agent.ok(), await agent.text()).toBeTruthy();
  const environment = await request.post('/api/environments/save', {
    form: { id: '', 'form[name]': 'Replicated', 'form[kind]': 'cloud', 'form[networking]': 'limited' },
  });
  expect(environment.ok(), await environment.text()).toBeTruthy();
  const session = await request.post('/api/sessions/create', {
    form: {
      'form[agent_id]': (await agent.json()).id,
      'form[environment_id]': (await environment.json()).row.id,
      'form[title]': 'Through the balancer',
      'form[initial_message]': 'Go.',
    },
  });
  expect(session.ok(), await session.text()).toBeTruthy();
  return (await session.json()).row.id;
}

test.afterEach(async ({}, testInfo) => {
  if (testInfo.status === testInfo.expectedStatus) return;
  for (const name of ['a', 'b']) {
    const log = join(process.env.E2E_RUN_DIR!, `replica-${name}.log`);
    if (!existsSync(log)) continue;
    await testInfo.attach(`replica-${name}.log`, { body: readFileSync(log), contentType: 'text/plain' });
  }
});

test('through a balancer, a replica killed mid-journey loses no login, decision or email', async ({
  browser,
  request,
}) => {
  // Two people sign in and a lease changes hands (8 s at most after its holder's last renewal).
  test.setTimeout(90_000);
  const admin = await signIn(browser, 'admin', ADMIN_PASSWORD);
  const adminErrors = collectErrors(admin);
  await admin.goto('/users');
  await waitForHydration(admin);
  const form = admin.locator('form').filter({ has: admin.getByRole('button', { name: 'Create the account' }) });
  await form.getByLabel('Username').fill('april');
  await form.getByLabel('First password').fill(PASSWORD);
  await form.getByRole('checkbox', { name: 'They choose their own password' }).uncheck();
  for (const role of ['viewer', 'operator', 'approver', 'admin']) {
    await form.getByRole('checkbox', { name: role }).setChecked(role === 'approver');
  }
  await form.getByRole('button', { name: 'Create the account' }).click();
  await expect(admin.getByRole('status')).toContainText('Created april with the roles approver');

  // The approver asks for email of waiting calls.
  const approver = await signIn(browser, 'april', PASSWORD);
  const approverErrors = collectErrors(approver);
  await approver.goto('/inbox');
  await waitForHydration(approver);
  await approver.getByLabel('Email me when calls wait').fill(ADDRESS);
  await approver.getByRole('button', { name: 'Email me' }).click();
  await expect(approver.getByTestId('email-choice')).toContainText(`Waiting calls are emailed to ${ADDRESS}`);

  // A call waits: in the approver's inbox, and in one email whose link opens it at the balancer.
  const session = await sessionThatAsksTwice(admin.request);
  const waiting = approver.locator(`[data-testid="inbox-session"][data-session="${session}"]`);
  await expect(waiting.getByTestId('inbox-call')).toContainText('echo before the kill', { timeout: 20_000 });
  const before = await waiting.getByTestId('approval-card').getAttribute('data-event');
  await expect.poll(async () => (await mailTo(request, ADDRESS)).length, { timeout: 15_000 }).toBe(1);
  expect(linkedCalls((await mailTo(request, ADDRESS))[0])).toEqual([{ origin: balancer, session, call: before }]);
  await waiting.getByTestId('approval-card').getByRole('button', { name: 'Allow', exact: true }).click();
  await expect(waiting).toHaveCount(0);
  await expect.poll(() => confirmations(request, session), { timeout: 15_000 }).toEqual([before]);

  // The replica that polls the inbox and sends the email dies.
  const holders = await replicas(request);
  const victim = holders.find((r) => r.leases.includes('inbox:default'));
  expect(victim, JSON.stringify(holders)).toBeTruthy();
  expect(victim!.leases).toEqual(['inbox:default', 'notifier']);
  const survivor = holders.find((r) => r !== victim)!;
  // Both served the journey so far, turn about.
  expect(Math.min(victim!.answered, survivor.answered), JSON.stringify(holders)).toBeGreaterThan(20);
  const killed = await (await request.post(`${balancer}/__kill/${victim!.name}`)).json();
  expect(killed.up).toBe(false);
  const killedAt = Date.now();

  // The admin's login opens the survivor: the agent goes on, and asks again.
  const steered = await admin.request.post('/api/sessions/steer', {
    data: { session_id: session, text: 'Again.', file_ids: [], interrupt: false },
  });
  expect(steered.ok(), await steered.text()).toBeTruthy();
  // The approver's open page shows the second call once the survivor has taken the inbox over:
  // its stream, cut if it ran on the dead replica, comes back through the balancer by itself.
  await expect(waiting.getByTestId('inbox-call')).toContainText('echo after the kill', { timeout: 25_000 });
  const after = await waiting.getByTestId('approval-card').getAttribute('data-event');
  const shownAfter = (Date.now() - killedAt) / 1000;
  test.info().annotations.push({ type: 'second call shown after the kill', description: `${shownAfter.toFixed(1)} s` });
  await expect
    .poll(async () => (await replicas(request)).find((r) => r.name === survivor.name)!.leases)
    .toEqual(['inbox:default', 'notifier']);
  // Its email comes from the survivor, which knows the first call was told already.
  await expect
    .poll(async () => (await mailTo(request, ADDRESS)).length, {
      message: 'the survivor emails the call that came while no replica notified',
      timeout: 15_000,
    })
    .toBe(2);
  expect(linkedCalls((await mailTo(request, ADDRESS))[1])).toEqual([{ origin: balancer, session, call: after }]);

  // Signed in still, after a reload served by the survivor alone; the call is allowed once.
  await approver.reload();
  await waitForHydration(approver);
  await expect(approver.getByTestId('signed-in')).toContainText('april');
  await waiting.getByTestId('approval-card').getByRole('button', { name: 'Allow', exact: true }).click();
  await expect(waiting).toHaveCount(0);
  await expect.poll(() => confirmations(request, session), { timeout: 15_000 }).toEqual([before, after]);
  // Nothing more comes: no second decision upstream, no second email (the window is 1 s, the
  // inbox polled every 0.5 s).
  await approver.waitForTimeout(3_000);
  expect(await confirmations(request, session)).toEqual([before, after]);
  expect(await mailTo(request, ADDRESS)).toHaveLength(2);

  expect({ admin: withoutKnown(adminErrors), approver: withoutKnown(approverErrors) }).toEqual({
    admin: [],
    approver: [],
  });
});
