-- Issue 20: a signed-in person's mutation is on record before it goes upstream. Its entry is
-- written first with the outcome `pending` (status 0), and its outcome (outcome, status, error,
-- the ids the request and its answer named, the detail) filled in once, afterwards. An entry
-- left `pending` is one whose outcome nobody saw: the server stopped while it ran.
--
-- Only that one change is allowed: an entry that is not pending, and every column that says who
-- did what and when, still cannot be changed.
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
BEGIN
    SELECT RAISE(ABORT, 'audit entries cannot be changed');
END;
