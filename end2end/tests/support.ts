import { expect, type Locator, type Page } from '@playwright/test';

/** The first admin's password on the Switchboards that start with one (playwright.config.ts). */
export const ADMIN_PASSWORD = 'correct horse battery staple';

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

/**
 * A page's title: `<page> · Switchboard`, after the count of waiting calls when the inbox has any
 * ("(1) Agents · Switchboard"), which tests running alongside may leave.
 */
export function pageTitle(page: string): RegExp {
  const escaped = page.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^(\\(\\d+\\) )?${escaped} · Switchboard$`);
}

/** A name no other test (or earlier run against the same server) uses: tests run in parallel. */
export function unique(prefix: string): string {
  return `${prefix} ${Date.now()}-${Math.random().toString(36).slice(2, 7)}`;
}

/** The value (`<dd>`) of the fact `term` in a page's facts list (`<dl class="facts">`). */
export function fact(page: Page, term: string): Locator {
  return page
    .getByRole('term')
    .filter({ hasText: new RegExp(`^${term.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) })
    .locator('xpath=following-sibling::dd[1]');
}

/** The last segment of the page's path: the id of the object a detail page shows. */
export function idFromUrl(page: Page): string {
  return new URL(page.url()).pathname.split('/').pop()!;
}

/** Requests whose path matches `path`, however they are made (`METHOD url`, in order). */
export function recordRequests(page: Page, path: RegExp): string[] {
  const requests: string[] = [];
  page.on('request', (request) => {
    if (path.test(new URL(request.url()).pathname)) requests.push(`${request.method()} ${request.url()}`);
  });
  return requests;
}

/** Opens the new-agent form, hydrated. */
export async function openNewAgentForm(page: Page): Promise<void> {
  await page.goto('/agents/new');
  await expect(page.getByRole('heading', { level: 1, name: 'New agent' })).toBeVisible();
  await waitForHydration(page);
}
