//! Personal access tokens (`domain::tokens`): their rows in the main database (`api_tokens`), and
//! the check that turns a token a program sent to `/v1/…` into the person it acts for. Each check
//! reads the database, so a token revoked or a person disabled on one replica is refused on every
//! other at its next request; the workspace layer then keeps only the token's roles that the
//! person still holds in its workspace (`tenancy::workspaces::select`). Making, listing and
//! revoking, which need the workspaces, are `gateway::tokens`'.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use domain::{
    auth::{Principal, Role, parse_roles},
    tokens::{PREFIX, TokenRow},
};
use sqlx::{AnyPool, Row};

use crate::{access::accounts::Accounts, support::StoreError};

/// The token a `/v1/…` request came with, put on it beside its [`Principal`]: the workspace it
/// acts in and the roles it was given (the workspace layer narrows the person's to these).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenCaller {
    /// A personal token's `tok_…`; a provider's token's subject.
    pub id: String,
    /// A personal token's name; a provider's token's client.
    pub name: String,
    pub workspace: String,
    pub roles: Vec<Role>,
    /// Unix seconds: the token stops working then (an open stream ends).
    pub expires_unix: i64,
    pub source: CallerSource,
}

/// Where a `/v1/…` caller's token comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallerSource {
    /// A personal access token of this Switchboard's (`sbp_…`).
    Personal,
    /// A token of the single sign-on provider's, given to a program (`access::service_callers`):
    /// its account, and whether its roles are its groups' (which then hold in its workspace
    /// without a grant there).
    Provider { user_id: i64, mapped: bool },
}

impl TokenCaller {
    /// How the audit log names the credential: `token CI deploys (tok_…)`, or
    /// `provider token of ci-deployer (…)`.
    pub fn label(&self) -> String {
        match self.source {
            CallerSource::Personal => format!("token {} ({})", self.name, self.id),
            CallerSource::Provider { .. } => format!("provider token of {} ({})", self.name, self.id),
        }
    }
}

/// Why a request's token did not let it in, in words for the program's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRefused(pub String);

/// A token as it is first written.
struct NewTokenRow<'a> {
    pub id: &'a str,
    pub user_id: i64,
    pub name: &'a str,
    pub workspace: &'a str,
    pub roles: &'a [Role],
    pub token_hash: &'a str,
    pub hint: &'a str,
    pub created_at: &'a str,
    pub expires_at: &'a str,
    pub expires_unix: i64,
}

/// The tokens' rows, and the check of a presented token.
pub struct ApiTokens {
    pub(super) pool: AnyPool,
    accounts: Arc<Accounts>,
    /// When each token's `last_used_at` was last written here: at most once a minute per token,
    /// so that a busy CI job does not write on every call.
    noted: Mutex<HashMap<String, Instant>>,
}

/// How often a token's last use is written, at most.
const NOTE_EVERY: Duration = Duration::from_secs(60);

const COLUMNS: &str = "t.id, t.user_id, t.name, t.workspace, t.roles, t.hint, t.created_at, t.expires_at, \
    t.expires_unix, t.last_used_at, t.revoked_at, t.revoked_by, u.username";

fn row_of(row: &sqlx::any::AnyRow) -> Result<(TokenRow, i64, i64), sqlx::Error> {
    let token = TokenRow {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        owner: row.try_get::<Option<String>, _>("username")?.unwrap_or_else(|| "(deleted)".to_owned()),
        workspace: row.try_get("workspace")?,
        roles: parse_roles(&row.try_get::<String, _>("roles")?),
        hint: row.try_get("hint")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        last_used_at: row.try_get("last_used_at")?,
        revoked_at: row.try_get("revoked_at")?,
        revoked_by: row.try_get("revoked_by")?,
    };
    Ok((token, row.try_get("user_id")?, row.try_get("expires_unix")?))
}

/// The SHA-256 of a token's secret (or a device code), in hex: what the store keeps.
pub fn hash_of(secret: &str) -> String {
    crate::support::sha256_hex(secret)
}

/// A new secret: [`PREFIX`] and 24 random bytes in hex.
pub fn new_secret() -> String {
    format!("{PREFIX}{}", crate::support::random_hex::<24>())
}

/// Whether `secret` has the form of a JSON web token (three base64url parts, a JSON header):
/// personal access tokens never do.
pub fn is_jwt(secret: &str) -> bool {
    let parts: Vec<&str> = secret.split('.').collect();
    parts.len() == 3
        && parts[0].starts_with("eyJ")
        && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
}

/// The secret a request carries: `x-api-key`, or `Authorization: Bearer` (the SDKs send this).
pub fn presented(headers: &axum::http::HeaderMap) -> Option<&str> {
    let bearer = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")));
    headers.get("x-api-key").and_then(|v| v.to_str().ok()).or(bearer).map(str::trim).filter(|v| !v.is_empty())
}

impl ApiTokens {
    pub fn new(pool: AnyPool, accounts: Arc<Accounts>) -> Self {
        Self { pool, accounts, noted: Mutex::default() }
    }

    async fn insert(&self, token: NewTokenRow<'_>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO api_tokens (id, user_id, name, workspace, roles, token_hash, hint, created_at, expires_at, expires_unix)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(token.id)
        .bind(token.user_id)
        .bind(token.name)
        .bind(token.workspace)
        .bind(domain::auth::roles_text(token.roles))
        .bind(token.token_hash)
        .bind(token.hint)
        .bind(token.created_at)
        .bind(token.expires_at)
        .bind(token.expires_unix)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A new token for `owner`, living `life`: its row and its secret (shown once, never kept).
    pub async fn issue(
        &self,
        owner: &Principal,
        (name, workspace, roles): (&str, &str, &[Role]),
        life: time::Duration,
    ) -> Result<(TokenRow, String), StoreError> {
        let secret = new_secret();
        let now = time::OffsetDateTime::now_utc();
        let expires = now + life;
        let row = TokenRow {
            id: format!("tok_{}", crate::support::random_hex::<8>()),
            name: name.to_owned(),
            owner: owner.username.clone(),
            workspace: workspace.to_owned(),
            roles: roles.to_vec(),
            hint: format!("{}…", &secret[..PREFIX.len() + 4]),
            created_at: domain::format::rfc3339(now),
            expires_at: domain::format::rfc3339(expires),
            last_used_at: None,
            revoked_at: None,
            revoked_by: None,
        };
        self.insert(NewTokenRow {
            id: &row.id,
            user_id: owner.user_id,
            name: &row.name,
            workspace: &row.workspace,
            roles: &row.roles,
            token_hash: &hash_of(&secret),
            hint: &row.hint,
            created_at: &row.created_at,
            expires_at: &row.expires_at,
            expires_unix: expires.unix_timestamp(),
        })
        .await?;
        Ok((row, secret))
    }

    /// The owner's tokens (`Some`) or everyone's, newest first, with the owner's id.
    pub async fn list(&self, owner: Option<i64>) -> Result<Vec<(TokenRow, i64)>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM api_tokens t LEFT JOIN users u ON u.id = t.user_id
             WHERE $1 < 0 OR t.user_id = $1 ORDER BY t.created_at DESC, t.id DESC LIMIT 500"
        ))
        .bind(owner.unwrap_or(-1))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| row_of(r).map(|(t, user, _)| (t, user))).collect::<Result<_, _>>()?)
    }

    /// One token with its owner's id.
    pub async fn get(&self, id: &str) -> Result<Option<(TokenRow, i64)>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM api_tokens t LEFT JOIN users u ON u.id = t.user_id WHERE t.id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(row_of).transpose()?.map(|(t, user, _)| (t, user)))
    }

    /// Revokes token `id` at `at` by `by`; one revoked already keeps its first revocation.
    pub async fn revoke(&self, id: &str, at: &str, by: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE api_tokens SET revoked_at = $1, revoked_by = $2 WHERE id = $3 AND revoked_at IS NULL")
            .bind(at)
            .bind(by)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The person and token behind `secret`, when it is a token of this Switchboard that stands:
    /// not revoked, not expired, its owner enabled and not asked to choose a new password.
    /// `Err(words)` says why not; a database that cannot be read refuses too.
    pub async fn check(&self, secret: &str) -> Result<(Principal, TokenCaller), TokenRefused> {
        let refused = |why: &str| TokenRefused(why.to_owned());
        if !secret.starts_with(PREFIX) {
            return Err(refused(
                "Switchboard takes a personal access token (sbp_…) from your Account page, not an Anthropic API key.",
            ));
        }
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM api_tokens t LEFT JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1"
        ))
        .bind(hash_of(secret))
        .fetch_optional(&self.pool)
        .await
        .map_err(|error| {
            tracing::error!("a token could not be checked: {error}");
            refused("Switchboard could not check the token just now; try again.")
        })?;
        let unknown = "This token is not one of this Switchboard's: make one on your Account page.";
        let Some((token, user_id, expires_unix)) = row.as_ref().map(row_of).transpose().ok().flatten() else {
            return Err(refused(unknown));
        };
        if token.revoked_at.is_some() {
            return Err(refused("This token was revoked: make a new one on your Account page."));
        }
        if expires_unix <= crate::support::unix_now() {
            return Err(refused("This token has expired: make a new one on your Account page."));
        }
        let account = self.accounts.get(user_id).await.map_err(|_| refused(unknown))?;
        if account.disabled {
            return Err(refused("The account this token belongs to is disabled."));
        }
        if account.must_change_password {
            return Err(refused("The owner of this token must choose a new password on their Account page first."));
        }
        self.note_use(&token.id).await;
        let caller = TokenCaller {
            id: token.id,
            name: token.name,
            workspace: token.workspace,
            roles: token.roles,
            expires_unix,
            source: CallerSource::Personal,
        };
        Ok((Principal::from(account), caller))
    }

    /// The person `user_id` with their own roles (those of the default workspace), enabled or not.
    pub async fn person(&self, user_id: i64) -> Option<(Principal, bool)> {
        let account = self.accounts.get(user_id).await.ok()?;
        let disabled = account.disabled;
        Some((Principal::from(account), disabled))
    }

    /// Whether `caller`'s token still stands and its owner is enabled (for an open stream's
    /// checks). A provider's token is checked for its expiry by the stream itself; here, its
    /// account.
    pub async fn still_valid(&self, caller: &TokenCaller) -> bool {
        match caller.source {
            CallerSource::Personal => self.personal_still_valid(&caller.id).await,
            CallerSource::Provider { user_id, .. } => match self.accounts.get(user_id).await {
                Ok(account) => !account.disabled,
                Err(domain::auth::store::AccountError::NotFound) => false,
                // A database that cannot be read does not end the stream.
                Err(_) => true,
            },
        }
    }

    async fn personal_still_valid(&self, id: &str) -> bool {
        let row = sqlx::query(
            "SELECT t.revoked_at, t.expires_unix, u.disabled FROM api_tokens t LEFT JOIN users u ON u.id = t.user_id
             WHERE t.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await;
        match row {
            Ok(Some(row)) => {
                row.try_get::<Option<String>, _>("revoked_at").ok().flatten().is_none()
                    && row.try_get::<i64, _>("expires_unix").is_ok_and(|at| at > crate::support::unix_now())
                    && row.try_get::<Option<i64>, _>("disabled").ok().flatten() == Some(0)
            }
            Ok(None) => false,
            // A database that cannot be read does not end the stream.
            Err(_) => true,
        }
    }

    async fn note_use(&self, id: &str) {
        {
            let mut noted = self.noted.lock().unwrap_or_else(|e| e.into_inner());
            if noted.get(id).is_some_and(|at| at.elapsed() < NOTE_EVERY) {
                return;
            }
            noted.insert(id.to_owned(), Instant::now());
        }
        let at = domain::format::rfc3339(time::OffsetDateTime::now_utc());
        if let Err(error) = sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
            .bind(at)
            .bind(id)
            .execute(&self.pool)
            .await
        {
            tracing::warn!("a token's last use was not noted: {error}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jwt_is_told_apart_from_a_personal_token_by_its_form() {
        assert!(is_jwt("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjaSJ9.c2lnbmF0dXJl"));
        assert!(!is_jwt("sbp_0123456789abcdef0123456789abcdef0123456789abcdef"));
        assert!(!is_jwt("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjaSJ9"), "two parts");
        assert!(!is_jwt("eyJhbGciOiJSUzI1NiJ9..c2lnbmF0dXJl"), "an empty part");
        assert!(!is_jwt("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjaSJ9.c2ln+bmF0dXJl"), "not base64url");
        assert!(!is_jwt("abc.def.ghi"), "no JSON header");
    }
}
