//! Which `anthropic-beta` each resource family of the API takes (SDK 2.11.0, wire reference §7.1).
//!
//! One table, read by the engine (which refuses a request without its family's beta) and by the
//! upstream client (which sends it). A family missing here takes no beta header.

use crate::{AGENT_MEMORY_BETA, MANAGED_AGENTS_BETA};

/// `(first path segment after /v1/, beta it takes)`.
pub const FAMILIES: &[(&str, Option<&str>)] = &[
    ("agents", Some(MANAGED_AGENTS_BETA)),
    ("environments", Some(MANAGED_AGENTS_BETA)),
    ("sessions", Some(MANAGED_AGENTS_BETA)),
    ("vaults", Some(MANAGED_AGENTS_BETA)),
    ("deployments", Some(MANAGED_AGENTS_BETA)),
    ("deployment_runs", Some(MANAGED_AGENTS_BETA)),
    ("memory_stores", Some(AGENT_MEMORY_BETA)),
    ("files", None),
    ("skills", None),
    ("models", None),
    ("messages", None),
];

/// The resource family of an API path: `/v1/sessions/sesn_1/events` is `sessions`.
pub fn family(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/v1/")?;
    rest.split(['/', '?']).next().filter(|f| !f.is_empty())
}

/// The beta `path` needs, if any (`None` also for a path of no family this table knows).
pub fn beta_for(path: &str) -> Option<&'static str> {
    let family = family(path)?;
    FAMILIES.iter().find(|(name, _)| *name == family).and_then(|(_, beta)| *beta)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_family_takes_the_beta_the_sdk_sends() {
        assert_eq!(beta_for("/v1/agents"), Some(MANAGED_AGENTS_BETA));
        assert_eq!(beta_for("/v1/sessions/sesn_1/threads/sthr_1/stream"), Some(MANAGED_AGENTS_BETA));
        assert_eq!(beta_for("/v1/vaults/vlt_1/credentials"), Some(MANAGED_AGENTS_BETA));
        assert_eq!(beta_for("/v1/deployments/depl_1/run"), Some(MANAGED_AGENTS_BETA));
        assert_eq!(beta_for("/v1/deployment_runs?deployment_id=depl_1"), Some(MANAGED_AGENTS_BETA));
        assert_eq!(beta_for("/v1/memory_stores/memstore_1/memories"), Some(AGENT_MEMORY_BETA));
        assert_eq!(beta_for("/v1/files/file_1/content"), None);
        assert_eq!(beta_for("/v1/skills/skill_1/versions"), None);
        assert_eq!(beta_for("/healthz"), None);
    }
}
