//! Where the server records decisions on tool calls (server only). The store itself lives in the
//! `server` crate (SQLite); server functions reach it through [`DecisionStore`], provided as
//! context like the upstream client.

use std::sync::Arc;

use crate::{api::live::Recorded, upstream::client::BoxFuture};

/// What recording a decision came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// This decision is the call's; send it upstream.
    Won,
    /// Somebody decided first: this is their decision.
    Lost(Recorded),
}

pub trait DecisionStore: Send + Sync + 'static {
    /// Records `decision` for `(session_id, decision.event_id)` unless a decision is recorded
    /// for that call already.
    fn claim<'a>(&'a self, session_id: &'a str, decision: &'a Recorded) -> BoxFuture<'a, Result<Claim, String>>;
    /// The decision reached the upstream (`sent`), or it did not and is taken back so that the
    /// call can be decided again.
    fn settle<'a>(&'a self, session_id: &'a str, event_id: &'a str, sent: bool) -> BoxFuture<'a, Result<(), String>>;
    /// Every decision recorded for the session, oldest first.
    fn recorded<'a>(&'a self, session_id: &'a str) -> BoxFuture<'a, Result<Vec<Recorded>, String>>;
}

/// The store as server functions receive it from context.
#[derive(Clone)]
pub struct DecisionsHandle(pub Arc<dyn DecisionStore>);
