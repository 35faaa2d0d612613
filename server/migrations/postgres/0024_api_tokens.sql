-- PostgreSQL's form of sqlite/0024_api_tokens.sql.
CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    user_id      BIGINT NOT NULL,
    name         TEXT NOT NULL,
    workspace    TEXT NOT NULL,
    roles        TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    hint         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    expires_unix BIGINT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT,
    revoked_by   TEXT
);

CREATE INDEX api_tokens_user ON api_tokens (user_id);

ALTER TABLE audit ADD COLUMN credential TEXT;
