import { type APIRequestContext, type Page, expect, test } from '@playwright/test';
import { collectErrors, unique, waitForHydration } from './support';

// Showing a session to others: links to one event.

/** A finished session of a new scripted agent whose one turn writes `messages` messages. */
async function longSession(request: APIRequestContext, messages: number): Promise<string> {
  const turn = Array.from({ length: messages }, (_, n) => ({ text: `Message ${n + 1}: a line of the long session.` }));
  const definition = JSON.stringify({
    name: unique('Deep link agent'),
    model: 'scripted',
    system: JSON.stringify({ stream_delay_ms: 0, turns: [turn] }),
  });
  const agent = await request.post('/api/agents/create', { form: { definition } });
  expect(agent.ok(), await agent.text()).toBeTruthy();
  const { environments } = await (await request.get('/api/sessions/choices')).json();
  const created = await request.post('/api/sessions/create', {
    form: {
      'form[agent_id]': (await agent.json()).id,
      'form[environment_id]': environments.find((e: { label: string }) => e.label.includes('Demo environment')).id,
      'form[title]': unique('Long'),
      'form[initial_message]': 'go',
    },
  });
  expect(created.ok(), await created.text()).toBeTruthy();
  const id = (await created.json()).row.id;
  await expect
    .poll(async () => (await (await request.get(`/api/sessions/get?id=${id}`)).json()).row.status, { timeout: 60_000 })
    .toBe('idle');
  return id;
}

/** The event numbered `seq` in the session's log, read from the hub's stream as a browser does. */
async function eventAt(page: Page, sessionId: string, seq: number): Promise<{ id: string; type: string; text: string }> {
  return page.evaluate(
    ([sessionId, seq]) =>
      new Promise((resolve, reject) => {
        const source = new EventSource(`/api/sessions/${sessionId}/stream`);
        const timer = setTimeout(() => {
          source.close();
          reject(new Error(`event ${seq} never came`));
        }, 30_000);
        source.addEventListener('event', (frame) => {
          if ((frame as MessageEvent).lastEventId !== String(seq)) return;
          clearTimeout(timer);
          source.close();
          const event = JSON.parse((frame as MessageEvent).data);
          resolve({ id: event.id, type: event.type, text: event.content?.[0]?.text ?? '' });
        });
      }),
    [sessionId, seq] as const,
  );
}

/** Whether the highlighted row is `eventId`'s and lies inside the timeline's visible box. */
function focusedInView(page: Page, eventId: string) {
  return page.evaluate((eventId) => {
    const list = document.querySelector('[data-testid=timeline]')!;
    const row = list.querySelector('.row.focused');
    if (!row || row.getAttribute('data-id') !== eventId) return false;
    const box = list.getBoundingClientRect();
    const at = row.getBoundingClientRect();
    return at.top >= box.top - 1 && at.top < box.bottom && list.scrollHeight - list.scrollTop - list.clientHeight > 48;
  }, eventId);
}

test('a link to event 9,500 of 10,000 opens the session there, highlighted, and stays', async ({ page, request, context }) => {
  test.setTimeout(180_000);
  const errors = collectErrors(page);
  const id = await longSession(request, 9_995); // with the turn's own 5 events: 10,000
  await page.goto('/');
  const target = await eventAt(page, id, 9_500);
  expect(target.type, 'event 9,500 is one of the messages').toBe('agent.message');

  await page.goto(`/sessions/${id}?event=${target.id}`);
  await waitForHydration(page);
  await expect(page.getByTestId('live-totals')).toContainText('10,000 events', { timeout: 30_000 });
  await expect(page.getByTestId('timeline').locator('.row.focused')).toHaveAttribute('data-id', target.id);
  await expect(page.getByTestId('timeline').locator('.row.focused')).toContainText(target.text);
  await expect(page.getByTestId('timeline').locator('.row.focused')).toHaveAttribute('aria-current', 'true');
  await expect.poll(() => focusedInView(page, target.id)).toBe(true);
  // It does not drift to the live end while the rows around it are measured.
  await page.waitForTimeout(1_000);
  expect(await focusedInView(page, target.id), 'the linked row is still in view a second later').toBe(true);
  await expect(page.getByTestId('jump-live')).toBeVisible();
  await expect(page.getByTestId('deep-link')).toBeHidden();

  // A row's own link: copied, it opens the session at that row.
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  const row = page.getByTestId('timeline').locator('.row.focused');
  await row.getByTestId('copy-event-link').click();
  await expect(row.getByTestId('copy-event-link')).toHaveText('Link copied');
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  expect(copied).toBe(`${new URL(page.url()).origin}/sessions/${id}?event=${target.id}`);

  // Jumping to live lets go of the row; a link to an early event opens there.
  await page.getByTestId('jump-live').click();
  await expect(page.getByTestId('timeline').locator('[data-kind="session.status_idle"]')).toBeVisible();
  const early = await eventAt(page, id, 120);
  await page.goto(`/sessions/${id}?event=${early.id}`);
  await expect(page.getByTestId('timeline').locator('.row.focused')).toHaveAttribute('data-id', early.id, {
    timeout: 30_000,
  });
  await expect.poll(() => focusedInView(page, early.id)).toBe(true);

  // A link to an event the session does not have says so.
  await page.goto(`/sessions/${id}?event=sevt_not_in_this_session`);
  await expect(page.getByTestId('deep-link')).toHaveAttribute('data-state', 'missing', { timeout: 30_000 });
  await expect(page.getByTestId('deep-link')).toContainText("is not among this session's 10,000 events");
  expect(errors).toEqual([]);
});
