import { expect, test, type Locator, type Page } from '@playwright/test';
import { collectErrors, fact, idFromUrl, pageTitle, recordRequests, unique, waitForHydration } from './support';

/** The upload form (it has a heading but no accessible name of its own). */
function uploadForm(page: Page): Locator {
  return page.locator('form', { has: page.getByRole('heading', { name: 'Upload a file' }) });
}

/** A file name no other test uses. */
function fileName(stem: string, extension: string): string {
  return `${unique(stem).replace(/\s+/g, '-')}.${extension}`;
}

test('a file over the upload limit is refused before anything is sent', async ({ page }) => {
  const errors = collectErrors(page);
  await page.goto('/files');
  await expect(page.getByRole('heading', { level: 1, name: 'Files' })).toBeVisible();
  await expect(uploadForm(page)).toContainText('Up to 1 MiB per file.');
  await waitForHydration(page);

  const uploads = recordRequests(page, /^\/api\/files$/);
  const name = fileName('too-big', 'bin');
  await page.getByLabel('File', { exact: true }).setInputFiles({
    name,
    mimeType: 'application/octet-stream',
    buffer: Buffer.alloc(1.5 * 1024 * 1024, 7),
  });
  await page.getByRole('button', { name: 'Upload', exact: true }).click();
  await expect(uploadForm(page).getByRole('alert')).toHaveText(
    `${name} is 1.5 MiB, over the upload limit of 1 MiB. Choose a smaller file.`,
  );
  await expect(page.getByRole('status')).toHaveCount(0);
  expect(uploads).toEqual([]);
  // Nothing was uploaded under that name either.
  await page.reload();
  await expect(page.getByRole('heading', { level: 1, name: 'Files' })).toBeVisible();
  await expect(page.getByRole('cell', { name })).toHaveCount(0);
  expect(errors).toEqual([]);
});

test('a file dropped on the upload form is uploaded', async ({ page }) => {
  const errors = collectErrors(page);
  await page.goto('/files');
  await waitForHydration(page);
  const name = fileName('dropped', 'txt');
  const dataTransfer = await page.evaluateHandle((name) => {
    const transfer = new DataTransfer();
    transfer.items.add(new File(['dropped on the form\n'], name, { type: 'text/plain' }));
    return transfer;
  }, name);
  await uploadForm(page).dispatchEvent('drop', { dataTransfer });
  await expect(page.getByRole('status')).toHaveText(new RegExp(`^Uploaded ${name} as file_\\w+\\.$`));
  await expect(page.getByTestId('file-list').getByRole('row').filter({ hasText: name })).toHaveCount(1);
  expect(errors).toEqual([]);
});

test('an uploaded file starts a session that mounts it; the session is archived, then deleted', async ({ page }) => {
  const errors = collectErrors(page);
  await page.goto('/files');
  await expect(page.getByRole('heading', { level: 1, name: 'Files' })).toBeVisible();
  await waitForHydration(page);

  // Upload with the picker.
  const name = fileName('brief', 'txt');
  await page.getByLabel('File', { exact: true }).setInputFiles({
    name,
    mimeType: 'text/plain',
    buffer: Buffer.from('Please summarise this brief.\n'),
  });
  await page.getByRole('button', { name: 'Upload', exact: true }).click();
  const notice = page.getByRole('status');
  await expect(notice).toHaveText(new RegExp(`^Uploaded ${name} as file_\\w+\\.$`));
  const fileId = (await notice.getByRole('code').innerText()).trim();
  const row = page.getByTestId('file-list').getByRole('row').filter({ hasText: name });
  await expect(row).toHaveCount(1);
  await expect(row).toContainText(fileId);
  await expect(row).toContainText('29 bytes');

  // From the file to a new session.
  await row.getByRole('link', { name: 'Start a session with it' }).click();
  await expect(page).toHaveURL(`/sessions/new?file_id=${fileId}`);
  await expect(page.getByRole('heading', { level: 1, name: 'New session' })).toBeVisible();
  const fileBox = page.getByRole('group', { name: 'Files to mount' }).getByRole('checkbox', { name: new RegExp(fileId) });
  await expect(fileBox).toBeChecked();
  await page.getByRole('combobox', { name: 'Agent', exact: true }).selectOption({ label: 'Demo: scripted agent (latest: v1)' });
  await page.getByRole('combobox', { name: 'Environment', exact: true }).selectOption({ label: 'Demo environment' });
  const title = unique('Summarise the brief');
  await page.getByLabel('Title', { exact: true }).fill(title);
  await page.getByRole('textbox', { name: 'First message (optional; starts the agent at once)' }).fill('Summarise it, please.');
  await page.getByRole('button', { name: 'Start session' }).click();

  await expect(page).toHaveURL(/\/sessions\/sesn_[^/?]+$/);
  const sessionId = idFromUrl(page);
  await expect(page.getByRole('heading', { level: 1 })).toContainText(title);
  await expect(page).toHaveTitle(pageTitle(title));
  await expect(fact(page, 'Id')).toHaveText(sessionId);
  await expect(fact(page, 'Agent')).toHaveText('Demo: scripted agent v1');
  await expect(page.getByTestId('started-by')).toHaveText('admin');
  const mounted = page.getByRole('region', { name: 'Resources' });
  await expect(mounted.getByRole('listitem')).toHaveCount(1);
  await expect(mounted.getByRole('listitem')).toContainText(new RegExp(`^${fileId} at /mnt/session/\\S+`));

  // The first message was sent: the live timeline shows it, and the agent's answer.
  const timeline = page.getByTestId('timeline');
  await expect(timeline.locator('[data-kind="user.message"]')).toContainText('Summarise it, please.', {
    timeout: 20_000,
  });
  await expect(timeline.locator('[data-kind="agent.message"]').first()).toContainText('I am the demo agent', {
    timeout: 20_000,
  });

  // Listed under "Started by me", started by admin.
  await page.goto('/sessions?mine=true');
  await expect(page.getByRole('checkbox', { name: 'Started by me' })).toBeChecked();
  const listed = page.getByRole('row').filter({ has: page.getByRole('link', { name: title }) });
  await expect(listed.getByTestId('created-by')).toHaveText('admin');
  await listed.getByRole('link', { name: title }).click();
  await expect(page).toHaveURL(`/sessions/${sessionId}`);

  // Archive, then delete, each confirmed.
  await waitForHydration(page);
  await page.getByRole('button', { name: 'Archive', exact: true }).click();
  const confirm = page.getByRole('group', { name: 'Confirm' });
  await expect(confirm).toContainText('The session is kept read-only; no more messages can be sent.');
  await confirm.getByRole('button', { name: 'Yes, archive' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toContainText('archived');
  await expect(page.getByRole('button', { name: 'Archive', exact: true })).toHaveCount(0);

  await page.getByRole('button', { name: 'Delete', exact: true }).click();
  await expect(page.getByRole('group', { name: 'Confirm' })).toContainText(
    'The session and its events are deleted for good.',
  );
  await page.getByRole('group', { name: 'Confirm' }).getByRole('button', { name: 'Yes, delete' }).click();
  await expect(page).toHaveURL('/sessions');
  await expect(page.getByRole('heading', { level: 1, name: 'Sessions' })).toBeVisible();
  expect(errors).toEqual([]);

  // It is gone for good.
  const gone = await page.goto(`/sessions/${sessionId}`);
  expect(gone?.status()).toBe(404);
  await expect(page).toHaveTitle(pageTitle('Session not found'));
  await expect(page.getByRole('alert').filter({ hasText: `Loading session ${sessionId} failed` })).toContainText(
    'Not found',
  );
});

test('a new session mounts a file and a GitHub repository at a branch, its token never shown', async ({ page }) => {
  const errors = collectErrors(page);
  await page.goto('/files');
  await waitForHydration(page);
  const name = fileName('spec', 'md');
  await page.getByLabel('File', { exact: true }).setInputFiles({
    name,
    mimeType: 'text/markdown',
    buffer: Buffer.from('# What to build\n'),
  });
  await page.getByRole('button', { name: 'Upload', exact: true }).click();
  const notice = page.getByRole('status');
  await expect(notice).toHaveText(new RegExp(`^Uploaded ${name} as file_\\w+\\.$`));
  const fileId = (await notice.getByRole('code').innerText()).trim();

  await page.goto('/sessions/new');
  await expect(page.getByRole('heading', { level: 1, name: 'New session' })).toBeVisible();
  await waitForHydration(page);
  await page.getByRole('group', { name: 'Files to mount' }).getByRole('checkbox', { name: new RegExp(fileId) }).check();
  // An outcome's rubric is picked from the same files, not typed as an id.
  const rubric = page.getByRole('combobox', { name: '…or a rubric from an uploaded file' });
  await expect(rubric.locator('option', { hasText: `${name} (${fileId})` })).toHaveCount(1);
  await expect(rubric).toHaveValue('');
  await page.getByRole('combobox', { name: 'Agent', exact: true }).selectOption({ label: 'Demo: scripted agent (latest: v1)' });
  await page.getByRole('combobox', { name: 'Environment', exact: true }).selectOption({ label: 'Demo environment' });
  const title = unique('Fix the billing bug');
  await page.getByLabel('Title', { exact: true }).fill(title);
  const repository = page.getByRole('group', { name: 'GitHub repository (optional)' });
  await repository.getByLabel('Repository URL').fill('https://github.com/acme/billing');
  await repository.getByLabel("Branch, or a commit's full sha (empty: the default branch)").fill('release/2.x');
  await repository.getByLabel('Access token (for a private repository)').fill('ghp_e2e_form_token_5d4c');
  await page.getByRole('button', { name: 'Start session' }).click();

  await expect(page).toHaveURL(/\/sessions\/sesn_[^/?]+$/);
  await expect(page.getByRole('heading', { level: 1 })).toContainText(title);
  const mounted = page.getByRole('region', { name: 'Resources' }).getByRole('listitem');
  await expect(mounted).toHaveCount(2);
  await expect(mounted.nth(0)).toContainText(new RegExp(`^${fileId} at /mnt/session/uploads/${fileId}`));
  await expect(mounted.nth(1)).toContainText(
    'repository https://github.com/acme/billing (branch release/2.x) at /workspace/billing',
  );
  expect(await page.content()).not.toContain('ghp_e2e_form_token_5d4c');
  expect(errors).toEqual([]);
});
