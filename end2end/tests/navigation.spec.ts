import { expect, test } from '@playwright/test';
import { collectErrors, pageTitle, waitForHydration } from './support';

test('the overview hydrates and the navigation changes pages without reloading', async ({ page }) => {
  const errors = collectErrors(page);
  await page.goto('/');
  await expect(page.getByRole('heading', { level: 1, name: 'Overview' })).toBeVisible();
  await expect(page.getByTestId('upstream-mode')).toHaveText('Embedded engine');
  await waitForHydration(page);

  // A full page load would lose this marker and request a new document; client-side routing does neither.
  await page.evaluate(() => ((window as unknown as Record<string, string>).switchboardMarker = 'kept'));
  const documentLoads: string[] = [];
  page.on('request', (request) => {
    if (request.resourceType() === 'document') documentLoads.push(request.url());
  });

  const nav = page.getByRole('navigation', { name: 'Console' });
  await nav.getByRole('link', { name: 'Agents' }).click();

  await expect(page).toHaveURL(/\/agents$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Agents' })).toBeVisible();
  await expect(page).toHaveTitle(pageTitle('Agents'));
  await expect(nav.getByRole('link', { name: 'Agents' })).toHaveAttribute('aria-current', 'page');
  expect(await page.evaluate(() => (window as unknown as Record<string, string>).switchboardMarker)).toBe('kept');
  expect(documentLoads).toEqual([]);
  expect(errors).toEqual([]);
});

test('an unknown address shows a page-not-found page with a 404 status', async ({ page }) => {
  const errors = collectErrors(page);
  const response = await page.goto('/no/such/page');
  expect(response?.status()).toBe(404);
  await expect(page.getByRole('heading', { level: 1, name: 'Page not found' })).toBeVisible();
  await waitForHydration(page);
  await page.getByRole('link', { name: 'Go to the overview' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Overview' })).toBeVisible();
  // Chromium reports the 404 of the page itself; nothing else may fail.
  expect(errors).toEqual([
    `Failed to load resource: the server responded with a status of 404 (Not Found) [${response?.url()}]`,
  ]);
});

test('the overview and a section page render without JavaScript @no-js', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByTestId('upstream-mode')).toHaveText('Embedded engine');
  await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Sessions' }).click();
  await expect(page).toHaveURL(/\/sessions$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Sessions' })).toBeVisible();
});
