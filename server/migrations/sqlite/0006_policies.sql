-- Approval policies (app/src/api/policies.rs): one per agent, or '*' for every agent without its
-- own. `escalation` is JSON ([{ "people": [usernames], "after_secs": n }]); `quiet_hours` is JSON
-- ({ "start", "end", "utc_offset_minutes" }) or NULL.
CREATE TABLE policies (
    agent_id           TEXT PRIMARY KEY,
    required_approvals INTEGER NOT NULL CHECK (required_approvals IN (1, 2)),
    no_self_approval   INTEGER NOT NULL DEFAULT 0,
    escalation         TEXT NOT NULL DEFAULT '[]',
    quiet_hours        TEXT,
    updated_by         TEXT NOT NULL,
    -- RFC 3339, UTC
    updated_at         TEXT NOT NULL
) STRICT;

-- Who sent which `user.message` through Switchboard, so that "who sent the message that led to
-- this call" is a lookup. `event_id` '' is the session's initial message (its first), sent when
-- Switchboard created the session.
CREATE TABLE sent_messages (
    session_id TEXT NOT NULL,
    event_id   TEXT NOT NULL,
    username   TEXT NOT NULL,
    label      TEXT NOT NULL,
    sent_at    TEXT NOT NULL,
    PRIMARY KEY (session_id, event_id)
) STRICT;

-- Approvals of calls under a two-approver policy: one row per person and call. The decision that
-- goes upstream is still one row of `decisions`.
CREATE TABLE approvals (
    session_id  TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    username    TEXT NOT NULL,
    label       TEXT NOT NULL,
    approved_at TEXT NOT NULL,
    PRIMARY KEY (session_id, event_id, username)
) STRICT;
