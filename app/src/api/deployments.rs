//! Deployments and their runs: list, read, create and edit, pause and unpause, Run now, archive;
//! a schedule's preview (its wording and next five fires) while it is typed.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use macros::access;
use protocol::{
    common::Page,
    deployments::{
        Deployment, DeploymentInitialEvent, DeploymentResource, DeploymentRun, PausedReason, TriggerContext,
    },
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::JsonResponse;
#[cfg(feature = "ssr")]
use super::server::{Kind, archive, clear_what_was_removed, list_archivable, paging, segment, upstream};
use crate::error::AppError;

/// One row of the deployments list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentRow {
    pub id: String,
    pub name: String,
    /// `active`, `paused` or `archived`.
    pub status: String,
    /// Why it is paused, in words.
    pub paused_why: Option<String>,
    /// The cron expression and its time zone, e.g. `0 9 * * 1-5 (Europe/Paris)`.
    pub schedule: Option<String>,
    /// The next fires (RFC 3339), at most five.
    pub next_fires: Vec<String>,
    pub last_run_at: Option<String>,
    pub agent: String,
    pub created_at: String,
    /// Who made it through Switchboard (none: made elsewhere, or before it kept the record).
    #[serde(default)]
    pub created_by: Option<domain::creators::Creator>,
}

impl DeploymentRow {
    pub fn of(d: &Deployment) -> Self {
        let status = if d.archived_at.is_some() { "archived".to_owned() } else { d.status.as_str().to_owned() };
        let paused_why = d.paused_reason.as_ref().map(|reason| match reason {
            PausedReason::Manual(_) => "paused by hand".to_owned(),
            PausedReason::Error(e) => format!("paused by a failed run: {}", error_words(&e.error.r#type)),
            PausedReason::Unknown(v) => format!("paused ({v})"),
        });
        Self {
            id: d.id.clone(),
            name: d.name.clone(),
            status,
            paused_why,
            schedule: d.schedule.as_ref().map(|s| format!("{} ({})", s.expression, s.timezone)),
            next_fires: d.schedule.as_ref().and_then(|s| s.upcoming_runs_at.clone()).unwrap_or_default(),
            last_run_at: d.schedule.as_ref().and_then(|s| s.last_run_at.clone()),
            agent: format!("{} v{}", d.agent.id, d.agent.version),
            created_at: d.created_at.clone(),
            created_by: None,
        }
    }
}

/// A run error type in words.
pub fn error_words(kind: &str) -> String {
    match kind {
        "environment_archived_error" => "its environment is archived",
        "environment_not_found_error" => "its environment no longer exists",
        "agent_archived_error" => "its agent is archived",
        "vault_not_found_error" => "a vault it uses no longer exists",
        "vault_archived_error" => "a vault it uses is archived",
        "file_not_found_error" => "a file it mounts no longer exists",
        "memory_store_archived_error" => "a memory store it uses is archived",
        "skill_not_found_error" => "a skill its agent uses no longer exists",
        "session_resource_not_found_error" => "a resource it mounts was not found",
        "session_rate_limited_error" => "too many sessions were being created (rate limit)",
        "session_creation_rejected_error" => "the API refused to create the session",
        "self_hosted_resources_unsupported_error" => "its environment is self-hosted and cannot take its resources",
        "mcp_egress_blocked_error" => "an MCP server it needs is blocked by the network policy",
        "workspace_archived_error" => "the workspace is archived",
        "organization_disabled_error" => "the organization is disabled",
        other => return other.replace('_', " "),
    }
    .to_owned()
}

/// One run of a deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRow {
    pub id: String,
    /// `schedule` or `manual`.
    pub trigger: String,
    pub scheduled_at: Option<String>,
    pub created_at: String,
    pub session_id: Option<String>,
    /// (type, what it means in words, the API's message).
    pub error: Option<(String, String, String)>,
}

impl RunRow {
    pub fn of(run: &DeploymentRun) -> Self {
        let scheduled_at = match &run.trigger_context {
            TriggerContext::Schedule(s) => Some(s.scheduled_at.clone()),
            _ => None,
        };
        Self {
            id: run.id.clone(),
            trigger: run.trigger_context.type_name().to_owned(),
            scheduled_at,
            created_at: run.created_at.clone(),
            session_id: run.session_id.clone(),
            error: run.error.as_ref().map(|e| (e.r#type.clone(), error_words(&e.r#type), e.message.clone())),
        }
    }
}

/// The deployment form, for create and edit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeploymentForm {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub agent_id: String,
    /// Empty: the agent's latest version, pinned when saved.
    #[serde(default)]
    pub agent_version: String,
    pub environment_id: String,
    /// What each session is told first.
    pub initial_message: String,
    /// Empty: manual runs only.
    #[serde(default)]
    pub schedule_expression: String,
    #[serde(default)]
    pub schedule_timezone: String,
    /// US dollars; empty for no budget.
    #[serde(default)]
    pub budget_usd: String,
    /// Picked vaults and files (checkboxes send one value each).
    #[serde(default)]
    pub vault_ids: Vec<String>,
    #[serde(default)]
    pub file_ids: Vec<String>,
    #[serde(default)]
    pub memory_store_ids: Vec<String>,
}

impl DeploymentForm {
    pub fn of(d: &Deployment) -> Self {
        let initial_message = d
            .initial_events
            .iter()
            .find_map(|e| match e {
                DeploymentInitialEvent::UserMessage(m) => Some(
                    m.content
                        .iter()
                        .filter_map(|b| serde_json::to_value(b).ok())
                        .filter_map(|b| b.get("text").and_then(Value::as_str).map(str::to_owned))
                        .collect::<Vec<_>>()
                        .join("\n"),
                ),
                _ => None,
            })
            .unwrap_or_default();
        Self {
            name: d.name.clone(),
            description: d.description.clone().unwrap_or_default(),
            agent_id: d.agent.id.clone(),
            agent_version: d.agent.version.to_string(),
            environment_id: d.environment_id.clone(),
            initial_message,
            schedule_expression: d.schedule.as_ref().map(|s| s.expression.clone()).unwrap_or_default(),
            schedule_timezone: d.schedule.as_ref().map(|s| s.timezone.clone()).unwrap_or_default(),
            budget_usd: d
                .budget
                .as_ref()
                .and_then(|b| b.max_list_cost.amount.parse::<u64>().ok())
                .map(|cents| format!("{}.{:02}", cents / 100, cents % 100))
                .unwrap_or_default(),
            vault_ids: d.vault_ids.clone(),
            file_ids: d
                .resources
                .iter()
                .filter_map(|r| match r {
                    DeploymentResource::File(f) => Some(f.file_id.clone()),
                    _ => None,
                })
                .collect(),
            memory_store_ids: d
                .resources
                .iter()
                .filter_map(|r| match r {
                    DeploymentResource::MemoryStore(m) => Some(m.memory_store_id.clone()),
                    _ => None,
                })
                .collect(),
        }
    }

    /// The body of `POST /v1/deployments` (and of an update: every field replaced).
    pub fn to_request(&self) -> Result<Value, AppError> {
        if self.name.trim().is_empty() {
            return Err(AppError::bad_input("name", "Give the deployment a name."));
        }
        if self.agent_id.trim().is_empty() {
            return Err(AppError::bad_input("agent_id", "Choose the agent the deployment runs."));
        }
        if self.environment_id.trim().is_empty() {
            return Err(AppError::bad_input("environment_id", "Choose the environment its sessions run in."));
        }
        if self.initial_message.trim().is_empty() {
            return Err(AppError::bad_input("initial_message", "Say what each session is asked to do."));
        }
        let agent = crate::drafts::agent_reference(&self.agent_id, &self.agent_version, "agent_version")?;
        let mut body = json!({
            "name": self.name.trim(),
            "agent": agent,
            "environment_id": self.environment_id.trim(),
            "initial_events": [{ "type": "user.message", "content": [{ "type": "text", "text": self.initial_message }] }],
            "vault_ids": self.vault_ids,
            "resources": crate::drafts::picked_resources(&self.file_ids, &self.memory_store_ids),
        });
        if !self.description.trim().is_empty() {
            body["description"] = json!(self.description.trim());
        }
        body["schedule"] = match (self.schedule_expression.trim(), self.schedule_timezone.trim()) {
            ("", _) => Value::Null,
            (_, "") => {
                return Err(AppError::bad_input("schedule_timezone", "Say which time zone the schedule is in."));
            }
            (expression, timezone) => json!({ "type": "cron", "expression": expression, "timezone": timezone }),
        };
        body["budget"] = crate::drafts::budget_from_dollars(&self.budget_usd, "budget_usd")?.unwrap_or(Value::Null);
        Ok(body)
    }
}

/// The deployment page's view: what the form holds (agent, environment, first message, vaults,
/// files) is read from `form`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentView {
    pub row: DeploymentRow,
    pub description: Option<String>,
    pub budget: Option<String>,
    pub form: DeploymentForm,
    pub json: String,
}

impl DeploymentView {
    pub fn of(d: &Deployment) -> Self {
        Self {
            row: DeploymentRow::of(d),
            description: d.description.clone().filter(|s| !s.is_empty()),
            budget: d.budget.as_ref().map(|b| crate::format::list_cost(&b.max_list_cost)),
            form: DeploymentForm::of(d),
            json: serde_json::to_string_pretty(d).unwrap_or_default(),
        }
    }
}

/// A schedule as the form previews it while it is typed: its wording and next fires, or what is
/// wrong with it (an answer, not a failure: a half-typed expression is expected).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SchedulePreview {
    Valid {
        /// In English, e.g. "At 09:30 on Monday through Friday.", in the schedule's zone.
        words: String,
        /// The next five fires (RFC 3339, UTC).
        fires: Vec<String>,
    },
    Invalid(String),
}

#[access(Viewer)]
#[server(endpoint = "deployments/list", input = GetUrl, output = JsonResponse)]
pub async fn list_deployments(
    include_archived: bool,
    page: Option<String>,
    #[server(default)] mine: bool,
) -> Result<Page<DeploymentRow>, AppError> {
    list_archivable(
        ("/v1/deployments", "Listing deployments", Kind::Deployment),
        (include_archived, mine),
        page,
        DeploymentRow::of,
    )
    .await
}

made_by!(DeploymentRow, |row| row.status == "archived");

#[access(Viewer)]
#[server(endpoint = "deployments/get", input = GetUrl, output = JsonResponse)]
pub async fn get_deployment(id: String) -> Result<DeploymentView, AppError> {
    let id = segment(&id)?;
    upstream()?
        .get(&format!("/v1/deployments/{id}"), vec![])
        .await
        .map(|d| DeploymentView::of(&d))
        .map_err(|e| AppError::upstream(&format!("Loading deployment {id}"), e))
}

/// A deployment's runs, newest first, 50 a page; `errors_only` keeps the failed ones.
#[access(Viewer)]
#[server(endpoint = "deployments/runs", input = GetUrl, output = JsonResponse)]
pub async fn list_deployment_runs(
    deployment_id: String,
    errors_only: bool,
    page: Option<String>,
) -> Result<Page<RunRow>, AppError> {
    let id = segment(&deployment_id)?;
    let mut query = paging(50, page);
    query.push(("deployment_id".into(), id));
    if errors_only {
        query.push(("has_error".into(), "true".into()));
    }
    upstream()?
        .get("/v1/deployment_runs", query)
        .await
        .map(|page: Page<DeploymentRun>| page.map(|run| RunRow::of(&run)))
        .map_err(|e| AppError::upstream("Listing the deployment's runs", e))
}

/// A run that failed, with the deployment it belongs to, for the Overview.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailedRun {
    pub deployment_id: String,
    /// The deployment's name, or its id when it could not be read.
    pub deployment_name: String,
    pub run: RunRow,
}

/// How far back the Overview looks for failed runs.
pub const FAILED_RUNS_HOURS: i64 = 24;
/// At most this many failed runs are listed; the Overview says when there may be more.
pub const FAILED_RUNS_SHOWN: usize = 20;

/// The runs of every deployment that failed in the last [`FAILED_RUNS_HOURS`], newest first (at
/// most [`FAILED_RUNS_SHOWN`]), each with its deployment's name.
#[access(Viewer)]
#[server(endpoint = "deployments/failed_recently", input = GetUrl, output = JsonResponse)]
pub async fn failed_runs_recently() -> Result<Vec<FailedRun>, AppError> {
    let since = crate::format::rfc3339(time::OffsetDateTime::now_utc() - time::Duration::hours(FAILED_RUNS_HOURS));
    let mut query = paging(FAILED_RUNS_SHOWN as u32, None);
    query.push(("has_error".into(), "true".into()));
    // The SDK writes the range filters of deployment runs without brackets.
    query.push(("created_at_gte".into(), since));
    let api = upstream()?;
    let runs: Page<DeploymentRun> =
        api.get("/v1/deployment_runs", query).await.map_err(|e| AppError::upstream("Listing failed runs", e))?;
    let mut ids: Vec<String> = runs.data.iter().map(|r| r.deployment_id.clone()).collect();
    ids.sort();
    ids.dedup();
    // One read per deployment named (at most 20); a deployment that cannot be read shows its id.
    let names = futures::future::join_all(ids.iter().map(|id| {
        let api = api.clone();
        async move {
            let path = format!("/v1/deployments/{}", segment(id).ok()?);
            api.get::<Deployment>(&path, vec![]).await.ok().map(|d| (d.id, d.name))
        }
    }))
    .await;
    let names: std::collections::HashMap<String, String> = names.into_iter().flatten().collect();
    Ok(runs
        .data
        .iter()
        .map(|run| FailedRun {
            deployment_id: run.deployment_id.clone(),
            deployment_name: names.get(&run.deployment_id).cloned().unwrap_or_else(|| run.deployment_id.clone()),
            run: RunRow::of(run),
        })
        .collect())
}

/// The wording and next five fires of a schedule, or what is wrong with it.
#[access(Viewer)]
#[server(endpoint = "deployments/preview_schedule", input = GetUrl, output = JsonResponse)]
pub async fn preview_schedule(expression: String, timezone: String) -> Result<SchedulePreview, AppError> {
    use protocol::{
        deployments::{CronTag, ScheduleParams},
        schedule::CronSchedule,
    };
    let params = ScheduleParams { expression, timezone, r#type: CronTag };
    let schedule = match CronSchedule::parse(&params) {
        Ok(schedule) => schedule,
        Err(problem) => return Ok(SchedulePreview::Invalid(problem.to_string())),
    };
    let now = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000) as i64;
    let fires = schedule
        .upcoming(now, 5)
        .into_iter()
        .filter_map(|micros| time::OffsetDateTime::from_unix_timestamp_nanos(micros as i128 * 1000).ok())
        .map(crate::format::rfc3339)
        .collect();
    Ok(SchedulePreview::Valid { words: schedule.describe(), fires })
}

/// Creates a deployment (`id` empty) or replaces the fields of an existing one.
#[access(Operator)]
#[server(endpoint = "deployments/save", output = JsonResponse)]
pub async fn save_deployment(id: Option<String>, form: DeploymentForm) -> Result<DeploymentView, AppError> {
    let mut body = form.to_request()?;
    let api = upstream()?;
    let saved: Deployment = match id.filter(|id| !id.is_empty()) {
        None => {
            if body["schedule"].is_null() {
                body.as_object_mut().map(|o| o.remove("schedule"));
            }
            if body["budget"].is_null() {
                body.as_object_mut().map(|o| o.remove("budget"));
            }
            api.post("/v1/deployments", &body).await.map_err(|e| AppError::upstream("Creating the deployment", e))?
        }
        Some(id) => {
            let id = segment(&id)?;
            let current: Value = api
                .get(&format!("/v1/deployments/{id}"), vec![])
                .await
                .map_err(|e| AppError::upstream("Loading the deployment", e))?;
            clear_what_was_removed(&mut body, &current, &["description"]);
            body["initial_events"] = keep_other_events(&current, &form.initial_message, &body["initial_events"][0]);
            body["resources"] = keep_resource_settings(&current, &body["resources"]);
            api.post(&format!("/v1/deployments/{id}"), &body)
                .await
                .map_err(|e| AppError::upstream("Saving the deployment", e))?
        }
    };
    Ok(DeploymentView::of(&saved))
}

/// The initial events an edit saves: the stored ones with the first `user.message` replaced by
/// the form's (`message`), unless its text is unchanged; the events the form does not show
/// (outcomes, further messages, a message's images) are kept as they are.
#[cfg(feature = "ssr")]
fn keep_other_events(current: &Value, text: &str, message: &Value) -> Value {
    let mut events = current["initial_events"].as_array().cloned().unwrap_or_default();
    let first = events.iter().position(|e| e["type"] == "user.message");
    let unchanged = first.is_some_and(|i| {
        let texts: Vec<&str> =
            events[i]["content"].as_array().into_iter().flatten().filter_map(|b| b["text"].as_str()).collect();
        texts.join("\n") == text
    });
    match first {
        Some(_) if unchanged => {}
        Some(i) => events[i] = message.clone(),
        None => events.insert(0, message.clone()),
    }
    Value::Array(events)
}

/// The resources an edit saves: those the form picked, each as stored when it was already there
/// (a memory store keeps its access and instructions, a file its mount path), and the kinds the
/// form does not show (a GitHub repository) kept as they are.
#[cfg(feature = "ssr")]
fn keep_resource_settings(current: &Value, picked: &Value) -> Value {
    let key = |r: &Value| (r["type"].clone(), r["file_id"].clone(), r["memory_store_id"].clone());
    let stored = current["resources"].as_array().cloned().unwrap_or_default();
    let mut kept: Vec<Value> = picked
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| stored.iter().find(|s| key(s) == key(r)).cloned().unwrap_or_else(|| r.clone()))
        .collect();
    kept.extend(stored.into_iter().filter(|s| !matches!(s["type"].as_str(), Some("file" | "memory_store"))));
    Value::Array(kept)
}

/// Run now: the run comes back whether it started a session or recorded why it could not.
#[access(Operator)]
#[server(endpoint = "deployments/run", output = JsonResponse)]
pub async fn run_deployment(id: String) -> Result<RunRow, AppError> {
    let id = segment(&id)?;
    upstream()?
        .post(&format!("/v1/deployments/{id}/run"), &json!({}))
        .await
        .map(|run: DeploymentRun| RunRow::of(&run))
        .map_err(|e| AppError::upstream("Running the deployment", e))
}

/// Pauses (`pause`) or unpauses a deployment's schedule.
#[access(Operator)]
#[server(endpoint = "deployments/pause", output = JsonResponse)]
pub async fn pause_deployment(id: String, pause: bool) -> Result<DeploymentRow, AppError> {
    let id = segment(&id)?;
    let action = if pause { "pause" } else { "unpause" };
    upstream()?
        .post(&format!("/v1/deployments/{id}/{action}"), &json!({}))
        .await
        .map(|d: Deployment| DeploymentRow::of(&d))
        .map_err(|e| AppError::upstream(if pause { "Pausing the deployment" } else { "Unpausing the deployment" }, e))
}

#[access(Admin)]
#[server(endpoint = "deployments/archive", output = JsonResponse)]
pub async fn archive_deployment(id: String) -> Result<DeploymentRow, AppError> {
    let id = segment(&id)?;
    archive(&format!("/v1/deployments/{id}"), "Archiving the deployment", DeploymentRow::of).await
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use serde_json::json;

    use super::keep_other_events;

    fn message(text: &str) -> serde_json::Value {
        json!({ "type": "user.message", "content": [{ "type": "text", "text": text }] })
    }

    #[test]
    fn an_edit_of_the_first_message_keeps_the_events_the_form_does_not_show() {
        let outcome = json!({ "type": "user.define_outcome", "description": "A report", "rubric": { "type": "text", "content": "Complete." } });
        let with_image = json!({ "type": "user.message", "content": [
            { "type": "text", "text": "Summarise this." },
            { "type": "image", "source": { "type": "file", "file_id": "file_1" } },
        ] });
        let current = json!({ "initial_events": [with_image, outcome, message("And then this.")] });

        let edited = keep_other_events(&current, "Summarise that.", &message("Summarise that."));
        assert_eq!(edited, json!([message("Summarise that."), outcome, message("And then this.")]));

        let untouched = keep_other_events(&current, "Summarise this.", &message("Summarise this."));
        assert_eq!(untouched, current["initial_events"], "an unchanged message keeps its image");

        let no_message = json!({ "initial_events": [outcome] });
        assert_eq!(keep_other_events(&no_message, "Go.", &message("Go.")), json!([message("Go."), outcome]));
    }
}
