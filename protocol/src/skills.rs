//! Skills (GA in SDK 2.11.0): uploaded bundles of instructions and files an agent can load.
//!
//! SDK: `types/skill.py`, `types/skills/skill_version.py`, `deleted_skill.py`,
//! `skills/deleted_skill_version.py` (the `beta/` copies are identical).

use serde::{Deserialize, Serialize};

use crate::common::{Deleted, Page, Timestamp};

crate::literal_type! {
    /// `"skill"`.
    pub SkillTag = "skill"
}
crate::literal_type! {
    /// `"skill_version"`.
    pub SkillVersionTag = "skill_version"
}
crate::literal_type! {
    /// `"skill_deleted"`.
    pub SkillDeletedTag = "skill_deleted"
}
crate::literal_type! {
    /// `"skill_version_deleted"`.
    pub SkillVersionDeletedTag = "skill_version_deleted"
}

/// A skill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Skill {
    /// `skill_…`.
    pub id: String,
    pub created_at: Timestamp,
    /// Single-line label; not unique.
    pub display_name: String,
    /// What `latest` resolves to.
    pub latest_version_id: String,
    pub source: SkillSource,
    pub r#type: SkillTag,
    pub updated_at: Timestamp,
}

/// Where a skill comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkillSource {
    pub r#type: SkillSourceKind,
}

/// The kinds of [`SkillSource`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkillSourceKind {
    /// Authored by the user; private to the workspace.
    Custom,
    /// Published by Anthropic; read-only.
    Anthropic,
    AnthropicExample,
    /// Resolved from an installed plugin.
    Plugin,
    #[serde(untagged)]
    Other(String),
}

/// One uploaded version of a skill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkillVersion {
    pub id: String,
    pub created_at: Timestamp,
    /// From the SKILL.md of the upload.
    pub description: String,
    /// The skill's immutable kebab-case slug.
    pub name: String,
    pub skill_id: String,
    pub r#type: SkillVersionTag,
}

/// `GET /v1/skills`.
pub type SkillPage = Page<Skill>;
/// `GET /v1/skills/{id}/versions`.
pub type SkillVersionPage = Page<SkillVersion>;
/// `DELETE /v1/skills/{id}`.
pub type SkillDeleted = Deleted<SkillDeletedTag>;
/// `DELETE /v1/skills/{id}/versions/{version}`.
pub type SkillVersionDeleted = Deleted<SkillVersionDeletedTag>;
