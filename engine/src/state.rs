//! The engine's state: its store, its sessions' hubs and runtime tasks, its models, its sandbox's
//! control groups and disks, its webhooks and self-hosted queues. One `Arc<EngineState>` is shared
//! by the HTTP API, the runtimes and the scheduler; what it does is written as `impl EngineState`
//! blocks beside each resource's rules (`domain/`), its runtime (`runtime/`) and its rows (`store/`).
//! Here: the sandbox folders and disks of its sessions, and where uploaded files live.

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, Mutex},
};

use crate::{
    ApiError, ApiResult, EngineConfig, Live, SessionHub, domain, model, runtime, sandbox, store::Store, webhooks,
};

pub struct EngineState {
    pub config: EngineConfig,
    pub(crate) store: Store,
    pub(crate) hubs: Mutex<HashMap<String, Arc<SessionHub>>>,
    pub(crate) runtimes: Mutex<HashMap<String, runtime::Handle>>,
    /// The models the engine can run.
    pub(crate) catalog: model::catalog::Catalog,
    /// Where tool calls get their control groups; `None`: rlimits only.
    pub(crate) cgroups: Option<Arc<sandbox::cgroups::Cgroups>>,
    /// The namespace of the sessions' disks; `None`: their folders are the host's, uncapped.
    pub(crate) disks: Option<Arc<sandbox::disks::Disks>>,
    /// The webhooks' sender, when the engine sends them.
    pub(crate) webhooks: Option<webhooks::Webhooks>,
    /// Held while a session's packages install.
    pub(crate) install_lock: Arc<tokio::sync::Mutex<()>>,
    /// Wakes the deployment scheduler when a schedule changes.
    pub(crate) scheduler: Arc<tokio::sync::Notify>,
    /// Self-hosted environments' queues: blocked polls and who polled lately.
    pub(crate) work: domain::work::Queue,
    /// Sessions' open MCP connections.
    pub(crate) mcp: runtime::mcp::Connections,
    /// The repositories' caches ([`crate::repositories`]).
    pub(crate) repositories: crate::repositories::Repositories,
    /// A channel nothing is sent on: the streams of archived sessions listen to it.
    pub(crate) silent: tokio::sync::broadcast::Sender<Live>,
}

impl EngineState {
    /// A session's sandbox folder as the engine reaches it (through the disks' namespace).
    pub(crate) fn sandbox_dir(&self, session_id: &str) -> PathBuf {
        let dir = self.sandbox_mount_dir(session_id);
        match &self.disks {
            Some(disks) => disks.host(&dir),
            None => dir,
        }
    }

    /// A session's sandbox folder as its sandboxes see it, where its disk is mounted.
    pub(crate) fn sandbox_mount_dir(&self, session_id: &str) -> PathBuf {
        self.config.data_dir.join("sandboxes").join(session_id)
    }

    /// Mounts the session's disk if it is not yet (its first tool call or memory mount).
    pub(crate) async fn prepare_disk(&self, session_id: &str) -> ApiResult<()> {
        if let Some(disks) = &self.disks {
            disks
                .mount(&self.sandbox_mount_dir(session_id), session_id)
                .await
                .map_err(|error| ApiError::internal(format!("the session's disk could not be mounted: {error}")))?;
        }
        Ok(())
    }

    /// Unmounts a session's disk, keeping its image: after a quiet period, so that idle
    /// sessions hold no mount or loop device. Its next tool call mounts it again. False when the
    /// disk stays mounted (something still uses it).
    pub(crate) async fn park_disk(&self, session_id: &str) -> bool {
        let Some(disks) = &self.disks else { return true };
        match disks.unmount(&self.sandbox_mount_dir(session_id)).await {
            Ok(true) => {
                tracing::debug!(session_id, "the idle session's disk was unmounted");
                true
            }
            Ok(false) => true,
            Err(error) => {
                tracing::warn!(session_id, "the idle session's disk stays mounted for now: {error}");
                false
            }
        }
    }

    /// Deletes a session's sandbox: its disk and its folder.
    pub(crate) async fn delete_sandbox(&self, session_id: &str) {
        let dir = self.sandbox_mount_dir(session_id);
        if let Some(disks) = &self.disks
            && let Err(error) = disks.release(&dir, session_id).await
        {
            tracing::warn!(session_id, "the session's disk could not be released: {error}");
        }
        // On a blocking thread: a folder without a disk can hold gigabytes.
        let _ = tokio::fs::remove_dir_all(dir).await;
    }

    pub(crate) fn file_path(&self, file_id: &str) -> PathBuf {
        self.config.data_dir.join("files").join(file_id)
    }
}
