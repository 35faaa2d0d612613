-- The embedded engine's store. Objects are kept as the JSON the API returns; the columns beside
-- them are what lists filter and order on. `seq` orders every list (creation order).

CREATE TABLE agents (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    latest_version INTEGER NOT NULL,
    created_us INTEGER NOT NULL,
    archived_at TEXT
);

-- Every version of every agent, immutable once written.
CREATE TABLE agent_versions (
    agent_id TEXT NOT NULL REFERENCES agents (id),
    version INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (agent_id, version)
);

CREATE TABLE environments (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    created_us INTEGER NOT NULL,
    archived INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE sessions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    created_us INTEGER NOT NULL,
    archived INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    agent_version INTEGER NOT NULL,
    environment_id TEXT NOT NULL,
    -- Where the runtime is in the session's script and what it waits for (JSON).
    runtime TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX sessions_by_agent ON sessions (agent_id, agent_version);
CREATE INDEX sessions_by_environment ON sessions (environment_id);

-- Append-only: rows are only ever inserted (and removed with their session).
CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL,
    id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    processed_us INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX events_by_session ON events (session_id, seq);

CREATE TABLE files (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    created_us INTEGER NOT NULL,
    scope_id TEXT,
    -- For files an agent wrote: the path under the session's outputs they came from.
    output_path TEXT,
    output_mtime INTEGER
);
CREATE INDEX files_by_scope ON files (scope_id, seq);

CREATE TABLE session_resources (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    session_id TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX resources_by_session ON session_resources (session_id, seq);

CREATE TABLE engine_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
