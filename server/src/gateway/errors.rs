//! Refusals in the API's own error shape, so that the SDKs raise their typed errors
//! (`PermissionDeniedError`, `AuthenticationError`, …): the gateway's own, and those the layers
//! every request passes through answer in the console's shape ([`shape`] rewrites them).

use axum::{
    body::Body,
    extract::Request,
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use domain::error::AppError;
use serde_json::json;

/// The API's `error.type` for a status.
fn kind_of(status: u16) -> &'static str {
    match status {
        400 | 422 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        409 => "conflict_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        504 => "timeout_error",
        529 => "overloaded_error",
        _ => "api_error",
    }
}

/// `{"type":"error","error":{"type":…,"message":…},"request_id":…}` with `status`, and the
/// `request-id` header the SDKs print beside an error.
pub fn api_error(status: StatusCode, message: &str) -> Response {
    let request_id = format!("req_sb_{}", crate::support::random_hex::<12>());
    let body = json!({
        "type": "error",
        "error": { "type": kind_of(status.as_u16()), "message": message },
        "request_id": request_id,
    });
    let mut response = (status, axum::Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("request-id", value);
    }
    response
}

/// A console error as the API words it.
pub fn of_app_error(error: &AppError) -> Response {
    api_error(StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), &error.message)
}

/// Rewrites a refusal of the layers (the role check, the rate limits, the body limit, the audit
/// log) to an API call into the API's error shape, keeping its status and `retry-after`. The
/// upstream's own errors pass as they came.
pub async fn shape(request: Request, next: Next) -> Response {
    if !crate::access::is_api(request.uri().path()) {
        return next.run(request).await;
    }
    let response = next.run(request).await;
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if response.status().as_u16() < 400 || !is_json || response.headers().contains_key("request-id") {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return api_error(parts.status, "The request failed, and its error could not be read.");
    };
    match serde_json::from_slice::<AppError>(&bytes) {
        Ok(error) => {
            let mut shaped = api_error(parts.status, &error.message);
            if let Some(wait) = parts.headers.get(header::RETRY_AFTER) {
                shaped.headers_mut().insert(header::RETRY_AFTER, wait.clone());
            }
            shaped
        }
        Err(_) => Response::from_parts(parts, Body::from(bytes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_refusal_reads_as_the_api_writes_one() {
        let response = of_app_error(&AppError::new(domain::error::ErrorKind::Forbidden, "no"));
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        let id = response.headers().get("request-id").unwrap().to_str().unwrap().to_owned();
        let body: serde_json::Value =
            serde_json::from_slice(&axum::body::to_bytes(response.into_body(), 1024).await.unwrap()).unwrap();
        assert_eq!(
            body,
            json!({ "type": "error", "error": { "type": "permission_error", "message": "no" }, "request_id": id })
        );
        assert_eq!(kind_of(401), "authentication_error");
        assert_eq!(kind_of(429), "rate_limit_error");
        assert_eq!(kind_of(502), "api_error");
    }
}
