import { expect, test } from '@playwright/test';
import { archiveMadeAgents, collectErrors, finishedSession, signedOut, unique, waitForHydration } from './support';

// Showing a session to someone without an account: a read-only link, and revoking it.

test.afterEach(({ request }) => archiveMadeAgents(request));

test('a share link shows the session to a signed-out browser until it is revoked', async ({ page, browser, request }) => {
  const title = unique('Shared demo');
  const id = await finishedSession(
    request,
    [{ text: 'Hello, audience.' }, { tool: 'bash', input: { command: 'echo shown' } }, { text: 'That is all.' }],
    {
      title,
      agent: { tools: [{ type: 'agent_toolset_20260401', default_config: { permission_policy: { type: 'always_allow' } } }] },
    },
  );

  // The operator makes a link on the session page; its address is shown once.
  await page.goto(`/sessions/${id}`);
  await waitForHydration(page);
  const form = page.getByTestId('share-form');
  await form.getByLabel('Lasts').selectOption({ label: '1 hour' });
  await form.getByRole('button', { name: 'Make a link' }).click();
  const link = page.getByTestId('share-link');
  await expect(link).toHaveValue(/^http:\/\/[^/]+\/share\/[0-9a-f]{64}$/);
  const address = await link.inputValue();

  // Someone without an account opens it: the presenter layout, no way into the console.
  const audience = await browser.newContext({ storageState: signedOut });
  const viewer = await audience.newPage();
  const errors = collectErrors(viewer);
  await viewer.goto(address);
  await expect(viewer.getByTestId('presenter')).toBeVisible();
  await expect(viewer.getByRole('heading', { level: 1, name: title })).toBeVisible();
  await waitForHydration(viewer);
  await expect(viewer.getByText('That is all.')).toBeVisible();
  await expect(viewer.getByTestId('share-note')).toContainText('Shared read-only, live.');
  await expect(viewer.getByText('Values that look like secrets are masked.')).toBeVisible();
  await expect(viewer.getByRole('link', { name: /Leave/ })).toHaveCount(0);
  // No way into the console: no link to a page, an event or an agent (the brand alone links
  // home, to the sign-in page).
  await expect(viewer.locator('a[href^="/"]:not([href^="/share/"]):not(.brand)')).toHaveCount(0);

  // The Shared links page counts the view; revoking ends the open viewer's stream at once.
  await page.goto('/shares');
  await waitForHydration(page);
  const row = page.getByTestId('share-row').filter({ hasText: title });
  await expect(row).toHaveAttribute('data-state', 'active');
  await expect(row.getByTestId('share-views')).toHaveText(/^1, last /);
  await row.getByRole('button', { name: 'Revoke' }).click();
  await row.getByRole('button', { name: 'Yes, revoke' }).click();
  await expect(row).toHaveAttribute('data-state', 'revoked');
  await expect(viewer.getByTestId('presenter-ended')).toContainText('This share link was revoked');
  expect(errors).toEqual([]);

  // Opened again, the link says it was revoked, and shows nothing of the session.
  await viewer.reload();
  await expect(viewer.getByTestId('share-closed')).toContainText('This share link was revoked on');
  await expect(viewer.getByText('Hello, audience.')).toHaveCount(0);
  await audience.close();
});
