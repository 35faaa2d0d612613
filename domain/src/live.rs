//! What a session's page is sent besides its stream: the first screen of its timeline (and, on
//! the server, the trait through which the stream hub answers it), and the longest text a person
//! may send it.

use serde::{Deserialize, Serialize};

/// The longest message or result the console sends (the API's own limits are larger; this keeps
/// a pasted log from freezing the page).
pub const MAX_TEXT: usize = 200_000;

/// The first screen of a session's timeline, sent with the page: consecutive events of the hub's
/// log, so that a long session shows the screen a link or presenter mode opens at before the
/// page's stream has delivered its history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FirstScreen {
    /// (sequence number in the stream the page reads next, the event's JSON), oldest first:
    /// without gaps, but for what a share link does not show.
    pub events: Vec<(u64, String)>,
    /// When the session's first event was processed (RFC 3339): rows count their "+12.4 s" from
    /// it, as in the whole timeline. `None` when the log no longer holds it.
    pub started_at: Option<String>,
    /// The log's newest sequence number when the screen was read: the page's own model knows
    /// what the server knew once it has folded this far.
    #[serde(default)]
    pub newest: u64,
    /// The tool-use events (JSON, oldest first) of the calls the session waited on then: the
    /// server renders their cards, whose forms decide before the page is hydrated.
    #[serde(default)]
    pub waiting: Vec<String>,
}

impl FirstScreen {
    /// Events before a linked one: a little context above it, which the server renders at the
    /// top of the timeline (it cannot scroll), so the linked row is in the first screen.
    pub const BEFORE: usize = 3;
    /// Events from the linked one on: more than a tall screen shows.
    pub const AFTER: usize = 40;
    /// Without a link, the newest this many (the page opens at the live end): about a screen in
    /// presenter mode's type, since the server renders them from the top.
    pub const NEWEST: usize = 20;
    /// How long a page's render waits for the hub to read a session's history it did not hold.
    pub const WAIT_MS: u64 = 2_000;

    /// (events before, events from) the one a link names; the newest without a link.
    pub fn span(linked: bool) -> (usize, usize) {
        if linked { (Self::BEFORE, Self::AFTER) } else { (Self::NEWEST, 0) }
    }
}

/// How server functions reach the hub's logs.
#[cfg(feature = "server")]
pub mod first_screen {
    use std::sync::Arc;

    use crate::upstream::client::BoxFuture;

    /// The hub, as `app::api::live::get_first_screen` reads it.
    pub trait Windows: Send + Sync + 'static {
        /// [`super::FirstScreen::BEFORE`] events before `around` and [`super::FirstScreen::AFTER`]
        /// from it (or the newest [`super::FirstScreen::NEWEST`]); `None` when they cannot be had in
        /// [`super::FirstScreen::WAIT_MS`].
        fn window(&self, session_id: String, around: Option<String>) -> BoxFuture<'_, Option<super::FirstScreen>>;
    }

    #[derive(Clone)]
    pub struct WindowsHandle(pub Arc<dyn Windows>);
}
