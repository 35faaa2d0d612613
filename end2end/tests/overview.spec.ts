import { expect, test } from '@playwright/test';
import { collectErrors, sessionThatAsks, waitForHydration } from './support';

// The Overview as a dashboard: what waits for someone (live, with how long), what runs, what it
// cost, the agents used most, what failed; each a link to where to act.

test('the overview shows a session that starts waiting, for how long, and opens it', async ({ page }) => {
  const errors = collectErrors(page);
  await page.goto('/');
  await waitForHydration(page);
  for (const panel of ['board-waiting', 'board-running', 'board-spend', 'board-agents', 'board-failures']) {
    await expect(page.getByTestId(panel)).toBeVisible();
  }

  // A call that starts waiting after the page opened arrives on the inbox's stream, no reload.
  const id = await sessionThatAsks(page.request, ['echo from the overview'], 'Waits on the overview');
  const row = page.locator(`[data-testid=board-waiting-session][data-session="${id}"]`);
  await expect(row).toBeVisible({ timeout: 20_000 });
  await expect(row).toContainText('1 call');
  const waited = row.getByTestId('board-waited');
  await expect(waited).toHaveText(/^waiting \d/);
  // Its wait counts up while the page is open.
  const before = await waited.innerText();
  await expect(waited).not.toHaveText(before, { timeout: 5_000 });

  // The row opens the session, where the call is decided; the Overview then lets it go. The list
  // is drawn again whenever another session's calls change (other specs run beside this one), so
  // a click can land on a row that was just replaced: it is tried again.
  // A click that did land may still be loading the session page when the check gives up: then
  // the row is gone, and the next try only waits for the page.
  const opened = new RegExp(`/sessions/${id}$`);
  await expect(async () => {
    if (!opened.test(page.url())) await row.getByRole('link').first().click({ timeout: 2_000 });
    await expect(page).toHaveURL(opened, { timeout: 5_000 });
  }).toPass({ timeout: 30_000 });
  await waitForHydration(page);
  await page.getByTestId('approval-card').getByTestId('allow').click();
  await expect(page.getByTestId('approval-card')).toHaveCount(0, { timeout: 20_000 });
  await page.goto('/');
  await expect(page.locator(`[data-testid=board-waiting-session][data-session="${id}"]`)).toHaveCount(0, {
    timeout: 20_000,
  });
  // Its agent ran a session this month: it is among the agents used most, or the table is full;
  // and the month's spend counts it, at least.
  await expect(page.getByTestId('board-agent').first()).toBeVisible();
  // An agent's count opens the same sessions: the agent's, started since the month's first day.
  await page.getByTestId('board-agent').first().getByRole('link').nth(1).click();
  await expect(page).toHaveURL(/\/sessions\?agent_id=[^&]+&since=\d{4}-\d{2}-01&include_archived=true$/);
  await waitForHydration(page);
  await expect(page.locator('input[name="since"]')).toHaveValue(/^\d{4}-\d{2}-01$/);
  await expect(page.getByLabel('Include archived')).toBeChecked();
  await expect(page.getByTestId('session-list').locator('tbody tr').first()).toBeVisible();
  await page.goto('/');
  await expect(page.getByTestId('board-spend-month')).toHaveText(/^\$\d+\.\d{2,4} · [1-9][\d,]* sessions? · [\d,]+ tokens/);
  await expect(page.getByTestId('board-panel-error')).toHaveCount(0);
  expect(errors).toEqual([]);

  // Other specs find the demo agent on the agents list's first page: this test's agent goes.
  const session = await (await page.request.get(`/api/sessions/get?id=${id}`)).json();
  const archived = await page.request.post('/api/agents/archive', { form: { id: session.row.agent_id } });
  expect(archived.ok(), await archived.text()).toBeTruthy();
});
