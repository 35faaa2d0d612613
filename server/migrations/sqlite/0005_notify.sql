-- Email of waiting calls, for the people who asked for it (an approver's own choice).
CREATE TABLE notify_email (
    username   TEXT PRIMARY KEY,
    address    TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- The links those emails carry are single-use: a link's nonce is kept here once opened.
CREATE TABLE link_uses (
    nonce    TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    used_at  TEXT NOT NULL
);

-- A team's channels: every batch of waiting calls also goes to each. `url` is write-only (a Slack
-- incoming webhook's URL is its secret); `secret` signs a `webhook` channel's JSON.
CREATE TABLE notify_channels (
    id         INTEGER PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('slack', 'webhook')),
    name       TEXT NOT NULL,
    url        TEXT NOT NULL,
    secret     TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
