//! `/v1/deployments` (create, retrieve, update, list, archive, pause, unpause, run) and
//! `/v1/deployment_runs` (list, retrieve).

use std::sync::Arc;

use axum::{
    Json,
    extract::{Path, State},
};
use protocol::{
    common::Empty,
    deployments::{Deployment, DeploymentCreate, DeploymentStatus, DeploymentTag, DeploymentUpdate, PausedReason},
};
use serde_json::Value;

use super::{ApiJson, Params, newest_first};
use crate::{
    EngineState,
    domain::deployments::{StoredDeployment, check_labels, schedule_of},
    error::{ApiError, ApiResult},
    ids::{new_id, now},
    resolve,
    store::{Filter, json as json_text, to_json},
};

pub async fn create(
    State(engine): State<Arc<EngineState>>,
    ApiJson(body): ApiJson<DeploymentCreate>,
) -> ApiResult<Json<Value>> {
    let metadata = body.metadata.clone().unwrap_or_default();
    check_labels(&body.name, body.description.as_deref(), &metadata)?;
    let agent = engine.deployment_agent(&body.agent).await?;
    let vault_ids = body.vault_ids.clone().unwrap_or_default();
    let resources = body.resources.clone().unwrap_or_default();
    let resources = engine
        .check_deployment_parts(
            &body.environment_id,
            &body.initial_events,
            &resources,
            &vault_ids,
            body.budget.as_ref(),
        )
        .await?;
    let schedule = body.schedule.as_ref().map(schedule_of).transpose()?;
    let at = now();
    let deployment = Deployment {
        id: new_id("depl"),
        agent,
        archived_at: None,
        created_at: at.text.clone(),
        description: body.description.filter(|d| !d.is_empty()),
        environment_id: body.environment_id,
        initial_events: body.initial_events,
        metadata,
        name: body.name,
        paused_reason: None,
        resources,
        schedule,
        status: DeploymentStatus::Active,
        r#type: DeploymentTag,
        updated_at: at.text,
        vault_ids,
        budget: body.budget,
    };
    engine.insert_deployment(&deployment, at.micros).await?;
    Ok(Json(engine.deployment(&deployment.id).await?.answer()?))
}

pub async fn retrieve(State(engine): State<Arc<EngineState>>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(engine.deployment(&id).await?.answer()?))
}

pub async fn update(
    State(engine): State<Arc<EngineState>>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<DeploymentUpdate>,
) -> ApiResult<Json<Value>> {
    let stored = engine.deployment(&id).await?;
    if stored.archived {
        return Err(ApiError::invalid(format!("Deployment {id} is archived and cannot be changed.")));
    }
    let mut deployment = stored.body;
    if let Some(agent) = &body.agent {
        deployment.agent = engine.deployment_agent(agent).await?;
    }
    if let Some(name) = &body.name {
        deployment.name = name.clone();
    }
    if let Some(description) = &body.description {
        deployment.description = description.clone().filter(|d| !d.is_empty());
    }
    // `metadata: null` keeps the stored bag, as an absent key does.
    if let Some(Some(patch)) = &body.metadata {
        resolve::patch_metadata(&mut deployment.metadata, patch, false)?;
    }
    check_labels(&deployment.name, deployment.description.as_deref(), &deployment.metadata)?;
    if let Some(budget) = &body.budget {
        deployment.budget = budget.clone();
    }
    if let Some(schedule) = &body.schedule {
        deployment.schedule = schedule.as_ref().map(schedule_of).transpose()?;
    }
    let environment_id = body.environment_id.clone().unwrap_or_else(|| deployment.environment_id.clone());
    let initial_events = body.initial_events.clone().unwrap_or_else(|| deployment.initial_events.clone());
    let vault_ids = match &body.vault_ids {
        Some(ids) => ids.clone().unwrap_or_default(),
        None => deployment.vault_ids.clone(),
    };
    // Resources are checked again only when replaced; the stored ones were checked when saved.
    let resources = body.resources.clone().map(Option::unwrap_or_default);
    let checked = engine
        .check_deployment_parts(
            &environment_id,
            &initial_events,
            resources.as_deref().unwrap_or_default(),
            &vault_ids,
            deployment.budget.as_ref(),
        )
        .await?;
    if resources.is_some() {
        deployment.resources = checked;
    }
    deployment.environment_id = environment_id;
    deployment.initial_events = initial_events;
    deployment.vault_ids = vault_ids;
    deployment.updated_at = now().text;
    engine.write_deployment(&deployment, false).await?;
    Ok(Json(engine.deployment(&id).await?.answer()?))
}

pub async fn list(State(engine): State<Arc<EngineState>>, params: Params) -> ApiResult<Json<Value>> {
    let include_archived = params.bool("include_archived")?;
    let mut filters = Vec::new();
    if let Some(status) = params.get("status") {
        if include_archived {
            return Err(ApiError::invalid(
                "status and include_archived cannot be combined: archived deployments report no status of their own.",
            ));
        }
        if !matches!(status, "active" | "paused") {
            return Err(ApiError::invalid(format!("status must be \"active\" or \"paused\", not {status:?}.")));
        }
        filters.push(Filter::Eq("status", status.to_owned()));
    }
    if !include_archived {
        filters.push(Filter::Sql("archived = 0"));
    }
    if let Some(agent_id) = params.get("agent_id") {
        filters.push(Filter::Eq("agent_id", agent_id.to_owned()));
    }
    for (op, micros) in params.ranges("created_at")? {
        filters.push(Filter::Cmp("created_us", op, micros));
    }
    newest_first(&engine, "seq, body, archived, last_run_us", "deployments", filters, &params, 100, |row| {
        StoredDeployment::from_row(row, 1)?.answer()
    })
    .await
}

/// Archives a deployment (terminal; again: no change). It reports `active` with `archived_at`.
pub async fn archive(State(engine): State<Arc<EngineState>>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let stored = engine.deployment(&id).await?;
    if !stored.archived {
        let mut deployment = stored.body;
        let at = now().text;
        deployment.archived_at = Some(at.clone());
        deployment.updated_at = at;
        deployment.status = DeploymentStatus::Active;
        deployment.paused_reason = None;
        engine.write_deployment(&deployment, true).await?;
    }
    Ok(Json(engine.deployment(&id).await?.answer()?))
}

/// Pauses a deployment's schedule (again: no change).
pub async fn pause(State(engine): State<Arc<EngineState>>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let stored = engine.deployment(&id).await?;
    if stored.archived {
        return Err(ApiError::invalid(format!("Deployment {id} is archived; there is nothing to pause.")));
    }
    let mut deployment = stored.body;
    if deployment.status != DeploymentStatus::Paused {
        deployment.status = DeploymentStatus::Paused;
        deployment.paused_reason = Some(PausedReason::Manual(Empty {}));
        deployment.updated_at = now().text;
        engine.write_deployment(&deployment, false).await?;
    }
    Ok(Json(engine.deployment(&id).await?.answer()?))
}

/// Unpauses a deployment, whatever paused it; its schedule resumes from now (times it missed
/// while paused are not run).
pub async fn unpause(State(engine): State<Arc<EngineState>>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let stored = engine.deployment(&id).await?;
    if stored.archived {
        return Err(ApiError::invalid(format!("Deployment {id} is archived and cannot run again.")));
    }
    let mut deployment = stored.body;
    if deployment.status != DeploymentStatus::Active {
        deployment.status = DeploymentStatus::Active;
        deployment.paused_reason = None;
        deployment.updated_at = now().text;
        engine.write_deployment(&deployment, false).await?;
    }
    Ok(Json(engine.deployment(&id).await?.answer()?))
}

/// Fires a deployment now (also while paused). The run comes back whether it created a session
/// or recorded an error; a manual run's error never pauses the deployment.
pub async fn run(State(engine): State<Arc<EngineState>>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let stored = engine.deployment(&id).await?;
    if stored.archived {
        return Err(ApiError::invalid(format!("Deployment {id} is archived and cannot run.")));
    }
    let (run, start) = engine.fire(&stored.body).await?;
    if let Some(start) = start {
        engine.start_session(start).await?;
    }
    Ok(Json(to_json(&run)?))
}

pub async fn list_runs(State(engine): State<Arc<EngineState>>, params: Params) -> ApiResult<Json<Value>> {
    let mut filters = Vec::new();
    if let Some(deployment_id) = params.get("deployment_id") {
        filters.push(Filter::Eq("deployment_id", deployment_id.to_owned()));
    }
    if params.get("has_error").is_some() {
        filters.push(Filter::EqInt("has_error", i64::from(params.bool("has_error")?)));
    }
    if let Some(trigger) = params.get("trigger_type") {
        if !matches!(trigger, "schedule" | "manual") {
            return Err(ApiError::invalid(format!(
                "trigger_type must be \"schedule\" or \"manual\", not {trigger:?}."
            )));
        }
        filters.push(Filter::Eq("trigger_type", trigger.to_owned()));
    }
    for (op, micros) in params.ranges("created_at")? {
        filters.push(Filter::Cmp("created_us", op, micros));
    }
    newest_first(&engine, "seq, body", "deployment_runs", filters, &params, 1000, |row| {
        json_text(sqlx::Row::get(row, 1))
    })
    .await
}

pub async fn retrieve_run(State(engine): State<Arc<EngineState>>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let body: Option<String> = sqlx::query_scalar("SELECT body FROM deployment_runs WHERE id = ?")
        .bind(&id)
        .fetch_optional(&engine.store.pool)
        .await?;
    Ok(Json(json_text(&body.ok_or_else(|| ApiError::not_found("deployment run", &id))?)?))
}
