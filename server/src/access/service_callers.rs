//! Service callers: programs (CI jobs, schedulers) that call `/v1/…` with a token the single
//! sign-on provider gave them (client credentials) instead of a person's personal access token,
//! when `SWITCHBOARD_API_AUDIENCE` is set.
//!
//! The token is checked at every call (`oidc::Oidc::service_claims`: signature against the
//! provider's keys, issuer, audience, expiry). Its subject is an account of its own, made at its
//! first call as a person's first single sign-on makes one (named after its client), so that it
//! is audited, rate-limited and counted in approvals as itself, never as a second approver of a
//! call it asked for. Its roles come from its groups through `SWITCHBOARD_OIDC_ROLE_MAP`
//! (refused when none maps); without a role map its account waits, disabled, for an admin to
//! enable it and grant its roles. Its workspace is the one its token's
//! `SWITCHBOARD_API_WORKSPACE_CLAIM` names, else its client's in
//! `SWITCHBOARD_API_CLIENT_WORKSPACES`, else the default.

use std::sync::{Arc, Mutex};

use domain::auth::{Principal, Role};
use hashlink::LinkedHashMap;

use super::{
    accounts::{Accounts, SsoPerson, SsoRoles, SsoSignInError},
    api_tokens::{CallerSource, TokenCaller, TokenRefused},
    oidc::{Oidc, ServiceClaims},
};
use crate::settings::ServiceCallerSettings;

/// Tokens whose account was brought up to date, at most: past it the oldest give way (their next
/// call writes the account again, as their first did).
const MOST_REMEMBERED: usize = 10_000;

/// A token already taken once: its account and what it acts as, until it expires.
#[derive(Debug, Clone)]
struct Taken {
    user_id: i64,
    workspace: String,
    /// The roles its groups map to (`None`: the account's own, granted here).
    mapped: Option<Vec<Role>>,
    expires_unix: i64,
}

/// The check of a provider's token sent to `/v1/…`.
pub struct ServiceCallers {
    oidc: Arc<Oidc>,
    settings: ServiceCallerSettings,
    accounts: Arc<Accounts>,
    /// Tokens seen, by the SHA-256 of their text: the account is made or its roles brought up to
    /// date at a token's first call only (a CI token lives minutes to an hour), so that a busy
    /// job's calls do not each write the account.
    taken: Mutex<LinkedHashMap<String, Taken>>,
}

impl ServiceCallers {
    pub fn new(oidc: Arc<Oidc>, settings: ServiceCallerSettings, accounts: Arc<Accounts>) -> Self {
        Self { oidc, settings, accounts, taken: Mutex::new(LinkedHashMap::new()) }
    }

    /// The caller behind `token`, a provider's JSON web token: its account (made at its first
    /// call) and the workspace and roles it acts with. `Err` says why not.
    pub async fn check(&self, token: &str) -> Result<(Principal, TokenCaller), TokenRefused> {
        let claims = self.oidc.service_claims(token, &self.settings.audience).await.map_err(TokenRefused)?;
        let key = crate::support::sha256_hex(token);
        let remembered = self.remembered(&key);
        let taken = match remembered {
            Some(taken) => taken,
            None => {
                let taken = self.take(&claims).await?;
                self.remember(key, taken.clone());
                taken
            }
        };
        let account = self
            .accounts
            .get(taken.user_id)
            .await
            .map_err(|_| TokenRefused("This token's caller has no account here any more.".to_owned()))?;
        if account.disabled {
            return Err(TokenRefused(format!(
                "The account of {} ({}) is disabled: an admin enables it and grants its roles on the Users page.",
                account.username, claims.client
            )));
        }
        let roles = taken.mapped.clone().unwrap_or_else(|| Role::ALL.to_vec());
        let caller = TokenCaller {
            id: claims.subject.clone(),
            name: claims.client.clone(),
            workspace: taken.workspace.clone(),
            roles,
            expires_unix: claims.expires_unix.min(taken.expires_unix),
            source: CallerSource::Provider { user_id: taken.user_id, mapped: taken.mapped.is_some() },
        };
        Ok((Principal::from(account), caller))
    }

    /// A token's first call: its account made or brought up to date from its claims.
    async fn take(&self, claims: &ServiceClaims) -> Result<Taken, TokenRefused> {
        let roles = self.oidc.service_roles(claims).map_err(TokenRefused)?;
        let mapped = match &roles {
            SsoRoles::FromProvider(roles) => Some(roles.clone()),
            SsoRoles::FirstSignIn(_) => None,
        };
        let issuer = self.oidc.settings.issuer.clone();
        // A subject with an account already (a person whose own token this is, or the caller's
        // earlier calls) keeps its name and address: a token names only its client.
        let existing = self.accounts.sso_account_id(&issuer, &claims.subject).await.ok().flatten();
        let known = match existing {
            Some(id) => self.accounts.get(id).await.ok(),
            None => None,
        };
        let (email, display_name) = match known {
            Some(account) => (account.email, account.display_name),
            None => (None, format!("{} (service)", claims.client)),
        };
        let person = SsoPerson {
            issuer,
            subject: claims.subject.clone(),
            email,
            preferred_username: Some(claims.client.clone()),
            display_name,
        };
        let user_id = match self.accounts.sign_in_sso(&person, &roles).await {
            Ok(login) => login.principal.user_id,
            // The account is made (or was), and waits for an admin: refused at the check.
            Err(SsoSignInError::Disabled) => match existing {
                Some(id) => id,
                None => self.waiting_account(&person).await?,
            },
            Err(SsoSignInError::LastAdmin) => {
                return Err(TokenRefused(
                    "This token's groups would take admin from the last enabled admin; an admin must be kept."
                        .to_owned(),
                ));
            }
            Err(SsoSignInError::Failed(error)) => {
                tracing::error!("a service caller's account could not be saved: {error}");
                return Err(TokenRefused("Switchboard could not check this token just now; try again.".to_owned()));
            }
        };
        Ok(Taken { user_id, workspace: self.workspace_of(claims), mapped, expires_unix: claims.expires_unix })
    }

    /// The account of a caller made just now by its first call, waiting for an admin.
    async fn waiting_account(&self, person: &SsoPerson) -> Result<i64, TokenRefused> {
        self.accounts
            .sso_account_id(&person.issuer, &person.subject)
            .await
            .ok()
            .flatten()
            .ok_or_else(|| TokenRefused("Switchboard could not check this token just now; try again.".to_owned()))
    }

    /// The workspace a token acts in: its claim's, else its client's, else the default.
    fn workspace_of(&self, claims: &ServiceClaims) -> String {
        let named = self.settings.workspace_claim.as_deref().and_then(|claim| claims.text(claim));
        let of_client = || {
            self.settings.client_workspaces.iter().find(|(client, _)| *client == claims.client).map(|(_, w)| w.as_str())
        };
        named.or_else(of_client).unwrap_or(domain::workspaces::DEFAULT_ID).to_owned()
    }

    fn remembered(&self, key: &str) -> Option<Taken> {
        let taken = self.taken.lock().unwrap_or_else(|e| e.into_inner());
        taken.get(key).filter(|t| t.expires_unix > crate::support::unix_now()).cloned()
    }

    fn remember(&self, key: String, value: Taken) {
        let mut taken = self.taken.lock().unwrap_or_else(|e| e.into_inner());
        let now = crate::support::unix_now();
        taken.retain(|_, t| t.expires_unix > now);
        taken.insert(key, value);
        while taken.len() > MOST_REMEMBERED {
            taken.pop_front();
        }
    }
}
