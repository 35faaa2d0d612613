import { expect, test, type Page } from '@playwright/test';
import { collectErrors, idFromUrl, unique, waitForHydration } from './support';

/**
 * Every response body the page receives (documents, server functions, scripts), for a leak check at
 * the end. Event streams (the inbox every signed-in page holds open) never end while their page is
 * open, so their bodies cannot be awaited; none of them carries vault data.
 */
function recordResponseBodies(page: Page): Promise<string>[] {
  const bodies: Promise<string>[] = [];
  page.on('response', (response) => {
    if (response.headers()['content-type']?.startsWith('text/event-stream')) return;
    bodies.push(
      response
        .text()
        .then((text) => `${response.url()}\n${text}`)
        .catch(() => ''),
    );
  });
  return bodies;
}

test('a credential secret is write-only: never shown, never sent back, also after rotating', async ({ page }) => {
  const errors = collectErrors(page);
  const bodies = recordResponseBodies(page);
  const sent: string[] = [];
  page.on('request', (request) => sent.push(request.postData() ?? ''));
  const vaultName = unique('Team vault');
  const secret = `sk-e2e-first-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const rotated = `sk-e2e-rotated-${Date.now()}-${Math.random().toString(36).slice(2)}`;

  await page.goto('/vaults');
  await expect(page.getByRole('heading', { level: 1, name: 'Vaults' })).toBeVisible();
  await waitForHydration(page);
  await page.getByLabel('New vault named').fill(vaultName);
  await page.getByRole('button', { name: 'Create vault' }).click();
  await expect(page).toHaveURL(/\/vaults\/[^/?]+$/);
  const vaultId = idFromUrl(page);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(vaultName);
  await expect(page.getByText('No credentials yet. Add one below.')).toBeVisible();

  // Add a bearer token for an MCP server.
  await waitForHydration(page);
  const form = page.getByTestId('credential-form');
  await form.getByRole('combobox', { name: 'Type' }).selectOption({ label: 'Bearer token for an MCP server' });
  await form.getByLabel('Name (optional)').fill('Docs server token');
  await form.getByLabel('MCP server URL').fill('https://mcp.example.com/mcp');
  const secretField = form.getByLabel('Secret (write-only: never shown again)');
  await secretField.fill(secret);
  await form.getByRole('button', { name: 'Add credential' }).click();

  await expect(page.getByRole('status')).toHaveText(
    /^Saved \S+\. The secret is stored upstream and will not be shown again\.$/,
  );
  await expect(page.getByTestId('credential-form').getByLabel('Secret (write-only: never shown again)')).toHaveValue('');
  const credential = page.getByTestId('credential-list').getByRole('listitem');
  await expect(credential).toHaveCount(1);
  await expect(credential).toContainText('Docs server token');
  await expect(credential).toContainText('Bearer token for https://mcp.example.com/mcp');
  expect(await page.content()).not.toContain(secret);

  await page.reload();
  await expect(credential).toContainText('Docs server token');
  expect(await page.content()).not.toContain(secret);

  // Rotate it: the new secret is accepted and not shown either.
  await waitForHydration(page);
  await credential.getByLabel('New secret').fill(rotated);
  const rotation = page.waitForResponse((response) => response.url().includes('/api/vaults/credentials/rotate'));
  await credential.getByRole('button', { name: 'Rotate' }).click();
  expect((await rotation).status()).toBe(200);
  await expect(credential.getByRole('alert')).toHaveCount(0);
  // Accepted, so cleared like the add form's secret.
  await expect(credential.getByLabel('New secret')).toHaveValue('');
  await expect(credential.getByRole('status')).toContainText('Rotated at');
  await expect(credential).toContainText('Docs server token');
  expect(await page.content()).not.toContain(rotated);
  await page.reload();
  await expect(credential).toContainText('Docs server token');
  expect(await page.content()).not.toContain(rotated);

  // Delete the vault, confirmed.
  await waitForHydration(page);
  const header = page.locator('header', { has: page.getByRole('heading', { level: 1 }) });
  await header.getByRole('button', { name: 'Delete', exact: true }).click();
  await expect(header.getByRole('group', { name: 'Confirm' })).toContainText(
    'The vault and every credential in it are deleted for good.',
  );
  await header.getByRole('group', { name: 'Confirm' }).getByRole('button', { name: 'Yes, delete' }).click();
  await expect(page).toHaveURL('/vaults');
  await expect(page.getByRole('heading', { level: 1, name: 'Vaults' })).toBeVisible();
  await expect(page.getByRole('link', { name: vaultName })).toHaveCount(0);
  expect(errors).toEqual([]);

  const gone = await page.goto(`/vaults/${vaultId}`);
  expect(gone?.status()).toBe(404);
  await expect(page.getByRole('alert')).toContainText('Not found');

  // No response of the whole journey carried either secret (which did go out, once each).
  expect(sent.filter((body) => body.includes(secret))).toHaveLength(1);
  expect(sent.filter((body) => body.includes(rotated))).toHaveLength(1);
  const received = await Promise.all(bodies);
  expect(received.length).toBeGreaterThan(10);
  expect(received.filter((body) => body.includes(secret) || body.includes(rotated))).toEqual([]);
});
