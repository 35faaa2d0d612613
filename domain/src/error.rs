//! The one error type of the console, on both sides: what its server functions and routes
//! answer, what its stores and services fail with, and what its pages show. A sentence a person
//! can act on, plus the facts behind it (what failed, the API's own message, the request id).
//!
//! Its wire encoding for server functions (`server_fn`'s `FromServerFnError`, the one trait of
//! that crate this crate names) sits behind the `server-fn` feature; its HTTP answer and its log
//! line behind `server`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What kind of failure it was; decides the HTTP status and how the page presents it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The user's input was refused (by Switchboard or by the API). Fix it and try again.
    BadInput,
    /// The thing asked for does not exist (or no longer does).
    NotFound,
    /// The thing changed since it was read (e.g. an agent edited from a stale version).
    Conflict,
    /// The upstream asked us to slow down.
    RateLimited,
    /// The upstream is unreachable, overloaded or failing.
    Unavailable,
    /// The upstream refused Switchboard's API key: the server's configuration is wrong.
    KeyRejected,
    /// Something inside Switchboard failed; the detail is in the server's log.
    Internal,
    /// Nobody is signed in (or the login expired): sign in and try again.
    SignedOut,
    /// The person's roles do not allow this.
    Forbidden,
    /// The request body is over the server's limit.
    TooLarge,
}

/// A failed console action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppError {
    pub kind: ErrorKind,
    /// The whole sentence: what failed, why, and what to do.
    pub message: String,
    /// The form field the error is about, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The API's request id, to quote when asking Anthropic about a failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The API's stable reason (`details.error_code`), when it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
}

impl AppError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into(), field: None, request_id: None, error_code: None }
    }

    /// Input Switchboard refuses before anything is sent upstream.
    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: Some(field.into()), ..Self::new(ErrorKind::BadInput, message) }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    /// An internal error whose cause (a database's or another store's own words, which name
    /// tables and files) goes to the server's log, while the person gets `message`.
    #[cfg(feature = "server")]
    pub fn internal_logged(cause: impl std::fmt::Display, message: &str) -> Self {
        tracing::error!("{message} Cause: {cause}");
        Self::internal(message)
    }

    /// The HTTP status the server function answers with.
    pub fn status(&self) -> u16 {
        match self.kind {
            ErrorKind::BadInput => 400,
            ErrorKind::NotFound => 404,
            ErrorKind::Conflict => 409,
            ErrorKind::RateLimited => 429,
            // Not the browser's fault: a gateway problem.
            ErrorKind::Unavailable | ErrorKind::KeyRejected => 502,
            ErrorKind::Internal => 500,
            ErrorKind::SignedOut => 401,
            ErrorKind::Forbidden => 403,
            ErrorKind::TooLarge => 413,
        }
    }
}

/// An error as a route outside the server functions answers it: its status and its JSON.
#[cfg(feature = "server")]
impl axum::response::IntoResponse for AppError {
    fn into_response(self) -> axum::response::Response {
        let status =
            axum::http::StatusCode::from_u16(self.status()).unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        (status, axum::Json(self)).into_response()
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(id) = &self.request_id {
            write!(f, " (request id {id})")?;
        }
        Ok(())
    }
}

impl std::error::Error for AppError {}

/// A domain check's refusal is a 400 that names the field.
impl From<crate::BadInput> for AppError {
    fn from(problem: crate::BadInput) -> Self {
        AppError::bad_input(problem.field, problem.message)
    }
}

#[cfg(feature = "server-fn")]
impl server_fn::error::FromServerFnError for AppError {
    type Encoder = server_fn::codec::JsonEncoding;

    fn from_server_fn_error(value: server_fn::error::ServerFnErrorErr) -> Self {
        use server_fn::error::ServerFnErrorErr;
        match value {
            // Arguments that do not decode are the caller's mistake, not ours.
            ServerFnErrorErr::Args(detail) => {
                Self::new(ErrorKind::BadInput, format!("The request was malformed: {detail}"))
            }
            ServerFnErrorErr::Request(detail) => {
                Self::new(ErrorKind::Unavailable, format!("Switchboard's server could not be reached: {detail}"))
            }
            other => Self::internal(format!("Switchboard failed to handle the request: {other}")),
        }
    }
}
