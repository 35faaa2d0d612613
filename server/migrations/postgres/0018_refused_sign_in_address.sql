-- PostgreSQL's form of sqlite/0018_refused_sign_in_address.sql: the address a refused sign-in's
-- entry counts, its index, and the append-only check guarding it too.
ALTER TABLE audit ADD COLUMN address TEXT;

CREATE INDEX audit_refused_sign_ins ON audit (address, action, at) WHERE address IS NOT NULL;

CREATE OR REPLACE FUNCTION audit_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id IS DISTINCT FROM OLD.id
        OR NEW.at IS DISTINCT FROM OLD.at
        OR NEW.user_id IS DISTINCT FROM OLD.user_id
        OR NEW.username IS DISTINCT FROM OLD.username
        OR NEW.roles IS DISTINCT FROM OLD.roles
        OR NEW.ip IS DISTINCT FROM OLD.ip
        OR NEW.user_agent IS DISTINCT FROM OLD.user_agent
        OR NEW.action IS DISTINCT FROM OLD.action
        OR NEW.workspace IS DISTINCT FROM OLD.workspace
        OR NEW.address IS DISTINCT FROM OLD.address
        OR (OLD.outcome <> 'pending' AND NOT (
            OLD.action IN ('auth/login', 'auth/sso')
            AND OLD.outcome <> 'ok'
            AND NEW.attempts > OLD.attempts
            AND NEW.targets IS NOT DISTINCT FROM OLD.targets
            AND NEW.detail IS NOT DISTINCT FROM OLD.detail
            AND NEW.outcome IS NOT DISTINCT FROM OLD.outcome
            AND NEW.status IS NOT DISTINCT FROM OLD.status
            AND NEW.error IS NOT DISTINCT FROM OLD.error
        ))
        OR (OLD.outcome = 'pending' AND NEW.attempts IS DISTINCT FROM OLD.attempts)
    THEN
        RAISE EXCEPTION 'audit entries cannot be changed';
    END IF;
    RETURN NEW;
END;
$$;
