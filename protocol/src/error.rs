//! The error body every endpoint returns on failure.
//!
//! SDK: `types/shared/error_response.py`, `error_object.py`, `error_type.py`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

crate::literal_type! {
    /// `"error"`.
    pub ErrorTag = "error"
}

/// `{"type":"error","error":{…},"request_id":"req_…"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorResponse {
    pub error: ApiError,
    /// Also sent as the `request-id` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    pub r#type: ErrorTag,
}

/// The error itself. Branch on `details.error_code`, then `type`, then the HTTP status; never on
/// `message`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiError {
    pub r#type: ErrorType,
    /// Human-readable; its wording can change.
    pub message: String,
    /// `{error_code, …}` when the API names a stable reason. The SDK's `ErrorObject` models do
    /// not declare it (it only reaches `details` through its exception classes), so it is kept
    /// as raw JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
}

/// The broad category of an error (an open set).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorType {
    /// 400 (docs: also some 409 conflicts).
    InvalidRequestError,
    /// 401.
    AuthenticationError,
    /// 402 / 403.
    BillingError,
    /// 403.
    PermissionError,
    /// 404.
    NotFoundError,
    /// 429.
    RateLimitError,
    /// 504.
    TimeoutError,
    /// 500.
    ApiError,
    /// 529.
    OverloadedError,
    /// 409.
    MemoryPreconditionFailedError,
    /// 409.
    MemoryPathConflictError,
    /// 409.
    ConflictError,
    /// A type this version does not know (e.g. `request_too_large`).
    #[serde(untagged)]
    Other(String),
}

impl ApiError {
    /// `details.error_code`, the stable machine-readable reason, when present.
    pub fn error_code(&self) -> Option<&str> {
        self.details.as_ref()?.get("error_code")?.as_str()
    }
}
