//! The request body limit, `SWITCHBOARD_MAX_BODY_BYTES`, for every mutation under `/api/` but
//! uploads, which have limits of their own ([`is_upload`]). The body is read here once, up to
//! the limit, and passed on whole; a larger one is answered with 413 before any handler runs.
//! The audit layer, outside this one, gets the bytes through [`ReadBody`] to name the ids they
//! hold. The body of a request from nobody signed in to an endpoint that needs someone is not
//! read at all: the role check refuses it unread, so nobody can make the server buffer megabytes
//! without signing in.

use std::sync::Arc;

use crate::audit::{ReadBody, mutation};
use axum::{
    body::Body,
    extract::{Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};
use domain::{
    auth::{Principal, Rule},
    error::{AppError, ErrorKind},
};

/// The uploads: `POST /api/files` streams within `SWITCHBOARD_MAX_UPLOAD_BYTES`; those of the
/// API (`POST /v1/files`, `/v1/skills`, `/v1/skills/{id}/versions`) stream to the upstream;
/// `POST /api/skills` and `POST /api/skills/{id}/versions` read a skill within its 8 MiB.
pub fn is_upload(action: &str) -> bool {
    // Through the API they stream to the upstream, which applies its own limits.
    matches!(action, "v1/files.upload" | "v1/skills.create" | "v1/skills.versions.create")
        || action == "files"
        || action == "skills"
        || action == "imports"
        || action
            .strip_prefix("skills/")
            .and_then(|rest| rest.strip_suffix("/versions"))
            .is_some_and(|id| !id.contains('/'))
}

/// Reads the body of a limited request (at most `max_bytes`), or answers 413.
pub async fn limit(
    State((max_bytes, access)): State<(usize, Arc<crate::access::Access>)>,
    request: Request,
    next: Next,
) -> Response {
    let limited = mutation(request.method(), request.uri().path()).is_some_and(|action| !is_upload(&action));
    let refused_unread = request.extensions().get::<Principal>().is_none()
        && access.rule(request.method(), request.uri().path()) != Some(Rule::Public);
    if !limited || refused_unread {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, max_bytes).await else {
        return AppError::new(
            ErrorKind::TooLarge,
            format!("The request is larger than this server accepts ({max_bytes} bytes); send less at once."),
        )
        .into_response();
    };
    if let Some(read) = parts.extensions.get::<ReadBody>() {
        read.put(bytes.clone());
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}
