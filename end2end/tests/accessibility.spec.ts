import { AxeBuilder } from '@axe-core/playwright';
import { type APIRequestContext, type Browser, expect, type Page, test } from '@playwright/test';
import { archiveMadeAgents, finishedSession, sessionThatAsks, signedOut, unique, waitForHydration } from './support';

// Every page of the console scanned with axe-core, at a laptop's width and at a phone's: a serious
// or critical finding fails the test, named by its rule, its impact and the elements it was found
// on. Minor and moderate findings (a heading level skipped, content outside a landmark) are left to
// review. Each page is scanned in the state people meet it in: its data loaded, hydrated, its
// streams connected, with a waiting call and a finished session among the data, because colours
// and controls differ between these states.

// The agents these tests make are archived after each: other specs find the demo agent on the
// agents list's first page.
test.afterEach(({ request }) => archiveMadeAgents(request));

/** An element axe found a rule broken on. */
type Found = Awaited<ReturnType<AxeBuilder['analyze']>>['violations'][number]['nodes'][number];

/** The widths every page is scanned at: a laptop's, and the phone of tests/phone.spec.ts. */
const SCREENS = [
  { name: 'a desktop', options: { viewport: { width: 1280, height: 800 } } },
  { name: 'a phone', options: { viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true } },
];

/** Where the scanned pages find their data: one of each kind of object a page shows. */
interface Made {
  agent: string;
  finished: string;
  waiting: string;
  waitingAgent: string;
  environment: string;
  selfHosted: string;
  imported: string;
  sharePath: string;
  deployment: string;
  store: string;
  memory: string;
  skill: string;
  vault: string;
  fileName: string;
}

/** A page to scan: where it is, who opens it, and what shows that it is ready. */
interface Scanned {
  name: string;
  path: (made: Made) => string;
  /** The login, setup and share pages are for people who are not signed in. */
  signedOut?: boolean;
  status?: number;
  phoneOnly?: boolean;
  /** Waits for (or brings about) the state the page is scanned in, once it has hydrated. */
  ready?: (page: Page, made: Made) => Promise<void>;
}

/** The session's live view has connected its stream (its link says "● Live"). */
async function liveLink(page: Page): Promise<void> {
  await expect(page.getByTestId('live-link')).toContainText('Live', { timeout: 20_000 });
}

// Every route of app/src/lib.rs, in its order, with the states worth a scan of their own.
const PAGES: Scanned[] = [
  { name: 'Overview', path: () => '/', ready: (page) => expect(page.getByTestId('board-waiting')).toBeVisible() },
  {
    // The phone's navigation folds into a "Menu" button; its open menu is scanned too.
    name: 'Overview, the menu open',
    path: () => '/',
    phoneOnly: true,
    ready: async (page) => {
      const nav = page.getByRole('navigation', { name: 'Console' });
      await nav.getByTestId('menu-toggle').tap();
      await expect(nav.getByRole('link', { name: 'Agents' })).toBeVisible();
    },
  },
  { name: 'Agents', path: () => '/agents' },
  { name: 'New agent', path: () => '/agents/new' },
  { name: 'Agent', path: (m) => `/agents/${m.agent}` },
  { name: 'Edit agent', path: (m) => `/agents/${m.agent}/edit` },
  { name: 'Environments', path: () => '/environments' },
  { name: 'New environment', path: () => '/environments/new' },
  { name: 'Environment', path: (m) => `/environments/${m.environment}` },
  {
    // A self-hosted one shows its work queue and, to an admin, its keys.
    name: 'Environment, self-hosted, with a key',
    path: (m) => `/environments/${m.selfHosted}`,
    ready: (page) => expect(page.getByTestId('environment-keys')).toBeVisible({ timeout: 20_000 }),
  },
  { name: 'Sessions', path: () => '/sessions' },
  { name: 'New session', path: () => '/sessions/new' },
  {
    name: 'Session, finished',
    path: (m) => `/sessions/${m.finished}`,
    ready: async (page) => {
      await liveLink(page);
      await expect(page.getByTestId('timeline')).toContainText('Done.');
    },
  },
  {
    name: 'Session, waiting for approval',
    path: (m) => `/sessions/${m.waiting}`,
    ready: async (page) => {
      await liveLink(page);
      await expect(page.getByTestId('approval-card')).toHaveCount(1, { timeout: 20_000 });
    },
  },
  {
    name: 'Session, presented',
    path: (m) => `/sessions/${m.finished}/present`,
    ready: (page) => expect(page.getByTestId('presenter')).toContainText('Done.'),
  },
  { name: 'Imported sessions', path: () => '/imports' },
  {
    name: 'Imported session',
    path: (m) => `/imports/${m.imported}`,
    ready: (page) => expect(page.getByTestId('live')).toContainText('Done.'),
  },
  {
    name: 'Imported session, presented',
    path: (m) => `/imports/${m.imported}/present`,
    ready: (page) => expect(page.getByTestId('presenter')).toContainText('Done.'),
  },
  { name: 'Deployments', path: () => '/deployments' },
  { name: 'New deployment', path: () => '/deployments/new' },
  { name: 'Deployment', path: (m) => `/deployments/${m.deployment}` },
  { name: 'Memory stores', path: () => '/memory' },
  {
    name: 'Memory store, a memory open',
    path: (m) => `/memory/${m.store}?memory=${m.memory}`,
    ready: (page) => expect(page.getByTestId('memory-versions').getByTestId('memory-version')).toHaveCount(1),
  },
  { name: 'Skills', path: () => '/skills' },
  { name: 'Skill', path: (m) => `/skills/${m.skill}`, ready: (page) => expect(page.getByTestId('skill-versions')).toBeVisible() },
  {
    name: 'Files',
    path: () => '/files',
    ready: (page, m) => expect(page.getByTestId('file-list').getByRole('row').filter({ hasText: m.fileName })).toHaveCount(1),
  },
  { name: 'Vaults', path: () => '/vaults' },
  { name: 'Vault', path: (m) => `/vaults/${m.vault}`, ready: (page) => expect(page.getByTestId('credential-form')).toBeVisible() },
  {
    // With the connection check's table, which only its button brings.
    name: 'Settings',
    path: () => '/settings',
    ready: async (page) => {
      await expect(page.getByTestId('workspace-list')).toBeVisible();
      await page.getByRole('button', { name: 'Run the connection check' }).click();
      await expect(page.getByTestId('connection-check')).toBeVisible({ timeout: 20_000 });
    },
  },
  {
    name: 'Inbox',
    path: () => '/inbox',
    ready: (page, m) =>
      expect(page.locator(`[data-testid="inbox-session"][data-session="${m.waiting}"]`).getByTestId('approval-card')).toHaveCount(1, {
        timeout: 20_000,
      }),
  },
  { name: 'Rules', path: () => '/rules' },
  { name: 'Shared links', path: () => '/shares', ready: (page) => expect(page.getByTestId('share-row').first()).toBeVisible() },
  { name: 'Audit', path: () => '/audit', ready: (page) => expect(page.getByTestId('audit-log')).toBeVisible() },
  { name: 'Users', path: () => '/users' },
  { name: 'Your account', path: () => '/account' },
  {
    name: 'Slack link, refused',
    path: () => '/slack/link?t=forged.link',
    ready: (page) => expect(page.getByTestId('slack-link-refused')).toBeVisible(),
  },
  { name: 'Page not found', path: () => '/no/such/page', status: 404 },
  { name: 'Sign in', path: () => '/login', signedOut: true },
  { name: 'Setup', path: () => '/setup', signedOut: true },
  {
    name: 'Share link',
    path: (m) => m.sharePath,
    signedOut: true,
    ready: (page) => expect(page.getByTestId('presenter')).toContainText('Done.'),
  },
];

for (const screen of SCREENS) {
  test.describe(`on ${screen.name}`, () => {
    test.use(screen.options);

    test(`every page has no serious or critical accessibility findings on ${screen.name}`, async ({
      page,
      request,
      browser,
    }) => {
      // Some forty pages, each loaded, hydrated and scanned, after a turn of a scripted session;
      // with the other worker's servers and Chromium on CI's 2 cores.
      test.setTimeout(300_000);
      const made = await makeOneOfEach(request);
      const audience = await signedOutPage(browser, screen.options);
      for (const scanned of PAGES) {
        if (scanned.phoneOnly && !screen.options.isMobile) continue;
        await test.step(scanned.name, async () => {
          const on = scanned.signedOut ? audience : page;
          const path = scanned.path(made);
          const response = await on.goto(path);
          expect(response?.status(), `${path} answered`).toBe(scanned.status ?? 200);
          await waitForHydration(on);
          await expect(on.getByRole('heading', { level: 1 }).first()).toBeVisible();
          // Nothing still loading (`Loading` fallbacks are aria-busy), and no failure in its place.
          await expect(on.locator('[aria-busy="true"]')).toHaveCount(0);
          await expect(on.getByTestId('failure')).toHaveCount(0);
          await scanned.ready?.(on, made);
          // Soft: one page's findings do not hide the next page's.
          expect.soft(await seriousFindings(on), `${scanned.name} (${path}) on ${screen.name}`).toEqual([]);
        });
      }
      await audience.context().close();

      // The waiting call is allowed, so that it does not wait in other specs' inboxes; its agent is
      // archived as finishedSession's are, and the deployment, whose agent that archives, with them.
      await page.goto(`/sessions/${made.waiting}`);
      await waitForHydration(page);
      await page.getByTestId('approval-card').getByTestId('allow').click();
      await expect(page.getByTestId('approval-card')).toHaveCount(0, { timeout: 20_000 });
      for (const [endpoint, id] of [
        ['/api/agents/archive', made.waitingAgent],
        ['/api/deployments/archive', made.deployment],
        ['/api/environments/archive', made.selfHosted],
      ]) {
        const archived = await request.post(endpoint, { form: { id } });
        expect(archived.ok(), await archived.text()).toBeTruthy();
      }
    });
  });
}

/**
 * The findings of impact serious or critical on `page`, one line per element: the rule, its
 * impact, the element's selector, and what axe found there (for colour contrast, the two colours
 * and their ratio).
 */
async function seriousFindings(page: Page): Promise<string[]> {
  const { violations } = await new AxeBuilder({ page }).analyze();
  return violations
    .filter((rule) => rule.impact === 'serious' || rule.impact === 'critical')
    .flatMap((rule) =>
      rule.nodes.map((node) => `${rule.id} (${rule.impact}) at ${selector(node)}: ${finding(node) ?? rule.help}`),
    );
}

/** The element's selector; one inside a shadow root or a frame as its path of selectors. */
function selector(node: Found): string {
  return node.target.map((part) => (Array.isArray(part) ? part.join(' >>> ') : part)).join(' >>> ');
}

/** What the first failed check says of the element. */
function finding(node: Found): string | undefined {
  return [...node.any, ...node.all, ...node.none].find((check) => check.message)?.message;
}

/** A page of a browser that is not signed in, on the same screen. */
async function signedOutPage(browser: Browser, options: (typeof SCREENS)[number]['options']): Promise<Page> {
  const context = await browser.newContext({ ...options, storageState: signedOut });
  return context.newPage();
}

/**
 * One of each object the pages show, made through the API as the other specs make them: a finished
 * session of a new agent (with a tool call, and imported back, and shared), a session whose call
 * waits, a deployment, a memory store with a memory, a skill, a vault and a file.
 */
async function makeOneOfEach(request: APIRequestContext): Promise<Made> {
  const finished = await finishedSession(
    request,
    [{ text: 'Looking.' }, { tool: 'bash', input: { command: 'echo scanned' } }, { text: 'Done.' }],
    {
      title: unique('Scanned'),
      agent: { tools: [{ type: 'agent_toolset_20260401', default_config: { permission_policy: { type: 'always_allow' } } }] },
    },
  );
  const waiting = await sessionThatAsks(request, ['echo waiting for a scan'], 'Scanned while waiting');
  const agentOf = async (session: string) => (await (await request.get(`/api/sessions/get?id=${session}`)).json()).row.agent_id;
  const [agent, waitingAgent] = [await agentOf(finished), await agentOf(waiting)];
  const { environments } = await (await request.get('/api/sessions/choices')).json();
  const environment = environments.find((e: { label: string }) => e.label.includes('Demo environment')).id;
  const json = { Accept: 'application/json' };

  const selfHosted = await request.post('/api/environments/save', {
    form: { id: '', 'form[name]': unique('Scanned fleet'), 'form[kind]': 'self_hosted' },
  });
  expect(selfHosted.ok(), await selfHosted.text()).toBeTruthy();
  const selfHostedId = (await selfHosted.json()).row.id;
  const key = await request.post('/api/work/key', { form: { environment_id: selfHostedId } });
  expect(key.ok(), await key.text()).toBeTruthy();

  const exported = await request.get(`/api/sessions/${finished}/export?format=json`);
  expect(exported.ok(), await exported.text()).toBeTruthy();
  const imported = await request.post('/api/imports', {
    headers: json,
    multipart: { file: { name: `${finished}.json`, mimeType: 'application/json', buffer: await exported.body() } },
  });
  expect(imported.status(), await imported.text()).toBe(201);

  const share = await request.post('/api/shares/create', {
    form: { 'form[session_id]': finished, 'form[hours]': '1', 'form[mode]': 'live', 'form[mask_secrets]': 'on' },
  });
  expect(share.ok(), await share.text()).toBeTruthy();

  const deployment = await request.post('/api/deployments/save', {
    form: {
      'form[name]': unique('Scanned deployment'),
      'form[agent_id]': agent,
      'form[environment_id]': environment,
      'form[initial_message]': 'Summarise yesterday, please.',
    },
  });
  expect(deployment.ok(), await deployment.text()).toBeTruthy();

  const store = await request.post('/api/memory/save', { form: { id: '', name: unique('Scanned notes'), description: '' } });
  expect(store.ok(), await store.text()).toBeTruthy();
  const storeId = (await store.json()).id;
  const memory = await request.post('/api/memory/write', {
    form: { store_id: storeId, id: '', path: '/plan.md', content: 'Ship on Monday.', based_on: '' },
  });
  expect(memory.ok(), await memory.text()).toBeTruthy();

  // A skill is a folder holding SKILL.md, each file a `files[]` part named by its path.
  const skillName = unique('scanned-skill').toLowerCase().replace(/[^a-z0-9]+/g, '-');
  const skillMd = `---\nname: ${skillName}\ndescription: Formats the weekly report.\n---\n\nPut the week in a table.\n`;
  const skill = await request.post('/api/skills', {
    headers: json,
    multipart: { 'files[]': { name: `${skillName}/SKILL.md`, mimeType: 'text/markdown', buffer: Buffer.from(skillMd) } },
  });
  expect(skill.status(), await skill.text()).toBe(201);

  const vault = await request.post('/api/vaults/create', { form: { display_name: unique('Scanned vault') } });
  expect(vault.ok(), await vault.text()).toBeTruthy();

  const fileName = `${unique('scanned').replace(/\s+/g, '-')}.txt`;
  const file = await request.post('/api/files', {
    headers: json,
    multipart: { file: { name: fileName, mimeType: 'text/plain', buffer: Buffer.from('scanned\n') } },
  });
  expect(file.status(), await file.text()).toBe(201);

  return {
    agent,
    finished,
    waiting,
    waitingAgent,
    environment,
    selfHosted: selfHostedId,
    imported: (await imported.json()).id,
    sharePath: (await share.json()).path,
    deployment: (await deployment.json()).row.id,
    store: storeId,
    memory: (await memory.json()).Saved.id,
    skill: (await skill.json()).skill_id,
    vault: (await vault.json()).id,
    fileName,
  };
}
