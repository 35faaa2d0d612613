-- Issue 20: people manage their own sign-in.
--
-- An admin who creates an account or sets its password may require its owner to choose their own
-- at the next sign-in (so the admin does not keep knowing it). Until they do, that sign-in opens
-- only the Account page. Changing one's own password clears it.
ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0;

-- Where a login began, for its owner's list of open sign-ins (logins from before have none).
ALTER TABLE logins ADD COLUMN ip TEXT;
ALTER TABLE logins ADD COLUMN user_agent TEXT;
