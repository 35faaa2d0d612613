//! Memory stores (beta `agent-memory-2026-07-22`): named collections of text documents that
//! sessions mount under `/mnt/memory/`, with a version history of every change.
//!
//! SDK: `beta_managed_agents_memory_store.py`, `memory_stores/*.py`, `memory_store_*_params.py`.

use serde::{Deserialize, Serialize};

use crate::common::{Deleted, Metadata, MetadataPatch, Page, Timestamp};

crate::literal_type! {
    /// `"memory_store"`.
    pub MemoryStoreTag = "memory_store"
}
crate::literal_type! {
    /// `"memory_store_deleted"`.
    pub MemoryStoreDeletedTag = "memory_store_deleted"
}
crate::literal_type! {
    /// `"memory"`.
    pub MemoryTag = "memory"
}
crate::literal_type! {
    /// `"memory_deleted"`.
    pub MemoryDeletedTag = "memory_deleted"
}
crate::literal_type! {
    /// `"memory_version"`.
    pub MemoryVersionTag = "memory_version"
}
crate::literal_type! {
    /// `"content_sha256"`.
    pub ContentSha256Tag = "content_sha256"
}

/// A memory store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryStore {
    /// `memstore_…`.
    pub id: String,
    /// Archiving is irreversible.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived_at: Option<Timestamp>,
    pub created_at: Timestamp,
    /// Shown to the agent; `""` when unset.
    pub description: String,
    pub metadata: Metadata,
    /// The mount-path slug is derived from it.
    pub name: String,
    pub r#type: MemoryStoreTag,
    pub updated_at: Timestamp,
}

/// `GET /v1/memory_stores`.
pub type MemoryStorePage = Page<MemoryStore>;
/// `DELETE /v1/memory_stores/{id}` (also deletes its memories and versions).
pub type MemoryStoreDeleted = Deleted<MemoryStoreDeletedTag>;

/// A text document at a path in a memory store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    /// `mem_…`; stays the same across renames.
    pub id: String,
    /// Lowercase hex SHA-256 of the content; always set, usable as an update precondition.
    pub content_sha256: String,
    pub content_size_bytes: u64,
    pub created_at: Timestamp,
    pub memory_store_id: String,
    /// The version this state corresponds to (`memver_…`).
    pub memory_version_id: String,
    /// Starts with `/`; case-sensitive, unique in the store.
    pub path: String,
    pub r#type: MemoryTag,
    pub updated_at: Timestamp,
    /// `None` with `view=basic`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
}

crate::open_union! {
    /// An entry of `GET …/memories`: a memory, or a directory marker below the requested depth.
    pub enum MemoryListItem {
        Memory(MemoryListEntry) = "memory",
        MemoryPrefix(MemoryPrefix) = "memory_prefix",
    }
}

/// A [`Memory`] inside a [`MemoryListItem`] (the union carries the `type`).
pub type MemoryListEntry = Memory;

/// A rolled-up directory marker; pass `path` as `path_prefix` to drill in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryPrefix {
    /// With a trailing `/`.
    pub path: String,
}

/// `GET /v1/memory_stores/{id}/memories`.
pub type MemoryPage = Page<MemoryListItem>;
/// `DELETE …/memories/{id}`.
pub type MemoryDeleted = Deleted<MemoryDeletedTag>;

/// One entry of a memory's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryVersion {
    /// `memver_…`.
    pub id: String,
    pub created_at: Timestamp,
    pub memory_id: String,
    pub memory_store_id: String,
    pub operation: MemoryOperation,
    pub r#type: MemoryVersionTag,
    /// `None` with `view=basic`, for `deleted`, or once redacted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_size_bytes: Option<u64>,
    /// Who made the change (a session's agent, an API key, a user…), if recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<Actor>,
    /// `None` if and only if redacted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redacted_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redacted_by: Option<Actor>,
}

/// `GET /v1/memory_stores/{id}/memory_versions`.
pub type MemoryVersionPage = Page<MemoryVersion>;

/// The kind of change a version records.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemoryOperation {
    Created,
    Modified,
    Deleted,
    #[serde(untagged)]
    Other(String),
}

crate::open_union! {
    /// Who made or redacted a change.
    pub enum Actor {
        /// An agent writing through a session's mounted filesystem.
        Session(SessionActor) = "session_actor",
        /// A direct API caller.
        Api(ApiActor) = "api_actor",
        /// A human, e.g. in the Console.
        User(UserActor) = "user_actor",
        ServiceAccount(ServiceAccountActor) = "service_account_actor",
    }
}

/// A session's agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionActor {
    pub session_id: String,
}

/// An API key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiActor {
    /// `apikey_…`.
    pub api_key_id: String,
}

/// A human user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserActor {
    /// `user_…`.
    pub user_id: String,
}

/// A service account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceAccountActor {
    /// `svac_…`.
    pub service_account_id: String,
}

// --- request bodies ----------------------------------------------------------------------------

/// `POST /v1/memory_stores`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryStoreCreate {
    /// 1–255 chars; need not be unique.
    pub name: String,
    /// ≤ 1024 chars, shown to the agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
}

/// `POST /v1/memory_stores/{id}` (400 if archived).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MemoryStoreUpdate {
    /// `""` clears.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "::serde_with::rust::double_option")]
    pub description: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<MetadataPatch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `POST /v1/memory_stores/{id}/memories` (409 if the path is taken).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryCreate {
    /// Required but nullable; `""` creates an empty memory. ≤ 100 kB.
    pub content: Option<String>,
    pub path: String,
}

/// `POST /v1/memory_stores/{id}/memories/{memory_id}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MemoryUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Renames the memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Fails the update with 409 unless it holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precondition: Option<Precondition>,
}

/// Apply only if the memory's current content has this SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Precondition {
    pub r#type: ContentSha256Tag,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_sha256: Option<String>,
}
