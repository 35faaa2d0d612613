-- Scoped "always allow" rules (app/src/rules.rs): Switchboard answers a session's or an agent's
-- calls of one tool that match `pattern` until `expires_at`, unless revoked. Rows are never
-- deleted: a rule's decisions point at it from the decisions table and the audit log.
CREATE TABLE rules (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    tool        TEXT NOT NULL,
    -- empty: every call of the tool
    pattern     TEXT NOT NULL DEFAULT '',
    -- session | agent
    scope       TEXT NOT NULL,
    scope_id    TEXT NOT NULL,
    -- the label the console shows ("Ada Lovelace (ada)"), and the account's username
    created_by  TEXT NOT NULL,
    owner       TEXT NOT NULL,
    -- RFC 3339, UTC
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    revoked_by  TEXT,
    revoked_at  TEXT,
    -- calls it answered
    uses        INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX rules_scope ON rules (scope, scope_id);
