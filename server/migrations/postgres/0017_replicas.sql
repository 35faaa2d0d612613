-- PostgreSQL's form of sqlite/0017_replicas.sql: what several replicas on one database share.
CREATE TABLE shared_keys (
    name    TEXT PRIMARY KEY,
    sealed  BYTEA NOT NULL,
    made_at TEXT NOT NULL
);

CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_ms BIGINT NOT NULL
);

CREATE TABLE sign_in_failures (
    key   TEXT NOT NULL,
    at_ms BIGINT NOT NULL
);
CREATE INDEX sign_in_failures_key ON sign_in_failures (key, at_ms);

CREATE TABLE limit_buckets (
    who         TEXT PRIMARY KEY,
    tokens      DOUBLE PRECISION NOT NULL,
    refilled_ms BIGINT NOT NULL
);
CREATE TABLE limit_streams (
    who     TEXT NOT NULL,
    replica TEXT NOT NULL,
    streams BIGINT NOT NULL,
    PRIMARY KEY (who, replica)
);
CREATE TABLE replicas (
    id      TEXT PRIMARY KEY,
    seen_ms BIGINT NOT NULL
);

CREATE TABLE published_inbox (
    name         TEXT PRIMARY KEY,
    list         TEXT NOT NULL,
    published_ms BIGINT NOT NULL
);

CREATE TABLE notified_calls (
    event_id TEXT PRIMARY KEY,
    told_ms  BIGINT NOT NULL,
    step     BIGINT NOT NULL,
    people   TEXT NOT NULL,
    call     TEXT NOT NULL
);
