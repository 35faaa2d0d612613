//! The request body limit, `SWITCHBOARD_MAX_BODY_BYTES`, for every mutation under `/api/` but
//! uploads, which have limits of their own ([`is_upload`]). The body is read here once, up to
//! the limit, and passed on whole; a larger one is answered with 413 before any handler runs.
//! The audit layer, outside this one, gets the bytes through [`ReadBody`] to name the ids they
//! hold. The body of a request from nobody signed in to an endpoint that needs someone is not
//! read at all: the role check refuses it unread, so nobody can make the server buffer megabytes
//! without signing in.

use std::sync::{Arc, Mutex};

use app::{
    api::access::Rule,
    auth::Principal,
    error::{AppError, ErrorKind},
};
use axum::{
    body::{Body, Bytes},
    extract::{Request, State},
    http::Method,
    middleware::Next,
    response::{IntoResponse, Response},
};

/// The mutation a request under `/api/` is (`agents/create`), or `None` for a read or anything
/// else: what the audit log records and this limit applies to.
pub fn mutation(method: &Method, path: &str) -> Option<String> {
    let is_mutation = !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    path.strip_prefix("/api/").filter(|_| is_mutation).map(str::to_owned)
}

/// The uploads: `POST /api/files` streams within `SWITCHBOARD_MAX_UPLOAD_BYTES`;
/// `POST /api/skills` and `POST /api/skills/{id}/versions` read a skill within its 8 MiB.
pub fn is_upload(action: &str) -> bool {
    action == "files"
        || action == "skills"
        || action == "imports"
        || action
            .strip_prefix("skills/")
            .and_then(|rest| rest.strip_suffix("/versions"))
            .is_some_and(|id| !id.contains('/'))
}

/// Where this layer leaves the body it read, for a layer outside it: put one in the request's
/// extensions before it gets here.
#[derive(Clone, Default)]
pub struct ReadBody(Arc<Mutex<Option<Bytes>>>);

impl ReadBody {
    /// The body, once this layer read it whole.
    pub fn take(&self) -> Option<Bytes> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
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
        *read.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(bytes.clone());
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}
