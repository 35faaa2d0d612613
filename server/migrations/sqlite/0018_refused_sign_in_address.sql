-- Refused sign-ins are grouped by what the `audit` table holds (`audit::AuditLog::append_refused_sign_in`),
-- so that replicas sharing it group them as one process did: `address` is the client address an
-- entry of a refused sign-in counts (as the sign-in throttle counts addresses: an IPv6 address by
-- its /64), NULL on every other entry, and the index finds an address's entries of the last window.
ALTER TABLE audit ADD COLUMN address TEXT;

CREATE INDEX audit_refused_sign_ins ON audit (address, action, at) WHERE address IS NOT NULL;

-- The trigger of 0016 again, with the new column kept as written.
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
    OR NEW.address IS NOT OLD.address
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
