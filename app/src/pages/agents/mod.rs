//! The Agents section: the list, an agent's page with its version history, and the form.

mod detail;
mod form;
mod list;

pub use detail::AgentDetail;
pub use form::{AgentEdit, AgentNew};
pub use list::AgentList;
