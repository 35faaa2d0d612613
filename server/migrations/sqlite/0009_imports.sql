-- Sessions imported from a JSON export (`server/src/imports.rs`): read-only, replayed from
-- `document`, the export as it was uploaded (compact JSON). `digest` is the export's digest over
-- the session's events, checked (with each thread's) before the row was written; `events` and
-- `threads` count what it holds.
CREATE TABLE imports (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    title             TEXT NOT NULL,
    agent             TEXT NOT NULL,
    source_session_id TEXT NOT NULL,
    digest            TEXT NOT NULL,
    events            INTEGER NOT NULL,
    threads           INTEGER NOT NULL,
    imported_by       TEXT NOT NULL,
    imported_at       TEXT NOT NULL,
    document          TEXT NOT NULL
);
