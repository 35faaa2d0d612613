//! Making, listing and revoking personal access tokens (`domain::tokens::server::TokenStore`),
//! for the Account page's server functions: a token's roles must be the person's in its
//! workspace, its life at most `SWITCHBOARD_API_TOKEN_MAX_DAYS`.

use std::sync::Arc;

use domain::{
    auth::{Principal, Role},
    error::AppError,
    tokens::{MadeToken, NewToken, TokenRow, roles_held, server::TokenStore},
    upstream::client::BoxFuture,
};

use crate::{
    access::api_tokens::{ApiTokens, NewTokenRow, hash_of, new_secret},
    tenancy::workspaces::Workspaces,
};

pub struct Tokens {
    pub tokens: Arc<ApiTokens>,
    pub workspaces: Arc<Workspaces>,
    pub max_days: u32,
}

impl Tokens {
    async fn create_now(&self, owner: Principal, token: NewToken) -> Result<MadeToken, AppError> {
        let (person, _) = self
            .tokens
            .person(owner.user_id)
            .await
            .ok_or_else(|| AppError::internal("Switchboard could not read your account; try again."))?;
        let workspace = self.workspaces.get(&token.workspace).ok_or_else(|| {
            AppError::bad_input("workspace", format!("No workspace {:?} is served here.", token.workspace))
        })?;
        let Some(held) = self.workspaces.roles_in(&person, &workspace) else {
            return Err(AppError::bad_input(
                "workspace",
                format!("You hold no roles in the workspace {}.", workspace.name),
            ));
        };
        let holder = Principal { roles: held, ..person.clone() };
        let kept = roles_held(&holder, &token.roles);
        if let Some(missing) = token.roles.iter().find(|r| !kept.contains(r)) {
            return Err(AppError::bad_input(
                "roles",
                format!(
                    "You do not hold the {} role in the workspace {}: a token gets only roles you hold there.",
                    missing.as_str(),
                    workspace.name
                ),
            ));
        }
        let secret = new_secret();
        let id = format!("tok_{}", crate::support::random_hex::<8>());
        let now = time::OffsetDateTime::now_utc();
        let expires = now + time::Duration::days(i64::from(token.days));
        let row = TokenRow {
            id: id.clone(),
            name: token.name.clone(),
            owner: person.username.clone(),
            workspace: workspace.id.clone(),
            roles: token.roles.clone(),
            hint: format!("{}…", &secret[..domain::tokens::PREFIX.len() + 4]),
            created_at: domain::format::rfc3339(now),
            expires_at: domain::format::rfc3339(expires),
            last_used_at: None,
            revoked_at: None,
            revoked_by: None,
        };
        self.tokens
            .insert(NewTokenRow {
                id: &id,
                user_id: person.user_id,
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
        Ok(MadeToken { row, secret })
    }

    async fn revoke_now(&self, by: Principal, id: String) -> Result<TokenRow, AppError> {
        let not_found =
            || AppError::not_found("No token by that id: it may have been removed with its owner's account.");
        let (_, owner) = self.tokens.get(&id).await?.ok_or_else(not_found)?;
        let is_admin = self.tokens.person(by.user_id).await.is_some_and(|(p, _)| p.roles.contains(&Role::Admin));
        if owner != by.user_id && !is_admin {
            return Err(not_found());
        }
        let at = domain::format::rfc3339(time::OffsetDateTime::now_utc());
        self.tokens.revoke(&id, &at, &by.username).await?;
        Ok(self.tokens.get(&id).await?.ok_or_else(not_found)?.0)
    }
}

impl TokenStore for Tokens {
    fn create(&self, owner: Principal, token: NewToken) -> BoxFuture<'_, Result<MadeToken, AppError>> {
        Box::pin(self.create_now(owner, token))
    }

    fn list(&self, owner: Option<i64>) -> BoxFuture<'_, Result<Vec<TokenRow>, AppError>> {
        Box::pin(async move { Ok(self.tokens.list(owner).await?.into_iter().map(|(row, _)| row).collect()) })
    }

    fn revoke(&self, by: Principal, id: String) -> BoxFuture<'_, Result<TokenRow, AppError>> {
        Box::pin(self.revoke_now(by, id))
    }

    fn max_days(&self) -> u32 {
        self.max_days
    }
}
