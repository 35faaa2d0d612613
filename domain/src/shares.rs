//! Read-only share links of a session: an operator makes one (expiry, live or snapshot,
//! redaction), anyone holding it sees the session in the presenter layout without an account,
//! and the Shared links page lists every link with its views and revokes them. The store, the
//! redaction and the streams are the server's (`server/src/records/shares.rs`).

use serde::{Deserialize, Serialize};

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
        if !crate::upstream::is_id(&session_id) {
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

#[cfg(feature = "server")]
pub mod server {
    use std::sync::Arc;

    use super::{CreatedShare, NewShare, ShareRow, SharedSession};

    use crate::live::FirstScreen;

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
        /// `app::api::shares::get_share_first_screen`; an error when the link does not open.
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
