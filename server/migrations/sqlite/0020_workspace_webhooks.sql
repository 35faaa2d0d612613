-- A connected workspace's incoming webhooks (`POST /webhooks/anthropic/<id>`): the signing secret
-- (`whsec_…`) the upstream gave its endpoint, sealed with SWITCHBOARD_SECRET_KEY as the API key is
-- (for the id with `/webhook` and the address); NULL: none set, and the route answers 404. The
-- default workspace's secret stays SWITCHBOARD_WEBHOOK_SECRET.
ALTER TABLE workspaces ADD COLUMN sealed_webhook_secret BLOB;
