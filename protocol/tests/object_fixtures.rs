//! Every fixture under `fixtures/objects/` and `fixtures/requests/` (except the event-request
//! folders `events_*`) parses as its Rust type and re-serializes to the same JSON, and the
//! fixtures that exist to exercise union variants do not fall into an `Unknown` arm.

use crate::support;

use protocol::agents::{
    Agent, AgentCreate, AgentToolConfig, AgentUpdate, BashInput, EditInput, GlobInput, GrepInput, ModelParam,
    Multiagent, ReadInput, Tool, ToolParams, WriteInput,
};
use protocol::environments::{
    Environment, EnvironmentCreate, EnvironmentDeleted, EnvironmentUpdate, Work, WorkQueueStats,
};
use protocol::error::{ErrorResponse, ErrorType};
use protocol::files::{FileDeleted, FileMetadata};
use protocol::memory::{
    Memory, MemoryCreate, MemoryDeleted, MemoryListItem, MemoryStore, MemoryStoreCreate, MemoryStoreDeleted,
    MemoryStoreUpdate, MemoryUpdate, MemoryVersion,
};
use protocol::sessions::{
    Session, SessionAgentObject, SessionAgentParam, SessionCreate, SessionDeleted, SessionMultiagent, SessionResource,
    SessionResourceAdd, SessionResourceDeleted, SessionThread, SessionUpdate, ThreadAgent,
};
use protocol::skills::{Skill, SkillDeleted, SkillVersion, SkillVersionDeleted};
use protocol::vaults::{
    Credential, CredentialAuth, CredentialAuthCreate, CredentialCreate, CredentialDeleted, CredentialUpdate,
    CredentialValidation, Vault, VaultCreate, VaultDeleted, VaultUpdate,
};

fn known_resource(resource: &SessionResource, path: &std::path::Path) {
    assert!(!matches!(resource, SessionResource::Unknown(_)), "{}: unknown resource {resource:?}", path.display());
}

fn known_tools(tools: &[Tool], path: &std::path::Path) {
    for tool in tools {
        assert!(!matches!(tool, Tool::Unknown(_)), "{}: unknown tool {tool:?}", path.display());
        if let Tool::AgentToolset(set) = tool {
            for config in &set.configs {
                assert!(
                    !matches!(config, AgentToolConfig::Unknown(_)),
                    "{}: unknown tool config {config:?}",
                    path.display()
                );
            }
        }
    }
}

#[test]
fn object_fixtures_round_trip() {
    let fixtures = support::fixtures("objects");
    assert!(!fixtures.is_empty());
    for (key, path) in fixtures {
        match key.as_str() {
            "agent" => {
                let agent = support::round_trip::<Agent>(&path);
                known_tools(&agent.tools, &path);
                if let Some(m) = &agent.multiagent {
                    assert!(!matches!(m, Multiagent::Unknown(_)), "{}", path.display());
                }
            }
            "bash_input" => {
                support::round_trip::<BashInput>(&path);
            }
            "read_input" => {
                support::round_trip::<ReadInput>(&path);
            }
            "write_input" => {
                support::round_trip::<WriteInput>(&path);
            }
            "edit_input" => {
                support::round_trip::<EditInput>(&path);
            }
            "glob_input" => {
                support::round_trip::<GlobInput>(&path);
            }
            "grep_input" => {
                support::round_trip::<GrepInput>(&path);
            }
            "environment" => {
                support::round_trip::<Environment>(&path);
            }
            "environment_deleted" => {
                support::round_trip::<EnvironmentDeleted>(&path);
            }
            "work" => {
                support::round_trip::<Work>(&path);
            }
            "work_queue_stats" => {
                support::round_trip::<WorkQueueStats>(&path);
            }
            "session" => {
                let session = support::round_trip::<Session>(&path);
                session.resources.iter().for_each(|r| known_resource(r, &path));
                known_tools(&session.agent.tools, &path);
                if let Some(m) = &session.agent.multiagent {
                    assert!(!matches!(m, SessionMultiagent::Unknown(_)), "{}", path.display());
                }
            }
            "session_deleted" => {
                support::round_trip::<SessionDeleted>(&path);
            }
            "session_resource" => {
                known_resource(&support::round_trip::<SessionResource>(&path), &path);
            }
            "file_resource" => {
                let r = support::round_trip::<SessionResource>(&path);
                assert!(matches!(r, SessionResource::File(_)), "{}", path.display());
            }
            "github_repository_resource" => {
                let r = support::round_trip::<SessionResource>(&path);
                assert!(matches!(r, SessionResource::GithubRepository(_)), "{}", path.display());
            }
            "memory_store_resource" => {
                let r = support::round_trip::<SessionResource>(&path);
                assert!(matches!(r, SessionResource::MemoryStore(_)), "{}", path.display());
            }
            "session_resource_deleted" => {
                support::round_trip::<SessionResourceDeleted>(&path);
            }
            "session_thread" => {
                let thread = support::round_trip::<SessionThread>(&path);
                assert!(!matches!(thread.agent, ThreadAgent::Unknown(_)), "{}", path.display());
            }
            "file_metadata" => {
                support::round_trip::<FileMetadata>(&path);
            }
            "file_deleted" => {
                support::round_trip::<FileDeleted>(&path);
            }
            "vault" => {
                support::round_trip::<Vault>(&path);
            }
            "vault_deleted" => {
                support::round_trip::<VaultDeleted>(&path);
            }
            "vault_credential" => {
                let c = support::round_trip::<Credential>(&path);
                assert!(!matches!(c.auth, CredentialAuth::Unknown(_)), "{}", path.display());
            }
            "vault_credential_deleted" => {
                support::round_trip::<CredentialDeleted>(&path);
            }
            "vault_credential_validation" => {
                support::round_trip::<CredentialValidation>(&path);
            }
            "skill" => {
                support::round_trip::<Skill>(&path);
            }
            "skill_version" => {
                support::round_trip::<SkillVersion>(&path);
            }
            "skill_deleted" => {
                support::round_trip::<SkillDeleted>(&path);
            }
            "skill_version_deleted" => {
                support::round_trip::<SkillVersionDeleted>(&path);
            }
            "memory_store" => {
                support::round_trip::<MemoryStore>(&path);
            }
            "memory_store_deleted" => {
                support::round_trip::<MemoryStoreDeleted>(&path);
            }
            "memory" => {
                support::round_trip::<Memory>(&path);
                let item = support::round_trip::<MemoryListItem>(&path);
                assert!(matches!(item, MemoryListItem::Memory(_)), "{}", path.display());
            }
            "memory_prefix" => {
                let item = support::round_trip::<MemoryListItem>(&path);
                assert!(matches!(item, MemoryListItem::MemoryPrefix(_)), "{}", path.display());
            }
            "memory_deleted" => {
                support::round_trip::<MemoryDeleted>(&path);
            }
            "memory_version" => {
                support::round_trip::<MemoryVersion>(&path);
            }
            "error_response" => {
                let e = support::round_trip::<ErrorResponse>(&path);
                assert!(!matches!(e.error.r#type, ErrorType::Other(_)), "{}", path.display());
            }
            other => panic!("objects/{other}: no Rust type mapped"),
        }
    }
}

#[test]
fn request_fixtures_round_trip() {
    let mut seen = 0;
    for (key, path) in support::fixtures("requests") {
        if !key.starts_with("events_") {
            seen += 1;
        }
        match key.as_str() {
            k if k.starts_with("events_") => {}
            "agent_create" => {
                let body = support::round_trip::<AgentCreate>(&path);
                for tool in body.tools.iter().flatten() {
                    assert!(!matches!(tool, ToolParams::Unknown(_)), "{}", path.display());
                }
            }
            "agent_update" => {
                support::round_trip::<AgentUpdate>(&path);
            }
            "environment_create" => {
                support::round_trip::<EnvironmentCreate>(&path);
            }
            "environment_update" => {
                support::round_trip::<EnvironmentUpdate>(&path);
            }
            "session_create" => {
                let body = support::round_trip::<SessionCreate>(&path);
                if let SessionAgentParam::Object(obj) = &body.agent {
                    assert!(!matches!(obj, SessionAgentObject::Unknown(_)), "{}", path.display());
                }
                for event in body.initial_events.iter().flatten() {
                    assert!(!matches!(event, protocol::event_params::InitialEvent::Unknown(_)), "{}", path.display());
                }
            }
            "session_update" => {
                support::round_trip::<SessionUpdate>(&path);
            }
            "session_resource_add" => {
                support::round_trip::<SessionResourceAdd>(&path);
            }
            "vault_create" => {
                support::round_trip::<VaultCreate>(&path);
            }
            "vault_update" => {
                support::round_trip::<VaultUpdate>(&path);
            }
            "credential_create" => {
                let body = support::round_trip::<CredentialCreate>(&path);
                assert!(!matches!(body.auth, CredentialAuthCreate::Unknown(_)), "{}", path.display());
            }
            "credential_update" => {
                support::round_trip::<CredentialUpdate>(&path);
            }
            "memory_store_create" => {
                support::round_trip::<MemoryStoreCreate>(&path);
            }
            "memory_store_update" => {
                support::round_trip::<MemoryStoreUpdate>(&path);
            }
            "memory_create" => {
                support::round_trip::<MemoryCreate>(&path);
            }
            "memory_update" => {
                support::round_trip::<MemoryUpdate>(&path);
            }
            other => panic!("requests/{other}: no Rust type mapped"),
        }
    }
    assert!(seen > 0, "no request fixture besides events_* was found");
}

#[test]
fn agent_fixture_covers_every_tool_kind() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/objects/agent/full.json");
    let agent = support::round_trip::<Agent>(&path);
    let kinds: Vec<&str> = agent.tools.iter().map(Tool::type_name).collect();
    assert_eq!(kinds, Tool::KNOWN_TYPES);
    let Some(Tool::AgentToolset(set)) = agent.tools.first() else { panic!("first tool is not the built-in toolset") };
    let mut got: Vec<&str> = set.configs.iter().map(AgentToolConfig::type_name).collect();
    let mut expected = AgentToolConfig::KNOWN_TYPES.to_vec();
    expected.sort_unstable();
    got.sort_unstable();
    assert_eq!(got, expected);
}

#[test]
fn model_param_accepts_string_and_object() {
    let bare: AgentCreate = serde_json::from_str(r#"{"name":"a","model":"claude-opus-5-5"}"#).unwrap();
    assert_eq!(bare.model, ModelParam::Id("claude-opus-5-5".into()));
    let obj: AgentCreate =
        serde_json::from_str(r#"{"name":"a","model":{"id":"claude-opus-5-5","effort":"high","speed":"fast"}}"#)
            .unwrap();
    let ModelParam::Config(config) = &obj.model else { panic!("object model parsed as {:?}", obj.model) };
    assert_eq!(config.id, "claude-opus-5-5");
    assert_eq!(config.effort, Some(protocol::agents::EffortParam::Level("high".into())));
    let effort_obj: ModelParam = serde_json::from_str(r#"{"id":"x","effort":{"type":"max"}}"#).unwrap();
    let ModelParam::Config(config) = effort_obj else { panic!() };
    assert_eq!(
        config.effort,
        Some(protocol::agents::EffortParam::Object(protocol::agents::Effort::Max(Default::default())))
    );
    assert_eq!(serde_json::to_value(&bare.model).unwrap(), serde_json::json!("claude-opus-5-5"));
}

#[test]
fn update_body_distinguishes_absent_null_and_value() {
    let absent = AgentUpdate::default();
    assert_eq!(serde_json::to_value(&absent).unwrap(), serde_json::json!({}));
    let null = AgentUpdate { description: Some(None), ..Default::default() };
    assert_eq!(serde_json::to_value(&null).unwrap(), serde_json::json!({"description": null}));
    let value = AgentUpdate { description: Some(Some("x".into())), ..Default::default() };
    assert_eq!(serde_json::to_value(&value).unwrap(), serde_json::json!({"description": "x"}));

    let parsed: AgentUpdate = serde_json::from_str(r#"{"description":null,"system":"s"}"#).unwrap();
    assert_eq!(parsed.description, Some(None));
    assert_eq!(parsed.system, Some(Some("s".into())));
    assert_eq!(parsed.tools, None);

    let session: SessionUpdate = serde_json::from_str(r#"{"budget":null}"#).unwrap();
    assert_eq!(session.budget, Some(None));
    assert_eq!(session.title, None);
}

#[test]
fn unknown_tool_type_round_trips_unchanged() {
    let json = serde_json::json!({
        "type": "browser_toolset_20260801",
        "default_config": {"enabled": true},
        "configs": [{"name": "navigate", "extra": [1, 2, 3]}]
    });
    let tool: Tool = serde_json::from_value(json.clone()).unwrap();
    assert!(matches!(tool, Tool::Unknown(_)));
    assert_eq!(tool.type_name(), "browser_toolset_20260801");
    assert_eq!(serde_json::to_value(&tool).unwrap(), json);
    let param: ToolParams = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(serde_json::to_value(&param).unwrap(), json);
}

#[test]
fn session_create_agent_forms() {
    let id: SessionAgentParam = serde_json::from_str(r#""agent_1""#).unwrap();
    assert_eq!(id, SessionAgentParam::Id("agent_1".into()));
    let reference: SessionAgentParam = serde_json::from_str(r#"{"type":"agent","id":"agent_1","version":2}"#).unwrap();
    assert!(matches!(reference, SessionAgentParam::Object(SessionAgentObject::Agent(_))));
}

#[test]
fn wrong_object_type_literal_is_rejected() {
    let err = serde_json::from_str::<SessionDeleted>(r#"{"id":"sesn_1","type":"vault_deleted"}"#);
    assert!(err.is_err());
}

#[test]
fn open_enums_keep_unknown_values() {
    let e: ErrorResponse = serde_json::from_str(
        r#"{"type":"error","error":{"type":"request_too_large","message":"too big","details":{"error_code":"x"}}}"#,
    )
    .unwrap();
    assert_eq!(e.error.r#type, ErrorType::Other("request_too_large".into()));
    assert_eq!(e.error.error_code(), Some("x"));
    let status: protocol::sessions::SessionStatus = serde_json::from_str(r#""paused""#).unwrap();
    assert_eq!(serde_json::to_string(&status).unwrap(), r#""paused""#);
}

#[test]
fn a_session_status_is_named_as_the_api_writes_it() {
    use protocol::sessions::SessionStatus;
    for status in SessionStatus::KNOWN {
        assert_eq!(serde_json::to_value(&status).unwrap(), status.as_str(), "{status:?}");
        assert_eq!(SessionStatus::named(status.as_str()), status);
    }
    assert_eq!(SessionStatus::named("paused"), SessionStatus::Other("paused".into()));
    assert_eq!(SessionStatus::Other("paused".into()).as_str(), "paused");
}
