//! Making, listing and revoking personal access tokens (`domain::tokens::server::TokenStore`),
//! for the Account page's server functions, and deciding a terminal's `switchboard login` on the
//! /device page (`access::device_login`): a token's roles must be the person's in its workspace,
//! its life at most `SWITCHBOARD_API_TOKEN_MAX_DAYS`.

use std::sync::Arc;

use domain::{
    auth::{Principal, Role, roles_text},
    error::AppError,
    tokens::{DeviceRequest, MadeToken, NewToken, TokenRow, roles_held, server::TokenStore},
    upstream::client::BoxFuture,
};

use crate::{
    access::{api_tokens::ApiTokens, device_login::shown},
    tenancy::workspaces::Workspaces,
};

pub struct Tokens {
    pub tokens: Arc<ApiTokens>,
    pub workspaces: Arc<Workspaces>,
    pub max_days: u32,
    /// The life of a `switchboard login` token, in hours (`SWITCHBOARD_CLI_TOKEN_HOURS`).
    pub cli_token_hours: u32,
}

impl Tokens {
    /// `owner` as their account is (its own roles), and their roles in `workspace`, which must
    /// allow each of `roles`.
    async fn holder_of(
        &self,
        owner: &Principal,
        workspace: &str,
        roles: &[Role],
    ) -> Result<(Principal, String), AppError> {
        let (person, _) = self
            .tokens
            .person(owner.user_id)
            .await
            .ok_or_else(|| AppError::internal("Switchboard could not read your account; try again."))?;
        let workspace = self
            .workspaces
            .get(workspace)
            .ok_or_else(|| AppError::bad_input("workspace", format!("No workspace {workspace:?} is served here.")))?;
        let Some(held) = self.workspaces.roles_in(&person, &workspace) else {
            return Err(AppError::bad_input(
                "workspace",
                format!("You hold no roles in the workspace {}.", workspace.name),
            ));
        };
        let kept = roles_held(&Principal { roles: held, ..person.clone() }, roles);
        if let Some(missing) = roles.iter().find(|r| !kept.contains(r)) {
            return Err(AppError::bad_input(
                "roles",
                format!(
                    "You do not hold the {} role in the workspace {}: a token gets only roles you hold there.",
                    missing.as_str(),
                    workspace.name
                ),
            ));
        }
        Ok((person, workspace.id.clone()))
    }

    async fn create_now(&self, owner: Principal, token: NewToken) -> Result<MadeToken, AppError> {
        let (person, workspace) = self.holder_of(&owner, &token.workspace, &token.roles).await?;
        let life = time::Duration::days(i64::from(token.days));
        let (row, secret) = self.tokens.issue(&person, (&token.name, &workspace, &token.roles), life).await?;
        Ok(MadeToken { row, secret })
    }

    async fn device_request_now(&self, code: String) -> Result<DeviceRequest, AppError> {
        let gone =
            || AppError::not_found("No terminal is waiting with this code: check it, or run switchboard login again.");
        let login = self.tokens.device_by_code(&code).await?.ok_or_else(gone)?;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        if login.state != "pending" || login.expires_unix <= now {
            return Err(AppError::not_found(
                "This code was used, denied or has expired (a code lasts 10 minutes): run switchboard login again.",
            ));
        }
        let expires = time::OffsetDateTime::from_unix_timestamp(login.expires_unix).map(domain::format::rfc3339);
        Ok(DeviceRequest {
            user_code: shown(&login.user_code),
            client_name: login.client_name,
            expires_at: expires.unwrap_or_default(),
            token_hours: self.cli_token_hours,
        })
    }

    async fn device_decide_now(
        &self,
        by: Principal,
        code: String,
        approval: Option<(String, Vec<Role>)>,
    ) -> Result<(), AppError> {
        self.device_request_now(code.clone()).await?;
        let decided = match approval {
            Some((workspace, roles)) => {
                let (person, workspace) = self.holder_of(&by, &workspace, &roles).await?;
                self.tokens.device_decide(&code, Some((person.user_id, &workspace, &roles_text(&roles)))).await?
            }
            None => self.tokens.device_decide(&code, None).await?,
        };
        if !decided {
            return Err(AppError::not_found("This code was decided already, or has just expired."));
        }
        Ok(())
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

    fn device_request(&self, code: String) -> BoxFuture<'_, Result<DeviceRequest, AppError>> {
        Box::pin(self.device_request_now(code))
    }

    fn device_decide(
        &self,
        by: Principal,
        code: String,
        approval: Option<(String, Vec<Role>)>,
    ) -> BoxFuture<'_, Result<(), AppError>> {
        Box::pin(self.device_decide_now(by, code, approval))
    }
}
