use leptos::prelude::*;
use macros::access;

use super::JsonResponse;
use crate::{error::AppError, upstream::UpstreamSummary};

/// Which upstream this Switchboard talks to. An idempotent read, so GET is allowed.
#[access(Viewer)]
#[server(endpoint = "upstream", input = leptos::server_fn::codec::GetUrl, output = JsonResponse)]
pub async fn get_upstream_summary() -> Result<UpstreamSummary, AppError> {
    use_context::<UpstreamSummary>()
        .ok_or_else(|| AppError::internal("The server did not provide its upstream settings."))
}
