//! What Switchboard keeps or passes through of a session: share links, imports, exports, and
//! the files and skills sent to the upstream.

pub mod export;
pub mod files;
pub mod import_rows;
pub mod imports;
pub mod share_rows;
pub mod shares;
pub mod skills;

use axum::{
    extract::{DefaultBodyLimit, FromRef},
    http::Method,
    routing::{get, post},
};
use domain::auth::{
    Role::{Operator, Viewer},
    Rule::{Needs, Public},
};

use crate::support::route::Route;

/// Files and skills passed to the upstream, share links' and imports' streams, and exports.
pub fn routes<S>() -> Vec<Route<S>>
where
    S: Clone + Send + Sync + 'static,
    files::MaxUpload: FromRef<S>,
{
    // A skill is read into memory (a zip is opened there), so its limit is the body's.
    let skill_body = || DefaultBodyLimit::max((skills::MAX_SKILL_BYTES + 1024 * 1024) as usize);
    vec![
        // The handler enforces the upload limit itself, while streaming.
        Route::new(Method::POST, "/api/files", Needs(Operator), post(files::upload).layer(DefaultBodyLimit::disable())),
        Route::new(Method::GET, "/api/files/{id}/content", Needs(Viewer), get(files::download)),
        Route::new(Method::POST, "/api/skills", Needs(Operator), post(skills::create).layer(skill_body())),
        Route::new(
            Method::POST,
            "/api/skills/{id}/versions",
            Needs(Operator),
            post(skills::add_version).layer(skill_body()),
        ),
        Route::new(Method::GET, "/api/skills/{id}/versions/{version}/content", Needs(Viewer), get(skills::download)),
        // A share link's token is its credential: the handler opens only its own session's
        // events, redacted as the link says (shares.rs).
        Route::new(Method::GET, "/api/shares/{token}/stream", Public, get(shares::stream)),
        Route::new(Method::GET, "/api/shares/{token}/threads/{thread_id}/stream", Public, get(shares::thread_stream)),
        // An export read back as a read-only session; its own limit (imports.rs), while streaming.
        Route::new(
            Method::POST,
            "/api/imports",
            Needs(Operator),
            post(imports::upload).layer(DefaultBodyLimit::max(imports::MAX_IMPORT_BYTES + 64 * 1024)),
        ),
        Route::new(Method::GET, "/api/imports/{id}/stream", Needs(Viewer), get(imports::stream)),
        // Each export is an audit entry; the exports running are this router's.
        Route::new(
            Method::GET,
            "/api/sessions/{id}/export",
            Needs(Viewer),
            get(export::export).layer(axum::Extension(export::Running::default())),
        ),
    ]
}
