-- PostgreSQL's form of sqlite/0014_audit_workspace_fixed.sql: the workspace joins the columns
-- that cannot change.
CREATE OR REPLACE FUNCTION audit_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.outcome <> 'pending'
        OR NEW.id IS DISTINCT FROM OLD.id
        OR NEW.at IS DISTINCT FROM OLD.at
        OR NEW.user_id IS DISTINCT FROM OLD.user_id
        OR NEW.username IS DISTINCT FROM OLD.username
        OR NEW.roles IS DISTINCT FROM OLD.roles
        OR NEW.ip IS DISTINCT FROM OLD.ip
        OR NEW.user_agent IS DISTINCT FROM OLD.user_agent
        OR NEW.action IS DISTINCT FROM OLD.action
        OR NEW.workspace IS DISTINCT FROM OLD.workspace
    THEN
        RAISE EXCEPTION 'audit entries cannot be changed';
    END IF;
    RETURN NEW;
END;
$$;
