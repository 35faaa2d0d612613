//! `/v1/environments`: create, retrieve, update, list, archive, delete.

use std::sync::Arc;

use axum::{
    Json,
    extract::{Path, State},
};
use protocol::environments::{Environment, EnvironmentCreate, EnvironmentUpdate};
use serde_json::{Value, json};

use super::{ApiJson, Params, list_archivable};
use crate::domain::environments::{resolve_config, scope_of};
use crate::store::{from_json, to_json};
use crate::{
    EngineState,
    error::{ApiError, ApiResult},
    ids::now,
    resolve,
};

pub async fn create(
    State(engine): State<Arc<EngineState>>,
    ApiJson(body): ApiJson<EnvironmentCreate>,
) -> ApiResult<Json<Value>> {
    Ok(Json(engine.create_environment(body).await?))
}

pub async fn retrieve(State(engine): State<Arc<EngineState>>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(engine.environment(&id).await?.1))
}

pub async fn update(
    State(engine): State<Arc<EngineState>>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<EnvironmentUpdate>,
) -> ApiResult<Json<Value>> {
    let (archived, stored) = engine.environment(&id).await?;
    if archived {
        return Err(ApiError::invalid(format!("Environment {id} is archived and cannot be changed."))
            .with_code("environment_archived"));
    }
    let mut environment: Environment = from_json(stored)?;
    if let Some(name) = &body.name {
        resolve::name(name, "name")?;
        environment.name = name.clone();
    }
    if let Some(description) = &body.description {
        environment.description = description.clone();
    }
    if let Some(config) = &body.config {
        environment.config = resolve_config(Some(config), Some(&environment.config))?;
    }
    if let Some(patch) = &body.metadata {
        resolve::patch_metadata(&mut environment.metadata, patch, true)?;
    }
    if let Some(scope) = &body.scope {
        environment.scope = Some(scope_of(scope)?);
    }
    environment.updated_at = now().text;
    let body = to_json(&environment)?;
    sqlx::query("UPDATE environments SET body = ? WHERE id = ?")
        .bind(body.to_string())
        .bind(&id)
        .execute(&engine.store.pool)
        .await?;
    Ok(Json(body))
}

pub async fn list(State(engine): State<Arc<EngineState>>, params: Params) -> ApiResult<Json<Value>> {
    list_archivable(&engine, "environments", vec![], &params).await
}

pub async fn archive(State(engine): State<Arc<EngineState>>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let (archived, mut body) = engine.environment(&id).await?;
    if !archived {
        let at = now().text;
        body["archived_at"] = json!(at);
        body["updated_at"] = json!(at);
        sqlx::query("UPDATE environments SET body = ?, archived = 1 WHERE id = ?")
            .bind(body.to_string())
            .bind(&id)
            .execute(&engine.store.pool)
            .await?;
    }
    Ok(Json(body))
}

pub async fn delete(State(engine): State<Arc<EngineState>>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    engine.environment(&id).await?;
    let in_use: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE environment_id = ? AND archived = 0")
        .bind(&id)
        .fetch_one(&engine.store.pool)
        .await?;
    if in_use > 0 {
        return Err(ApiError::conflict(format!(
            "Environment {id} is used by {in_use} session(s) that are not archived; archive or delete them first, or archive the environment instead."
        )));
    }
    sqlx::query("DELETE FROM environments WHERE id = ?").bind(&id).execute(&engine.store.pool).await?;
    Ok(Json(json!({ "id": id, "type": "environment_deleted" })))
}
