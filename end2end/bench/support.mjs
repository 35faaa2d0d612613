// What the Chromium benches share: their own Switchboard (the release build, embedded engine, a
// fresh data directory, a first admin), the admin's login cookie, and Chromium itself.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from '@playwright/test';

const root = resolve(import.meta.dirname, '..', '..');
const PASSWORD = 'chromium bench password, long enough';
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Starts Switchboard on `port`, waits for it, and signs the first admin in. */
export async function startSwitchboard(port, env = {}) {
  const base = `http://127.0.0.1:${port}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-chromium-bench-'));
  const server = spawn(process.env.SWITCHBOARD_BIN ?? join(root, 'target', 'release', 'switchboard'), [], {
    env: {
      PATH: process.env.PATH,
      SWITCHBOARD_LISTEN: `127.0.0.1:${port}`,
      SWITCHBOARD_DATA_DIR: dataDir,
      SWITCHBOARD_SITE_ROOT: process.env.SWITCHBOARD_SITE_ROOT ?? join(root, 'target', 'site'),
      SWITCHBOARD_ADMIN_PASSWORD: PASSWORD,
      // One login opens every page here: the benches measure the console, not the limits one
      // person is held to (server/src/access/limits.rs).
      SWITCHBOARD_STREAMS_PER_PERSON: '10000',
      SWITCHBOARD_REQUESTS_PER_MINUTE: '1000000',
      RUST_LOG: 'warn',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const stop = async () => {
    server.kill();
    await sleep(200);
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`${base}/healthz`)).ok) break;
      } catch {}
      if (i > 100) throw new Error('Switchboard did not start');
      await sleep(100);
    }
    const login = await fetch(`${base}/auth/login`, {
      method: 'POST',
      body: new URLSearchParams({ username: 'admin', password: PASSWORD, next: '/' }),
      redirect: 'manual',
    });
    // The login cookie among the others a sign-in sets (the device cookie of the throttle comes first).
    const cookie = (login.headers.getSetCookie().find((c) => c.startsWith('switchboard_login=')) ?? '').split(';')[0];
    if (!cookie.startsWith('switchboard_login=')) throw new Error(`signing in failed: ${login.status}`);
    /** Calls a server function as the admin; throws its error. */
    const call = async (endpoint, init = {}) => {
      const response = await fetch(`${base}/api/${endpoint}`, { ...init, headers: { ...(init.headers ?? {}), cookie } });
      const body = await response.json();
      if (!response.ok) throw new Error(`${endpoint}: ${JSON.stringify(body)}`);
      return body;
    };
    const post = (endpoint, form) => call(endpoint, { method: 'POST', body: new URLSearchParams(form) });
    return { base, cookie, call, post, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Starts a session of `agentId` in the demo environment with the message "go" and waits until
 * it is idle again: its id, and the seconds its turn took. */
export async function runSession({ call, post }, agentId, title) {
  const choices = await call('sessions/choices');
  const environment = choices.environments.find((e) => e.label.includes('Demo environment'));
  const created = await post('sessions/create', {
    'form[agent_id]': agentId,
    'form[environment_id]': environment.id,
    'form[title]': title,
    'form[initial_message]': 'go',
  });
  const id = created.row.id;
  const started = Date.now();
  for (;;) {
    const view = await call(`sessions/get?id=${id}`);
    if (view.row.status === 'idle' && Date.now() - started > 1000) break;
    await sleep(500);
  }
  return { id, seconds: (Date.now() - started) / 1000 };
}

/**
 * The page's `performance.now()` at the first animation frame where `probe(arg)`, run in the
 * page, answers it (a probe ends with `&& performance.now()`); a minute at most.
 */
export async function frameWhen(page, probe, arg = null) {
  const handle = await page.waitForFunction(probe, arg, { polling: 'raf', timeout: 60_000 });
  return handle.jsonValue();
}

/** Timings in words: "median 1394 ms (min 1103, max 1517, 5 runs)". */
export function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return `median ${s[Math.floor(s.length / 2)].toFixed(0)} ms (min ${s[0].toFixed(0)}, max ${s[s.length - 1].toFixed(0)}, ${s.length} runs)`;
}

/** Debian's Chromium, as the browser tests run it. */
export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
}

/** A page of `browser` signed in as the admin of `switchboard`. */
export async function signedInPage(browser, switchboard) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const [name, value] = switchboard.cookie.split('=');
  await page.context().addCookies([{ name, value, url: switchboard.base }]);
  return page;
}
