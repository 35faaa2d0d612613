-- PostgreSQL's form of sqlite/0025_device_logins.sql.
CREATE TABLE device_logins (
    device_hash   TEXT PRIMARY KEY,
    user_code     TEXT NOT NULL UNIQUE,
    client_name   TEXT NOT NULL,
    created_unix  BIGINT NOT NULL,
    expires_unix  BIGINT NOT NULL,
    state         TEXT NOT NULL,
    user_id       BIGINT,
    workspace     TEXT,
    roles         TEXT,
    token_id      TEXT,
    polled_ms     BIGINT NOT NULL DEFAULT 0
);
