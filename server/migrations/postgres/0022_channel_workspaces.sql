-- PostgreSQL's form of sqlite/0022_channel_workspaces.sql: the workspace a channel belongs to.
ALTER TABLE notify_channels ADD COLUMN workspace TEXT NOT NULL DEFAULT 'default';
