-- PostgreSQL's form of sqlite/0021_slack.sql. Deciding in Slack (server/src/slack). A workspace's
-- Slack app: the channel its waiting calls are posted to, and its bot token and signing secret,
-- each sealed with the channels' key derived from
-- SWITCHBOARD_SECRET_KEY where one is set (bound to the workspace and the field).
CREATE TABLE slack_apps (
    workspace TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    bot_token TEXT NOT NULL,
    signing_secret TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- One message per waiting call: claimed before it is posted (so that of two replicas one posts),
-- then given Slack's channel and timestamp (`ts`, the message's id for chat.update). `settled` is
-- the text the message was last updated with once the call was decided; NULL while it waits.
-- `call` is the call as the inbox listed it (JSON), to write the message again when it is updated.
CREATE TABLE slack_messages (
    workspace TEXT NOT NULL,
    event_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    call TEXT NOT NULL,
    channel TEXT,
    ts TEXT,
    settled TEXT,
    claimed_at TEXT NOT NULL,
    PRIMARY KEY (workspace, event_id)
);

-- Who a Slack user is here: linked once by the person themselves, through the one-time link
-- Slack showed only them, while signed in to Switchboard.
CREATE TABLE slack_people (
    team_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    username TEXT NOT NULL,
    linked_at TEXT NOT NULL,
    PRIMARY KEY (team_id, user_id)
);

-- The signatures of Slack's requests taken within their five minutes: the same request again is
-- a replay, refused. Rows older than the window are removed as new ones come.
CREATE TABLE slack_requests (
    signature TEXT PRIMARY KEY,
    received_ms BIGINT NOT NULL
);
