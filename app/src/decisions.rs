//! Decisions on tool calls (what was asked, what it came to, why a link refused) live in the
//! domain crate, which the server's approval service shares; the pages name them from here.

pub use domain::decisions::*;
