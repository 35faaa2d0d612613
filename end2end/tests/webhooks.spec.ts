import { expect, test } from '@playwright/test';
import { collectErrors, sessionThatAsks, signInAsAdmin, unique, waitForHydration } from './support';

// The Switchboard of playwright.config.ts whose inbox lists sessions once a minute: its embedded
// engine sends signed webhooks to its /webhooks/anthropic, and only they can bring a call into
// an open inbox within seconds.
const port = Number(process.env.E2E_PORT ?? 3917);
const hooked = `http://127.0.0.1:${port + 5}`;

test.use({ baseURL: hooked });

// The cookie of the main Switchboard means nothing here: sign in to this one.
test.beforeEach(async ({ page }) => {
  await signInAsAdmin(page.request, hooked);
});

test('a webhook brings a waiting call into an open inbox long before the next poll; Settings shows it', async ({
  page,
}) => {
  const errors = collectErrors(page);
  await page.goto('/inbox');
  await waitForHydration(page);
  // The first look has listed every session; the next is a minute away (or fifteen, once
  // webhooks have come).
  await expect(page.getByTestId('inbox-state')).toContainText(/calls? waits?\. /);

  const command = `echo ${unique('hooked')}`;
  const id = await sessionThatAsks(page.request, [command], 'Webhook');
  const group = page.locator(`[data-testid="inbox-session"][data-session="${id}"]`);
  const card = group.getByTestId('approval-card');
  // Within 10 s, where the next poll is at least 50 s away.
  await expect(card).toContainText(command, { timeout: 10_000 });
  await expect(page.getByTestId('inbox-state')).toContainText(
    'Webhooks bring new calls at once; sessions are also checked every 15 min 00 s.',
  );

  // Deciding it: the session's next webhooks take it out of the inbox.
  await card.getByTestId('allow').click();
  await expect(group).toHaveCount(0, { timeout: 10_000 });

  await page.goto('/settings');
  await waitForHydration(page);
  const panel = page.getByTestId('webhooks');
  await expect(panel.getByTestId('webhooks-setup')).toContainText('the embedded engine sends its webhooks');
  await expect(panel.getByTestId('webhooks-polling')).toHaveText(
    'every 15 min 00 s: slower, since webhooks arrive (every 1 min 00 s without them)',
  );
  await expect(panel.getByTestId('webhooks-last')).toContainText('session.');
  expect(Number(await panel.getByTestId('webhooks-accepted').textContent())).toBeGreaterThan(0);
  await expect(panel.getByTestId('webhooks-refused')).toHaveText('None.');
  expect(errors).toEqual([]);
});
