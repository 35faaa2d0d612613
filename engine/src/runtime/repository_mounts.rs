//! A session's GitHub repositories, checked out before its turn and mounted into its sandbox.
//!
//! Each `github_repository` resource is checked out once, at the start of the first turn that
//! finds it not yet checked out ([`crate::repositories::Repositories::check_out`]), into
//! `repositories/<resource id>` of the session's sandbox folder: a folder no sandbox sees but
//! through its mount at the resource's `mount_path`, so nothing the agent did can have touched
//! it before the host writes there. `repositories/<resource id>.done` records a complete
//! checkout; only then is it mounted. A checkout that fails is a `repository_*_error` on the
//! session's stream (`retrying`: the turn goes on without it) and is tried again at the next
//! turn, after a rotated token, say. After a checkout the host never runs git there again: its
//! hooks and configuration are the agent's from then on.

use std::path::PathBuf;

use serde_json::Value;

use crate::{
    ApiError, ApiResult, EngineState, emitted,
    repositories::{RepositoryUrl, Target},
};

impl EngineState {
    /// Where a repository resource's checkout lives, as the sandbox's folder is seen from
    /// `base` (the host's view or the sandbox's), and its record of completion.
    fn checkout_paths(base: PathBuf, resource_id: &str) -> Option<(PathBuf, PathBuf)> {
        let safe = !resource_id.is_empty() && resource_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        safe.then(|| {
            let dir = base.join("repositories");
            (dir.join(resource_id), dir.join(format!("{resource_id}.done")))
        })
    }

    /// The checked-out repositories of a session: (folder as the sandbox's folder is seen by
    /// bubblewrap, mount path).
    pub(crate) fn repository_mounts(&self, session_id: &str, resources: &[Value]) -> Vec<(PathBuf, String)> {
        let mut mounts = Vec::new();
        for resource in resources.iter().filter(|r| r["type"] == "github_repository") {
            let id = resource["id"].as_str().unwrap_or_default();
            let Some((_, done)) = Self::checkout_paths(self.sandbox_dir(session_id), id) else { continue };
            let Some((dir, _)) = Self::checkout_paths(self.sandbox_mount_dir(session_id), id) else { continue };
            if done.is_file() {
                mounts.push((dir, resource["mount_path"].as_str().unwrap_or_default().to_owned()));
            }
        }
        mounts
    }

    /// Checks out each of the session's repositories that is not yet, telling the session's
    /// stream of each that fails. The turn goes on either way.
    pub(crate) async fn check_out_repositories(&self, session_id: &str) -> ApiResult<()> {
        let resources: Vec<Value> = self
            .store
            .session_resources(session_id)
            .await?
            .iter()
            .filter_map(|body| serde_json::from_str::<Value>(body).ok())
            .filter(|resource| resource["type"] == "github_repository")
            .collect();
        if resources.is_empty() {
            return Ok(());
        }
        self.prepare_disk(session_id).await?;
        let namespace = self.disks.as_ref().map(|disks| disks.namespace());
        for resource in resources {
            let id = resource["id"].as_str().unwrap_or_default();
            // The host's view of the folder, and the disks' namespace's, where git runs.
            let Some((dir, done)) = Self::checkout_paths(self.sandbox_dir(session_id), id) else { continue };
            let Some((inside, _)) = Self::checkout_paths(self.sandbox_mount_dir(session_id), id) else { continue };
            if done.is_file() {
                continue;
            }
            let url_text = resource["url"].as_str().unwrap_or_default();
            let checked = RepositoryUrl::parse(url_text, self.repositories.hosts())
                .and_then(|url| Target::of(&resource["checkout"]).map(|target| (url, target)));
            let outcome = match checked {
                // The operator took the host off the list since the session was made.
                Err(why) => Err(crate::repositories::Failure {
                    kind: "repository_clone_error",
                    message: format!("{url_text} is no longer checked out by this engine: {why}"),
                }),
                Ok((url, target)) => {
                    // A checkout that failed halfway is the host's own, never mounted: start again.
                    if dir.exists() {
                        let _ = tokio::fs::remove_dir_all(&dir).await;
                    }
                    if let Some(parent) = dir.parent() {
                        std::fs::create_dir_all(parent).map_err(ApiError::internal)?;
                    }
                    let token = self.store.repository_token(session_id, id).await?;
                    self.repositories.check_out(namespace, &url, token.as_deref(), &target, &inside).await
                }
            };
            match outcome {
                Ok(what) => {
                    std::fs::write(&done, format!("{what}\n")).map_err(ApiError::internal)?;
                    tracing::info!(session_id, resource_id = id, url = url_text, "repository checked out: {what}");
                }
                Err(failure) => {
                    tracing::warn!(
                        session_id,
                        resource_id = id,
                        url = url_text,
                        kind = failure.kind,
                        "{}",
                        failure.message
                    );
                    let error = emitted::repository_error(failure.kind, failure.message, url_text);
                    self.append_event(session_id, None, true, emitted::session_error(error)).await?;
                }
            }
        }
        Ok(())
    }
}
