-- Read-only share links of a session (`server/src/shares.rs`). The token itself is never stored:
-- `token_hash` is its SHA-256 in hex, looked up when the link is opened. `title` and `agent` are
-- the session's when the link was made. `expires_unix`: the end, in seconds since 1970 (UTC).
-- `snapshot_ms`: a snapshot shows only the events processed at or before this moment
-- (milliseconds since 1970); NULL for a live link. `hide_tools`: tool inputs and outputs are
-- replaced; `mask_secrets`: strings matching the secret patterns are masked. `views` counts
-- openings of the link's page.
CREATE TABLE shares (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash    TEXT NOT NULL UNIQUE,
    session_id    TEXT NOT NULL,
    title         TEXT NOT NULL,
    agent         TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    expires_unix  INTEGER NOT NULL,
    snapshot_ms   INTEGER,
    hide_tools    INTEGER NOT NULL DEFAULT 0,
    mask_secrets  INTEGER NOT NULL DEFAULT 0,
    views         INTEGER NOT NULL DEFAULT 0,
    last_viewed_at TEXT,
    revoked_at    TEXT,
    revoked_by    TEXT
);
CREATE INDEX shares_session ON shares (session_id);
