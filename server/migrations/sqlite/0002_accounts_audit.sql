-- Local accounts. `generation` is bumped when the password changes or the account is disabled:
-- a login made under an older generation no longer counts.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    -- argon2id, PHC string format
    password_hash TEXT NOT NULL,
    -- space-separated: viewer operator approver admin
    roles         TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    generation    INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
) STRICT;

-- The audit log: one row per mutation, decision, login and logout. The app never changes a row;
-- only retention removes old ones.
CREATE TABLE audit (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    -- RFC 3339, UTC
    at         TEXT NOT NULL,
    user_id    INTEGER,
    username   TEXT,
    roles      TEXT NOT NULL DEFAULT '',
    ip         TEXT,
    user_agent TEXT,
    action     TEXT NOT NULL,
    -- space-separated ids the request named
    targets    TEXT NOT NULL DEFAULT '',
    -- JSON: what the action saw (a decision's tool and input digest, a deny message)
    detail     TEXT,
    -- ok | refused | failed
    outcome    TEXT NOT NULL,
    status     INTEGER NOT NULL,
    error      TEXT
) STRICT;

CREATE INDEX audit_at ON audit (at);
CREATE INDEX audit_user ON audit (username, id);

CREATE TRIGGER audit_is_append_only BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit entries cannot be changed');
END;
