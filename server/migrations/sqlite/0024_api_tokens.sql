-- Issue 64: personal access tokens, with which a person's programs call Switchboard's own
-- Managed Agents API (`/v1/…`) as that person, in one workspace, with some of their roles there.
-- A token is kept as the SHA-256 of its secret, never the secret; `hint` is its first characters,
-- to tell tokens apart in a list.
CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    user_id      INTEGER NOT NULL,
    name         TEXT NOT NULL,
    workspace    TEXT NOT NULL,
    -- space-separated (`roles_text`)
    roles        TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    hint         TEXT NOT NULL,
    -- RFC 3339, UTC
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    expires_unix INTEGER NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT,
    revoked_by   TEXT
) STRICT;

CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- How a change came: NULL from a browser's sign-in, `token <name>` through the API.
ALTER TABLE audit ADD COLUMN credential TEXT;
