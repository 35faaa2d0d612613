//! Skills: an upload checked as the API checks it (one top folder holding a `SKILL.md` whose
//! front matter names and describes the skill), its versions kept on disk, `latest` resolved, a
//! version zipped for download, and the skills a session mounts.
//!
//! A version's files live under `<data>/skills/<version id>/` with the upload's top folder
//! stripped; a session sees them read-only at `/workspace/skills/<name>/`, where the SDK's
//! `EnvironmentWorker` puts an agent's skills (`{workdir}/skills/<name>/`).

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use axum::body::Bytes;
use protocol::{
    agents::Skill as SkillRefKind,
    skills::{Skill, SkillSource, SkillSourceKind, SkillTag, SkillVersion, SkillVersionTag},
};
use serde::Deserialize;
use serde_json::Value;

use super::{Paging, body_of};
use crate::{
    EngineState,
    error::{ApiError, ApiResult, Cause},
    ids::{new_id, now},
    store::skills::NewSkillVersion,
    store::{Filter, from_json, json, to_json},
};

/// Most files one upload may hold.
pub const MAX_FILES: usize = 1_000;
/// Longest path of a file in an upload, in bytes.
const MAX_PATH_BYTES: usize = 1_024;
/// `name` in SKILL.md: a kebab-case slug of at most this many characters.
const MAX_NAME_CHARS: usize = 64;
const MAX_DESCRIPTION_CHARS: usize = 1_024;
const MAX_DISPLAY_NAME_CHARS: usize = 255;
/// Where a session finds its skills.
pub const MOUNT_ROOT: &str = "/workspace/skills";

/// One part of an upload: its path as sent (`my-skill/SKILL.md`) and its bytes.
#[derive(Debug, Clone)]
pub struct UploadedFile {
    pub path: String,
    pub bytes: Bytes,
}

/// An upload that passed every check.
#[derive(Debug)]
pub struct Bundle {
    pub name: String,
    pub description: String,
    /// (path under the top folder, bytes).
    pub files: Vec<(String, Bytes)>,
}

/// The fields of SKILL.md's front matter the API reads; the rest is the skill's own business.
#[derive(Debug, Default, Deserialize)]
struct FrontMatter {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

/// Why an upload is not a skill: the API's 400, saying what to do.
#[derive(Debug, thiserror::Error)]
pub enum UploadProblem {
    #[error(
        "No files in the upload: send each file of the skill's folder as a part named files[], SKILL.md among them."
    )]
    NoFiles,
    #[error("The upload holds {0} files; a skill holds at most {MAX_FILES}.")]
    TooManyFiles(usize),
    #[error("{0}")]
    Path(PathProblem),
    #[error("{0:?} is not inside a folder: put every file of the skill in one top-level folder (my-skill/SKILL.md).")]
    NotInAFolder(String),
    /// The top-level folders, in order.
    #[error(
        "The upload has {} top-level folders ({}); a skill is one folder. Upload each as its own skill.",
        .0.len(),
        .0.iter().map(|top| format!("{top}/")).collect::<Vec<_>>().join(", ")
    )]
    SeveralFolders(Vec<String>),
    #[error("{top}/{path} is in the upload twice; send each file once.")]
    Twice { top: String, path: String },
    #[error(
        "No SKILL.md in {top}/: a skill's folder must hold a SKILL.md at its root, with a front matter naming and describing it."
    )]
    NoSkillMd { top: String },
    #[error("{top}/SKILL.md is not UTF-8 text.")]
    NotText { top: String },
    #[error("{top}/SKILL.md: {problem}")]
    FrontMatter { top: String, problem: FrontMatterProblem },
    #[error("{top}/SKILL.md: name {name:?} {problem}")]
    Name { top: String, name: String, problem: NameProblem },
    #[error(
        "{top}/SKILL.md names no skill, and the folder's name {top:?} {problem}; add a name: line to the front matter."
    )]
    FolderName { top: String, problem: NameProblem },
    #[error(
        "{top}/SKILL.md has no description: add a description: line to its front matter saying what the skill does and when to use it."
    )]
    NoDescription { top: String },
    #[error("{top}/SKILL.md: the description is {chars} characters; at most {MAX_DESCRIPTION_CHARS}.")]
    LongDescription { top: String, chars: usize },
}

/// Why a file's path in an upload is refused: it could escape the skill's folder, or is not a
/// plain relative path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathProblem {
    #[error("A file's path is {0} bytes; at most {MAX_PATH_BYTES}.")]
    TooLong(usize),
    #[error("The path {0:?} holds a control character.")]
    ControlCharacter(String),
    #[error("The path {0:?} is absolute; send paths relative to the skill's folder's parent.")]
    Absolute(String),
    #[error("The path {0:?} has an empty, . or .. segment.")]
    BadSegment(String),
}

/// Why a name is not a skill's (the words follow the name).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameProblem {
    #[error("is not a kebab-case slug (lowercase letters, digits and single hyphens)")]
    NotASlug,
    #[error("is longer than {MAX_NAME_CHARS} characters")]
    TooLong,
    #[error("uses a reserved word (anthropic, claude)")]
    Reserved,
}

/// What is wrong with SKILL.md's front matter (the words follow `SKILL.md:`).
#[derive(Debug, thiserror::Error)]
pub enum FrontMatterProblem {
    #[error("it has no front matter: start it with a line ---, then name: and description: lines, then ---.")]
    Missing,
    #[error("its front matter is not valid YAML with text name and description ({0}).")]
    NotYaml(Box<serde_saphyr::Error>),
    #[error("its front matter never ends: close it with a line ---.")]
    Unclosed,
}

/// Where this module's errors meet the API's (here: `error` may not import `domain`).
impl From<UploadProblem> for ApiError {
    fn from(problem: UploadProblem) -> Self {
        ApiError::invalid(problem.to_string())
    }
}

/// Checks an upload: every file under one top folder, that folder's `SKILL.md` with a front
/// matter that describes the skill and names it (or the folder does), no path twice.
pub fn bundle(files: Vec<UploadedFile>) -> Result<Bundle, UploadProblem> {
    if files.is_empty() {
        return Err(UploadProblem::NoFiles);
    }
    if files.len() > MAX_FILES {
        return Err(UploadProblem::TooManyFiles(files.len()));
    }
    let mut tops = std::collections::BTreeSet::new();
    let mut inside = Vec::with_capacity(files.len());
    for file in files {
        let segments = clean_path(&file.path).map_err(UploadProblem::Path)?;
        if segments.len() < 2 {
            return Err(UploadProblem::NotInAFolder(file.path));
        }
        tops.insert(segments[0].clone());
        inside.push((segments[1..].join("/"), file.bytes));
    }
    if tops.len() > 1 {
        return Err(UploadProblem::SeveralFolders(tops.into_iter().collect()));
    }
    let top = tops.into_iter().next().unwrap_or_default();
    let mut seen = std::collections::HashSet::new();
    for (path, _) in &inside {
        if !seen.insert(path.as_str()) {
            return Err(UploadProblem::Twice { top, path: path.clone() });
        }
    }
    let Some((_, skill_md)) = inside.iter().find(|(path, _)| path == "SKILL.md") else {
        return Err(UploadProblem::NoSkillMd { top });
    };
    let Ok(text) = std::str::from_utf8(skill_md) else { return Err(UploadProblem::NotText { top }) };
    let front = match front_matter(text) {
        Ok(front) => front,
        Err(problem) => return Err(UploadProblem::FrontMatter { top, problem }),
    };
    let name = match front.name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()) {
        Some(name) => match check_name(&name) {
            Ok(()) => name,
            Err(problem) => return Err(UploadProblem::Name { top, name, problem }),
        },
        None => match check_name(&top) {
            Ok(()) => top.clone(),
            Err(problem) => return Err(UploadProblem::FolderName { top, problem }),
        },
    };
    let description = front.description.map(|d| d.trim().to_owned()).unwrap_or_default();
    if description.is_empty() {
        return Err(UploadProblem::NoDescription { top });
    }
    let chars = description.chars().count();
    if chars > MAX_DESCRIPTION_CHARS {
        return Err(UploadProblem::LongDescription { top, chars });
    }
    Ok(Bundle { name, description, files: inside })
}

/// The segments of an upload's path, refusing what could escape its folder or is not a plain
/// relative path. Backslashes count as separators (a folder zipped on Windows).
fn clean_path(raw: &str) -> Result<Vec<String>, PathProblem> {
    if raw.len() > MAX_PATH_BYTES {
        return Err(PathProblem::TooLong(raw.len()));
    }
    if raw.chars().any(char::is_control) {
        return Err(PathProblem::ControlCharacter(raw.to_owned()));
    }
    let normal = raw.replace('\\', "/");
    if normal.starts_with('/') {
        return Err(PathProblem::Absolute(raw.to_owned()));
    }
    let segments: Vec<String> = normal.split('/').map(str::to_owned).collect();
    if segments.iter().any(|s| s.is_empty() || s == "." || s == "..") {
        return Err(PathProblem::BadSegment(raw.to_owned()));
    }
    Ok(segments)
}

/// A skill's name: lowercase letters, digits and single hyphens, at most 64 characters, and not
/// a word reserved for Anthropic's own skills.
fn check_name(name: &str) -> Result<(), NameProblem> {
    let slug = !name.is_empty()
        && name
            .split('-')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
    if !slug {
        return Err(NameProblem::NotASlug);
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(NameProblem::TooLong);
    }
    if name.split('-').any(|part| part == "anthropic" || part == "claude") {
        return Err(NameProblem::Reserved);
    }
    Ok(())
}

/// The YAML front matter of SKILL.md: between a first line `---` and the next `---`.
fn front_matter(text: &str) -> Result<FrontMatter, FrontMatterProblem> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.split_inclusive('\n');
    if lines.next().map(str::trim_end) != Some("---") {
        return Err(FrontMatterProblem::Missing);
    }
    let mut yaml = String::new();
    for line in lines {
        if line.trim_end() == "---" {
            if yaml.trim().is_empty() {
                return Ok(FrontMatter::default());
            }
            return serde_saphyr::from_str::<FrontMatter>(&yaml)
                .map_err(|error| FrontMatterProblem::NotYaml(Box::new(error)));
        }
        yaml.push_str(line);
    }
    Err(FrontMatterProblem::Unclosed)
}

/// The display name sent with an upload: one line, at most 255 characters.
pub fn check_display_name(name: &str) -> ApiResult<()> {
    if name.contains(['\n', '\r']) {
        return Err(ApiError::invalid("display_name must be a single line."));
    }
    if name.chars().count() > MAX_DISPLAY_NAME_CHARS {
        return Err(ApiError::invalid(format!("display_name: at most {MAX_DISPLAY_NAME_CHARS} characters.")));
    }
    Ok(())
}

impl EngineState {
    /// A page of skills, newest first (of `source` when given).
    pub async fn list_skills(&self, source: Option<&str>, paging: Paging) -> ApiResult<Value> {
        let filters = source.map(|source| Filter::Eq("source", source.to_owned())).into_iter().collect();
        self.page(paging.query("seq, body", "skills", "seq", filters), false, body_of).await
    }

    /// A page of a skill's versions, newest first.
    pub async fn list_skill_versions(&self, skill_id: &str, paging: Paging) -> ApiResult<Value> {
        let filters = vec![Filter::Eq("skill_id", skill_id.to_owned())];
        self.page(paging.query("seq, body", "skill_versions", "seq", filters), false, body_of).await
    }

    fn skill_dir(&self, version_id: &str) -> PathBuf {
        self.config.data_dir.join("skills").join(version_id)
    }

    /// Writes a version's files under a fresh directory: the version's id.
    async fn write_bundle(&self, bundle: &Bundle) -> ApiResult<String> {
        let version_id = new_id("skillver");
        let dir = self.skill_dir(&version_id);
        let staging = dir.with_extension("part");
        let files = bundle.files.clone();
        let target = staging.clone();
        let written = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            for (path, bytes) in files {
                let at = target.join(&path);
                if let Some(parent) = at.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::File::create(&at)?.write_all(&bytes)?;
            }
            Ok(())
        })
        .await
        .map_err(ApiError::internal)?;
        if let Err(error) = written.and_then(|_| std::fs::rename(&staging, &dir)) {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(ApiError::internal(error));
        }
        Ok(version_id)
    }

    /// `POST /v1/skills`: a new custom skill with its first version.
    pub async fn create_skill(&self, files: Vec<UploadedFile>, display_name: Option<String>) -> ApiResult<Value> {
        if let Some(name) = &display_name {
            check_display_name(name)?;
        }
        let bundle = bundle(files)?;
        if let Some(id) = self.store.skill_named(&bundle.name).await? {
            return Err(name_taken(&bundle.name, &id));
        }
        let version_id = self.write_bundle(&bundle).await?;
        let at = now();
        let skill = Skill {
            id: new_id("skill"),
            created_at: at.text.clone(),
            display_name: display_name.filter(|d| !d.trim().is_empty()).unwrap_or_else(|| bundle.name.clone()),
            latest_version_id: version_id.clone(),
            source: SkillSource { r#type: SkillSourceKind::Custom },
            r#type: SkillTag,
            updated_at: at.text.clone(),
        };
        let version = version_of(&bundle, &version_id, &skill.id, &at.text);
        let stored = self.insert_skill(&skill, &version, &bundle, at.micros).await;
        match stored {
            Ok(()) => Ok(to_json(&skill)?),
            Err(error) => {
                let _ = std::fs::remove_dir_all(self.skill_dir(&version_id));
                Err(error)
            }
        }
    }

    async fn insert_skill(&self, skill: &Skill, version: &SkillVersion, bundle: &Bundle, at: i64) -> ApiResult<()> {
        let written = self
            .store
            .insert_skill(&skill.id, &bundle.name, &to_json(skill)?.to_string(), new_version(version, bundle, at)?)
            .await?;
        if !written {
            // Another upload took the name since it was checked.
            return Err(name_taken(&bundle.name, "another skill"));
        }
        Ok(())
    }

    /// `POST /v1/skills/{id}/versions`: a new version, which becomes `latest`.
    pub async fn create_skill_version(&self, skill_id: &str, files: Vec<UploadedFile>) -> ApiResult<Value> {
        let (skill, name) = self.skill(skill_id).await?;
        let bundle = bundle(files)?;
        if bundle.name != name {
            return Err(ApiError::invalid(format!(
                "This skill is named {name:?}, and the upload's SKILL.md names {:?}; a skill's name never changes. \
                 Set name: {name} in SKILL.md, or upload it as a new skill.",
                bundle.name
            )));
        }
        let version_id = self.write_bundle(&bundle).await?;
        let at = now();
        let version = version_of(&bundle, &version_id, &skill.id, &at.text);
        let stored = async {
            if !self.store.add_skill_version(new_version(&version, &bundle, at.micros)?, &at.text).await? {
                return Err(ApiError::not_found("skill", skill_id));
            }
            ApiResult::Ok(())
        }
        .await;
        match stored {
            Ok(()) => Ok(to_json(&version)?),
            Err(error) => {
                let _ = std::fs::remove_dir_all(self.skill_dir(&version_id));
                Err(error)
            }
        }
    }

    /// A custom skill and its name.
    pub async fn skill(&self, id: &str) -> ApiResult<(Skill, String)> {
        let (body, name) = self.store.skill_row(id).await?.ok_or_else(|| ApiError::not_found("skill", id))?;
        Ok((from_json(json(&body)?)?, name))
    }

    /// A version of a skill: its id, or `latest`.
    pub async fn skill_version(&self, skill_id: &str, version: &str) -> ApiResult<SkillVersion> {
        let (skill, _) = self.skill(skill_id).await?;
        let id = if version == "latest" { skill.latest_version_id.as_str() } else { version };
        let body = self.store.skill_version_body(skill_id, id).await?;
        from_json(json(&body.ok_or_else(|| ApiError::not_found("skill version", version))?)?)
    }

    /// `DELETE /v1/skills/{id}`: the skill and every version, files included.
    pub async fn delete_skill(&self, id: &str) -> ApiResult<()> {
        self.skill(id).await?;
        let versions = self.store.delete_skill(id).await?;
        for version in versions {
            let _ = std::fs::remove_dir_all(self.skill_dir(&version));
        }
        Ok(())
    }

    /// `DELETE /v1/skills/{id}/versions/{version}`. A skill always holds a version, so its only
    /// one is refused; deleting `latest` makes the newest remaining version `latest`.
    pub async fn delete_skill_version(&self, skill_id: &str, version_id: &str) -> ApiResult<()> {
        if version_id == "latest" {
            return Err(ApiError::invalid("Delete a version by its id, not by latest."));
        }
        self.skill_version(skill_id, version_id).await?;
        if !self.store.delete_skill_version(skill_id, version_id, &now().text).await? {
            return Err(ApiError::conflict(
                "This is the skill's only version, and a skill always holds one: delete the skill instead.",
            ));
        }
        let _ = std::fs::remove_dir_all(self.skill_dir(version_id));
        Ok(())
    }

    /// A version as a zip: its files under a folder named after the skill. (file name, bytes).
    pub async fn skill_zip(&self, skill_id: &str, version: &str) -> ApiResult<(String, Vec<u8>)> {
        let version = self.skill_version(skill_id, version).await?;
        let dir = self.skill_dir(&version.id);
        let name = version.name.clone();
        let bytes = tokio::task::spawn_blocking(move || zip_dir(&dir, &name))
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::internal)?;
        Ok((format!("{}.zip", version.name), bytes))
    }

    /// Refuses a custom skill reference that names no skill, or a version it does not have.
    /// Anthropic's skills are not the engine's to know, so they pass.
    pub async fn check_skills(&self, skills: &[SkillRefKind]) -> ApiResult<()> {
        for (i, skill) in skills.iter().enumerate() {
            let SkillRefKind::Custom(reference) = skill else { continue };
            self.skill_version(&reference.skill_id, &reference.version).await.map_err(|error| {
                if error.status.is_client_error() {
                    ApiError::invalid(format!(
                        "skills[{i}]: custom skill {:?} has no version {:?}; pick one from the skill library.",
                        reference.skill_id, reference.version
                    ))
                    .because(Cause::SkillNotFound)
                } else {
                    error
                }
            })?;
        }
        Ok(())
    }

    /// (directory on the host, path in the sandbox) of each custom skill of a session's agent.
    /// A skill deleted since the session started is left out, as the SDK's worker leaves out
    /// one it cannot fetch.
    pub async fn skill_mounts(&self, session: &Value) -> Vec<(PathBuf, String)> {
        let Ok(skills) = serde_json::from_value::<Vec<SkillRefKind>>(session["agent"]["skills"].clone()) else {
            return Vec::new();
        };
        let mut mounts = Vec::new();
        for skill in skills {
            let SkillRefKind::Custom(reference) = skill else { continue };
            match self.skill_version(&reference.skill_id, &reference.version).await {
                Ok(version) => {
                    mounts.push((self.skill_dir(&version.id), format!("{MOUNT_ROOT}/{}", version.name)));
                }
                Err(error) => tracing::warn!("skill {} not mounted: {}", reference.skill_id, error.message),
            }
        }
        mounts
    }
}

fn name_taken(name: &str, holder: &str) -> ApiError {
    ApiError::conflict(format!(
        "A skill named {name:?} exists already ({holder}). Upload a new version of it, or rename yours in its SKILL.md."
    ))
    .with_code("skill_name_taken")
    .with_detail("skill_name", name)
}

fn version_of(bundle: &Bundle, id: &str, skill_id: &str, at: &str) -> SkillVersion {
    SkillVersion {
        id: id.to_owned(),
        created_at: at.to_owned(),
        description: bundle.description.clone(),
        name: bundle.name.clone(),
        skill_id: skill_id.to_owned(),
        r#type: SkillVersionTag,
    }
}

/// A version as the store writes it: its object and the bundle's size.
fn new_version(version: &SkillVersion, bundle: &Bundle, at: i64) -> ApiResult<NewSkillVersion> {
    Ok(NewSkillVersion {
        id: version.id.clone(),
        skill_id: version.skill_id.clone(),
        body: to_json(version)?.to_string(),
        size_bytes: bundle.files.iter().map(|(_, bytes)| bytes.len()).sum::<usize>() as i64,
        created_us: at,
    })
}

/// Zips `dir` with every entry under `name/`, in path order.
fn zip_dir(dir: &Path, name: &str) -> std::io::Result<Vec<u8>> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let mut entries: Vec<_> = walkdir::WalkDir::new(dir)
        .follow_links(false)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| Some((e.path().strip_prefix(dir).ok()?.to_string_lossy().into_owned(), e.into_path())))
        .collect();
    entries.sort();
    for (relative, path) in entries {
        writer.start_file(format!("{name}/{relative}"), options).map_err(std::io::Error::other)?;
        writer.write_all(&std::fs::read(path)?)?;
    }
    Ok(writer.finish().map_err(std::io::Error::other)?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, text: &str) -> UploadedFile {
        UploadedFile { path: path.to_owned(), bytes: Bytes::from(text.to_owned()) }
    }

    const SKILL_MD: &str =
        "---\nname: pdf-report\ndescription: >\n  Writes PDF reports.\n  Use when asked.\n---\n# Body\n";

    #[test]
    fn a_folder_with_skill_md_is_named_and_described_by_its_front_matter() {
        let bundle =
            bundle(vec![file("report/SKILL.md", SKILL_MD), file("report/scripts/run.py", "print(1)")]).unwrap();
        assert_eq!(bundle.name, "pdf-report");
        assert_eq!(bundle.description, "Writes PDF reports. Use when asked.");
        let paths: Vec<_> = bundle.files.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, ["SKILL.md", "scripts/run.py"]);
    }

    #[test]
    fn the_folder_names_a_skill_whose_front_matter_does_not() {
        let bundle = bundle(vec![file("csv-tools\\SKILL.md", "---\ndescription: CSV.\n---\n")]).unwrap();
        assert_eq!(bundle.name, "csv-tools");
    }

    #[test]
    fn uploads_the_api_refuses_are_refused_with_what_to_do() {
        let refused = |files: Vec<UploadedFile>| bundle(files).unwrap_err();
        let front = |text: &str| refused(vec![file("a/SKILL.md", text)]);
        assert!(matches!(refused(vec![]), UploadProblem::NoFiles));
        assert!(matches!(refused(vec![file("SKILL.md", SKILL_MD)]), UploadProblem::NotInAFolder(_)));
        let two = refused(vec![file("a/SKILL.md", SKILL_MD), file("b/x.md", "")]);
        assert!(matches!(&two, UploadProblem::SeveralFolders(tops) if tops == &["a", "b"]), "{two:?}");
        assert!(matches!(refused(vec![file("a/README.md", "")]), UploadProblem::NoSkillMd { .. }));
        let escaping = refused(vec![file("a/../SKILL.md", SKILL_MD)]);
        assert!(matches!(escaping, UploadProblem::Path(PathProblem::BadSegment(_))), "{escaping:?}");
        let absolute = refused(vec![file("/a/SKILL.md", SKILL_MD)]);
        assert!(matches!(absolute, UploadProblem::Path(PathProblem::Absolute(_))), "{absolute:?}");
        let missing = front("# no front matter");
        assert!(matches!(missing, UploadProblem::FrontMatter { problem: FrontMatterProblem::Missing, .. }));
        assert!(matches!(front("---\nname: ok\n---\n"), UploadProblem::NoDescription { .. }));
        let slug = front("---\nname: Not A Slug\ndescription: d\n---\n");
        assert!(matches!(slug, UploadProblem::Name { problem: NameProblem::NotASlug, .. }), "{slug:?}");
        let reserved = front("---\nname: claude-helper\ndescription: d\n---\n");
        assert!(matches!(reserved, UploadProblem::Name { problem: NameProblem::Reserved, .. }), "{reserved:?}");
        let yaml = front("---\nname: [unclosed\n---\n");
        assert!(matches!(yaml, UploadProblem::FrontMatter { problem: FrontMatterProblem::NotYaml(_), .. }));
        let twice = refused(vec![file("a/SKILL.md", SKILL_MD), file("a/SKILL.md", SKILL_MD)]);
        assert!(matches!(twice, UploadProblem::Twice { .. }));
        // The API's 400, in the words a client reads.
        let folder = ApiError::from(refused(vec![file("My Skill/SKILL.md", "---\ndescription: d\n---\n")]));
        assert_eq!(
            folder.message,
            "My Skill/SKILL.md names no skill, and the folder's name \"My Skill\" is not a kebab-case slug (lowercase letters, digits and single hyphens); add a name: line to the front matter."
        );
    }

    #[test]
    fn a_zipped_version_holds_its_files_under_the_skills_name() {
        let dir = std::env::temp_dir().join(format!("skill-zip-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("scripts")).unwrap();
        std::fs::write(dir.join("SKILL.md"), SKILL_MD).unwrap();
        std::fs::write(dir.join("scripts/run.py"), "print(1)").unwrap();
        let bytes = zip_dir(&dir, "pdf-report").unwrap();
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let names: Vec<String> = archive.file_names().map(|n| n.unwrap().into_owned()).collect();
        assert_eq!(names, ["pdf-report/SKILL.md", "pdf-report/scripts/run.py"]);
        let mut text = String::new();
        std::io::Read::read_to_string(&mut archive.by_name("pdf-report/SKILL.md").unwrap(), &mut text).unwrap();
        assert_eq!(text, SKILL_MD);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
