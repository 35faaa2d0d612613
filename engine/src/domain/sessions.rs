//! Sessions: creation and start, reading one (with its duration worked out), updates, lists,
//! archiving and deletion, and its resources.

use std::{collections::HashMap, sync::Arc};

use axum::http::StatusCode;
use protocol::{
    agents::{Agent, AgentTag},
    common::Metadata,
    event_params::InitialEvent,
    sessions::{
        Budget, GithubRepositoryResourceParams, ResourceParams, SessionAgent, SessionAgentObject, SessionAgentParam,
        SessionAgentUpdate, SessionCreate, SessionUpdate,
    },
};
use serde_json::{Value, json};
use sqlx::{Sqlite, Transaction};

use super::{
    Paging, Ranges, body_of,
    threads::{IDLE, primary_thread},
    time_filters,
};
use crate::{
    EngineState, emitted,
    error::{ApiError, ApiResult, Cause},
    ids::{self, new_id, now},
    repositories::{RepositoryUrl, Target},
    resolve,
    store::{
        Filter, from_json, json,
        sessions::{NewSessionRows, insert_sessions},
        to_json,
    },
};

/// Refuses a resource's mount path that is not an absolute path without `.` or `..` parts, or
/// that lies where the sandbox keeps something of its own.
fn check_mount_path(at: &str, mount_path: &str) -> ApiResult<()> {
    let components_ok = mount_path.split('/').all(|c| c != ".." && c != ".");
    if !mount_path.starts_with('/') || !components_ok || mount_path.len() > 1024 || mount_path.ends_with('/') {
        return Err(ApiError::invalid(format!(
            "{at}: mount_path {mount_path:?} must be an absolute path without . or .. parts."
        )));
    }
    if mount_path.starts_with("/mnt/session/outputs")
        || mount_path.starts_with("/mnt/memory")
        || ["/usr", "/proc", "/dev", "/run/switchboard", "/opt/packages"].iter().any(|p| mount_path.starts_with(p))
    {
        return Err(ApiError::invalid(format!(
            "{at}: mount_path {mount_path:?} is reserved; mount elsewhere, e.g. under /workspace or /mnt/session/uploads."
        )));
    }
    Ok(())
}

/// Session durations are worked out when read: time since creation.
pub(crate) fn with_duration(mut session: Value) -> Value {
    if session["status"] != "terminated"
        && let Some(seconds) = session["created_at"].as_str().and_then(ids::seconds_since)
    {
        session["stats"]["duration_seconds"] = json!(seconds);
    }
    session
}

impl EngineState {
    /// Creates a session: the agent pinned (with any overrides), the environment checked, the
    /// resources mounted, then the initial events queued.
    pub async fn create_session(self: &Arc<Self>, body: SessionCreate) -> ApiResult<Value> {
        let new = self.prepare_session(body, None, &mut Checked::default()).await?;
        let mut tx = self.store.begin().await?;
        write_sessions(&mut tx, &[&new]).await?;
        tx.commit().await?;
        let id = new.start.session_id.clone();
        self.start_session(new.start).await?;
        Ok(self.session(&id).await?.1)
    }

    /// Checks a new session and builds its rows, writing nothing (see [`write_sessions`]). What
    /// `checked` remembers is not read again: a round of the scheduler checks an agent version
    /// and an environment once for all its fires.
    pub(crate) async fn prepare_session(
        &self,
        body: SessionCreate,
        deployment_id: Option<&str>,
        checked: &mut Checked,
    ) -> ApiResult<NewSession> {
        let agent = self.checked_agent(&body.agent, checked).await?;
        let self_hosted = match checked.environments.get(&body.environment_id) {
            Some(self_hosted) => *self_hosted,
            None => {
                let self_hosted = self.usable_environment(&body.environment_id).await?;
                checked.environments.insert(body.environment_id.clone(), self_hosted);
                self_hosted
            }
        };
        if self_hosted
            && let Some(i) = body.resources.iter().flatten().position(|r| !matches!(r, ResourceParams::MemoryStore(_)))
        {
            return Err(ApiError::invalid(format!(
                "resources[{i}]: a session on a self-hosted environment takes memory stores only (its worker has the files it needs)."
            ))
            .with_code("self_hosted_resources_unsupported_error"));
        }
        let (metadata, initial) = checked_params(&body)?;
        let mut outcomes = Vec::new();
        for (i, event) in initial.iter().enumerate() {
            if let InitialEvent::UserDefineOutcome(outcome) = event {
                outcomes.push(self.check_outcome(outcome, &format!("initial_events[{i}]")).await?);
            }
        }
        let session_id = new_id("sesn");
        let self_hosted_environment = self_hosted.then(|| body.environment_id.clone());
        let (resources, tokens) = self.session_resources(body.resources.iter().flatten()).await?;
        let snapshot = self.snapshot(agent).await?;
        let at = now();
        let agent = to_json(&snapshot)?;
        if body.budget.is_some() {
            budgetable(&agent)?;
        }
        let thread = primary_thread(&session_id, &agent, &at.text);
        let session = json!({
            "type": "session",
            "id": session_id,
            "status": "idle",
            "agent": agent,
            "environment_id": body.environment_id,
            "title": body.title,
            "resources": resources,
            "vault_ids": body.vault_ids.clone().unwrap_or_default(),
            "metadata": metadata,
            "usage": {},
            "stats": { "active_seconds": 0.0, "duration_seconds": 0.0 },
            "outcome_evaluations": [],
            "budget": body.budget,
            "deployment_id": deployment_id,
            "created_at": at.text,
            "updated_at": at.text,
            "archived_at": null,
        });
        let resources = resources
            .iter()
            .map(|resource| {
                // A memory store's resource has no id on the wire; its row gets one of its own.
                let row_id = resource["id"].as_str().map_or_else(|| new_id("sesrsc"), str::to_owned);
                (row_id, resource.to_string())
            })
            .collect();
        Ok(NewSession {
            body: session.to_string(),
            created_us: at.micros,
            agent_id: snapshot.id,
            agent_version: snapshot.version as i64,
            environment_id: body.environment_id,
            thread,
            resources,
            tokens,
            start: SessionStart { session_id, initial, outcomes, self_hosted_environment },
        })
    }

    /// The agent a new session runs, pinned and its skills checked; a plain reference is looked
    /// up in `checked` first, and remembered there.
    async fn checked_agent(&self, param: &SessionAgentParam, checked: &mut Checked) -> ApiResult<Agent> {
        // Only a plain reference is remembered: overrides make every session's agent its own.
        let key = match param {
            SessionAgentParam::Id(id) => Some((id.clone(), None)),
            SessionAgentParam::Object(SessionAgentObject::Agent(reference)) => {
                Some((reference.id.clone(), reference.version.map(|v| v as i64)))
            }
            SessionAgentParam::Object(_) => None,
        };
        if let Some(agent) = key.as_ref().and_then(|key| checked.agents.get(key)) {
            return Ok(agent.clone());
        }
        let agent = self.pinned_agent(param).await?;
        // A custom skill deleted since the agent named it stops new sessions (a deployment's run
        // records `skill_not_found_error`).
        self.check_skills(&agent.skills).await?;
        if let Some(key) = key {
            checked.agents.insert(key, agent.clone());
        }
        Ok(agent)
    }

    /// The resources of a new session, checked: each memory store attached once, stores of one
    /// name each mounted at a directory of its own, and repositories each at a path of its own.
    /// Answers them with each repository's (resource id, token as stored).
    async fn session_resources(
        &self,
        params: impl Iterator<Item = &ResourceParams>,
    ) -> ApiResult<(Vec<Value>, Vec<(String, String)>)> {
        let mut resources: Vec<Value> = Vec::new();
        let mut tokens = Vec::new();
        for (i, resource) in params.enumerate() {
            let at = format!("resources[{i}]");
            let (mut resource, token) = self.resource_of(resource, &at).await?;
            if resource["type"] == "memory_store" {
                if resources.iter().any(|r| r["memory_store_id"] == resource["memory_store_id"]) {
                    return Err(ApiError::invalid(format!(
                        "{at}: memory store {} is attached twice; attach each store once.",
                        resource["memory_store_id"]
                    )));
                }
                // Two stores of one name each get their own directory.
                let base = resource["mount_path"].as_str().unwrap_or_default().to_owned();
                let mut n = 1;
                while resources.iter().any(|r| r["mount_path"] == resource["mount_path"]) {
                    n += 1;
                    resource["mount_path"] = json!(format!("{base}-{n}"));
                }
            } else if resource["type"] == "github_repository"
                && resources.iter().any(|r| r["type"] != "memory_store" && r["mount_path"] == resource["mount_path"])
            {
                return Err(ApiError::invalid(format!(
                    "{at}: mount_path {} is already used by another resource of this session; give each repository a path of its own.",
                    resource["mount_path"]
                )));
            }
            if let Some(token) = token {
                let id = resource["id"].as_str().unwrap_or_default().to_owned();
                tokens.push((id.clone(), self.store.stored_token(&id, &token)));
            }
            resources.push(resource);
        }
        Ok((resources, tokens))
    }

    /// Queues a new session's initial events, which starts its agent loop.
    pub async fn start_session(self: &Arc<Self>, start: SessionStart) -> ApiResult<()> {
        let SessionStart { session_id, initial, outcomes, self_hosted_environment } = start;
        self.announce("session.created", &session_id);
        if let Some(environment_id) = &self_hosted_environment {
            self.queue_work(&session_id, environment_id).await?;
        }
        if initial.is_empty() {
            return Ok(());
        }
        let runtime = self.runtime(&session_id).await?;
        let mut outcomes = outcomes.into_iter();
        for event in initial {
            match event {
                InitialEvent::UserDefineOutcome(_) => {
                    let checked = outcomes.next().expect("every outcome was checked");
                    let (_, outcome) = self.define_outcome(&session_id, checked).await?;
                    runtime.outcome(outcome);
                }
                _ => {
                    self.append(&session_id, to_json(&event)?).await?;
                    runtime.message();
                }
            }
        }
        Ok(())
    }

    /// The agent a new session runs, pinned at its version, with the overrides applied and
    /// checked as an agent's own fields are.
    async fn pinned_agent(&self, param: &SessionAgentParam) -> ApiResult<Agent> {
        let (agent_id, version, overrides) = match param {
            SessionAgentParam::Id(id) => (id.clone(), None, None),
            SessionAgentParam::Object(SessionAgentObject::Agent(reference)) => {
                (reference.id.clone(), reference.version.map(|v| v as i64), None)
            }
            SessionAgentParam::Object(SessionAgentObject::AgentWithOverrides(with)) => {
                (with.id.clone(), with.version.map(|v| v as i64), Some(with.clone()))
            }
            SessionAgentParam::Object(SessionAgentObject::Unknown(v)) => {
                return Err(ApiError::invalid(format!(
                    "agent.type: unknown agent reference {v}; use agent or agent_with_overrides."
                )));
            }
        };
        let agent = self.agent(&agent_id, version).await.map_err(|e| e.in_field("agent"))?;
        if !agent["archived_at"].is_null() {
            return Err(ApiError::invalid(format!("Agent {agent_id} is archived, so new sessions cannot use it."))
                .because(Cause::AgentArchived));
        }
        let mut agent: Agent = from_json(agent)?;
        let Some(with) = overrides else { return Ok(agent) };
        if let Some(servers) = &with.mcp_servers {
            resolve::mcp_servers(servers)?;
            agent.mcp_servers = servers.clone();
        }
        if let Some(model) = &with.model {
            // `effort` of an override is ignored; the agent's stays.
            let mut resolved = resolve::model(model)?;
            self.check_model(&resolved.id).await?;
            resolved.effort = agent.model.effort.clone();
            agent.model = resolved;
        }
        if let Some(system) = &with.system {
            agent.system = system.clone().filter(|s| !s.is_empty());
        }
        match &with.tools {
            Some(tools) => agent.tools = resolve::tools(tools, &agent.mcp_servers)?,
            // The servers may have changed under the agent's tools: they must still match.
            None => resolve::check_mcp_references(&agent.tools, &agent.mcp_servers)?,
        }
        if let Some(skills) = &with.skills {
            agent.skills = resolve::skills(skills)?;
        }
        resolve::check_script(&agent.model, agent.system.as_deref())?;
        Ok(agent)
    }

    /// Refuses an environment a new session cannot run in: missing or archived. Says whether it
    /// is self-hosted (its sessions' tools run on a worker).
    pub(crate) async fn usable_environment(&self, id: &str) -> ApiResult<bool> {
        let (archived, environment) = self.environment(id).await.map_err(|e| match e.status {
            StatusCode::NOT_FOUND => e.in_field("environment_id").because(Cause::EnvironmentNotFound),
            _ => e,
        })?;
        if archived {
            return Err(ApiError::invalid(format!("Environment {id} is archived, so new sessions cannot use it."))
                .because(Cause::EnvironmentArchived));
        }
        Ok(environment["config"]["type"] == "self_hosted")
    }

    /// A resource of a new session (`at` names it in errors), with its token if it has one: the
    /// engine mounts files, memory stores and repositories.
    async fn resource_of(&self, resource: &ResourceParams, at: &str) -> ApiResult<(Value, Option<String>)> {
        match resource {
            ResourceParams::File(file) => {
                Ok((self.file_resource(&file.file_id, file.mount_path.as_deref(), at).await?, None))
            }
            ResourceParams::MemoryStore(store) => Ok((
                self.memory_store_resource(
                    &store.memory_store_id,
                    store.access.as_ref(),
                    store.instructions.as_deref(),
                    at,
                )
                .await?,
                None,
            )),
            ResourceParams::GithubRepository(repository) => {
                let resource = self.repository_resource(repository, at)?;
                Ok((resource, repository.authorization_token.clone().filter(|t| !t.is_empty())))
            }
            other => Err(ApiError::invalid(format!(
                "{at}: the embedded engine mounts files, memory stores and GitHub repositories only ({} is not supported).",
                other.type_name()
            ))),
        }
    }

    /// A `github_repository` resource, checked: a URL of a host the engine clones from, a branch
    /// or commit git takes, and a mount path of its own (default `/workspace/<repository>`).
    fn repository_resource(&self, repository: &GithubRepositoryResourceParams, at: &str) -> ApiResult<Value> {
        let url = RepositoryUrl::parse(&repository.url, self.repositories.hosts())
            .map_err(|why| ApiError::invalid(format!("{at}.url: {why}.")))?;
        let checkout = match &repository.checkout {
            Some(checkout) => to_json(checkout)?,
            None => Value::Null,
        };
        Target::of(&checkout).map_err(|why| ApiError::invalid(format!("{at}.{why}.")))?;
        if repository.authorization_token.as_deref().is_some_and(|t| t.len() > 4096 || t.chars().any(char::is_control))
        {
            return Err(ApiError::invalid(format!(
                "{at}.authorization_token: a token is at most 4,096 characters, without line breaks."
            )));
        }
        let mount_path = repository.mount_path.clone().unwrap_or_else(|| format!("/workspace/{}", url.name));
        check_mount_path(at, &mount_path)?;
        if mount_path == "/workspace" {
            return Err(ApiError::invalid(format!(
                "{at}: mount_path /workspace is the session's workspace; mount the repository in a folder of it, e.g. /workspace/{}.",
                url.name
            )));
        }
        let at = now().text;
        let mut resource = json!({ "type": "github_repository", "id": new_id("sesrsc"), "url": url.url,
            "mount_path": mount_path, "created_at": at, "updated_at": at });
        if !checkout.is_null() {
            resource["checkout"] = checkout;
        }
        Ok(resource)
    }

    /// Whether a session with a budget has spent it.
    pub(crate) async fn budget_reached(&self, session_id: &str) -> ApiResult<bool> {
        let Some((spent, Some(max))) = self.store.session_spend(session_id).await? else { return Ok(false) };
        let Ok(max) = max.parse::<u64>() else { return Ok(false) };
        Ok(spent.max(0) as u64 >= max.saturating_mul(1_000_000))
    }

    /// (archived, body) of a session.
    pub async fn session(&self, id: &str) -> ApiResult<(bool, Value)> {
        let (archived, body) = self.store.archivable("sessions", "session", id).await?;
        Ok((archived, with_duration(body)))
    }

    pub(crate) async fn resource(&self, session_id: &str, resource_id: &str) -> ApiResult<Value> {
        self.session(session_id).await?;
        let body = self.store.session_resource(session_id, resource_id).await?;
        json(&body.ok_or_else(|| ApiError::not_found("session resource", resource_id))?)
    }

    /// A file resource for `file_id`, mounted at `mount_path` (default
    /// `/mnt/session/uploads/<file_id>`).
    pub(crate) async fn file_resource(&self, file_id: &str, mount_path: Option<&str>, at: &str) -> ApiResult<Value> {
        if !self.store.exists("files", file_id).await? {
            return Err(ApiError::invalid(format!("{at}: file {file_id:?} was not found; upload it first."))
                .because(Cause::FileNotFound));
        }
        let mount_path = mount_path.map_or_else(|| format!("/mnt/session/uploads/{file_id}"), str::to_owned);
        check_mount_path(at, &mount_path)?;
        let at = now().text;
        Ok(
            json!({ "type": "file", "id": new_id("sesrsc"), "file_id": file_id, "mount_path": mount_path, "created_at": at, "updated_at": at }),
        )
    }

    /// Keeps the `resources` of the session object in step with its resource rows.
    pub(crate) async fn sync_resources(&self, session_id: &str) -> ApiResult<()> {
        self.store.sync_session_resources(session_id).await
    }
}

/// Which sessions a list shows.
pub struct SessionFilters {
    pub include_archived: bool,
    pub agent_id: Option<String>,
    pub deployment_id: Option<String>,
    /// Sessions with this memory store among their resources.
    pub memory_store_id: Option<String>,
    /// Only with `agent_id`.
    pub agent_version: Option<i64>,
    pub statuses: Vec<String>,
    pub created: Ranges,
}

impl SessionFilters {
    /// The conditions on the sessions table.
    fn filters(self) -> Vec<Filter> {
        let mut filters = Vec::new();
        if !self.include_archived {
            filters.push(Filter::Sql("archived = 0"));
        }
        if let Some(agent_id) = self.agent_id {
            filters.push(Filter::Eq("agent_id", agent_id));
        }
        if let Some(deployment_id) = self.deployment_id {
            filters.push(Filter::Eq("json_extract(body, '$.deployment_id')", deployment_id));
        }
        if let Some(memory_store_id) = self.memory_store_id {
            filters.push(Filter::Around(
                "EXISTS (SELECT 1 FROM json_each(sessions.body, '$.resources') AS r WHERE json_extract(r.value, '$.memory_store_id') = ",
                memory_store_id,
                ")",
            ));
        }
        if let Some(version) = self.agent_version {
            filters.push(Filter::EqInt("agent_version", version));
        }
        if !self.statuses.is_empty() {
            filters.push(Filter::In("status", self.statuses));
        }
        filters.extend(time_filters(self.created, "created_us"));
        filters
    }
}

impl EngineState {
    /// Applies `body` to a session that is not archived; a change is saved and announced with
    /// `session.updated`. Answers the session.
    pub async fn update_session(&self, id: &str, body: SessionUpdate) -> ApiResult<Value> {
        let (archived, mut session) = self.session(id).await?;
        if archived {
            return Err(ApiError::conflict(format!("Session {id} is archived and cannot be changed.")));
        }
        if body.vault_ids.is_some() {
            return Err(ApiError::invalid("vault_ids can only be set when a session is created."));
        }
        let mut title = None;
        if let Some(new) = &body.title
            && session["title"] != json!(new)
        {
            session["title"] = json!(new);
            title = Some(new.clone());
        }
        let mut metadata = None;
        if let Some(patch) = &body.metadata {
            let mut patched = from_json(session["metadata"].clone())?;
            resolve::patch_metadata(&mut patched, patch, false)?;
            let json = to_json(&patched)?;
            if session["metadata"] != json {
                session["metadata"] = json;
                metadata = Some(patched);
            }
        }
        let agent = body.agent.as_ref().map(|update| change_agent(&mut session, update)).transpose()?;
        let budget = match &body.budget {
            Some(budget) => self.change_budget(id, &mut session, budget.as_ref()).await?,
            None => None,
        };
        if title.is_some() || metadata.is_some() || agent.is_some() || budget.is_some() {
            session["updated_at"] = json!(now().text);
            self.store.update_session_body(id, &session.to_string()).await?;
            self.append_event(id, None, true, emitted::session_updated(title, metadata, agent, budget)).await?;
        }
        Ok(self.session(id).await?.1)
    }

    /// Sets or removes the budget of `session`, and says what changed (`Some(None)`: it was
    /// removed): a budget can only be kept or raised above what the session has spent, never
    /// added after creation.
    async fn change_budget(
        &self,
        id: &str,
        session: &mut Value,
        budget: Option<&Budget>,
    ) -> ApiResult<Option<Option<Budget>>> {
        let Some(budget) = budget else {
            if session["budget"].is_null() {
                return Ok(None);
            }
            session["budget"] = Value::Null;
            return Ok(Some(None));
        };
        if session["budget"].is_null() {
            return Err(ApiError::invalid("A budget can only be added when a session is created.")
                .with_code("budget_create_only"));
        }
        let Ok(amount) = budget.max_list_cost.amount.parse::<u64>() else {
            return Err(ApiError::invalid(
                "budget.max_list_cost.amount must be a whole number of cents, e.g. \"2500\".",
            ));
        };
        let spent = self.store.session_spend(id).await?.map_or(0, |(spent, _)| spent);
        if amount.saturating_mul(1_000_000) <= spent.max(0) as u64 {
            return Err(ApiError::invalid(format!(
                "budget: the session has already spent {} cents of list cost; a budget must be more than that.",
                crate::model::prices::cents(spent.max(0) as u64)
            ))
            .with_code("budget_not_raised"));
        }
        budgetable(&session["agent"])?;
        session["budget"] = to_json(budget)?;
        Ok(Some(Some(budget.clone())))
    }

    /// A page of sessions in `order` (with `prev_page`), with their durations.
    pub async fn list_sessions(&self, filters: SessionFilters, paging: Paging) -> ApiResult<Value> {
        let query = paging.query("seq, body", "sessions", "seq", filters.filters());
        self.page(query, true, |row| Ok(with_duration(body_of(row)?))).await
    }

    /// Archives a session (again: no change) and answers it.
    pub async fn archive_session(&self, id: &str) -> ApiResult<Value> {
        let (archived, _) = self.session(id).await?;
        if !archived {
            let at = now().text;
            // Archived first: from here no input reaches it and no runtime starts for it.
            self.store.archive_session(id, &at).await?;
            self.announce("session.archived", id);
            self.stop_session_work(id).await?;
        }
        // Again when archiving again: what an archive that failed halfway kept goes now.
        self.retire(id).await?;
        Ok(self.session(id).await?.1)
    }

    /// Lets go of everything an archived session held: its runtime task (a turn under way is
    /// cut short, and the session left idle saying so), its MCP connections, its sandbox (what
    /// its last call wrote to its outputs and memory stores kept first; its disk's mount, loop
    /// device and image; the files the API lists stay), and its hub (its open streams end).
    async fn retire(&self, id: &str) -> ApiResult<()> {
        self.stop_runtime(id).await;
        let status = self.store.session_status(id).await?.unwrap_or_default();
        if status == "running" || status == "rescheduling" {
            if let Err(error) = self.write_back_memory(id).await {
                tracing::warn!(session = %id, "an archived session's memory could not be written back: {}", error.message);
            }
            if let Err(error) = self.collect_outputs(id).await {
                tracing::warn!(session = %id, "an archived session's outputs could not be kept: {}", error.message);
            }
            let why = "The session was archived while it was running, so its turn was cut short; an archived session takes no more input.";
            self.settle_cut_turn(id, why).await?;
        }
        self.delete_sandbox(id).await;
        self.release_hub(id);
        Ok(())
    }

    /// Deletes a session with its events, threads and resources; its runtime stops, its
    /// streams end and its sandbox goes.
    pub async fn delete_session(&self, id: &str) -> ApiResult<()> {
        self.session(id).await?;
        self.stop_runtime(id).await;
        self.store.delete_session(id).await?;
        self.announce("session.deleted", id);
        self.stop_session_work(id).await?;
        self.close_hub(id);
        self.delete_sandbox(id).await;
        Ok(())
    }

    /// A page of a session's resources, in the order they were added.
    pub async fn list_resources(&self, session_id: &str, paging: Paging) -> ApiResult<Value> {
        let filters = vec![Filter::Eq("session_id", session_id.to_owned())];
        self.page(paging.query("seq, body", "session_resources", "seq", filters), false, body_of).await
    }

    /// Gives a session's repository resource a new token (write-only, sealed as at creation):
    /// the next checkout or fetch the engine makes for it uses it. Answers the resource.
    pub async fn rotate_resource_token(&self, id: &str, resource_id: &str, token: &str) -> ApiResult<Value> {
        let mut resource = self.resource(id, resource_id).await?;
        let (archived, session) = self.session(id).await?;
        if archived || session["status"] == "terminated" {
            return Err(ApiError::invalid(format!(
                "Session {id} is archived or terminated; it checks nothing out again, so its tokens cannot be rotated."
            )));
        }
        if resource["type"] != "github_repository" {
            return Err(ApiError::invalid(format!(
                "Only github_repository resources have a token to rotate; this resource is a {}.",
                resource["type"].as_str().unwrap_or("resource").replace('_', " ")
            )));
        }
        if token.is_empty() || token.len() > 4096 || token.chars().any(char::is_control) {
            return Err(ApiError::invalid(
                "authorization_token: give the new token, at most 4,096 characters, without line breaks.",
            ));
        }
        resource["updated_at"] = json!(now().text);
        self.store.rotate_repository_token(id, resource_id, token, &resource.to_string()).await?;
        self.sync_resources(id).await?;
        Ok(resource)
    }

    /// Adds a file resource to a session that is neither archived nor terminated, at a mount
    /// path none of its resources uses. Answers the resource.
    pub async fn add_resource(&self, id: &str, file_id: &str, mount_path: Option<&str>) -> ApiResult<Value> {
        let (archived, session) = self.session(id).await?;
        if archived || session["status"] == "terminated" {
            return Err(ApiError::invalid(format!(
                "Session {id} is archived or terminated; resources can no longer be added."
            )));
        }
        let resource = self.file_resource(file_id, mount_path, "file_id").await?;
        let existing = self.store.session_resources(id).await?;
        if existing
            .iter()
            .filter_map(|b| serde_json::from_str::<Value>(b).ok())
            .any(|r| r["mount_path"] == resource["mount_path"])
        {
            return Err(ApiError::invalid(format!(
                "mount_path {} is already used by another resource of this session; choose another path.",
                resource["mount_path"]
            )));
        }
        self.store
            .insert_session_resource(id, resource["id"].as_str().unwrap_or_default(), &resource.to_string())
            .await?;
        self.sync_resources(id).await?;
        Ok(resource)
    }

    /// Takes a resource off a session.
    pub async fn delete_resource(&self, id: &str, resource_id: &str) -> ApiResult<()> {
        self.resource(id, resource_id).await?;
        self.store.delete_session_resource(id, resource_id).await?;
        self.sync_resources(id).await
    }
}

/// Changes the tools and MCP servers of the agent of `session`, and says what the agent is now;
/// the agent of a running session cannot change.
fn change_agent(session: &mut Value, update: &SessionAgentUpdate) -> ApiResult<SessionAgent> {
    if session["status"] == "running" {
        return Err(ApiError::invalid("The agent of a running session cannot change; wait until it is idle."));
    }
    let mut servers: Vec<protocol::agents::McpServer> = from_json(session["agent"]["mcp_servers"].clone())?;
    if let Some(new) = &update.mcp_servers {
        resolve::mcp_servers(new)?;
        servers = new.clone();
    }
    let tools = match &update.tools {
        Some(tools) => resolve::tools(tools, &servers)?,
        None => {
            let tools: Vec<protocol::agents::Tool> = from_json(session["agent"]["tools"].clone())?;
            resolve::check_mcp_references(&tools, &servers)?;
            tools
        }
    };
    session["agent"]["tools"] = to_json(&tools)?;
    session["agent"]["mcp_servers"] = to_json(&servers)?;
    from_json(session["agent"].clone())
}

/// A session just written, and what starts it: its initial events (outcomes checked).
pub struct SessionStart {
    pub session_id: String,
    initial: Vec<InitialEvent>,
    outcomes: Vec<super::outcomes::CheckedOutcome>,
    /// The self-hosted environment it runs on, if it does: it waits for a worker from the start.
    self_hosted_environment: Option<String>,
}

/// A new session checked and built by [`EngineState::prepare_session`], not yet written.
pub(crate) struct NewSession {
    body: String,
    created_us: i64,
    agent_id: String,
    agent_version: i64,
    environment_id: String,
    /// The primary thread's (id, body).
    thread: (String, String),
    /// Each resource row's (id, body).
    resources: Vec<(String, String)>,
    /// Each repository resource's (id, token as stored).
    tokens: Vec<(String, String)>,
    pub start: SessionStart,
}

/// What the new sessions of one round have already had checked (see
/// [`EngineState::prepare_session`]).
#[derive(Default)]
pub(crate) struct Checked {
    /// Each (agent, version) referenced without overrides, pinned and its skills checked.
    agents: HashMap<(String, Option<i64>), Agent>,
    /// Environments found usable, and whether each is self-hosted.
    environments: HashMap<String, bool>,
    /// The vaults deployments name, and the run error each gives (`None`: usable).
    pub vaults: HashMap<String, Option<protocol::deployments::RunError>>,
}

/// Writes new sessions in the caller's transaction (see [`insert_sessions`]).
pub(crate) async fn write_sessions(tx: &mut Transaction<'_, Sqlite>, sessions: &[&NewSession]) -> ApiResult<()> {
    let rows: Vec<NewSessionRows> = sessions
        .iter()
        .map(|new| NewSessionRows {
            id: &new.start.session_id,
            body: &new.body,
            created_us: new.created_us,
            status: IDLE,
            agent_id: &new.agent_id,
            agent_version: new.agent_version,
            environment_id: &new.environment_id,
            thread: (&new.thread.0, &new.thread.1),
            resources: &new.resources,
            tokens: &new.tokens,
        })
        .collect();
    insert_sessions(tx, &rows).await
}

/// Refuses a budget over a session that can run a model without a list price: the agent's own,
/// or any model its multiagent roster can call.
pub(crate) fn budgetable(agent: &Value) -> ApiResult<()> {
    fn models(value: &Value, into: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, value) in map {
                    match (key.as_str(), value) {
                        ("model", Value::String(id)) => into.push(id.clone()),
                        ("model", Value::Object(config)) if config.get("id").is_some_and(Value::is_string) => {
                            into.push(config["id"].as_str().unwrap_or_default().to_owned());
                        }
                        _ => models(value, into),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|item| models(item, into)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    models(agent, &mut all);
    match all.iter().find(|id| !crate::model::prices::priced(id)) {
        Some(id) => Err(ApiError::invalid(format!(
            "budget: model {id:?} has no public list price, so a budget cannot cover it. Remove the budget or use a priced model."
        ))
        .with_code("model_not_budgetable")),
        None => Ok(()),
    }
}

/// A new session's metadata and initial events, checked.
fn checked_params(body: &SessionCreate) -> ApiResult<(Metadata, Vec<InitialEvent>)> {
    let metadata = body.metadata.clone().unwrap_or_default();
    resolve::metadata(&metadata)?;
    if let Some(budget) = &body.budget
        && budget.max_list_cost.amount.parse::<u64>().is_err()
    {
        return Err(ApiError::invalid("budget.max_list_cost.amount must be a whole number of cents, e.g. \"2500\"."));
    }
    let initial = body.initial_events.clone().unwrap_or_default();
    if initial.len() > 50 {
        return Err(ApiError::invalid("initial_events: at most 50 events."));
    }
    for (i, event) in initial.iter().enumerate() {
        if !matches!(event, InitialEvent::UserMessage(_) | InitialEvent::UserDefineOutcome(_)) {
            return Err(ApiError::invalid(format!(
                "initial_events[{i}]: {} cannot start a session; send user.message or user.define_outcome.",
                event.type_name()
            )));
        }
    }
    Ok((metadata, initial))
}

impl EngineState {
    /// The agent as a session keeps it: a snapshot of the pinned version, with the full
    /// definition of every agent it may delegate to.
    async fn snapshot(&self, agent: Agent) -> ApiResult<SessionAgent> {
        let multiagent = match &agent.multiagent {
            Some(multiagent) => Some(self.session_multiagent(multiagent, &agent).await?),
            None => None,
        };
        Ok(SessionAgent {
            id: agent.id,
            description: agent.description,
            execution_identity: agent.execution_identity,
            mcp_servers: agent.mcp_servers,
            model: agent.model,
            multiagent,
            name: agent.name,
            skills: agent.skills,
            system: agent.system,
            tools: agent.tools,
            r#type: AgentTag,
            version: agent.version,
        })
    }
}
