-- PostgreSQL's form of sqlite/0015_login_sessions_hashed.sql. No Switchboard ever kept sessions
-- unhashed here: the table is made in its hashed form at once.
CREATE TABLE login_sessions (
    id_hash      TEXT PRIMARY KEY,
    data         TEXT NOT NULL,
    expires_ms   BIGINT NOT NULL
);

CREATE INDEX login_sessions_expiry ON login_sessions (expires_ms);
