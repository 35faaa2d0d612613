-- Worker credentials that can be revoked and that die with what they belong to (issue 62).
--
-- An environment key can be listed (without its value: `hint` is its last four characters, to
-- tell keys apart) and revoked; a revoked key, or one whose environment is archived or deleted,
-- reaches nothing. `last_used_us` is written at most once a minute, as a key is used.
ALTER TABLE environment_keys ADD COLUMN hint TEXT;
ALTER TABLE environment_keys ADD COLUMN revoked_at TEXT;
ALTER TABLE environment_keys ADD COLUMN last_used_us INTEGER;
UPDATE environment_keys SET revoked_at = created_at
  WHERE environment_id NOT IN (SELECT id FROM environments WHERE archived = 0);
CREATE INDEX environment_keys_by_environment ON environment_keys (environment_id);

-- One sessions token per work item: the one its latest claim handed out, with the key that
-- polled it (`key_id`), whose revocation voids it. A new claim replaces it; an item that goes back
-- to the queue or stops loses it. Before, every poll added a token and all stayed valid until the
-- item stopped: keep only each live item's newest.
ALTER TABLE work_tokens ADD COLUMN key_id TEXT;
DELETE FROM work_tokens
  WHERE work_id IN (SELECT id FROM work WHERE state = 'stopped' OR (state = 'queued' AND polled_us IS NULL))
     OR rowid NOT IN (SELECT max(rowid) FROM work_tokens GROUP BY work_id);
DROP INDEX work_tokens_by_work;
CREATE UNIQUE INDEX work_tokens_one_per_item ON work_tokens (work_id);
