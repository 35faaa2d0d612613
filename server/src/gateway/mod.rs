//! Switchboard's own Managed Agents API: `/v1/…` at Switchboard's address, which the official
//! SDKs, `ant` and CI jobs call unchanged but for the base URL and the key, with a person's
//! personal access token (`domain::tokens`) instead of the organisation's key.
//!
//! A call passes the layers every request passes (`web::router`): the token is checked and its
//! person put on the request (`access::authenticate`), its workspace chosen and the person's roles
//! there narrowed to the token's (`tenancy::workspaces::select`), the person's rate limits and
//! stream caps applied, browser and API together (`access::limits`), the mutation recorded under
//! the person and the token (`audit::record`), and the role checked against the access table
//! (`domain::gateway`, from which the console's own endpoints' roles are checked too). Refusals
//! are in the API's error shape ([`errors`]). Then:
//!
//! - sending events ([`events`]): confirmations and custom tools' results through the approval
//!   service, the rest passed on;
//! - a session's or thread's stream ([`stream`]): from the stream hub, one upstream stream per
//!   session;
//! - everything else ([`proxy`]): passed to the workspace's upstream with the server's key,
//!   bodies streamed both ways.

pub mod errors;
mod events;
pub mod proxy;
mod stream;
pub mod tokens;

use std::sync::Arc;

use axum::{Extension, extract::Request, http::StatusCode, response::Response};
use domain::auth::Principal;

use crate::{
    access::{Access, api_tokens::TokenCaller},
    tenancy::workspaces::Workspace,
};

/// Every call under `/v1/`, after the access layers let it through.
pub async fn handle(
    Extension(workspace): Extension<Arc<Workspace>>,
    principal: Option<Extension<Principal>>,
    caller: Option<Extension<TokenCaller>>,
    axum::extract::State(access): axum::extract::State<Arc<Access>>,
    request: Request,
) -> Response {
    // The layers let nothing else through; a request without them is refused all the same.
    let (Some(Extension(principal)), Some(Extension(caller))) = (principal, caller) else {
        return errors::api_error(StatusCode::UNAUTHORIZED, "Send a personal access token.");
    };
    let Some((route, ids)) = domain::gateway::route_of(request.method().as_str(), request.uri().path()) else {
        return errors::api_error(StatusCode::NOT_FOUND, "Switchboard does not pass this route on.");
    };
    if route.action == "sessions.events.send" {
        return events::send(&workspace, principal, &ids[0], request).await;
    }
    if route.action.ends_with(".stream") {
        let query = proxy::query_pairs(request.uri());
        let thread = ids.get(1).map(String::as_str);
        return stream::serve(&workspace.hub, (&ids[0], thread), &query, access.tokens.clone(), caller).await;
    }
    proxy::pass(&workspace.client, request).await
}
