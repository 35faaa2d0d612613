//! Which `anthropic-beta` each resource family of the API takes (SDK 2.11.0, wire reference §7.1).
//!
//! One table, read by the engine (which refuses a request without a beta its family accepts) and
//! by the upstream client (which sends the family's own). A family missing here takes no beta
//! header.

use crate::{AGENT_MEMORY_BETA, MANAGED_AGENTS_BETA};

/// `(first path segment after /v1/, beta it takes)`: the one the SDK sends.
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

/// Betas a family accepts besides its own: memory stores answer a request sent with the Managed
/// Agents beta too (SDK 2.11.0's docstrings: "requests must send `agent-memory-2026-07-22` or
/// `managed-agents-2026-04-01`"), though the SDK itself sends the memory beta.
pub const ALSO_ACCEPTED: &[(&str, &str)] = &[("memory_stores", MANAGED_AGENTS_BETA)];

/// The beta `path` needs, if any (`None` also for a path of no family this table knows).
pub fn beta_for(path: &str) -> Option<&'static str> {
    let family = family(path)?;
    FAMILIES.iter().find(|(name, _)| *name == family).and_then(|(_, beta)| *beta)
}

/// Whether `beta` opens `path`: its family's own beta, or one the family also accepts.
pub fn accepts(path: &str, beta: &str) -> bool {
    beta_for(path) == Some(beta)
        || family(path).is_some_and(|f| ALSO_ACCEPTED.iter().any(|(name, other)| *name == f && *other == beta))
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

    #[test]
    fn memory_stores_also_open_with_the_managed_agents_beta() {
        assert!(accepts("/v1/memory_stores/memstore_1", AGENT_MEMORY_BETA));
        assert!(accepts("/v1/memory_stores", MANAGED_AGENTS_BETA));
        assert!(!accepts("/v1/sessions", AGENT_MEMORY_BETA));
    }
}
