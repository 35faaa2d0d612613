-- PostgreSQL's form of sqlite/0013_workspaces.sql. A connected workspace's own records live in a
-- schema of their own (`ws_<id>`), as SQLite keeps them in a file of their own.
CREATE TABLE workspaces (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    base_url    TEXT NOT NULL,
    sealed_key  BYTEA NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE workspace_grants (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    roles        TEXT NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
);

ALTER TABLE audit ADD COLUMN workspace TEXT;
CREATE INDEX audit_workspace ON audit (workspace, id);
