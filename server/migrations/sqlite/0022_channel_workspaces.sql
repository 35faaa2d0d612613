-- A team's channel belongs to a workspace, as its Slack app does: it gets that workspace's waiting
-- calls, with links that open them there. Channels made before belong to the default workspace.
ALTER TABLE notify_channels ADD COLUMN workspace TEXT NOT NULL DEFAULT 'default';
