import { expect, test } from '@playwright/test';
import { collectErrors, fact, openNewAgentForm, unique, waitForHydration } from './support';

// The main Switchboard's engine runs real models against the project's Messages test server
// (end2end/model-script.json): a current model, a deprecated one retiring on 2026-11-30, Claude
// Haiku 4.5 (which has a list price), and a reply streamed to every request.
test('the model is picked from the upstream list, a retiring one is flagged, and a real-model session answers', async ({
  page,
}) => {
  const errors = collectErrors(page);
  await openNewAgentForm(page);
  const model = page.getByLabel('Model', { exact: true });
  // A new agent starts on a current model, not on `scripted` nor on the retiring one.
  await expect(model).toHaveValue('claude-e2e-current');
  await expect(model.locator('option')).toHaveText([
    "Scripted (the embedded engine's own) — scripted",
    'E2E Current — claude-e2e-current',
    'E2E Retiring — claude-e2e-retiring (deprecated, retires on 2026-11-30)',
    'Claude Haiku 4.5 — claude-haiku-4-5',
  ]);
  await expect(page.getByTestId('model-warning')).toHaveCount(0);
  await model.selectOption('claude-e2e-retiring');
  await expect(page.getByTestId('model-warning')).toHaveText(
    'claude-e2e-retiring is deprecated, retires on 2026-11-30. Choose a current model for new work.',
  );
  const retiring = unique('Retiring');
  await page.getByLabel('Name', { exact: true }).fill(retiring);
  await page.getByRole('button', { name: 'Create agent' }).click();
  await expect(page).toHaveURL(/\/agents\/agent_[^/?]+$/);
  await expect(page.getByTestId('model-warning')).toContainText(
    "This agent's model, claude-e2e-retiring, is deprecated, retires on 2026-11-30.",
  );
  await page.goto('/sessions/new');
  await expect(page.getByTestId('model-warnings')).toContainText(`${retiring} uses claude-e2e-retiring, which is deprecated`);

  // An agent on the current model: its session streams the model's reply.
  await openNewAgentForm(page);
  const current = unique('Current');
  await page.getByLabel('Name', { exact: true }).fill(current);
  await page.getByRole('button', { name: 'Create agent' }).click();
  await expect(page).toHaveURL(/\/agents\/agent_[^/?]+$/);
  await expect(fact(page, 'Model')).toHaveText('claude-e2e-current');
  await expect(page.getByTestId('model-warning')).toHaveCount(0);
  await page.goto('/sessions/new');
  await waitForHydration(page);
  await page.getByRole('combobox', { name: /^Agent\b/ }).selectOption({ label: `${current} (latest: v1)` });
  await page.getByLabel('First message (optional; starts the agent at once)').fill('Say hello.');
  await page.getByRole('button', { name: 'Start session' }).click();
  await expect(page).toHaveURL(/\/sessions\/sesn_[^/?]+$/);
  await expect(page.getByTestId('timeline').locator('[data-kind="agent.message"]')).toContainText(
    'Hello from the test model, streamed a few characters at a time.',
  );
  expect(errors).toEqual([]);
});

test('a session stops when it spends its budget, and goes on once the budget is raised', async ({ page, request }) => {
  const errors = collectErrors(page);
  // Claude Haiku 4.5 has a list price; the test server bills each reply 20,000 tokens in and
  // 1,000 out: 2.5 cents, over a budget of 1 cent.
  const definition = JSON.stringify({ name: unique('Budgeted'), model: 'claude-haiku-4-5' });
  const created = await request.post('/api/agents/create', { form: { definition } });
  expect(created.ok(), await created.text()).toBeTruthy();
  const agent = (await created.json()).id as string;
  await page.goto('/sessions/new');
  await waitForHydration(page);
  await page.getByRole('combobox', { name: /^Agent\b/ }).selectOption(agent);
  await page.getByLabel('First message (optional; starts the agent at once)').fill('Spend something.');
  await page.getByLabel('Budget in US dollars (optional)').fill('0.01');
  await page.getByRole('button', { name: 'Start session' }).click();
  await expect(page).toHaveURL(/\/sessions\/sesn_[^/?]+$/);
  await waitForHydration(page);
  const timeline = page.getByTestId('timeline');
  await expect(timeline.locator('[data-kind="agent.message"]')).toHaveCount(1);

  // Spent: a new message is refused, in words, and the composer keeps it.
  await page.reload();
  await waitForHydration(page);
  await expect(fact(page, 'Cost')).toHaveText('$0.03');
  await page.getByTestId('composer-text').fill('Spend more.');
  await page.getByTestId('send').click();
  await expect(page.getByRole('alert').filter({ hasText: 'spent its budget' })).toBeVisible();

  // A lower budget is refused; a higher one lets the session go on.
  const form = page.getByTestId('budget-form');
  await form.getByLabel('New budget in US dollars (empty removes it)').fill('0.02');
  await form.getByRole('button', { name: 'Set the budget' }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'already spent' })).toBeVisible();
  await form.getByLabel('New budget in US dollars (empty removes it)').fill('1.00');
  await form.getByRole('button', { name: 'Set the budget' }).click();
  await expect(fact(page, 'Budget')).toHaveText('$1.00 (list price)');
  await waitForHydration(page);
  await page.getByTestId('composer-text').fill('Spend more.');
  await page.getByTestId('send').click();
  await expect(page.getByTestId('timeline').locator('[data-kind="agent.message"]')).toHaveCount(2);
  // The two refusals above are the browser's only errors: the API's 400s, shown in place.
  const refused = /400 \(Bad Request\) \[http:\/\/[^/]+\/api\/sessions\/(steer|budget)\]$/;
  expect(errors.filter((e) => !refused.test(e))).toEqual([]);
  expect(errors).toHaveLength(2);
});
