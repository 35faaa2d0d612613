-- Issue 20: single sign-on with OpenID Connect.
--
-- An account made by a sign-in at the identity provider is linked to the provider's subject
-- (`sub`, unique per issuer) and nothing else: never to a local account of the same name or
-- email, which would let whoever controls an address at the provider take over a local account.
-- Its `password_hash` is empty, which no password matches: it signs in only through the provider.
ALTER TABLE users ADD COLUMN sso_issuer TEXT;
ALTER TABLE users ADD COLUMN sso_subject TEXT;
-- The address the provider vouched for at the last sign-in, shown to admins.
ALTER TABLE users ADD COLUMN email TEXT;

CREATE UNIQUE INDEX users_sso ON users (sso_issuer, sso_subject) WHERE sso_subject IS NOT NULL;
