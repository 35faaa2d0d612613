import { expect, test } from '@playwright/test';
import { collectErrors, sessionThatAsks, waitForHydration } from './support';

// An approval policy set on the Rules page: a refused form keeps its draft, the saved policy is
// listed in words, and the session's card says what the policy asks: here that the person who
// started the session may not allow its call, which the server refuses when tried. The policy
// is for this test's own agent only (the other tests share the server).

test('a two-approver, no-self-approval policy is set on the Rules page and shown and kept on the card', async ({ page }) => {
  const errors = collectErrors(page);
  const id = await sessionThatAsks(page.request, ['echo needs two'], 'Policy');
  const session = await (await page.request.get(`/api/sessions/get?id=${id}`)).json();
  const agent: string = session.row.agent_id;

  await page.goto('/rules');
  await waitForHydration(page);
  const form = page.getByTestId('policy-form');
  await form.getByTestId('policy-agent').selectOption(agent);
  await form.getByTestId('policy-two').check();
  await form.getByTestId('policy-no-self').check();
  // A username that is not an account: refused, named, and the draft stays.
  await form.getByTestId('policy-first').fill('nobody-here');
  await form.getByTestId('policy-save').click();
  await expect(page.getByTestId('policies').locator('[role="alert"]')).toContainText('There is no account "nobody-here"');
  await expect(form.getByTestId('policy-first')).toHaveValue('nobody-here');
  await expect(form.getByTestId('policy-no-self')).toBeChecked();
  await form.getByTestId('policy-first').fill('');
  await form.getByTestId('policy-save').click();
  await expect(page.getByTestId('policy-saved')).toContainText('Two people must allow each call');
  const row = page.locator(`[data-testid="policy-row"][data-agent="${agent}"]`);
  await expect(row).toContainText('Whoever sent the message that led to a call may not allow it.');

  await page.goto(`/sessions/${id}`);
  await waitForHydration(page);
  const card = page.getByTestId('approval-card');
  await expect(card).toHaveCount(1, { timeout: 20_000 });
  const lines = card.getByTestId('card-policy');
  await expect(lines).toContainText('Needs 2 approvals from different people; none yet.');
  await expect(lines).toContainText('You sent the message that led to this call: somebody else must allow it');
  await card.getByTestId('allow').click();
  await expect(page.getByTestId('decision-outcome')).toContainText('You sent the message that led to call');
  await expect(card).toHaveCount(1);

  // Removing the policy lets one person decide again.
  await page.goto('/rules');
  await waitForHydration(page);
  await row.getByRole('button', { name: 'Remove' }).click();
  await expect(row).toHaveCount(0);
  await page.goto(`/sessions/${id}`);
  await waitForHydration(page);
  await expect(page.getByTestId('approval-card')).toHaveCount(1, { timeout: 20_000 });
  await expect(page.getByTestId('card-policy')).toHaveCount(0);
  await page.getByTestId('approval-card').getByTestId('allow').click();
  await expect(page.getByTestId('live-state')).toContainText('finished its turn', { timeout: 20_000 });
  // The two refusals, and nothing else.
  expect(errors).toEqual([
    expect.stringMatching(/status of 400 .*\/api\/policies\/save\]$/),
    expect.stringMatching(/status of 403 .*\/api\/sessions\/decide\]$/),
  ]);
});

// A deadline set on the Rules page: a duration that is not one is refused with the draft kept;
// the card and the Inbox count down to it; an Allow with a reason decides the call and the audit
// entry keeps the reason.
test('a deadline counts down on the card and the inbox, and an allow keeps its reason', async ({ page }) => {
  const errors = collectErrors(page);
  const id = await sessionThatAsks(page.request, ['echo under a deadline'], 'Deadline');
  const session = await (await page.request.get(`/api/sessions/get?id=${id}`)).json();
  const agent: string = session.row.agent_id;

  await page.goto('/rules');
  await waitForHydration(page);
  const form = page.getByTestId('policy-form');
  await form.getByTestId('policy-agent').selectOption(agent);
  await form.getByTestId('policy-deadline').fill('soon');
  await form.getByTestId('policy-tool-deadlines').fill('bash 10m');
  await form.getByTestId('policy-save').click();
  await expect(page.getByTestId('policies').locator('[role="alert"]')).toContainText('"soon" is not a duration');
  await expect(form.getByTestId('policy-tool-deadlines')).toHaveValue('bash 10m');
  await form.getByTestId('policy-deadline').fill('1h');
  await form.getByTestId('policy-save').click();
  const row = page.locator(`[data-testid="policy-row"][data-agent="${agent}"]`);
  await expect(row).toContainText('A bash call nobody decides within 10 minutes is denied.');

  await page.goto('/inbox');
  await waitForHydration(page);
  const line = page.locator(`[data-testid="inbox-session"][data-session="${id}"]`).getByTestId('deadline');
  await expect(line).toContainText(/Denied by the approval policy in 9 minutes( \d+ seconds?)? unless somebody decides first/, { timeout: 20_000 });

  await page.goto(`/sessions/${id}`);
  await waitForHydration(page);
  const card = page.getByTestId('approval-card');
  await expect(card).toHaveCount(1, { timeout: 20_000 });
  await expect(card.getByTestId('card-policy')).toContainText(/Denied by the approval policy in 9 minutes/);
  await card.getByTestId('allow-with-reason').click();
  await card.getByTestId('allow-reason').fill('checked the command by hand');
  await card.getByTestId('allow-send').click();
  await expect(page.getByTestId('live-state')).toContainText('finished its turn', { timeout: 20_000 });
  const log = await (await page.request.get('/api/audit/list?query[action]=sessions/decide')).json();
  const reasons = log.entries.map((e: { detail: string }) => e.detail).join('\n');
  expect(reasons).toContain('checked the command by hand');

  await page.goto('/rules');
  await waitForHydration(page);
  await row.getByRole('button', { name: 'Remove' }).click();
  await expect(row).toHaveCount(0);
  expect(errors).toEqual([expect.stringMatching(/status of 400 .*\/api\/policies\/save\]$/)]);
});
