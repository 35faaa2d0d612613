//! Files: keeping an upload, reading one, lists, deletion, and registering what an agent wrote
//! under `/mnt/session/outputs` as files of its session.

use std::path::Path;

use serde_json::{Value, json};

use super::{Paging, body_of};
use crate::{
    EngineState,
    error::{ApiError, ApiResult},
    ids::{new_id, now},
    store::files::NewOutput,
    store::{Filter, json},
};

impl EngineState {
    /// Keeps an upload read to `part_path` as file `id` with its `metadata`; nothing of it stays
    /// behind when it cannot be kept.
    pub async fn add_file(&self, id: &str, part_path: &Path, metadata: &Value, created_us: i64) -> ApiResult<()> {
        tokio::fs::rename(part_path, self.file_path(id)).await.map_err(ApiError::internal)?;
        if let Err(error) = self.store.insert_object("files", id, metadata, created_us).await {
            let _ = tokio::fs::remove_file(self.file_path(id)).await;
            return Err(error);
        }
        Ok(())
    }

    /// A page of files, newest first: those of `ids` when given, of session `scope_id` when given.
    pub async fn list_files(&self, ids: Vec<String>, scope_id: Option<&str>, paging: Paging) -> ApiResult<Value> {
        let mut filters = Vec::new();
        if !ids.is_empty() {
            filters.push(Filter::In("id", ids));
        }
        if let Some(scope) = scope_id {
            filters.push(Filter::Eq("scope_id", scope.to_owned()));
        }
        self.page(paging.query("seq, body", "files", "seq", filters), false, body_of).await
    }

    /// Deletes a file: its row and its content.
    pub async fn delete_file(&self, id: &str) -> ApiResult<()> {
        self.file(id).await?;
        self.store.delete_file(id).await?;
        let _ = tokio::fs::remove_file(self.file_path(id)).await;
        Ok(())
    }

    pub async fn file(&self, id: &str) -> ApiResult<Value> {
        json(&self.store.file_body(id).await?.ok_or_else(|| ApiError::not_found("file", id))?)
    }

    /// Registers what the agent wrote under `/mnt/session/outputs` as files of the session: new
    /// paths become new files, changed ones are updated. Only regular files count: a symlink is
    /// never followed, so an output cannot point the engine at a file outside the sandbox.
    pub async fn collect_outputs(&self, session_id: &str) -> ApiResult<()> {
        let outputs = self.sandbox_dir(session_id).join("outputs");
        // The walk and the copies are blocking file work (an output may be a gigabyte): they run
        // on tokio's blocking threads, not on the runtime's.
        let walked = outputs.clone();
        let found = tokio::task::spawn_blocking(move || outputs_in(&walked))
            .await
            .map_err(|e| ApiError::internal(format!("the outputs could not be listed: {e}")))?;
        if found.is_empty() {
            return Ok(());
        }
        // (id, mtime) of the outputs already registered, by their path under the outputs.
        let known: std::collections::HashMap<String, (String, Option<i64>)> = self
            .store
            .session_outputs(session_id)
            .await?
            .into_iter()
            .map(|output| (output.output_path, (output.id, output.output_mtime)))
            .collect();
        for (relative, path, modified, size) in found {
            let known = known.get(&relative);
            if known.is_some_and(|(_, mtime)| *mtime == Some(modified)) {
                continue;
            }
            let id = known.map_or_else(|| new_id("file"), |(id, _)| id.clone());
            let (from, to) = ((outputs.clone(), relative.clone()), self.file_path(&id));
            match tokio::task::spawn_blocking(move || copy_no_follow(&from.0, &from.1, &to)).await {
                Ok(Ok(())) => {}
                Ok(Err(error @ crate::sandbox::beneath::Error::Link(_))) => {
                    tracing::warn!(session_id, "output not kept: {error}");
                    continue;
                }
                _ => continue,
            }
            if known.is_some() {
                self.store.output_changed(&id, size as i64, modified).await?;
                continue;
            }
            let filename = path.file_name().map_or_else(|| "output".into(), |n| n.to_string_lossy().into_owned());
            let mime = mime_guess::from_path(&path).first_raw().unwrap_or("application/octet-stream");
            let at = now();
            let body = json!({
                "type": "file", "id": id, "filename": filename, "mime_type": mime, "size_bytes": size,
                "created_at": at.text, "downloadable": true, "expires_at": null,
                "scope": { "type": "session", "id": session_id },
            });
            let output = NewOutput { session_id, path: &relative, mtime: modified };
            self.store.insert_output(&id, &body, at.micros, output).await?;
        }
        Ok(())
    }
}

/// (path under `outputs`, full path, mtime in µs, size) of each regular file under `outputs`;
/// symlinks are not followed.
fn outputs_in(outputs: &std::path::Path) -> Vec<(String, std::path::PathBuf, i64, u64)> {
    walkdir::WalkDir::new(outputs)
        .follow_links(false)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_file())
        .filter_map(|entry| {
            let metadata = entry.path().symlink_metadata().ok()?;
            let modified = metadata.modified().ok()?.duration_since(std::time::UNIX_EPOCH).ok()?.as_micros() as i64;
            let relative = entry.path().strip_prefix(outputs).ok()?.to_string_lossy().into_owned();
            Some((relative, entry.into_path(), modified, metadata.len()))
        })
        .collect()
}

/// Copies the regular file at `relative` under `outputs` (a folder the sandbox writes), opened
/// without following a link anywhere on its way.
fn copy_no_follow(
    outputs: &std::path::Path,
    relative: &str,
    to: &std::path::Path,
) -> Result<(), crate::sandbox::beneath::Error> {
    let mut source = crate::sandbox::beneath::Beneath::open(outputs)?.open_file(std::path::Path::new(relative))?;
    let mut target = std::fs::File::create(to)?;
    std::io::copy(&mut source, &mut target)?;
    Ok(())
}
