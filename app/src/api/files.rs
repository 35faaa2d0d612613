//! Files: list, read, delete. Uploads and downloads stream through plain routes
//! (`POST /api/files`, `GET /api/files/{id}/content`) in the server crate.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use macros::access;
use protocol::files::{FileMetadata, FilePage};

use super::JsonResponse;
#[cfg(feature = "ssr")]
use super::server::{delete, paging, segment, upstream};
use crate::error::AppError;

#[access(Viewer)]
#[server(endpoint = "files/list", input = GetUrl, output = JsonResponse)]
pub async fn list_files(page: Option<String>) -> Result<FilePage, AppError> {
    upstream()?.get("/v1/files", paging(50, page)).await.map_err(|e| AppError::upstream("Listing files", e))
}

#[access(Viewer)]
#[server(endpoint = "files/get", input = GetUrl, output = JsonResponse)]
pub async fn get_file(id: String) -> Result<FileMetadata, AppError> {
    let id = segment(&id)?;
    upstream()?
        .get(&format!("/v1/files/{id}"), vec![])
        .await
        .map_err(|e| AppError::upstream(&format!("Loading file {id}"), e))
}

#[access(Admin)]
#[server(endpoint = "files/delete", output = JsonResponse)]
pub async fn delete_file(id: String) -> Result<(), AppError> {
    let id = segment(&id)?;
    delete(&format!("/v1/files/{id}"), "Deleting the file").await
}
