import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect, test } from '@playwright/test';
import { collectErrors, waitForHydration } from './support';

// `switchboard login` end to end: the binary under test asks the main Switchboard for a code, the
// signed-in admin approves it on the /device page in Chromium, the terminal gets its token, which
// works against /v1, and `switchboard logout` ends it.
const binary = resolve(__dirname, '..', '..', process.env.SWITCHBOARD_BIN ?? join('target', 'debug', 'switchboard'));

/** Runs `switchboard <args>` with its configuration in `config`; its output as it comes, and its end. */
function run(args: string[], config: string) {
  const child = spawn(binary, args, { env: { ...process.env, SWITCHBOARD_CONFIG_DIR: config } });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk) => (out.stdout += chunk));
  child.stderr.on('data', (chunk) => (out.stderr += chunk));
  // 'close', not 'exit': its output has been read whole by then.
  const ended = new Promise<number | null>((done) => child.on('close', done));
  return { child, out, ended };
}

test('a terminal signs in with a code approved in the console, and logout ends its token', async ({ page, baseURL }) => {
  const errors = collectErrors(page);
  const config = join(mkdtempSync(join(tmpdir(), 'switchboard-login-')), 'switchboard');
  const login = run(['login', '--url', baseURL!, '--name', 'e2e-laptop'], config);
  try {
    await expect.poll(() => /the code ([A-Z]{4}-[A-Z]{4})/.exec(login.out.stderr)?.[1], { timeout: 15_000 }).toBeTruthy();
    const code = /the code ([A-Z]{4}-[A-Z]{4})/.exec(login.out.stderr)![1];
    const link = new URL(/(http\S+\/device\?code=\S+)/.exec(login.out.stderr)![1]);
    expect(link.origin).toBe(new URL(baseURL!).origin);

    await page.goto(link.pathname + link.search);
    await waitForHydration(page);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Sign in a terminal');
    await expect(page.getByTestId('device-request')).toContainText('e2e-laptop');
    await expect(page.getByTestId('device-request')).toContainText(code);
    await page.getByRole('checkbox', { name: 'approver' }).uncheck();
    await page.getByRole('button', { name: 'Approve' }).click();
    await expect(page.getByTestId('device-approved')).toBeVisible();

    expect(await Promise.race([login.ended, new Promise((r) => setTimeout(() => r('timeout'), 30_000))])).toBe(0);
    expect(login.out.stdout).toContain(`export ANTHROPIC_BASE_URL=${baseURL}`);
    const token = readFileSync(join(config, 'token'), 'utf8');
    expect(token).toMatch(/^sbp_[0-9a-f]{48}$/);
    expect(login.out.stdout).not.toContain(token);
    expect(statSync(join(config, 'token')).mode & 0o777).toBe(0o600);

    const listed = await page.request.get('/v1/agents?limit=1', { headers: { authorization: `Bearer ${token}` } });
    expect(listed.status()).toBe(200);
    // Its roles are the ones approved: operator, not approver.
    await page.goto('/account');
    await waitForHydration(page);
    const row = page.getByTestId('my-tokens').getByRole('row').filter({ hasText: 'switchboard login on e2e-laptop' });
    await expect(row).toContainText('viewer operator');

    const logout = run(['logout'], config);
    expect(await logout.ended).toBe(0);
    const refused = await page.request.get('/v1/agents?limit=1', { headers: { authorization: `Bearer ${token}` } });
    expect(refused.status()).toBe(401);
    expect((await refused.json()).error.type).toBe('authentication_error');
    expect(errors).toEqual([]);
  } finally {
    login.child.kill();
  }
});
