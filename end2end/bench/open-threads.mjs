// Time for Chromium to open a multiagent session of 8 child threads and 10,000 events in all, with
// every thread's lane drawn, and to open one thread's own timeline (not a test):
// `scripts/bench live`. Starts its own Switchboard (the release build, embedded engine, fresh data
// directory), creates the agents and the session through the console's server functions, then
// opens the session RUNS times in a fresh page each.
import { frameWhen, launchChromium, runSession, signedInPage, startSwitchboard, stats } from './support.mjs';

const RUNS = 5;
const THREADS = 8;
// Each worker's thread: its 1,239 messages in one model request (span start and end), its lifecycle
// (created, running, idle) and the messages to and from the lead: 1,246 events; 8 of them and the
// session's own 22 make 9,990 events in all.
const MESSAGES_PER_THREAD = 1_239;
const switchboard = await startSwitchboard(Number(process.env.BENCH_PORT ?? 3938));
const { base, post } = switchboard;

try {
  const workers = [];
  for (let t = 0; t < THREADS; t++) {
    const name = `Worker ${t + 1}`;
    const turn = Array.from({ length: MESSAGES_PER_THREAD }, (_, n) => ({ text: `${name}, message ${n + 1}.` }));
    const agent = await post('agents/create', {
      definition: JSON.stringify({ name, model: 'scripted', system: JSON.stringify({ turns: [turn] }) }),
    });
    workers.push({ name, id: agent.id });
  }
  const lead = await post('agents/create', {
    definition: JSON.stringify({
      name: 'Lead of eight',
      model: 'scripted',
      system: JSON.stringify({ turns: [workers.map((w) => ({ subagent: w.name, message: 'Your part.' })).concat([{ text: 'All done.' }])] }),
      multiagent: { type: 'multiagent_20261001', subagents: { type: 'enabled', predefined_agents: workers.map((w) => w.id) } },
    }),
  });
  const { id, seconds } = await runSession(switchboard, lead.id, 'Eight threads');
  console.log(`open threads bench: ${THREADS} threads of ${MESSAGES_PER_THREAD} messages each, written in ${seconds.toFixed(1)} s`);

  const browser = await launchChromium();
  const shown = [];
  const marked = [];
  let marks = 0;
  const threadShown = [];
  let sessionEvents = '';
  for (let run = 0; run < RUNS; run++) {
    const page = await signedInPage(browser, switchboard);
    await page.goto(`${base}/sessions/${id}`, { waitUntil: 'commit' });
    // Shown: the turn's end folded in, every lane drawn with its thread idle on the minimap (a
    // bar each, the primary thread's too) with the task to it and its answer as lines.
    const at = await frameWhen(
      page,
      (threads) =>
        document.querySelector('[data-testid=live-state]')?.textContent?.includes('finished its turn') &&
        document.querySelectorAll('[data-testid=thread-lane] .status.status-idle').length === threads &&
        document.querySelectorAll('[data-testid=minimap] rect.lane-bar').length >= threads + 1 &&
        document.querySelectorAll('[data-testid=lane-message]').length === 2 * threads &&
        performance.now(),
      THREADS,
    ).catch(async (error) => {
      const state = await page.getByTestId('live-state').innerText().catch(() => '(no state)');
      const lanes = await page.getByTestId('thread-lane').allInnerTexts();
      throw new Error(`the session did not show as expected: ${state}; lanes: ${JSON.stringify(lanes)}`, { cause: error });
    });
    shown.push(at);
    // Marked: every lane's own activity drawn, from one listing of its thread's events each.
    marked.push(
      await frameWhen(
        page,
        (threads) =>
          new Set([...document.querySelectorAll('[data-testid=lane-mark]')].map((m) => m.dataset.thread)).size === threads &&
          performance.now(),
        THREADS,
      ),
    );
    marks = await page.locator('[data-testid=lane-mark]').count();
    sessionEvents = (await page.getByTestId('live-totals').innerText()).split(' · ')[0];
    // One thread's own timeline: from the click to its last message drawn.
    const t0 = await page.evaluate(() => performance.now());
    await page.getByTestId('thread-lane').last().getByTestId('open-thread').click();
    const done = await frameWhen(
      page,
      (last) =>
        [...document.querySelectorAll('[data-testid=thread-view] [data-kind="agent.message"]')].some((r) =>
          r.textContent.includes(last),
        ) && performance.now(),
      `Worker ${THREADS}, message ${MESSAGES_PER_THREAD}.`,
    );
    threadShown.push(done - t0);
    await page.close();
  }
  await browser.close();
  console.log(`the session's own timeline: ${sessionEvents} (the children's events are on their threads' streams)`);
  console.log(`navigation start → every lane drawn: ${stats(shown)}`);
  console.log(`navigation start → every lane's activity marked (${marks} marks): ${stats(marked)}`);
  console.log(`a thread's timeline: click → its last message drawn: ${stats(threadShown)}`);
} finally {
  await switchboard.stop();
}
