//! One upstream event stream per session, shared by every viewer, sent to browsers as SSE.

pub mod hub;
pub mod live;
pub mod sse;

use axum::{http::Method, routing::get};
use domain::auth::{Role::Viewer, Rule::Needs};

use crate::support::route::Route;

/// A session's event stream, and one thread's.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Vec<Route<S>> {
    vec![
        Route::new(Method::GET, "/api/sessions/{id}/stream", Needs(Viewer), get(live::stream)),
        Route::new(
            Method::GET,
            "/api/sessions/{id}/threads/{thread_id}/stream",
            Needs(Viewer),
            get(live::thread_stream),
        ),
    ]
}
