import { expect, test } from '@playwright/test';
import { collectErrors, unique, waitForHydration } from './support';

test('a memory edit that loses a race keeps the draft, shows both versions, and can still win', async ({ page }) => {
  const errors = collectErrors(page);
  const name = unique('Team notes');
  await page.goto('/memory');
  await expect(page.getByRole('heading', { level: 1, name: 'Memory stores' })).toBeVisible();
  await waitForHydration(page);
  await page.getByLabel('New store named').fill(name);
  await page.getByRole('button', { name: 'Create store' }).click();
  await expect(page).toHaveURL(/\/memory\/memstore_[^/?]+$/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(name);
  await expect(page.getByTestId('memory-empty')).toBeVisible();

  // A memory in a folder: the tree shows the folder, the folder the memory.
  await waitForHydration(page);
  await page.getByText('New memory in this folder').click();
  const form = page.getByTestId('new-memory');
  await form.getByLabel('Path').fill('/notes/plan.md');
  await form.getByLabel('Content').fill('Ship on Monday.');
  await form.getByRole('button', { name: 'Add memory' }).click();
  await expect(page).toHaveURL(/memory=mem_/);
  const storeUrl = page.url().split('?')[0];
  await page.goto(storeUrl);
  await page.getByTestId('memory-entries').getByRole('link', { name: 'notes/' }).click();
  await expect(page.getByTestId('memory-folder')).toContainText('notes/');
  await page.getByTestId('memory-entries').getByRole('link', { name: 'plan.md' }).click();
  const editor = page.getByTestId('memory-editor');
  await expect(editor.getByRole('heading')).toHaveText('/notes/plan.md');
  const memoryUrl = page.url();

  // Someone else opens the same memory and saves first.
  const other = await page.context().newPage();
  await other.goto(memoryUrl);
  await waitForHydration(other);
  const otherEditor = other.getByTestId('memory-editor');
  await otherEditor.getByLabel('Content').fill('Ship on Tuesday.');
  await otherEditor.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(other.getByTestId('memory-versions').getByTestId('memory-version')).toHaveCount(2);
  await other.close();

  // This page still holds what it opened; its save loses the race and loses nothing.
  await waitForHydration(page);
  const content = editor.getByLabel('Content');
  await expect(content).toHaveValue('Ship on Monday.');
  await content.fill('Ship on Wednesday, after the review.');
  await editor.getByRole('button', { name: 'Save', exact: true }).click();
  const conflict = page.getByTestId('memory-conflict');
  await expect(conflict).toContainText('Someone changed this memory while you were editing it.');
  await expect(conflict.getByTestId('theirs')).toHaveText('Ship on Tuesday.');
  await expect(conflict.getByTestId('yours')).toHaveText('Ship on Wednesday, after the review.');
  await expect(content).toHaveValue('Ship on Wednesday, after the review.');

  await conflict.getByRole('button', { name: 'Save mine over theirs' }).click();
  await expect(conflict).toHaveCount(0);
  const versions = page.getByTestId('memory-versions').getByTestId('memory-version');
  await expect(versions).toHaveCount(3);
  await page.reload();
  await expect(page.getByTestId('memory-editor').getByLabel('Content')).toHaveValue('Ship on Wednesday, after the review.');

  // The two newest versions, compared: theirs removed, mine added.
  await waitForHydration(page);
  await page.getByRole('button', { name: 'Show the differences' }).click();
  const diff = page.getByTestId('memory-diff');
  await expect(diff).toContainText('- Ship on Tuesday.');
  await expect(diff).toContainText('+ Ship on Wednesday, after the review.');

  // The first version, redacted by an admin: who wrote it stays, what it said is gone.
  await waitForHydration(page);
  const first = page.getByTestId('memory-versions').getByTestId('memory-version').last();
  await expect(first).toContainText('created /notes/plan.md');
  await first.getByRole('button', { name: 'Redact' }).click();
  await first.getByRole('button', { name: 'Yes, redact' }).click();
  await expect(first).toContainText('redacted');
  await expect(first).not.toContainText('/notes/plan.md');
  await expect(first).toContainText('API key apikey_');
  expect(errors).toEqual([]);
});
