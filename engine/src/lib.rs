//! The embedded engine: a local implementation of the Managed Agents API.
//!
//! - [`api`]: the HTTP endpoints (agents, environments, sessions, events and their SSE stream,
//!   files, session resources), with the API's error bodies and cursor pagination;
//! - `state`: [`EngineState`], what the API, the runtimes and the scheduler share;
//! - `domain`: what the engine does with each resource, apart from HTTP: the checks, and the
//!   reads and writes of the store;
//! - `store`: SQLite in WAL mode in the data directory; agents keep every version, the session
//!   event log (`store::events`) is append-only;
//! - `live`: the live side of the event log: appending an event sends it to the session's open
//!   streams;
//! - `runtime`: one task per active session that plays the agent's turns, and the scheduler
//!   that fires deployments on their cron schedules;
//! - `script`: the scripted model (deterministic, for demos and tests);
//! - [`model`]: real models, through an Anthropic-compatible Messages endpoint;
//! - [`sandbox`]: real tools in a bubblewrap sandbox per session;
//! - [`meters`]: the counters of turns, model requests, tool calls and sandbox limits, for the
//!   console's `/metrics`.
//! - [`logs`]: the log format both binaries write (`SWITCHBOARD_LOG_FORMAT`).
//!
//! [`Engine::open`] prepares it all; [`Engine::router`] is the axum router to serve.

pub mod api;
pub mod cli;
pub mod config;
mod domain;
mod emitted;
mod error;
pub mod http_client;
mod ids;
mod live;
pub mod logs;
pub mod mcp;
pub mod meters;
pub mod model;
pub mod net;
pub mod private;
pub mod repositories;
mod resolve;
mod runtime;
pub mod sandbox;
pub mod script;
pub mod sealing;
mod seed;
mod state;
mod store;
pub mod webhooks;
pub mod worker;

use std::{
    path::PathBuf,
    sync::{Arc, Mutex},
    time::Duration,
};

use crate::store::Store;
pub use crate::{
    domain::work::EnvironmentKey,
    error::{ApiError, ApiResult},
    live::{Live, SessionHub},
    model::ModelEndpoint,
    sandbox::SandboxLimits,
    state::EngineState,
    store::events::Scope,
};

/// How an engine is set up.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Where `engine.db`, uploaded files and session sandboxes live.
    pub data_dir: PathBuf,
    /// The key clients must send (`x-api-key` or `Authorization: Bearer`).
    pub api_key: String,
    /// The executable the sandbox runs for the file tools: a binary that answers
    /// `<exe> sandbox-tool <name>` (the `switchboard` or `switchboard-engine` binary).
    pub tool_runner: PathBuf,
    /// Largest upload `POST /v1/files` accepts.
    pub max_upload_bytes: u64,
    /// Largest skill upload (all its files together) `POST /v1/skills` and a new version accept;
    /// more is a 413. 8 MiB, as Anthropic documents for its skill uploads.
    pub max_skill_bytes: u64,
    /// What each process of a tool call may use.
    pub sandbox_limits: SandboxLimits,
    /// Run each tool call in a control group of its own where the machine has them (the
    /// default). Off, only the rlimits hold; the model bench compares the two.
    pub sandbox_cgroups: bool,
    /// Give each session a disk of its own, of `sandbox_limits.disk_bytes`, where the engine can
    /// mount one (the default; see `sandbox::disks`). Off, sessions' folders are the host's.
    pub sandbox_disks: bool,
    /// Package mirrors environments' `packages` install from instead of the public registries.
    pub package_mirrors: sandbox::packages::Mirrors,
    /// The Messages endpoint real models run against.
    pub model: ModelEndpoint,
    /// Largest JSON body.
    pub max_json_bytes: usize,
    /// How often an idle event stream gets a `ping` frame.
    pub heartbeat: Duration,
    /// Seed the demo agent and environment on first start.
    pub seed_demo: bool,
    /// Where the engine sends its signed webhooks, if anywhere ([`webhooks`]).
    pub webhook: Option<webhooks::WebhookTarget>,
    /// Seals vault credentials at rest (`SWITCHBOARD_ENGINE_SECRET_KEY`; embedded, derived from
    /// the console's `SWITCHBOARD_SECRET_KEY`). `None`: they are stored in plain text.
    pub secret_key: Option<sealing::SealKey>,
    /// How long a self-hosted worker's lease lasts without a heartbeat, unless it asks for
    /// another (`desired_ttl_seconds`).
    pub work_lease_seconds: u64,
    /// The hosts MCP connections may reach on internal addresses
    /// (`SWITCHBOARD_ENGINE_MCP_PRIVATE_HOSTS`; none by default).
    pub mcp_reach: mcp::Reach,
    /// The hosts repositories may be cloned from besides github.com
    /// (`SWITCHBOARD_ENGINE_GIT_HOSTS`; none by default).
    pub git_hosts: repositories::GitHosts,
}

impl EngineConfig {
    pub fn new(data_dir: PathBuf, api_key: String) -> Self {
        Self {
            data_dir,
            api_key,
            tool_runner: std::env::current_exe().unwrap_or_else(|_| PathBuf::from("switchboard")),
            max_upload_bytes: 100 * 1024 * 1024,
            max_skill_bytes: 8 * 1024 * 1024,
            sandbox_limits: SandboxLimits::default(),
            sandbox_cgroups: true,
            sandbox_disks: true,
            package_mirrors: sandbox::packages::Mirrors::default(),
            model: ModelEndpoint::default(),
            max_json_bytes: 32 * 1024 * 1024,
            heartbeat: Duration::from_secs(15),
            seed_demo: true,
            webhook: None,
            secret_key: None,
            work_lease_seconds: 90,
            mcp_reach: mcp::Reach::default(),
            git_hosts: repositories::GitHosts::default(),
        }
    }
}

/// A new random key for an engine (`sk-engine-` and 32 base-62 characters).
pub fn generate_api_key() -> String {
    format!("sk-engine-{}", ids::secret(32))
}

/// Why the engine could not start.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot prepare the engine's data directory {path}: {source}")]
    DataDir { path: PathBuf, source: std::io::Error },
    #[error("cannot open the engine's database in {path}: {source}")]
    Store { path: PathBuf, source: sqlx::Error },
    #[error("cannot recover the engine's sessions: {}", .0.message)]
    Recover(ApiError),
    #[error("cannot seed the demo agent and environment: {}", .0.message)]
    Seed(ApiError),
}

/// A running engine: its store, live session streams and session runtimes.
#[derive(Clone)]
pub struct Engine {
    state: Arc<EngineState>,
}

/// What the engine holds for its sessions now: the figures a soak watches stay flat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Held {
    /// Sessions' runtime tasks.
    pub runtimes: usize,
    /// Sessions' live hubs (each a broadcast of 1,024 slots).
    pub hubs: usize,
    /// Sessions' disks mounted (each a mount and a loop device).
    pub disks_mounted: usize,
}

impl Engine {
    /// Opens the store in `config.data_dir`, recovers sessions the last process left running,
    /// and seeds the demo agent on first start.
    pub async fn open(mut config: EngineConfig) -> Result<Engine, EngineError> {
        let data_dir = prepare_data_dir(&config.data_dir)?;
        config.data_dir = data_dir.clone();
        let store = open_store(&data_dir, config.secret_key.clone()).await?;
        let cgroups = start_cgroups(config.sandbox_cgroups);
        let disks = config.sandbox_disks.then(|| start_disks(&data_dir, config.sandbox_limits.disk_bytes)).flatten();
        let webhooks = config.webhook.clone().map(|target| {
            tracing::info!(url = %target.url(), "the engine sends its webhooks, signed");
            webhooks::Webhooks::start(target)
        });
        let repositories = repositories::Repositories::new(&data_dir, config.git_hosts.clone());
        let state = Arc::new(EngineState {
            config,
            store,
            hubs: Mutex::default(),
            runtimes: Mutex::default(),
            catalog: model::catalog::Catalog::default(),
            cgroups,
            disks,
            webhooks,
            install_lock: Arc::default(),
            scheduler: Arc::default(),
            work: domain::work::Queue::default(),
            mcp: runtime::mcp::Connections::default(),
            repositories,
            silent: tokio::sync::broadcast::channel(1).0,
        });
        runtime::recover(&state).await.map_err(EngineError::Recover)?;
        if state.config.seed_demo {
            seed::demo(&state).await.map_err(EngineError::Seed)?;
        }
        runtime::scheduler::start(&state);
        Ok(Engine { state })
    }

    pub fn router(&self) -> axum::Router {
        api::router(self.state.clone())
    }

    /// A new key for a self-hosted environment, shown this once (the engine keeps its hash).
    pub async fn issue_environment_key(&self, environment_id: &str) -> Result<String, String> {
        self.state.issue_environment_key(environment_id).await.map_err(|error| error.message)
    }

    /// The keys of a self-hosted environment, without their values.
    pub async fn environment_keys(&self, environment_id: &str) -> Result<Vec<EnvironmentKey>, ApiError> {
        domain::work::list_environment_keys(&self.state.store, environment_id).await
    }

    /// Revokes key `key_id` of `environment_id`: it reaches nothing from the next request on.
    pub async fn revoke_environment_key(&self, environment_id: &str, key_id: &str) -> Result<EnvironmentKey, ApiError> {
        domain::work::revoke_environment_key(&self.state.store, Some(environment_id), key_id).await
    }

    pub fn config(&self) -> &EngineConfig {
        &self.state.config
    }

    /// What the engine holds for its sessions now.
    pub async fn held(&self) -> Held {
        let disks_mounted = match &self.state.disks {
            Some(disks) => disks.mounted().await,
            None => 0,
        };
        Held {
            runtimes: self.state.runtimes.lock().expect("runtimes lock").len(),
            hubs: self.state.hubs.lock().expect("hub map lock").len(),
            disks_mounted,
        }
    }

    /// The process holding the sessions' disks' mount namespace (its `/proc/<pid>/mountinfo`
    /// lists their mounts), where the engine mounts them.
    pub fn disks_keeper(&self) -> Option<u32> {
        self.state.disks.as_ref().and_then(|disks| disks.keeper_pid())
    }
}

/// Makes the data directory (private) with its `files` and `sandboxes` folders; answers its
/// absolute path: sandboxes start in another mount namespace, where a relative path means
/// something else.
fn prepare_data_dir(data_dir: &std::path::Path) -> Result<PathBuf, EngineError> {
    // Private: the engine's database holds every session and vault, its folders every file.
    match private::make_private_dir(data_dir) {
        Ok(Some(warning)) => tracing::warn!("{warning}"),
        Ok(None) => {}
        Err(source) => return Err(EngineError::DataDir { path: data_dir.to_owned(), source }),
    }
    for dir in [data_dir.join("files"), data_dir.join("sandboxes")] {
        std::fs::create_dir_all(&dir).map_err(|source| EngineError::DataDir { path: dir.clone(), source })?;
    }
    std::fs::canonicalize(data_dir).map_err(|source| EngineError::DataDir { path: data_dir.to_owned(), source })
}

/// Opens the store in `data_dir` with the key that seals vault credentials, sealing any written
/// before the key was set, and says how credentials are kept.
async fn open_store(data_dir: &std::path::Path, secret_key: Option<sealing::SealKey>) -> Result<Store, EngineError> {
    let failed = |source| EngineError::Store { path: data_dir.to_owned(), source };
    let mut store = Store::open(data_dir).await.map_err(failed)?;
    store.secret_key = secret_key;
    let sealed = store.seal_credentials().await.map_err(failed)?;
    match (&store.secret_key, sealed) {
        (Some(_), 0) => {}
        (Some(_), sealed) => tracing::info!("vaults: sealed {sealed} credential(s) written before the key was set"),
        (None, 0) => tracing::info!(
            "vaults: credentials' secrets are stored in plain text; set SWITCHBOARD_ENGINE_SECRET_KEY to seal them"
        ),
        (None, sealed) => tracing::warn!(
            "vaults: {sealed} credential(s) are sealed, but the engine has no secret key: they cannot be used until SWITCHBOARD_ENGINE_SECRET_KEY is set again"
        ),
    }
    Ok(store)
}

/// The control groups tool calls run in, when `wanted` and the machine has them (`None`:
/// rlimits only). The machine is looked at either way.
fn start_cgroups(wanted: bool) -> Option<Arc<sandbox::cgroups::Cgroups>> {
    match sandbox::cgroups::Cgroups::detect() {
        _ if !wanted => None,
        Ok(cgroups) => {
            tracing::info!("sandbox: tool calls are held to their process and memory limits by {}", cgroups.describe());
            Some(Arc::new(cgroups))
        }
        Err(why) => {
            tracing::warn!(
                "sandbox: no control groups ({why}); tool calls have rlimits only, so the number of processes a call runs is not limited"
            );
            None
        }
    }
}

/// The namespace of the sessions' disks of `disk_bytes` each, where the engine can mount them
/// (`None`: sessions' folders are the host's).
fn start_disks(data_dir: &std::path::Path, disk_bytes: u64) -> Option<Arc<sandbox::disks::Disks>> {
    match sandbox::disks::Disks::start(data_dir.join("disks"), disk_bytes) {
        Ok(disks) => {
            tracing::info!("sandbox: each session has a disk of its own of {} MiB", disk_bytes / (1024 * 1024));
            Some(Arc::new(disks))
        }
        Err(why) => {
            tracing::warn!("sandbox: no disk per session ({why}); a session's files can fill the host's disk");
            None
        }
    }
}
