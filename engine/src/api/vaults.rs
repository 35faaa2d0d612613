//! `/v1/vaults` (create, retrieve, update, list, archive, delete) and their credentials
//! (`/v1/vaults/{id}/credentials`: the same, and `mcp_oauth_validate`). The checks, and what
//! keeps secrets out of every answer, live in [`crate::domain::vaults`].

use std::sync::Arc;

use axum::{
    Json,
    extract::{Path, State},
};
use protocol::vaults::{CredentialCreate, CredentialUpdate, VaultCreate, VaultUpdate};
use serde_json::{Value, json};

use super::{ApiJson, Params};
use crate::{
    EngineState,
    error::{ApiError, ApiResult},
    store::Order,
};

// --- vaults --------------------------------------------------------------------------------------

pub async fn create(
    State(engine): State<Arc<EngineState>>,
    ApiJson(body): ApiJson<VaultCreate>,
) -> ApiResult<Json<Value>> {
    Ok(Json(engine.create_vault(body).await?))
}

pub async fn retrieve(State(engine): State<Arc<EngineState>>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(engine.vault(&id).await?))
}

pub async fn update(
    State(engine): State<Arc<EngineState>>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<VaultUpdate>,
) -> ApiResult<Json<Value>> {
    Ok(Json(engine.update_vault(&id, body).await?))
}

pub async fn list(State(engine): State<Arc<EngineState>>, params: Params) -> ApiResult<Json<Value>> {
    let include_archived = params.bool("include_archived")?;
    let paging = params.paging(Order::Desc, 20, 100)?;
    Ok(Json(engine.list_vaults(include_archived, paging).await?))
}

/// Archives a vault (again: no change) with its credentials, as the API does; no credential can
/// be added to or changed in an archived vault.
pub async fn archive(State(engine): State<Arc<EngineState>>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(engine.archive_vault(&id).await?))
}

/// Deletes a vault with every credential in it.
pub async fn delete(State(engine): State<Arc<EngineState>>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    engine.delete_vault(&id).await?;
    Ok(Json(json!({ "id": id, "type": "vault_deleted" })))
}

// --- credentials ---------------------------------------------------------------------------------

pub async fn create_credential(
    State(engine): State<Arc<EngineState>>,
    Path(vault_id): Path<String>,
    ApiJson(body): ApiJson<CredentialCreate>,
) -> ApiResult<Json<Value>> {
    Ok(Json(engine.create_credential(&vault_id, body).await?))
}

pub async fn retrieve_credential(
    State(engine): State<Arc<EngineState>>,
    Path((vault_id, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    Ok(Json(engine.credential(&vault_id, &id).await?))
}

/// Updates a credential. The body is read as JSON first, so that an attempt to change an
/// immutable field (`mcp_server_url`, `refresh.client_id`, `secret_name`), which the update
/// types do not carry, is refused instead of silently ignored.
pub async fn update_credential(
    State(engine): State<Arc<EngineState>>,
    Path((vault_id, id)): Path<(String, String)>,
    ApiJson(raw): ApiJson<Value>,
) -> ApiResult<Json<Value>> {
    let body: CredentialUpdate = serde_json::from_value(raw.clone())
        .map_err(|error| ApiError::invalid(format!("The request body is not valid: {error}.")))?;
    Ok(Json(engine.update_credential(&vault_id, &id, body, &raw["auth"]).await?))
}

pub async fn list_credentials(
    State(engine): State<Arc<EngineState>>,
    Path(vault_id): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    engine.vault(&vault_id).await?;
    let include_archived = params.bool("include_archived")?;
    let paging = params.paging(Order::Desc, 20, 100)?;
    Ok(Json(engine.list_credentials(&vault_id, include_archived, paging).await?))
}

/// Archives a credential (again: no change) and forgets its secrets.
pub async fn archive_credential(
    State(engine): State<Arc<EngineState>>,
    Path((vault_id, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    Ok(Json(engine.archive_credential(&vault_id, &id).await?))
}

pub async fn delete_credential(
    State(engine): State<Arc<EngineState>>,
    Path((vault_id, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    engine.delete_credential(&vault_id, &id).await?;
    Ok(Json(json!({ "id": id, "type": "vault_credential_deleted" })))
}

/// `mcp_oauth_validate`: answers with status `unknown`, as the engine cannot probe
/// ([`EngineState::validate_credential`]).
pub async fn validate_credential(
    State(engine): State<Arc<EngineState>>,
    Path((vault_id, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    Ok(Json(engine.validate_credential(&vault_id, &id).await?))
}
