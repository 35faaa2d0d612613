//! The server function that says which upstream this Switchboard talks to (the Overview's card).

use leptos::prelude::*;
use macros::access;

use super::JsonResponse;
use crate::{error::AppError, upstream::UpstreamSummary};

/// Which upstream this Switchboard talks to. An idempotent read, so GET is allowed. Where it
/// listens and keeps its data are the server's own layout: admins see them, nobody else.
#[access(Viewer)]
#[server(endpoint = "upstream", input = leptos::server_fn::codec::GetUrl, output = JsonResponse)]
pub async fn get_upstream_summary() -> Result<UpstreamSummary, AppError> {
    let mut summary = use_context::<UpstreamSummary>()
        .ok_or_else(|| AppError::internal("The server did not provide its upstream settings."))?;
    if !crate::auth::store::principal().is_some_and(|p| p.can(crate::auth::Role::Admin)) {
        summary.base_url.clear();
        summary.data_dir.clear();
    }
    Ok(summary)
}
