// Time for Chromium to show a 10,000-event session, and the DOM rows the timeline keeps (not a
// test): `scripts/bench live`. Starts its own Switchboard (the release build, embedded engine,
// fresh data directory), creates the session through the console's server functions, then opens
// it RUNS times in a fresh page each.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from '@playwright/test';

const RUNS = 5;
const MESSAGES = 9_995; // with the turn's own 5 events: 10,000
const root = resolve(import.meta.dirname, '..', '..');
const binary = process.env.SWITCHBOARD_BIN ?? join(root, 'target', 'release', 'switchboard');
const siteRoot = process.env.SWITCHBOARD_SITE_ROOT ?? join(root, 'target', 'site');
const port = Number(process.env.BENCH_PORT ?? 3937);
const base = `http://127.0.0.1:${port}`;
const PASSWORD = 'open bench password, long enough';
const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-open-bench-'));

const server = spawn(binary, [], {
  env: {
    PATH: process.env.PATH,
    SWITCHBOARD_LISTEN: `127.0.0.1:${port}`,
    SWITCHBOARD_DATA_DIR: dataDir,
    SWITCHBOARD_SITE_ROOT: siteRoot,
    SWITCHBOARD_ADMIN_PASSWORD: PASSWORD,
    RUST_LOG: 'warn',
  },
  stdio: ['ignore', 'ignore', 'inherit'],
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// The login cookie of the first admin, for every request (set by signIn).
let cookie = '';
const fetchIn = (url, init = {}) => fetch(url, { ...init, headers: { ...(init.headers ?? {}), cookie } });

async function signIn() {
  const response = await fetch(`${base}/auth/login`, {
    method: 'POST',
    body: new URLSearchParams({ username: 'admin', password: PASSWORD, next: '/' }),
    redirect: 'manual',
  });
  cookie = (response.headers.get('set-cookie') ?? '').split(';')[0];
  if (!cookie.startsWith('switchboard_login=')) throw new Error(`signing in failed: ${response.status}`);
}

async function post(endpoint, form) {
  const response = await fetchIn(`${base}/api/${endpoint}`, { method: 'POST', body: new URLSearchParams(form) });
  const body = await response.json();
  if (!response.ok) throw new Error(`${endpoint}: ${JSON.stringify(body)}`);
  return body;
}

try {
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/healthz`)).ok) break;
    } catch {}
    if (i > 100) throw new Error('Switchboard did not start');
    await sleep(100);
  }
  await signIn();
  const turn = Array.from({ length: MESSAGES }, (_, n) => ({ text: `Message ${n + 1}: a line of the long session.` }));
  const agent = await post('agents/create', {
    definition: JSON.stringify({ name: 'Open bench', model: 'scripted', system: JSON.stringify({ turns: [turn] }) }),
  });
  const choices = await (await fetchIn(`${base}/api/sessions/choices`)).json();
  const environment = choices.environments.find((e) => e.label.includes('Demo environment'));
  const created = await post('sessions/create', {
    'form[agent_id]': agent.id,
    'form[environment_id]': environment.id,
    'form[title]': 'Ten thousand events',
    'form[initial_message]': 'go',
  });
  const id = created.row.id;
  const started = Date.now();
  for (;;) {
    const view = await (await fetchIn(`${base}/api/sessions/get?id=${id}`)).json();
    if (view.row.status === 'idle' && Date.now() - started > 1000) break;
    await sleep(500);
  }
  console.log(`open bench: a session of ${MESSAGES} messages, written in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
  const shown = [];
  const top = [];
  let rows = 0;
  let rowsAtTop = 0;
  let events = '';
  for (let run = 0; run < RUNS; run++) {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const [name, value] = cookie.split('=');
    await page.context().addCookies([{ name, value, url: base }]);
    await page.goto(`${base}/sessions/${id}`, { waitUntil: 'commit' });
    // Shown: the last event (the turn's end) is folded in and drawn, at the bottom.
    const at = await page.waitForFunction(
      () =>
        document.querySelector('[data-testid=live-state]')?.textContent?.includes('finished its turn') &&
        document.querySelector('[data-testid=timeline] [data-kind="session.status_idle"]') &&
        performance.now(),
      null,
      { polling: 'raf', timeout: 60_000 },
    );
    shown.push(await at.jsonValue());
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
  }
  await browser.close();
  const stats = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return `median ${s[Math.floor(s.length / 2)].toFixed(0)} ms (min ${s[0].toFixed(0)}, max ${s[s.length - 1].toFixed(0)}, ${s.length} runs)`;
  };
  console.log(`timeline shows: ${events}`);
  console.log(`navigation start → last event shown: ${stats(shown)}`);
  console.log(`rows in the DOM: ${rows} at the live end, ${rowsAtTop} after jumping to the top`);
  console.log(`jump to the first event → drawn: ${stats(top)}`);
} finally {
  server.kill();
  await sleep(200);
  rmSync(dataDir, { recursive: true, force: true });
}
