//! Deployments: checking and storing them, their cron schedules, and firing them. A fire is one
//! run, the append-only record of the session it created or of why it created none.
//!
//! A fire writes its run, its session and its deployment's next time in one transaction, and a
//! scheduled run is unique per (deployment, cron time): a crash leaves all or nothing, and a cron
//! time never fires twice.

use std::collections::HashSet;

use protocol::{
    agents::AgentRefParam,
    common::{Empty, Metadata},
    deployments::{
        AgentRefTag, AgentReference, Deployment, DeploymentAgentParam, DeploymentInitialEvent, DeploymentResource,
        DeploymentRun, DeploymentRunTag, ErrorPausedReason, FileResourceConfig, MemoryStoreResourceConfig, PausedError,
        PausedReason, RunError, Schedule, ScheduleParams, ScheduleTrigger, TriggerContext,
    },
    event_params::InitialEvent,
    schedule::CronSchedule,
    sessions::{Budget, ResourceParams, SessionAgentObject, SessionAgentParam, SessionCreate},
};
use serde_json::Value;
use sqlx::{Sqlite, Transaction};

use super::{
    Paging, Ranges, body_of,
    sessions::{Checked, NewSession, SessionStart, write_sessions},
    time_filters,
};
use crate::{
    EngineState,
    error::{ApiError, ApiResult, Cause},
    ids::{format_micros, new_id, now},
    resolve,
    store::{
        Filter,
        deployments::{self as rows, DeploymentColumns, DeploymentRow, RunColumns},
        from_json, json,
        sessions::ROWS_PER_INSERT,
        to_json,
    },
};

/// Which deployment runs a list shows.
pub struct RunFilters<'a> {
    pub deployment_id: Option<&'a str>,
    pub has_error: Option<bool>,
    pub trigger_type: Option<&'a str>,
    pub created: Ranges,
}

/// Most initial events a deployment sends.
pub const MAX_INITIAL_EVENTS: usize = 50;
/// Most vaults and resources a deployment names.
pub const MAX_VAULTS: usize = 50;
pub const MAX_RESOURCES: usize = 500;
/// How many coming fires a deployment's schedule lists.
pub const UPCOMING: usize = 5;

/// A schedule parsed, or the 400 that says what is wrong with it.
pub fn cron(params: &ScheduleParams) -> ApiResult<CronSchedule> {
    Ok(CronSchedule::parse(params)?)
}

/// What fired a run.
#[derive(Debug, Clone, Copy)]
pub enum Trigger {
    Manual,
    /// A schedule: the next time the deployment waited for (`next_fire_us`) and the cron time
    /// it fires for (the latest one due), in microseconds.
    Schedule {
        due: i64,
        fired: i64,
    },
}

/// A deployment row: its stored body and the columns beside it.
pub struct StoredDeployment {
    pub body: Deployment,
    pub archived: bool,
    pub last_run_us: Option<i64>,
}

impl StoredDeployment {
    /// The deployment a row holds.
    pub fn from_row(row: DeploymentRow) -> ApiResult<StoredDeployment> {
        Ok(StoredDeployment {
            body: from_json(json(&row.body)?)?,
            archived: row.archived,
            last_run_us: row.last_run_us,
        })
    }

    /// The deployment as the API answers it: with its schedule's last run and next fires.
    pub fn answer(&self) -> ApiResult<Value> {
        let mut body = self.body.clone();
        if let Some(schedule) = &mut body.schedule {
            schedule.last_run_at = self.last_run_us.map(format_micros);
            let upcoming = match self.archived {
                true => Vec::new(),
                false => cron(&params_of(schedule))?.upcoming(now().micros, UPCOMING),
            };
            schedule.upcoming_runs_at = Some(upcoming.into_iter().map(format_micros).collect());
        }
        to_json(&body)
    }
}

/// The columns a deployment's write stores, `next_fire_us` among them.
fn columns(deployment: &Deployment, next_fire_us: Option<i64>) -> ApiResult<DeploymentColumns<'_>> {
    Ok(DeploymentColumns {
        id: &deployment.id,
        body: to_json(deployment)?.to_string(),
        agent_id: &deployment.agent.id,
        status: deployment.status.as_str(),
        next_fire_us,
    })
}

/// The cron time a deployment fires next after now: none without a schedule, or when paused or
/// archived.
fn next_fire(deployment: &Deployment, archived: bool) -> ApiResult<Option<i64>> {
    match &deployment.schedule {
        Some(schedule) if deployment.paused_reason.is_none() && !archived => {
            Ok(cron(&params_of(schedule))?.next_after(now().micros))
        }
        _ => Ok(None),
    }
}

/// The request form of a stored schedule.
pub fn params_of(schedule: &Schedule) -> ScheduleParams {
    ScheduleParams {
        expression: schedule.expression.clone(),
        timezone: schedule.timezone.clone(),
        r#type: schedule.r#type,
    }
}

/// The stored form of a requested schedule (computed times are added when read).
pub fn schedule_of(params: &ScheduleParams) -> ApiResult<Schedule> {
    cron(params)?;
    Ok(Schedule {
        expression: params.expression.trim().to_owned(),
        timezone: params.timezone.trim().to_owned(),
        r#type: params.r#type,
        last_run_at: None,
        upcoming_runs_at: None,
    })
}

impl EngineState {
    /// A page of deployments, newest first: archived ones only when `include_archived`, of
    /// `status` and `agent_id` when given.
    pub async fn list_deployments(
        &self,
        include_archived: bool,
        status: Option<&str>,
        agent_id: Option<&str>,
        created: Ranges,
        paging: Paging,
    ) -> ApiResult<Value> {
        let mut filters = Vec::new();
        if let Some(status) = status {
            filters.push(Filter::Eq("status", status.to_owned()));
        }
        if !include_archived {
            filters.push(Filter::Sql("archived = 0"));
        }
        if let Some(agent_id) = agent_id {
            filters.push(Filter::Eq("agent_id", agent_id.to_owned()));
        }
        filters.extend(time_filters(created, "created_us"));
        let query = paging.query("seq, body, archived, last_run_us", "deployments", "seq", filters);
        self.page(query, false, |row| StoredDeployment::from_row(DeploymentRow::read(row)?)?.answer()).await
    }

    /// A page of deployment runs, newest first: of `deployment_id`, with an error or not
    /// (`has_error`), of `trigger_type`, when given.
    pub async fn list_deployment_runs(&self, filters: RunFilters<'_>, paging: Paging) -> ApiResult<Value> {
        let mut conditions = Vec::new();
        if let Some(deployment_id) = filters.deployment_id {
            conditions.push(Filter::Eq("deployment_id", deployment_id.to_owned()));
        }
        if let Some(has_error) = filters.has_error {
            conditions.push(Filter::EqInt("has_error", i64::from(has_error)));
        }
        if let Some(trigger) = filters.trigger_type {
            conditions.push(Filter::Eq("trigger_type", trigger.to_owned()));
        }
        conditions.extend(time_filters(filters.created, "created_us"));
        self.page(paging.query("seq, body", "deployment_runs", "seq", conditions), false, body_of).await
    }

    /// A deployment run.
    pub async fn deployment_run(&self, id: &str) -> ApiResult<Value> {
        let body = self.store.deployment_run_body(id).await?;
        json(&body.ok_or_else(|| ApiError::not_found("deployment run", id))?)
    }

    /// The agent a deployment pins: a bare id pins the latest version; an object must name one.
    pub async fn deployment_agent(&self, param: &DeploymentAgentParam) -> ApiResult<AgentReference> {
        let (id, version) = match param {
            DeploymentAgentParam::Id(id) => (id.clone(), None),
            DeploymentAgentParam::Object(object) => {
                let Some(version) = object.reference.version else {
                    return Err(ApiError::invalid(
                        "agent: an agent object needs both id and version; send the bare id to pin the latest version.",
                    ));
                };
                (object.reference.id.clone(), Some(version as i64))
            }
        };
        let agent = self.agent(&id, version).await.map_err(|e| e.in_field("agent"))?;
        if !agent["archived_at"].is_null() {
            return Err(ApiError::invalid(format!("agent: agent {id} is archived, so it cannot be deployed.")));
        }
        let version = agent["version"].as_u64().ok_or_else(|| ApiError::internal("an agent without a version"))?;
        Ok(AgentReference { id, r#type: AgentRefTag, version })
    }

    /// Checks what a deployment's sessions will be made of, as a session create checks it, so a
    /// deployment that cannot fire is refused when it is saved rather than at its first fire.
    /// Answers the resources as the deployment echoes them.
    pub async fn check_deployment_parts(
        &self,
        environment_id: &str,
        initial_events: &[DeploymentInitialEvent],
        resources: &[ResourceParams],
        vault_ids: &[String],
        budget: Option<&Budget>,
    ) -> ApiResult<Vec<DeploymentResource>> {
        self.usable_environment(environment_id).await?;
        self.check_deployment_events(initial_events).await?;
        if vault_ids.len() > MAX_VAULTS {
            return Err(ApiError::invalid(format!("vault_ids: at most {MAX_VAULTS} vaults.")));
        }
        for (i, vault_id) in vault_ids.iter().enumerate() {
            let (archived, _) = self.store.vault(vault_id).await.map_err(|e| e.in_field(&format!("vault_ids[{i}]")))?;
            if archived {
                return Err(ApiError::invalid(format!("vault_ids[{i}]: vault {vault_id} is archived.")));
            }
        }
        if resources.len() > MAX_RESOURCES {
            return Err(ApiError::invalid(format!("resources: at most {MAX_RESOURCES} resources.")));
        }
        let echoed = self.deployment_resources(resources).await?;
        if let Some(budget) = budget
            && budget.max_list_cost.amount.parse::<u64>().is_err()
        {
            return Err(ApiError::invalid(
                "budget.max_list_cost.amount must be a whole number of cents, e.g. \"2500\".",
            ));
        }
        Ok(echoed)
    }

    /// Checks the initial events a deployment sends each session: 1 to [`MAX_INITIAL_EVENTS`],
    /// messages with content and outcomes a session would take.
    async fn check_deployment_events(&self, initial_events: &[DeploymentInitialEvent]) -> ApiResult<()> {
        if initial_events.is_empty() || initial_events.len() > MAX_INITIAL_EVENTS {
            return Err(ApiError::invalid(format!(
                "initial_events: a deployment sends 1 to {MAX_INITIAL_EVENTS} events to each session."
            )));
        }
        for (i, event) in initial_events.iter().enumerate() {
            let at = format!("initial_events[{i}]");
            match event {
                DeploymentInitialEvent::UserMessage(message) if message.content.is_empty() => {
                    return Err(ApiError::invalid(format!("{at}.content: a message needs at least one block.")));
                }
                DeploymentInitialEvent::UserMessage(_) => {}
                DeploymentInitialEvent::UserDefineOutcome(outcome) => {
                    self.check_outcome(outcome, &at).await?;
                }
                DeploymentInitialEvent::SystemMessage(_) => {
                    return Err(ApiError::invalid(format!(
                        "{at}: the embedded engine does not support system.message (its scripted model has no system turns)."
                    )));
                }
                DeploymentInitialEvent::Unknown(value) => {
                    return Err(ApiError::invalid(format!(
                        "{at}.type: {} cannot start a session; send user.message, user.define_outcome or system.message.",
                        value.get("type").unwrap_or(&Value::Null)
                    )));
                }
            }
        }
        Ok(())
    }

    /// Checks the resources a deployment mounts in each session (files and memory stores);
    /// answers them as the deployment echoes them.
    async fn deployment_resources(&self, resources: &[ResourceParams]) -> ApiResult<Vec<DeploymentResource>> {
        let mut echoed = Vec::new();
        for (i, resource) in resources.iter().enumerate() {
            let at = format!("resources[{i}]");
            match resource {
                ResourceParams::File(file) => {
                    self.file_resource(&file.file_id, file.mount_path.as_deref(), &at).await?;
                    echoed.push(DeploymentResource::File(FileResourceConfig {
                        file_id: file.file_id.clone(),
                        mount_path: file.mount_path.clone(),
                    }));
                }
                ResourceParams::MemoryStore(store) => {
                    self.memory_store_resource(
                        &store.memory_store_id,
                        store.access.as_ref(),
                        store.instructions.as_deref(),
                        &at,
                    )
                    .await?;
                    echoed.push(DeploymentResource::MemoryStore(MemoryStoreResourceConfig {
                        memory_store_id: store.memory_store_id.clone(),
                        access: store.access.clone(),
                        instructions: store.instructions.clone(),
                    }));
                }
                other => {
                    return Err(ApiError::invalid(format!(
                        "{at}: the embedded engine mounts files and memory stores only ({} is not supported).",
                        other.type_name()
                    )));
                }
            }
        }
        Ok(echoed)
    }

    /// A deployment with its archive state and last scheduled run.
    pub async fn deployment(&self, id: &str) -> ApiResult<StoredDeployment> {
        let row = self.store.deployment_row(id).await?.ok_or_else(|| ApiError::not_found("deployment", id))?;
        StoredDeployment::from_row(row)
    }

    /// Writes a deployment's body, status and next fire (worked out from its schedule unless it
    /// is paused or archived), and wakes the scheduler.
    pub async fn write_deployment(&self, deployment: &Deployment, archive: bool) -> ApiResult<()> {
        self.store.update_deployment(columns(deployment, next_fire(deployment, archive)?)?, archive).await?;
        self.scheduler.notify_one();
        Ok(())
    }

    pub async fn insert_deployment(&self, deployment: &Deployment, created_us: i64) -> ApiResult<()> {
        self.store.insert_deployment(columns(deployment, next_fire(deployment, false)?)?, created_us).await?;
        self.scheduler.notify_one();
        Ok(())
    }

    /// Fires a deployment once: creates its session, or records why it could not. Returns the
    /// run with what starts its session (for the caller to start, see
    /// [`EngineState::start_session`]).
    pub async fn fire(&self, deployment: &Deployment) -> ApiResult<(DeploymentRun, Option<SessionStart>)> {
        let fire = self.prepare_fire(deployment, Trigger::Manual, &mut Checked::default()).await?;
        let mut written = self.write_fires(vec![fire]).await?;
        written.pop().ok_or_else(|| ApiError::internal("a manual run collided with another run"))
    }

    /// Checks and builds one fire: its session, or its run's error. Writes nothing (see
    /// [`Self::write_fires`]). A scheduled fire also moves its deployment to its next time.
    pub(crate) async fn prepare_fire(
        &self,
        deployment: &Deployment,
        trigger: Trigger,
        checked: &mut Checked,
    ) -> ApiResult<PreparedFire> {
        let mut run = DeploymentRun {
            id: new_id("drun"),
            agent: deployment.agent.clone(),
            // Stamped when the record is written (`write_fires`).
            created_at: String::new(),
            deployment_id: deployment.id.clone(),
            error: None,
            session_id: None,
            trigger_context: match trigger {
                Trigger::Manual => TriggerContext::Manual(Empty {}),
                Trigger::Schedule { fired, .. } => {
                    TriggerContext::Schedule(ScheduleTrigger { scheduled_at: format_micros(fired) })
                }
            },
            r#type: DeploymentRunTag,
        };
        let mut session = None;
        // The session create checks the agent, environment and files; only vaults are its own.
        match self.vault_error(&deployment.vault_ids, checked).await? {
            Some(error) => run.error = Some(error),
            None => match self.prepare_session(session_of(deployment), Some(&deployment.id), checked).await {
                Ok(new) => {
                    run.session_id = Some(new.start.session_id.clone());
                    session = Some(new);
                }
                Err(error) if error.status.is_server_error() => return Err(error),
                Err(error) => run.error = Some(RunError::new(run_error_type(error.cause), error.message)),
            },
        }
        let advance = match trigger {
            Trigger::Manual => None,
            Trigger::Schedule { due, fired } => Some(Advance { deployment: deployment.clone(), due, fired }),
        };
        Ok(PreparedFire { run, session, advance })
    }

    /// Writes fires in one transaction: their runs (stamped with the time they are written),
    /// their sessions, and each scheduled deployment's next time. Answers each run written with
    /// what starts its session. A scheduled run whose (deployment, cron time) has one already
    /// (fired before a restart) is left out, with its session: a time never fires twice.
    pub(crate) async fn write_fires(
        &self,
        mut fires: Vec<PreparedFire>,
    ) -> ApiResult<Vec<(DeploymentRun, Option<SessionStart>)>> {
        let mut tx = self.store.begin().await?;
        let at = now();
        let mut inserted = HashSet::new();
        for part in fires.chunks_mut(ROWS_PER_INSERT) {
            let mut bodies = Vec::with_capacity(part.len());
            for fire in part.iter_mut() {
                fire.run.created_at = at.text.clone();
                bodies.push(to_json(&fire.run)?.to_string());
            }
            let runs: Vec<RunColumns> = part
                .iter()
                .zip(&bodies)
                .map(|(fire, body)| RunColumns {
                    id: &fire.run.id,
                    deployment_id: &fire.run.deployment_id,
                    body,
                    has_error: fire.run.error.is_some(),
                    trigger_type: fire.run.trigger_context.type_name(),
                    scheduled_us: fire.advance.as_ref().map(|a| a.fired),
                })
                .collect();
            inserted.extend(rows::insert_runs(&mut tx, &runs, at.micros).await?);
        }
        let sessions: Vec<&NewSession> = fires
            .iter()
            .filter(|fire| inserted.contains(&fire.run.id))
            .filter_map(|fire| fire.session.as_ref())
            .collect();
        write_sessions(&mut tx, &sessions).await?;
        let mut paused = Vec::new();
        for fire in &fires {
            if let Some(advance) = &fire.advance {
                let run = inserted.contains(&fire.run.id).then_some(&fire.run);
                if advance_schedule(&mut tx, advance, run).await? {
                    paused.push(advance.deployment.id.as_str());
                }
            }
        }
        tx.commit().await?;
        // A scheduled run's webhooks (a manual run sends none, as the API).
        for fire in fires.iter().filter(|f| f.advance.is_some() && inserted.contains(&f.run.id)) {
            self.announce("deployment_run.started", &fire.run.id);
            let ended =
                if fire.run.session_id.is_some() { "deployment_run.succeeded" } else { "deployment_run.failed" };
            self.announce(ended, &fire.run.id);
        }
        for deployment in paused {
            self.announce("deployment.paused", deployment);
        }
        Ok(fires
            .into_iter()
            .filter(|fire| inserted.contains(&fire.run.id))
            .map(|fire| (fire.run, fire.session.map(|s| s.start)))
            .collect())
    }

    /// The run error of a vault the deployment names that is gone or archived, if any.
    async fn vault_error(&self, vault_ids: &[String], checked: &mut Checked) -> ApiResult<Option<RunError>> {
        for vault_id in vault_ids {
            if let Some(known) = checked.vaults.get(vault_id) {
                match known {
                    Some(error) => return Ok(Some(error.clone())),
                    None => continue,
                }
            }
            let error = match self.store.vault(vault_id).await {
                Ok((true, _)) => Some(RunError::new(
                    "vault_archived_error",
                    format!("Vault {vault_id} is archived; remove it from the deployment."),
                )),
                Ok(_) => None,
                Err(error) if error.status.is_client_error() => Some(RunError::new(
                    "vault_not_found_error",
                    format!("Vault {vault_id} no longer exists; remove it from the deployment."),
                )),
                Err(error) => return Err(error),
            };
            checked.vaults.insert(vault_id.clone(), error.clone());
            if error.is_some() {
                return Ok(error);
            }
        }
        Ok(None)
    }
}

/// A fire checked and built by [`EngineState::prepare_fire`], not yet written.
pub(crate) struct PreparedFire {
    run: DeploymentRun,
    session: Option<NewSession>,
    advance: Option<Advance>,
}

/// A scheduled fire's deployment, the next time it waited for, and the cron time it fired for.
struct Advance {
    deployment: Deployment,
    due: i64,
    fired: i64,
}

/// After a scheduled fire, in its transaction: the next cron time, the last run, and a pause if
/// the run's error pauses. Only if the deployment still waits for `due` (an edit, pause or
/// archive in the meantime wins). Says whether it paused the deployment.
async fn advance_schedule(
    tx: &mut Transaction<'_, Sqlite>,
    advance: &Advance,
    run: Option<&DeploymentRun>,
) -> ApiResult<bool> {
    let Advance { deployment, due, fired } = advance;
    let Some(schedule) = &deployment.schedule else { return Ok(false) };
    let next = cron(&params_of(schedule))?.next_after((*fired).max(now().micros));
    let started = run.filter(|r| r.session_id.is_some()).map(|_| *fired);
    let pause = run.and_then(|r| r.error.as_ref()).filter(|e| e.pauses());
    match pause {
        Some(error) => {
            let reason = PausedReason::Error(ErrorPausedReason { error: PausedError { r#type: error.r#type.clone() } });
            rows::pause_for_error(tx, &deployment.id, &to_json(&reason)?.to_string(), &now().text, *due).await
        }
        None => {
            rows::advance(tx, &deployment.id, next, started, *due).await?;
            Ok(false)
        }
    }
}

/// The API's run error type for a session create that failed for `cause`.
fn run_error_type(cause: Option<Cause>) -> &'static str {
    match cause {
        Some(Cause::AgentArchived) => "agent_archived_error",
        Some(Cause::EnvironmentArchived) => "environment_archived_error",
        Some(Cause::EnvironmentNotFound) => "environment_not_found_error",
        Some(Cause::FileNotFound) => "file_not_found_error",
        Some(Cause::MemoryStoreArchived) => "memory_store_archived_error",
        Some(Cause::MemoryStoreNotFound) => "session_resource_not_found_error",
        Some(Cause::SkillNotFound) => "skill_not_found_error",
        Some(Cause::PathTaken) | None => "session_creation_rejected_error",
    }
}

/// The session a deployment's fire creates.
fn session_of(deployment: &Deployment) -> SessionCreate {
    let initial = deployment
        .initial_events
        .iter()
        .filter_map(|event| match event {
            DeploymentInitialEvent::UserMessage(message) => Some(InitialEvent::UserMessage(message.clone())),
            DeploymentInitialEvent::UserDefineOutcome(outcome) => {
                Some(InitialEvent::UserDefineOutcome(outcome.clone()))
            }
            _ => None,
        })
        .collect();
    let resources = deployment
        .resources
        .iter()
        .filter_map(|resource| match resource {
            DeploymentResource::File(file) => Some(ResourceParams::File(protocol::sessions::FileResourceParams {
                file_id: file.file_id.clone(),
                mount_path: file.mount_path.clone(),
            })),
            DeploymentResource::MemoryStore(store) => {
                Some(ResourceParams::MemoryStore(protocol::sessions::MemoryStoreResourceParams {
                    memory_store_id: store.memory_store_id.clone(),
                    access: store.access.clone(),
                    instructions: store.instructions.clone(),
                }))
            }
            _ => None,
        })
        .collect();
    SessionCreate {
        agent: SessionAgentParam::Object(SessionAgentObject::Agent(AgentRefParam {
            id: deployment.agent.id.clone(),
            version: Some(deployment.agent.version),
        })),
        environment_id: deployment.environment_id.clone(),
        budget: deployment.budget.clone(),
        initial_events: Some(initial),
        metadata: Some(Metadata::new()),
        resources: Some(resources),
        title: None,
        vault_ids: Some(deployment.vault_ids.clone()),
    }
}

/// Checks a deployment's name, description and metadata.
pub fn check_labels(name: &str, description: Option<&str>, metadata: &Metadata) -> ApiResult<()> {
    if name.trim().is_empty() || name.chars().count() > 256 {
        return Err(ApiError::invalid("name: a deployment's name must be 1–256 characters and not blank."));
    }
    if description.is_some_and(|d| d.chars().count() > 2048) {
        return Err(ApiError::invalid("description: at most 2048 characters."));
    }
    resolve::metadata(metadata)
}
