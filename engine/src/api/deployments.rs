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

use super::{ApiJson, Params};
use crate::{
    EngineState,
    domain::deployments::{RunFilters, check_labels, schedule_of},
    error::{ApiError, ApiResult},
    ids::{new_id, now},
    resolve,
    store::{Order, to_json},
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
    engine.announce("deployment.created", &deployment.id);
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
    let before = deployment.clone();
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
    let changed = deployment != before;
    deployment.updated_at = now().text;
    engine.write_deployment(&deployment, false).await?;
    if changed {
        engine.announce("deployment.updated", &id);
    }
    Ok(Json(engine.deployment(&id).await?.answer()?))
}

pub async fn list(State(engine): State<Arc<EngineState>>, params: Params) -> ApiResult<Json<Value>> {
    let include_archived = params.bool("include_archived")?;
    let status = params.get("status");
    if let Some(status) = status {
        if include_archived {
            return Err(ApiError::invalid(
                "status and include_archived cannot be combined: archived deployments report no status of their own.",
            ));
        }
        if !matches!(status, "active" | "paused") {
            return Err(ApiError::invalid(format!("status must be \"active\" or \"paused\", not {status:?}.")));
        }
    }
    let created = params.ranges("created_at")?;
    let paging = params.paging(Order::Desc, 20, 100)?;
    Ok(Json(engine.list_deployments(include_archived, status, params.get("agent_id"), created, paging).await?))
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
        engine.announce("deployment.archived", &id);
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
        engine.announce("deployment.paused", &id);
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
        engine.announce("deployment.unpaused", &id);
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
    let has_error = match params.get("has_error") {
        Some(_) => Some(params.bool("has_error")?),
        None => None,
    };
    let trigger_type = params.get("trigger_type");
    if let Some(trigger) = trigger_type
        && !matches!(trigger, "schedule" | "manual")
    {
        return Err(ApiError::invalid(format!("trigger_type must be \"schedule\" or \"manual\", not {trigger:?}.")));
    }
    let filters = RunFilters {
        deployment_id: params.get("deployment_id"),
        has_error,
        trigger_type,
        created: params.ranges("created_at")?,
    };
    let paging = params.paging(Order::Desc, 20, 1000)?;
    Ok(Json(engine.list_deployment_runs(filters, paging).await?))
}

pub async fn retrieve_run(State(engine): State<Arc<EngineState>>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(engine.deployment_run(&id).await?))
}
