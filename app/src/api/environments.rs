//! Environments: list, read, create, update, archive, delete.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use protocol::environments::{Environment, EnvironmentPage};

use super::JsonResponse;
#[cfg(feature = "ssr")]
use super::server::{paging, respond, segment, upstream};
use crate::{drafts::environment::EnvironmentForm, error::AppError};

#[server(endpoint = "environments/list", input = GetUrl, output = JsonResponse)]
pub async fn list_environments(include_archived: bool, page: Option<String>) -> Result<EnvironmentPage, AppError> {
    respond(async {
        let mut query = paging(20, page);
        query.push(("include_archived".into(), include_archived.to_string()));
        upstream()?.get("/v1/environments", query).await.map_err(|e| AppError::upstream("Listing environments", e))
    })
    .await
}

#[server(endpoint = "environments/get", input = GetUrl, output = JsonResponse)]
pub async fn get_environment(id: String) -> Result<Environment, AppError> {
    respond(async {
        let id = segment(&id)?;
        upstream()?
            .get(&format!("/v1/environments/{id}"), vec![])
            .await
            .map_err(|e| AppError::upstream(&format!("Loading environment {id}"), e))
    })
    .await
}

/// Creates an environment (`id` empty) or replaces the fields of an existing one.
#[server(endpoint = "environments/save", output = JsonResponse)]
pub async fn save_environment(id: Option<String>, form: EnvironmentForm) -> Result<Environment, AppError> {
    respond(async move {
        let mut body = form.to_request()?;
        let api = upstream()?;
        match id.filter(|id| !id.is_empty()) {
            None => {
                api.post("/v1/environments", &body).await.map_err(|e| AppError::upstream("Creating the environment", e))
            }
            Some(id) => {
                let id = segment(&id)?;
                // Metadata on update is a patch: keys the form no longer has are deleted.
                let current: Environment = api
                    .get(&format!("/v1/environments/{id}"), vec![])
                    .await
                    .map_err(|e| AppError::upstream("Loading the environment", e))?;
                let mut patch = body["metadata"].as_object().cloned().unwrap_or_default();
                for key in current.metadata.keys() {
                    patch.entry(key.clone()).or_insert(serde_json::Value::Null);
                }
                body["metadata"] = serde_json::Value::Object(patch);
                if body.get("description").is_none() {
                    body["description"] = serde_json::Value::Null;
                }
                api.post(&format!("/v1/environments/{id}"), &body)
                    .await
                    .map_err(|e| AppError::upstream("Saving the environment", e))
            }
        }
    })
    .await
}

#[server(endpoint = "environments/archive", output = JsonResponse)]
pub async fn archive_environment(id: String) -> Result<Environment, AppError> {
    respond(async move {
        let id = segment(&id)?;
        upstream()?
            .post(&format!("/v1/environments/{id}/archive"), &serde_json::json!({}))
            .await
            .map_err(|e| AppError::upstream("Archiving the environment", e))
    })
    .await
}

#[server(endpoint = "environments/delete", output = JsonResponse)]
pub async fn delete_environment(id: String) -> Result<(), AppError> {
    respond(async move {
        let id = segment(&id)?;
        upstream()?
            .delete::<serde_json::Value>(&format!("/v1/environments/{id}"))
            .await
            .map(|_| ())
            .map_err(|e| AppError::upstream("Deleting the environment", e))
    })
    .await
}
