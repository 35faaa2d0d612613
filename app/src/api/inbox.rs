//! The server functions of the approval inbox. What they take and answer, and the store they reach, are
//! [`domain::inbox`]'s.

pub use domain::inbox::*;

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use macros::access;

use super::JsonResponse;
use crate::error::AppError;

/// The inbox as the server last saw it (at most a poll interval old; waits for a fresh look when
/// nobody has asked for a while).
#[access(Viewer)]
#[server(endpoint = "inbox/list", input = GetUrl, output = JsonResponse)]
pub async fn list_inbox() -> Result<InboxList, AppError> {
    let inbox = use_context::<server::InboxHandle>()
        .ok_or_else(|| AppError::internal("The server did not provide its inbox."))?;
    Ok(inbox.0.current().await)
}

#[cfg(feature = "ssr")]
pub mod server {
    pub use domain::inbox::server::*;
}
