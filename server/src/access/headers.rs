//! Content-Security-Policy and the other security headers every response carries.

use axum::{
    extract::{Request, State},
    http::{HeaderValue, header},
    middleware::Next,
    response::Response,
};

/// The policy every response gets. Pages replace it with one that also names their nonce: the
/// only inline scripts allowed are Leptos' hydration scripts, which carry it. `sign_out_to` is the
/// identity provider's origin with single sign-on: the Sign out form's answer sends the browser
/// on to its end-session endpoint, and `form-action` governs where a form's redirects may go.
pub fn content_security_policy(nonce: Option<&str>, sign_out_to: Option<&str>) -> String {
    let scripts = match nonce {
        Some(nonce) => format!("'self' 'nonce-{nonce}' 'wasm-unsafe-eval'"),
        None => "'self' 'wasm-unsafe-eval'".to_owned(),
    };
    let forms = match sign_out_to {
        Some(origin) => format!("'self' {origin}"),
        None => "'self'".to_owned(),
    };
    format!(
        "default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; \
         connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action {forms}; frame-ancestors 'none'"
    )
}

/// Security headers on every response; the state is the identity provider's origin, if any
/// (`content_security_policy`).
pub async fn secure_headers(State(sign_out_to): State<Option<String>>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY)
        && let Ok(value) = HeaderValue::from_str(&content_security_policy(None, sign_out_to.as_deref()))
    {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}
