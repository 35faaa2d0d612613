// Time for Chromium to show a 10,000-event session, at its live end, by a deep link, in presenter
// mode, by a share link and as an import of its export, and the DOM rows the timeline keeps (not a
// test): `scripts/bench live`. Starts its own Switchboard (the release build, embedded engine,
// fresh data directory), creates the session through the console's server functions, then opens
// it RUNS times in a fresh page each.
import { frameWhen, launchChromium, runSession, signedInPage, startSwitchboard, stats } from './support.mjs';

const RUNS = 5;
const COLD_RUNS = 3;

/** The linked event's row, drawn and highlighted. */
const focusedRow = (eventId) =>
  document.querySelector(`[data-testid=timeline] .row.focused[data-id="${eventId}"]`) && performance.now();
/** The session page's totals count every event, from the whole history (until then the heading
 * is the first screen's, which says the count and that the rest is being read). */
const historyIn = () => {
  const totals = document.querySelector('[data-testid=live-totals]')?.textContent ?? '';
  return totals.startsWith('10,000 events') && !totals.includes('reading the rest') && performance.now();
};
/** A row of the presenter's timeline that holds `text`. */
const lastMessage = (text) =>
  [...document.querySelectorAll('[data-testid=presenter] [data-testid=timeline] [data-seq]')].some((row) =>
    row.textContent.includes(text),
  ) && performance.now();
/** A row of the live view's timeline that holds `text`. */
const rowWith = (text) =>
  [...document.querySelectorAll('[data-testid=live] [data-testid=timeline] [data-seq]')].some((row) => row.textContent.includes(text)) &&
  performance.now();
/** Presenter mode's state line says the turn finished: the whole history is in. */
const presenterDone = () =>
  document.querySelector('[data-testid=presenter-state]')?.textContent?.includes('finished its turn') && performance.now();
const MESSAGES = 9_994; // with the turn's own 6 events (its usage among them): 10,000
const switchboard = await startSwitchboard(Number(process.env.BENCH_PORT ?? 3937));
const { base, call, post } = switchboard;

try {
  const turn = Array.from({ length: MESSAGES }, (_, n) => ({ text: `Message ${n + 1}: a line of the long session.` }));
  const agent = await post('agents/create', {
    definition: JSON.stringify({ name: 'Open bench', model: 'scripted', system: JSON.stringify({ turns: [turn] }) }),
  });
  const { id, seconds } = await runSession(switchboard, agent.id, 'Ten thousand events');
  console.log(`open bench: a session of ${MESSAGES} messages, written in ${seconds.toFixed(1)} s`);

  // A share link to it (live, nothing hidden), and an import of its JSON export.
  const share = await post('shares/create', { 'form[session_id]': id, 'form[hours]': '1', 'form[mode]': 'live' });
  const exported = await fetch(`${base}/api/sessions/${id}/export?format=json`, { headers: { cookie: switchboard.cookie } });
  const upload = new FormData();
  upload.append('file', new Blob([await exported.arrayBuffer()], { type: 'application/json' }), 'session.json');
  const imported = await call('imports', { method: 'POST', body: upload, headers: { accept: 'application/json' } });

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
  const deepAll = [];
  const present = [];
  const presentAll = [];
  const shown = [];
  const shownAll = [];
  const top = [];
  const shared = [];
  const sharedAll = [];
  const importPage = [];
  const importAll = [];
  const importPresent = [];
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
    // Then the whole history (the jump below needs it; the rows kept are counted with it in).
    shownAll.push(await frameWhen(page, historyIn));
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
    // A deep link to event 9,500: until its row is drawn, highlighted (its first screen), then
    // until the whole history is in (the totals count 10,000 events).
    const linkedPage = await signedInPage(browser, switchboard);
    await linkedPage.goto(`${base}/sessions/${id}?event=${linked}`, { waitUntil: 'commit' });
    deep.push(await frameWhen(linkedPage, focusedRow, linked));
    deepAll.push(await frameWhen(linkedPage, historyIn));
    await linkedPage.close();
    // Presenter mode, which opens at the live end: until the last message is drawn, then until
    // the whole history is in (the state line says the turn finished).
    const presenter = await signedInPage(browser, switchboard);
    await presenter.goto(`${base}/sessions/${id}/present`, { waitUntil: 'commit' });
    present.push(await frameWhen(presenter, lastMessage, `Message ${MESSAGES}:`));
    presentAll.push(await frameWhen(presenter, presenterDone));
    await presenter.close();
    // The share link, in a signed-out page: its presenter layout opens at the live end.
    const audience = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await audience.goto(`${base}${share.path}`, { waitUntil: 'commit' });
    shared.push(await frameWhen(audience, lastMessage, `Message ${MESSAGES}:`));
    sharedAll.push(await frameWhen(audience, presenterDone));
    await audience.close();
    // The import's page (the live view's timeline, read-only) and its presenter mode.
    const importView = await signedInPage(browser, switchboard);
    await importView.goto(`${base}/imports/${imported.id}`, { waitUntil: 'commit' });
    importPage.push(await frameWhen(importView, rowWith, `Message ${MESSAGES}:`));
    importAll.push(await frameWhen(importView, historyIn));
    await importView.close();
    const importPresenter = await signedInPage(browser, switchboard);
    await importPresenter.goto(`${base}/imports/${imported.id}/present`, { waitUntil: 'commit' });
    importPresent.push(await frameWhen(importPresenter, lastMessage, `Message ${MESSAGES}:`));
    await importPresenter.close();
  }
  // Cold: nobody has watched the session for longer than the hub's grace period (30 s), so the
  // page's render waits for the hub to read its history from the engine again.
  const cold = [];
  for (let run = 0; run < COLD_RUNS; run++) {
    await new Promise((r) => setTimeout(r, 35_000));
    const page = await signedInPage(browser, switchboard);
    await page.goto(`${base}/sessions/${id}?event=${linked}`, { waitUntil: 'commit' });
    cold.push(await frameWhen(page, focusedRow, linked));
    await page.close();
  }
  await browser.close();
  console.log(`timeline shows: ${events}`);
  console.log(`navigation start → last event shown: ${stats(shown)}`);
  console.log(`navigation start → the live end's whole history in: ${stats(shownAll)}`);
  console.log(`rows in the DOM: ${rows} at the live end, ${rowsAtTop} after jumping to the top`);
  console.log(`jump to the first event → drawn: ${stats(top)}`);
  console.log(`navigation start → event 9,500 shown by its deep link (first screen): ${stats(deep)}`);
  console.log(`navigation start → the deep link's whole history in: ${stats(deepAll)}`);
  console.log(`navigation start → presenter mode's last message shown (first screen): ${stats(present)}`);
  console.log(`navigation start → presenter mode's whole history in: ${stats(presentAll)}`);
  console.log(`navigation start → event 9,500 by its deep link, the hub cold (35 s unwatched): ${stats(cold)}`);
  console.log(`navigation start → a share link's last message shown (first screen, signed out): ${stats(shared)}`);
  console.log(`navigation start → the share link's whole history in: ${stats(sharedAll)}`);
  console.log(`navigation start → an import's page, its last message shown (first screen): ${stats(importPage)}`);
  console.log(`navigation start → the import page's whole history in: ${stats(importAll)}`);
  console.log(`navigation start → an import's presenter mode, its last message shown (first screen): ${stats(importPresent)}`);
} finally {
  await switchboard.stop();
}
