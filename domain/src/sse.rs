//! The vocabulary of Switchboard's own event streams, `/api/sessions/{id}/stream` (the hub) and
//! `/api/inbox/stream`: the name of every frame and the payloads that are Switchboard's own. The
//! server renders the frames (`server/src/streams/sse.rs`); the browser listens by these names.
//!
//! | frame        | `id:`             | data                                               | stream  |
//! |--------------|-------------------|----------------------------------------------------|---------|
//! | `event`      | sequence number   | one API event, as the API sent it                  | session |
//! | `preview`    |                   | the API's `event_start` / `event_delta`            | session |
//! | `status`     |                   | [`Status`]: the hub's link to the API              | session |
//! | `end`        |                   | the API's last word (the session was deleted)      | session |
//! | `reset`      |                   | [`Reset`]: forget every event; the history follows | session |
//! | `inbox`      |                   | the waiting calls (`app::api::inbox::InboxList`)        | inbox   |
//! | `signed_out` |                   | `{}`: the person's sign-in ended                   | both    |
//! | `ping`       |                   | `{}`: a heartbeat                                  | both    |

use serde::{Deserialize, Serialize};

/// An event of the session (its `id:` is the event's sequence number in the session).
pub const EVENT: &str = "event";
/// A text preview in flight: the API's `event_start` or `event_delta`.
pub const PREVIEW: &str = "preview";
/// The hub's link to the API changed: a [`Status`].
pub const STATUS: &str = "status";
/// The session is gone; nothing follows.
pub const END: &str = "end";
/// The page's events were numbered by a log the server no longer has (its `Last-Event-ID` is
/// beyond the server's log): it must forget them; the whole history follows, from number 1. The
/// data is a [`Reset`].
pub const RESET: &str = "reset";
/// The inbox's list of waiting calls.
pub const INBOX: &str = "inbox";
/// The person's sign-in ended; nothing follows.
pub const SIGNED_OUT: &str = "signed_out";
/// A heartbeat.
pub const PING: &str = "ping";

/// What a `status` frame says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub state: LinkState,
    /// Why, when the link is not live.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// What a `reset` frame says: why the page's history is read again, in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reset {
    pub message: String,
}

/// The hub's link to the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    Live,
    /// The API's stream dropped; the hub reconnects by itself.
    Reconnecting,
    /// The hub gave up on this viewer: the page must not reconnect.
    Failed,
}

impl LinkState {
    const ALL: [LinkState; 3] = [LinkState::Live, LinkState::Reconnecting, LinkState::Failed];

    /// Its `state` in a `status` frame.
    pub const fn as_str(self) -> &'static str {
        match self {
            LinkState::Live => "live",
            LinkState::Reconnecting => "reconnecting",
            LinkState::Failed => "failed",
        }
    }

    /// The state a `status` frame names. The browser reads frames with this rather than with
    /// [`Status`]'s decoder, which would cost the bundle a decoder for one small object.
    pub fn of_frame(status: &serde_json::Value) -> Option<Self> {
        let state = status.get("state")?.as_str()?;
        Self::ALL.into_iter().find(|s| s.as_str() == state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_reads_as_the_hub_writes_it() {
        let failed = Status { state: LinkState::Failed, message: Some("gone".into()) };
        let text = serde_json::to_string(&failed).unwrap();
        assert_eq!(text, r#"{"state":"failed","message":"gone"}"#);
        assert_eq!(serde_json::from_str::<Status>(&text).unwrap(), failed);
        assert_eq!(
            serde_json::to_string(&Status { state: LinkState::Live, message: None }).unwrap(),
            r#"{"state":"live"}"#
        );
        for state in LinkState::ALL {
            let frame = serde_json::to_value(Status { state, message: None }).unwrap();
            assert_eq!(LinkState::of_frame(&frame), Some(state), "{frame}");
        }
        assert_eq!(LinkState::of_frame(&serde_json::json!({ "state": "gone" })), None);
    }
}
