-- PostgreSQL's form of sqlite/0026_creators.sql.
CREATE TABLE creators (
    workspace  TEXT NOT NULL,
    object_id  TEXT NOT NULL,
    kind       TEXT NOT NULL,
    user_id    BIGINT NOT NULL,
    username   TEXT NOT NULL,
    via        TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (workspace, object_id)
);

CREATE INDEX creators_made_by ON creators (workspace, kind, user_id, created_at, object_id);
