//! Skill bytes between the browser and the upstream: uploads of a folder or a zip
//! (`POST /api/skills`, and `POST /api/skills/{id}/versions` for a new version) and downloads of a
//! version as a zip (`GET /api/skills/{id}/versions/{version}/content`).
//!
//! The API takes a skill as multipart `files[]`, each part named by its path under one top folder.
//! A browser sends a folder that way already (each file named by its `webkitRelativePath`); a zip
//! is opened here, in memory and within [`MAX_SKILL_BYTES`], and sent as the same parts. Nothing of
//! an upload touches the disk: a zip's paths are only ever names of parts.

use std::io::Read;

use axum::{
    Json,
    body::Body,
    extract::{Multipart, Path, multipart::MultipartError},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use domain::{
    error::{AppError, ErrorKind},
    skills::Uploaded,
    upstream::client::UpstreamError,
};
use protocol::skills::{Skill, SkillVersion};

use crate::{support::describe, support::error_page, upstream::api_error};

/// The most a skill may hold, all its files together (the embedded engine's limit too). A zip
/// counts by what it unpacks to.
pub const MAX_SKILL_BYTES: u64 = 8 * 1024 * 1024;
/// The most files a skill may hold.
const MAX_FILES: usize = 1_000;
/// What a multipart envelope of many small parts may add to the bytes of the files.
const ENVELOPE_BYTES: u64 = 1024 * 1024;

/// What the browser sent: each file with its path, and the display name.
#[derive(Default)]
struct Sent {
    files: Vec<(String, bytes::Bytes)>,
    display_name: String,
}

/// `POST /api/skills`: a new skill from a folder's files or a zip.
pub async fn create(
    axum::Extension(client): axum::Extension<crate::upstream::UpstreamClient>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Response {
    let outcome = async {
        let sent = read(&headers, multipart).await?;
        let form = form(sent.files, &sent.display_name)?;
        let skill: Skill = send(&client, "/v1/skills", form, "Uploading the skill").await?;
        Ok(Uploaded { skill_id: skill.id, version_id: skill.latest_version_id })
    }
    .await;
    answer(&headers, outcome, "/skills")
}

/// `POST /api/skills/{id}/versions`: a new version of a skill.
pub async fn add_version(
    axum::Extension(client): axum::Extension<crate::upstream::UpstreamClient>,
    Path(id): Path<String>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Response {
    if !domain::upstream::is_id(&id) {
        return AppError::not_found(format!("{id:?} is not a skill id.")).into_response();
    }
    let outcome = async {
        let sent = read(&headers, multipart).await?;
        let form = form(sent.files, "")?;
        let path = format!("/v1/skills/{id}/versions");
        let version: SkillVersion = send(&client, &path, form, "Uploading the new version").await?;
        Ok(Uploaded { skill_id: version.skill_id, version_id: version.id })
    }
    .await;
    answer(&headers, outcome, &format!("/skills/{id}"))
}

/// JSON for the page's script; for a plain form post, back to a page with the outcome in the query.
fn answer(headers: &HeaderMap, outcome: Result<Uploaded, AppError>, back: &str) -> Response {
    let wants_json =
        headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("application/json"));
    match (outcome, wants_json) {
        (Ok(uploaded), true) => (StatusCode::CREATED, Json(uploaded)).into_response(),
        (Ok(uploaded), false) => Redirect::to(&format!(
            "/skills/{}?uploaded={}",
            domain::format::query_value(&uploaded.skill_id),
            domain::format::query_value(&uploaded.version_id)
        ))
        .into_response(),
        (Err(error), true) => error.into_response(),
        (Err(error), false) => {
            Redirect::to(&format!("{back}?error={}", domain::format::query_value(&error.to_string()))).into_response()
        }
    }
}

/// Reads the form: `files[]` parts (a folder), or one `zip` part, and `display_name`.
async fn read(headers: &HeaderMap, mut multipart: Multipart) -> Result<Sent, AppError> {
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > MAX_SKILL_BYTES + ENVELOPE_BYTES) {
        return Err(too_large());
    }
    let mut sent = Sent::default();
    let mut total = 0u64;
    let mut zips = Vec::new();
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "display_name" {
            sent.display_name = field.text().await.map_err(multipart_error)?.trim().to_owned();
            continue;
        }
        if name != "files[]" && name != "zip" {
            continue;
        }
        let filename = field.file_name().unwrap_or_default().to_owned();
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
            total += chunk.len() as u64;
            if total > MAX_SKILL_BYTES {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        // A file input left empty still sends a part, with no name and no bytes.
        if filename.is_empty() && bytes.is_empty() {
            continue;
        }
        if name == "zip" {
            zips.push((filename, bytes));
        } else {
            sent.files.push((filename, bytes.into()));
        }
    }
    match (zips.len(), sent.files.is_empty()) {
        (0, true) => Err(AppError::bad_input(
            "files",
            "Nothing was chosen: choose the skill's folder (the one holding SKILL.md), or a zip of it.",
        )),
        (0, false) => Ok(sent),
        (1, true) => {
            let (filename, bytes) = zips.remove(0);
            sent.files = unzip(&filename, bytes)?;
            Ok(sent)
        }
        _ => Err(AppError::bad_input("files", "Send one skill at a time: a folder, or one zip, not both.")),
    }
}

/// The files of a zip, by their paths inside it, leaving out folders and what macOS adds. A zip
/// of a folder's contents (SKILL.md at its root) gets the zip's own name as its folder.
fn unzip(filename: &str, bytes: Vec<u8>) -> Result<Vec<(String, bytes::Bytes)>, AppError> {
    let bad = |why: String| AppError::bad_input("zip", why);
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| bad(format!("{filename} is not a zip file this server can open ({e}).")))?;
    let mut files = Vec::new();
    let mut total = 0u64;
    for i in 0..archive.len() {
        let entry = archive.by_index(i).map_err(|e| bad(format!("{filename} is damaged ({e}).")))?;
        if entry.is_dir() {
            continue;
        }
        let Some(path) = entry.enclosed_name() else {
            return Err(bad(format!("{filename} holds a path that leaves its folder ({:?}).", entry.name())));
        };
        let path = path.to_string_lossy().replace('\\', "/");
        if path.starts_with("__MACOSX/") || path.rsplit('/').next() == Some(".DS_Store") {
            continue;
        }
        if entry.is_symlink() {
            return Err(bad(format!("{filename} holds a symbolic link ({path}); a skill holds plain files.")));
        }
        if files.len() == MAX_FILES {
            return Err(bad(format!("{filename} holds more than {MAX_FILES} files; a skill holds at most that.")));
        }
        // The sizes a zip declares can lie: read at most what is left of the limit, plus a byte.
        let mut data = Vec::new();
        entry
            .take(MAX_SKILL_BYTES - total + 1)
            .read_to_end(&mut data)
            .map_err(|e| bad(format!("{path} in {filename} cannot be read ({e}).")))?;
        total += data.len() as u64;
        if total > MAX_SKILL_BYTES {
            return Err(too_large());
        }
        files.push((path, data.into()));
    }
    if files.iter().any(|(path, _)| path == "SKILL.md") {
        let stem = filename.rsplit(['/', '\\']).next().unwrap_or(filename);
        let folder = stem.strip_suffix(".zip").unwrap_or(stem);
        let folder = if folder.is_empty() { "skill" } else { folder };
        for (path, _) in &mut files {
            *path = format!("{folder}/{path}");
        }
    }
    Ok(files)
}

/// The upstream's multipart body: a `files[]` part per file, named by its path.
fn form(files: Vec<(String, bytes::Bytes)>, display_name: &str) -> Result<reqwest::multipart::Form, AppError> {
    let mut form = reqwest::multipart::Form::new();
    for (path, bytes) in files {
        let mime = mime_guess::from_path(&path).first_or_octet_stream();
        let part = reqwest::multipart::Part::stream(bytes)
            .file_name(path)
            .mime_str(mime.as_ref())
            .map_err(|_| AppError::internal("A file's type could not be sent."))?;
        form = form.part("files[]", part);
    }
    if !display_name.is_empty() {
        form = form.text("display_name", display_name.to_owned());
    }
    Ok(form)
}

async fn send<T: serde::de::DeserializeOwned>(
    client: &crate::upstream::UpstreamClient,
    path: &str,
    form: reqwest::multipart::Form,
    action: &str,
) -> Result<T, AppError> {
    match client.raw(reqwest::Method::POST, path).multipart(form).send().await {
        Ok(response) if response.status().is_success() => {
            response.json::<T>().await.map_err(|e| AppError::upstream(action, UpstreamError::Decode(e.to_string())))
        }
        Ok(response) => Err(AppError::upstream(action, api_error(response).await)),
        Err(error) => Err(AppError::upstream(action, UpstreamError::Unreachable(describe(error)))),
    }
}

fn too_large() -> AppError {
    AppError {
        kind: ErrorKind::BadInput,
        message: format!(
            "The skill is larger than {} in all. Leave out what the skill does not need (build outputs, data) and upload it again.",
            domain::format::bytes(MAX_SKILL_BYTES)
        ),
        field: Some("files".to_owned()),
        request_id: None,
        error_code: Some("upload_too_large".to_owned()),
    }
}

fn multipart_error(error: MultipartError) -> AppError {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return too_large();
    }
    AppError::bad_input("files", format!("The upload was cut off or malformed ({}). Send it again.", error.body_text()))
}

/// `GET /api/skills/{id}/versions/{version}/content`: the version as a zip.
pub async fn download(
    axum::Extension(client): axum::Extension<crate::upstream::UpstreamClient>,
    Path((id, version)): Path<(String, String)>,
) -> Response {
    // Ids, never paths: `..` must not reach another upstream endpoint with the key.
    if !domain::upstream::is_id(&id) || !domain::upstream::is_id(&version) {
        return error_page(AppError::not_found("That is not a skill version."));
    }
    let path = format!("/v1/skills/{id}/versions/{version}/content");
    let action = "Downloading the skill";
    match client.raw(reqwest::Method::GET, &path).header(header::ACCEPT, "application/binary").send().await {
        Ok(r) if r.status().is_success() => {
            let disposition = r.headers().get(header::CONTENT_DISPOSITION).cloned().unwrap_or_else(|| {
                HeaderValue::from_str(&format!("attachment; filename=\"{id}.zip\"")).expect("ascii")
            });
            let mut response = Response::new(Body::from_stream(r.bytes_stream()));
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/zip"));
            headers.insert(header::CONTENT_DISPOSITION, disposition);
            headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
            response
        }
        Ok(r) => error_page(AppError::upstream(action, api_error(r).await)),
        Err(e) => error_page(AppError::upstream(action, UpstreamError::Unreachable(describe(e)))),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, data) in entries {
            writer.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
            writer.write_all(data).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    #[test]
    fn a_zip_of_a_folder_keeps_its_paths_and_drops_what_macos_adds() {
        let bytes =
            zip_of(&[("report/SKILL.md", b"---"), ("__MACOSX/report/._SKILL.md", b"x"), ("report/.DS_Store", b"")]);
        let files = unzip("report.zip", bytes).unwrap();
        assert_eq!(files.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(), ["report/SKILL.md"]);
    }

    #[test]
    fn a_zip_of_a_folders_contents_is_put_in_a_folder_named_after_it() {
        let files = unzip("weekly-report.zip", zip_of(&[("SKILL.md", b"---"), ("a/b.txt", b"b")])).unwrap();
        let paths: Vec<_> = files.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, ["weekly-report/SKILL.md", "weekly-report/a/b.txt"]);
    }

    #[test]
    fn a_zip_that_escapes_its_folder_or_unpacks_too_large_is_refused() {
        let escaping = unzip("evil.zip", zip_of(&[("../etc/passwd", b"x")])).unwrap_err();
        assert!(escaping.to_string().contains("leaves its folder"), "{escaping}");
        let big = vec![0u8; MAX_SKILL_BYTES as usize + 1];
        let bomb = unzip("big.zip", zip_of(&[("big/SKILL.md", b"---"), ("big/zeros", &big)])).unwrap_err();
        assert_eq!(bomb.error_code.as_deref(), Some("upload_too_large"), "{bomb}");
        assert!(unzip("x.zip", b"not a zip".to_vec()).unwrap_err().to_string().contains("not a zip"));
    }
}
