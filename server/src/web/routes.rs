//! Every route outside the Leptos app (pages and server functions), with its access rule: each
//! feature's own list, declared beside its handlers, collected here. The router and the access
//! table are built from this list, and `server/tests/access.rs` walks it, so a route cannot be
//! added without a rule and without the access test seeing it. A new feature adds its list here.

use axum::{http::Method, routing::get};
use domain::auth::Rule;

use super::state::AppState;
use crate::support::route::Route;

pub fn routes() -> Vec<Route<AppState>> {
    let health = Route::new(Method::GET, "/healthz", Rule::Public, get(|| async { "ok" }));
    [
        vec![health],
        super::observe::routes(),
        crate::access::routes(),
        crate::audit::routes(),
        crate::streams::routes(),
        crate::approvals::routes(),
        crate::records::routes(),
        crate::notify::routes(),
        crate::slack::routes(),
        crate::tenancy::routes(),
    ]
    .into_iter()
    .flatten()
    .collect()
}
