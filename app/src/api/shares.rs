//! Read-only share links of a session: an operator makes one (expiry, live or snapshot,
//! redaction), anyone holding it sees the session in the presenter layout without an account,
//! and the Shared links page lists every link with its views and revokes them. The store, the
//! redaction and the streams are the server's (`server/src/records/shares.rs`).

use leptos::{prelude::*, server_fn::codec::GetUrl};
use macros::access;
use serde::{Deserialize, Serialize};

use super::JsonResponse;
use crate::error::AppError;

/// The shortest and the longest life of a link, in hours (1 hour to 30 days).
pub const MIN_HOURS: u32 = 1;
pub const MAX_HOURS: u32 = 30 * 24;

/// The share form of the session page.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ShareForm {
    pub session_id: String,
    /// How long the link works, in hours.
    pub hours: String,
    /// `live` (the session as it goes on) or `snapshot` (its events until now).
    pub mode: String,
    /// Checkbox: tool inputs and outputs are hidden.
    pub hide_tools: Option<String>,
    /// Checkbox: strings that look like secrets are masked.
    pub mask_secrets: Option<String>,
}

/// A link as made: the only time its address is shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatedShare {
    /// `share_12`.
    pub id: String,
    /// `/share/{token}`: the page's origin goes in front of it.
    pub path: String,
    pub expires_at: String,
}

/// A link on the Shared links page (never its token).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShareRow {
    pub id: String,
    pub session_id: String,
    pub title: String,
    pub created_by: String,
    pub created_at: String,
    pub expires_at: String,
    /// The events it shows end at this moment; `None`: live.
    pub snapshot_at: Option<String>,
    pub hide_tools: bool,
    pub mask_secrets: bool,
    pub views: u64,
    pub last_viewed_at: Option<String>,
    pub revoked_at: Option<String>,
    pub revoked_by: Option<String>,
    /// `active`, `expired` or `revoked`.
    pub state: String,
}

/// What the audience of a link is told about the session (redacted as the link says).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SharedSession {
    pub title: String,
    pub agent: String,
    pub snapshot_at: Option<String>,
    pub expires_at: String,
    pub hide_tools: bool,
    pub mask_secrets: bool,
}

impl SharedSession {
    /// What the audience does not see, in words ("" when the link hides nothing).
    pub fn redaction_in_words(&self) -> String {
        match (self.hide_tools, self.mask_secrets) {
            (true, true) => "Tool inputs and outputs are hidden, and values that look like secrets are masked.",
            (true, false) => "Tool inputs and outputs are hidden.",
            (false, true) => "Values that look like secrets are masked.",
            (false, false) => "",
        }
        .to_owned()
    }
}

/// What a share link was made with, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct NewShare {
    pub session_id: String,
    pub hours: u32,
    pub snapshot: bool,
    pub hide_tools: bool,
    pub mask_secrets: bool,
}

impl ShareForm {
    /// The form, checked, or what is wrong with it in words.
    pub fn check(&self) -> Result<NewShare, AppError> {
        let session_id = self.session_id.trim().to_owned();
        if !super::is_id(&session_id) {
            return Err(AppError::bad_input("session_id", format!("{session_id:?} is not a session id.")));
        }
        let hours = self.hours.trim().parse::<u32>().ok().filter(|h| (MIN_HOURS..=MAX_HOURS).contains(h)).ok_or_else(|| {
            AppError::bad_input(
                "hours",
                format!(
                "A link lasts from {MIN_HOURS} hour to {MAX_HOURS} hours (30 days); {:?} is not such a number of hours.",
                self.hours.trim()
            ),
            )
        })?;
        let snapshot = match self.mode.as_str() {
            "live" | "" => false,
            "snapshot" => true,
            other => {
                return Err(AppError::bad_input("mode", format!("{other:?} is neither \"live\" nor \"snapshot\".")));
            }
        };
        Ok(NewShare {
            session_id,
            hours,
            snapshot,
            hide_tools: self.hide_tools.is_some(),
            mask_secrets: self.mask_secrets.is_some(),
        })
    }
}

/// Makes a read-only link to a session. Its address is in the answer and nowhere else: only its
/// hash is kept.
#[access(Operator)]
#[server(endpoint = "shares/create", output = JsonResponse)]
pub async fn create_share(form: ShareForm) -> Result<CreatedShare, AppError> {
    let new = form.check()?;
    let principal = crate::auth::store::signed_in()?;
    let session: serde_json::Value = super::server::upstream()?
        .get(&format!("/v1/sessions/{}", new.session_id), Vec::new())
        .await
        .map_err(|e| AppError::upstream("Reading the session to share", e))?;
    let title = session.get("title").and_then(|t| t.as_str()).filter(|t| !t.is_empty()).unwrap_or("A session");
    let agent = session.pointer("/agent/name").and_then(|a| a.as_str()).unwrap_or_default();
    let about = server::Shared { title: title.to_owned(), agent: agent.to_owned() };
    let created = server::shares()?.0.create(new, about, principal.username).await?;
    crate::auth::store::note(serde_json::json!({ "share": created.id, "expires_at": created.expires_at }));
    Ok(created)
}

/// Every link, newest first.
#[access(Viewer)]
#[server(endpoint = "shares/list", input = GetUrl, output = JsonResponse)]
pub async fn list_shares() -> Result<Vec<ShareRow>, AppError> {
    server::shares()?.0.list().await
}

/// Revokes a link at once: its page says so and its open streams end. Its maker or an admin.
#[access(Operator)]
#[server(endpoint = "shares/revoke", output = JsonResponse)]
pub async fn revoke_share(id: String) -> Result<ShareRow, AppError> {
    let principal = crate::auth::store::signed_in()?;
    let row = server::shares()?.0.revoke(id.trim().to_owned(), principal).await?;
    crate::auth::store::note(serde_json::json!({ "share": row.id, "session": row.session_id }));
    Ok(row)
}

/// What a link's audience sees of its session; counts a view. Open to anyone holding the token.
#[access(Public)]
#[server(endpoint = "shares/open", input = GetUrl, output = JsonResponse)]
pub async fn open_share(token: String) -> Result<SharedSession, AppError> {
    server::shares()?.0.open(token).await
}

/// The first screen of the shared session's timeline as the link shows it (redacted, cut at its
/// snapshot), around `event` or the newest; `None` when it cannot be had in time or the link does
/// not show `event` (the page's stream brings what there is). Open to anyone holding the token;
/// counts no view.
#[access(Public)]
#[server(endpoint = "shares/first_screen", input = GetUrl, output = JsonResponse)]
pub async fn get_share_first_screen(
    token: String,
    event: Option<String>,
) -> Result<Option<crate::api::live::FirstScreen>, AppError> {
    server::shares()?.0.first_screen(token, event.filter(|e| !e.is_empty())).await
}

#[cfg(feature = "ssr")]
pub mod server {
    use std::sync::Arc;

    use super::{CreatedShare, NewShare, ShareRow, SharedSession};
    use crate::api::live::FirstScreen;
    use crate::{auth::Principal, error::AppError, upstream::client::BoxFuture};

    /// The server's share links.
    pub trait ShareStore: Send + Sync + 'static {
        /// Makes a link to the session `about` describes, made by `username`.
        fn create(
            &self,
            new: NewShare,
            about: Shared,
            username: String,
        ) -> BoxFuture<'_, Result<CreatedShare, AppError>>;
        fn list(&self) -> BoxFuture<'_, Result<Vec<ShareRow>, AppError>>;
        /// Revokes link `id` (`share_12`) if `by` made it or is an admin.
        fn revoke(&self, id: String, by: Principal) -> BoxFuture<'_, Result<ShareRow, AppError>>;
        /// The session as the holder of `token` sees it, or why the link does not open.
        fn open(&self, token: String) -> BoxFuture<'_, Result<SharedSession, AppError>>;
        /// [`super::get_share_first_screen`]; an error when the link does not open.
        fn first_screen(
            &self,
            token: String,
            event: Option<String>,
        ) -> BoxFuture<'_, Result<Option<FirstScreen>, AppError>>;
    }

    /// The session's title and its agent's name when the link was made.
    #[derive(Debug, Clone)]
    pub struct Shared {
        pub title: String,
        pub agent: String,
    }

    #[derive(Clone)]
    pub struct SharesHandle(pub Arc<dyn ShareStore>);

    pub fn shares() -> Result<SharesHandle, AppError> {
        leptos::prelude::use_context::<SharesHandle>()
            .ok_or_else(|| AppError::internal("The server did not provide its share links."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(hours: &str, mode: &str) -> ShareForm {
        ShareForm { session_id: "sesn_1".into(), hours: hours.into(), mode: mode.into(), ..ShareForm::default() }
    }

    #[test]
    fn a_link_lasts_from_an_hour_to_thirty_days() {
        assert_eq!(form("1", "live").check().unwrap().hours, 1);
        assert_eq!(
            form("720", "snapshot").check().unwrap(),
            NewShare {
                session_id: "sesn_1".into(),
                hours: 720,
                snapshot: true,
                hide_tools: false,
                mask_secrets: false
            }
        );
        for bad in ["0", "721", "", "two", "-1"] {
            let error = form(bad, "live").check().unwrap_err();
            assert!(error.message.contains("30 days"), "{bad}: {error:?}");
        }
        assert!(form("2", "forever").check().is_err());
        assert!(ShareForm { session_id: "../x".into(), ..form("2", "live") }.check().is_err());
    }
}
