-- Who made what: the person (and the token, when through Switchboard's API) who created each
-- agent, environment, session, deployment, vault and memory store made through Switchboard,
-- written by the audit layer when a creation succeeds. The first row of a thing stands.
CREATE TABLE creators (
    -- the workspace's id; '' for the default
    workspace  TEXT NOT NULL,
    object_id  TEXT NOT NULL,
    -- agent | environment | session | deployment | vault | memory_store
    kind       TEXT NOT NULL,
    user_id    INTEGER NOT NULL,
    username   TEXT NOT NULL,
    -- the credential it came through (`token CI deploys (tok_…)`); NULL from a browser
    via        TEXT,
    -- RFC 3339, UTC, with six digits of fraction: its text order is its time order
    created_at TEXT NOT NULL,
    PRIMARY KEY (workspace, object_id)
) STRICT;

-- A person's "Mine", newest first.
CREATE INDEX creators_made_by ON creators (workspace, kind, user_id, created_at, object_id);
