import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { collectErrors, fact, idFromUrl, unique, waitForHydration } from './support';

/** Writes a skill's folder (SKILL.md and a script) and returns its path. */
function skillFolder(name: string, script: string): string {
  const root = mkdtempSync(join(tmpdir(), 'skill-'));
  const folder = join(root, name);
  mkdirSync(join(folder, 'scripts'), { recursive: true });
  writeFileSync(join(folder, 'SKILL.md'), `---\nname: ${name}\ndescription: Formats the weekly report.\n---\n\nRun scripts/report.sh.\n`);
  writeFileSync(join(folder, 'scripts', 'report.sh'), script);
  return folder;
}

test('a skill uploaded as a folder gets versions, downloads, and is picked in the agent form', async ({ page }) => {
  const errors = collectErrors(page);
  const name = unique('weekly-report').toLowerCase().replace(/[^a-z0-9]+/g, '-');

  await page.goto('/skills');
  await expect(page.getByRole('heading', { level: 1, name: 'Skills' })).toBeVisible();
  await waitForHydration(page);
  const upload = page.getByTestId('skill-upload');
  await upload.getByTestId('skill-folder').setInputFiles(skillFolder(name, 'echo v1\n'));
  await upload.getByRole('button', { name: 'Upload' }).click();
  await expect(page).toHaveURL(/\/skills\/skill_[^/?]+\?uploaded=skillver_/);
  const skillId = idFromUrl(page);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(name);
  const versions = page.getByTestId('skill-versions').locator('tbody tr');
  await expect(versions).toHaveCount(1);
  await expect(versions.first()).toContainText('Formats the weekly report.');

  // A new version from the same folder, changed; it becomes the latest.
  await waitForHydration(page);
  const next = page.getByTestId('skill-upload');
  await expect(next.getByRole('heading')).toHaveText('Upload a new version');
  await next.getByTestId('skill-folder').setInputFiles(skillFolder(name, 'echo v2\n'));
  await next.getByRole('button', { name: 'Upload' }).click();
  await expect(versions).toHaveCount(2);
  await expect(versions.first()).toContainText('latest');

  // A version downloads as a zip named after the skill.
  const download = page.waitForEvent('download');
  await versions.first().getByRole('link', { name: 'Download' }).click();
  expect((await download).suggestedFilename()).toBe(`${name}.zip`);

  // The library lists it; the agent form picks it from the library.
  await page.goto('/skills');
  await expect(page.getByTestId('skill-list').getByRole('link', { name })).toBeVisible();
  await page.goto(`/skills/${skillId}`);
  await page.getByRole('link', { name: 'Use it in a new agent' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'New agent' })).toBeVisible();
  await waitForHydration(page);
  const skills = page.getByTestId('agent-skills');
  const picked = skills.getByRole('combobox', { name: 'Skill', exact: true });
  await expect(picked).toHaveValue(skillId);
  // Picking it again by its name, as someone who opened the form on its own would.
  await picked.selectOption({ label: `${name} (${skillId})` });
  await page.getByLabel('Name', { exact: true }).fill(unique('Reporter'));
  await page.getByLabel('Model', { exact: true }).selectOption('scripted');
  await page.getByLabel('System prompt').fill(JSON.stringify({ turns: [[{ text: 'hi' }]] }));
  await expect(page.getByTestId('request-preview')).toContainText(`"skill_id": "${skillId}"`);
  await page.getByRole('button', { name: 'Create agent' }).click();
  await expect(page).toHaveURL(/\/agents\/agent_[^/?]+$/);
  await expect(fact(page, 'Skills')).toHaveText('1');
  await expect(page.locator('pre.json')).toContainText(`"skill_id": "${skillId}"`);
  expect(errors).toEqual([]);
});
