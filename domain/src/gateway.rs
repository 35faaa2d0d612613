//! The access table of Switchboard's Managed Agents API (`/v1/…`, `server/src/gateway/`): every
//! method and path the gateway passes to a workspace's upstream, the role it needs, and the
//! console's endpoint for the same act. A person's token can do through the API exactly what
//! their roles let them do in the console: `server/tests/gateway.rs` checks each row's role
//! against the console endpoint it names, through the console's own access table.
//!
//! What is not here is not passed on: a self-hosted environment's work routes (workers call the
//! upstream with their environment key), and anything the API does not serve.

use crate::auth::Role::{self, Admin, Approver, Operator, Viewer};

/// One method and path of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiRoute {
    pub method: &'static str,
    /// `{…}` stands for one segment, an id.
    pub path: &'static str,
    /// The role it needs. Sending events is judged event by event ([`event_role`]): this row
    /// needs only a role that can send one of them.
    pub role: Role,
    /// The console's endpoint for the same act (`POST /api/agents/create`), when it has one.
    pub console: Option<&'static str>,
    /// What the audit log calls it (`agents.create`).
    pub action: &'static str,
}

const fn route(
    method: &'static str,
    path: &'static str,
    role: Role,
    console: Option<&'static str>,
    action: &'static str,
) -> ApiRoute {
    ApiRoute { method, path, role, console, action }
}

/// The path of sending events to a session, whose events are judged one by one.
pub const SEND_EVENTS: &str = "/v1/sessions/{}/events";

/// Every route the gateway passes on. Reads need a viewer; writes the role of the console's act;
/// archiving and deleting an admin, as in the console.
pub const ROUTES: &[ApiRoute] = &[
    route("GET", "/v1/agents", Viewer, None, "agents.list"),
    route("POST", "/v1/agents", Operator, Some("POST /api/agents/create"), "agents.create"),
    route("GET", "/v1/agents/{}", Viewer, None, "agents.retrieve"),
    route("POST", "/v1/agents/{}", Operator, Some("POST /api/agents/update"), "agents.update"),
    route("POST", "/v1/agents/{}/archive", Admin, Some("POST /api/agents/archive"), "agents.archive"),
    route("GET", "/v1/agents/{}/versions", Viewer, None, "agents.versions"),
    route("GET", "/v1/environments", Viewer, None, "environments.list"),
    route("POST", "/v1/environments", Operator, Some("POST /api/environments/save"), "environments.create"),
    route("GET", "/v1/environments/{}", Viewer, None, "environments.retrieve"),
    route("POST", "/v1/environments/{}", Operator, Some("POST /api/environments/save"), "environments.update"),
    route("DELETE", "/v1/environments/{}", Admin, Some("POST /api/environments/delete"), "environments.delete"),
    route("POST", "/v1/environments/{}/archive", Admin, Some("POST /api/environments/archive"), "environments.archive"),
    route("GET", "/v1/sessions", Viewer, None, "sessions.list"),
    route("POST", "/v1/sessions", Operator, Some("POST /api/sessions/create"), "sessions.create"),
    route("GET", "/v1/sessions/{}", Viewer, None, "sessions.retrieve"),
    route("POST", "/v1/sessions/{}", Operator, Some("POST /api/sessions/budget"), "sessions.update"),
    route("DELETE", "/v1/sessions/{}", Admin, Some("POST /api/sessions/delete"), "sessions.delete"),
    route("POST", "/v1/sessions/{}/archive", Admin, Some("POST /api/sessions/archive"), "sessions.archive"),
    route("GET", "/v1/sessions/{}/events", Viewer, None, "sessions.events.list"),
    route("POST", SEND_EVENTS, Viewer, None, "sessions.events.send"),
    route(
        "GET",
        "/v1/sessions/{}/events/stream",
        Viewer,
        Some("GET /api/sessions/{}/stream"),
        "sessions.events.stream",
    ),
    route("GET", "/v1/sessions/{}/threads", Viewer, None, "sessions.threads.list"),
    route("GET", "/v1/sessions/{}/threads/{}", Viewer, None, "sessions.threads.retrieve"),
    route("POST", "/v1/sessions/{}/threads/{}/archive", Admin, None, "sessions.threads.archive"),
    route("GET", "/v1/sessions/{}/threads/{}/events", Viewer, None, "sessions.threads.events"),
    route(
        "GET",
        "/v1/sessions/{}/threads/{}/stream",
        Viewer,
        Some("GET /api/sessions/{}/threads/{}/stream"),
        "sessions.threads.stream",
    ),
    route("GET", "/v1/sessions/{}/resources", Viewer, None, "sessions.resources.list"),
    route("POST", "/v1/sessions/{}/resources", Operator, Some("POST /api/sessions/mount"), "sessions.resources.add"),
    route("GET", "/v1/sessions/{}/resources/{}", Viewer, None, "sessions.resources.retrieve"),
    route(
        "POST",
        "/v1/sessions/{}/resources/{}",
        Operator,
        Some("POST /api/sessions/mount"),
        "sessions.resources.update",
    ),
    route(
        "DELETE",
        "/v1/sessions/{}/resources/{}",
        Operator,
        Some("POST /api/sessions/unmount"),
        "sessions.resources.delete",
    ),
    route("GET", "/v1/vaults", Viewer, None, "vaults.list"),
    route("POST", "/v1/vaults", Admin, Some("POST /api/vaults/create"), "vaults.create"),
    route("GET", "/v1/vaults/{}", Viewer, None, "vaults.retrieve"),
    route("POST", "/v1/vaults/{}", Admin, Some("POST /api/vaults/create"), "vaults.update"),
    route("DELETE", "/v1/vaults/{}", Admin, Some("POST /api/vaults/delete"), "vaults.delete"),
    route("POST", "/v1/vaults/{}/archive", Admin, Some("POST /api/vaults/archive"), "vaults.archive"),
    route("GET", "/v1/vaults/{}/credentials", Viewer, None, "vaults.credentials.list"),
    route(
        "POST",
        "/v1/vaults/{}/credentials",
        Admin,
        Some("POST /api/vaults/credentials/create"),
        "vaults.credentials.create",
    ),
    route("GET", "/v1/vaults/{}/credentials/{}", Viewer, None, "vaults.credentials.retrieve"),
    route(
        "POST",
        "/v1/vaults/{}/credentials/{}",
        Admin,
        Some("POST /api/vaults/credentials/rotate"),
        "vaults.credentials.update",
    ),
    route(
        "DELETE",
        "/v1/vaults/{}/credentials/{}",
        Admin,
        Some("POST /api/vaults/credentials/delete"),
        "vaults.credentials.delete",
    ),
    route(
        "POST",
        "/v1/vaults/{}/credentials/{}/archive",
        Admin,
        Some("POST /api/vaults/credentials/archive"),
        "vaults.credentials.archive",
    ),
    route("POST", "/v1/vaults/{}/credentials/{}/mcp_oauth_validate", Admin, None, "vaults.credentials.validate"),
    route("GET", "/v1/deployments", Viewer, None, "deployments.list"),
    route("POST", "/v1/deployments", Operator, Some("POST /api/deployments/save"), "deployments.create"),
    route("GET", "/v1/deployments/{}", Viewer, None, "deployments.retrieve"),
    route("POST", "/v1/deployments/{}", Operator, Some("POST /api/deployments/save"), "deployments.update"),
    route("POST", "/v1/deployments/{}/archive", Admin, Some("POST /api/deployments/archive"), "deployments.archive"),
    route("POST", "/v1/deployments/{}/pause", Operator, Some("POST /api/deployments/pause"), "deployments.pause"),
    route("POST", "/v1/deployments/{}/unpause", Operator, Some("POST /api/deployments/pause"), "deployments.unpause"),
    route("POST", "/v1/deployments/{}/run", Operator, Some("POST /api/deployments/run"), "deployments.run"),
    route("GET", "/v1/deployment_runs", Viewer, None, "deployment_runs.list"),
    route("GET", "/v1/deployment_runs/{}", Viewer, None, "deployment_runs.retrieve"),
    route("GET", "/v1/memory_stores", Viewer, None, "memory_stores.list"),
    route("POST", "/v1/memory_stores", Operator, Some("POST /api/memory/save"), "memory_stores.create"),
    route("GET", "/v1/memory_stores/{}", Viewer, None, "memory_stores.retrieve"),
    route("POST", "/v1/memory_stores/{}", Operator, Some("POST /api/memory/save"), "memory_stores.update"),
    route("DELETE", "/v1/memory_stores/{}", Admin, Some("POST /api/memory/delete"), "memory_stores.delete"),
    route("POST", "/v1/memory_stores/{}/archive", Admin, Some("POST /api/memory/archive"), "memory_stores.archive"),
    route("GET", "/v1/memory_stores/{}/memories", Viewer, None, "memory_stores.memories.list"),
    route(
        "POST",
        "/v1/memory_stores/{}/memories",
        Operator,
        Some("POST /api/memory/write"),
        "memory_stores.memories.create",
    ),
    route("GET", "/v1/memory_stores/{}/memories/{}", Viewer, None, "memory_stores.memories.retrieve"),
    route(
        "POST",
        "/v1/memory_stores/{}/memories/{}",
        Operator,
        Some("POST /api/memory/write"),
        "memory_stores.memories.update",
    ),
    route(
        "DELETE",
        "/v1/memory_stores/{}/memories/{}",
        Admin,
        Some("POST /api/memory/forget"),
        "memory_stores.memories.delete",
    ),
    route("GET", "/v1/memory_stores/{}/memory_versions", Viewer, None, "memory_stores.versions.list"),
    route("GET", "/v1/memory_stores/{}/memory_versions/{}", Viewer, None, "memory_stores.versions.retrieve"),
    route(
        "POST",
        "/v1/memory_stores/{}/memory_versions/{}/redact",
        Admin,
        Some("POST /api/memory/redact"),
        "memory_stores.versions.redact",
    ),
    route("GET", "/v1/files", Viewer, None, "files.list"),
    route("POST", "/v1/files", Operator, Some("POST /api/files"), "files.upload"),
    route("GET", "/v1/files/{}", Viewer, None, "files.retrieve"),
    route("DELETE", "/v1/files/{}", Admin, Some("POST /api/files/delete"), "files.delete"),
    route("GET", "/v1/files/{}/content", Viewer, Some("GET /api/files/{}/content"), "files.content"),
    route("GET", "/v1/skills", Viewer, None, "skills.list"),
    route("POST", "/v1/skills", Operator, Some("POST /api/skills"), "skills.create"),
    route("GET", "/v1/skills/{}", Viewer, None, "skills.retrieve"),
    route("DELETE", "/v1/skills/{}", Admin, Some("POST /api/skills/delete"), "skills.delete"),
    route("GET", "/v1/skills/{}/versions", Viewer, None, "skills.versions.list"),
    route("POST", "/v1/skills/{}/versions", Operator, Some("POST /api/skills/{}/versions"), "skills.versions.create"),
    route("GET", "/v1/skills/{}/versions/{}", Viewer, None, "skills.versions.retrieve"),
    route(
        "DELETE",
        "/v1/skills/{}/versions/{}",
        Admin,
        Some("POST /api/skills/delete_version"),
        "skills.versions.delete",
    ),
    route(
        "GET",
        "/v1/skills/{}/versions/{}/content",
        Viewer,
        Some("GET /api/skills/{}/versions/{}/content"),
        "skills.versions.content",
    ),
    route("GET", "/v1/models", Viewer, None, "models.list"),
    route("GET", "/v1/models/{}", Viewer, None, "models.retrieve"),
];

/// Whether `path` is Switchboard's Managed Agents API: programs with a token, never a page,
/// answered in the API's own error shape.
pub fn is_api(path: &str) -> bool {
    path.starts_with("/v1/")
}

/// The route `method path` is an instance of, with the ids in its `{}` segments; `None` for what
/// the gateway does not pass on.
pub fn route_of(method: &str, path: &str) -> Option<(&'static ApiRoute, Vec<String>)> {
    let segments: Vec<&str> = path.split('/').collect();
    ROUTES.iter().filter(|r| r.method.eq_ignore_ascii_case(method)).find_map(|route| {
        let pattern: Vec<&str> = route.path.split('/').collect();
        if pattern.len() != segments.len() {
            return None;
        }
        let mut ids = Vec::new();
        for (p, s) in pattern.iter().zip(&segments) {
            if *p == "{}" {
                if !crate::upstream::is_id(s) {
                    return None;
                }
                ids.push((*s).to_owned());
            } else if p != s {
                return None;
            }
        }
        Some((route, ids))
    })
}

/// The role sending an event of type `kind` needs, as the console's act for it does: a tool
/// call's confirmation and a custom tool's result are an approver's (the card's Allow and
/// Answer), the rest an operator's (a message, an interrupt, an outcome).
pub fn event_role(kind: &str) -> Role {
    if is_decision(kind) { Approver } else { Operator }
}

/// Whether an event of type `kind` decides a waiting call, and so goes through Switchboard's
/// approval service (its policy, its approvers, its records) rather than straight upstream.
pub fn is_decision(kind: &str) -> bool {
    matches!(kind, "user.tool_confirmation" | "user.custom_tool_result")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_finds_its_route_and_ids() {
        let (route, ids) = route_of("POST", "/v1/sessions/sesn_01/events").unwrap();
        assert_eq!((route.path, ids), (SEND_EVENTS, vec!["sesn_01".to_owned()]));
        let (route, ids) = route_of("GET", "/v1/sessions/sesn_01/threads/sthr_2/stream").unwrap();
        assert_eq!((route.action, ids.len()), ("sessions.threads.stream", 2));
        assert_eq!(route_of("get", "/v1/agents").unwrap().0.role, Viewer);
        assert_eq!(route_of("POST", "/v1/agents/agent_1/archive").unwrap().0.role, Admin);
    }

    #[test]
    fn what_is_not_in_the_table_is_not_passed_on() {
        // Workers call the upstream with their environment key, never through the gateway.
        assert!(route_of("GET", "/v1/environments/env_1/work/poll").is_none());
        assert!(route_of("POST", "/v1/environments/env_1/work/w_1/ack").is_none());
        assert!(route_of("GET", "/v1/agents/../vaults").is_none(), "an id is one safe segment");
        assert!(route_of("PUT", "/v1/agents").is_none());
        assert!(route_of("GET", "/v1/agents/").is_none());
    }

    #[test]
    fn every_route_is_listed_once_and_writes_need_more_than_reading() {
        for (i, a) in ROUTES.iter().enumerate() {
            assert!(ROUTES[i + 1..].iter().all(|b| (a.method, a.path) != (b.method, b.path)), "{a:?} twice");
            if a.method == "GET" {
                assert_eq!(a.role, Viewer, "{a:?}");
            } else if a.path != SEND_EVENTS {
                assert_ne!(a.role, Viewer, "{a:?}");
            }
        }
        assert_eq!(event_role("user.tool_confirmation"), Approver);
        assert_eq!(event_role("user.custom_tool_result"), Approver);
        assert_eq!(event_role("user.message"), Operator);
    }
}
