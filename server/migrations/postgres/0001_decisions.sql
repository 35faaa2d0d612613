-- PostgreSQL's form of sqlite/0001_decisions.sql (the same step; `tests/schema.rs` compares the
-- two schemas). One row per answered call: the (session, event id) key is what stops two people
-- answering one tool call, whichever replica each reached.
CREATE TABLE decisions (
    session_id   TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    -- allow | deny | answered (a custom tool's result)
    result       TEXT NOT NULL,
    deny_message TEXT,
    decided_by   TEXT NOT NULL,
    -- RFC 3339, UTC
    decided_at   TEXT NOT NULL,
    -- sending | sent
    state        TEXT NOT NULL DEFAULT 'sending',
    PRIMARY KEY (session_id, event_id)
);
