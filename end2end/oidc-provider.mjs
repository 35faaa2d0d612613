// A real OpenID Connect provider for the single sign-on tests (tests/sso.spec.ts): the
// `oidc-provider` package, certified by the OpenID Foundation, with its development sign-in pages
// (any password is accepted; the login names one of the people below) and its own keys.
//
// E2E_OIDC_PORT: where it listens (its issuer is http://127.0.0.1:<port>).
// E2E_OIDC_CLIENT_URL: the Switchboard it signs people in to (its SWITCHBOARD_PUBLIC_URL).
import Provider from 'oidc-provider';

const port = Number(process.env.E2E_OIDC_PORT);
const switchboard = process.env.E2E_OIDC_CLIENT_URL;

/** The people of the provider's directory, by login. Anyone else gets an address at example.com and no group. */
const people = {
  ada: { name: 'Ada Lovelace', email: 'ada@example.com', groups: ['switchboard-approvers', 'analysts'] },
  grace: { name: 'Grace Hopper', email: 'grace@example.com', groups: ['switchboard-admins'] },
  bob: { name: 'Bob Unmapped', email: 'bob@example.com', groups: ['marketing'] },
  mallory: { name: 'Mallory', email: 'mallory@elsewhere.test', groups: ['switchboard-admins'] },
};

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [
    {
      client_id: 'switchboard',
      client_secret: 'e2e-only-client-secret',
      redirect_uris: [`${switchboard}/auth/oidc/callback`],
      post_logout_redirect_uris: [`${switchboard}/login?error=signed_out`],
      grant_types: ['authorization_code'],
      response_types: ['code'],
    },
  ],
  scopes: ['openid', 'email', 'profile', 'groups'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
    groups: ['groups'],
  },
  // The standard behaviour: the ID token carries only what identifies the person, the rest
  // (address, name, groups) comes from the userinfo endpoint, as with many providers.
  conformIdTokenClaims: true,
  pkce: { required: () => true },
  cookies: { keys: ['e2e-only-cookie-signing-key'] },
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
  async findAccount(_ctx, id) {
    const person = people[id] ?? { name: id, email: `${id}@example.com`, groups: [] };
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          preferred_username: id,
          name: person.name,
          email: person.email,
          email_verified: true,
          groups: person.groups,
        };
      },
    };
  },
});
// Quiet: it warns about its development pages and keys on start, which is the point here.
provider.on('server_error', (_ctx, error) => console.error('oidc-provider:', error));
provider.listen(port, '127.0.0.1', () => console.log(`oidc-provider on http://127.0.0.1:${port}`));
