//! Environments: list, read, create, update, archive, delete.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use macros::access;
use protocol::{common::Page, environments::Environment};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::JsonResponse;
#[cfg(feature = "ssr")]
use super::server::{Kind, archive, clear_what_was_removed, delete, list_archivable, segment, upstream};
use crate::{drafts::environment::EnvironmentForm, error::AppError};

/// One row of the environments list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvironmentRow {
    pub id: String,
    pub name: String,
    /// "limited (3 hosts)", "unrestricted", "self-hosted".
    pub networking: String,
    pub created_at: String,
    pub archived: bool,
    /// Who made it through Switchboard (none: made elsewhere, or before it kept the record).
    #[serde(default)]
    pub created_by: Option<domain::creators::Creator>,
}

/// The environment page's view: the row, the description, the edit form filled in, and the whole
/// environment as pretty-printed JSON. The typed `Environment` stays on the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvironmentView {
    pub row: EnvironmentRow,
    pub description: Option<String>,
    pub form: EnvironmentForm,
    pub json: String,
}

impl EnvironmentRow {
    pub fn of(env: &Environment) -> Self {
        let config = serde_json::to_value(&env.config).unwrap_or_default();
        let networking = match config.get("type").and_then(Value::as_str) {
            Some("self_hosted") => "self-hosted".to_owned(),
            _ => match config.pointer("/networking/type").and_then(Value::as_str) {
                Some("limited") => {
                    let n = config.pointer("/networking/allowed_hosts").and_then(Value::as_array).map_or(0, Vec::len);
                    format!("limited ({n} {})", if n == 1 { "host" } else { "hosts" })
                }
                Some(other) => other.to_owned(),
                None => "unknown".to_owned(),
            },
        };
        Self {
            id: env.id.clone(),
            name: env.name.clone(),
            networking,
            created_at: env.created_at.clone(),
            archived: env.archived_at.is_some(),
            created_by: None,
        }
    }
}

impl EnvironmentView {
    pub fn of(env: &Environment) -> Self {
        let value = serde_json::to_value(env).unwrap_or_default();
        Self {
            row: EnvironmentRow::of(env),
            description: env.description.clone().filter(|d| !d.is_empty()),
            form: EnvironmentForm::from_environment(&value),
            json: serde_json::to_string_pretty(&value).unwrap_or_default(),
        }
    }
}

#[access(Viewer)]
#[server(endpoint = "environments/list", input = GetUrl, output = JsonResponse)]
pub async fn list_environments(
    include_archived: bool,
    page: Option<String>,
    #[server(default)] mine: bool,
) -> Result<Page<EnvironmentRow>, AppError> {
    list_archivable(
        ("/v1/environments", "Listing environments", Kind::Environment),
        (include_archived, mine),
        page,
        EnvironmentRow::of,
    )
    .await
}

made_by!(EnvironmentRow);

#[access(Viewer)]
#[server(endpoint = "environments/get", input = GetUrl, output = JsonResponse)]
pub async fn get_environment(id: String) -> Result<EnvironmentView, AppError> {
    let id = segment(&id)?;
    upstream()?
        .get(&format!("/v1/environments/{id}"), vec![])
        .await
        .map(|env| EnvironmentView::of(&env))
        .map_err(|e| AppError::upstream(&format!("Loading environment {id}"), e))
}

/// Creates an environment (`id` empty) or replaces the fields of an existing one.
#[access(Operator)]
#[server(endpoint = "environments/save", output = JsonResponse)]
pub async fn save_environment(id: Option<String>, form: EnvironmentForm) -> Result<EnvironmentView, AppError> {
    let mut body = form.to_request()?;
    let api = upstream()?;
    let saved: Environment = match id.filter(|id| !id.is_empty()) {
        None => {
            api.post("/v1/environments", &body).await.map_err(|e| AppError::upstream("Creating the environment", e))?
        }
        Some(id) => {
            let id = segment(&id)?;
            let current: Value = api
                .get(&format!("/v1/environments/{id}"), vec![])
                .await
                .map_err(|e| AppError::upstream("Loading the environment", e))?;
            clear_what_was_removed(&mut body, &current, &["description"]);
            api.post(&format!("/v1/environments/{id}"), &body)
                .await
                .map_err(|e| AppError::upstream("Saving the environment", e))?
        }
    };
    Ok(EnvironmentView::of(&saved))
}

#[access(Admin)]
#[server(endpoint = "environments/archive", output = JsonResponse)]
pub async fn archive_environment(id: String) -> Result<EnvironmentRow, AppError> {
    let id = segment(&id)?;
    archive(&format!("/v1/environments/{id}"), "Archiving the environment", EnvironmentRow::of).await
}

#[access(Admin)]
#[server(endpoint = "environments/delete", output = JsonResponse)]
pub async fn delete_environment(id: String) -> Result<(), AppError> {
    let id = segment(&id)?;
    delete(&format!("/v1/environments/{id}"), "Deleting the environment").await
}
