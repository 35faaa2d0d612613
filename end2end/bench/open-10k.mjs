// Time for Chromium to show a 10,000-event session, and the DOM rows the timeline keeps (not a
// test): `scripts/bench live`. Starts its own Switchboard (the release build, embedded engine,
// fresh data directory), creates the session through the console's server functions, then opens
// it RUNS times in a fresh page each.
import { frameWhen, launchChromium, runSession, signedInPage, startSwitchboard, stats } from './support.mjs';

const RUNS = 5;
const MESSAGES = 9_995; // with the turn's own 5 events: 10,000
const switchboard = await startSwitchboard(Number(process.env.BENCH_PORT ?? 3937));
const { base, post } = switchboard;

try {
  const turn = Array.from({ length: MESSAGES }, (_, n) => ({ text: `Message ${n + 1}: a line of the long session.` }));
  const agent = await post('agents/create', {
    definition: JSON.stringify({ name: 'Open bench', model: 'scripted', system: JSON.stringify({ turns: [turn] }) }),
  });
  const { id, seconds } = await runSession(switchboard, agent.id, 'Ten thousand events');
  console.log(`open bench: a session of ${MESSAGES} messages, written in ${seconds.toFixed(1)} s`);

  const browser = await launchChromium();
  // The event a deep link opens at: number 9,500 of the log, read from the hub's stream.
  const linked = await (async () => {
    const page = await signedInPage(browser, switchboard);
    await page.goto(`${base}/`, { waitUntil: 'commit' });
    const eventId = await page.evaluate(
      (sessionId) =>
        new Promise((resolve) => {
          const source = new EventSource(`/api/sessions/${sessionId}/stream`);
          source.addEventListener('event', (frame) => {
            if (frame.lastEventId === '9500') {
              source.close();
              resolve(JSON.parse(frame.data).id);
            }
          });
        }),
      id,
    );
    await page.close();
    return eventId;
  })();
  const deep = [];
  const shown = [];
  const top = [];
  let rows = 0;
  let rowsAtTop = 0;
  let events = '';
  for (let run = 0; run < RUNS; run++) {
    const page = await signedInPage(browser, switchboard);
    await page.goto(`${base}/sessions/${id}`, { waitUntil: 'commit' });
    // Shown: the last event (the turn's end) is folded in and drawn, at the bottom.
    shown.push(
      await frameWhen(
        page,
        () =>
          document.querySelector('[data-testid=live-state]')?.textContent?.includes('finished its turn') &&
          document.querySelector('[data-testid=timeline] [data-kind="session.status_idle"]') &&
          performance.now(),
      ),
    );
    rows = await page.locator('[data-testid=timeline] [data-seq]').count();
    events = (await page.getByTestId('live-totals').innerText()).split(' · ')[0];
    // Jump to the very first event.
    const jump = await page.evaluate(async () => {
      const list = document.querySelector('[data-testid=timeline]');
      const t0 = performance.now();
      list.scrollTop = 0;
      list.dispatchEvent(new Event('scroll'));
      for (;;) {
        await new Promise((r) => requestAnimationFrame(r));
        if (document.querySelector('[data-testid=timeline] [data-seq="1"]')) return performance.now() - t0;
        if (performance.now() - t0 > 10_000) return NaN;
      }
    });
    top.push(jump);
    rowsAtTop = await page.locator('[data-testid=timeline] [data-seq]').count();
    await page.close();
    // A deep link to event 9,500: until its row is drawn, highlighted.
    const linkedPage = await signedInPage(browser, switchboard);
    await linkedPage.goto(`${base}/sessions/${id}?event=${linked}`, { waitUntil: 'commit' });
    deep.push(
      await frameWhen(
        linkedPage,
        (eventId) => document.querySelector(`[data-testid=timeline] .row.focused[data-id="${eventId}"]`) && performance.now(),
        linked,
      ),
    );
    await linkedPage.close();
  }
  await browser.close();
  console.log(`timeline shows: ${events}`);
  console.log(`navigation start → last event shown: ${stats(shown)}`);
  console.log(`rows in the DOM: ${rows} at the live end, ${rowsAtTop} after jumping to the top`);
  console.log(`jump to the first event → drawn: ${stats(top)}`);
  console.log(`navigation start → event 9,500 shown by its deep link: ${stats(deep)}`);
} finally {
  await switchboard.stop();
}
