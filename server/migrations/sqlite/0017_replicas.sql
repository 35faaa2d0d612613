-- What several Switchboard replicas on one database share (PostgreSQL's form is the same step).
-- On SQLite one process runs, and most of these stay empty: its keys stay in the data directory,
-- its throttle and limits in memory; the leases and the notifier's record work the same.

-- Switchboard's own keys (`support::keys::KeyStore`): the links', devices', single sign-on's and
-- the setup link's, sealed with SWITCHBOARD_SECRET_KEY, bound to their name.
CREATE TABLE shared_keys (
    name    TEXT PRIMARY KEY,
    sealed  BLOB NOT NULL,
    made_at TEXT NOT NULL
) STRICT;

-- Work one replica does for all (`support::cluster::Lease`): the inbox's poller, the notifier.
-- Held by `holder` until `expires_ms` (milliseconds since 1970), renewed while it runs.
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_ms INTEGER NOT NULL
) STRICT;

-- Failed sign-ins (`access::throttle::SqlThrottle`): one row per failure and key (an account, an
-- address, a trusted device), while it is within the window.
CREATE TABLE sign_in_failures (
    key   TEXT NOT NULL,
    at_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX sign_in_failures_key ON sign_in_failures (key, at_ms);

-- Per-person and signed-out limits (`access::limit_counters::SqlCounters`): each one's request
-- bucket, and the streams each replica holds open for them (a replica that stops seeing itself
-- in `replicas` no longer counts).
CREATE TABLE limit_buckets (
    who         TEXT PRIMARY KEY,
    tokens      REAL NOT NULL,
    refilled_ms INTEGER NOT NULL
) STRICT;
CREATE TABLE limit_streams (
    who     TEXT NOT NULL,
    replica TEXT NOT NULL,
    streams INTEGER NOT NULL,
    PRIMARY KEY (who, replica)
) STRICT;
CREATE TABLE replicas (
    id      TEXT PRIMARY KEY,
    seen_ms INTEGER NOT NULL
) STRICT;

-- The inbox as its poller last published it (`approvals::inbox`), for the replicas that do not
-- poll: JSON of `InboxList`.
CREATE TABLE published_inbox (
    name         TEXT PRIMARY KEY,
    list         TEXT NOT NULL,
    published_ms INTEGER NOT NULL
) STRICT;

-- The calls the notifier told people of (`notify::notifier`), so that a replica taking over
-- tells nobody twice: when, the escalation step told last, who was emailed, the call (JSON).
CREATE TABLE notified_calls (
    event_id TEXT PRIMARY KEY,
    told_ms  INTEGER NOT NULL,
    step     INTEGER NOT NULL,
    people   TEXT NOT NULL,
    call     TEXT NOT NULL
) STRICT;
