import { expect, type Page, test } from '@playwright/test';
import { collectErrors, waitForHydration } from './support';

// Single sign-on against a real OpenID Connect provider (oidc-provider.mjs), through the
// Switchboard of playwright.config.ts configured for it: issuer, client id and secret, addresses
// at example.com only, and roles from the `groups` claim (switchboard-admins → admin,
// switchboard-approvers → approver).
const port = Number(process.env.E2E_PORT ?? 3917);
const sso = `http://127.0.0.1:${port + 6}`;
const provider = `http://127.0.0.1:${port + 7}`;

test.use({ baseURL: sso, storageState: { cookies: [], origins: [] } });

/**
 * Signs `login` in at the provider from Switchboard's sign-in page, through the provider's own
 * pages (any password works there; a first sign-in is asked to consent), and waits for the page
 * the browser lands on: Switchboard's, or its sign-in page with the reason it refused.
 */
async function signInWithProvider(page: Page, login: string, from = '/login') {
  await page.goto(from);
  await page.getByRole('link', { name: 'Sign in with Example ID' }).click();
  await expect(page).toHaveURL(new RegExp(`^${provider}/interaction/`));
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill('the provider checks this, not Switchboard');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  const consent = page.getByRole('button', { name: 'Continue' });
  const back = page.locator('[data-testid="signed-in"], .auth-panel');
  await expect(consent.or(back).first()).toBeVisible();
  if (await consent.isVisible()) await consent.click();
  await expect(page).toHaveURL(new RegExp(`^${sso}/`));
}

async function me(page: Page) {
  const response = await page.request.get('/api/auth/me');
  expect(response.ok()).toBe(true);
  return response.json();
}

test('an approver signs in with the identity provider, gets the role its groups map to, and signs out there too', async ({
  page,
}) => {
  const errors = collectErrors(page);
  // A link to a page works through the provider: it comes back to the page asked for.
  await page.goto('/inbox');
  await expect(page).toHaveURL(/\/login\?next=%2Finbox/);
  await signInWithProvider(page, 'ada', page.url().replace(sso, ''));
  await expect(page).toHaveURL(`${sso}/inbox`);
  await waitForHydration(page);
  const signedIn = page.getByTestId('signed-in');
  await expect(signedIn).toContainText('Ada Lovelace (ada)');
  await expect(signedIn).toContainText('approver');
  const person = await me(page);
  expect(person).toMatchObject({ username: 'ada', roles: ['approver'], sso: true });

  // No password here: the Account page says where it is kept, and no password signs in as ada.
  await page.goto('/account');
  await waitForHydration(page);
  await expect(page.getByTestId('password-sso')).toContainText('your identity provider keeps your password');
  await expect(page.locator('form[action="/auth/password"]')).toHaveCount(0);
  const guess = await page.request.post('/auth/login', {
    form: { username: 'ada', password: '', next: '/' },
    maxRedirects: 0,
  });
  expect(guess.headers().location).toContain('error=credentials');

  // Signing out ends this login and the provider's session: the provider asks, then sends the
  // browser back to Switchboard's sign-in page.
  await page.getByTestId('signed-in').getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(new RegExp(`^${provider}/session/end`));
  await page.getByRole('button', { name: 'Yes, sign me out' }).click();
  await expect(page).toHaveURL(`${sso}/login?error=signed_out`);
  await expect(page.getByRole('status')).toHaveText('You are signed out.');
  expect(await me(page)).toBeNull();
  // The provider asks for the sign-in again: its session ended with Switchboard's.
  await page.getByRole('link', { name: 'Sign in with Example ID' }).click();
  await expect(page.locator('input[name="login"]')).toBeVisible();
  // Switchboard's pages logged no error (the provider's pages ask for a web font and a favicon
  // this closed network does not have).
  expect(errors.filter((e) => !e.includes(provider) && !e.includes('fonts.googleapis.com'))).toEqual([]);
});

test('the provider decides who comes in: an admin by group, nobody without a mapped group or outside the domains', async ({
  page,
}) => {
  await signInWithProvider(page, 'grace');
  expect(await me(page)).toMatchObject({ username: 'grace', roles: ['admin'], sso: true });
  // The Users page marks the account, shows the address the provider vouched for, and offers no
  // password for it; the endpoint refuses one too (it would be a second way in).
  await page.goto('/users');
  await waitForHydration(page);
  const row = page.locator('tr[data-username="grace"]');
  await expect(row).toContainText('single sign-on');
  await expect(row).toContainText('grace@example.com');
  await expect(row.locator('input[name="password"]')).toHaveCount(0);
  const id = (await me(page)).user_id;
  const reset = await page.request.post('/api/users/password', {
    form: { id: String(id), username: 'grace', password: 'a long enough new password 1' },
  });
  expect(reset.status()).toBe(400);
  expect((await reset.json()).message).toContain('signs in with single sign-on');

  // bob is at example.com but in no group that maps to a role: refused, and told why.
  await page.context().clearCookies();
  await signInWithProvider(page, 'bob');
  await expect(page).toHaveURL(`${sso}/login?error=sso_no_role`);
  await expect(page.getByRole('alert')).toContainText('not in a group that has a role in this Switchboard');
  expect(await me(page)).toBeNull();

  // mallory's groups would make her an admin, but her address is not at an allowed domain.
  await page.context().clearCookies();
  await signInWithProvider(page, 'mallory');
  await expect(page).toHaveURL(`${sso}/login?error=sso_domain`);
  await expect(page.getByRole('alert')).toContainText('not at a domain this Switchboard admits');
  expect(await me(page)).toBeNull();

  // A link from another site does not start a sign-in at the provider (it could swap a signed-in
  // person into another account unasked): it leads to the sign-in page.
  const crossSite = await page.request.get('/auth/oidc/start?next=%2Fusers', {
    headers: { 'sec-fetch-site': 'cross-site' },
    maxRedirects: 0,
  });
  expect(crossSite.headers().location).toBe('/login?next=%2Fusers');

  // A return this browser did not start (a forged or replayed callback) signs nobody in.
  await page.goto('/auth/oidc/callback?code=stolen&state=guessed');
  await expect(page).toHaveURL(`${sso}/login?error=sso_expired`);
  expect(await me(page)).toBeNull();
});
