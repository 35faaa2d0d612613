import { expect, test, type Page } from '@playwright/test';
import { unique, waitForHydration } from './support';

// These pages come from the second Switchboard of playwright.config.ts: Anthropic mode, against
// fake-upstream.mjs, which fails the way each test asks. The mode is global to the fake, so the
// tests of this file run one after the other.
const port = Number(process.env.E2E_PORT ?? 3917);
const failing = `http://127.0.0.1:${port + 1}`;
const fakeUpstream = `http://127.0.0.1:${port + 2}`;

test.describe.configure({ mode: 'serial' });
test.use({ baseURL: failing });

async function upstreamFails(page: Page, mode: '401' | '429' | '529' | 'down'): Promise<void> {
  const response = await page.request.post(`${fakeUpstream}/__fail/${mode}`);
  expect(response.status()).toBe(204);
}

test('a rejected key is explained on the page, and the key is not shown', async ({ page }) => {
  await upstreamFails(page, '401');
  const response = await page.goto('/agents');
  expect(response?.status()).toBe(502);
  const failure = page.getByTestId('failure');
  await expect(failure.getByRole('heading')).toHaveText("The upstream refused Switchboard's key");
  await expect(failure).toContainText('Check ANTHROPIC_API_KEY');
  expect(await page.content()).not.toContain('switchboard-e2e-key');
});

test('a rate limit says when to try again and gives the request id', async ({ page }) => {
  await upstreamFails(page, '429');
  const response = await page.goto('/environments');
  expect(response?.status()).toBe(429);
  const failure = page.getByTestId('failure');
  await expect(failure.getByRole('heading')).toHaveText('Rate limited');
  await expect(failure).toContainText('Try again in 30 s');
  await expect(failure).toContainText('req_e2e_fake');
});

test('an overloaded upstream (529) is reported as not available', async ({ page }) => {
  await upstreamFails(page, '529');
  const response = await page.goto('/sessions');
  expect(response?.status()).toBe(502);
  const failure = page.getByTestId('failure');
  await expect(failure.getByRole('heading')).toHaveText('The upstream API is not available');
  await expect(failure).toContainText('overloaded (529)');
});

test('an upstream that drops the connection is reported as unreachable', async ({ page }) => {
  await upstreamFails(page, 'down');
  const response = await page.goto('/vaults');
  expect(response?.status()).toBe(502);
  const failure = page.getByTestId('failure');
  await expect(failure.getByRole('heading')).toHaveText('The upstream API is not available');
  await expect(failure).toContainText('could not be reached');
});

test('a save the upstream refuses is explained in place and the form keeps what was typed', async ({ page }) => {
  await upstreamFails(page, '529');
  await page.goto('/agents/new');
  await waitForHydration(page);
  const name = unique('Kept');
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Model', { exact: true }).fill('scripted');
  await page.getByLabel('System prompt').fill('Be brief.');
  await page.getByRole('button', { name: 'Create agent' }).click();
  await expect(page.getByRole('alert')).toContainText('overloaded (529)');
  await expect(page).toHaveURL(/\/agents\/new$/);
  await expect(page.getByLabel('Name', { exact: true })).toHaveValue(name);
  await expect(page.getByLabel('System prompt')).toHaveValue('Be brief.');
});
