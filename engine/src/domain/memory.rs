//! Memory stores: their memories (text at a path) and the append-only history of every change,
//! with who made it. A change is written with its version in one transaction, and only if the
//! memory is still what the change was worked out from (its `version_id`), so two writers never
//! lose one another's change unnoticed: a `content_sha256` precondition that no longer holds is a
//! 409, and a change without one simply comes after the other.

use protocol::sessions::MemoryAccess;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::{Sqlite, Transaction};

use super::{Paging, Ranges, time_filters};
use crate::{
    EngineState,
    error::{ApiError, ApiResult, Cause},
    ids::{new_id, now},
    store::{
        Filter, json,
        memories::{
            self as rows, CurrentMemory, MemoryRow, MemoryWrite, NewMemory, NewVersionRow, VERSION_BASIC, VERSION_FULL,
            VersionRow, Written,
        },
    },
};

/// Which memory versions a list shows (each condition when given).
pub struct VersionFilters {
    pub memory_id: Option<String>,
    pub session_id: Option<String>,
    pub api_key_id: Option<String>,
    /// `created`, `modified` or `deleted`.
    pub operation: Option<String>,
    /// Any service account: the engine has none, so nothing was written by one.
    pub service_account: bool,
    pub created: Ranges,
}

/// Largest memory content, in UTF-8 bytes (100 kB).
pub const MAX_CONTENT_BYTES: usize = 102_400;
/// Longest path, in bytes, and most segments in it.
pub const MAX_PATH_BYTES: usize = 1024;
pub const MAX_PATH_SEGMENTS: usize = 20;
/// How many tries a change gets when other writers keep changing the memory under it.
const WRITE_TRIES: usize = 5;

/// Who makes a change: the API's caller (the engine has one key), or a session's agent writing
/// through its mounted store.
#[derive(Debug, Clone)]
pub enum Actor {
    Api(String),
    Session(String),
}

impl Actor {
    pub fn to_json(&self) -> Value {
        match self {
            Actor::Api(key_id) => json!({ "type": "api_actor", "api_key_id": key_id }),
            Actor::Session(session_id) => json!({ "type": "session_actor", "session_id": session_id }),
        }
    }
}

/// Lowercase hex SHA-256 of `content`'s UTF-8 bytes, as the API gives it.
pub fn sha256_hex(content: &str) -> String {
    Sha256::digest(content.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks a memory path as the API does (`field` names it in the error).
pub fn check_path(path: &str, field: &str) -> ApiResult<()> {
    let bad = |why: &str| Err(ApiError::invalid(format!("{field} {path:?} {why}")));
    if !path.starts_with('/') {
        return bad("must start with /.");
    }
    if path.len() > MAX_PATH_BYTES {
        return bad("is longer than 1,024 bytes.");
    }
    let segments: Vec<&str> = path[1..].split('/').collect();
    if segments.len() > MAX_PATH_SEGMENTS {
        return bad("has more than 20 segments.");
    }
    if segments.iter().any(|s| s.is_empty()) {
        return bad("has an empty segment (a // or a trailing /).");
    }
    if segments.iter().any(|s| *s == "." || *s == "..") {
        return bad("has a . or .. segment.");
    }
    if let Some(c) = path.chars().find(|c| c.is_control() || is_format(*c) || matches!(c, '\u{2028}' | '\u{2029}')) {
        return bad(&format!("holds the character U+{:04X}, which paths cannot hold.", c as u32));
    }
    if !unicode_normalization::is_nfc(path) {
        return bad("is not in Unicode Normalization Form C.");
    }
    Ok(())
}

/// Checks a `path_prefix`: a path of whole segments ending with `/` (or `/` alone).
pub fn check_prefix(prefix: &str) -> ApiResult<()> {
    if prefix == "/" {
        return Ok(());
    }
    match prefix.strip_suffix('/') {
        Some(path) => check_path(path, "path_prefix"),
        None => Err(ApiError::invalid(format!(
            "path_prefix {prefix:?} must end with / (it matches whole segments, e.g. /notes/)."
        ))),
    }
}

/// Unicode's format characters (general category Cf), which paths cannot hold.
fn is_format(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x0600..=0x0605 | 0x061C | 0x06DD | 0x070F | 0x0890..=0x0891 | 0x08E2 | 0x180E
        | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F | 0xFEFF
        | 0xFFF9..=0xFFFB | 0x110BD | 0x110CD | 0x13430..=0x1343F | 0x1BCA0..=0x1BCA3
        | 0x1D173..=0x1D17A | 0xE0001 | 0xE0020..=0xE007F)
}

/// Checks a memory's content.
pub fn check_content(content: &str) -> ApiResult<()> {
    if content.len() > MAX_CONTENT_BYTES {
        return Err(ApiError::invalid(format!(
            "content is {} bytes; a memory holds at most 102,400 bytes (100 kB). Split it into several memories.",
            content.len()
        )));
    }
    Ok(())
}

/// The end of the byte range of the paths under `prefix` (which ends with `/`): `/a/` → `/a0`.
fn range_end(prefix: &str) -> String {
    format!("{}0", &prefix[..prefix.len() - 1])
}

/// Where a page of memories starts: after a path (a memory was the last item) or at one (the
/// end of a directory a marker stood for).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seek {
    pub path: String,
    pub inclusive: bool,
}

impl Seek {
    pub fn encode(&self) -> String {
        let hex: String = self.path.bytes().map(|b| format!("{b:02x}")).collect();
        format!("page_{}{hex}", if self.inclusive { 'i' } else { 'x' })
    }

    pub fn decode(text: &str) -> ApiResult<Seek> {
        let bad =
            || ApiError::invalid(format!("page {text:?} is not a cursor this list returned; start again without it."));
        let rest = text.strip_prefix("page_").ok_or_else(bad)?;
        let inclusive = match rest.chars().next() {
            Some('i') => true,
            Some('x') => false,
            _ => return Err(bad()),
        };
        let hex = &rest[1..];
        if hex.len() % 2 != 0 {
            return Err(bad());
        }
        let bytes = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(hex.get(i..i + 2).ok_or_else(bad)?, 16).map_err(|_| bad()))
            .collect::<ApiResult<Vec<u8>>>()?;
        Ok(Seek { path: String::from_utf8(bytes).map_err(|_| bad())?, inclusive })
    }
}

/// A listing of memories: which part of the store, how deep, how much.
pub struct MemoryListing<'a> {
    pub prefix: &'a str,
    /// 0: every memory under the prefix; n: memories at most n segments below it, deeper ones
    /// rolled up into `memory_prefix` markers.
    pub depth: usize,
    pub limit: usize,
    pub from: Option<Seek>,
    pub full: bool,
}

/// A memory's row as the API answers it.
fn memory_json(row: MemoryRow) -> Value {
    json!({
        "type": "memory",
        "id": row.id,
        "memory_store_id": row.store_id,
        "path": row.path,
        "content": row.content,
        "content_sha256": row.content_sha256,
        "content_size_bytes": row.size_bytes,
        "memory_version_id": row.version_id,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    })
}

/// A version's row as the API answers it.
pub fn version_json(row: VersionRow) -> ApiResult<Value> {
    let actor = |text: Option<String>| text.map(|text| json(&text)).transpose();
    Ok(json!({
        "type": "memory_version",
        "id": row.id,
        "memory_store_id": row.store_id,
        "memory_id": row.memory_id,
        "operation": row.operation,
        "path": row.path,
        "content": row.content,
        "content_sha256": row.content_sha256,
        "content_size_bytes": row.size_bytes,
        "created_by": actor(row.created_by)?,
        "redacted_at": row.redacted_at,
        "redacted_by": actor(row.redacted_by)?,
        "created_at": row.created_at,
    }))
}

/// What a change makes of a memory, worked out from what it holds now.
enum Planned {
    Write { path: String, content: String },
    Delete,
}

/// What a change of a memory asks for.
pub struct MemoryChange<'a> {
    pub content: Option<&'a str>,
    pub path: Option<&'a str>,
    /// The `content_sha256` the memory must have for the change to apply.
    pub expected_sha256: Option<&'a str>,
}

/// The directory a store is mounted at in sessions: `/mnt/memory/` and its name made a slug
/// (`User preferences` → `user-preferences`), or its id when the name has no letter or digit.
pub fn mount_path_of(store_id: &str, name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    let slug: String = slug.chars().take(64).collect();
    format!("/mnt/memory/{}", if slug.is_empty() { store_id } else { slug.trim_end_matches('-') })
}

/// Longest `instructions` of a memory store attached to a session.
pub const MAX_INSTRUCTIONS: usize = 4096;

impl EngineState {
    /// A page of memory stores, newest first: archived ones only when `include_archived`.
    pub async fn list_memory_stores(
        &self,
        include_archived: bool,
        created: Ranges,
        paging: Paging,
    ) -> ApiResult<Value> {
        let filters = time_filters(created, "created_us").collect();
        self.list_archivable("memory_stores", filters, include_archived, paging).await
    }

    /// A page of a store's memory versions, newest first; with their content when `full`.
    pub async fn list_memory_versions(
        &self,
        store_id: &str,
        filters: VersionFilters,
        full: bool,
        paging: Paging,
    ) -> ApiResult<Value> {
        let mut conditions = vec![Filter::Eq("store_id", store_id.to_owned())];
        for (column, value) in
            [("memory_id", filters.memory_id), ("session_id", filters.session_id), ("api_key_id", filters.api_key_id)]
        {
            if let Some(value) = value {
                conditions.push(Filter::Eq(column, value));
            }
        }
        if let Some(operation) = filters.operation {
            conditions.push(Filter::Eq("operation", operation));
        }
        if filters.service_account {
            conditions.push(Filter::Sql("0"));
        }
        conditions.extend(time_filters(filters.created, "created_us"));
        let select = if full { VERSION_FULL } else { VERSION_BASIC };
        self.page(paging.query(select, "memory_versions", "seq", conditions), false, |row| {
            version_json(VersionRow::read(row)?)
        })
        .await
    }
    /// A memory store attached to a new session (`at` names it in errors), as the session
    /// shows it: its name and description as they are now, and where it is mounted.
    pub async fn memory_store_resource(
        &self,
        store_id: &str,
        access: Option<&MemoryAccess>,
        instructions: Option<&str>,
        at: &str,
    ) -> ApiResult<Value> {
        let (archived, store) = self.memory_store(store_id).await.map_err(|e| match e.status {
            axum::http::StatusCode::NOT_FOUND => {
                e.in_field(&format!("{at}.memory_store_id")).because(Cause::MemoryStoreNotFound)
            }
            _ => e,
        })?;
        if archived {
            return Err(ApiError::invalid(format!(
                "{at}: memory store {store_id} is archived, so new sessions cannot use it."
            ))
            .because(Cause::MemoryStoreArchived));
        }
        let access = match access {
            None | Some(MemoryAccess::ReadWrite) => "read_write",
            Some(MemoryAccess::ReadOnly) => "read_only",
            Some(MemoryAccess::Other(other)) => {
                return Err(ApiError::invalid(format!(
                    "{at}.access must be \"read_write\" or \"read_only\", not {other:?}."
                )));
            }
        };
        if instructions.is_some_and(|i| i.chars().count() > MAX_INSTRUCTIONS) {
            return Err(ApiError::invalid(format!("{at}.instructions: at most 4,096 characters.")));
        }
        let name = store["name"].as_str().unwrap_or_default();
        Ok(json!({
            "type": "memory_store",
            "memory_store_id": store_id,
            "access": access,
            "instructions": instructions,
            "name": name,
            "description": store["description"],
            "mount_path": mount_path_of(store_id, name),
        }))
    }

    /// The id the engine's key goes by in `api_actor`s: `apikey_` and the start of its hash, so
    /// the key itself is never shown.
    pub fn api_key_id(&self) -> String {
        format!("apikey_{}", &sha256_hex(&self.config.api_key)[..24])
    }

    /// (archived, body) of a memory store.
    pub async fn memory_store(&self, id: &str) -> ApiResult<(bool, Value)> {
        self.store.archivable("memory_stores", "memory store", id).await
    }

    /// A store that memories may be written to: it exists and is not archived.
    async fn writable_store(&self, id: &str) -> ApiResult<()> {
        if self.memory_store(id).await?.0 {
            return Err(ApiError::invalid(format!(
                "Memory store {id} is archived: its memories can be read and deleted, not written."
            )));
        }
        Ok(())
    }

    pub async fn insert_memory_store(&self, id: &str, body: &Value, created_us: i64) -> ApiResult<()> {
        self.store.insert_object("memory_stores", id, body, created_us).await?;
        self.announce("memory_store.created", id);
        Ok(())
    }

    /// Writes a store's new body; with `archive`, only if it is not archived yet, which it then is.
    pub async fn write_memory_store(&self, id: &str, body: &Value, archive: bool) -> ApiResult<()> {
        let changed = self.store.update_memory_store(id, &body.to_string(), archive).await?;
        if archive && changed {
            self.announce("memory_store.archived", id);
        }
        Ok(())
    }

    /// Deletes a store with its memories and versions; false if there was none.
    pub async fn delete_memory_store(&self, id: &str) -> ApiResult<bool> {
        let deleted = self.store.delete_memory_store(id).await?;
        if deleted {
            self.announce("memory_store.deleted", id);
        }
        Ok(deleted)
    }

    /// A memory of a store, with its content when `full`.
    pub async fn memory(&self, store_id: &str, id: &str, full: bool) -> ApiResult<Value> {
        let row = self.store.memory_row(store_id, id, full).await?.ok_or_else(|| ApiError::not_found("memory", id))?;
        Ok(memory_json(row))
    }

    async fn current(&self, store_id: &str, id: &str) -> ApiResult<CurrentMemory> {
        self.store.current_memory(store_id, id).await?.ok_or_else(|| ApiError::not_found("memory", id))
    }

    /// Creates a memory at a free path; 409 `memory_path_conflict_error` if the path is taken.
    pub async fn create_memory(&self, store_id: &str, path: &str, content: &str, actor: &Actor) -> ApiResult<String> {
        check_path(path, "path")?;
        check_content(content)?;
        self.writable_store(store_id).await?;
        let (id, version_id, at) = (new_id("mem"), new_id("memver"), now());
        let sha = sha256_hex(content);
        let mut tx = self.store.begin().await?;
        let memory =
            NewMemory { id: &id, store_id, path, content, content_sha256: &sha, version_id: &version_id, at: &at.text };
        if !rows::insert_memory(&mut tx, memory).await? {
            return Err(path_taken(path));
        }
        let version = NewVersion {
            id: &version_id,
            memory_id: &id,
            operation: "created",
            path: Some(path),
            content: Some(content),
        };
        version.insert(&mut tx, store_id, actor, &at).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Changes a memory's content, path or both, as one new version; no version when nothing
    /// changes. 409 `memory_precondition_failed_error` if `expected_sha256` no longer holds, 409
    /// `memory_path_conflict_error` if the new path is taken.
    pub async fn update_memory(
        &self,
        store_id: &str,
        id: &str,
        change: &MemoryChange<'_>,
        actor: &Actor,
    ) -> ApiResult<()> {
        if let Some(path) = change.path {
            check_path(path, "path")?;
        }
        if let Some(content) = change.content {
            check_content(content)?;
        }
        self.writable_store(store_id).await?;
        self.apply_to_memory(store_id, id, change.expected_sha256, actor, |current| {
            let path = change.path.unwrap_or(&current.path);
            let content = change.content.unwrap_or(&current.content);
            let unchanged = path == current.path && content == current.content;
            (!unchanged).then(|| Planned::Write { path: path.to_owned(), content: content.to_owned() })
        })
        .await
    }

    /// Deletes a memory (its versions stay, with a `deleted` one added). 409
    /// `memory_precondition_failed_error` if `expected_sha256` no longer holds.
    pub async fn delete_memory(
        &self,
        store_id: &str,
        id: &str,
        expected_sha256: Option<&str>,
        actor: &Actor,
    ) -> ApiResult<()> {
        self.memory_store(store_id).await?;
        self.apply_to_memory(store_id, id, expected_sha256, actor, |_| Some(Planned::Delete)).await
    }

    /// Applies what `plan` makes of the memory as it is now (nothing when it answers `None`), with
    /// its version, in one transaction and only if the memory is still what was read; otherwise
    /// reads it again and judges the precondition and the plan against what is there now.
    async fn apply_to_memory(
        &self,
        store_id: &str,
        id: &str,
        expected_sha256: Option<&str>,
        actor: &Actor,
        plan: impl Fn(&CurrentMemory) -> Option<Planned>,
    ) -> ApiResult<()> {
        for _ in 0..WRITE_TRIES {
            let current = self.current(store_id, id).await?;
            check_precondition(&current, expected_sha256)?;
            let Some(planned) = plan(&current) else { return Ok(()) };
            let (version_id, at) = (new_id("memver"), now());
            let mut tx = self.store.begin().await?;
            let (operation, path, content) = match &planned {
                Planned::Write { path, content } => {
                    let sha = sha256_hex(content);
                    let write = MemoryWrite {
                        id,
                        path,
                        content,
                        content_sha256: &sha,
                        version_id: &version_id,
                        replaces: &current.version_id,
                        at: &at.text,
                    };
                    match rows::write_memory(&mut tx, write).await? {
                        Written::Done => ("modified", path.as_str(), Some(content.as_str())),
                        Written::Stale => continue,
                        Written::PathTaken => return Err(path_taken(path)),
                    }
                }
                Planned::Delete => {
                    if !rows::delete_memory(&mut tx, id, &current.version_id).await? {
                        continue;
                    }
                    ("deleted", current.path.as_str(), None)
                }
            };
            let version = NewVersion { id: &version_id, memory_id: id, operation, path: Some(path), content };
            version.insert(&mut tx, store_id, actor, &at).await?;
            tx.commit().await?;
            return Ok(());
        }
        Err(busy(id))
    }

    /// One page of a store's memories in path order, with directory markers below `depth`.
    /// Each step seeks the (store, path) index, so a page costs the same in a store of any size.
    pub async fn list_memories(&self, store_id: &str, listing: MemoryListing<'_>) -> ApiResult<Value> {
        self.memory_store(store_id).await?;
        let MemoryListing { prefix, depth, limit, from, full } = listing;
        let end = range_end(prefix);
        let mut lower = from.unwrap_or(Seek { path: prefix.to_owned(), inclusive: true });
        let mut data = Vec::new();
        'pages: while data.len() < limit {
            let from = (lower.path.as_str(), lower.inclusive);
            let rows = self.store.memories_from(store_id, from, &end, (limit - data.len()) as i64, full).await?;
            if rows.is_empty() {
                break;
            }
            for row in rows {
                let below: Vec<&str> = row.path[prefix.len()..].split('/').collect();
                if depth > 0 && below.len() > depth {
                    let marker = format!("{prefix}{}/", below[..depth].join("/"));
                    lower = Seek { path: range_end(&marker), inclusive: true };
                    data.push(json!({ "type": "memory_prefix", "path": marker }));
                    continue 'pages;
                }
                lower = Seek { path: row.path.clone(), inclusive: false };
                data.push(memory_json(row));
            }
        }
        let more =
            data.len() == limit && self.store.any_memory_from(store_id, (&lower.path, lower.inclusive), &end).await?;
        Ok(json!({ "data": data, "next_page": more.then(|| lower.encode()) }))
    }

    /// A version of a store.
    pub async fn memory_version(&self, store_id: &str, id: &str, full: bool) -> ApiResult<Value> {
        let row = self
            .store
            .version_row(store_id, id, full)
            .await?
            .ok_or_else(|| ApiError::not_found("memory version", id))?;
        version_json(row)
    }

    /// Redacts a version: its path and content are gone for good; who wrote it stays. The
    /// version that holds a memory's current content cannot be redacted while the memory
    /// exists: change or delete the memory first.
    pub async fn redact_memory_version(&self, store_id: &str, id: &str, actor: &Actor) -> ApiResult<Value> {
        self.memory_version(store_id, id, false).await?;
        if let Some(memory_id) = self.store.memory_holding(id).await? {
            return Err(ApiError::invalid(format!(
                "Version {id} holds the current content of memory {memory_id}; change or delete the memory first, then redact this version."
            )));
        }
        self.store.redact_version(id, &now().text, &actor.to_json().to_string()).await?;
        self.memory_version(store_id, id, true).await
    }
}

/// A version about to be written.
struct NewVersion<'a> {
    id: &'a str,
    memory_id: &'a str,
    operation: &'static str,
    path: Option<&'a str>,
    /// `None` for a deletion.
    content: Option<&'a str>,
}

impl NewVersion<'_> {
    async fn insert(
        &self,
        tx: &mut Transaction<'_, Sqlite>,
        store_id: &str,
        actor: &Actor,
        at: &crate::ids::Now,
    ) -> ApiResult<()> {
        let (session_id, api_key_id) = match actor {
            Actor::Session(id) => (Some(id.as_str()), None),
            Actor::Api(id) => (None, Some(id.as_str())),
        };
        let sha = self.content.map(sha256_hex);
        let row = NewVersionRow {
            id: self.id,
            store_id,
            memory_id: self.memory_id,
            operation: self.operation,
            path: self.path,
            content: self.content,
            content_sha256: sha.as_deref(),
            created_by: &actor.to_json().to_string(),
            session_id,
            api_key_id,
            at: &at.text,
            at_us: at.micros,
        };
        rows::insert_version(tx, row).await
    }
}

fn check_precondition(current: &CurrentMemory, expected: Option<&str>) -> ApiResult<()> {
    match expected {
        Some(expected) if expected != current.content_sha256 => Err(ApiError::new(
            axum::http::StatusCode::CONFLICT,
            protocol::error::ErrorType::MemoryPreconditionFailedError,
            format!(
                "The memory at {} has changed: its content_sha256 is {}, not {expected}. Read it again and redo the change on what it holds now.",
                current.path, current.content_sha256
            ),
        )),
        _ => Ok(()),
    }
}

fn path_taken(path: &str) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::CONFLICT,
        protocol::error::ErrorType::MemoryPathConflictError,
        format!("A memory already exists at {path}; update that memory instead, or choose another path."),
    )
    .because(Cause::PathTaken)
}

fn busy(id: &str) -> ApiError {
    ApiError::conflict(format!("Memory {id} kept changing while this change was written; try again."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_the_api_rules() {
        for good in ["/a", "/notes/todo.md", "/Ünïcode/é.md", "/a b/c"] {
            assert!(check_path(good, "path").is_ok(), "{good}");
        }
        let twenty_one = "/x".repeat(21);
        for bad in [
            "a",
            "/",
            "/a/",
            "//a",
            "/a/./b",
            "/a/../b",
            "/a\u{0007}",
            "/a\u{200B}b",
            "/a\u{2028}",
            "/e\u{0301}",
            &twenty_one,
        ] {
            assert!(check_path(bad, "path").is_err(), "{bad:?}");
        }
        assert!(check_path(&format!("/{}", "a".repeat(1023)), "path").is_ok());
        assert!(check_path(&format!("/{}", "a".repeat(1024)), "path").is_err());
    }

    #[test]
    fn prefixes_are_whole_segments() {
        assert!(check_prefix("/").is_ok());
        assert!(check_prefix("/notes/").is_ok());
        assert!(check_prefix("/notes").is_err());
        assert_eq!(range_end("/notes/"), "/notes0");
        // Every path under /notes/ sorts before /notes0, and /notes-archive/ before /notes/.
        assert!("/notes/zzz\u{10FFFF}" < "/notes0" && "/notes-archive/a" < "/notes/");
    }

    #[test]
    fn cursors_round_trip_and_refuse_what_they_did_not_make() {
        let from = Seek { path: "/ä/b c".into(), inclusive: true };
        assert_eq!(Seek::decode(&from.encode()).unwrap(), from);
        assert!(Seek::decode("page_q00").is_err());
        assert!(Seek::decode("page_x0").is_err());
        assert!(Seek::decode("page_xff").is_err());
    }

    #[test]
    fn stores_mount_under_a_slug_of_their_name() {
        assert_eq!(mount_path_of("memstore_1", "User preferences"), "/mnt/memory/user-preferences");
        assert_eq!(mount_path_of("memstore_1", "  Ops -- runbooks! "), "/mnt/memory/ops-runbooks");
        assert_eq!(mount_path_of("memstore_1", "日本"), "/mnt/memory/memstore_1");
    }

    #[test]
    fn hashes_are_lowercase_hex_of_the_utf8_bytes() {
        assert_eq!(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }
}
