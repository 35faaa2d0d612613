-- PostgreSQL's form of sqlite/0006_policies.sql.
CREATE TABLE policies (
    agent_id           TEXT PRIMARY KEY,
    required_approvals BIGINT NOT NULL CHECK (required_approvals IN (1, 2)),
    no_self_approval   BIGINT NOT NULL DEFAULT 0,
    escalation         TEXT NOT NULL DEFAULT '[]',
    quiet_hours        TEXT,
    updated_by         TEXT NOT NULL,
    updated_at         TEXT NOT NULL
);

CREATE TABLE sent_messages (
    session_id TEXT NOT NULL,
    event_id   TEXT NOT NULL,
    username   TEXT NOT NULL,
    label      TEXT NOT NULL,
    sent_at    TEXT NOT NULL,
    PRIMARY KEY (session_id, event_id)
);

CREATE TABLE approvals (
    session_id  TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    username    TEXT NOT NULL,
    label       TEXT NOT NULL,
    approved_at TEXT NOT NULL,
    PRIMARY KEY (session_id, event_id, username)
);
