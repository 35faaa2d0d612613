//! Roles, people and accounts live in the domain crate, which the server shares; here are what
//! only a server function needs besides: the request's person, login and audit note, read from
//! the Leptos context the server fills.

pub use domain::auth::*;

#[cfg(feature = "ssr")]
pub mod store {
    pub use domain::auth::store::*;

    use serde_json::Value;

    use super::{Principal, Role};

    /// The current request's login id.
    pub fn current_login() -> Option<String> {
        leptos::prelude::use_context::<http::request::Parts>()?.extensions.get::<CurrentLogin>().map(|c| c.0.clone())
    }

    /// The person the request comes from (`None` only on the few routes open before login).
    pub fn principal() -> Option<Principal> {
        leptos::prelude::use_context::<http::request::Parts>()?.extensions.get::<Principal>().cloned()
    }

    /// The person, in a server function the access table has let through (`#[access]`): there is
    /// always one, so its absence is the server's fault, not the caller's.
    pub fn signed_in() -> Result<Principal, crate::error::AppError> {
        principal().ok_or_else(|| crate::error::AppError::internal("Nobody is signed in."))
    }

    /// The person, if their roles allow what `role` allows. Server functions whose data only some
    /// roles may see call this themselves: a page's data is loaded while the page renders on the
    /// server, without passing the server's access table.
    pub fn require(role: Role) -> Result<Principal, crate::error::AppError> {
        use crate::error::{AppError, ErrorKind};
        let principal = principal().ok_or_else(|| AppError::new(ErrorKind::SignedOut, "Sign in to see this."))?;
        if !principal.can(role) {
            return Err(AppError::new(
                ErrorKind::Forbidden,
                format!("This needs the {} role. Ask an admin if you need it.", role.as_str()),
            ));
        }
        Ok(principal)
    }

    /// Adds `detail` to the audit entry of the current request.
    pub fn note(detail: Value) {
        let note = leptos::prelude::use_context::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<AuditNote>().cloned());
        if let Some(note) = note {
            *note.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(detail);
        }
    }
}
