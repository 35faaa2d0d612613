//! Skills: the library (custom and Anthropic's), a skill with its versions, deletes, and the
//! choices the agent form picks from. Uploads and downloads move bytes, so they are plain routes
//! of the server (`server/src/records/skills.rs`), not server functions.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use macros::access;
use protocol::{
    common::Page,
    skills::{Skill, SkillSourceKind, SkillVersion},
};
use serde::{Deserialize, Serialize};

pub use domain::skills::Uploaded;

use super::JsonResponse;
#[cfg(feature = "ssr")]
use super::server::{delete, paging, segment, upstream, walk};
use crate::error::AppError;

/// Who publishes a skill, in the words the library uses.
pub fn source_words(source: &SkillSourceKind) -> String {
    match source {
        SkillSourceKind::Custom => "custom".to_owned(),
        SkillSourceKind::Anthropic => "Anthropic".to_owned(),
        SkillSourceKind::AnthropicExample => "Anthropic example".to_owned(),
        SkillSourceKind::Plugin => "plugin".to_owned(),
        SkillSourceKind::Other(other) => other.clone(),
    }
}

/// A skill as the library lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkillRow {
    pub id: String,
    pub display_name: String,
    pub source: String,
    /// Whether it is the workspace's own (versions can be uploaded and deleted).
    pub custom: bool,
    pub latest_version_id: String,
    pub created_at: String,
    pub updated_at: String,
}

impl SkillRow {
    pub fn of(skill: &Skill) -> Self {
        Self {
            id: skill.id.clone(),
            display_name: skill.display_name.clone(),
            source: source_words(&skill.source.r#type),
            custom: skill.source.r#type == SkillSourceKind::Custom,
            latest_version_id: skill.latest_version_id.clone(),
            created_at: skill.created_at.clone(),
            updated_at: skill.updated_at.clone(),
        }
    }
}

/// A version as a skill's page lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkillVersionRow {
    pub id: String,
    pub name: String,
    pub description: String,
    pub created_at: String,
}

impl SkillVersionRow {
    pub fn of(version: &SkillVersion) -> Self {
        Self {
            id: version.id.clone(),
            name: version.name.clone(),
            description: version.description.clone(),
            created_at: version.created_at.clone(),
        }
    }
}

/// A skill the agent form can pick: `anthropic` or `custom` as the agent's reference says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkillChoice {
    pub id: String,
    pub label: String,
    /// `anthropic` or `custom`: the `type` of an agent's reference to it.
    pub kind: String,
}

/// The library's two shelves: the workspace's own skills and Anthropic's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Shelf {
    Custom,
    Anthropic,
}

impl Shelf {
    pub fn parse(text: Option<&str>) -> Shelf {
        if text == Some("anthropic") { Shelf::Anthropic } else { Shelf::Custom }
    }

    pub fn query(self) -> &'static str {
        match self {
            Shelf::Custom => "custom",
            Shelf::Anthropic => "anthropic",
        }
    }
}

#[cfg(feature = "ssr")]
pub(crate) fn skill_path(id: &str) -> Result<String, AppError> {
    Ok(format!("/v1/skills/{}", segment(id)?))
}

#[access(Viewer)]
#[server(endpoint = "skills/list", input = GetUrl, output = JsonResponse)]
pub async fn list_skills(shelf: Shelf, page: Option<String>) -> Result<Page<SkillRow>, AppError> {
    let mut query = paging(50, page);
    query.push(("source".to_owned(), shelf.query().to_owned()));
    let page: Page<Skill> =
        upstream()?.get("/v1/skills", query).await.map_err(|e| AppError::upstream("Listing skills", e))?;
    Ok(page.map(|s| SkillRow::of(&s)))
}

#[access(Viewer)]
#[server(endpoint = "skills/get", input = GetUrl, output = JsonResponse)]
pub async fn get_skill(id: String) -> Result<SkillRow, AppError> {
    upstream()?
        .get(&skill_path(&id)?, vec![])
        .await
        .map(|s: Skill| SkillRow::of(&s))
        .map_err(|e| AppError::upstream("Loading the skill", e))
}

/// A page of a skill's versions, newest first.
#[access(Viewer)]
#[server(endpoint = "skills/versions", input = GetUrl, output = JsonResponse)]
pub async fn list_skill_versions(id: String, page: Option<String>) -> Result<Page<SkillVersionRow>, AppError> {
    let page: Page<SkillVersion> = upstream()?
        .get(&format!("{}/versions", skill_path(&id)?), paging(50, page))
        .await
        .map_err(|e| AppError::upstream("Listing the skill's versions", e))?;
    Ok(page.map(|v| SkillVersionRow::of(&v)))
}

/// Every skill of both shelves (up to [`MAX_CHOICES`](super::MAX_CHOICES) each), for the agent
/// form's picker.
#[access(Viewer)]
#[server(endpoint = "skills/choices", input = GetUrl, output = JsonResponse)]
pub async fn list_skill_choices() -> Result<Vec<SkillChoice>, AppError> {
    let mut choices = Vec::new();
    for (source, kind) in [("custom", "custom"), ("anthropic", "anthropic")] {
        let query = vec![("source".to_owned(), source.to_owned())];
        let skills: Vec<Skill> = walk("/v1/skills", "Listing skills", query, super::MAX_CHOICES).await?;
        choices.extend(skills.into_iter().map(|s| SkillChoice {
            label: if s.display_name.is_empty() { s.id.clone() } else { s.display_name },
            id: s.id,
            kind: kind.to_owned(),
        }));
    }
    Ok(choices)
}

/// Deletes a skill and every version of it.
#[access(Admin)]
#[server(endpoint = "skills/delete", output = JsonResponse)]
pub async fn delete_skill(id: String) -> Result<(), AppError> {
    delete(&skill_path(&id)?, "Deleting the skill").await
}

#[access(Admin)]
#[server(endpoint = "skills/delete_version", output = JsonResponse)]
pub async fn delete_skill_version(id: String, version: String) -> Result<(), AppError> {
    delete(&format!("{}/versions/{}", skill_path(&id)?, segment(&version)?), "Deleting the version").await
}
