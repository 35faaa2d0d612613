//! The approval service (`domain::approvals`) as a server function reaches it: from the Leptos
//! context the server fills, with the request's person and audit entry as its caller.

#[cfg(feature = "ssr")]
pub use {domain::approvals::*, service::*};

#[cfg(feature = "ssr")]
mod service {
    use domain::approvals::{ApprovalsHandle, Caller};

    use crate::{
        auth::store::{AuditNote, signed_in},
        error::AppError,
    };

    /// The request's workspace's approval service.
    pub fn approvals() -> Result<ApprovalsHandle, AppError> {
        leptos::prelude::use_context::<ApprovalsHandle>()
            .ok_or_else(|| AppError::internal("The server did not provide its approval service."))
    }

    /// The signed-in person of the server function being served (the access table lets nobody
    /// else reach the approval endpoints), with the request's audit entry.
    pub fn caller() -> Result<Caller, AppError> {
        let note = leptos::prelude::use_context::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<AuditNote>().cloned());
        Ok(Caller::new(signed_in()?, note))
    }
}
