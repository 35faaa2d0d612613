//! Files: metadata of uploaded or agent-produced files (the content itself is raw bytes).
//!
//! SDK: `beta/beta_file_metadata.py` (the beta type adds `scope`), `beta/beta_deleted_file.py`.

use serde::{Deserialize, Serialize};

use crate::common::{Page, Timestamp};

crate::literal_type! {
    /// `"file"`.
    pub FileTag = "file"
}
crate::literal_type! {
    /// `"file_deleted"`.
    pub FileDeletedTag = "file_deleted"
}
/// `"session"` (the only file scope).
pub type SessionScopeTag = crate::session_parts::SessionTag;

/// Metadata of a file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileMetadata {
    /// `file_…`.
    pub id: String,
    pub created_at: Timestamp,
    pub filename: String,
    pub mime_type: String,
    pub size_bytes: u64,
    pub r#type: FileTag,
    /// Only files produced by tools can be downloaded; uploads cannot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub downloadable: Option<bool>,
    /// `None` if the file does not expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    /// The session that produced the file, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<FileScope>,
}

/// What a file is scoped to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileScope {
    /// The session id.
    pub id: String,
    pub r#type: SessionScopeTag,
}

/// `GET /v1/files`.
pub type FilePage = Page<FileMetadata>;

/// `DELETE /v1/files/{id}` (`type` is optional in the SDK).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDeleted {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<FileDeletedTag>,
}
