import { type Page } from '@playwright/test';

/**
 * Collects console errors (with the URL they concern) and uncaught exceptions of `page`; assert the
 * list is empty at the end.
 */
export function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`${message.text()} [${message.location().url}]`);
  });
  page.on('pageerror', (error) => errors.push(error.message));
  return errors;
}

/** Waits until the WASM app has hydrated the server-rendered page. */
export async function waitForHydration(page: Page): Promise<void> {
  await page.locator('body[data-hydrated="true"]').waitFor();
}
