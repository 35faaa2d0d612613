import { type APIRequestContext, type APIResponse, expect, type Locator, type Page } from '@playwright/test';

/** The first admin's password on the Switchboards that start with one (playwright.config.ts). */
export const ADMIN_PASSWORD = 'correct horse battery staple';

/** A browser context's storage with no sign-in: the config signs every context in as the admin,
 *  `browser.newContext()` included, unless it is given this. */
export const signedOut = { cookies: [], origins: [] };

/**
 * Signs `request` in as the first admin of the Switchboard at `origin` (a spec against another
 * Switchboard than the main one: the main one's cookie means nothing there). Answers the login's
 * response, a 303.
 */
export async function signInAsAdmin(request: APIRequestContext, origin: string): Promise<APIResponse> {
  const response = await request.post(`${origin}/auth/login`, {
    form: { username: 'admin', password: ADMIN_PASSWORD, next: '/' },
    maxRedirects: 0,
  });
  expect(response.status()).toBe(303);
  return response;
}

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

/**
 * A session of a new scripted agent that asks before every `bash` call (`always_ask`) and, told
 * "Go.", asks to run `commands` at once, then says "Done."; started in the demo environment.
 * Answers the session's id.
 */
export async function sessionThatAsks(request: APIRequestContext, commands: string[], title: string): Promise<string> {
  const definition = JSON.stringify({
    name: unique('Asks first'),
    model: 'scripted',
    system: JSON.stringify({ turns: [[...commands.map((command) => ({ tool: 'bash', input: { command } })), { text: 'Done.' }]] }),
    tools: [{ type: 'agent_toolset_20260401', default_config: { permission_policy: { type: 'always_ask' } } }],
  });
  const agent = await request.post('/api/agents/create', { form: { definition } });
  expect(agent.ok(), await agent.text()).toBeTruthy();
  const { environments } = await (await request.get('/api/sessions/choices')).json();
  const environment = environments.find((e: { label: string }) => e.label.includes('Demo environment')).id;
  const session = await request.post('/api/sessions/create', {
    form: {
      'form[agent_id]': (await agent.json()).id,
      'form[environment_id]': environment,
      'form[title]': unique(title),
      'form[initial_message]': 'Go.',
    },
  });
  expect(session.ok(), await session.text()).toBeTruthy();
  return (await session.json()).row.id;
}

/** The agents `createAgent` made that `archiveMadeAgents` has not archived yet. */
const made: string[] = [];

/**
 * A new agent of `definition`. Specs that make agents archive them after each test
 * (`test.afterEach(({ request }) => archiveMadeAgents(request))`): other specs find the demo agent
 * on the agents list's first page.
 */
export async function createAgent(request: APIRequestContext, definition: string): Promise<string> {
  const agent = await request.post('/api/agents/create', { form: { definition } });
  expect(agent.ok(), await agent.text()).toBeTruthy();
  const { id } = await agent.json();
  made.push(id);
  return id;
}

/** Archives the agents `createAgent` made. */
export async function archiveMadeAgents(request: APIRequestContext): Promise<void> {
  for (const id of made.splice(0)) {
    const archived = await request.post('/api/agents/archive', { form: { id } });
    expect(archived.ok(), await archived.text()).toBeTruthy();
  }
}

/**
 * A finished session of a new scripted agent (its other fields in `agent`) that plays `turn`,
 * told `message`, under `title`. Answers its id.
 */
export async function finishedSession(
  request: APIRequestContext,
  turn: unknown[],
  { agent = {}, title = unique('Long'), message = 'go' }: { agent?: object; title?: string; message?: string } = {},
): Promise<string> {
  const definition = JSON.stringify({
    name: unique('Presented agent'),
    model: 'scripted',
    system: JSON.stringify({ stream_delay_ms: 0, turns: [turn] }),
    ...agent,
  });
  const agentId = await createAgent(request, definition);
  const { environments } = await (await request.get('/api/sessions/choices')).json();
  const created = await request.post('/api/sessions/create', {
    form: {
      'form[agent_id]': agentId,
      'form[environment_id]': environments.find((e: { label: string }) => e.label.includes('Demo environment')).id,
      'form[title]': title,
      'form[initial_message]': message,
    },
  });
  expect(created.ok(), await created.text()).toBeTruthy();
  const id = (await created.json()).row.id;
  // Idle with tokens counted: the turn ran and ended (a new session is idle before it starts).
  await expect
    .poll(
      async () => {
        const { row } = await (await request.get(`/api/sessions/get?id=${id}`)).json();
        return row.status === 'idle' && row.tokens > 0;
      },
      { timeout: 60_000 },
    )
    .toBe(true);
  return id;
}
