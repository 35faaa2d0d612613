//! Every fixture of `fixtures/events/<type>/` round-trips through the stream union and (previews
//! aside) the history union, landing in its own variant; every `fixtures/requests/events_*/`
//! fixture round-trips through the type that sends it.

use crate::support;

use protocol::common::Page;
use protocol::event_params::{
    ConfirmationResult, EventParams, InitialEvent, SendEventsBody, SendEventsResponse, UserToolConfirmationParams,
};
use protocol::events::{SessionEvent, StreamEvent};
use serde_json::{Value, json};

const PREVIEWS: &[&str] = StreamEvent::PREVIEW_TYPES;

#[test]
fn every_event_fixture_round_trips() {
    let fixtures = support::fixtures("events");
    assert!(!fixtures.is_empty(), "no event fixtures");
    for (folder, path) in fixtures {
        let stream: StreamEvent = support::round_trip(&path);
        assert_eq!(stream.type_name(), folder, "{}", path.display());
        if PREVIEWS.contains(&folder.as_str()) {
            assert!(!matches!(stream, StreamEvent::Event(_)), "{}: preview parsed as an event", path.display());
            assert_eq!(stream.id(), None);
            assert_eq!(stream.processed_at(), None);
            assert!(stream.previewed_event_id().is_some(), "{}", path.display());
            continue;
        }
        let StreamEvent::Event(from_stream) = stream else {
            panic!("{}: {folder} parsed as a preview", path.display());
        };
        assert!(!from_stream.is_unknown(), "{}: landed in Unknown", path.display());

        let event: SessionEvent = support::round_trip(&path);
        assert!(!event.is_unknown(), "{}: landed in Unknown", path.display());
        assert_eq!(event.type_name(), folder, "{}", path.display());
        assert_eq!(event, from_stream, "{}", path.display());

        let raw: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(event.id(), raw["id"].as_str(), "{}", path.display());
        assert_eq!(event.processed_at(), raw.get("processed_at").and_then(Value::as_str), "{}", path.display());
    }
}

#[test]
fn the_type_constants_are_the_unions_types() {
    assert_eq!(protocol::events::types::ALL, SessionEvent::KNOWN_TYPES);
}

#[test]
fn every_known_event_type_has_a_fixture() {
    let folders: std::collections::BTreeSet<String> =
        support::fixtures("events").into_iter().map(|(folder, _)| folder).collect();
    assert_eq!(SessionEvent::KNOWN_TYPES.len(), 42);
    for known in SessionEvent::KNOWN_TYPES.iter().chain(PREVIEWS) {
        assert!(folders.contains(*known), "no fixture for {known}");
    }
    for folder in &folders {
        assert!(
            SessionEvent::KNOWN_TYPES.contains(&folder.as_str()) || PREVIEWS.contains(&folder.as_str()),
            "fixtures/events/{folder} is not a type this crate knows"
        );
    }
}

#[test]
fn every_events_request_fixture_round_trips() {
    let mut seen = 0;
    for (folder, path) in support::fixtures("requests") {
        match folder.as_str() {
            "events_send" => {
                let body: SendEventsBody = support::round_trip(&path);
                assert!(!body.events.is_empty(), "{}", path.display());
                for event in &body.events {
                    assert!(!matches!(event, EventParams::Unknown(_)), "{}: unknown event params", path.display());
                }
            }
            "events_initial" => {
                let event: InitialEvent = support::round_trip(&path);
                assert!(!matches!(event, InitialEvent::Unknown(_)), "{}", path.display());
            }
            other if other.starts_with("events_") => {
                panic!("requests/{other} is not mapped to a type in tests/event_fixtures.rs")
            }
            _ => continue,
        }
        seen += 1;
    }
    assert!(seen > 0, "no events_* request fixtures");
}

#[test]
fn unknown_event_type_is_kept_whole() {
    let raw = json!({
        "type": "agent.future_thing",
        "id": "sevt_x",
        "processed_at": "2026-05-14T09:12:03.118Z",
        "foo": [1]
    });
    let event: SessionEvent = serde_json::from_value(raw.clone()).unwrap();
    assert!(matches!(event, SessionEvent::Unknown(_)));
    assert_eq!(event.type_name(), "agent.future_thing");
    assert_eq!(event.id(), Some("sevt_x"));
    assert_eq!(event.processed_at(), Some("2026-05-14T09:12:03.118Z"));
    assert_eq!(serde_json::to_value(&event).unwrap(), raw);

    let stream: StreamEvent = serde_json::from_value(raw.clone()).unwrap();
    assert!(matches!(stream, StreamEvent::Event(SessionEvent::Unknown(_))));
    assert_eq!(stream.type_name(), "agent.future_thing");
    assert_eq!(serde_json::to_value(&stream).unwrap(), raw);
}

#[test]
fn unknown_nested_union_members_are_kept() {
    let raw = json!({
        "type": "session.status_idle",
        "id": "sevt_y",
        "processed_at": "2026-05-14T09:12:03.118Z",
        "stop_reason": {"type": "waiting_for_weather", "until": "tomorrow"}
    });
    let event: SessionEvent = serde_json::from_value(raw.clone()).unwrap();
    let SessionEvent::SessionStatusIdle(idle) = &event else { panic!("not idle: {event:?}") };
    assert_eq!(idle.stop_reason.type_name(), "waiting_for_weather");
    assert_eq!(serde_json::to_value(&event).unwrap(), raw);
}

#[test]
fn mixed_history_page_parses() {
    let page = json!({
        "data": [
            {"type": "session.status_running", "id": "sevt_1", "processed_at": "2026-05-14T09:12:01Z"},
            {"type": "user.message", "id": "sevt_2", "content": [{"type": "text", "text": "hi"}]},
            {"type": "agent.message", "id": "sevt_3", "processed_at": "2026-05-14T09:12:04Z",
             "content": [{"type": "text", "text": "Hello!"}, {"type": "redacted"}]},
            {"type": "agent.future_thing", "id": "sevt_4", "processed_at": "2026-05-14T09:12:05Z"},
            {"type": "session.status_idle", "id": "sevt_5", "processed_at": "2026-05-14T09:12:06Z",
             "stop_reason": {"type": "end_turn"}}
        ],
        "next_page": null
    });
    let parsed: Page<SessionEvent> = serde_json::from_value(page.clone()).unwrap();
    let types: Vec<&str> = parsed.data.iter().map(SessionEvent::type_name).collect();
    assert_eq!(
        types,
        ["session.status_running", "user.message", "agent.message", "agent.future_thing", "session.status_idle"]
    );
    assert_eq!(parsed.data[1].processed_at(), None, "a queued user.message has no processed_at");
    assert!(parsed.data[3].is_unknown());
    assert_eq!(parsed.next_page, None);
    assert_eq!(serde_json::to_value(&parsed).unwrap(), page);
}

#[test]
fn tool_confirmation_serializes_deny_message_only_when_set() {
    let allow =
        SendEventsBody { events: vec![EventParams::UserToolConfirmation(UserToolConfirmationParams::allow("sevt_1"))] };
    assert_eq!(
        serde_json::to_value(&allow).unwrap(),
        json!({"events": [{"type": "user.tool_confirmation", "result": "allow", "tool_use_id": "sevt_1"}]})
    );

    let bare_deny = UserToolConfirmationParams::deny("sevt_2", None);
    assert_eq!(bare_deny.result, ConfirmationResult::Deny);
    assert!(serde_json::to_value(&bare_deny).unwrap().get("deny_message").is_none());

    let deny =
        EventParams::UserToolConfirmation(UserToolConfirmationParams::deny("sevt_2", Some("use #eng-bots".into())));
    assert_eq!(
        serde_json::to_value(&deny).unwrap(),
        json!({"type": "user.tool_confirmation", "result": "deny", "tool_use_id": "sevt_2", "deny_message": "use #eng-bots"})
    );
}

#[test]
fn send_response_echoes_parse_as_events() {
    let body = json!({"data": [
        {"type": "user.message", "id": "sevt_9", "content": [{"type": "text", "text": "hi"}]},
        {"type": "user.define_outcome", "id": "sevt_10", "processed_at": "2026-05-14T09:12:06Z",
         "description": "d", "outcome_id": "outc_1", "rubric": {"type": "text", "content": "r"}}
    ]});
    let parsed: SendEventsResponse = serde_json::from_value(body.clone()).unwrap();
    let data = parsed.data.as_deref().unwrap_or_default();
    assert_eq!(data.len(), 2);
    assert_eq!(data[1].id(), Some("sevt_10"));
    assert_eq!(serde_json::to_value(&parsed).unwrap(), body);
}

#[test]
fn session_updated_tells_a_removed_budget_or_cleared_title_from_an_unchanged_one() {
    use protocol::events::SessionUpdatedEvent;
    let removed: SessionUpdatedEvent = serde_json::from_value(json!({
        "id": "sevt_1", "processed_at": "2026-05-14T09:12:06Z", "budget": null
    }))
    .unwrap();
    assert_eq!(removed.budget, Some(None));
    let unchanged: SessionUpdatedEvent = serde_json::from_value(json!({
        "id": "sevt_1", "processed_at": "2026-05-14T09:12:06Z", "title": "t"
    }))
    .unwrap();
    assert_eq!((unchanged.budget, unchanged.title), (None, Some(Some("t".to_owned()))));
    let cleared: SessionUpdatedEvent = serde_json::from_value(json!({
        "id": "sevt_1", "processed_at": "2026-05-14T09:12:06Z", "title": null
    }))
    .unwrap();
    assert_eq!((cleared.title, removed.title), (Some(None), None));
}
