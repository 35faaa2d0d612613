//! Telling people: email and signed webhooks about waiting calls ([`notifier`]), and the
//! upstream's own webhooks received ([`webhooks`]).

pub mod notifier;
pub mod webhooks;

pub use notifier::*;
