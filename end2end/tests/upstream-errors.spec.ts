import { expect, test, type Page } from '@playwright/test';
import { signInAsAdmin, unique, waitForHydration } from './support';

// These pages come from the second Switchboard of playwright.config.ts: Anthropic mode, against
// fake-upstream.mjs, which fails the way each test asks. The mode is global to the fake, so the
// tests of this file run one after the other.
const port = Number(process.env.E2E_PORT ?? 3917);
const failing = `http://127.0.0.1:${port + 1}`;
const fakeUpstream = `http://127.0.0.1:${port + 2}`;

test.describe.configure({ mode: 'serial' });
test.use({ baseURL: failing });

// The cookie of the main Switchboard means nothing here: sign in to this one.
test.beforeEach(async ({ page }) => {
  const response = await signInAsAdmin(page.request, failing);
  expect(response.headers()['location']).toBe('/');
});

async function upstreamFails(page: Page, mode: '401' | '429' | '529' | 'down'): Promise<void> {
  const response = await page.request.post(`${fakeUpstream}/__fail/${mode}`);
  expect(response.status()).toBe(204);
}

// Each failure of the upstream, on a page that loads from it: the page's status, and the
// failure's heading and advice.
const pageFailures: {
  title: string;
  mode: '401' | '429' | '529' | 'down';
  path: string;
  status: number;
  heading: string;
  says: string[];
}[] = [
  {
    title: 'a rejected key is explained on the page, and the key is not shown',
    mode: '401',
    path: '/agents',
    status: 502,
    heading: "The upstream refused Switchboard's key",
    says: ['Check ANTHROPIC_API_KEY'],
  },
  {
    title: 'a rate limit says when to try again and gives the request id',
    mode: '429',
    path: '/environments',
    status: 429,
    heading: 'Rate limited',
    says: ['Try again in 30 s', 'req_e2e_fake'],
  },
  {
    title: 'an overloaded upstream (529) is reported as not available',
    mode: '529',
    path: '/sessions',
    status: 502,
    heading: 'The upstream API is not available',
    says: ['overloaded (529)'],
  },
  {
    title: 'an upstream that drops the connection is reported as unreachable',
    mode: 'down',
    path: '/vaults',
    status: 502,
    heading: 'The upstream API is not available',
    says: ['could not be reached'],
  },
];

for (const failure of pageFailures) {
  test(failure.title, async ({ page }) => {
    await upstreamFails(page, failure.mode);
    const response = await page.goto(failure.path);
    expect(response?.status()).toBe(failure.status);
    const shown = page.getByTestId('failure');
    await expect(shown.getByRole('heading')).toHaveText(failure.heading);
    for (const text of failure.says) await expect(shown).toContainText(text);
    expect(await page.content()).not.toContain('switchboard-e2e-key');
  });
}

test('a save the upstream refuses is explained in place and the form keeps what was typed', async ({ page }) => {
  await upstreamFails(page, '529');
  await page.goto('/agents/new');
  await waitForHydration(page);
  const name = unique('Kept');
  await page.getByLabel('Name', { exact: true }).fill(name);
  // The models could not be listed: the form says so and takes a typed model id.
  await expect(page.getByText(/The models could not be listed .*; type a model id\./)).toBeVisible();
  await page.getByLabel('Model', { exact: true }).fill('scripted');
  await page.getByLabel('System prompt').fill('Be brief.');
  await page.getByRole('button', { name: 'Create agent' }).click();
  await expect(page.getByRole('alert')).toContainText('overloaded (529)');
  await expect(page).toHaveURL(/\/agents\/new$/);
  await expect(page.getByLabel('Name', { exact: true })).toHaveValue(name);
  await expect(page.getByLabel('System prompt')).toHaveValue('Be brief.');
  // The skill library could not be listed either: the form says so and takes a typed id.
  const skills = page.getByTestId('agent-skills');
  await expect(skills.getByRole('status')).toContainText('type skill ids instead');
  await skills.getByRole('button', { name: 'Add a skill' }).click();
  await expect(skills.getByLabel('Skill id')).toBeVisible();
});
