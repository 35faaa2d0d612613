-- Memory stores (beta agent-memory-2026-07-22): stores, their memories, and the append-only
-- history of every change. `memory_stores.body` is the store as the API returns it. Memories and
-- versions are kept in columns, since lists filter and order on them; deleting a store deletes
-- both (ON DELETE CASCADE). A memory's row goes when it is deleted; its versions stay.
CREATE TABLE memory_stores (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    created_us INTEGER NOT NULL,
    archived INTEGER NOT NULL DEFAULT 0
);

-- Paths compare byte-wise (SQLite's BINARY collation on UTF-8), so a directory `/a/` is the
-- range [`/a/`, `/a0`) of the (store_id, path) index: listings seek, never scan.
CREATE TABLE memories (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    store_id TEXT NOT NULL REFERENCES memory_stores (id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    content TEXT NOT NULL,
    content_sha256 TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    version_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (store_id, path)
);

-- One row per change, never removed while its store exists; only redaction changes a row (it
-- empties path, content, content_sha256 and size_bytes). `created_by` is the actor as JSON; the
-- actor's ids are repeated in columns for the list filters.
CREATE TABLE memory_versions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    store_id TEXT NOT NULL REFERENCES memory_stores (id) ON DELETE CASCADE,
    memory_id TEXT NOT NULL,
    operation TEXT NOT NULL,
    path TEXT,
    content TEXT,
    content_sha256 TEXT,
    size_bytes INTEGER,
    created_by TEXT,
    session_id TEXT,
    api_key_id TEXT,
    redacted_at TEXT,
    redacted_by TEXT,
    created_at TEXT NOT NULL,
    created_us INTEGER NOT NULL
);
CREATE INDEX memory_versions_by_store ON memory_versions (store_id, seq);
CREATE INDEX memory_versions_by_memory ON memory_versions (memory_id, seq);
