//! `/v1/files`: upload (multipart), list, metadata, download, delete; and the files agents
//! write to `/mnt/session/outputs`, which become downloadable files scoped to their session.

use std::{os::unix::fs::OpenOptionsExt, sync::Arc};

use axum::{
    Json,
    body::Body,
    extract::{Multipart, Path, State},
    http::header,
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};
use sqlx::Row;
use tokio::io::AsyncWriteExt;

use super::{Params, page};
use crate::{
    EngineState,
    error::{ApiError, ApiResult},
    ids::{format_micros, new_id, now},
    store::{Filter, ListQuery, Order, json},
};

pub async fn upload(State(engine): State<Arc<EngineState>>, mut multipart: Multipart) -> ApiResult<Json<Value>> {
    let max = engine.config.max_upload_bytes;
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
    let id = new_id("file");
    let part_path = engine.file_path(&format!("{id}.part"));
    let mut stored: Option<(String, String, u64)> = None;
    let mut expires_in: Option<i64> = None;
    let result: ApiResult<()> = async {
        while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
            match field.name() {
                Some("file") => {
                    if stored.is_some() {
                        return Err(ApiError::invalid("Send one file per upload (one part named file)."));
                    }
                    let filename =
                        field.file_name().map(|n| n.rsplit(['/', '\\']).next().unwrap_or_default().to_owned());
                    let declared = field.content_type().map(str::to_owned);
                    let mut out = tokio::fs::File::create(&part_path).await.map_err(ApiError::internal)?;
                    let mut size = 0u64;
                    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                        size += chunk.len() as u64;
                        if size > max {
                            return Err(too_large());
                        }
                        out.write_all(&chunk).await.map_err(ApiError::internal)?;
                    }
                    out.flush().await.map_err(ApiError::internal)?;
                    let guessed =
                        filename.as_deref().and_then(|n| mime_guess::from_path(n).first_raw().map(str::to_owned));
                    let mime = match declared {
                        Some(m) if m != "application/octet-stream" && !m.is_empty() => m,
                        _ => guessed.unwrap_or_else(|| "application/octet-stream".to_owned()),
                    };
                    let filename = match filename.filter(|n| !n.is_empty()) {
                        Some(name) => name,
                        None => format!(
                            "unnamed{}",
                            mime_guess::get_mime_extensions_str(&mime)
                                .and_then(|e| e.first())
                                .map(|e| format!(".{e}"))
                                .unwrap_or_default()
                        ),
                    };
                    stored = Some((filename, mime, size));
                }
                Some("expires_in_seconds") => {
                    let text = field.text().await.map_err(multipart_error)?;
                    match text.trim().parse::<i64>() {
                        Ok(n) if (3600..=7_776_000).contains(&n) => expires_in = Some(n),
                        _ => {
                            return Err(ApiError::invalid(
                                "expires_in_seconds must be a whole number from 3600 to 7776000.",
                            ));
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
    .await;
    let Some((filename, mime, size)) = stored.filter(|_| result.is_ok()) else {
        let _ = tokio::fs::remove_file(&part_path).await;
        result?;
        return Err(ApiError::invalid("No file in the upload: send it as the multipart part named file."));
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
    tokio::fs::rename(&part_path, engine.file_path(&id)).await.map_err(ApiError::internal)?;
    let inserted = sqlx::query("INSERT INTO files (id, body, created_us) VALUES (?, ?, ?)")
        .bind(&id)
        .bind(metadata.to_string())
        .bind(at.micros)
        .execute(&engine.store.pool)
        .await;
    if let Err(error) = inserted {
        let _ = tokio::fs::remove_file(engine.file_path(&id)).await;
        return Err(error.into());
    }
    Ok(Json(metadata))
}

pub async fn list(State(engine): State<Arc<EngineState>>, params: Params) -> ApiResult<Json<Value>> {
    let order = Order::Desc;
    let mut filters = Vec::new();
    let ids = params.all("ids");
    if !ids.is_empty() {
        if ids.len() > 100 {
            return Err(ApiError::invalid("ids[]: at most 100 ids."));
        }
        if params.get("page").is_some() || params.get("limit").is_some() {
            return Err(ApiError::invalid("ids[] cannot be combined with page or limit."));
        }
        filters.push(Filter::In("id", ids));
    }
    if let Some(scope) = params.get("scope_id") {
        filters.push(Filter::Eq("scope_id", scope.to_owned()));
    }
    let limit = if filters.iter().any(|f| matches!(f, Filter::In(..))) { 100 } else { params.limit(20, 1000)? };
    let rows = engine
        .store
        .list(ListQuery {
            select: "seq, body",
            from: "files",
            seq_column: "seq",
            filters,
            order,
            limit,
            cursor: params.cursor(order)?,
        })
        .await?;
    Ok(Json(page(rows, false, |row| json(row.get(1)))?))
}

pub async fn retrieve(State(engine): State<Arc<EngineState>>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(engine.file(&id).await?))
}

pub async fn delete(State(engine): State<Arc<EngineState>>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    engine.file(&id).await?;
    sqlx::query("DELETE FROM files WHERE id = ?").bind(&id).execute(&engine.store.pool).await?;
    let _ = tokio::fs::remove_file(engine.file_path(&id)).await;
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
    let body = Body::from_stream(tokio_util_stream(file));
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

/// A file as a stream of chunks.
fn tokio_util_stream(file: tokio::fs::File) -> impl futures::Stream<Item = std::io::Result<Vec<u8>>> {
    futures::stream::unfold(file, |mut file| async move {
        use tokio::io::AsyncReadExt;
        let mut buffer = vec![0u8; 64 * 1024];
        match file.read(&mut buffer).await {
            Ok(0) => None,
            Ok(n) => {
                buffer.truncate(n);
                Some((Ok(buffer), file))
            }
            Err(error) => Some((Err(error), file)),
        }
    })
}

impl EngineState {
    pub async fn file(&self, id: &str) -> ApiResult<Value> {
        let body: Option<String> =
            sqlx::query_scalar("SELECT body FROM files WHERE id = ?").bind(id).fetch_optional(&self.store.pool).await?;
        json(&body.ok_or_else(|| ApiError::not_found("file", id))?)
    }

    /// Registers what the agent wrote under `/mnt/session/outputs` as files of the session: new
    /// paths become new files, changed ones are updated. Only regular files count: a symlink is
    /// never followed, so an output cannot point the engine at a file outside the sandbox.
    pub async fn collect_outputs(&self, session_id: &str) -> ApiResult<()> {
        let outputs = self.sandbox_dir(session_id).join("outputs");
        let found: Vec<(String, std::path::PathBuf, i64, u64)> = walkdir::WalkDir::new(&outputs)
            .follow_links(false)
            .into_iter()
            .filter_map(Result::ok)
            .filter(|entry| entry.file_type().is_file())
            .filter_map(|entry| {
                let metadata = entry.path().symlink_metadata().ok()?;
                let modified = metadata.modified().ok()?.duration_since(std::time::UNIX_EPOCH).ok()?.as_micros() as i64;
                let relative = entry.path().strip_prefix(&outputs).ok()?.to_string_lossy().into_owned();
                Some((relative, entry.into_path(), modified, metadata.len()))
            })
            .collect();
        for (relative, path, modified, size) in found {
            let known = sqlx::query("SELECT id, output_mtime, body FROM files WHERE scope_id = ? AND output_path = ?")
                .bind(session_id)
                .bind(&relative)
                .fetch_optional(&self.store.pool)
                .await?;
            if let Some(row) = &known
                && row.get::<Option<i64>, _>(1) == Some(modified)
            {
                continue;
            }
            let id = known.as_ref().map_or_else(|| new_id("file"), |row| row.get::<String, _>(0));
            if copy_no_follow(&path, &self.file_path(&id)).is_err() {
                continue;
            }
            let filename =
                path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "output".into());
            let mime = mime_guess::from_path(&path).first_raw().unwrap_or("application/octet-stream");
            match known {
                Some(row) => {
                    let mut body = json(row.get(2))?;
                    body["size_bytes"] = json!(size);
                    sqlx::query("UPDATE files SET body = ?, output_mtime = ? WHERE id = ?")
                        .bind(body.to_string())
                        .bind(modified)
                        .bind(&id)
                        .execute(&self.store.pool)
                        .await?;
                }
                None => {
                    let at = now();
                    let body = json!({
                        "type": "file", "id": id, "filename": filename, "mime_type": mime, "size_bytes": size,
                        "created_at": at.text, "downloadable": true, "expires_at": null,
                        "scope": { "type": "session", "id": session_id },
                    });
                    sqlx::query("INSERT INTO files (id, body, created_us, scope_id, output_path, output_mtime) VALUES (?, ?, ?, ?, ?, ?)")
                        .bind(&id)
                        .bind(body.to_string())
                        .bind(at.micros)
                        .bind(session_id)
                        .bind(&relative)
                        .bind(modified)
                        .execute(&self.store.pool)
                        .await?;
                }
            }
        }
        Ok(())
    }
}

/// Copies a regular file, refusing to open it through a symlink.
fn copy_no_follow(from: &std::path::Path, to: &std::path::Path) -> std::io::Result<()> {
    let mut source = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW).open(from)?;
    if !source.metadata()?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let mut target = std::fs::File::create(to)?;
    std::io::copy(&mut source, &mut target)?;
    Ok(())
}
