-- Self-hosted environments (issue 47): the work queue workers poll, and the credentials they use.
--
-- Environment keys are issued by the engine (`switchboard engine environment-key ENV_ID`; no API
-- route makes them), shown once and kept only as their SHA-256.
CREATE TABLE environment_keys (
    id TEXT PRIMARY KEY,
    environment_id TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);

-- A work item: one session that needs a worker. `body` is the Work object as the API answers it
-- (without its secret); the columns beside it are what the queue claims and expires on.
-- `last_heartbeat` is the value a worker must echo as `expected_last_heartbeat`.
CREATE TABLE work (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    environment_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    state TEXT NOT NULL,
    body TEXT NOT NULL,
    created_us INTEGER NOT NULL,
    polled_us INTEGER,
    worker_id TEXT,
    last_heartbeat TEXT,
    lease_until_us INTEGER,
    reclaims INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX work_queue ON work (environment_id, state, seq);
CREATE INDEX work_by_session ON work (session_id, state);
-- The gauges count the live items by state; stopped ones are never read again but by id.
CREATE INDEX work_by_state ON work (state);

-- The sessions tokens poll hands out in a work item's `secret`, kept as their SHA-256: each lets
-- a worker reach that one session (and heartbeat or stop that one item) until the item stops.
CREATE TABLE work_tokens (
    token_hash TEXT PRIMARY KEY,
    work_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    environment_id TEXT NOT NULL
);
CREATE INDEX work_tokens_by_work ON work_tokens (work_id);
