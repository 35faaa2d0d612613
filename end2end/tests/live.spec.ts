import { type APIRequestContext, type Page, expect, test } from '@playwright/test';
import { collectErrors, unique, waitForHydration } from './support';

// The live session view against the embedded engine: streamed text, approvals, custom tools,
// interrupts, reloads and two people on one session.

type Choice = { id: string; label: string };

async function choices(request: APIRequestContext): Promise<{ agents: Choice[]; environments: Choice[] }> {
  const response = await request.get('/api/sessions/choices');
  expect(response.ok()).toBeTruthy();
  return response.json();
}

/** A scripted agent (its script format: engine/src/script.rs) whose built-in tools ask first. */
async function scriptedAgent(request: APIRequestContext, turns: unknown[], streamDelayMs = 30): Promise<string> {
  const definition = JSON.stringify({
    name: unique('Live test agent'),
    model: 'scripted',
    system: JSON.stringify({ stream_delay_ms: streamDelayMs, turns }),
    tools: [
      { type: 'agent_toolset_20260401', default_config: { permission_policy: { type: 'always_ask' } } },
      { type: 'custom', name: 'lookup_order', description: 'Looks up an order.', input_schema: { type: 'object' } },
    ],
  });
  const response = await request.post('/api/agents/create', { form: { definition } });
  expect(response.ok(), await response.text()).toBeTruthy();
  return (await response.json()).id;
}

async function startSession(request: APIRequestContext, agentId: string): Promise<string> {
  const { environments } = await choices(request);
  const environment = environments.find((e) => e.label.includes('Demo environment'));
  expect(environment, 'the seeded demo environment').toBeTruthy();
  const response = await request.post('/api/sessions/create', {
    form: {
      'form[agent_id]': agentId,
      'form[environment_id]': environment!.id,
      'form[title]': unique('Live'),
    },
  });
  expect(response.ok(), await response.text()).toBeTruthy();
  return (await response.json()).row.id;
}

async function openSession(page: Page, id: string): Promise<void> {
  await page.goto(`/sessions/${id}`);
  await waitForHydration(page);
  await expect(page.getByTestId('live-link')).toContainText('Live');
}

async function send(page: Page, text: string): Promise<void> {
  await page.getByTestId('composer-text').fill(text);
  await page.getByTestId('composer-text').press('Control+Enter');
}

function rows(page: Page, kind: string) {
  return page.getByTestId('timeline').locator(`[data-kind="${kind}"]`);
}

test('the demo agent: its bash call approved from the card, its custom tool answered', async ({ page, request }) => {
  const errors = collectErrors(page);
  const { agents } = await choices(request);
  const demo = agents.find((a) => a.label.startsWith('Demo: scripted agent'));
  const id = await startSession(request, demo!.id);
  await openSession(page, id);
  await expect(page.getByText('No events yet.')).toBeVisible();

  await send(page, 'Write me the report.');
  await expect(rows(page, 'user.message')).toContainText('Write me the report.');
  await expect(page.getByTestId('composer-text')).toHaveValue('');
  await expect(rows(page, 'agent.message').first()).toContainText('Let me write a small report');

  const card = page.getByTestId('approval-card');
  await expect(card).toContainText('Allow bash?');
  await expect(card.locator('pre.command')).toContainText('$ mkdir -p /mnt/session/outputs');
  await expect(page.getByTestId('live-state')).toContainText('Waiting for your approval of 1 tool call');
  await card.getByTestId('allow').click();
  await expect(card).toHaveCount(0);
  await expect(rows(page, 'user.tool_confirmation')).toContainText('Allowed the call');
  // The call's row shows its result beside its input.
  await expect(rows(page, 'agent.tool_use').locator('.tool-output')).toContainText('Report written at');

  const custom = page.getByTestId('custom-tool-card');
  await expect(custom).toContainText('lookup_order');
  await expect(page.getByTestId('live-state')).toContainText('the result of 1 custom tool call');
  await custom.getByTestId('custom-result').fill('{"status": "shipped"');
  await custom.getByLabel('It is JSON').check();
  await custom.getByTestId('custom-send').click();
  await expect(page.getByTestId('decision-outcome')).toContainText('not JSON');
  await expect(custom.getByTestId('custom-result')).toHaveValue('{"status": "shipped"', { timeout: 1_000 });
  await custom.getByTestId('custom-result').fill('{"status": "shipped"}');
  await custom.getByTestId('custom-send').click();
  await expect(custom).toHaveCount(0);
  await expect(rows(page, 'agent.message').last()).toContainText('Your order is on its way');
  await expect(page.getByTestId('live-state')).toContainText('the agent finished its turn');
  await expect(page.getByTestId('live-totals')).toContainText('model requests');
  // The one error: the answer that was not JSON, refused with a 400.
  expect(errors).toEqual([expect.stringContaining('400 (Bad Request) [http://127.0.0.1')]);
  expect(errors[0]).toContain('/api/sessions/answer]');
});

test('two people on one session: one denies with a message, the card leaves both, the agent reacts', async ({
  browser,
  request,
}) => {
  const agent = await scriptedAgent(request, [
    [
      { text: 'I will clean up the workspace.' },
      { tool: 'bash', input: { command: 'rm -rf /workspace/old' } },
      { text: 'Understood, I left the files alone.' },
    ],
  ]);
  const id = await startSession(request, agent);
  const [first, second] = [await browser.newContext(), await browser.newContext()];
  const [alice, bob] = [await first.newPage(), await second.newPage()];
  const errors = [...collectErrors(alice), ...collectErrors(bob)];
  await openSession(alice, id);
  await openSession(bob, id);
  await send(alice, 'Tidy up, please.');
  for (const page of [alice, bob]) {
    await expect(page.getByTestId('approval-card')).toContainText('$ rm -rf /workspace/old');
  }
  const card = alice.getByTestId('approval-card');
  await card.getByTestId('deny-with-message').click();
  await card.getByTestId('deny-message').fill('Keep the old files.');
  await card.getByTestId('deny-send').click();
  for (const page of [alice, bob]) {
    await expect(page.getByTestId('approval-card')).toHaveCount(0);
    await expect(rows(page, 'user.tool_confirmation')).toContainText('Denied the call: “Keep the old files.”');
    await expect(rows(page, 'agent.tool_use').locator('.tool-output')).toContainText(
      'The user denied this tool call: Keep the old files.',
    );
    await expect(rows(page, 'agent.message').last()).toContainText('Understood, I left the files alone.');
  }
  // Both saw the same timeline: the same rows, and the same count of events in all.
  const kinds = async (page: Page) =>
    page.getByTestId('timeline').locator('[data-seq]').evaluateAll((r) => r.map((e) => e.getAttribute('data-id')));
  // The session's last events (its idle status after the reply) reach the two pages a moment
  // apart: compared once both have them.
  await expect(async () => expect(await kinds(alice)).toEqual(await kinds(bob))).toPass({ timeout: 10_000 });
  await expect(async () =>
    expect(await bob.getByTestId('live-totals').innerText()).toEqual(await alice.getByTestId('live-totals').innerText()),
  ).toPass({ timeout: 10_000 });
  expect(errors).toEqual([]);
  await first.close();
  await second.close();
});

test('parallel calls are decided all at once; an edit shows its diff', async ({ page, request }) => {
  const errors = collectErrors(page);
  const agent = await scriptedAgent(request, [
    [
      { tool: 'write', input: { file_path: '/workspace/notes.txt', content: 'one\ntwo\n' } },
      { tool: 'edit', input: { file_path: '/workspace/notes.txt', old_string: 'one\ntwo\n', new_string: 'one\nTWO\n' } },
      { text: 'Both done.' },
    ],
  ]);
  const id = await startSession(request, agent);
  await openSession(page, id);
  await send(page, 'Write and edit.');
  const cards = page.getByTestId('approval-card');
  await expect(cards).toHaveCount(2);
  await expect(cards.filter({ hasText: 'Allow write?' })).toContainText('/workspace/notes.txt');
  const diff = cards.filter({ hasText: 'Allow edit?' }).getByTestId('diff');
  await expect(diff.locator('.del')).toHaveText(['- two']);
  await expect(diff.locator('.ins')).toHaveText(['+ TWO']);
  await expect(page.getByTestId('live-state')).toContainText('Waiting for your approval of 2 tool calls');
  await page.getByTestId('allow-all').click();
  await expect(cards).toHaveCount(0);
  await expect(rows(page, 'user.tool_confirmation')).toHaveCount(2);
  await expect(rows(page, 'agent.message').last()).toContainText('Both done.');
  expect(errors).toEqual([]);
});

test('text streams in, a reload mid-turn loses nothing, and a long turn is interrupted and redirected', async ({
  page,
  request,
}) => {
  const errors = collectErrors(page);
  const words = Array.from({ length: 40 }, (_, i) => `word${i + 1}`).join(' ');
  const agent = await scriptedAgent(
    request,
    [
      [{ text: words }, { sleep_ms: 60_000 }, { text: 'This is never reached.' }],
      [{ text: 'Redirected: hello!' }],
    ],
    120,
  );
  const id = await startSession(request, agent);
  await openSession(page, id);
  await send(page, 'Start the long job.');

  // The message is written piece by piece: part of it shows before the whole.
  const preview = page.getByTestId('preview');
  await expect(preview).toContainText('word1 word2');
  expect(await rows(page, 'agent.message').count()).toBe(0);
  expect(await preview.innerText()).not.toContain('word40');

  // A reload in the middle: what was there is still there, and the text written so far.
  const before = await page.getByTestId('timeline').locator('[data-seq]').evaluateAll((r) => r.map((e) => e.getAttribute('data-id')));
  await page.reload();
  await waitForHydration(page);
  await expect(page.getByTestId('preview').or(rows(page, 'agent.message'))).toContainText('word1 word2');
  const after = await page.getByTestId('timeline').locator('[data-seq]').evaluateAll((r) => r.map((e) => e.getAttribute('data-id')));
  expect(after.slice(0, before.length)).toEqual(before);
  await expect(rows(page, 'agent.message')).toContainText('word40', { timeout: 20_000 });

  // Now the agent sleeps for a minute: interrupt it and say something else, in one action.
  await expect(page.getByTestId('live-state')).toContainText('Running');
  await page.getByTestId('composer-text').fill('Stop, and say hello instead.');
  await page.getByTestId('interrupt-send').click();
  await expect(rows(page, 'user.interrupt')).toContainText('You interrupted the agent.');
  await expect(rows(page, 'agent.message').last()).toContainText('Redirected: hello!', { timeout: 20_000 });
  await expect(page.getByText('This is never reached.')).toHaveCount(0);
  expect(errors).toEqual([]);
});

test('a long session opens at its end and stays there while its rows are measured', async ({ page, request }) => {
  test.setTimeout(120_000);
  // Rows measured at other heights than estimated once stopped the view short of the end with
  // "Jump to live" showing, though nobody scrolled.
  const turn = Array.from({ length: 4_000 }, (_, n) =>
    n % 7 === 0
      ? { text: `Message ${n}: a longer line that wraps in the timeline, `.repeat(6) }
      : { text: `Message ${n}.` },
  );
  const agentId = await scriptedAgent(request, [turn], 0);
  const { environments } = await choices(request);
  const created = await request.post('/api/sessions/create', {
    form: {
      'form[agent_id]': agentId,
      'form[environment_id]': environments.find((e) => e.label.includes('Demo environment'))!.id,
      'form[title]': unique('Long'),
      'form[initial_message]': 'go',
    },
  });
  expect(created.ok(), await created.text()).toBeTruthy();
  const id = (await created.json()).row.id;
  await expect
    .poll(async () => (await (await request.get(`/api/sessions/get?id=${id}`)).json()).row.status, { timeout: 60_000 })
    .toBe('idle');
  for (let open = 0; open < 3; open++) {
    await page.goto(`/sessions/${id}`);
    await waitForHydration(page);
    await expect(rows(page, 'session.status_idle')).toBeAttached({ timeout: 20_000 });
    // Let measuring settle, then the timeline must still be scrolled to its live end, the last
    // event in sight inside it.
    await page.waitForTimeout(1_000);
    const atTheEnd = () =>
      page.evaluate(() => {
        const list = document.querySelector('[data-testid=timeline]')!;
        const last = list.querySelector('[data-kind="session.status_idle"]')!.getBoundingClientRect();
        const box = list.getBoundingClientRect();
        const gap = list.scrollHeight - list.scrollTop - list.clientHeight;
        return gap <= 48 && last.bottom <= box.bottom + 1 && last.top >= box.top - 1;
      });
    expect(await atTheEnd(), `open ${open + 1}: the timeline stopped short of its end`).toBe(true);
    await expect(page.getByTestId('jump-live')).toBeHidden();
  }
});
