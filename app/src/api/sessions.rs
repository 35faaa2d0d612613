//! Sessions: list with filters, read, create, archive, delete, file mounts, and the event log
//! (read-only here; the live view streams it).

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use macros::access;
use protocol::events::types;
use protocol::{common::Page, sessions::Session};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[cfg(feature = "ssr")]
use super::MAX_CHOICES;
#[cfg(feature = "ssr")]
use super::server::{archive, delete, paging, segment, upstream, walk};
use super::{Choice, JsonResponse};
use crate::error::AppError;

/// One row of the sessions list: what the list shows, not the whole session (whose agent
/// definition would make a page of 100 heavy to render and to ship for hydration).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRow {
    pub id: String,
    pub title: Option<String>,
    pub status: String,
    pub agent_id: String,
    pub agent_name: String,
    pub agent_version: u64,
    pub created_at: String,
    pub archived: bool,
    /// Input, output and cache-read tokens.
    pub tokens: u64,
    /// The list cost, formatted; `None` until the API reports one.
    pub cost: Option<String>,
    /// Where the session's latest outcome stands (`running`, `needs_revision`, `satisfied`, …)
    /// and at which iteration (0-based); `None` without an outcome.
    #[serde(default)]
    pub outcome: Option<(String, u64)>,
    /// Who started it through Switchboard (none: started elsewhere, by a deployment's schedule,
    /// or before Switchboard kept the record).
    #[serde(default)]
    pub created_by: Option<domain::creators::Creator>,
}

impl SessionRow {
    /// A session's input, output and cache-read tokens, as its row counts them.
    pub fn tokens_of(u: &protocol::usage::SessionUsage) -> u64 {
        u.input_tokens.unwrap_or(0) + u.output_tokens.unwrap_or(0) + u.cache_read_input_tokens.unwrap_or(0)
    }

    pub fn of(s: &Session) -> Self {
        let u = &s.usage;
        Self {
            id: s.id.clone(),
            title: s.title.clone().filter(|t| !t.is_empty()),
            status: s.status.as_str().to_owned(),
            agent_id: s.agent.id.clone(),
            agent_name: s.agent.name.clone(),
            agent_version: s.agent.version,
            created_at: s.created_at.clone(),
            archived: s.archived_at.is_some(),
            tokens: Self::tokens_of(u),
            cost: u.list_cost.as_ref().map(crate::format::list_cost),
            outcome: s.outcome_evaluations.last().map(|e| (e.result.clone(), e.iteration)),
            created_by: None,
        }
    }
}

/// The session page's view of a session: its row in the list plus what the page's facts and
/// mounts show. The whole session (with its copy of the agent's definition) stays on the server,
/// and its decoder out of the browser's bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionView {
    pub row: SessionRow,
    pub environment_id: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// The budget's ceiling at list price, formatted; `None` without a budget.
    pub budget: Option<String>,
    pub vault_ids: Vec<String>,
    pub resources: Vec<Mount>,
}

/// A resource mounted into a session's container.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mount {
    /// Empty for a memory store: the API gives it no id, and it cannot be removed by one.
    pub id: String,
    /// `file`, `github_repository`, `memory_store`, or a type this version does not know.
    pub r#type: String,
    pub file_id: Option<String>,
    /// What is mounted when it is not a file: the memory store's name (or id), the repository's
    /// URL.
    pub source: Option<String>,
    pub mount_path: Option<String>,
    /// A repository's checkout: `branch main`, `commit 3f2a9c1d0e4b`; `None`: its default branch
    /// (or not a repository).
    #[serde(default)]
    pub checkout: Option<String>,
}

impl SessionView {
    pub fn of(s: &Session) -> Self {
        let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
        let resources = serde_json::to_value(&s.resources).unwrap_or_default();
        Self {
            row: SessionRow::of(s),
            environment_id: s.environment_id.clone(),
            input_tokens: s.usage.input_tokens.unwrap_or(0),
            output_tokens: s.usage.output_tokens.unwrap_or(0),
            budget: s.budget.as_ref().map(|b| format!("{} (list price)", crate::format::list_cost(&b.max_list_cost))),
            vault_ids: s.vault_ids.clone(),
            resources: resources
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| Mount {
                    id: text(r, "id").unwrap_or_default(),
                    r#type: text(r, "type").unwrap_or_default(),
                    file_id: text(r, "file_id"),
                    source: text(r, "name").or_else(|| text(r, "memory_store_id")).or_else(|| text(r, "url")),
                    mount_path: text(r, "mount_path"),
                    checkout: match (
                        text(&r["checkout"], "type").as_deref(),
                        text(&r["checkout"], "name"),
                        text(&r["checkout"], "sha"),
                    ) {
                        (Some("branch"), Some(name), _) => Some(format!("branch {name}")),
                        (Some("commit"), _, Some(sha)) => Some(format!("commit {}", sha.get(..12).unwrap_or(&sha))),
                        _ => None,
                    },
                })
                .collect(),
        }
    }
}

/// What the new-session form offers: the agents and environments to choose from, and the files,
/// vaults and memory stores that can be attached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionChoices {
    pub agents: Vec<Choice>,
    /// For each agent whose model is deprecated or retiring: what to tell the person starting a
    /// session with it.
    pub model_warnings: Vec<String>,
    pub environments: Vec<Choice>,
    pub files: Vec<Choice>,
    pub vaults: Vec<Choice>,
    pub memory_stores: Vec<Choice>,
}

/// Every live agent, environment, vault and memory store (up to [`MAX_CHOICES`] each) and the
/// newest 100 files. Agents and environments must load; a failed list of the others only
/// leaves its picker empty.
#[access(Viewer)]
#[server(endpoint = "sessions/choices", input = GetUrl, output = JsonResponse)]
pub async fn list_session_choices() -> Result<SessionChoices, AppError> {
    use super::server::Listed;

    let live = || vec![("include_archived".to_owned(), "false".to_owned())];
    let (agents, environments, files, vaults, stores, models) = futures::join!(
        walk::<Listed>("/v1/agents", "Listing agents", live(), MAX_CHOICES),
        walk::<Listed>("/v1/environments", "Listing environments", live(), MAX_CHOICES),
        walk::<Listed>("/v1/files", "Listing files", vec![], 100),
        walk::<Listed>("/v1/vaults", "Listing vaults", live(), MAX_CHOICES),
        walk::<Listed>("/v1/memory_stores", "Listing memory stores", live(), MAX_CHOICES),
        super::models::list_models(),
    );
    let named = |items: Vec<Listed>| items.into_iter().map(|l| Choice { id: l.id, label: l.name }).collect();
    // Without the model list there is nothing to warn of; the session starts as it would.
    let models = models.unwrap_or_default();
    let mut model_warnings = Vec::new();
    let agents = agents?
        .into_iter()
        .map(|a| {
            let model = a.model.as_ref().and_then(|m| m["id"].as_str().or(m.as_str())).unwrap_or_default();
            let mut label = format!("{} (latest: v{})", a.name, a.version.unwrap_or(0));
            if let Some(warning) = super::models::find(&models, model).and_then(super::models::ModelChoice::warning) {
                label.push_str(&format!(" — its model is {warning}"));
                model_warnings.push(format!("{} uses {model}, which is {warning}.", a.name));
            }
            Choice { label, id: a.id }
        })
        .collect();
    Ok(SessionChoices {
        agents,
        model_warnings,
        environments: named(environments?),
        files: named(files.unwrap_or_default()),
        vaults: named(vaults.unwrap_or_default()),
        memory_stores: named(stores.unwrap_or_default()),
    })
}

/// Sessions, newest first, 100 a page. Every filter is optional; `mine` keeps those the person
/// asking started through Switchboard (25 of their records a page, the other filters applied to
/// them).
#[access(Viewer)]
#[server(endpoint = "sessions/list", input = GetUrl, output = JsonResponse)]
pub async fn list_sessions(
    status: Option<String>,
    agent_id: Option<String>,
    since: Option<String>,
    include_archived: Option<bool>,
    page: Option<String>,
    #[server(default)] mine: bool,
) -> Result<Page<SessionRow>, AppError> {
    let since = since.filter(|s| !s.is_empty()).map(|since| day_start(&since)).transpose()?;
    let include_archived = include_archived.unwrap_or(false);
    let status = status.filter(|s| !s.is_empty()).map(checked_status).transpose()?;
    let agent = agent_id.filter(|s| !s.is_empty()).map(|agent| segment(&agent)).transpose()?;
    if mine {
        let read = ("/v1/sessions", "Listing your sessions", super::server::Kind::Session);
        let mut page =
            super::server::list_mine(read, include_archived, page, 25, |s: &Session| SessionRow::of(s)).await?;
        page.data.retain(|row| {
            status.as_ref().is_none_or(|s| row.status == *s)
                && agent.as_ref().is_none_or(|a| row.agent_id == *a)
                && since.as_ref().is_none_or(|since| row.created_at.as_str() >= since.as_str())
        });
        return Ok(page);
    }
    let mut query = paging(100, page);
    if let Some(since) = since {
        query.push(("created_at[gte]".into(), since));
    }
    query.push(("include_archived".into(), include_archived.to_string()));
    if let Some(status) = status {
        query.push(("statuses[]".into(), status));
    }
    if let Some(agent) = agent {
        query.push(("agent_id".into(), agent));
    }
    let page: Page<Session> =
        upstream()?.get("/v1/sessions", query).await.map_err(|e| AppError::upstream("Listing sessions", e))?;
    super::server::with_makers(page.map(|item| SessionRow::of(&item))).await
}

/// `status` when it is a session status the API knows.
#[cfg(feature = "ssr")]
fn checked_status(status: String) -> Result<String, AppError> {
    use protocol::sessions::SessionStatus;
    if let SessionStatus::Other(_) = SessionStatus::named(&status) {
        let known: Vec<&str> = SessionStatus::KNOWN.iter().map(SessionStatus::as_str).collect();
        return Err(AppError::bad_input(
            "status",
            format!("{status:?} is not a session status; choose one of {}.", known.join(", ")),
        ));
    }
    Ok(status)
}

made_by!(SessionRow);

/// The start (UTC) of `day`, a date as `YYYY-MM-DD` (what a date field sends), as RFC 3339.
#[cfg(feature = "ssr")]
fn day_start(day: &str) -> Result<String, AppError> {
    // time's own parser: each part its full width (`[year]` four digits here), nothing after.
    let format = time::format_description::parse("[year]-[month]-[day]").expect("a valid description");
    let parsed = time::Date::parse(day, &format).ok();
    let date = parsed.ok_or_else(|| {
        AppError::bad_input("since", format!("{day:?} is not a date: write it as YYYY-MM-DD, e.g. 2026-11-01."))
    })?;
    Ok(crate::format::rfc3339(date.midnight().assume_utc()))
}

#[access(Viewer)]
#[server(endpoint = "sessions/get", input = GetUrl, output = JsonResponse)]
pub async fn get_session(id: String) -> Result<SessionView, AppError> {
    let id = segment(&id)?;
    let session: Session = upstream()?
        .get(&format!("/v1/sessions/{id}"), vec![])
        .await
        .map_err(|e| AppError::upstream(&format!("Loading session {id}"), e))?;
    let mut view = SessionView::of(&session);
    view.row.created_by = super::server::creators()?.0.of(vec![id.clone()]).await?.remove(&id);
    Ok(view)
}

/// One page of a session's events, oldest first. Events stay raw JSON so that a type this
/// version does not know is still shown.
#[access(Viewer)]
#[server(endpoint = "sessions/events", input = GetUrl, output = JsonResponse)]
pub async fn list_session_events(id: String, page: Option<String>) -> Result<Page<Value>, AppError> {
    let id = segment(&id)?;
    let mut query = paging(100, page);
    query.push(("order".into(), "asc".into()));
    upstream()?
        .get(&format!("/v1/sessions/{id}/events"), query)
        .await
        .map_err(|e| AppError::upstream("Listing the session's events", e))
}

/// The new-session form. Its `Debug` leaves the repository's token out.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionForm {
    pub agent_id: String,
    /// Empty: the agent's latest version, pinned at creation.
    #[serde(default)]
    pub agent_version: String,
    pub environment_id: String,
    #[serde(default)]
    pub title: String,
    /// Picked files, vaults and memory stores (checkboxes send one value each).
    #[serde(default)]
    pub file_ids: Vec<String>,
    #[serde(default)]
    pub vault_ids: Vec<String>,
    #[serde(default)]
    pub memory_store_ids: Vec<String>,
    /// A GitHub repository to check out: its URL (empty: none), …
    #[serde(default)]
    pub repository_url: String,
    /// …a branch, or a commit's full sha (empty: the default branch), …
    #[serde(default)]
    pub repository_ref: String,
    /// …where it is mounted (empty: `/workspace/<repository>`), …
    #[serde(default)]
    pub repository_mount_path: String,
    /// …and its token, write-only (sent once to the API, never shown or kept by Switchboard).
    #[serde(default)]
    pub repository_token: String,
    #[serde(default)]
    pub initial_message: String,
    /// US dollars; empty for no budget.
    #[serde(default)]
    pub budget_usd: String,
    /// What the agent should produce; empty for no outcome.
    #[serde(default)]
    pub outcome_description: String,
    /// The outcome's rubric as text, or…
    #[serde(default)]
    pub outcome_rubric: String,
    /// …the id of an uploaded file that holds it.
    #[serde(default)]
    pub outcome_rubric_file_id: String,
    /// Empty: the API's default (3).
    #[serde(default)]
    pub outcome_max_iterations: String,
}

/// Prints everything but the repository's token, so a logged request never holds one.
impl std::fmt::Debug for SessionForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionForm")
            .field("agent_id", &self.agent_id)
            .field("agent_version", &self.agent_version)
            .field("environment_id", &self.environment_id)
            .field("title", &self.title)
            .field("file_ids", &self.file_ids)
            .field("vault_ids", &self.vault_ids)
            .field("memory_store_ids", &self.memory_store_ids)
            .field("repository_url", &self.repository_url)
            .field("repository_ref", &self.repository_ref)
            .field("repository_mount_path", &self.repository_mount_path)
            .field("repository_token", &if self.repository_token.is_empty() { "" } else { "[redacted]" })
            .field("initial_message", &self.initial_message)
            .field("budget_usd", &self.budget_usd)
            .field("outcome_description", &self.outcome_description)
            .field("outcome_rubric", &self.outcome_rubric)
            .field("outcome_rubric_file_id", &self.outcome_rubric_file_id)
            .field("outcome_max_iterations", &self.outcome_max_iterations)
            .finish()
    }
}

impl SessionForm {
    /// The body of `POST /v1/sessions`.
    pub fn to_request(&self) -> Result<Value, AppError> {
        use serde_json::json;
        if self.agent_id.trim().is_empty() {
            return Err(AppError::bad_input("agent_id", "Choose the agent the session runs."));
        }
        if self.environment_id.trim().is_empty() {
            return Err(AppError::bad_input("environment_id", "Choose the environment the session runs in."));
        }
        let agent = crate::drafts::agent_reference(&self.agent_id, &self.agent_version, "agent_version")?;
        let mut body = json!({ "agent": agent, "environment_id": self.environment_id.trim() });
        if !self.title.trim().is_empty() {
            body["title"] = json!(self.title.trim());
        }
        let mut resources = crate::drafts::picked_resources(&self.file_ids, &self.memory_store_ids);
        resources.extend(self.repository()?);
        if !resources.is_empty() {
            body["resources"] = Value::Array(resources);
        }
        if !self.vault_ids.is_empty() {
            body["vault_ids"] = json!(self.vault_ids);
        }
        let mut initial = Vec::new();
        if !self.initial_message.trim().is_empty() {
            initial.push(
                json!({ "type": types::USER_MESSAGE, "content": [{ "type": "text", "text": self.initial_message }] }),
            );
        }
        if let Some(outcome) = self.outcome()? {
            initial.push(outcome);
        }
        if !initial.is_empty() {
            body["initial_events"] = json!(initial);
        }
        if let Some(budget) = crate::drafts::budget_from_dollars(&self.budget_usd, "budget_usd")? {
            body["budget"] = budget;
        }
        Ok(body)
    }

    /// The `github_repository` resource the form asks for, if any: a ref of 40 or 64 hexadecimal
    /// digits is a commit, anything else a branch.
    fn repository(&self) -> Result<Option<Value>, AppError> {
        use serde_json::json;
        let url = self.repository_url.trim();
        let (reference, mount_path) = (self.repository_ref.trim(), self.repository_mount_path.trim());
        if url.is_empty() {
            if !reference.is_empty() || !mount_path.is_empty() || !self.repository_token.trim().is_empty() {
                return Err(AppError::bad_input(
                    "repository_url",
                    "Give the repository's URL (https://github.com/<owner>/<repository>), or clear its other fields.",
                ));
            }
            return Ok(None);
        }
        if !url.starts_with("https://") && !url.starts_with("http://") {
            return Err(AppError::bad_input(
                "repository_url",
                "The repository's URL starts with https://, e.g. https://github.com/acme/app.",
            ));
        }
        let mut resource = json!({ "type": "github_repository", "url": url });
        if !reference.is_empty() {
            let is_commit = matches!(reference.len(), 40 | 64) && reference.chars().all(|c| c.is_ascii_hexdigit());
            resource["checkout"] = if is_commit {
                json!({ "type": "commit", "sha": reference })
            } else {
                json!({ "type": "branch", "name": reference })
            };
        }
        if !mount_path.is_empty() {
            resource["mount_path"] = json!(mount_path);
        }
        if !self.repository_token.trim().is_empty() {
            resource["authorization_token"] = json!(self.repository_token.trim());
        }
        Ok(Some(resource))
    }

    /// The `user.define_outcome` the form asks for, if any.
    fn outcome(&self) -> Result<Option<Value>, AppError> {
        OutcomeForm {
            description: self.outcome_description.clone(),
            rubric: self.outcome_rubric.clone(),
            rubric_file_id: self.outcome_rubric_file_id.clone(),
            max_iterations: self.outcome_max_iterations.clone(),
        }
        .event()
    }
}

/// An outcome as a person writes it: in the new-session form (fields `outcome_…`) or in the live
/// view. Errors name the new-session form's fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OutcomeForm {
    /// What the agent should produce; empty for no outcome.
    #[serde(default)]
    pub description: String,
    /// The rubric as text, or…
    #[serde(default)]
    pub rubric: String,
    /// …the id of an uploaded file that holds it.
    #[serde(default)]
    pub rubric_file_id: String,
    /// Empty: the API's default (3).
    #[serde(default)]
    pub max_iterations: String,
}

impl OutcomeForm {
    /// The `user.define_outcome` event it asks for; `None` when it is empty.
    pub fn event(&self) -> Result<Option<Value>, AppError> {
        use serde_json::json;
        let (description, rubric, file) = (self.description.trim(), self.rubric.trim(), self.rubric_file_id.trim());
        if description.is_empty() {
            if !rubric.is_empty() || !file.is_empty() {
                return Err(AppError::bad_input(
                    "outcome_description",
                    "Say what the agent should produce, or clear the rubric.",
                ));
            }
            return Ok(None);
        }
        let rubric = match (rubric.is_empty(), file.is_empty()) {
            (false, true) => json!({ "type": "text", "content": self.rubric }),
            (true, false) => json!({ "type": "file", "file_id": file }),
            (true, true) => {
                return Err(AppError::bad_input(
                    "outcome_rubric",
                    "Give the outcome a rubric: write it, or name an uploaded file that holds it.",
                ));
            }
            (false, false) => {
                return Err(AppError::bad_input(
                    "outcome_rubric",
                    "Give the rubric once: as text or as a file, not both.",
                ));
            }
        };
        let mut outcome = json!({ "type": types::USER_DEFINE_OUTCOME, "description": description, "rubric": rubric });
        let iterations = self.max_iterations.trim();
        if !iterations.is_empty() {
            match iterations.parse::<u32>() {
                Ok(n) if (1..=20).contains(&n) => outcome["max_iterations"] = json!(n),
                _ => {
                    return Err(AppError::bad_input(
                        "outcome_max_iterations",
                        format!("{iterations:?}: give a number of iterations from 1 to 20."),
                    ));
                }
            }
        }
        Ok(Some(outcome))
    }
}

#[access(Operator)]
#[server(endpoint = "sessions/create", output = JsonResponse)]
pub async fn create_session(form: SessionForm) -> Result<SessionView, AppError> {
    let body = form.to_request()?;
    let session = upstream()?
        .post("/v1/sessions", &body)
        .await
        .map(|s| SessionView::of(&s))
        .map_err(|e| AppError::upstream("Starting the session", e))?;
    if !form.initial_message.trim().is_empty()
        && let Ok(by) = crate::auth::store::signed_in()
    {
        crate::approvals::approvals()?.0.sent(by, session.row.id.clone(), None).await;
    }
    Ok(session)
}

/// Raises, lowers or (with nothing typed) removes a session's budget. The API refuses a budget
/// at or below what the session already spent (`budget_not_raised`), and a budget on a session
/// created without one (`budget_create_only`); either is said in place.
#[access(Operator)]
#[server(endpoint = "sessions/budget", output = JsonResponse)]
pub async fn set_session_budget(session_id: String, budget_usd: String) -> Result<SessionView, AppError> {
    let id = segment(&session_id)?;
    let budget = crate::drafts::budget_from_dollars(&budget_usd, "budget_usd")?;
    upstream()?
        .post(&format!("/v1/sessions/{id}"), &serde_json::json!({ "budget": budget }))
        .await
        .map(|s| SessionView::of(&s))
        .map_err(|e| AppError::upstream("Changing the budget", e))
}

#[access(Admin)]
#[server(endpoint = "sessions/archive", output = JsonResponse)]
pub async fn archive_session(id: String) -> Result<SessionRow, AppError> {
    let id = segment(&id)?;
    archive(&format!("/v1/sessions/{id}"), "Archiving the session", SessionRow::of).await
}

#[access(Admin)]
#[server(endpoint = "sessions/delete", output = JsonResponse)]
pub async fn delete_session(id: String) -> Result<(), AppError> {
    let id = segment(&id)?;
    delete(&format!("/v1/sessions/{id}"), "Deleting the session").await
}

#[access(Operator)]
#[server(endpoint = "sessions/mount", output = JsonResponse)]
pub async fn mount_file(session_id: String, file_id: String, mount_path: String) -> Result<(), AppError> {
    let id = segment(&session_id)?;
    if file_id.trim().is_empty() {
        return Err(AppError::bad_input("file_id", "Paste the id of an uploaded file (file_…)."));
    }
    let mut body = serde_json::json!({ "type": "file", "file_id": file_id.trim() });
    if !mount_path.trim().is_empty() {
        body["mount_path"] = serde_json::json!(mount_path.trim());
    }
    upstream()?
        .post::<Value>(&format!("/v1/sessions/{id}/resources"), &body)
        .await
        .map(|_| ())
        .map_err(|e| AppError::upstream("Mounting the file", e))
}

#[access(Operator)]
#[server(endpoint = "sessions/unmount", output = JsonResponse)]
pub async fn remove_resource(session_id: String, resource_id: String) -> Result<(), AppError> {
    let (id, resource) = (segment(&session_id)?, segment(&resource_id)?);
    delete(&format!("/v1/sessions/{id}/resources/{resource}"), "Removing the resource").await
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[cfg(feature = "ssr")]
    #[test]
    fn a_date_filter_is_the_start_of_that_day_in_utc_or_a_clear_error() {
        assert_eq!(day_start("2026-11-01").unwrap(), "2026-11-01T00:00:00Z");
        assert_eq!(day_start("2024-02-29").unwrap(), "2024-02-29T00:00:00Z");
        for bad in ["2026-02-30", "2026-13-01", "26-11-01", "2026-11-1", "2026-11-01T00:00:00Z", "yesterday", ""] {
            let error = day_start(bad).unwrap_err();
            assert_eq!(error.field.as_deref(), Some("since"), "{bad}");
            assert!(error.message.contains("write it as YYYY-MM-DD"), "{bad}: {}", error.message);
        }
    }

    #[test]
    fn a_sessions_resources_say_what_each_is_and_only_those_with_an_id_can_be_removed() {
        let session: protocol::sessions::Session =
            serde_json::from_str(include_str!("../../../protocol/fixtures/objects/session/full.json")).unwrap();
        let view = SessionView::of(&session);
        let shown: Vec<(&str, bool, Option<&str>)> =
            view.resources.iter().map(|r| (r.r#type.as_str(), r.id.is_empty(), r.source.as_deref())).collect();
        assert_eq!(
            shown,
            [
                ("file", false, None),
                ("github_repository", false, Some("https://github.com/acme/billing-service")),
                ("memory_store", true, Some("User preferences")),
            ]
        );
        assert_eq!(view.resources[1].checkout.as_deref(), Some("branch release/2026.05"));
    }

    #[test]
    fn a_repository_is_attached_with_a_branch_or_a_commit_and_its_token() {
        let sha = "0123456789abcdef0123456789abcdef01234567";
        let with = |reference: &str| SessionForm {
            repository_url: " https://github.com/acme/app ".into(),
            repository_ref: reference.into(),
            repository_token: "ghp_secret".into(),
            file_ids: vec!["file_1".into()],
            ..form()
        };
        let body = with("release/1.x").to_request().unwrap();
        assert_eq!(
            body["resources"],
            json!([{ "type": "file", "file_id": "file_1" },
                   { "type": "github_repository", "url": "https://github.com/acme/app",
                     "checkout": { "type": "branch", "name": "release/1.x" }, "authorization_token": "ghp_secret" }])
        );
        assert_eq!(
            with(sha).to_request().unwrap()["resources"][1]["checkout"],
            json!({ "type": "commit", "sha": sha })
        );
        assert!(with("").to_request().unwrap()["resources"][1].get("checkout").is_none(), "the default branch");
        let mounted = SessionForm {
            repository_url: "https://github.com/acme/app".into(),
            repository_mount_path: "/src".into(),
            ..form()
        };
        assert_eq!(mounted.to_request().unwrap()["resources"][0]["mount_path"], "/src");
        for bad in [
            SessionForm { repository_token: "ghp_secret".into(), ..form() },
            SessionForm { repository_url: "github.com/acme/app".into(), ..form() },
        ] {
            let error = bad.to_request().unwrap_err();
            assert_eq!(error.field.as_deref(), Some("repository_url"));
            assert!(!error.message.contains("ghp_secret"), "{error:?}");
        }
        assert!(!format!("{:?}", with("main")).contains("ghp_secret"), "a logged form holds no token");
    }

    fn form() -> SessionForm {
        SessionForm { agent_id: "agent_1".into(), environment_id: "env_1".into(), ..SessionForm::default() }
    }

    #[test]
    fn an_outcome_in_the_form_becomes_an_initial_event_after_the_first_message() {
        let with_outcome = SessionForm {
            initial_message: "Here is the bug list.".into(),
            outcome_description: "A one-page summary".into(),
            outcome_rubric: "- one page".into(),
            outcome_max_iterations: "5".into(),
            ..form()
        };
        let body = with_outcome.to_request().unwrap();
        let events = body["initial_events"].as_array().unwrap();
        assert_eq!(events[0]["type"], types::USER_MESSAGE);
        assert_eq!(
            events[1],
            json!({ "type": types::USER_DEFINE_OUTCOME, "description": "A one-page summary",
                    "rubric": { "type": "text", "content": "- one page" }, "max_iterations": 5 })
        );
        let from_file =
            SessionForm { outcome_description: "A summary".into(), outcome_rubric_file_id: "file_9".into(), ..form() };
        assert_eq!(
            from_file.to_request().unwrap()["initial_events"][0]["rubric"],
            json!({ "type": "file", "file_id": "file_9" })
        );
        assert!(form().to_request().unwrap().get("initial_events").is_none());
    }

    #[test]
    fn an_outcome_without_a_rubric_or_with_two_or_too_many_iterations_is_refused() {
        let cases = [
            SessionForm { outcome_description: "x".into(), ..form() },
            SessionForm {
                outcome_description: "x".into(),
                outcome_rubric: "r".into(),
                outcome_rubric_file_id: "file_1".into(),
                ..form()
            },
            SessionForm {
                outcome_description: "x".into(),
                outcome_rubric: "r".into(),
                outcome_max_iterations: "21".into(),
                ..form()
            },
            SessionForm { outcome_rubric: "a rubric without an outcome".into(), ..form() },
        ];
        for case in cases {
            let error = case.to_request().unwrap_err();
            assert_eq!(error.kind, crate::error::ErrorKind::BadInput, "{error:?}");
        }
    }
}
