import { defineConfig } from '@playwright/test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

// The server under test: the binary cargo-leptos built, on its own port and data directory, with
// no API key so it runs on the embedded engine whatever the developer's shell exports.
const port = Number(process.env.E2E_PORT ?? 3917);
const root = resolve(__dirname, '..');
const binary = process.env.SWITCHBOARD_BIN ?? join(root, 'target', 'debug', 'switchboard');
// A second Switchboard in Anthropic mode, against a fake upstream that fails on purpose
// (fake-upstream.mjs): the upstream error states of tests/upstream-errors.spec.ts.
// The spec computes the same ports from E2E_PORT.
const failingPort = port + 1;
const fakeUpstreamPort = port + 2;
const siteRoot = process.env.SWITCHBOARD_SITE_ROOT ?? join(root, 'target', 'site');

// Playwright cannot download browsers here: use Debian's Chromium. Without the background
// networking flags Chromium floods the closed network with refused connections.
const chromium = {
  browserName: 'chromium' as const,
  launchOptions: {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  },
};

/** A Switchboard of the binary under test on `listen`, with a data directory of its own. */
function switchboard(listen: number, dataPrefix: string, env: Record<string, string>) {
  return {
    command: binary,
    cwd: root,
    url: `http://127.0.0.1:${listen}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    env: {
      SWITCHBOARD_LISTEN: `127.0.0.1:${listen}`,
      SWITCHBOARD_SITE_ROOT: siteRoot,
      SWITCHBOARD_DATA_DIR: mkdtempSync(join(tmpdir(), dataPrefix)),
      ...env,
    },
  };
}

export default defineConfig({
  testDir: './tests',
  fullyParallel: true,
  forbidOnly: !!process.env.CI,
  retries: 0,
  workers: 2,
  reporter: process.env.CI ? [['list']] : [['list'], ['html', { open: 'never' }]],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    trace: 'retain-on-failure',
  },
  projects: [
    { name: 'chromium', use: { ...chromium }, grepInvert: /@no-js/ },
    // The same pages with JavaScript off: everything must render on the server.
    { name: 'chromium-no-js', use: { ...chromium, javaScriptEnabled: false }, grep: /@no-js/ },
  ],
  webServer: [
    switchboard(port, 'switchboard-e2e-', {
      // Small, so the over-the-limit journey needs no large file.
      SWITCHBOARD_MAX_UPLOAD_BYTES: String(1024 * 1024),
      ANTHROPIC_API_KEY: '',
      RUST_LOG: 'warn',
    }),
    {
      command: 'node fake-upstream.mjs',
      url: `http://127.0.0.1:${fakeUpstreamPort}/__health`,
      reuseExistingServer: false,
      timeout: 30_000,
      env: { E2E_FAKE_UPSTREAM_PORT: String(fakeUpstreamPort) },
    },
    switchboard(failingPort, 'switchboard-e2e-failing-', {
      ANTHROPIC_API_KEY: 'switchboard-e2e-key',
      ANTHROPIC_BASE_URL: `http://127.0.0.1:${fakeUpstreamPort}`,
      // Its 502s are the point; tower-http would log each one as an error.
      RUST_LOG: 'error,tower_http=off',
    }),
  ],
});
