// Time from a session's requires_action idle in the engine to its approval card shown in the
// Inbox page in Chromium (not a test): `scripts/bench inbox`. Starts its own Switchboard (the
// release build, embedded engine, whose signed webhooks reach Switchboard's /webhooks/anthropic;
// the inbox's poll set to a minute, so that every card is a webhook's), opens /inbox as the
// first admin, then TRIALS times, at a random moment, sends a message that makes the scripted
// agent ask to run bash; the page notes when the card enters the DOM, the engine's event says
// when the session idled. Then the card's call is allowed and the turn ends.
import { launchChromium, signedInPage, sleep, startSwitchboard } from './support.mjs';

const TRIALS = 40;
const switchboard = await startSwitchboard(Number(process.env.BENCH_PORT ?? 3947), { SWITCHBOARD_INBOX_POLL_SECS: '60' });
const { base, call, post: form } = switchboard;
const json = (endpoint, body) =>
  call(endpoint, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

/** The session's newest `session.status_idle`, walking its event pages. */
async function lastIdle(id) {
  let idle;
  let page = '';
  for (;;) {
    const listed = await call(`sessions/events?id=${id}${page ? `&page=${encodeURIComponent(page)}` : ''}`);
    for (const event of listed.data) if (event.type === 'session.status_idle') idle = event;
    if (!listed.next_page) return idle;
    page = listed.next_page;
  }
}

try {
  const agent = await form('agents/create', {
    definition: JSON.stringify({
      name: 'Inbox bench',
      model: 'scripted',
      system: JSON.stringify({ turns: [[{ tool: 'bash', input: { command: 'true' } }, { text: 'Ran it.' }]] }),
      tools: [{ type: 'agent_toolset_20260401', default_config: { permission_policy: { type: 'always_ask' } } }],
    }),
  });
  const choices = await call('sessions/choices');
  const environment = choices.environments.find((e) => e.label.includes('Demo environment'));
  const created = await form('sessions/create', {
    'form[agent_id]': agent.id,
    'form[environment_id]': environment.id,
    'form[title]': 'Inbox latency',
  });
  const id = created.row.id;

  const browser = await launchChromium();
  const page = await signedInPage(browser, switchboard);
  await page.goto(`${base}/inbox`);
  await page.waitForSelector('body[data-hydrated]');
  await page.getByTestId('inbox-empty').waitFor();
  // When each card enters the DOM (wall clock, to compare with the engine's timestamps).
  await page.evaluate(() => {
    window.__shown = {};
    new MutationObserver(() => {
      for (const card of document.querySelectorAll('[data-testid=approval-card][data-event]')) {
        window.__shown[card.dataset.event] ??= Date.now();
      }
    }).observe(document.body, { childList: true, subtree: true });
  });

  const latencies = [];
  for (let trial = 0; trial < TRIALS; trial++) {
    await sleep(Math.random() * 2000);
    await json('sessions/steer', { session_id: id, text: 'go', file_ids: [], interrupt: false });
    let shown;
    for (let waited = 0; !shown; waited += 20) {
      if (waited > 30_000) throw new Error('no card within 30 s');
      await sleep(20);
      const all = await page.evaluate(() => window.__shown);
      shown = Object.entries(all).find(([event]) => !latencies.some((l) => l.event === event));
    }
    const idle = await lastIdle(id);
    if (idle?.stop_reason?.type !== 'requires_action' || !idle.stop_reason.event_ids.includes(shown[0])) {
      throw new Error(`the card ${shown[0]} is not what the session waits on: ${JSON.stringify(idle)}`);
    }
    latencies.push({ event: shown[0], ms: shown[1] - Date.parse(idle.processed_at) });
    await json('sessions/decide', { session_id: id, verdicts: [{ event_id: shown[0], allow: true, deny_message: null }] });
    await page.locator(`[data-testid=approval-card][data-event="${shown[0]}"]`).waitFor({ state: 'detached' });
    for (const started = Date.now(); (await lastIdle(id))?.stop_reason?.type !== 'end_turn'; await sleep(50)) {
      if (Date.now() - started > 30_000) throw new Error('the turn did not end within 30 s');
    }
  }
  await browser.close();
  const s = latencies.map((l) => l.ms).sort((a, b) => a - b);
  const at = (q) => s[Math.round((s.length - 1) * q)].toFixed(0);
  console.log(
    `upstream idle → approval card in Chromium's DOM, by webhook, polls a minute apart (${s.length} calls): median ${at(0.5)} ms   min ${at(0)}   p90 ${at(0.9)}   p95 ${at(0.95)}   max ${at(1)}`,
  );
} finally {
  await switchboard.stop();
}
