//! File bytes between the browser and the upstream, streamed through the server: uploads
//! (`POST /api/files`, multipart) and downloads (`GET /api/files/{id}/content`).
//!
//! These are plain routes rather than server functions because the bytes are streamed, not
//! decoded: an upload of the maximum size never sits in the server's memory.

use axum::{
    Json,
    body::Body,
    extract::{Multipart, Path, State, multipart::MultipartError},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use domain::{error::AppError, upstream::client::UpstreamError};
use protocol::files::FileMetadata;
use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};
use tokio::sync::{mpsc, oneshot};

use crate::{
    support::{describe, error_page},
    upstream::api_error,
};

/// `SWITCHBOARD_MAX_UPLOAD_BYTES`, the most one upload may hold: part of the router's state.
#[derive(Clone, Copy, Debug)]
pub struct MaxUpload(pub u64);

/// `POST /api/files`: the form's `file` field, streamed to the upstream's `POST /v1/files`.
///
/// A browser without JavaScript posts the form itself and is sent back to the Files page with the
/// outcome in the query; the page's script sends `Accept: application/json` and gets JSON.
pub async fn upload(
    State(MaxUpload(limit)): State<MaxUpload>,
    axum::Extension(client): axum::Extension<crate::upstream::UpstreamClient>,
    headers: HeaderMap,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let wants_json =
        headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("application/json"));
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    // The multipart envelope adds a few hundred bytes; a body far over the limit is refused before
    // a byte of it is read.
    let outcome = if declared.is_some_and(|len| len > limit + 64 * 1024) {
        Err(too_large(limit))
    } else {
        match multipart {
            Ok(multipart) => forward_upload(&client, multipart, limit).await,
            Err(rejection) => Err(AppError::bad_input(
                "file",
                format!("The upload is not a multipart form ({rejection}). Choose a file and send the form again."),
            )),
        }
    };
    match (outcome, wants_json) {
        (Ok(file), true) => (StatusCode::CREATED, Json(file)).into_response(),
        (Ok(file), false) => {
            Redirect::to(&format!("/files?uploaded={}", domain::format::query_value(&file.id))).into_response()
        }
        (Err(error), true) => error.into_response(),
        (Err(error), false) => {
            Redirect::to(&format!("/files?error={}", domain::format::query_value(&error.to_string()))).into_response()
        }
    }
}

/// Streams the form's `file` field to the upstream's `POST /v1/files`, refusing it past `limit`.
async fn forward_upload(
    client: &crate::upstream::UpstreamClient,
    multipart: Multipart,
    limit: u64,
) -> Result<FileMetadata, AppError> {
    // The form's field borrows the multipart reader, and the upstream request needs a body that
    // owns its stream: a task reads the field and hands the chunks over a small channel.
    let (meta_tx, meta_rx) = oneshot::channel::<Result<(String, String), AppError>>();
    let (chunks_tx, chunks_rx) = mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(4);
    let over_limit = Arc::new(AtomicBool::new(false));
    tokio::spawn(read_file_field(multipart, limit, meta_tx, chunks_tx, over_limit.clone()));
    let (filename, mime) = meta_rx.await.map_err(|_| AppError::internal("The upload could not be read."))??;
    let stream = futures::stream::unfold(chunks_rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    let part = reqwest::multipart::Part::stream(reqwest::Body::wrap_stream(stream))
        .file_name(filename.clone())
        .mime_str(&mime)
        .map_err(|_| AppError::bad_input("file", format!("The file's type {mime:?} is not a valid media type.")))?;
    let form = reqwest::multipart::Form::new().part("file", part);
    let response = client.raw(reqwest::Method::POST, "/v1/files").multipart(form).send().await;
    let action = format!("Uploading {filename}");
    if over_limit.load(Ordering::SeqCst) {
        return Err(too_large(limit));
    }
    match response {
        Ok(response) if response.status().is_success() => response
            .json::<FileMetadata>()
            .await
            .map_err(|e| AppError::upstream(&action, UpstreamError::Decode(e.to_string()))),
        Ok(response) => Err(AppError::upstream(&action, api_error(response).await)),
        Err(error) => Err(AppError::upstream(&action, UpstreamError::Unreachable(describe(error)))),
    }
}

/// Reads the form up to its `file` field: its name and type go to `meta`, its bytes to `chunks`.
/// Past the limit the stream fails (and `over` is set), which aborts the upstream request, so the
/// upstream never keeps a partial file.
async fn read_file_field(
    mut multipart: Multipart,
    limit: u64,
    meta: oneshot::Sender<Result<(String, String), AppError>>,
    chunks: mpsc::Sender<Result<bytes::Bytes, std::io::Error>>,
    over: Arc<AtomicBool>,
) {
    let no_file = || AppError::bad_input("file", "No file was chosen. Choose a file to upload.");
    let mut field = loop {
        match multipart.next_field().await {
            Ok(Some(field)) if field.name() == Some("file") => break field,
            Ok(Some(_)) => continue,
            Ok(None) => {
                let _ = meta.send(Err(no_file()));
                return;
            }
            Err(error) => {
                let _ = meta.send(Err(multipart_error(error)));
                return;
            }
        }
    };
    let Some(filename) = field.file_name().filter(|n| !n.is_empty()).map(str::to_owned) else {
        let _ = meta.send(Err(no_file()));
        return;
    };
    let mime = field
        .content_type()
        .map(str::to_owned)
        .unwrap_or_else(|| mime_guess::from_path(&filename).first_or_octet_stream().to_string());
    if meta.send(Ok((filename, mime))).is_err() {
        return;
    }
    let mut seen: u64 = 0;
    loop {
        let chunk = match field.chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => return,
            Err(error) => {
                let _ = chunks.send(Err(std::io::Error::other(error.to_string()))).await;
                return;
            }
        };
        seen += chunk.len() as u64;
        if seen > limit {
            over.store(true, Ordering::SeqCst);
            let _ = chunks.send(Err(std::io::Error::other("the upload is over the limit"))).await;
            return;
        }
        if chunks.send(Ok(chunk)).await.is_err() {
            return;
        }
    }
}

fn too_large(limit: u64) -> AppError {
    AppError {
        kind: domain::error::ErrorKind::BadInput,
        message: format!(
            "The file is larger than the upload limit of {}. Choose a smaller file.",
            domain::format::bytes(limit)
        ),
        field: Some("file".to_owned()),
        request_id: None,
        error_code: Some("upload_too_large".to_owned()),
    }
}

fn multipart_error(error: MultipartError) -> AppError {
    AppError::bad_input("file", format!("The upload was cut off or malformed ({}). Send it again.", error.body_text()))
}

/// `GET /api/files/{id}/content`: streams the file with its name, when the upstream allows it.
pub async fn download(
    axum::Extension(client): axum::Extension<crate::upstream::UpstreamClient>,
    Path(id): Path<String>,
) -> Response {
    // An id, never a path: `..` must not reach another upstream endpoint with the key.
    if !domain::upstream::is_id(&id) {
        return error_page(AppError::not_found(format!("{id:?} is not a file id.")));
    }
    let id_path = id.as_str();
    let action = "Downloading the file";
    let meta = client.raw(reqwest::Method::GET, &format!("/v1/files/{id_path}")).send().await;
    let meta = match meta {
        Ok(r) if r.status().is_success() => match r.json::<FileMetadata>().await {
            Ok(meta) => meta,
            Err(e) => return error_page(AppError::upstream(action, UpstreamError::Decode(e.to_string()))),
        },
        Ok(r) => return error_page(AppError::upstream(action, api_error(r).await)),
        Err(e) => return error_page(AppError::upstream(action, UpstreamError::Unreachable(describe(e)))),
    };
    let content = client.raw(reqwest::Method::GET, &format!("/v1/files/{id_path}/content")).send().await;
    match content {
        Ok(r) if r.status().is_success() => {
            let mut response = Response::new(Body::from_stream(r.bytes_stream()));
            let headers = response.headers_mut();
            if let Ok(value) = HeaderValue::from_str(&meta.mime_type) {
                headers.insert(header::CONTENT_TYPE, value);
            }
            let ascii: String = meta
                .filename
                .chars()
                .map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' { c } else { '_' })
                .collect();
            let disposition = format!(
                "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
                domain::format::query_value(&meta.filename)
            );
            if let Ok(value) = HeaderValue::from_str(&disposition) {
                headers.insert(header::CONTENT_DISPOSITION, value);
            }
            headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
            response
        }
        Ok(r) => error_page(AppError::upstream(action, api_error(r).await)),
        Err(e) => error_page(AppError::upstream(action, UpstreamError::Unreachable(describe(e)))),
    }
}
