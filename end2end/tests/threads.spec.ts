import { type APIRequestContext, type Page, expect, test } from '@playwright/test';
import { unique, waitForHydration } from './support';

// Multiagent sessions and outcomes in the console, against the embedded engine: an outcome
// defined when the session starts, shown through its iterations; a child thread's approval
// decided from its card in the live view and from the Inbox.

async function createAgent(request: APIRequestContext, definition: object): Promise<string> {
  const response = await request.post('/api/agents/create', { form: { definition: JSON.stringify(definition) } });
  expect(response.ok(), await response.text()).toBeTruthy();
  return (await response.json()).id;
}

async function demoEnvironment(request: APIRequestContext): Promise<string> {
  const response = await request.get('/api/sessions/choices');
  const { environments } = await response.json();
  return environments.find((e: { label: string }) => e.label.includes('Demo environment')).id;
}

/** A lead agent that hands one task to a helper whose bash calls need approval. */
async function leadWithCarefulHelper(request: APIRequestContext): Promise<string> {
  const helperName = unique('Careful helper');
  const helper = await createAgent(request, {
    name: helperName,
    model: 'scripted',
    system: JSON.stringify({ turns: [[{ tool: 'bash', input: { command: 'echo from the helper' } }, { text: 'Ran it.' }]] }),
    tools: [{ type: 'agent_toolset_20260401', default_config: { permission_policy: { type: 'always_ask' } } }],
  });
  return createAgent(request, {
    name: unique('Lead'),
    model: 'scripted',
    system: JSON.stringify({ turns: [[{ subagent: helperName, message: 'Run it.' }, { text: 'Thanks, all done.' }]] }),
    multiagent: { type: 'multiagent_20261001', subagents: { type: 'enabled', predefined_agents: [helper] } },
  });
}

async function startSession(request: APIRequestContext, agentId: string, message: string): Promise<string> {
  const response = await request.post('/api/sessions/create', {
    form: {
      'form[agent_id]': agentId,
      'form[environment_id]': await demoEnvironment(request),
      'form[title]': unique('Threads'),
      'form[initial_message]': message,
    },
  });
  expect(response.ok(), await response.text()).toBeTruthy();
  return (await response.json()).row.id;
}

function rows(page: Page, kind: string) {
  return page.getByTestId('timeline').locator(`[data-kind="${kind}"]`);
}

test('an outcome defined when the session starts is shown through its iterations', async ({ page, request }) => {
  const agentId = await createAgent(request, {
    name: unique('Graded writer'),
    model: 'scripted',
    system: JSON.stringify({
      stream_delay_ms: 20,
      turns: [[{ text: 'Draft one.' }], [{ text: 'Draft two, with every bug.' }]],
      grader: [
        { result: 'needs_revision', explanation: 'It misses two bugs.' },
        { result: 'satisfied', explanation: 'Every bug is named.' },
      ],
    }),
  });
  await page.goto('/sessions/new');
  await waitForHydration(page);
  await page.getByRole('combobox', { name: 'Agent', exact: true }).selectOption(agentId);
  await page.getByRole('combobox', { name: 'Environment', exact: true }).selectOption({ label: 'Demo environment' });
  const title = unique('Outcome');
  await page.getByLabel('Title', { exact: true }).fill(title);
  await page.getByTestId('outcome-description').fill('A summary that names every bug');
  await page.getByTestId('outcome-rubric').fill('- names every bug\n- one page');
  await page.getByTestId('outcome-iterations').fill('3');
  await page.getByRole('button', { name: 'Start session' }).click();
  await expect(page).toHaveURL(/\/sessions\/sesn_[^/?]+$/);

  const outcome = page.getByTestId('outcome');
  await expect(outcome).toContainText('A summary that names every bug');
  const iterations = outcome.getByTestId('outcome-iteration');
  await expect(iterations).toHaveCount(2, { timeout: 20_000 });
  await expect(iterations.nth(0)).toContainText('Iteration 1: needs revision');
  await expect(iterations.nth(0)).toContainText('It misses two bugs.');
  await expect(iterations.nth(1)).toContainText('Iteration 2: satisfied');
  await expect(outcome.getByTestId('outcome-state')).toHaveText('Satisfied');
  await expect(rows(page, 'agent.message')).toHaveCount(2);

  // A second outcome, defined from the live view: the grader's verdicts start over.
  const define = page.getByTestId('define-outcome');
  await define.locator('summary').click();
  await define.getByTestId('live-outcome-send').click();
  await expect(define.getByRole('alert')).toContainText('Say what the agent should produce');
  await define.getByTestId('live-outcome-description').fill('A shorter summary');
  await define.getByTestId('live-outcome-rubric').fill('- half a page');
  await define.getByTestId('live-outcome-send').click();
  const second = page.getByTestId('outcome').nth(1);
  await expect(second).toContainText('A shorter summary', { timeout: 20_000 });
  await expect(second.getByTestId('outcome-iteration')).toHaveCount(2, { timeout: 20_000 });
  await expect(second.getByTestId('outcome-state')).toHaveText('Satisfied');

  // The list shows where the outcome stands.
  await page.goto('/sessions');
  const row = page.getByTestId('session-list').getByRole('row').filter({ hasText: title });
  await expect(row.getByTestId('outcome-chip')).toHaveText('outcome: satisfied (iteration 2)');
});

test('a child thread’s call is decided from its card, and another from the Inbox', async ({ page, request }) => {
  const lead = await leadWithCarefulHelper(request);
  const id = await startSession(request, lead, 'Go.');
  await page.goto(`/sessions/${id}`);
  await waitForHydration(page);
  const card = page.getByTestId('approval-card');
  await expect(card).toBeVisible({ timeout: 20_000 });
  await expect(card.getByTestId('card-thread')).toContainText(/in Careful helper \S+'s thread/);
  await expect(rows(page, 'agent.tool_use').getByTestId('call-thread')).toContainText('Careful helper');
  await expect(rows(page, 'session.thread_created')).toContainText('Started a thread for Careful helper');
  await card.getByTestId('allow').click();
  await expect(card).toHaveCount(0);
  await expect(page.getByTestId('live-state')).toContainText('finished its turn', { timeout: 20_000 });
  await expect(rows(page, 'agent.thread_message_received')).toContainText('Ran it.');
  await expect(rows(page, 'agent.message').last()).toContainText('Thanks, all done.');

  // The same kind of call waiting in another session, decided from the Inbox.
  const other = await startSession(request, lead, 'Again.');
  await page.goto('/inbox');
  await waitForHydration(page);
  const group = page.locator(`[data-testid="inbox-session"][data-session="${other}"]`);
  const inboxCard = group.getByTestId('approval-card');
  await expect(inboxCard).toBeVisible({ timeout: 20_000 });
  await expect(inboxCard.getByTestId('card-thread')).toContainText(/in Careful helper \S+'s thread/);
  await inboxCard.getByTestId('allow').click();
  await expect(group).toHaveCount(0, { timeout: 10_000 });
  await expect
    .poll(async () => (await (await request.get(`/api/sessions/get?id=${other}`)).json()).row.status, { timeout: 20_000 })
    .toBe('idle');
});

test('lanes appear as threads start, zoom and scrub, and a thread’s own timeline opens from its lane', async ({ page, request }) => {
  const workerName = unique('Worker');
  const steps = Array.from({ length: 4 }, (_, n) => [{ text: `Part ${n + 1} of the work.` }, { sleep_ms: 400 }]).flat();
  const worker = await createAgent(request, { name: workerName, model: 'scripted', system: JSON.stringify({ turns: [steps] }) });
  // Enough notes of the lead's own that its timeline scrolls.
  const notes = Array.from({ length: 15 }, (_, n) => ({ text: `Note ${n + 1} before handing over.` }));
  const lead = await createAgent(request, {
    name: unique('Lead'),
    model: 'scripted',
    system: JSON.stringify({ turns: [[{ sleep_ms: 300 }, ...notes, { subagent: workerName, message: 'Work.' }, { text: 'Done.' }]] }),
    multiagent: { type: 'multiagent_20261001', subagents: { type: 'enabled', predefined_agents: [worker] } },
  });
  const id = await startSession(request, lead, 'Go.');
  await page.goto(`/sessions/${id}`);
  await waitForHydration(page);
  const lane = page.getByTestId('thread-lane');
  await expect(lane).toHaveCount(1, { timeout: 20_000 });
  await expect(lane).toContainText(workerName);
  await lane.getByTestId('open-thread').click();
  const thread = page.getByTestId('thread-view');
  await expect(thread).toContainText(`${workerName}'s thread`);
  // Its own events, which the session's timeline does not carry.
  await expect(thread.locator('[data-kind="agent.message"]').last()).toContainText('Part 4 of the work.', { timeout: 20_000 });
  const sessionTimeline = page.locator('[data-testid="live"] > [data-testid="timeline"]');
  await expect(sessionTimeline.locator('[data-kind="agent.message"]').filter({ hasText: 'Part 1' })).toHaveCount(0);
  await expect(lane.locator('.status')).toHaveText('idle', { timeout: 20_000 });
  await expect(page.getByTestId('live-state')).toContainText('finished its turn', { timeout: 20_000 });

  // Each lane, the primary thread's too, shows its tokens and cost from the API's thread object.
  await expect(lane.getByTestId('lane-cost')).toHaveText(/^ · [1-9][\d,]* tokens · \$0\.00$/);
  await expect(page.getByTestId('primary-lane').getByTestId('lane-cost')).toHaveText(/^ · [1-9][\d,]* tokens · \$0\.00$/);
  // The task sent to it and its answer are lines between its lane and the primary thread's.
  const threadId = await lane.getAttribute('data-thread');
  const messages = page.locator(`[data-testid="lane-message"][data-thread="${threadId}"]`);
  await expect(messages).toHaveCount(2);
  await expect(messages.nth(0)).toHaveAttribute('data-direction', 'to');
  await expect(messages.nth(1)).toHaveAttribute('data-direction', 'from');
  // Its own messages, from one listing of its thread's events, mark its lane.
  await expect(page.locator(`[data-testid="lane-mark"][data-thread="${threadId}"][data-kind="message"]`)).toHaveCount(4);

  // Zoom in and out again, with the buttons and the keyboard.
  const window = page.getByTestId('lanes-window');
  const whole = await window.textContent();
  await page.getByTestId('zoom-in').click();
  await expect(window).not.toHaveText(whole ?? '');
  await expect(page.getByTestId('zoom-whole')).toBeEnabled();
  const minimap = page.getByTestId('minimap');
  await minimap.focus();
  await page.keyboard.press('0');
  await expect(window).toHaveText(whole ?? '');
  await expect(page.getByTestId('zoom-whole')).toBeDisabled();

  // Scrubbing to the session's start scrolls its timeline back there, out of following.
  await lane.getByTestId('open-thread').click();
  await expect(thread).toHaveCount(0);
  await sessionTimeline.scrollIntoViewIfNeeded();
  await expect(sessionTimeline.locator('[data-kind="user.message"]').first()).not.toBeInViewport();
  await minimap.focus();
  await page.keyboard.press('Home');
  await expect(page.getByTestId('cursor-time')).toHaveText('▲ +0 ms');
  await expect(sessionTimeline.locator('[data-kind="user.message"]').first()).toBeInViewport();
  await expect(page.getByTestId('jump-live')).toBeVisible();
  // A press near the minimap's right end moves the cursor (and the timeline) near the end.
  const box = (await minimap.boundingBox())!;
  await page.mouse.click(box.x + box.width * 0.98, box.y + 4);
  await expect(minimap).toHaveAttribute('aria-valuenow', /^(9[6-9]|100)$/);
  await expect(sessionTimeline.locator('[data-kind="user.message"]').first()).not.toBeInViewport();
  // A thread's timeline opened after a moment was chosen starts at its live end all the same.
  await lane.getByTestId('open-thread').click();
  await expect(thread.locator('[data-kind="agent.message"]').last()).toContainText('Part 4 of the work.');
  await expect(thread.getByTestId('jump-live')).toHaveCount(0);

  // A reload sees the lane and its messages again, drawn from the session's history.
  await page.reload();
  await waitForHydration(page);
  await expect(page.getByTestId('thread-lane')).toHaveCount(1);
  await expect(messages).toHaveCount(2);
});

test('the open inspector reads a thread’s figures when it starts and again when it stops', async ({ page, request }) => {
  test.setTimeout(60_000);
  const workerName = unique('Counted worker');
  // It waits before its first step, so that its row is first read with no tokens.
  const steps = [{ sleep_ms: 1000 }, ...Array.from({ length: 4 }, (_, n) => [{ text: `Step ${n + 1}.` }, { sleep_ms: 400 }]).flat()];
  const worker = await createAgent(request, { name: workerName, model: 'scripted', system: JSON.stringify({ turns: [steps] }) });
  const lead = await createAgent(request, {
    name: unique('Lead'),
    model: 'scripted',
    system: JSON.stringify({ turns: [[{ sleep_ms: 10_000 }, { subagent: workerName, message: 'Count.' }, { text: 'Done.' }]] }),
    multiagent: { type: 'multiagent_20261001', subagents: { type: 'enabled', predefined_agents: [worker] } },
  });
  const id = await startSession(request, lead, 'Go.');
  await page.goto(`/sessions/${id}`);
  await waitForHydration(page);
  // Opened before the thread starts (the lead waits 10 s first: 4 s were once not enough to load
  // and hydrate the page on a busy CI machine): no threads yet, so no figures to read. Were the
  // thread already there, the old single reading would pass too.
  const inspector = page.getByTestId('inspector');
  await inspector.locator('summary').click();
  await expect(page.getByTestId('thread-lane')).toHaveCount(0, { timeout: 1 });
  await expect(page.getByTestId('thread-lane')).toHaveCount(1, { timeout: 20_000 });
  // The thread started while the inspector was open: its row comes; once it stops, its tokens
  // are read again (it had none when it started).
  const row = inspector.getByTestId('inspector-threads').locator('tr').filter({ hasText: workerName });
  await expect(row).toHaveCount(1, { timeout: 20_000 });
  await expect(page.getByTestId('thread-lane').locator('.status')).toHaveText('idle', { timeout: 20_000 });
  await expect(row.locator('td').nth(1)).toHaveText(/^[1-9][\d,]*$/, { timeout: 20_000 });
});
