-- PostgreSQL's form of sqlite/0011_self_service.sql.
ALTER TABLE users ADD COLUMN must_change_password BIGINT NOT NULL DEFAULT 0;

ALTER TABLE logins ADD COLUMN ip TEXT;
ALTER TABLE logins ADD COLUMN user_agent TEXT;
