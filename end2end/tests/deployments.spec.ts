import { expect, test } from '@playwright/test';
import { collectErrors, fact, idFromUrl, unique, waitForHydration } from './support';

test('a deployment previews its schedule, runs now, lists its run and opens the session it started', async ({
  page,
}) => {
  const errors = collectErrors(page);
  const name = unique('Morning summary');
  await page.goto('/deployments/new');
  await expect(page.getByRole('heading', { level: 1, name: 'New deployment' })).toBeVisible();
  await waitForHydration(page);
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByRole('combobox', { name: 'Agent', exact: true }).selectOption({ label: 'Demo: scripted agent (latest: v1)' });
  await page.getByRole('combobox', { name: 'Environment', exact: true }).selectOption({ label: 'Demo environment' });
  await page.getByRole('textbox', { name: 'First message to each session' }).fill('Summarise yesterday, please.');

  // The schedule is previewed while it is typed: a wrong one says why, a right one lists five runs.
  const preview = page.getByTestId('schedule-preview');
  await page.getByLabel('Time zone (IANA name)').fill('Europe/Paris');
  await page.getByLabel('Cron expression (minute hour day month weekday)').fill('0 9 * * L');
  await expect(preview).toContainText('is not allowed');
  await page.getByLabel('Cron expression (minute hour day month weekday)').fill('30 9 * * 1-5');
  await expect(preview.getByRole('listitem')).toHaveCount(5);
  await expect(preview).toContainText('09:30');
  await page.getByRole('button', { name: 'Create deployment' }).click();

  await expect(page).toHaveURL(/\/deployments\/depl_[^/?]+$/);
  const id = idFromUrl(page);
  await expect(page.getByRole('heading', { level: 1 })).toContainText(name);
  await expect(page.getByTestId('deployment-status')).toHaveText('active');
  await expect(fact(page, 'Id')).toHaveText(id);
  await expect(fact(page, 'Schedule')).toHaveText('30 9 * * 1-5 (Europe/Paris)');
  await expect(page.getByTestId('next-fires').getByRole('listitem')).toHaveCount(5);
  await expect(page.getByText('No runs yet: press Run now, or wait for the schedule.')).toBeVisible();

  // Run now: the session it started is named at once, and the run is listed with a link to it.
  await waitForHydration(page);
  await page.getByTestId('run-now').click();
  const started = page.getByTestId('run-result');
  await expect(started).toContainText('Started session sesn_');
  const sessionId = (await started.getByRole('link').textContent())!.replace('session ', '').trim();
  const runs = page.getByTestId('run-list').getByTestId('run');
  await expect(runs).toHaveCount(1);
  await expect(runs.first()).toContainText('manual');
  await runs.first().getByRole('link', { name: new RegExp(sessionId) }).click();

  await expect(page).toHaveURL(`/sessions/${sessionId}`);
  await expect(fact(page, 'Agent')).toHaveText('Demo: scripted agent v1');
  const timeline = page.getByTestId('timeline');
  await expect(timeline.locator('[data-kind="user.message"]')).toContainText('Summarise yesterday, please.', {
    timeout: 20_000,
  });

  // The list shows the deployment with its next run.
  await page.goto('/deployments');
  const row = page.getByTestId('deployment-list').getByRole('row', { name: new RegExp(name) });
  await expect(row).toContainText('30 9 * * 1-5 (Europe/Paris)');
  await expect(row.getByTestId('deployment-status')).toHaveText('active');
  expect(errors).toEqual([]);
});
