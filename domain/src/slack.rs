//! Deciding in Slack: a workspace's Slack app (the channel its waiting calls are posted to with
//! Allow and Deny buttons, its bot token and signing secret, both write-only), and the one-time
//! link a Slack user follows to say which Switchboard account they are. The server posts the
//! messages and takes the button presses (`server/src/slack`).

use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// A workspace's Slack app as an admin sees it: never its token or secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlackApp {
    /// The channel's id (`C0123ABCD`).
    pub channel: String,
    pub set_by: String,
    /// RFC 3339, UTC.
    pub set_at: String,
}

/// A Slack user linked to an account (Switchboard's own: the same in every workspace).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlackPerson {
    pub team: String,
    pub slack_user: String,
    pub username: String,
    /// RFC 3339, UTC.
    pub linked_at: String,
}

/// The Slack section of the Settings page, for the workspace it is opened in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlackSettings {
    pub workspace: String,
    /// What to paste as the Slack app's interactivity Request URL (the same for every workspace).
    pub request_url: String,
    pub app: Option<SlackApp>,
    /// Every linked Slack user.
    #[serde(default)]
    pub people: Vec<SlackPerson>,
}

/// The form that sets a workspace's Slack app.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SlackForm {
    pub channel: String,
    pub bot_token: String,
    pub signing_secret: String,
}

impl SlackForm {
    /// The channel, token and secret, trimmed, or the field that is wrong and why.
    pub fn check(&self) -> Result<(String, String, String), AppError> {
        let channel = self.channel.trim();
        let id_like =
            |s: &str| s.len() >= 9 && s.len() <= 24 && s.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if !(channel.starts_with(['C', 'G']) && id_like(channel)) {
            return Err(AppError::bad_input(
                "channel",
                "Give the channel's id, such as C0123ABCDE (in Slack: the channel's details, at the bottom), not its name.",
            ));
        }
        let token = self.bot_token.trim();
        if !token.starts_with("xoxb-") || token.len() < 20 || token.chars().any(char::is_whitespace) {
            return Err(AppError::bad_input(
                "bot_token",
                "This is not a bot token: it starts with xoxb- (the app's OAuth & Permissions page).",
            ));
        }
        let secret = self.signing_secret.trim();
        if secret.len() < 16 || secret.len() > 128 || !secret.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(AppError::bad_input(
                "signing_secret",
                "This is not a signing secret: copy it from the app's Basic Information page (letters and digits).",
            ));
        }
        Ok((channel.to_owned(), token.to_owned(), secret.to_owned()))
    }
}

/// What a Slack link would do, shown before the person confirms it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SlackLinkCheck {
    /// The link is good: confirming makes `slack_user` (of team `team`) decide as this person.
    Ready { team: String, slack_user: String, workspace: String },
    /// It does nothing, and why, in words.
    Refused { why: String },
}

#[cfg(feature = "server")]
pub mod server {
    use std::sync::Arc;

    use super::{SlackForm, SlackLinkCheck, SlackSettings};

    use crate::{error::AppError, upstream::client::BoxFuture};

    /// The server's Slack apps and links, as server functions reach them.
    pub trait SlackSource: Send + Sync + 'static {
        fn settings(&self, workspace: String) -> BoxFuture<'_, Result<SlackSettings, AppError>>;
        fn save(
            &self,
            workspace: String,
            form: SlackForm,
            by: String,
        ) -> BoxFuture<'_, Result<SlackSettings, AppError>>;
        fn remove(&self, workspace: String) -> BoxFuture<'_, Result<SlackSettings, AppError>>;
        fn unlink(
            &self,
            workspace: String,
            team: String,
            user: String,
        ) -> BoxFuture<'_, Result<SlackSettings, AppError>>;
        fn check_link(&self, token: String, username: String) -> BoxFuture<'_, Result<SlackLinkCheck, AppError>>;
        fn confirm_link(&self, token: String, username: String) -> BoxFuture<'_, Result<SlackLinkCheck, AppError>>;
    }

    #[derive(Clone)]
    pub struct SlackHandle(pub Arc<dyn SlackSource>);
}

#[cfg(test)]
mod tests {
    use super::SlackForm;

    fn form(channel: &str, token: &str, secret: &str) -> SlackForm {
        SlackForm { channel: channel.into(), bot_token: token.into(), signing_secret: secret.into() }
    }

    #[test]
    fn a_slack_app_needs_a_channel_id_a_bot_token_and_a_signing_secret() {
        let token = format!("xoxb-{}", "1".repeat(20));
        let secret = "8f742231b10e8888abcd99yyyzzz85a5";
        assert!(form(" C0123ABCDE ", &token, secret).check().is_ok());
        for (bad, field) in [
            (form("#on-call", &token, secret), "channel"),
            (form("C01", &token, secret), "channel"),
            (form("C0123ABCDE", "xoxp-123456789012345678", secret), "bot_token"),
            (form("C0123ABCDE", &token, "short"), "signing_secret"),
            (form("C0123ABCDE", &token, "has spaces in it, not a secret"), "signing_secret"),
        ] {
            let error = bad.check().unwrap_err();
            assert_eq!(error.field.as_deref(), Some(field), "{bad:?}");
        }
    }
}
