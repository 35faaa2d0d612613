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
