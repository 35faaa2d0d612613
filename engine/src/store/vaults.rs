//! Vaults and credentials in the store.
//!
//! A credential row keeps the object the API returns (`body`, never a secret) apart from its
//! write-only fields (`secrets`). Nothing here hands `secrets` to an answer: the API layer gets
//! them only to carry them over into the next version of the row.
//!
//! With the engine's secret key ([`Store::secret_key`]) `secrets` is sealed text bound to the
//! credential's id ([`crate::sealing`]); without one it is plain JSON. Rows written before a key
//! was set are sealed when the engine opens with one ([`Store::seal_credentials`]).

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::Row;

use super::{Store, json};
use crate::error::{ApiError, ApiResult};

/// The write-only fields of a credential, whichever of them its auth type has.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Secrets {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_value: Option<String>,
}

/// Names which secrets are set, never their values (so a stray `{:?}` in a log leaks nothing).
impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = |s: &Option<String>| if s.is_some() { "<set>" } else { "<none>" };
        f.debug_struct("Secrets")
            .field("access_token", &set(&self.access_token))
            .field("refresh_token", &set(&self.refresh_token))
            .field("client_secret", &set(&self.client_secret))
            .field("token", &set(&self.token))
            .field("secret_value", &set(&self.secret_value))
            .finish()
    }
}

/// A stored credential: whether it is archived, its answer body, its secrets.
pub struct StoredCredential {
    pub archived: bool,
    pub body: Value,
    pub secrets: Secrets,
}

/// Why a credential could not be added to a vault.
pub enum AddCredential {
    Added,
    NoVault,
    VaultArchived,
}

impl Store {
    /// The first live credential of vault `vault_id` for the MCP server at `url` (a trailing `/`
    /// aside): its id.
    pub async fn credential_for_mcp_server(&self, vault_id: &str, url: &str) -> ApiResult<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM vault_credentials WHERE vault_id = ? AND archived = 0 \
             AND rtrim(json_extract(body, '$.auth.mcp_server_url'), '/') = ? ORDER BY seq LIMIT 1",
        )
        .bind(vault_id)
        .bind(url.trim_end_matches('/'))
        .fetch_optional(&self.pool)
        .await?)
    }

    /// A credential's secrets as stored: sealed for credential `id` when the engine has a key.
    fn stored_secrets(&self, id: &str, secrets: &Secrets) -> ApiResult<String> {
        let plain = serde_json::to_string(secrets)?;
        Ok(match &self.secret_key {
            Some(key) => key.seal_text(id, &plain),
            None => plain,
        })
    }

    /// What [`Store::stored_secrets`] stored for credential `id`.
    fn read_secrets(&self, id: &str, stored: &str) -> ApiResult<Secrets> {
        let plain = if crate::sealing::is_sealed(stored) {
            let opened = self.secret_key.as_ref().and_then(|key| key.open_text(id, stored));
            opened.ok_or_else(|| {
                ApiError::internal(format!(
                    "the secrets of credential {id} are sealed with a key the engine does not have: set SWITCHBOARD_ENGINE_SECRET_KEY (or, embedded, SWITCHBOARD_SECRET_KEY) to the key they were sealed with"
                ))
            })?
        } else {
            stored.to_owned()
        };
        serde_json::from_str(&plain).map_err(ApiError::internal)
    }

    /// With a key: seals every credential still stored in plain text (written before the key was
    /// set), in one transaction, then rewrites the database file so that no page keeps the plain
    /// text (`VACUUM`, and the write-ahead log truncated). Without one: counts the sealed rows,
    /// which cannot be used until the key is back. Returns how many rows it sealed, or found
    /// sealed.
    pub async fn seal_credentials(&self) -> Result<u64, sqlx::Error> {
        let Some(key) = &self.secret_key else {
            let sealed: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM vault_credentials WHERE secrets LIKE 'sealed:%'")
                    .fetch_one(&self.pool)
                    .await?;
            return Ok(sealed as u64);
        };
        let mut tx = self.pool.begin().await?;
        let plain: Vec<(String, String)> = sqlx::query_as(
            "SELECT id, secrets FROM vault_credentials WHERE secrets NOT LIKE 'sealed:%' AND secrets != '{}'",
        )
        .fetch_all(&mut *tx)
        .await?;
        for (id, secrets) in &plain {
            sqlx::query("UPDATE vault_credentials SET secrets = ? WHERE id = ?")
                .bind(key.seal_text(id, secrets))
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        // Repositories' tokens too, each sealed for its resource.
        let tokens: Vec<(String, String)> =
            sqlx::query_as("SELECT resource_id, token FROM repository_tokens WHERE token NOT LIKE 'sealed:%'")
                .fetch_all(&mut *tx)
                .await?;
        for (id, token) in &tokens {
            sqlx::query("UPDATE repository_tokens SET token = ? WHERE resource_id = ?")
                .bind(key.seal_text(id, token))
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        let plain = [plain, tokens].concat();
        tx.commit().await?;
        if !plain.is_empty() {
            super::scrub(&self.pool).await?;
        }
        Ok(plain.len() as u64)
    }
    /// (archived, body) of a vault.
    pub async fn vault(&self, id: &str) -> ApiResult<(bool, Value)> {
        self.archivable("vaults", "vault", id).await
    }

    /// Writes a vault's new body.
    pub async fn write_vault(&self, id: &str, body: &Value) -> ApiResult<()> {
        sqlx::query("UPDATE vaults SET body = ? WHERE id = ?")
            .bind(body.to_string())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Archives a vault (its new `body`) and, in the same transaction, every credential in it
    /// that is not archived yet, forgetting their secrets. Answers the credentials it archived.
    pub async fn archive_vault(&self, id: &str, body: &Value, at: &str) -> ApiResult<Vec<String>> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE vaults SET body = ?, archived = 1 WHERE id = ?")
            .bind(body.to_string())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let credentials = sqlx::query_scalar(
            "UPDATE vault_credentials SET archived = 1, secrets = '{}', \
             body = json_set(body, '$.archived_at', ?, '$.updated_at', ?) \
             WHERE vault_id = ? AND archived = 0 RETURNING id",
        )
        .bind(at)
        .bind(at)
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(credentials)
    }

    /// Deletes a vault and every credential in it, in one transaction. Answers the credentials
    /// deleted, or `None` if there was no such vault.
    pub async fn delete_vault(&self, id: &str) -> ApiResult<Option<Vec<String>>> {
        let mut tx = self.pool.begin().await?;
        let credentials = sqlx::query_scalar("DELETE FROM vault_credentials WHERE vault_id = ? RETURNING id")
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
        let done = sqlx::query("DELETE FROM vaults WHERE id = ?").bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok((done.rows_affected() > 0).then_some(credentials))
    }

    /// Adds a credential to a vault that exists and is not archived (checked in the same statement,
    /// so an archive or a delete of the vault cannot slip in between).
    pub async fn insert_credential(
        &self,
        vault_id: &str,
        id: &str,
        body: &Value,
        secrets: &Secrets,
        created_us: i64,
    ) -> ApiResult<AddCredential> {
        let done = sqlx::query(
            "INSERT INTO vault_credentials (id, vault_id, body, secrets, created_us) \
             SELECT ?, id, ?, ?, ? FROM vaults WHERE id = ? AND archived = 0",
        )
        .bind(id)
        .bind(body.to_string())
        .bind(self.stored_secrets(id, secrets)?)
        .bind(created_us)
        .bind(vault_id)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() > 0 {
            return Ok(AddCredential::Added);
        }
        let archived: Option<i64> = sqlx::query_scalar("SELECT archived FROM vaults WHERE id = ?")
            .bind(vault_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match archived {
            None => AddCredential::NoVault,
            Some(_) => AddCredential::VaultArchived,
        })
    }

    /// A credential of a vault (404 if the vault has no such credential).
    pub async fn credential(&self, vault_id: &str, id: &str) -> ApiResult<StoredCredential> {
        let row = sqlx::query("SELECT archived, body, secrets FROM vault_credentials WHERE vault_id = ? AND id = ?")
            .bind(vault_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| ApiError::not_found("credential", id))?;
        Ok(StoredCredential {
            archived: row.get::<i64, _>(0) != 0,
            body: json(row.get(1))?,
            secrets: self.read_secrets(id, row.get(2))?,
        })
    }

    /// Writes a credential's new body and secrets.
    pub async fn write_credential(&self, vault_id: &str, id: &str, body: &Value, secrets: &Secrets) -> ApiResult<()> {
        sqlx::query("UPDATE vault_credentials SET body = ?, secrets = ? WHERE vault_id = ? AND id = ?")
            .bind(body.to_string())
            .bind(self.stored_secrets(id, secrets)?)
            .bind(vault_id)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Marks a credential archived with its new body, and forgets its secrets: an archived
    /// credential is never used or changed again.
    pub async fn archive_credential(&self, vault_id: &str, id: &str, body: &Value) -> ApiResult<()> {
        sqlx::query(
            "UPDATE vault_credentials SET body = ?, secrets = '{}', archived = 1 WHERE vault_id = ? AND id = ?",
        )
        .bind(body.to_string())
        .bind(vault_id)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Deletes a credential of a vault. False if there was none.
    pub async fn delete_credential(&self, vault_id: &str, id: &str) -> ApiResult<bool> {
        let done = sqlx::query("DELETE FROM vault_credentials WHERE vault_id = ? AND id = ?")
            .bind(vault_id)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}
