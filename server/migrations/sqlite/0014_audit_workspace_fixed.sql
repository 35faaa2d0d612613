-- Issue 20: an audit entry's workspace (0013) is one of the columns that say who did what
-- where: like them, it cannot be changed, even while the entry's outcome is pending. The trigger
-- of 0010 is made again with the column among the ones it guards.
DROP TRIGGER audit_is_append_only;

CREATE TRIGGER audit_is_append_only BEFORE UPDATE ON audit
WHEN OLD.outcome <> 'pending'
    OR NEW.id IS NOT OLD.id
    OR NEW.at IS NOT OLD.at
    OR NEW.user_id IS NOT OLD.user_id
    OR NEW.username IS NOT OLD.username
    OR NEW.roles IS NOT OLD.roles
    OR NEW.ip IS NOT OLD.ip
    OR NEW.user_agent IS NOT OLD.user_agent
    OR NEW.action IS NOT OLD.action
    OR NEW.workspace IS NOT OLD.workspace
BEGIN
    SELECT RAISE(ABORT, 'audit entries cannot be changed');
END;
