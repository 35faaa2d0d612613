import { defineConfig } from '@playwright/test';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
// The first admin of the other two Switchboards (tests sign in as it: tests/auth.setup.ts).
import { ADMIN_PASSWORD } from './tests/support';

// The server under test: the binary `cargo test` or `release_build` built, on its own port and data directory, with
// no API key so it runs on the embedded engine whatever the developer's shell exports.
const port = Number(process.env.E2E_PORT ?? 3917);
const root = resolve(__dirname, '..');
// Absolute: scripts/test passes one relative to the root, and the replicas' balancer
// (round-robin.mjs) spawns it from end2end/.
const binary = resolve(root, process.env.SWITCHBOARD_BIN ?? join('target', 'debug', 'switchboard'));
// A second Switchboard in Anthropic mode, against a fake upstream that fails on purpose
// (fake-upstream.mjs): the upstream error states of tests/upstream-errors.spec.ts.
// The spec computes the same ports from E2E_PORT.
const failingPort = port + 1;
const fakeUpstreamPort = port + 2;
// A third Switchboard with no accounts at all: the first-run setup journey (tests/team.spec.ts).
// Its log is a file, where that journey finds the one-time setup link.
const freshPort = port + 3;
// The Messages-compatible test server the main Switchboard's embedded engine runs real models
// against (model-script.json): a current and a retiring model, and a reply to every request.
const modelPort = port + 4;
// A fourth, on the embedded engine, whose inbox lists sessions only once a minute: its engine's
// signed webhooks alone bring calls in at once (tests/webhooks.spec.ts).
const hookedPort = port + 5;
// A fifth, signing people in through a real OpenID Connect provider (oidc-provider.mjs), besides
// its break-glass admin: the single sign-on journeys of tests/sso.spec.ts.
const ssoPort = port + 6;
const oidcPort = port + 7;
// A sixth, with a secret key for workspaces' keys, and a standalone engine it connects as its
// second workspace (tests/workspaces.spec.ts).
const workspacesPort = port + 8;
const stagingEnginePort = port + 9;
// Two replicas on one PostgreSQL database behind a round-robin balancer of the tests' own
// (round-robin.mjs, which starts them), with a standalone engine as their upstream and a mail
// server that keeps what it is sent (smtp-sink.mjs): tests/replicas.spec.ts.
const replicasProxyPort = port + 10;
const replicaPorts = { a: port + 11, b: port + 12 };
const replicasEnginePort = port + 13;
const smtpPort = port + 14;
const smtpHttpPort = port + 15;
// The Slack API stand-in tests/slack.spec.ts serves while it runs; the hooked Switchboard's Slack
// apps post there (nothing answers at other times: a post fails and is not tried again).
const slackPort = port + 16;
// The spec computes the same ports from E2E_PORT, and reads the engine's events with this key.
const replicasEngineKey = 'e2e-replicas-engine-key';
// The PostgreSQL cluster the replicas' database is made in (a superuser's URL). scripts/test
// always sets it (start_test_postgres in scripts/lib.sh); without it the replicas project and its
// servers cannot run, and are left out.
const postgresUrl = process.env.SWITCHBOARD_TEST_POSTGRES_URL;
// One folder for the run: the servers' data directories and the fresh one's log. Workers load this
// file again and inherit the variable, so they read the same log and make no folders of their own.
// scripts/test runs the suite in a temporary folder of its own and removes it afterwards.
const runDir = process.env.E2E_RUN_DIR ?? mkdtempSync(join(tmpdir(), 'switchboard-e2e-'));
process.env.E2E_RUN_DIR = runDir;
const freshLog = join(runDir, 'fresh.log');
process.env.E2E_FRESH_LOG = freshLog;
const siteRoot = process.env.SWITCHBOARD_SITE_ROOT ?? join(root, 'target', 'site');
const adminState = join(__dirname, '.auth', 'admin.json');

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
function switchboard(listen: number, dataName: string, env: Record<string, string>, command = binary) {
  const dataDir = join(runDir, dataName);
  mkdirSync(dataDir, { recursive: true });
  return {
    command,
    cwd: root,
    url: `http://127.0.0.1:${listen}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    env: {
      SWITCHBOARD_LISTEN: `127.0.0.1:${listen}`,
      SWITCHBOARD_SITE_ROOT: siteRoot,
      SWITCHBOARD_DATA_DIR: dataDir,
      ...env,
    },
  };
}

export default defineConfig({
  testDir: './tests',
  fullyParallel: true,
  forbidOnly: !!process.env.CI,
  retries: 0,
  // A page's first load and hydration can take several seconds while the other worker's servers
  // and Chromium share CI's 2 cores: 5 s (Playwright's default) failed a wait for a page once.
  expect: { timeout: 10_000 },
  workers: 2,
  reporter: process.env.CI ? [['list']] : [['list'], ['html', { open: 'never' }]],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    trace: 'retain-on-failure',
  },
  projects: [
    // Signs in as the first admin once; the other projects start signed in.
    { name: 'sign-in', testMatch: /auth\.setup\.ts/, use: { ...chromium } },
    {
      name: 'chromium',
      use: { ...chromium, storageState: adminState },
      grepInvert: /@no-js/,
      testIgnore: /replicas\.spec\.ts/,
      dependencies: ['sign-in'],
    },
    // The same pages with JavaScript off: everything must render on the server.
    {
      name: 'chromium-no-js',
      use: { ...chromium, javaScriptEnabled: false, storageState: adminState },
      grep: /@no-js/,
      testIgnore: /replicas\.spec\.ts/,
      dependencies: ['sign-in'],
    },
    // Everything through the balancer in front of the two replicas; it signs in by itself.
    ...(postgresUrl
      ? [
          {
            name: 'replicas',
            testMatch: /replicas\.spec\.ts/,
            use: { ...chromium, baseURL: `http://127.0.0.1:${replicasProxyPort}` },
          },
        ]
      : []),
  ],
  webServer: [
    switchboard(port, 'main', {
      // Small, so the over-the-limit journey needs no large file.
      SWITCHBOARD_MAX_UPLOAD_BYTES: String(1024 * 1024),
      SWITCHBOARD_ADMIN_PASSWORD: ADMIN_PASSWORD,
      ANTHROPIC_API_KEY: '',
      SWITCHBOARD_ENGINE_MODEL_URL: `http://127.0.0.1:${modelPort}`,
      RUST_LOG: 'warn',
    }),
    {
      command: `"${binary}" messages-test-server --listen 127.0.0.1:${modelPort} --script end2end/model-script.json`,
      cwd: root,
      url: `http://127.0.0.1:${modelPort}/v1/models`,
      reuseExistingServer: false,
      timeout: 30_000,
    },
    {
      command: 'node fake-upstream.mjs',
      url: `http://127.0.0.1:${fakeUpstreamPort}/__health`,
      reuseExistingServer: false,
      timeout: 30_000,
      env: { E2E_FAKE_UPSTREAM_PORT: String(fakeUpstreamPort) },
    },
    switchboard(failingPort, 'failing', {
      ANTHROPIC_API_KEY: 'switchboard-e2e-key',
      ANTHROPIC_BASE_URL: `http://127.0.0.1:${fakeUpstreamPort}`,
      SWITCHBOARD_ADMIN_PASSWORD: ADMIN_PASSWORD,
      // Its 502s are the point; tower-http would log each one as an error.
      RUST_LOG: 'error,tower_http=off',
    }),
    switchboard(hookedPort, 'hooked', {
      ANTHROPIC_API_KEY: '',
      SWITCHBOARD_ADMIN_PASSWORD: ADMIN_PASSWORD,
      SWITCHBOARD_INBOX_POLL_SECS: '60',
      SWITCHBOARD_SLACK_API_URL: `http://127.0.0.1:${slackPort}`,
      RUST_LOG: 'warn',
    }),
    {
      command: 'node oidc-provider.mjs',
      url: `http://127.0.0.1:${oidcPort}/.well-known/openid-configuration`,
      reuseExistingServer: false,
      timeout: 30_000,
      env: { E2E_OIDC_PORT: String(oidcPort), E2E_OIDC_CLIENT_URL: `http://127.0.0.1:${ssoPort}` },
    },
    switchboard(ssoPort, 'sso', {
      ANTHROPIC_API_KEY: '',
      SWITCHBOARD_ADMIN_PASSWORD: ADMIN_PASSWORD,
      SWITCHBOARD_PUBLIC_URL: `http://127.0.0.1:${ssoPort}`,
      SWITCHBOARD_OIDC_ISSUER: `http://127.0.0.1:${oidcPort}`,
      SWITCHBOARD_OIDC_CLIENT_ID: 'switchboard',
      SWITCHBOARD_OIDC_CLIENT_SECRET: 'e2e-only-client-secret',
      SWITCHBOARD_OIDC_NAME: 'Example ID',
      SWITCHBOARD_OIDC_SCOPES: 'openid email profile groups',
      SWITCHBOARD_OIDC_ALLOWED_DOMAINS: 'example.com',
      SWITCHBOARD_OIDC_ROLE_MAP: 'switchboard-admins=admin,switchboard-approvers=approver',
      RUST_LOG: 'warn',
    }),
    {
      command: `"${binary}" engine --listen 127.0.0.1:${stagingEnginePort}`,
      cwd: root,
      // Answers 401 without a key: up.
      url: `http://127.0.0.1:${stagingEnginePort}/v1/agents`,
      reuseExistingServer: false,
      timeout: 60_000,
      env: {
        SWITCHBOARD_DATA_DIR: join(runDir, 'staging-engine'),
        SWITCHBOARD_ENGINE_KEY: 'e2e-staging-engine-key',
        RUST_LOG: 'warn',
      },
    },
    switchboard(workspacesPort, 'workspaces', {
      ANTHROPIC_API_KEY: '',
      SWITCHBOARD_ADMIN_PASSWORD: ADMIN_PASSWORD,
      // For tests only: a real deployment makes its own (openssl rand -base64 32).
      SWITCHBOARD_SECRET_KEY: 'q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=',
      RUST_LOG: 'warn',
    }),
    switchboard(
      freshPort,
      'fresh',
      { ANTHROPIC_API_KEY: '', RUST_LOG: 'info,tower_http=off', NO_COLOR: '1' },
      `"${binary}" > "${freshLog}" 2>&1`,
    ),
    ...(postgresUrl ? replicaServers(postgresUrl) : []),
  ],
});

/**
 * The replicas' servers, in the order they start: the standalone engine and the mail sink, then
 * the balancer, which makes the run's database and starts the replicas on it.
 */
function replicaServers(postgresUrl: string) {
  const origin = `http://127.0.0.1:${replicasProxyPort}`;
  return [
    {
      command: `"${binary}" engine --listen 127.0.0.1:${replicasEnginePort}`,
      cwd: root,
      url: `http://127.0.0.1:${replicasEnginePort}/v1/agents`,
      reuseExistingServer: false,
      timeout: 60_000,
      env: {
        SWITCHBOARD_DATA_DIR: join(runDir, 'replicas-engine'),
        SWITCHBOARD_ENGINE_KEY: replicasEngineKey,
        RUST_LOG: 'warn',
      },
    },
    {
      command: 'node smtp-sink.mjs',
      url: `http://127.0.0.1:${smtpHttpPort}/__health`,
      reuseExistingServer: false,
      timeout: 30_000,
      env: { E2E_SMTP_PORT: String(smtpPort), E2E_SMTP_HTTP_PORT: String(smtpHttpPort) },
    },
    {
      command: 'node round-robin.mjs',
      // Through the balancer to a replica: it listens once both replicas answer.
      url: `${origin}/healthz`,
      reuseExistingServer: false,
      timeout: 120_000,
      // SIGTERM: it stops the replicas and drops the run's database.
      gracefulShutdown: { signal: 'SIGTERM' as const, timeout: 10_000 },
      env: {
        E2E_PROXY_PORT: String(replicasProxyPort),
        E2E_REPLICA_PORTS: Object.entries(replicaPorts)
          .map(([name, listen]) => `${name}=${listen}`)
          .join(','),
        E2E_REPLICA_BIN: binary,
        E2E_POSTGRES_URL: postgresUrl,
        // What every replica shares (round-robin.mjs adds each one's own).
        SWITCHBOARD_SITE_ROOT: siteRoot,
        SWITCHBOARD_ADMIN_PASSWORD: ADMIN_PASSWORD,
        // For tests only: a real deployment makes its own (openssl rand -base64 32).
        SWITCHBOARD_SECRET_KEY: 'UmVwbGljYXMgc2hhcmUgdGhpcyBrZXk6IHRlc3RzLi4=',
        ANTHROPIC_API_KEY: replicasEngineKey,
        ANTHROPIC_BASE_URL: `http://127.0.0.1:${replicasEnginePort}`,
        SWITCHBOARD_TRUSTED_PROXIES: '127.0.0.1',
        SWITCHBOARD_PUBLIC_URL: origin,
        SWITCHBOARD_SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
        // A call's email goes out a second after it arrives, not half a minute.
        SWITCHBOARD_NOTIFY_WINDOW_SECS: '1',
        SWITCHBOARD_INBOX_POLL_SECS: '0.5',
        // The leases taken and lost are what the balancer's /__replicas reports.
        RUST_LOG: 'warn,server::support::cluster=info,server::notify=debug',
      },
    },
  ];
}
