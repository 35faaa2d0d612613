-- One row per login. The login cookie's session names its row; signing out deletes it. A request
-- still in flight that saves the old session back after a sign-out cannot bring the login back,
-- and an open event stream learns of the sign-out at its next check.
CREATE TABLE logins (
    id         TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL,
    -- RFC 3339, UTC
    started_at TEXT NOT NULL
) STRICT;

CREATE INDEX logins_user ON logins (user_id);
