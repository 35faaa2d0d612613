//! `/v1/files`: upload (multipart), list, metadata, download, delete; and the files agents
//! write to `/mnt/session/outputs`, which become downloadable files scoped to their session.

use std::sync::Arc;

use axum::{
    Json,
    body::Body,
    extract::{Multipart, Path, State},
    http::header,
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use super::Params;
use crate::{
    EngineState,
    domain::Paging,
    error::{ApiError, ApiResult},
    ids::{format_micros, new_id, now},
    store::Order,
};

pub async fn upload(State(engine): State<Arc<EngineState>>, multipart: Multipart) -> ApiResult<Json<Value>> {
    let id = new_id("file");
    let part_path = engine.file_path(&format!("{id}.part"));
    let (filename, mime, size, expires_in) =
        match read_upload(multipart, &part_path, engine.config.max_upload_bytes).await {
            Ok(upload) => upload,
            Err(error) => {
                // Nothing of a refused upload stays behind.
                let _ = tokio::fs::remove_file(&part_path).await;
                return Err(error);
            }
        };
    let at = now();
    let metadata = json!({
        "type": "file",
        "id": id,
        "filename": filename,
        "mime_type": mime,
        "size_bytes": size,
        "created_at": at.text,
        "downloadable": false,
        "expires_at": expires_in.map(|s| format_micros(at.micros + s * 1_000_000)),
        "scope": null,
    });
    engine.add_file(&id, &part_path, &metadata, at.micros).await?;
    Ok(Json(metadata))
}

/// Streams the `file` part of an upload to `part_path` (at most `max` bytes) and reads
/// `expires_in_seconds`: (filename, MIME type, size, expires_in).
async fn read_upload(
    mut multipart: Multipart,
    part_path: &std::path::Path,
    max: u64,
) -> ApiResult<(String, String, u64, Option<i64>)> {
    let too_large = || {
        ApiError::too_large(format!("The file is larger than the engine accepts ({max} bytes); upload a smaller file."))
    };
    let multipart_error = |error: axum::extract::multipart::MultipartError| {
        if error.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            ApiError::invalid(format!("The upload is not valid multipart/form-data: {}", error.body_text()))
        }
    };
    let mut stored = None;
    let mut expires_in = None;
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        match field.name() {
            Some("file") => {
                if stored.is_some() {
                    return Err(ApiError::invalid("Send one file per upload (one part named file)."));
                }
                let (filename, mime) = name_and_type(field.file_name(), field.content_type());
                let mut out = tokio::fs::File::create(part_path).await.map_err(ApiError::internal)?;
                let mut size = 0u64;
                while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                    size += chunk.len() as u64;
                    if size > max {
                        return Err(too_large());
                    }
                    out.write_all(&chunk).await.map_err(ApiError::internal)?;
                }
                out.flush().await.map_err(ApiError::internal)?;
                stored = Some((filename, mime, size));
            }
            Some("expires_in_seconds") => match field.text().await.map_err(multipart_error)?.trim().parse::<i64>() {
                Ok(n) if (3600..=7_776_000).contains(&n) => expires_in = Some(n),
                _ => return Err(ApiError::invalid("expires_in_seconds must be a whole number from 3600 to 7776000.")),
            },
            _ => {}
        }
    }
    let (filename, mime, size) =
        stored.ok_or_else(|| ApiError::invalid("No file in the upload: send it as the multipart part named file."))?;
    Ok((filename, mime, size, expires_in))
}

/// The stored name (the basename; `unnamed.<ext>` when there is none) and MIME type (the declared
/// one unless it is generic, else guessed from the name) of an uploaded file.
fn name_and_type(filename: Option<&str>, declared: Option<&str>) -> (String, String) {
    let filename = filename.map(|n| n.rsplit(['/', '\\']).next().unwrap_or_default()).filter(|n| !n.is_empty());
    let mime = match declared {
        Some(m) if m != "application/octet-stream" && !m.is_empty() => m.to_owned(),
        _ => {
            filename.and_then(|n| mime_guess::from_path(n).first_raw()).unwrap_or("application/octet-stream").to_owned()
        }
    };
    let filename = match filename {
        Some(name) => name.to_owned(),
        None => {
            let extension = mime_guess::get_mime_extensions_str(&mime).and_then(|e| e.first());
            format!("unnamed{}", extension.map(|e| format!(".{e}")).unwrap_or_default())
        }
    };
    (filename, mime)
}

pub async fn list(State(engine): State<Arc<EngineState>>, params: Params) -> ApiResult<Json<Value>> {
    let order = Order::Desc;
    let ids = params.all("ids");
    if !ids.is_empty() {
        if ids.len() > 100 {
            return Err(ApiError::invalid("ids[]: at most 100 ids."));
        }
        if params.get("page").is_some() || params.get("limit").is_some() {
            return Err(ApiError::invalid("ids[] cannot be combined with page or limit."));
        }
    }
    let limit = if ids.is_empty() { params.limit(20, 1000)? } else { 100 };
    let paging = Paging { order, limit, cursor: params.cursor(order)? };
    Ok(Json(engine.list_files(ids, params.get("scope_id"), paging).await?))
}

pub async fn retrieve(State(engine): State<Arc<EngineState>>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(engine.file(&id).await?))
}

pub async fn delete(State(engine): State<Arc<EngineState>>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    engine.delete_file(&id).await?;
    Ok(Json(json!({ "id": id, "type": "file_deleted" })))
}

pub async fn content(State(engine): State<Arc<EngineState>>, Path(id): Path<String>) -> ApiResult<Response> {
    let metadata = engine.file(&id).await?;
    if metadata["downloadable"] != true {
        return Err(ApiError::invalid(format!(
            "File {id} is not downloadable: only files agents write (session outputs) can be downloaded."
        ))
        .with_code("file_not_downloadable"));
    }
    let file = tokio::fs::File::open(engine.file_path(&id)).await.map_err(ApiError::internal)?;
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(file));
    let disposition =
        format!("attachment; filename=\"{}\"", metadata["filename"].as_str().unwrap_or("file").replace('"', ""));
    Ok((
        [
            (header::CONTENT_TYPE, metadata["mime_type"].as_str().unwrap_or("application/octet-stream").to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}
