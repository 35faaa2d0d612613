-- Refused sign-ins are counted, not written one by one: anyone can send them, and an entry each
-- let someone without an account grow the log without bound. The first refusal of a client
-- address at a username (`auth/login`, `auth/sso`) in a window of 15 minutes writes an entry;
-- later ones in that window add to its `attempts` (`audit::SqliteAudit::append_refused_sign_in`).
-- Every other entry is one attempt.
ALTER TABLE audit ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1;

-- The trigger of 0014 again, with one more change allowed: a refused sign-in's `attempts` may
-- grow, and nothing else about it change. Every other entry (a sign-in that worked too) stays
-- as 0014 guards it.
DROP TRIGGER audit_is_append_only;

CREATE TRIGGER audit_is_append_only BEFORE UPDATE ON audit
WHEN NEW.id IS NOT OLD.id
    OR NEW.at IS NOT OLD.at
    OR NEW.user_id IS NOT OLD.user_id
    OR NEW.username IS NOT OLD.username
    OR NEW.roles IS NOT OLD.roles
    OR NEW.ip IS NOT OLD.ip
    OR NEW.user_agent IS NOT OLD.user_agent
    OR NEW.action IS NOT OLD.action
    OR NEW.workspace IS NOT OLD.workspace
    OR (OLD.outcome <> 'pending' AND NOT (
        OLD.action IN ('auth/login', 'auth/sso')
        AND OLD.outcome <> 'ok'
        AND NEW.attempts > OLD.attempts
        AND NEW.targets IS OLD.targets
        AND NEW.detail IS OLD.detail
        AND NEW.outcome IS OLD.outcome
        AND NEW.status IS OLD.status
        AND NEW.error IS OLD.error
    ))
    OR (OLD.outcome = 'pending' AND NEW.attempts IS NOT OLD.attempts)
BEGIN
    SELECT RAISE(ABORT, 'audit entries cannot be changed');
END;
