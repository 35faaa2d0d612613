-- PostgreSQL's form of sqlite/0003_logins.sql.
CREATE TABLE logins (
    id         TEXT PRIMARY KEY,
    user_id    BIGINT NOT NULL,
    started_at TEXT NOT NULL
);

CREATE INDEX logins_user ON logins (user_id);
