import { type APIRequestContext, type Page, expect, test } from '@playwright/test';
import { readFile } from 'node:fs/promises';
import { archiveMadeAgents, collectErrors, finishedSession, unique, waitForHydration } from './support';

// Showing a session to others: links to one event, and its transcript to take away.

// The agents these tests make are archived after each: other specs find the demo agent on the
// agents list's first page.
test.afterEach(({ request }) => archiveMadeAgents(request));

/** A finished session whose one turn writes `messages` messages. */
function longSession(request: APIRequestContext, messages: number): Promise<string> {
  const turn = Array.from({ length: messages }, (_, n) => ({ text: `Message ${n + 1}: a line of the long session.` }));
  return finishedSession(request, turn);
}

/** The event numbered `seq` in the session's log, read from the hub's stream as a browser does. */
async function eventAt(page: Page, sessionId: string, seq: number): Promise<{ id: string; type: string; text: string }> {
  return page.evaluate(
    ([sessionId, seq]) =>
      new Promise((resolve, reject) => {
        const source = new EventSource(`/api/sessions/${sessionId}/stream`);
        const timer = setTimeout(() => {
          source.close();
          reject(new Error(`event ${seq} never came`));
        }, 30_000);
        source.addEventListener('event', (frame) => {
          if ((frame as MessageEvent).lastEventId !== String(seq)) return;
          clearTimeout(timer);
          source.close();
          const event = JSON.parse((frame as MessageEvent).data);
          resolve({ id: event.id, type: event.type, text: event.content?.[0]?.text ?? '' });
        });
      }),
    [sessionId, seq] as const,
  );
}

/** Whether the highlighted row is `eventId`'s and lies inside the timeline's visible box. */
function focusedInView(page: Page, eventId: string) {
  return page.evaluate((eventId) => {
    const list = document.querySelector('[data-testid=timeline]')!;
    const row = list.querySelector('.row.focused');
    if (!row || row.getAttribute('data-id') !== eventId) return false;
    const box = list.getBoundingClientRect();
    const at = row.getBoundingClientRect();
    return at.top >= box.top - 1 && at.top < box.bottom && list.scrollHeight - list.scrollTop - list.clientHeight > 48;
  }, eventId);
}

test('a link to event 9,500 of 10,000 opens the session there, highlighted, and stays', async ({ page, request, context }) => {
  test.setTimeout(180_000);
  const errors = collectErrors(page);
  const id = await longSession(request, 9_994); // with the turn's own 6 events (its usage among them): 10,000
  await page.goto('/');
  const target = await eventAt(page, id, 9_500);
  expect(target.type, 'event 9,500 is one of the messages').toBe('agent.message');

  await page.goto(`/sessions/${id}?event=${target.id}`);
  await waitForHydration(page);
  await expect(page.getByTestId('live-totals')).toContainText('10,000 events', { timeout: 30_000 });
  await expect(page.getByTestId('timeline').locator('.row.focused')).toHaveAttribute('data-id', target.id);
  await expect(page.getByTestId('timeline').locator('.row.focused')).toContainText(target.text);
  await expect(page.getByTestId('timeline').locator('.row.focused')).toHaveAttribute('aria-current', 'true');
  await expect.poll(() => focusedInView(page, target.id)).toBe(true);
  // It does not drift to the live end while the rows around it are measured.
  await page.waitForTimeout(1_000);
  expect(await focusedInView(page, target.id), 'the linked row is still in view a second later').toBe(true);
  await expect(page.getByTestId('jump-live')).toBeVisible();
  await expect(page.getByTestId('deep-link')).toBeHidden();

  // A row's own link: copied, it opens the session at that row.
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  const row = page.getByTestId('timeline').locator('.row.focused');
  await row.getByTestId('copy-event-link').click();
  await expect(row.getByTestId('copy-event-link')).toHaveText('Link copied');
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  expect(copied).toBe(`${new URL(page.url()).origin}/sessions/${id}?event=${target.id}`);

  // Jumping to live lets go of the row; a link to an early event opens there.
  await page.getByTestId('jump-live').click();
  await expect(page.getByTestId('timeline').locator('[data-kind="session.status_idle"]')).toBeVisible();
  const early = await eventAt(page, id, 120);
  await page.goto(`/sessions/${id}?event=${early.id}`);
  await expect(page.getByTestId('timeline').locator('.row.focused')).toHaveAttribute('data-id', early.id, {
    timeout: 30_000,
  });
  await expect.poll(() => focusedInView(page, early.id)).toBe(true);

  // A link to an event the session does not have says so.
  await page.goto(`/sessions/${id}?event=sevt_not_in_this_session`);
  await expect(page.getByTestId('deep-link')).toHaveAttribute('data-state', 'missing', { timeout: 30_000 });
  await expect(page.getByTestId('deep-link')).toContainText("is not among this session's 10,000 events");
  expect(errors).toEqual([]);
});

test('the session page offers its transcript as Markdown, offline HTML and JSON, and the JSON imports and replays', async ({ page, request }) => {
  const errors = collectErrors(page);
  const id = await longSession(request, 3);
  await page.goto(`/sessions/${id}`);
  await waitForHydration(page);
  const links = page.getByTestId('export-links');
  const saved = async (name: string) => {
    const [download] = await Promise.all([page.waitForEvent('download'), links.getByRole('link', { name }).click()]);
    return { file: download.suggestedFilename(), text: await readFile((await download.path())!, 'utf8') };
  };
  const markdown = await saved('Markdown');
  expect(markdown.file).toBe(`${id}.md`);
  expect(markdown.text).toContain('## Transcript');
  expect(markdown.text).toContain('> Message 3: a line of the long session.');
  const html = await saved('HTML (reads offline)');
  expect(html.file).toBe(`${id}.html`);
  expect(html.text).toContain('Message 3: a line of the long session.');
  expect(html.text).not.toContain('<script');
  const json = JSON.parse((await saved('JSON (every event, with a digest)')).text);
  expect(json.session.id).toBe(id);
  // The 3 messages and the turn's 6 events: the message, running, the span's two ends, the usage, idle.
  expect(json.events).toHaveLength(9);
  expect(json.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  expect(markdown.text).toContain(json.digest);

  // The JSON imports as a read-only session that replays (its page is a plain form's answer).
  const jsonText = JSON.stringify(json);
  await page.goto('/imports');
  await waitForHydration(page);
  await page.getByTestId('import-form').getByLabel('JSON export').setInputFiles({ name: `${id}.json`, mimeType: 'application/json', buffer: Buffer.from(jsonText) });
  await page.getByTestId('import-form').getByRole('button', { name: 'Import' }).click();
  await expect(page).toHaveURL(/\/imports\/import_\d+$/);
  await expect(page.getByTestId('import-digest')).toHaveText(json.digest);
  await waitForHydration(page);
  await expect(page.getByTestId('live').getByText('Message 3: a line of the long session.')).toBeVisible();
  await page.getByTestId('present').click();
  await expect(page.getByTestId('presenter')).toBeVisible();
  await waitForHydration(page);
  await expect(page.getByTestId('presenter').getByText('Message 3: a line of the long session.')).toBeVisible();
  await page.getByTestId('replay').getByRole('button', { name: 'Step by step' }).click();
  await expect(page.getByTestId('presenter').getByText('Message 3: a line of the long session.')).toHaveCount(0);
  await page.getByTestId('replay-next').click();
  await expect(page.getByTestId('presenter').getByText('go', { exact: true })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Leave (Esc)' })).toHaveAttribute('href', /^\/imports\/import_\d+$/);

  // A file changed after export is refused, and says why.
  await page.goto('/imports');
  const changedDoc = structuredClone(json);
  changedDoc.events.find((e: { type: string }) => e.type === 'agent.message').content[0].text = 'Changed.';
  const changed = JSON.stringify(changedDoc);
  await page.getByTestId('import-form').getByLabel('JSON export').setInputFiles({ name: 'changed.json', mimeType: 'application/json', buffer: Buffer.from(changed) });
  await page.getByTestId('import-form').getByRole('button', { name: 'Import' }).click();
  await expect(page.getByTestId('import-error')).toContainText("do not match the export's digest");
  expect(errors).toEqual([]);
});

test('presenter mode: a clean reading layout, keys to walk the calls, and a replay', async ({ page, request }) => {
  test.setTimeout(120_000);
  const errors = collectErrors(page);
  const turn = [
    { text: 'Let me look around.' },
    { thinking: 'Which files matter?' },
    { tool: 'bash', input: { command: 'echo one' } },
    { sleep_ms: 2_000 },
    { text: 'Found the first one.' },
    { tool: 'bash', input: { command: 'echo two' } },
    { text: 'All done.' },
  ];
  const id = await finishedSession(request, turn, {
    agent: { tools: [{ type: 'agent_toolset_20260401', default_config: { permission_policy: { type: 'always_allow' } } }] },
    title: 'A demo for the room',
    message: 'Find the files that matter.',
  });

  await page.goto(`/sessions/${id}`);
  await waitForHydration(page);
  await page.getByTestId('present').click();
  await expect(page).toHaveURL(new RegExp(`/sessions/${id}/present$`));
  const presenter = page.getByTestId('presenter');
  const rows = presenter.getByTestId('timeline').locator('[data-seq]');
  await expect(presenter.getByRole('heading', { name: 'A demo for the room' })).toBeVisible();
  await expect(rows.filter({ hasText: 'All done.' })).toBeVisible();
  // For the audience: no event types, ids, raw JSON or debugging rows; thinking as a marker.
  await expect(presenter.locator('.event-type, .raw-toggle, [data-testid=copy-event-link]')).toHaveCount(0);
  await expect(rows.and(page.locator('[data-kind^="span."], [data-kind^="session.status"]'))).toHaveCount(0);
  await expect(rows.filter({ hasText: 'Agent thought' })).toHaveCount(1);
  const text = await presenter.innerText();
  expect(text).not.toMatch(/sesn_|sevt_|Which files matter/);
  const size = await rows.filter({ hasText: 'Let me look around.' }).locator('.text').evaluate((el) => parseFloat(getComputedStyle(el).fontSize));
  expect(size).toBeGreaterThanOrEqual(20);

  // j and k walk the tool calls (once the history is in: the first screen the page came with
  // is only what it draws); the walk stops following, f follows again.
  await expect(page.getByTestId('presenter-state')).toContainText('finished its turn');
  const focused = presenter.locator('.row.focused');
  await page.keyboard.press('j');
  await expect(focused).toContainText('echo one');
  await expect(page.getByTestId('follow')).toHaveAttribute('aria-pressed', 'false');
  await page.keyboard.press('j');
  await expect(focused).toContainText('echo two');
  await page.keyboard.press('k');
  await expect(focused).toContainText('echo one');
  await page.keyboard.press('f');
  await expect(page.getByTestId('follow')).toHaveAttribute('aria-pressed', 'true');

  // Step by step: the first message, then each row with a press of the space bar.
  const replay = page.getByTestId('replay');
  await replay.getByRole('button', { name: 'Step by step' }).click();
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText('Find the files that matter.');
  await page.keyboard.press(' ');
  await expect(rows).toHaveCount(2);
  await expect(rows.nth(1)).toContainText('Let me look around.');
  await replay.getByRole('button', { name: 'Show all' }).click();
  await expect(rows.filter({ hasText: 'All done.' })).toBeVisible();

  // At 5×: the session's 2 s pause between the first call and "Found the first one." takes
  // about 0.4 s (at 1× it would take 2 s). Timed in the page, frame by frame.
  await replay.getByRole('button', { name: '5×' }).click();
  await expect(replay).toContainText('Replaying at 5×');
  const gap = await page.evaluate(async () => {
    const shown = (text: string) =>
      [...document.querySelectorAll('[data-testid=presenter] [data-seq]')].some((row) => row.textContent?.includes(text));
    const when = async (text: string) => {
      const start = performance.now();
      while (!shown(text)) {
        if (performance.now() - start > 10_000) return NaN;
        await new Promise((frame) => requestAnimationFrame(frame));
      }
      return performance.now();
    };
    const call = await when('echo one');
    return (await when('Found the first one.')) - call;
  });
  expect(gap).toBeGreaterThan(200);
  expect(gap).toBeLessThan(1_500);
  // At its end the replay is over: every row, and following the session again.
  await expect(rows.filter({ hasText: 'All done.' })).toBeVisible({ timeout: 5_000 });
  await expect(replay.getByRole('button', { name: 'Step by step' })).toBeVisible();

  // A link into presenter mode opens at its event; Esc leaves.
  const call = await rows.filter({ hasText: 'echo two' }).getAttribute('data-id');
  await page.goto(`/sessions/${id}/present?event=${call}`);
  await waitForHydration(page);
  await expect(focused).toContainText('echo two');
  await page.keyboard.press('Escape');
  await expect(page).toHaveURL(new RegExp(`/sessions/${id}$`));
  expect(errors).toEqual([]);
});

test('the inspector counts each tool, its failures and its median time, and jumps to a call', async ({ page, request }) => {
  const errors = collectErrors(page);
  const id = await finishedSession(
    request,
    [
      { tool: 'bash', input: { command: 'echo one' } },
      { tool: 'bash', input: { command: 'exit 3' } },
      { tool: 'bash', input: { command: 'echo three' } },
      { text: 'Ran three.' },
    ],
    { agent: { tools: [{ type: 'agent_toolset_20260401', default_config: { permission_policy: { type: 'always_allow' } } }] } },
  );
  await page.goto(`/sessions/${id}`);
  await waitForHydration(page);
  await expect(page.getByTestId('timeline').getByText('Ran three.')).toBeVisible();
  const inspector = page.getByTestId('inspector');
  await inspector.locator('summary').click();
  const bash = inspector.locator('[data-testid="inspector-tool"][data-tool="bash"]');
  const cells = bash.locator('td');
  await expect(cells.nth(0)).toHaveText('3');
  await expect(cells.nth(1)).toHaveText('1');
  await expect(cells.nth(2)).toHaveText(/^\d+(\.\d)? (ms|s)$/);
  // The scripted model costs nothing, and the engine's session.usage says so.
  await expect(inspector.getByTestId('inspector-cost')).toHaveText(/^\$0\.00 so far; no budget\./);
  await expect(inspector.getByText("A call's time runs to its result from the call")).toBeVisible();

  // Each call has a link; the failed one opens the timeline at its row.
  await bash.getByRole('link', { name: '2 (failed)' }).click();
  await expect(page).toHaveURL(/\?event=/);
  const focused = page.getByTestId('timeline').locator('.row.focused');
  await expect(focused).toContainText('exit 3');
  await expect(focused).toHaveAttribute('aria-current', 'true');
  expect(errors).toEqual([]);
});
