-- Issue 20: workspaces. The upstream Switchboard starts with (the embedded engine, or the API
-- that `ANTHROPIC_API_KEY` opens) is the workspace `default`; an admin connects more, each an
-- upstream by base URL and key. A workspace's own records (decisions, rules, policies, share
-- links, imports) live in a database of its own under `workspaces/<id>/` in the data directory;
-- these tables, in the main database, say which workspaces there are and who may use them.
CREATE TABLE workspaces (
    -- a short name in lower case, letters, digits and dashes: `staging`
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    base_url    TEXT NOT NULL,
    -- the key, sealed with SWITCHBOARD_SECRET_KEY (ChaCha20-Poly1305; the nonce comes first)
    sealed_key  BLOB NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL
) STRICT;

-- A person's roles in a workspace other than `default` (where an account's own roles count).
-- Without a row, the person cannot open the workspace. Admins are admins in every workspace.
CREATE TABLE workspace_grants (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- space-separated, as `users.roles`
    roles        TEXT NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
) STRICT;

-- The workspace an audit entry belongs to; NULL for `default` (every entry before this change)
-- and for what belongs to Switchboard itself (sign-ins, accounts).
ALTER TABLE audit ADD COLUMN workspace TEXT;
CREATE INDEX audit_workspace ON audit (workspace, id);
