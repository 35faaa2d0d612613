//! `/v1/skills` (GA: no beta header): upload a skill or a new version (multipart `files[]`),
//! list, retrieve, delete, and download a version as a zip. The checks live in
//! [`crate::domain::skills`].

use std::sync::Arc;

use axum::{
    Json,
    extract::{Multipart, Path, State},
    http::header,
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use super::Params;
use crate::{
    EngineState,
    domain::skills::UploadedFile,
    error::{ApiError, ApiResult},
    store::{Order, to_json},
};

/// The parts of an upload: each `files[]` (or `files`) part with its path, and `display_name`.
async fn read_upload(mut multipart: Multipart, max: u64) -> ApiResult<(Vec<UploadedFile>, Option<String>)> {
    let too_large = || {
        ApiError::too_large(format!(
            "The skill is larger than the engine accepts ({max} bytes in all); leave out what the skill does not need."
        ))
    };
    let multipart_error = |error: axum::extract::multipart::MultipartError| {
        if error.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            ApiError::invalid(format!("The upload is not valid multipart/form-data: {}", error.body_text()))
        }
    };
    let (mut files, mut display_name, mut total) = (Vec::new(), None, 0u64);
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        match field.name() {
            Some("files[]" | "files") => {
                let path = field.file_name().unwrap_or_default().to_owned();
                if path.is_empty() {
                    return Err(ApiError::invalid(
                        "A files[] part has no file name: send each file with its path (my-skill/SKILL.md) as its name.",
                    ));
                }
                let mut bytes = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                    total += chunk.len() as u64;
                    if total > max {
                        return Err(too_large());
                    }
                    bytes.extend_from_slice(&chunk);
                }
                files.push(UploadedFile { path, bytes: bytes.into() });
            }
            Some("display_name") => display_name = Some(field.text().await.map_err(multipart_error)?),
            _ => {}
        }
    }
    Ok((files, display_name))
}

pub async fn create(State(engine): State<Arc<EngineState>>, multipart: Multipart) -> ApiResult<Json<Value>> {
    let (files, display_name) = read_upload(multipart, engine.config.max_skill_bytes).await?;
    Ok(Json(engine.create_skill(files, display_name).await?))
}

pub async fn list(State(engine): State<Arc<EngineState>>, params: Params) -> ApiResult<Json<Value>> {
    let source = match params.get("source") {
        None | Some("") => None,
        // Anthropic's skills are not the engine's: that list is empty.
        Some(source @ ("custom" | "anthropic")) => Some(source),
        Some(other) => {
            return Err(ApiError::invalid(format!("source must be custom or anthropic, not {other:?}.")));
        }
    };
    let paging = params.paging(Order::Desc, 20, 1000)?;
    Ok(Json(engine.list_skills(source, paging).await?))
}

pub async fn retrieve(State(engine): State<Arc<EngineState>>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(to_json(&engine.skill(&id).await?.0)?))
}

pub async fn delete(State(engine): State<Arc<EngineState>>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    engine.delete_skill(&id).await?;
    Ok(Json(json!({ "id": id, "type": "skill_deleted" })))
}

pub async fn create_version(
    State(engine): State<Arc<EngineState>>,
    Path(id): Path<String>,
    multipart: Multipart,
) -> ApiResult<Json<Value>> {
    // A missing skill answers 404 before the upload is read.
    engine.skill(&id).await?;
    let (files, _) = read_upload(multipart, engine.config.max_skill_bytes).await?;
    Ok(Json(engine.create_skill_version(&id, files).await?))
}

pub async fn list_versions(
    State(engine): State<Arc<EngineState>>,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    engine.skill(&id).await?;
    let paging = params.paging(Order::Desc, 20, 1000)?;
    Ok(Json(engine.list_skill_versions(&id, paging).await?))
}

pub async fn retrieve_version(
    State(engine): State<Arc<EngineState>>,
    Path((id, version)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    Ok(Json(to_json(&engine.skill_version(&id, &version).await?)?))
}

pub async fn delete_version(
    State(engine): State<Arc<EngineState>>,
    Path((id, version)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    engine.delete_skill_version(&id, &version).await?;
    Ok(Json(json!({ "id": version, "type": "skill_version_deleted" })))
}

pub async fn content(
    State(engine): State<Arc<EngineState>>,
    Path((id, version)): Path<(String, String)>,
) -> ApiResult<Response> {
    let (filename, bytes) = engine.skill_zip(&id, &version).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
        ],
        bytes,
    )
        .into_response())
}
