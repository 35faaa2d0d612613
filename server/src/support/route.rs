//! A route outside the Leptos app, with who may use it. Each feature declares its own beside its
//! handlers (`access::routes`, `records::routes`, …); `web::routes` collects them into the router
//! and the access table, and `server/tests/access.rs` walks the same list, so a route cannot be
//! added without a rule and without the access test seeing it.

use axum::{http::Method, routing::MethodRouter};
use domain::auth::Rule;

pub struct Route<S> {
    pub method: Method,
    pub path: &'static str,
    pub rule: Rule,
    pub handler: MethodRouter<S>,
}

impl<S> Route<S> {
    pub fn new(method: Method, path: &'static str, rule: Rule, handler: MethodRouter<S>) -> Self {
        Self { method, path, rule, handler }
    }
}

/// The body limit of a form of a few fields (sign-in, sign-out, a password): more is abuse.
pub fn form_body() -> axum::extract::DefaultBodyLimit {
    axum::extract::DefaultBodyLimit::max(16 * 1024)
}
