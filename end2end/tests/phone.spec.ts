import { expect, type Locator, type Page, test } from '@playwright/test';
import { collectErrors, sessionThatAsks, unique, waitForHydration } from './support';

// An approver on a phone (390×844, touch): the session page and the Inbox fit the screen, the
// navigation is one bar, what is tapped is at least 44 px tall, the waiting call is above the fold,
// and three calls are decided with taps ("Allow 3 selected"), no swiping.

const SCREEN = { width: 390, height: 844 };
test.use({ viewport: SCREEN, hasTouch: true, isMobile: true });

/** The page is no wider than the screen: nothing makes it scroll sideways. */
async function expectNoSidewaysScroll(page: Page): Promise<void> {
  const widths = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
  expect(widths[0], 'the page scrolls sideways').toBeLessThanOrEqual(widths[1]);
}

/** Every visible button (and the card's tick boxes, through their labels) is at least 44 px tall. */
async function expectTappable(targets: Locator): Promise<void> {
  for (const target of await targets.all()) {
    if (!(await target.isVisible())) continue;
    const box = (await target.boundingBox())!;
    expect(box.height, `${await target.textContent()} is too small to tap`).toBeGreaterThanOrEqual(44);
  }
}

test('an approver on a phone sees the waiting calls first and allows three with taps', async ({ page }) => {
  // Three pages, an Overview and a turn of three sandboxed calls: 27 s of the default 30 s on a
  // quiet machine, and over it on a busy one.
  test.slow();
  const errors = collectErrors(page);
  const id = await sessionThatAsks(page.request, ['echo one', 'echo two', 'echo three'], 'Phone');

  // The session page: the waiting call above the fold, its command whole within the screen.
  await page.goto(`/sessions/${id}`);
  await waitForHydration(page);
  const nav = page.getByRole('navigation', { name: 'Console' });
  const cards = page.getByTestId('approval-card');
  await expect(cards).toHaveCount(3, { timeout: 20_000 });
  expect((await nav.boundingBox())!.height, 'the navigation takes one bar').toBeLessThanOrEqual(64);
  const first = (await cards.first().boundingBox())!;
  expect(first.y + 80, 'the first waiting call is above the fold').toBeLessThan(SCREEN.height);
  const command = (await cards.first().locator('pre.command').boundingBox())!;
  expect(command.x + command.width).toBeLessThanOrEqual(SCREEN.width);
  await expectNoSidewaysScroll(page);
  await expectTappable(page.getByTestId('pending').locator('button, label.select'));

  // The menu opens from the bar and closes once a page is chosen.
  await expect(nav.getByRole('link', { name: 'Agents' })).toBeHidden();
  await nav.getByTestId('menu-toggle').tap();
  await expect(nav.getByTestId('menu-toggle')).toHaveAttribute('aria-expanded', 'true');
  await expectTappable(nav.locator('a, button'));
  // A link in the bar closes the open menu too.
  await nav.locator('a.brand').tap();
  await expect(page).toHaveURL(/\/$/);
  await expect(nav.getByRole('link', { name: 'Agents' })).toBeHidden();
  await nav.getByTestId('menu-toggle').tap();
  await nav.getByRole('link', { name: 'Inbox' }).last().tap();
  await expect(page).toHaveURL(/\/inbox$/);
  await expect(nav.getByRole('link', { name: 'Agents' })).toBeHidden();

  // The Inbox: this session's three calls, ticked one tap at a time, allowed with one more.
  await waitForHydration(page);
  const panel = page.locator(`[data-testid="inbox-session"][data-session="${id}"]`);
  const waiting = panel.getByTestId('approval-card');
  await expect(waiting).toHaveCount(3, { timeout: 20_000 });
  await expectNoSidewaysScroll(page);
  await expect(panel.getByTestId('allow-selected')).toHaveCount(0);
  for (const card of await waiting.all()) await card.locator('label.select').tap();
  await expect(panel.getByTestId('allow-selected')).toHaveText('Allow 3 selected');
  // Untick one and tick it again: the count follows.
  await waiting.nth(1).locator('label.select').tap();
  await expect(panel.getByTestId('allow-selected')).toHaveText('Allow 2 selected');
  await waiting.nth(1).locator('label.select').tap();
  await expect(panel.getByTestId('allow-selected')).toHaveText('Allow 3 selected');
  await expectTappable(panel.locator('button'));
  await panel.getByTestId('allow-selected').tap();
  await expect(panel).toHaveCount(0, { timeout: 20_000 });

  // All three ran: the session's timeline has each command's output and the agent's last word.
  await page.goto(`/sessions/${id}`);
  await waitForHydration(page);
  await expect(page.getByTestId('live-state')).toContainText('finished its turn', { timeout: 20_000 });
  const timeline = page.getByTestId('timeline');
  for (const word of ['one', 'two', 'three']) await expect(timeline.locator('pre.output').filter({ hasText: new RegExp(`^${word}\\s*$`) })).toHaveCount(1);
  await expect(timeline).toContainText('Done.');
  await expect(page.getByTestId('approval-card')).toHaveCount(0);
  await expectNoSidewaysScroll(page);
  expect(errors).toEqual([]);
});

test('on a phone the wide lists scroll inside their panel, not the page', async ({ page }) => {
  // A long name in a picker (the Rules page's policy form lists every agent) once pushed the page
  // sideways.
  const definition = JSON.stringify({
    name: unique('An agent whose name is much wider than a phone screen'),
    model: 'scripted',
    system: JSON.stringify({ turns: [[{ text: 'Hello.' }]] }),
  });
  expect((await page.request.post('/api/agents/create', { form: { definition } })).ok()).toBeTruthy();
  for (const path of ['/', '/agents', '/sessions', '/environments', '/rules', '/audit', '/settings']) {
    await page.goto(path);
    await waitForHydration(page);
    await expectNoSidewaysScroll(page);
  }
});
