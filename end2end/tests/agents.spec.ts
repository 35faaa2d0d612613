import { expect, test, type Page } from '@playwright/test';
import {
  collectErrors,
  fact,
  idFromUrl,
  openNewAgentForm,
  pageTitle,
  recordRequests,
  unique,
  waitForHydration,
} from './support';

const script = JSON.stringify({ turns: [[{ text: 'hi' }]] });

/** Creates a scripted agent through the form and returns its id, on its detail page. */
async function createAgent(page: Page, name: string, description = ''): Promise<string> {
  await openNewAgentForm(page);
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Model', { exact: true }).selectOption('scripted');
  if (description) await page.getByLabel('Description', { exact: true }).fill(description);
  await page.getByLabel('System prompt').fill(script);
  await page.getByRole('button', { name: 'Create agent' }).click();
  await expect(page).toHaveURL(/\/agents\/agent_[^/?]+$/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(`${name} v1`);
  return idFromUrl(page);
}

test('an agent built in the form is the definition the raw JSON shows, and its second version diffs against the first', async ({
  page,
}) => {
  const errors = collectErrors(page);
  const name = unique('Reviewer');
  const schema = { type: 'object', properties: { order: { type: 'string' } }, required: ['order'] };

  await openNewAgentForm(page);
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Model', { exact: true }).selectOption('scripted');
  await page.getByLabel('Description', { exact: true }).fill('First description');
  await page.getByLabel('System prompt').fill(script);
  await page.getByRole('checkbox', { name: 'Enable web_search' }).uncheck();
  await page.getByRole('button', { name: 'Add a custom tool' }).click();
  const tool = page.getByTestId('custom-tool');
  await tool.getByLabel('Tool name').fill('lookup_order');
  await tool.getByLabel('When to use it').fill('Looks up an order by its number.');
  await tool.getByLabel('Input schema (JSON Schema of an object)').fill(JSON.stringify(schema));
  await page.getByRole('button', { name: 'Add metadata' }).click();
  await page.getByLabel('Key', { exact: true }).fill('team');
  await page.getByLabel('Value', { exact: true }).fill('quality');

  // The raw tab and the request preview show exactly what the form means.
  const expected = {
    name,
    description: 'First description',
    model: 'scripted',
    system: script,
    tools: [
      {
        type: 'agent_toolset_20260401',
        default_config: { enabled: true, permission_policy: { type: 'always_allow' } },
        configs: [{ name: 'web_search', enabled: false }],
      },
      { type: 'custom', name: 'lookup_order', description: 'Looks up an order by its number.', input_schema: schema },
    ],
    mcp_servers: [],
    skills: [],
    metadata: { team: 'quality' },
  };
  await page.getByRole('tab', { name: 'Raw JSON' }).click();
  await expect(page.getByRole('tab', { name: 'Raw JSON' })).toHaveAttribute('aria-selected', 'true');
  const raw = page.getByLabel('The agent definition as JSON (the request body)');
  expect(JSON.parse(await raw.inputValue())).toEqual(expected);
  await page.getByText('The exact request', { exact: true }).click();
  const preview = page.getByTestId('request-preview');
  await expect(preview).toBeVisible();
  const [method, ...body] = (await preview.innerText()).split('\n');
  expect(method).toBe('POST /v1/agents');
  expect(JSON.parse(body.join('\n'))).toEqual(expected);

  await page.getByRole('button', { name: 'Create agent' }).click();
  await expect(page).toHaveURL(/\/agents\/agent_[^/?]+$/);
  const id = idFromUrl(page);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(`${name} v1`);
  await expect(page).toHaveTitle(pageTitle(name));
  await expect(fact(page, 'Model')).toHaveText('scripted');
  await expect(fact(page, 'Tools')).toHaveText('7 built-in, 1 custom');

  // Version 2: the edit form starts from version 1, everything round-tripped.
  await waitForHydration(page);
  await page.getByRole('link', { name: 'Edit', exact: true }).click();
  await expect(page).toHaveURL(`/agents/${id}/edit`);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(`Edit ${name}`);
  await expect(page.getByText('Saving creates version 2. Version 1 stays as it is.')).toBeVisible();
  await expect(page.getByLabel('Name', { exact: true })).toHaveValue(name);
  await expect(page.getByRole('checkbox', { name: 'Enable web_search' })).not.toBeChecked();
  await expect(page.getByRole('checkbox', { name: 'Enable bash' })).toBeChecked();
  await expect(page.getByTestId('custom-tool').getByLabel('Tool name')).toHaveValue('lookup_order');
  await expect(page.getByLabel('Key', { exact: true })).toHaveValue('team');
  await page.getByLabel('Description', { exact: true }).fill('Second description');
  await page.getByRole('button', { name: 'Save as a new version' }).click();

  await expect(page).toHaveURL(`/agents/${id}`);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(`${name} v2`);
  await expect(page.getByText('Second description', { exact: true })).toBeVisible();
  const versions = page.getByRole('region', { name: 'Versions' });
  await expect(versions.getByRole('link', { name: 'Version 2' })).toBeVisible();
  await expect(versions.getByRole('link', { name: 'Version 1' })).toBeVisible();

  // Compare version 1 with version 2 (the form's defaults).
  await expect(page.getByLabel('Compare version')).toHaveValue('1');
  await expect(page.getByLabel('with version')).toHaveValue('2');
  await page.getByRole('button', { name: 'Show the differences' }).click();
  await expect(page).toHaveURL(`/agents/${id}?from=1&to=2`);
  const diff = page.getByTestId('version-diff');
  await expect(diff.getByRole('heading', { name: 'Differences from version 1 to version 2' })).toBeVisible();
  await expect(diff.getByText('"description": "Second description"')).toHaveText(/^\+\s+"description": "Second description",?\s*$/);
  await expect(diff.getByText('"description": "First description"')).toHaveText(/^-\s+"description": "First description",?\s*$/);
  // The name did not change: it is not an added line.
  await expect(diff.getByText(/^\+.*"name"/)).toHaveCount(0);
  expect(errors).toEqual([]);
});

test('invalid raw JSON is named by line and column, and the form keeps what was typed', async ({ page }) => {
  const errors = collectErrors(page);
  const name = unique('Half typed');
  const saves = recordRequests(page, /\/api\/agents\/(create|update)/);
  await openNewAgentForm(page);
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Model', { exact: true }).selectOption('scripted');
  await page.getByLabel('Description', { exact: true }).fill('Kept across tabs');

  await page.getByRole('tab', { name: 'Raw JSON' }).click();
  const raw = page.getByLabel('The agent definition as JSON (the request body)');
  await raw.fill('{\n  "name": "Other",\n  "model": \n');
  await expect(page.getByRole('alert')).toHaveText(
    /^Not valid JSON: line \d+, column \d+\. The form keeps its last valid state\.$/,
  );
  // Saving from a broken raw tab is refused in place.
  await page.getByRole('button', { name: 'Create agent' }).click();
  await expect(page.getByText('The raw JSON has a problem (shown above it); fix it before saving.')).toBeVisible();

  await page.getByRole('tab', { name: 'Form' }).click();
  await expect(page.getByLabel('Name', { exact: true })).toHaveValue(name);
  await expect(page.getByLabel('Model', { exact: true })).toHaveValue('scripted');
  await expect(page.getByLabel('Description', { exact: true })).toHaveValue('Kept across tabs');
  await expect(page).toHaveURL('/agents/new');
  expect(saves).toEqual([]);
  expect(errors).toEqual([]);
});

test('a custom tool whose schema is not an object schema is refused in place and nothing is sent', async ({ page }) => {
  const errors = collectErrors(page);
  const name = unique('Bad schema');
  const saves = recordRequests(page, /\/api\/agents\/(create|update)/);
  await openNewAgentForm(page);
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Model', { exact: true }).selectOption('scripted');
  await page.getByRole('button', { name: 'Add a custom tool' }).click();
  const tool = page.getByTestId('custom-tool');
  await tool.getByLabel('Tool name').fill('lookup');
  await tool.getByLabel('When to use it').fill('Looks things up.');
  const schema = tool.getByLabel('Input schema (JSON Schema of an object)');
  await schema.fill('{"type":"string"}');
  await expect(tool.getByRole('alert')).toHaveText(
    'Input schema: the input schema must describe an object ("type": "object"), not "string".',
  );
  await expect(schema).toHaveAttribute('aria-invalid', 'true');

  await page.getByRole('button', { name: 'Create agent' }).click();
  await expect(
    page.getByRole('alert').filter({
      hasText: 'Custom tool "lookup": the input schema must describe an object ("type": "object"), not "string".',
    }),
  ).toBeVisible();
  await expect(page).toHaveURL('/agents/new');
  await expect(page.getByLabel('Name', { exact: true })).toHaveValue(name);
  await expect(schema).toHaveValue('{"type":"string"}');
  expect(saves).toEqual([]);
  expect(errors).toEqual([]);
});

test('saving an agent edited from a stale version names the newer version and keeps the typed changes', async ({
  page,
}) => {
  const errors = collectErrors(page);
  const name = unique('Shared');
  const id = await createAgent(page, name, 'Original');

  const first = await page.context().newPage();
  const second = await page.context().newPage();
  const firstErrors = collectErrors(first);
  const secondErrors = collectErrors(second);
  for (const tab of [first, second]) {
    await tab.goto(`/agents/${id}/edit`);
    await expect(tab.getByRole('heading', { level: 1 })).toHaveText(`Edit ${name}`);
    await waitForHydration(tab);
  }

  await first.getByLabel('Description', { exact: true }).fill('Edited in the first tab');
  await first.getByRole('button', { name: 'Save as a new version' }).click();
  await expect(first).toHaveURL(`/agents/${id}`);
  await expect(first.getByRole('heading', { level: 1 })).toHaveText(`${name} v2`);

  await second.getByLabel('Description', { exact: true }).fill('Edited in the second tab');
  await second.getByRole('button', { name: 'Save as a new version' }).click();
  await expect(second.getByRole('alert')).toContainText(
    'Someone saved version 2 of this agent after you opened version 1. Your changes are still in the form',
  );
  await expect(second).toHaveURL(`/agents/${id}/edit`);
  await expect(second.getByLabel('Description', { exact: true })).toHaveValue('Edited in the second tab');
  await expect(second.getByRole('link', { name: 'See what changed between version 1 and version 2' })).toHaveAttribute(
    'href',
    `/agents/${id}?from=1&to=2`,
  );

  // Having seen the conflict, the user saves over version 2 on purpose.
  await second.getByRole('button', { name: 'Save my form over version 2' }).click();
  await second.getByRole('button', { name: 'Save as a new version' }).click();
  await expect(second).toHaveURL(`/agents/${id}`);
  await expect(second.getByRole('heading', { level: 1 })).toHaveText(`${name} v3`);
  await expect(second.getByText('Edited in the second tab', { exact: true })).toBeVisible();

  expect(errors).toEqual([]);
  expect(firstErrors).toEqual([]);
  // Chromium reports the refused save (409); nothing else may fail.
  expect(secondErrors).toHaveLength(1);
  expect(secondErrors[0]).toMatch(/status of 409 \(Conflict\) \[http:\/\/[^\]]+\/api\/agents\/update[^\]]*\]$/);
});

test('an archived agent is marked, read-only, and listed only with "Show archived"', async ({ page }) => {
  const errors = collectErrors(page);
  const name = unique('Retired');
  const id = await createAgent(page, name);
  await waitForHydration(page);

  await page.getByRole('button', { name: 'Archive', exact: true }).click();
  const confirm = page.getByRole('group', { name: 'Confirm' });
  await expect(confirm).toContainText('The agent becomes read-only and cannot start new sessions.');
  await confirm.getByRole('button', { name: 'Yes, archive' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(`${name} v1 archived`);
  await expect(page.getByRole('link', { name: 'Edit', exact: true })).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Archive', exact: true })).toHaveCount(0);

  await page.goto('/agents');
  const list = page.getByTestId('agent-list');
  await expect(list.getByRole('link', { name: 'Demo: scripted agent' })).toBeVisible();
  await expect(list.getByRole('link', { name })).toHaveCount(0);
  await waitForHydration(page);
  await page.getByRole('link', { name: 'Show archived' }).click();
  await expect(page).toHaveURL('/agents?include_archived=true');
  const row = page.getByRole('row').filter({ has: page.getByRole('link', { name }) });
  await expect(row).toContainText('archived');
  await expect(row.getByRole('link', { name })).toHaveAttribute('href', `/agents/${id}`);
  await expect(page.getByRole('link', { name: 'Hide archived' })).toBeVisible();
  await expect(row.getByTestId('created-by')).toHaveText('admin');

  // "Mine" keeps "Show archived", and the other way round; the demo agent is nobody's.
  await page.getByRole('link', { name: 'Mine', exact: true }).click();
  await expect(page).toHaveURL('/agents?include_archived=true&mine=true');
  await expect(page.getByRole('link', { name: 'Everyone\'s' })).toHaveAttribute('href', '/agents?include_archived=true');
  await expect(page.getByRole('row').filter({ has: page.getByRole('link', { name }) })).toContainText('archived');
  await expect(list.getByRole('link', { name: 'Demo: scripted agent' })).toHaveCount(0);
  await page.getByRole('link', { name: 'Hide archived' }).click();
  await expect(page).toHaveURL('/agents?mine=true');
  await expect(list.getByRole('link', { name })).toHaveCount(0);
  expect(errors).toEqual([]);
});

test('the connection check reports every check as ok', async ({ page }) => {
  const errors = collectErrors(page);
  await page.goto('/settings');
  await expect(page.getByRole('heading', { level: 1, name: 'Settings' })).toBeVisible();
  await expect(page.getByTestId('upstream-mode')).toHaveText('Embedded engine');
  await waitForHydration(page);
  await page.getByRole('button', { name: 'Run the connection check' }).click();

  const table = page.getByTestId('connection-check');
  await expect(table).toBeVisible();
  const rows = table.locator('tbody').getByRole('row');
  for (const check of ['API key accepted', 'List agents', 'List environments', 'List sessions', 'List files', 'List vaults']) {
    await expect(rows.filter({ hasText: check })).toHaveCount(1);
  }
  const count = await rows.count();
  for (let i = 0; i < count; i++) {
    await expect(rows.nth(i).getByRole('cell').nth(1)).toHaveText('ok');
  }
  expect(errors).toEqual([]);
});

