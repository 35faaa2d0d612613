// An approver on a phone (not a test): `scripts/bench phone`. Starts its own Switchboard (the
// release build, embedded engine) and opens, in Chromium on a phone profile (390×844, touch) with
// the network and the CPU slowed through the DevTools protocol, the page a notification's link
// opens (the session page at the call, `?event=`; the bench has no mail, so its link carries no
// token) and the Inbox. For each page and network, RUNS times, cold (a new browser context: an
// empty cache) and warm (the same context a minute's worth of navigations later):
// - first paint (`first-contentful-paint`);
// - Allow accepted: from navigation start until the card's plain form has been answered (its POST's
//   response), the Allow button pressed as soon as it is on the screen, before hydration;
// - hydrated: until `<body data-hydrated>`, in a second navigation nobody presses anything in;
// - bytes on the wire for the hydrated navigation, all of it and assets (`/pkg`) alone.
// Each press decides a call of its own (a new session that asks first).
import { launchChromium, sleep, startSwitchboard } from './support.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const NETWORKS = [
  // Chromium's presets of these names: throughput in bytes per second, latency the round trip.
  { name: 'Slow 4G', latency: 150, down: (1.6 * 1024 * 1024) / 8, up: (750 * 1024) / 8 },
  { name: 'Fast 4G', latency: 60, down: (9 * 1024 * 1024) / 8, up: (1.5 * 1024 * 1024) / 8 },
];
const CPU_SLOWDOWN = 4;
const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 3, isMobile: true, hasTouch: true };

const switchboard = await startSwitchboard(Number(process.env.BENCH_PORT ?? 3951));
const { base, call, post } = switchboard;

const agent = await post('agents/create', {
  definition: JSON.stringify({
    name: 'Phone bench',
    model: 'scripted',
    system: JSON.stringify({ turns: [[{ tool: 'bash', input: { command: 'echo from a phone' } }, { text: 'Ran it.' }]] }),
    tools: [{ type: 'agent_toolset_20260401', default_config: { permission_policy: { type: 'always_ask' } } }],
  }),
});
const environment = (await call('sessions/choices')).environments.find((e) => e.label.includes('Demo environment')).id;

/** A new session waiting on one call: its id and the call's event id. */
async function waitingCall() {
  const created = await post('sessions/create', {
    'form[agent_id]': agent.id,
    'form[environment_id]': environment,
    'form[title]': 'Phone bench',
    'form[initial_message]': 'go',
  });
  const id = created.row.id;
  for (let i = 0; i < 200; i++) {
    const { calls } = await call('inbox/list');
    const mine = calls.find((c) => c.session_id === id);
    if (mine) return { id, event: mine.event.id };
    await sleep(100);
  }
  throw new Error(`session ${id} never asked`);
}

/** A page of a new or given context, signed in, on the phone profile, slowed down. */
async function slowPage(browser, network, context) {
  context ??= await browser.newContext(PHONE);
  const [name, value] = switchboard.cookie.split('=');
  await context.addCookies([{ name, value, url: base }]);
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false,
    latency: network.latency,
    downloadThroughput: network.down,
    uploadThroughput: network.up,
  });
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: CPU_SLOWDOWN });
  // Bytes as they crossed the (emulated) wire, by URL.
  const urls = new Map();
  const bytes = { all: 0, assets: 0 };
  cdp.on('Network.requestWillBeSent', (e) => urls.set(e.requestId, e.request.url));
  cdp.on('Network.loadingFinished', (e) => {
    bytes.all += e.encodedDataLength;
    if ((urls.get(e.requestId) ?? '').includes('/pkg/')) bytes.assets += e.encodedDataLength;
  });
  return { context, page, bytes };
}

const paint = (page) =>
  page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN);

/** One navigation to `path` that presses Allow as soon as the card is there: first paint and
 * the time the form's answer came, from navigation start. */
async function pressEarly(page, path, event) {
  const start = Date.now();
  await page.goto(`${base}${path}`, { waitUntil: 'commit' });
  const allow = page.locator(`[data-testid=approval-card][data-event="${event}"] [data-testid=allow]`);
  await allow.waitFor({ timeout: 60_000 });
  const hydratedBefore = await page.evaluate(() => document.body.hasAttribute('data-hydrated'));
  const [answer] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/sessions/decide_form') || r.url().endsWith('/api/sessions/decide'), {
      timeout: 60_000,
    }),
    allow.click(),
  ]);
  const accepted = Date.now() - start;
  const ok = answer.status() === 302 || answer.status() === 200;
  await page.waitForLoadState('load');
  return { accepted, ok, byForm: !hydratedBefore && answer.url().endsWith('decide_form') };
}

/** One navigation to `path`, nothing pressed: first paint, hydrated, bytes. */
async function watchHydrate(page, bytes, path) {
  bytes.all = 0;
  bytes.assets = 0;
  await page.goto(`${base}${path}`, { waitUntil: 'commit' });
  await page.waitForSelector('body[data-hydrated]', { timeout: 120_000 });
  const hydrated = await page.evaluate(() => performance.now());
  const firstPaint = await paint(page);
  // Requests still under way when the page went live (the stream's first frames) are counted too.
  await sleep(300);
  return { firstPaint, hydrated, bytes: bytes.all, assets: bytes.assets };
}

function spread(xs) {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return 'n/a';
  const med = s[Math.floor(s.length / 2)];
  return `median ${med.toFixed(0)} (min ${s[0].toFixed(0)}, max ${s[s.length - 1].toFixed(0)})`;
}
const kb = (xs) => spread(xs.map((x) => x / 1024)).replace(/\)$/, ') KB');

const browser = await launchChromium();
try {
  for (const network of NETWORKS) {
    for (const which of ['link', 'inbox']) {
      const rows = { cold: [], warm: [] };
      for (let run = 0; run < RUNS; run++) {
        for (const temperature of ['cold', 'warm']) {
          const path = (c) => (which === 'inbox' ? '/inbox' : `/sessions/${c.id}?event=${c.event}`);
          // Each measured navigation in a context of its own: cold, an empty cache; warm, after a
          // first visit that filled it.
          const ready = async () => {
            const opened = await slowPage(browser, network);
            if (temperature === 'warm') {
              const warmUp = await waitingCall();
              await watchHydrate(opened.page, opened.bytes, path(warmUp));
            }
            return opened;
          };
          const pressing = await ready();
          const first = await waitingCall();
          const pressed = await pressEarly(pressing.page, path(first), first.event);
          await pressing.context.close();
          const watching = await ready();
          const second = await waitingCall();
          const watched = await watchHydrate(watching.page, watching.bytes, path(second));
          await watching.context.close();
          rows[temperature].push({ ...watched, ...pressed });
        }
      }
      for (const temperature of ['cold', 'warm']) {
        const r = rows[temperature];
        const label = `${which === 'link' ? "a notification link's page" : 'the inbox'}, ${network.name}, CPU ${CPU_SLOWDOWN}× slower, ${temperature}`;
        console.log(label);
        console.log(`  first paint          ${spread(r.map((x) => x.firstPaint))} ms`);
        console.log(
          `  Allow accepted       ${spread(r.map((x) => x.accepted))} ms (${r.filter((x) => x.byForm && x.ok).length} of ${r.length} by the plain form, before hydration)`,
        );
        console.log(`  hydrated             ${spread(r.map((x) => x.hydrated))} ms`);
        console.log(`  on the wire          ${kb(r.map((x) => x.bytes))}, of it assets ${kb(r.map((x) => x.assets))}`);
      }
    }
  }
} finally {
  await browser.close();
  await switchboard.stop();
}
