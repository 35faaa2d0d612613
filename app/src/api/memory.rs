//! Memory stores: list, create, edit, archive, delete; a store's memories one directory at a
//! time; a memory read and written with a precondition on what the person saw (a lost race
//! answers both versions, so nothing typed is lost); versions with who wrote each, a diff of any
//! two, and redaction.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use macros::access;
#[cfg(feature = "ssr")]
use protocol::memory::MemoryListItem;
use protocol::{
    common::Page,
    memory::{Actor, Memory, MemoryOperation, MemoryStore, MemoryVersion},
};
use serde::{Deserialize, Serialize};
#[cfg(feature = "ssr")]
use serde_json::json;

#[cfg(feature = "ssr")]
use super::server::{Kind, archive, delete, list_archivable, paging, segment, upstream};
use super::{JsonResponse, diff::DiffLine};
use crate::error::AppError;

/// A store as the pages show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoreRow {
    pub id: String,
    pub name: String,
    pub description: String,
    pub updated_at: String,
    pub archived: bool,
    /// Who made it through Switchboard (none: made elsewhere, or before it kept the record).
    #[serde(default)]
    pub created_by: Option<domain::creators::Creator>,
}

impl StoreRow {
    pub fn of(store: &MemoryStore) -> Self {
        Self {
            id: store.id.clone(),
            name: store.name.clone(),
            description: store.description.clone(),
            updated_at: store.updated_at.clone(),
            archived: store.archived_at.is_some(),
            created_by: None,
        }
    }
}

/// One entry of a directory: a memory, a folder to open, or an item of a type this version does
/// not know (shown as the API sent it, not dropped).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TreeEntry {
    Folder { path: String },
    Memory { id: String, path: String, size_bytes: u64, updated_at: String },
    Other { json: String },
}

impl TreeEntry {
    /// The last segment of its path, as the tree shows it (a folder with its `/`).
    pub fn name(&self) -> String {
        let path = match self {
            TreeEntry::Folder { path } => path.trim_end_matches('/'),
            TreeEntry::Memory { path, .. } => path.as_str(),
            TreeEntry::Other { json } => return json.clone(),
        };
        let last = path.rsplit('/').next().unwrap_or(path).to_owned();
        if matches!(self, TreeEntry::Folder { .. }) { format!("{last}/") } else { last }
    }
}

/// A memory opened: its text and what a change must be based on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryView {
    pub id: String,
    pub path: String,
    pub content: String,
    pub content_sha256: String,
    pub size_bytes: u64,
    pub version_id: String,
    pub updated_at: String,
}

impl MemoryView {
    pub fn of(memory: Memory) -> Self {
        Self {
            id: memory.id,
            path: memory.path,
            content: memory.content.unwrap_or_default(),
            content_sha256: memory.content_sha256,
            size_bytes: memory.content_size_bytes,
            version_id: memory.memory_version_id,
            updated_at: memory.updated_at,
        }
    }
}

/// What saving a memory came to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Saved {
    Saved(MemoryView),
    /// Someone changed the memory since it was opened: what it holds now. The draft stays in the
    /// page, for the person to compare and decide.
    Conflict(MemoryView),
}

/// Who wrote a version, in words, with the session to link to when an agent did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Author {
    pub words: String,
    pub session_id: Option<String>,
}

impl Author {
    pub fn of(actor: Option<&Actor>) -> Self {
        let (words, session_id) = match actor {
            None => ("not recorded".to_owned(), None),
            Some(Actor::Session(s)) => (format!("session {}", s.session_id), Some(s.session_id.clone())),
            Some(Actor::Api(a)) => (format!("API key {}", a.api_key_id), None),
            Some(Actor::User(u)) => (format!("user {}", u.user_id), None),
            Some(Actor::ServiceAccount(s)) => (format!("service account {}", s.service_account_id), None),
            Some(Actor::Unknown(v)) => (format!("{v}"), None),
        };
        Self { words, session_id }
    }
}

/// A version as the history lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionRow {
    pub id: String,
    pub memory_id: String,
    /// `created`, `modified`, `deleted`.
    pub operation: String,
    pub path: Option<String>,
    pub size_bytes: Option<u64>,
    pub author: Author,
    pub created_at: String,
    pub redacted_at: Option<String>,
    pub redacted_by: Option<Author>,
}

impl VersionRow {
    pub fn of(version: &MemoryVersion) -> Self {
        Self {
            id: version.id.clone(),
            memory_id: version.memory_id.clone(),
            operation: match &version.operation {
                MemoryOperation::Created => "created".to_owned(),
                MemoryOperation::Modified => "modified".to_owned(),
                MemoryOperation::Deleted => "deleted".to_owned(),
                MemoryOperation::Other(other) => other.clone(),
            },
            path: version.path.clone(),
            size_bytes: version.content_size_bytes,
            author: Author::of(version.created_by.as_ref()),
            created_at: version.created_at.clone(),
            redacted_at: version.redacted_at.clone(),
            redacted_by: version.redacted_at.as_ref().map(|_| Author::of(version.redacted_by.as_ref())),
        }
    }
}

#[cfg(feature = "ssr")]
fn store_path(id: &str) -> Result<String, AppError> {
    Ok(format!("/v1/memory_stores/{}", segment(id)?))
}

#[access(Viewer)]
#[server(endpoint = "memory/list", input = GetUrl, output = JsonResponse)]
pub async fn list_stores(
    include_archived: bool,
    page: Option<String>,
    #[server(default)] mine: bool,
) -> Result<Page<StoreRow>, AppError> {
    list_archivable(
        ("/v1/memory_stores", "Listing memory stores", Kind::MemoryStore),
        (include_archived, mine),
        page,
        StoreRow::of,
    )
    .await
}

made_by!(StoreRow);

#[access(Viewer)]
#[server(endpoint = "memory/get", input = GetUrl, output = JsonResponse)]
pub async fn get_store(id: String) -> Result<StoreRow, AppError> {
    upstream()?
        .get(&store_path(&id)?, vec![])
        .await
        .map(|s| StoreRow::of(&s))
        .map_err(|e| AppError::upstream("Loading the memory store", e))
}

/// Creates a store (`id` empty) or changes one's name and description.
#[access(Operator)]
#[server(endpoint = "memory/save", output = JsonResponse)]
pub async fn save_store(id: String, name: String, description: String) -> Result<StoreRow, AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 255 {
        return Err(AppError::bad_input("name", "Give the store a name of 1–255 characters."));
    }
    if description.chars().count() > 1024 {
        return Err(AppError::bad_input("description", "A description holds at most 1,024 characters."));
    }
    let body = json!({ "name": name, "description": description.trim() });
    let (path, action) = match id.trim() {
        "" => ("/v1/memory_stores".to_owned(), "Creating the memory store"),
        id => (store_path(id)?, "Saving the memory store"),
    };
    upstream()?.post(&path, &body).await.map(|s| StoreRow::of(&s)).map_err(|e| AppError::upstream(action, e))
}

#[access(Admin)]
#[server(endpoint = "memory/archive", output = JsonResponse)]
pub async fn archive_store(id: String) -> Result<StoreRow, AppError> {
    archive(&store_path(&id)?, "Archiving the memory store", StoreRow::of).await
}

#[access(Admin)]
#[server(endpoint = "memory/delete", output = JsonResponse)]
pub async fn delete_store(id: String) -> Result<(), AppError> {
    delete(&store_path(&id)?, "Deleting the memory store").await
}

/// One page of a directory of a store (`prefix` `/` or ending with `/`): its memories, and a
/// folder for each directory below it.
#[access(Viewer)]
#[server(endpoint = "memory/tree", input = GetUrl, output = JsonResponse)]
pub async fn list_directory(
    store_id: String,
    prefix: String,
    page: Option<String>,
) -> Result<Page<TreeEntry>, AppError> {
    let prefix = if prefix.is_empty() { "/".to_owned() } else { prefix };
    if !prefix.starts_with('/') || !prefix.ends_with('/') {
        return Err(AppError::bad_input("prefix", "A folder starts and ends with /, e.g. /notes/."));
    }
    let mut query = paging(100, page);
    query.push(("depth".into(), "1".into()));
    query.push(("path_prefix".into(), prefix));
    let page: Page<MemoryListItem> = upstream()?
        .get(&format!("{}/memories", store_path(&store_id)?), query)
        .await
        .map_err(|e| AppError::upstream("Listing the memories", e))?;
    Ok(page.map(|item| match item {
        MemoryListItem::Memory(m) => {
            TreeEntry::Memory { id: m.id, path: m.path, size_bytes: m.content_size_bytes, updated_at: m.updated_at }
        }
        MemoryListItem::MemoryPrefix(p) => TreeEntry::Folder { path: p.path },
        MemoryListItem::Unknown(v) => TreeEntry::Other { json: v.to_string() },
    }))
}

#[cfg(feature = "ssr")]
async fn fetch_memory(store_id: &str, id: &str) -> Result<MemoryView, AppError> {
    upstream()?
        .get(&format!("{}/memories/{}", store_path(store_id)?, segment(id)?), vec![("view".into(), "full".into())])
        .await
        .map(MemoryView::of)
        .map_err(|e| AppError::upstream("Opening the memory", e))
}

#[access(Viewer)]
#[server(endpoint = "memory/open", input = GetUrl, output = JsonResponse)]
pub async fn open_memory(store_id: String, id: String) -> Result<MemoryView, AppError> {
    fetch_memory(&store_id, &id).await
}

/// Writes a memory. A new one (`id` empty) at `path`; an existing one only if it still holds
/// what was opened (`based_on`, its `content_sha256`): otherwise the answer is
/// [`Saved::Conflict`] with what it holds now, and nothing is written.
#[access(Operator)]
#[server(endpoint = "memory/write", output = JsonResponse)]
pub async fn write_memory(
    store_id: String,
    id: String,
    path: String,
    content: String,
    based_on: String,
) -> Result<Saved, AppError> {
    use crate::upstream::client::UpstreamError;
    let path = path.trim().to_owned();
    if !path.starts_with('/') || path.ends_with('/') {
        return Err(AppError::bad_input(
            "path",
            "A memory's path starts with / and names a file, e.g. /notes/todo.md.",
        ));
    }
    if content.len() > 102_400 {
        return Err(AppError::bad_input(
            "content",
            format!(
                "A memory holds at most 100 kB; this text is {}. Split it into several memories.",
                crate::format::bytes(content.len() as u64)
            ),
        ));
    }
    let memories = format!("{}/memories", store_path(&store_id)?);
    let api = upstream()?;
    let written: Result<Memory, UpstreamError> = match id.trim() {
        "" => api.post(&memories, &json!({ "path": path, "content": content })).await,
        id => {
            let body = json!({
                "path": path,
                "content": content,
                "precondition": { "type": "content_sha256", "content_sha256": based_on },
            });
            api.post(&format!("{memories}/{}", segment(id)?), &body).await
        }
    };
    match written {
        Ok(memory) => fetch_memory(&store_id, &memory.id).await.map(Saved::Saved),
        Err(UpstreamError::Api { status: 409, error: Some(error), .. })
            if error.r#type == protocol::error::ErrorType::MemoryPreconditionFailedError =>
        {
            fetch_memory(&store_id, &id).await.map(Saved::Conflict)
        }
        Err(e) => Err(AppError::upstream("Saving the memory", e)),
    }
}

/// Deletes a memory if it still holds what was opened (its history stays).
#[access(Admin)]
#[server(endpoint = "memory/forget", output = JsonResponse)]
pub async fn delete_memory(store_id: String, id: String, based_on: String) -> Result<(), AppError> {
    let path = format!("{}/memories/{}", store_path(&store_id)?, segment(&id)?);
    let mut query = vec![];
    if !based_on.is_empty() {
        query.push(("expected_content_sha256".to_owned(), based_on));
    }
    upstream()?
        .delete_with::<serde_json::Value>(&path, query)
        .await
        .map(|_| ())
        .map_err(|e| AppError::upstream("Deleting the memory", e))
}

/// A page of the versions of one memory (or of the whole store when `memory_id` is empty),
/// newest first.
#[access(Viewer)]
#[server(endpoint = "memory/versions", input = GetUrl, output = JsonResponse)]
pub async fn list_versions(
    store_id: String,
    memory_id: String,
    page: Option<String>,
) -> Result<Page<VersionRow>, AppError> {
    let mut query = paging(50, page);
    if !memory_id.is_empty() {
        query.push(("memory_id".into(), segment(&memory_id)?));
    }
    let page: Page<MemoryVersion> = upstream()?
        .get(&format!("{}/memory_versions", store_path(&store_id)?), query)
        .await
        .map_err(|e| AppError::upstream("Listing the memory's versions", e))?;
    Ok(page.map(|v| VersionRow::of(&v)))
}

/// The lines that differ between two versions (older first), with three lines of context.
#[access(Viewer)]
#[server(endpoint = "memory/diff", input = GetUrl, output = JsonResponse)]
pub async fn version_diff(store_id: String, older: String, newer: String) -> Result<Vec<DiffLine>, AppError> {
    let versions = format!("{}/memory_versions", store_path(&store_id)?);
    let api = upstream()?;
    let full = || vec![("view".to_owned(), "full".to_owned())];
    let (a, b) = (format!("{versions}/{}", segment(&older)?), format!("{versions}/{}", segment(&newer)?));
    let (a, b): (Result<MemoryVersion, _>, Result<MemoryVersion, _>) =
        futures::join!(api.get(&a, full()), api.get(&b, full()));
    let a = a.map_err(|e| AppError::upstream("Loading the older version", e))?;
    let b = b.map_err(|e| AppError::upstream("Loading the newer version", e))?;
    Ok(super::diff::diff_text(a.content.as_deref().unwrap_or(""), b.content.as_deref().unwrap_or("")))
}

/// Redacts a version: its path and content are gone for good (who wrote it stays).
#[access(Admin)]
#[server(endpoint = "memory/redact", output = JsonResponse)]
pub async fn redact_version(store_id: String, version_id: String) -> Result<VersionRow, AppError> {
    upstream()?
        .post(&format!("{}/memory_versions/{}/redact", store_path(&store_id)?, segment(&version_id)?), &json!({}))
        .await
        .map(|v: MemoryVersion| VersionRow::of(&v))
        .map_err(|e| AppError::upstream("Redacting the version", e))
}
