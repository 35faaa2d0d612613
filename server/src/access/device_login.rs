//! `switchboard login`: the OAuth 2.0 device authorization grant (RFC 8628) against Switchboard
//! itself, for a terminal that wants a token without anyone pasting one.
//!
//! 1. The terminal posts to `/auth/device/code` and gets a device code (its secret, kept here as
//!    a SHA-256), a user code (`BDFG-HJKL`) and the console's `/device` page to approve it on.
//! 2. A person signed in (single sign-on included) opens the page, checks the code, and approves
//!    it with a workspace and some of their roles there, or denies it
//!    (`gateway::tokens::Tokens::device_decide`).
//! 3. The terminal polls `/auth/device/token` every `interval` seconds; after the approval, its
//!    next poll makes a personal access token of `SWITCHBOARD_CLI_TOKEN_HOURS` (12 by default; no
//!    refresh: log in again) and answers it, once. The secret is never kept here.
//! 4. `switchboard logout` posts the token to `/auth/token/revoke`, which revokes it.
//!
//! The three routes are public (their codes and tokens are their credentials) and are counted by
//! the signed-out rate limit like any request from nobody signed in.

use std::sync::Arc;

use axum::{
    Form,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use domain::auth::{parse_roles, roles_text};
use serde::Deserialize;
use serde_json::json;
use sqlx::Row;

use super::{
    Access,
    api_tokens::{ApiTokens, hash_of, presented},
};
use crate::support::StoreError;

/// How long a code may wait for its approval.
pub const CODE_LIFE_SECS: i64 = 10 * 60;
/// How often the terminal may poll, in seconds.
pub const INTERVAL_SECS: i64 = 5;
/// The letters of a user code: no vowels (no words), none that look alike.
const USER_CODE_LETTERS: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";
const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// A terminal's sign-in as the /device page and the terminal's polls read it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceLogin {
    pub user_code: String,
    pub client_name: String,
    pub expires_unix: i64,
    /// `pending`, `approved`, `denied` or `taken`.
    pub state: String,
    pub user_id: Option<i64>,
    pub workspace: Option<String>,
    pub roles: Option<String>,
    pub polled_ms: i64,
}

fn login_of(row: &sqlx::any::AnyRow) -> Result<DeviceLogin, sqlx::Error> {
    Ok(DeviceLogin {
        user_code: row.try_get("user_code")?,
        client_name: row.try_get("client_name")?,
        expires_unix: row.try_get("expires_unix")?,
        state: row.try_get("state")?,
        user_id: row.try_get("user_id")?,
        workspace: row.try_get("workspace")?,
        roles: row.try_get("roles")?,
        polled_ms: row.try_get("polled_ms")?,
    })
}

/// `BDFGHJKL` as people read it: `BDFG-HJKL`.
pub fn shown(user_code: &str) -> String {
    if user_code.len() == 8 { format!("{}-{}", &user_code[..4], &user_code[4..]) } else { user_code.to_owned() }
}

/// A user code as typed (`bdfg hjkl`, `BDFG-HJKL`): its letters, upper case.
pub fn typed(text: &str) -> String {
    text.chars().filter(char::is_ascii_alphabetic).map(|c| c.to_ascii_uppercase()).collect()
}

fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// What a terminal's poll finds.
#[derive(Debug)]
pub enum Poll {
    Unknown,
    Expired,
    Pending,
    SlowDown,
    Denied,
    /// Approved, and now taken by this poll: make its token.
    Approved(DeviceLogin),
}

impl ApiTokens {
    /// A new sign-in of the terminal `client_name`: its device code and user code.
    pub async fn device_start(&self, client_name: &str) -> Result<(String, String), StoreError> {
        let device_code = crate::support::random_hex::<32>();
        let now = crate::support::unix_now();
        loop {
            let user_code: String = {
                use rand::Rng;
                let mut rng = rand::rng();
                (0..8).map(|_| USER_CODE_LETTERS[rng.random_range(0..USER_CODE_LETTERS.len())] as char).collect()
            };
            let inserted = sqlx::query(
                "INSERT INTO device_logins (device_hash, user_code, client_name, created_unix, expires_unix, state)
                 VALUES ($1, $2, $3, $4, $5, 'pending') ON CONFLICT (user_code) DO NOTHING",
            )
            .bind(hash_of(&device_code))
            .bind(&user_code)
            .bind(client_name)
            .bind(now)
            .bind(now + CODE_LIFE_SECS)
            .execute(&self.pool)
            .await?;
            if inserted.rows_affected() == 1 {
                // Codes long past their life go, so that the letters are free again.
                sqlx::query("DELETE FROM device_logins WHERE expires_unix < $1")
                    .bind(now - 86_400)
                    .execute(&self.pool)
                    .await?;
                return Ok((device_code, user_code));
            }
        }
    }

    /// The sign-in whose user code is `user_code` (as typed).
    pub async fn device_by_code(&self, user_code: &str) -> Result<Option<DeviceLogin>, StoreError> {
        let row = sqlx::query("SELECT * FROM device_logins WHERE user_code = $1")
            .bind(typed(user_code))
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(login_of).transpose()?)
    }

    /// Approves (`Some`: the person, the workspace and the roles) or denies a pending, unexpired
    /// sign-in; false when it is not pending any more.
    pub async fn device_decide(
        &self,
        user_code: &str,
        approval: Option<(i64, &str, &str)>,
    ) -> Result<bool, StoreError> {
        let (state, user_id, workspace, roles) = match approval {
            Some((user_id, workspace, roles)) => ("approved", Some(user_id), Some(workspace), Some(roles)),
            None => ("denied", None, None, None),
        };
        let done = sqlx::query(
            "UPDATE device_logins SET state = $1, user_id = $2, workspace = $3, roles = $4
             WHERE user_code = $5 AND state = 'pending' AND expires_unix > $6",
        )
        .bind(state)
        .bind(user_id)
        .bind(workspace)
        .bind(roles)
        .bind(typed(user_code))
        .bind(crate::support::unix_now())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// A terminal's poll with `device_code`. An approved sign-in is taken by exactly one poll.
    pub async fn device_poll(&self, device_code: &str) -> Result<Poll, StoreError> {
        let hash = hash_of(device_code);
        let row = sqlx::query("SELECT * FROM device_logins WHERE device_hash = $1")
            .bind(&hash)
            .fetch_optional(&self.pool)
            .await?;
        let Some(login) = row.as_ref().map(login_of).transpose()? else { return Ok(Poll::Unknown) };
        let now = now_ms();
        if login.state == "taken" || login.expires_unix * 1000 <= now {
            return Ok(if login.state == "taken" { Poll::Unknown } else { Poll::Expired });
        }
        sqlx::query("UPDATE device_logins SET polled_ms = $1 WHERE device_hash = $2")
            .bind(now)
            .bind(&hash)
            .execute(&self.pool)
            .await?;
        Ok(match login.state.as_str() {
            "denied" => Poll::Denied,
            "approved" => {
                let taken = sqlx::query(
                    "UPDATE device_logins SET state = 'taken' WHERE device_hash = $1 AND state = 'approved'",
                )
                .bind(&hash)
                .execute(&self.pool)
                .await?;
                if taken.rows_affected() == 1 { Poll::Approved(login) } else { Poll::Unknown }
            }
            _ if now - login.polled_ms < INTERVAL_SECS * 1000 - 500 => Poll::SlowDown,
            _ => Poll::Pending,
        })
    }

    /// Notes the token a taken sign-in made.
    async fn device_token(&self, device_code: &str, token_id: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE device_logins SET token_id = $1 WHERE device_hash = $2")
            .bind(token_id)
            .bind(hash_of(device_code))
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct CodeForm {
    /// What the terminal calls itself (its host name), for the token's name.
    #[serde(default)]
    name: String,
}

/// An answer of the device grant's endpoints: JSON, never cached.
fn answer(status: StatusCode, body: serde_json::Value) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    response
}

/// RFC 8628's error answer: `authorization_pending`, `slow_down`, `access_denied`,
/// `expired_token`, `invalid_grant`, …
fn oauth_error(code: &str, description: &str) -> Response {
    answer(StatusCode::BAD_REQUEST, json!({ "error": code, "error_description": description }))
}

/// Where people reach this Switchboard: `SWITCHBOARD_PUBLIC_URL`, or the host the terminal
/// called.
fn origin(access: &Access, headers: &HeaderMap) -> String {
    if let Some(public) = &access.public_url {
        return public.trim_end_matches('/').to_owned();
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("127.0.0.1");
    format!("http://{host}")
}

/// `POST /auth/device/code`: a new sign-in for a terminal.
pub async fn code(State(access): State<Arc<Access>>, headers: HeaderMap, Form(form): Form<CodeForm>) -> Response {
    let name: String = form.name.trim().chars().filter(|c| !c.is_control()).take(60).collect();
    let name = if name.is_empty() { "a terminal".to_owned() } else { name };
    match access.tokens.device_start(&name).await {
        Ok((device_code, user_code)) => {
            let page = format!("{}/device", origin(&access, &headers));
            answer(
                StatusCode::OK,
                json!({
                    "device_code": device_code,
                    "user_code": shown(&user_code),
                    "verification_uri": page,
                    "verification_uri_complete": format!("{page}?code={}", shown(&user_code)),
                    "expires_in": CODE_LIFE_SECS,
                    "interval": INTERVAL_SECS,
                }),
            )
        }
        Err(error) => {
            tracing::error!("a device sign-in could not be started: {error}");
            oauth_error("server_error", "Switchboard could not start the sign-in; try again.")
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    grant_type: String,
    #[serde(default)]
    device_code: String,
}

/// `POST /auth/device/token`: the terminal's poll; its token once the sign-in is approved.
pub async fn token(State(access): State<Arc<Access>>, Form(form): Form<TokenForm>) -> Response {
    if form.grant_type != GRANT_TYPE {
        return oauth_error("unsupported_grant_type", "Switchboard answers the device code grant only.");
    }
    let poll = match access.tokens.device_poll(&form.device_code).await {
        Ok(poll) => poll,
        Err(error) => {
            tracing::error!("a device sign-in could not be read: {error}");
            return oauth_error("server_error", "Switchboard could not read the sign-in; poll again.");
        }
    };
    let login = match poll {
        Poll::Unknown => return oauth_error("invalid_grant", "No sign-in has this device code: start again."),
        Poll::Expired => return oauth_error("expired_token", "The code was not approved in time: start again."),
        Poll::Pending => return oauth_error("authorization_pending", "Waiting for the code to be approved."),
        Poll::SlowDown => return oauth_error("slow_down", "Polled too soon: wait the interval, and 5 s more."),
        Poll::Denied => return oauth_error("access_denied", "The sign-in was denied on the console."),
        Poll::Approved(login) => login,
    };
    match issue(&access, &form.device_code, &login).await {
        Some((secret, hours)) => answer(
            StatusCode::OK,
            json!({ "access_token": secret, "token_type": "Bearer", "expires_in": i64::from(hours) * 3600 }),
        ),
        None => oauth_error("access_denied", "The account that approved the sign-in can no longer make tokens."),
    }
}

/// The token of an approved, taken sign-in; `None` when its approver is gone or disabled.
async fn issue(access: &Access, device_code: &str, login: &DeviceLogin) -> Option<(String, u32)> {
    let (person, disabled) = access.tokens.person(login.user_id?).await?;
    if disabled {
        return None;
    }
    let roles = parse_roles(login.roles.as_deref().unwrap_or_default());
    let name = format!("switchboard login on {}", login.client_name);
    let workspace = login.workspace.clone().unwrap_or_else(|| domain::workspaces::DEFAULT_ID.to_owned());
    let life = time::Duration::hours(i64::from(access.cli_token_hours));
    match access.tokens.issue(&person, (&name, &workspace, &roles), life).await {
        Ok((row, secret)) => {
            if let Err(error) = access.tokens.device_token(device_code, &row.id).await {
                tracing::warn!("the token of a device sign-in was not noted beside it: {error}");
            }
            tracing::info!(token = %row.id, roles = %roles_text(&roles), "a terminal signed in with switchboard login");
            Some((secret, access.cli_token_hours))
        }
        Err(error) => {
            tracing::error!("a device sign-in's token could not be made: {error}");
            None
        }
    }
}

/// `POST /auth/token/revoke`: revokes the token the request carries (`switchboard logout`).
pub async fn revoke(State(access): State<Arc<Access>>, headers: HeaderMap) -> Response {
    let Some(secret) = presented(&headers) else {
        return answer(
            StatusCode::UNAUTHORIZED,
            json!({ "error": "invalid_token", "error_description": "Send the token to revoke." }),
        );
    };
    match access.tokens.check(secret).await {
        Ok((person, caller)) => {
            let at = domain::format::rfc3339(time::OffsetDateTime::now_utc());
            if let Err(error) = access.tokens.revoke(&caller.id, &at, &person.username).await {
                tracing::error!("a token could not be revoked: {error}");
                return oauth_error("server_error", "Switchboard could not revoke the token; try again.");
            }
            answer(StatusCode::OK, json!({ "revoked": caller.id }))
        }
        Err(refused) => {
            answer(StatusCode::UNAUTHORIZED, json!({ "error": "invalid_token", "error_description": refused.0 }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_code_reads_as_typed_and_is_shown_in_two_halves() {
        assert_eq!(typed(" bdfg-hjkl "), "BDFGHJKL");
        assert_eq!(shown("BDFGHJKL"), "BDFG-HJKL");
        assert!(USER_CODE_LETTERS.iter().all(|c| !b"AEIOU01".contains(c)), "no vowels, no look-alikes");
    }
}
