//! Notifications out: an approver's choice of email for waiting calls, and the links those
//! emails carry. A link (`/sessions/{id}?event={event_id}&t={token}`) names one call and one
//! person, expires, and decides once; opening it decides and spends nothing (a mail scanner's or
//! a preview's GET is harmless), the decision posted with its token spends it. The server keeps
//! and sends them (`server/src/notify/notifier.rs`).

use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// Whether Switchboard emails this person when calls wait, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailChoice {
    /// Whether this Switchboard has a mail server (`SWITCHBOARD_SMTP_URL`).
    pub available: bool,
    /// The address the emails go to; `None`: none are sent.
    pub address: Option<String>,
}

/// What opening a notification's link found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LinkCheck {
    /// The call waits, and the link was this person's to open: its card is on the page.
    Open { tool: String, summary: String },
    /// The link does not open the call, and why, in words.
    Refused { why: String },
}

/// A team's channel: every batch of waiting calls also goes there. Its URL is write-only (a
/// Slack incoming webhook's URL is its secret): only its host is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    pub id: i64,
    /// `slack` (an incoming webhook: a message) or `webhook` (signed JSON, for anything else).
    pub kind: String,
    pub name: String,
    /// Where it goes: the URL's scheme and host.
    pub target: String,
    pub created_by: String,
    /// RFC 3339, UTC.
    pub created_at: String,
}

/// A channel as an admin adds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct NewChannel {
    pub kind: String,
    pub name: String,
    pub url: String,
}

impl NewChannel {
    /// The channel's kind, name and URL, trimmed, or what is wrong with them.
    pub fn check(&self) -> Result<(String, String, String), AppError> {
        let kind = self.kind.trim();
        if kind != "slack" && kind != "webhook" {
            return Err(AppError::bad_input("kind", "Choose Slack or a signed JSON webhook."));
        }
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 80 {
            return Err(AppError::bad_input("name", "Name the channel (at most 80 characters), e.g. #on-call."));
        }
        let url = self.url.trim();
        if channel_target(url).is_none() {
            return Err(AppError::bad_input(
                "url",
                "The URL must start with https:// (or http:// for a receiver on your network) and name a host.",
            ));
        }
        Ok((kind.to_owned(), name.to_owned(), url.to_owned()))
    }
}

/// `https://hooks.slack.com` of `https://hooks.slack.com/services/…`: what may be shown of a
/// channel's URL. `None` for what is not an http(s) URL with a host.
pub fn channel_target(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme != "https" && scheme != "http" {
        return None;
    }
    let host = rest.split(['/', '?', '#']).next()?.rsplit('@').next()?;
    (!host.is_empty() && !url.chars().any(char::is_whitespace)).then(|| format!("{scheme}://{host}"))
}

/// A channel just added, with the secret its receiver checks signatures with (a `webhook`
/// channel's; shown this once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelMade {
    pub channel: Channel,
    pub secret: Option<String>,
}

/// One `@`, something either side, a dot in the domain, no spaces or angle brackets: what a form
/// can check; the mail server has the last word.
pub fn plausible_address(address: &str) -> bool {
    let Some((local, domain)) = address.split_once('@') else { return false };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && address.len() <= 254
        && !address.chars().any(|c| c.is_whitespace() || "<>,;\"".contains(c))
}

#[cfg(feature = "server")]
pub mod server {
    use std::sync::Arc;

    use super::{Channel, ChannelMade, EmailChoice, LinkCheck, NewChannel};

    use crate::{error::AppError, upstream::client::BoxFuture};

    /// The server's notifications, as server functions reach them.
    pub trait NotifySource: Send + Sync + 'static {
        fn email(&self, username: String) -> BoxFuture<'_, Result<EmailChoice, AppError>>;
        fn set_email(&self, username: String, address: String) -> BoxFuture<'_, Result<EmailChoice, AppError>>;
        fn open_link(
            &self,
            session_id: String,
            event_id: String,
            token: String,
            username: String,
        ) -> BoxFuture<'_, Result<LinkCheck, AppError>>;
        fn channels(&self) -> BoxFuture<'_, Result<Vec<Channel>, AppError>>;
        fn create_channel(&self, channel: NewChannel, by: String) -> BoxFuture<'_, Result<ChannelMade, AppError>>;
        fn delete_channel(&self, id: i64) -> BoxFuture<'_, Result<(), AppError>>;
    }

    #[derive(Clone)]
    pub struct NotifyHandle(pub Arc<dyn NotifySource>);
}

#[cfg(test)]
mod tests {
    use super::{channel_target, plausible_address};

    #[test]
    fn only_a_channel_urls_scheme_and_host_are_shown() {
        assert_eq!(
            channel_target("https://hooks.slack.com/services/T0/B0/secret").as_deref(),
            Some("https://hooks.slack.com")
        );
        assert_eq!(channel_target("http://user:pw@10.0.0.5:8080/hook?x=1").as_deref(), Some("http://10.0.0.5:8080"));
        for bad in ["hooks.slack.com/services", "ftp://example.com/", "https://", "https:// example.com/"] {
            assert_eq!(channel_target(bad), None, "{bad}");
        }
    }

    #[test]
    fn an_address_needs_one_at_and_a_dotted_domain() {
        assert!(plausible_address("ann@example.com"));
        assert!(plausible_address("ann.b+calls@mail.example.co.uk"));
        for bad in [
            "ann",
            "ann@",
            "@example.com",
            "ann@example",
            "ann@.com",
            "a b@example.com",
            "Ann <ann@example.com>",
            "a@b@c.com",
        ] {
            assert!(!plausible_address(bad), "{bad}");
        }
    }
}
