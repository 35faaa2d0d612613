mod detail;
mod form;
mod list;

pub use detail::AgentDetail;
pub use form::{AgentEdit, AgentNew};
pub use list::AgentList;
