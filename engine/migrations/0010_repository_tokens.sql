-- The tokens of sessions' github_repository resources (issue 65): write-only, so never in the
-- resource's body, which the API answers. Sealed for their resource with the engine's secret key
-- when it has one (as vault credentials' secrets are); rotated through the resource's route; gone
-- with their session.
CREATE TABLE repository_tokens (
    resource_id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    token TEXT NOT NULL
);
CREATE INDEX repository_tokens_by_session ON repository_tokens (session_id);
