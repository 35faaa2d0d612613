//! Memory stores mounted into a session's sandbox, and what the agent writes there carried back.
//!
//! When a turn starts, each store the session attached is written out as files to a directory of
//! the session's sandbox (`memory/<slug>` on the host, `/mnt/memory/<slug>` inside), and what was
//! written is remembered (`memory-state/<slug>.json`: path → memory id and `content_sha256`).
//! When the session goes idle, each `read_write` directory is compared with that record: a new
//! file is a new memory, a changed file a new version, a removed file a deleted memory, each with
//! the session as its actor (`session_actor`). A rename is a deletion and a creation.
//!
//! Two sessions writing one path: each change is applied when its session goes idle, in that
//! order, without a precondition, so the later one is the memory's content and the earlier one
//! stays in its history as a version of its own: nothing is lost, and who wrote what is there.
//!
//! The directory is written by agent-run code, so it is read as hostile: symbolic links and
//! anything but regular files are skipped (never followed), as are files over 100 kB, files that
//! are not UTF-8 and paths the API refuses; each skip is logged.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    EngineState,
    domain::memory::{Actor, MAX_CONTENT_BYTES, MemoryChange, check_path, sha256_hex},
    error::{ApiError, ApiResult, Cause},
    store::memories::MountedMemory,
};

/// Most files a write-back looks at in one store's directory.
const MAX_FILES: usize = 20_000;

/// A memory as it was written out: its id and content hash.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Written {
    id: String,
    sha256: String,
}

/// One attached store of a session.
pub struct MemoryMount {
    pub store_id: String,
    /// Inside the sandbox (`/mnt/memory/<slug>`).
    pub mount_path: String,
    pub writable: bool,
    /// On the host.
    pub dir: PathBuf,
    record: PathBuf,
}

impl MemoryMount {
    /// The mount of a session resource (a `memory_store` one) in the sandbox directory `sandbox`.
    pub fn of(resource: &Value, sandbox: &Path) -> Option<MemoryMount> {
        if resource["type"] != "memory_store" {
            return None;
        }
        let mount_path = resource["mount_path"].as_str()?.to_owned();
        let slug = mount_path.strip_prefix("/mnt/memory/").filter(|s| !s.is_empty() && !s.contains('/'))?;
        Some(MemoryMount {
            store_id: resource["memory_store_id"].as_str().unwrap_or_default().to_owned(),
            writable: resource["access"] != "read_only",
            dir: sandbox.join("memory").join(slug),
            record: sandbox.join("memory-state").join(format!("{slug}.json")),
            mount_path,
        })
    }
}

impl EngineState {
    /// The memory stores a session attached, with where they live on the host.
    pub async fn memory_mounts(&self, session_id: &str) -> ApiResult<Vec<MemoryMount>> {
        let bodies = self.store.memory_store_resources(session_id).await?;
        let sandbox = self.sandbox_dir(session_id);
        let mut mounts = Vec::new();
        for body in bodies {
            mounts.extend(MemoryMount::of(&serde_json::from_str(&body)?, &sandbox));
        }
        Ok(mounts)
    }

    /// Writes each attached store out to its directory, as the store is now.
    pub async fn mount_memory(&self, session_id: &str) -> ApiResult<()> {
        let mounts = self.memory_mounts(session_id).await?;
        if !mounts.is_empty() {
            self.prepare_disk(session_id).await?;
        }
        for mount in mounts {
            let memories = self.store.memories_of(&mount.store_id).await?;
            tokio::task::spawn_blocking(move || write_out(&mount, &memories))
                .await
                .map_err(ApiError::internal)?
                .map_err(|e| ApiError::internal(format!("cannot mount a memory store: {e}")))?;
        }
        Ok(())
    }

    /// Carries what the session's agent changed in its `read_write` stores back into them.
    pub async fn write_back_memory(&self, session_id: &str) -> ApiResult<()> {
        let actor = Actor::Session(session_id.to_owned());
        let mounts: Vec<MemoryMount> =
            self.memory_mounts(session_id).await?.into_iter().filter(|m| m.writable).collect();
        if !mounts.is_empty() {
            // Its disk may have been let go after a quiet period: read what is on it, never the
            // empty folder beneath.
            self.prepare_disk(session_id).await?;
        }
        for mount in mounts {
            let store_id = mount.store_id.clone();
            let (mut record, files) = tokio::task::spawn_blocking(move || read_back(&mount))
                .await
                .map_err(ApiError::internal)?
                .map_err(|e| ApiError::internal(format!("cannot read a mounted memory store back: {e}")))?;
            if self.memory_store(&store_id).await.map(|(archived, _)| archived).unwrap_or(true) {
                tracing::warn!(
                    session_id,
                    store_id,
                    "a mounted memory store was archived or deleted: the session's changes to it are not kept"
                );
                continue;
            }
            let before = record.memories.clone();
            for (path, content) in &files {
                let sha = sha256_hex(content);
                match before.get(path) {
                    Some(written) if written.sha256 == sha => {}
                    Some(written) => {
                        let change = MemoryChange { content: Some(content), path: None, expected_sha256: None };
                        let id = match self.update_memory(&store_id, &written.id, &change, &actor).await {
                            Ok(()) => written.id.clone(),
                            // Deleted meanwhile by someone else: the session's content comes back as new.
                            Err(e) if e.status == axum::http::StatusCode::NOT_FOUND => {
                                self.put_memory(&store_id, path, content, &actor).await?
                            }
                            Err(e) => return Err(e),
                        };
                        record.memories.insert(path.clone(), Written { id, sha256: sha });
                    }
                    None => {
                        let id = self.put_memory(&store_id, path, content, &actor).await?;
                        record.memories.insert(path.clone(), Written { id, sha256: sha });
                    }
                }
            }
            for (path, written) in &before {
                if !files.contains_key(path) {
                    match self.delete_memory(&store_id, &written.id, None, &actor).await {
                        Ok(()) => {}
                        Err(e) if e.status == axum::http::StatusCode::NOT_FOUND => {}
                        Err(e) => return Err(e),
                    }
                    record.memories.remove(path);
                }
            }
            record.save().map_err(|e| ApiError::internal(format!("cannot record a memory mount: {e}")))?;
        }
        Ok(())
    }

    /// Writes `content` at `path`: a new memory, or a new version of the one another writer put
    /// there meanwhile. Answers the memory's id.
    async fn put_memory(&self, store_id: &str, path: &str, content: &str, actor: &Actor) -> ApiResult<String> {
        match self.create_memory(store_id, path, content, actor).await {
            Ok(id) => Ok(id),
            Err(e) if e.cause == Some(Cause::PathTaken) => {
                let id = self.store.memory_at(store_id, path).await?;
                let change = MemoryChange { content: Some(content), path: None, expected_sha256: None };
                self.update_memory(store_id, &id, &change, actor).await?;
                Ok(id)
            }
            Err(e) => Err(e),
        }
    }
}

/// What was written out for one mount.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Record {
    #[serde(skip)]
    file: PathBuf,
    memories: BTreeMap<String, Written>,
}

impl Record {
    fn load(file: &Path) -> Record {
        let memories =
            std::fs::read(file).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok()).unwrap_or_default();
        Record { file: file.to_owned(), memories }
    }

    fn save(&self) -> std::io::Result<()> {
        if let Some(parent) = self.file.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&self.file, serde_json::to_vec(&self.memories)?)
    }
}

/// Replaces the mount's directory with the store's memories, and records them.
fn write_out(mount: &MemoryMount, memories: &[MountedMemory]) -> std::io::Result<()> {
    // remove_dir_all does not follow symbolic links the agent may have left.
    match std::fs::remove_dir_all(&mount.dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    std::fs::create_dir_all(&mount.dir)?;
    let mut record = Record { file: mount.record.clone(), memories: BTreeMap::new() };
    for MountedMemory { id, path, content, content_sha256: sha256 } in memories {
        let file = mount.dir.join(&path[1..]);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&file, content)?;
        record.memories.insert(path.clone(), Written { id: id.clone(), sha256: sha256.clone() });
    }
    record.save()
}

/// The mount's record and the memories its directory holds now (path → content).
fn read_back(mount: &MemoryMount) -> std::io::Result<(Record, BTreeMap<String, String>)> {
    let record = Record::load(&mount.record);
    let mut files = BTreeMap::new();
    if !mount.dir.is_dir() {
        return Ok((record, files));
    }
    let walker = walkdir::WalkDir::new(&mount.dir)
        .follow_links(false)
        .min_depth(1)
        .max_depth(crate::domain::memory::MAX_PATH_SEGMENTS);
    for (seen, entry) in walker.into_iter().enumerate() {
        if seen >= MAX_FILES {
            tracing::warn!(
                mount = mount.mount_path,
                "a mounted memory store holds over {MAX_FILES} entries: the rest are not kept"
            );
            break;
        }
        let Ok(entry) = entry else { continue };
        // `file_type` of a walk that does not follow links is the entry's own: a link is a link.
        if !entry.file_type().is_file() {
            continue;
        }
        let Ok(relative) = entry.path().strip_prefix(&mount.dir) else { continue };
        let Some(relative) = relative.to_str() else {
            tracing::warn!(mount = mount.mount_path, "a memory file's name is not UTF-8: not kept");
            continue;
        };
        let path = format!("/{relative}");
        if let Err(e) = check_path(&path, "path") {
            tracing::warn!(mount = mount.mount_path, "memory file not kept: {}", e.message);
            continue;
        }
        match read_small(&mount.dir, relative) {
            Some(content) => {
                files.insert(path, content);
            }
            None => {
                tracing::warn!(mount = mount.mount_path, path, "memory file not kept: over 100 kB or not UTF-8 text")
            }
        }
    }
    Ok((record, files))
}

/// A regular file's text, if it is UTF-8 and at most [`MAX_CONTENT_BYTES`]; opened beneath the
/// mount's folder without following a link anywhere on its way (one the agent swapped in after
/// the walk, say).
fn read_small(dir: &Path, relative: &str) -> Option<String> {
    let beneath = crate::sandbox::beneath::Beneath::open(dir).ok()?;
    let bytes = match beneath.read(Path::new(relative), MAX_CONTENT_BYTES as u64 + 1) {
        Ok(bytes) => bytes,
        Err(error @ crate::sandbox::beneath::Error::Link(_)) => {
            tracing::warn!(dir = %dir.display(), "memory file refused: {error}");
            return None;
        }
        Err(_) => return None,
    };
    if bytes.len() > MAX_CONTENT_BYTES {
        return None;
    }
    String::from_utf8(bytes).ok()
}
