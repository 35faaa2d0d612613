-- Issue 64: `switchboard login`, the OAuth 2.0 device authorization grant (RFC 8628) against
-- Switchboard itself. A terminal asks for a code (`/auth/device/code`), a person approves it on
-- the console's /device page with a workspace and roles, and the terminal's next poll
-- (`/auth/device/token`) makes the token and receives it, once. The device code is kept as its
-- SHA-256; the token's secret is never kept here (it is made when the terminal takes it).
CREATE TABLE device_logins (
    device_hash   TEXT PRIMARY KEY,
    -- what the person types or follows: 8 letters, without the dash
    user_code     TEXT NOT NULL UNIQUE,
    -- what the terminal says it is (its host name), for the token's name
    client_name   TEXT NOT NULL,
    created_unix  INTEGER NOT NULL,
    expires_unix  INTEGER NOT NULL,
    -- pending | approved | denied | taken
    state         TEXT NOT NULL,
    -- set on approval
    user_id       INTEGER,
    workspace     TEXT,
    roles         TEXT,
    -- the token made when the terminal took it
    token_id      TEXT,
    -- the terminal's last poll (unix ms), for `slow_down`
    polled_ms     INTEGER NOT NULL DEFAULT 0
) STRICT;
