use leptos::prelude::*;

use super::JsonResponse;
use crate::upstream::UpstreamSummary;

/// Which upstream this Switchboard talks to. An idempotent read, so GET is allowed.
#[server(endpoint = "upstream", input = leptos::server_fn::codec::GetUrl, output = JsonResponse)]
pub async fn get_upstream_summary() -> Result<UpstreamSummary, ServerFnError> {
    use_context::<UpstreamSummary>()
        .ok_or_else(|| ServerFnError::new("The server did not provide its upstream settings."))
}
