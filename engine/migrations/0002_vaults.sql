-- Vaults and their credentials. `body` is the object exactly as the API returns it and never holds
-- a secret; the write-only fields (access_token, refresh_token, client_secret, token, secret_value)
-- live only in `secrets` (JSON), which no endpoint reads back. Archiving a credential empties it.

CREATE TABLE vaults (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    created_us INTEGER NOT NULL,
    archived INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE vault_credentials (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    vault_id TEXT NOT NULL REFERENCES vaults (id) ON DELETE CASCADE,
    body TEXT NOT NULL,
    secrets TEXT NOT NULL DEFAULT '{}',
    created_us INTEGER NOT NULL,
    archived INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX vault_credentials_by_vault ON vault_credentials (vault_id, seq);
