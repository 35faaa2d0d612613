//! Errors as the API writes them: `{type:"error", error:{type, message, details?}, request_id}`.
//! The typed errors of the engine's parts that reach a client become one here, by `From`; a
//! part this module may not import (a domain module, which imports it) converts beside its type.

use axum::{
    Json,
    http::{HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use protocol::{
    error::{ErrorResponse, ErrorTag, ErrorType},
    schedule::ScheduleProblem,
};
use serde_json::json;

use crate::{ids::new_id, script::ScriptError};

/// An error answer of the API. The message says what went wrong and, where it can, what to do.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub kind: ErrorType,
    pub message: String,
    pub code: Option<&'static str>,
    /// Fields of `details` besides `error_code` (`skill_name` of `skill_name_taken`).
    pub details: Option<Box<serde_json::Map<String, serde_json::Value>>>,
    /// What the error is about, for callers inside the engine; never on the wire.
    pub cause: Option<Cause>,
}

/// What an error is about, where a caller inside the engine acts on it: a deployment's run types
/// its error by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    AgentArchived,
    EnvironmentArchived,
    EnvironmentNotFound,
    FileNotFound,
    MemoryStoreArchived,
    MemoryStoreNotFound,
    /// A memory already exists at the path.
    PathTaken,
    /// A custom skill the agent names, or the version it pins, is gone.
    SkillNotFound,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, kind: ErrorType, message: impl Into<String>) -> Self {
        Self { status, kind, message: message.into(), code: None, details: None, cause: None }
    }

    /// 400 `invalid_request_error`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorType::InvalidRequestError, message)
    }

    /// 404 `not_found_error` naming what was looked for.
    pub fn not_found(what: &str, id: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorType::NotFoundError, format!("{what} {id:?} was not found."))
    }

    /// 409 `conflict_error`.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, ErrorType::ConflictError, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, ErrorType::AuthenticationError, message)
    }

    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, ErrorType::Other("request_too_large".into()), message)
    }

    /// 500 `api_error`. The cause goes to the log; the answer says only that the engine failed.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!("engine failure: {cause}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorType::ApiError,
            "The engine failed to handle this request; see its log.",
        )
    }

    /// A 404 for something a request body names becomes a 400 about that field.
    pub fn in_field(self, field: &str) -> Self {
        if self.status == StatusCode::NOT_FOUND { Self::invalid(format!("{field}: {}", self.message)) } else { self }
    }

    pub fn because(mut self, cause: Cause) -> Self {
        self.cause = Some(cause);
        self
    }

    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    /// A field of `details` besides its `error_code`.
    pub fn with_detail(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.details.get_or_insert_default().insert(key.to_owned(), value.into());
        self
    }

    pub fn body(&self, request_id: &str) -> ErrorResponse {
        ErrorResponse {
            error: protocol::error::ApiError {
                r#type: self.kind.clone(),
                message: self.message.clone(),
                details: self.code.map(|code| {
                    let mut details = self.details.as_deref().cloned().unwrap_or_default();
                    details.insert("error_code".to_owned(), json!(code));
                    serde_json::Value::Object(details)
                }),
            },
            request_id: Some(request_id.to_owned()),
            r#type: ErrorTag,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let request_id = new_id("req");
        let mut response = (self.status, Json(self.body(&request_id))).into_response();
        if let Ok(value) = HeaderValue::from_str(&request_id) {
            response.headers_mut().insert("request-id", value);
        }
        response
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        Self::internal(error)
    }
}

impl From<serde_json::Error> for ApiError {
    fn from(error: serde_json::Error) -> Self {
        Self::internal(error)
    }
}

/// A deployment's schedule the API refuses: a 400 saying what to write instead.
impl From<ScheduleProblem> for ApiError {
    fn from(problem: ScheduleProblem) -> Self {
        Self::invalid(problem.to_string())
    }
}

/// A scripted agent's system prompt that is no script: a 400 naming the fault.
impl From<ScriptError> for ApiError {
    fn from(error: ScriptError) -> Self {
        Self::invalid(error.to_string())
    }
}
