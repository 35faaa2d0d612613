import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { expect, test } from '@playwright/test';
import { collectErrors, sessionThatAsks, signInAsAdmin, waitForHydration } from './support';

// Deciding in Slack, on the Switchboard whose engine's webhooks bring calls in at once (the hooked
// one of playwright.config.ts), its Slack apps posting to a stand-in of Slack's Web API that this
// spec serves on E2E_PORT + 16 and that keeps every call.
const port = Number(process.env.E2E_PORT ?? 3917);
const hooked = `http://127.0.0.1:${port + 5}`;
const slackPort = port + 16;
const signingSecret = '0123456789abcdef0123456789abcdef';

test.use({ baseURL: hooked });
// One worker runs the spec's tests: the stand-in's port is one.
test.describe.configure({ mode: 'serial' });

type Call = { method: string; body: Record<string, unknown> };
const calls: Call[] = [];
let slack: Server;

test.beforeAll(async () => {
  slack = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      const parsed = JSON.parse(body || '{}');
      calls.push({ method: (request.url ?? '').slice(1), body: parsed });
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ ok: true, channel: parsed.channel, ts: `1700000000.${String(calls.length).padStart(6, '0')}` }));
    });
  });
  await new Promise<void>((resolve) => slack.listen(slackPort, '127.0.0.1', resolve));
});

test.afterAll(async () => {
  await new Promise((resolve) => slack.close(resolve));
});

test.beforeEach(async ({ page }) => {
  await signInAsAdmin(page.request, hooked);
});

/** The first call of `method` whose body mentions `text`, once there is one. */
async function slackCall(method: string, text: string): Promise<Record<string, unknown>> {
  await expect.poll(() => calls.some((c) => c.method === method && JSON.stringify(c.body).includes(text)), { timeout: 20_000 }).toBe(true);
  return calls.find((c) => c.method === method && JSON.stringify(c.body).includes(text))!.body;
}

/** A press of `action` by Slack user `user` on the message whose buttons carry `value`, signed. */
function press(value: string, user: string, action: string) {
  const payload = {
    type: 'block_actions',
    user: { id: user, team_id: 'T0E2E' },
    trigger_id: `trigger-${Math.random()}`,
    channel: { id: 'C0E2ESLACK' },
    actions: [{ action_id: action, value }],
  };
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signature = `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
  return {
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': timestamp,
      'x-slack-signature': signature,
    },
    data: body,
  };
}

test('an admin sets a Slack app, an approver links their Slack account from the message and allows there', async ({ page }) => {
  const errors = collectErrors(page);
  await page.goto('/settings');
  await waitForHydration(page);
  const panel = page.getByTestId('slack');
  await expect(panel.getByTestId('slack-request-url')).toContainText('/webhooks/slack');
  await expect(panel.getByTestId('slack-none')).toBeVisible();
  const form = panel.getByTestId('slack-form');
  await form.getByLabel('Channel id').fill('C0E2ESLACK');
  await form.getByLabel('Bot token').fill('xoxp-a-user-token-not-a-bot');
  await form.getByLabel('Signing secret').fill(signingSecret);
  await form.getByRole('button', { name: 'Save the Slack app' }).click();
  await expect(panel.getByRole('alert')).toContainText('This is not a bot token');
  await expect(form.getByLabel('Channel id')).toHaveValue('C0E2ESLACK');
  await form.getByLabel('Bot token').fill(['xoxb', '1234', '5678', 'e2etokenvalue'].join('-'));
  await form.getByRole('button', { name: 'Save the Slack app' }).click();
  await expect(panel.getByTestId('slack-saved')).toBeVisible();
  await expect(panel.getByTestId('slack-set')).toContainText('C0E2ESLACK');

  // A waiting call is posted with its command and buttons.
  const session = await sessionThatAsks(page.request, ['echo decided in slack'], 'From Slack');
  const message = await slackCall('chat.postMessage', session);
  expect(JSON.stringify(message)).toContain('$ echo decided in slack');
  const value = JSON.stringify(message).match(/"value":"(default [^"]+)"/)![1];

  // The first press: Switchboard does not know this Slack user, and says how to link.
  expect((await page.request.post('/webhooks/slack', press(value, 'U0E2E', 'allow'))).status()).toBe(200);
  const told = await slackCall('chat.postEphemeral', 'U0E2E');
  const link = String(told.text).match(/<([^|>]+)\|Link your Slack account>/)![1];
  await page.goto(link);
  await waitForHydration(page);
  await expect(page.getByTestId('slack-link')).toContainText('Slack user U0E2E (team T0E2E');
  await page.getByRole('button', { name: 'Yes, that is me' }).click();
  await expect(page.getByTestId('slack-linked')).toContainText('Linked');

  // The second press allows the call; the message is updated in place with who decided.
  expect((await page.request.post('/webhooks/slack', press(value, 'U0E2E', 'allow'))).status()).toBe(200);
  await slackCall('chat.update', 'Allowed by Admin (admin)');
  await page.goto(`/sessions/${session}`);
  await expect(page.getByText('Done.')).toBeVisible({ timeout: 20_000 });

  // The admin unlinks the Slack user and removes the app.
  await page.goto('/settings');
  await waitForHydration(page);
  const people = panel.getByTestId('slack-people');
  await expect(people).toContainText('U0E2E');
  await people.getByRole('button', { name: 'Unlink' }).click();
  await expect(panel.getByTestId('slack-people-none')).toBeVisible();
  await panel.getByRole('button', { name: 'Remove the Slack app' }).click();
  await expect(panel.getByTestId('slack-none')).toBeVisible();
  // The one refusal: the user token.
  expect(errors).toEqual([expect.stringMatching(/status of 400 .*\/api\/slack\/app\/save\]$/)]);
});

test('a Slack link that is not one Switchboard made says so and links nobody', async ({ page }) => {
  await page.goto('/slack/link?t=forged.link');
  await expect(page.getByTestId('slack-link-refused')).toContainText('This is not a link Switchboard made');
  await expect(page.getByRole('button', { name: 'Yes, that is me' })).toHaveCount(0);
});
