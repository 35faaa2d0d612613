-- The login cookie's sessions (`server/src/access/session_store.rs`). The cookie's value is never
-- stored: `id_hash` is the SHA-256 of the session id (the cookie's value) in hex, so a copy of
-- the database (a backup) holds nothing a browser could present. `data` is the session's data as
-- JSON (the login it names: `access::authn::StoredLogin`); `expires_ms`: its idle expiry, in
-- milliseconds since 1970 (UTC). Only the main database's is used (a workspace's stays empty).
--
-- tower-sessions-sqlx-store made `login_sessions` before, outside these migrations, keyed by the
-- cookie's value. Its table (made here empty where it never was) is set aside as
-- `login_sessions_unhashed`; `session_store::rehash_unhashed`, right after the migrations, moves
-- its sessions here under their hash, drops it and vacuums the file.
CREATE TABLE IF NOT EXISTS login_sessions (
    id          text primary key not null,
    data        blob not null,
    expiry_date integer not null
);

ALTER TABLE login_sessions RENAME TO login_sessions_unhashed;

CREATE TABLE login_sessions (
    id_hash      TEXT PRIMARY KEY,
    data         TEXT NOT NULL,
    expires_ms   INTEGER NOT NULL
) STRICT;

CREATE INDEX login_sessions_expiry ON login_sessions (expires_ms);
