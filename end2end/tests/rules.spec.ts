import { expect, test } from '@playwright/test';
import { collectErrors, sessionThatAsks, waitForHydration } from './support';

// "Always allow…" from an approval card: the rule answers the call it came from and the next that
// match, the timeline says which rule allowed each, and the rule is listed on the session and on
// the Rules page, where it is revoked.

test('a rule made on a card answers matching calls, is marked in the timeline, and is revoked', async ({ page }) => {
  const errors = collectErrors(page);
  const id = await sessionThatAsks(page.request, ['npm test', 'npm test -- --ci', 'npm run lint'], 'Rules');
  await page.goto(`/sessions/${id}`);
  await waitForHydration(page);
  await expect(page.getByTestId('rules-empty')).toBeVisible();
  // The scripted agent asks for the three calls at once: one card each, oldest first.
  const cards = page.getByTestId('approval-card');
  await expect(cards).toHaveCount(3, { timeout: 20_000 });
  const card = cards.first();
  await expect(card.locator('pre.command')).toHaveText('$ npm test');

  await card.getByTestId('always-allow').click();
  const form = card.getByTestId('rule-form');
  await expect(form.getByTestId('rule-pattern')).toHaveValue('npm test');
  await expect(form.getByTestId('rule-reading')).toHaveText('Allows `bash` commands starting with `npm test`, this call included.');
  // A pattern that is not a plain command is refused before it is sent.
  await form.getByTestId('rule-pattern').fill('npm test; rm -rf /');
  await expect(form.getByTestId('rule-reading')).toContainText('plain command');
  await expect(form.getByTestId('rule-create')).toBeDisabled();
  await form.getByTestId('rule-pattern').fill('npm test');
  await form.getByTestId('rule-create').click();

  await expect(page.getByTestId('rule-made')).toContainText('allows `bash` commands starting with `npm test` in this session until');
  // The first two calls are the rule's; `npm run lint` waits for a person.
  await expect(cards).toHaveCount(1, { timeout: 20_000 });
  await expect(cards).toContainText('$ npm run lint');
  const marks = page.getByTestId('timeline').locator('[data-kind="user.tool_confirmation"]').getByTestId('rule-decision');
  await expect(marks).toHaveCount(2);
  await expect(marks.first()).toContainText(/^rule \d+ of /);
  const listed = page.getByTestId('rules').getByTestId('rule-row');
  await expect(listed).toHaveCount(1);
  await expect(listed.getByTestId('rule-uses')).toHaveText('2');
  await cards.getByTestId('allow').click();
  await expect(page.getByTestId('live-state')).toContainText('finished its turn', { timeout: 20_000 });

  // The Rules page lists it; revoking ends it at once.
  await page.goto('/rules');
  await waitForHydration(page);
  const row = page.locator(`[data-testid="rule-row"]`).filter({ hasText: id });
  await expect(row).toContainText('`bash` commands starting with `npm test`');
  await expect(row).toHaveAttribute('data-state', 'live');
  await row.getByTestId('rule-revoke').click();
  await expect(row).toHaveAttribute('data-state', 'ended');
  await expect(row).toContainText('revoked by');
  expect(errors).toEqual([]);
});
