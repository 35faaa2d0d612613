-- PostgreSQL's form of sqlite/0020_workspace_webhooks.sql: a connected workspace's webhook signing
-- secret, sealed; NULL when none is set.
ALTER TABLE workspaces ADD COLUMN sealed_webhook_secret BYTEA;
