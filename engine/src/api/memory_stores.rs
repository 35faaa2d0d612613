//! `/v1/memory_stores` (create, retrieve, update, list, archive, delete), their memories
//! (`…/memories`: create, retrieve, update, list, delete) and the history of every change
//! (`…/memory_versions`: list, retrieve, redact). The rules live in `domain::memory`.

use std::sync::Arc;

use axum::{
    Json,
    extract::{Path, State},
};
use protocol::memory::{MemoryCreate, MemoryStoreCreate, MemoryStoreUpdate, MemoryUpdate};
use serde_json::{Value, json};

use super::{ApiJson, Params};
use crate::{
    EngineState,
    domain::memory::{Actor, MemoryChange, MemoryListing, Seek, VersionFilters, check_prefix},
    error::{ApiError, ApiResult},
    ids::{new_id, now},
    resolve,
    store::Order,
};

/// Longest store name and description.
const MAX_NAME: usize = 255;
const MAX_DESCRIPTION: usize = 1024;
/// Most items of a page with `view=full`.
const MAX_FULL_PAGE: i64 = 20;

// --- stores --------------------------------------------------------------------------------------

pub async fn create(
    State(engine): State<Arc<EngineState>>,
    ApiJson(body): ApiJson<MemoryStoreCreate>,
) -> ApiResult<Json<Value>> {
    check_name(&body.name)?;
    let description = body.description.unwrap_or_default();
    check_description(&description)?;
    let metadata = body.metadata.unwrap_or_default();
    resolve::metadata(&metadata)?;
    let at = now();
    let store = json!({
        "type": "memory_store",
        "id": new_id("memstore"),
        "name": body.name,
        "description": description,
        "metadata": metadata,
        "created_at": at.text,
        "updated_at": at.text,
        "archived_at": null,
    });
    engine.insert_memory_store(store["id"].as_str().unwrap_or_default(), &store, at.micros).await?;
    Ok(Json(store))
}

pub async fn retrieve(State(engine): State<Arc<EngineState>>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(engine.memory_store(&id).await?.1))
}

pub async fn update(
    State(engine): State<Arc<EngineState>>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<MemoryStoreUpdate>,
) -> ApiResult<Json<Value>> {
    let (archived, mut store) = engine.memory_store(&id).await?;
    if archived {
        return Err(ApiError::invalid(format!("Memory store {id} is archived and cannot be changed.")));
    }
    if let Some(name) = &body.name {
        check_name(name)?;
        store["name"] = json!(name);
    }
    if let Some(description) = &body.description {
        let description = description.clone().unwrap_or_default();
        check_description(&description)?;
        store["description"] = json!(description);
    }
    if let Some(patch) = &body.metadata {
        let mut metadata = serde_json::from_value(store["metadata"].take()).unwrap_or_default();
        resolve::patch_metadata(&mut metadata, patch, false)?;
        store["metadata"] = json!(metadata);
    }
    store["updated_at"] = json!(now().text);
    engine.write_memory_store(&id, &store, false).await?;
    Ok(Json(store))
}

pub async fn list(State(engine): State<Arc<EngineState>>, params: Params) -> ApiResult<Json<Value>> {
    let created = params.ranges("created_at")?;
    let include_archived = params.bool("include_archived")?;
    let paging = params.paging(Order::Desc, 20, 100)?;
    Ok(Json(engine.list_memory_stores(include_archived, created, paging).await?))
}

/// Archives a store (irreversible; again: no change). Its memories can still be read and deleted.
pub async fn archive(State(engine): State<Arc<EngineState>>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let (archived, mut store) = engine.memory_store(&id).await?;
    if !archived {
        let at = now().text;
        store["archived_at"] = json!(at);
        store["updated_at"] = json!(at);
        engine.write_memory_store(&id, &store, true).await?;
    }
    Ok(Json(store))
}

/// Deletes a store with its memories and their versions.
pub async fn delete(State(engine): State<Arc<EngineState>>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    if !engine.delete_memory_store(&id).await? {
        return Err(ApiError::not_found("memory store", &id));
    }
    Ok(Json(json!({ "id": id, "type": "memory_store_deleted" })))
}

fn check_name(name: &str) -> ApiResult<()> {
    let length = name.chars().count();
    if length == 0 || length > MAX_NAME || name.chars().any(char::is_control) {
        return Err(ApiError::invalid("name: 1 to 255 characters, without control characters."));
    }
    Ok(())
}

fn check_description(description: &str) -> ApiResult<()> {
    if description.chars().count() > MAX_DESCRIPTION {
        return Err(ApiError::invalid("description: at most 1,024 characters."));
    }
    Ok(())
}

/// `view`: `basic` (no content) or `full`.
fn full_view(params: &Params, default_full: bool) -> ApiResult<bool> {
    match params.get("view") {
        None => Ok(default_full),
        Some("basic") => Ok(false),
        Some("full") => Ok(true),
        Some(other) => Err(ApiError::invalid(format!("view must be \"basic\" or \"full\", not {other:?}."))),
    }
}

/// A page's size: `limit` 1–100 (20 unless given), and at most 20 with `view=full`.
fn page_size(params: &Params, full: bool) -> ApiResult<i64> {
    let limit = params.limit(20, 100)?;
    Ok(if full { limit.min(MAX_FULL_PAGE) } else { limit })
}

// --- memories ------------------------------------------------------------------------------------

pub async fn create_memory(
    State(engine): State<Arc<EngineState>>,
    Path(store_id): Path<String>,
    params: Params,
    ApiJson(body): ApiJson<MemoryCreate>,
) -> ApiResult<Json<Value>> {
    let full = full_view(&params, false)?;
    let actor = Actor::Api(engine.api_key_id());
    let id = engine.create_memory(&store_id, &body.path, body.content.as_deref().unwrap_or(""), &actor).await?;
    Ok(Json(engine.memory(&store_id, &id, full).await?))
}

pub async fn retrieve_memory(
    State(engine): State<Arc<EngineState>>,
    Path((store_id, id)): Path<(String, String)>,
    params: Params,
) -> ApiResult<Json<Value>> {
    let full = full_view(&params, true)?;
    engine.memory_store(&store_id).await?;
    Ok(Json(engine.memory(&store_id, &id, full).await?))
}

pub async fn update_memory(
    State(engine): State<Arc<EngineState>>,
    Path((store_id, id)): Path<(String, String)>,
    params: Params,
    ApiJson(body): ApiJson<MemoryUpdate>,
) -> ApiResult<Json<Value>> {
    let full = full_view(&params, false)?;
    let expected = match &body.precondition {
        Some(precondition) => Some(precondition.content_sha256.as_deref().ok_or_else(|| {
            ApiError::invalid("precondition.content_sha256 is required with a content_sha256 precondition.")
        })?),
        None => None,
    };
    let change =
        MemoryChange { content: body.content.as_deref(), path: body.path.as_deref(), expected_sha256: expected };
    engine.update_memory(&store_id, &id, &change, &Actor::Api(engine.api_key_id())).await?;
    Ok(Json(engine.memory(&store_id, &id, full).await?))
}

pub async fn list_memories(
    State(engine): State<Arc<EngineState>>,
    Path(store_id): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    let full = full_view(&params, false)?;
    let prefix = params.get("path_prefix").unwrap_or("/");
    check_prefix(prefix)?;
    let depth = params.int("depth", 0, crate::domain::memory::MAX_PATH_SEGMENTS as i64)?.unwrap_or(0) as usize;
    let from = params.get("page").filter(|p| !p.is_empty()).map(Seek::decode).transpose()?;
    if from.as_ref().is_some_and(|from| !from.path.starts_with(prefix)) {
        return Err(ApiError::invalid(
            "This page cursor belongs to a listing of another path_prefix; list again without it.",
        ));
    }
    let limit = page_size(&params, full)? as usize;
    Ok(Json(engine.list_memories(&store_id, MemoryListing { prefix, depth, limit, from, full }).await?))
}

pub async fn delete_memory(
    State(engine): State<Arc<EngineState>>,
    Path((store_id, id)): Path<(String, String)>,
    params: Params,
) -> ApiResult<Json<Value>> {
    let expected = params.get("expected_content_sha256");
    engine.delete_memory(&store_id, &id, expected, &Actor::Api(engine.api_key_id())).await?;
    Ok(Json(json!({ "id": id, "type": "memory_deleted" })))
}

// --- versions ------------------------------------------------------------------------------------

pub async fn list_versions(
    State(engine): State<Arc<EngineState>>,
    Path(store_id): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    engine.memory_store(&store_id).await?;
    let full = full_view(&params, false)?;
    let operation = params.get("operation");
    if let Some(operation) = operation
        && !matches!(operation, "created" | "modified" | "deleted")
    {
        return Err(ApiError::invalid(format!(
            "operation must be \"created\", \"modified\" or \"deleted\", not {operation:?}."
        )));
    }
    let filters = VersionFilters {
        memory_id: params.get("memory_id").map(str::to_owned),
        session_id: params.get("session_id").map(str::to_owned),
        api_key_id: params.get("api_key_id").map(str::to_owned),
        operation: operation.map(str::to_owned),
        service_account: params.get("service_account_id").is_some(),
        created: params.ranges("created_at")?,
    };
    params.limit(20, 100)?;
    let params = if full { params.cap_limit(MAX_FULL_PAGE) } else { params };
    let paging = params.paging(Order::Desc, 20, 100)?;
    Ok(Json(engine.list_memory_versions(&store_id, filters, full, paging).await?))
}

pub async fn retrieve_version(
    State(engine): State<Arc<EngineState>>,
    Path((store_id, id)): Path<(String, String)>,
    params: Params,
) -> ApiResult<Json<Value>> {
    let full = full_view(&params, true)?;
    engine.memory_store(&store_id).await?;
    Ok(Json(engine.memory_version(&store_id, &id, full).await?))
}

pub async fn redact_version(
    State(engine): State<Arc<EngineState>>,
    Path((store_id, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    engine.memory_store(&store_id).await?;
    Ok(Json(engine.redact_memory_version(&store_id, &id, &Actor::Api(engine.api_key_id())).await?))
}
