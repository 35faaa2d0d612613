//! `/v1/sessions/{id}/events`: send, list, and the live SSE stream.

use std::{collections::VecDeque, convert::Infallible, sync::Arc};

use axum::{
    Extension, Json,
    extract::{Path, State},
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
};
use protocol::event_params::{EventParams, SendEventsBody};
use protocol::events::types;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use super::{ApiJson, Params};
use crate::{
    EngineState, Live, Scope,
    domain::{
        events::{CheckedEvents, listable_type},
        work::Caller,
    },
    error::{ApiError, ApiResult},
    store::{Order, to_json},
};

pub async fn send(
    State(engine): State<Arc<EngineState>>,
    Path(id): Path<String>,
    Extension(caller): Extension<Caller>,
    ApiJson(body): ApiJson<SendEventsBody>,
) -> ApiResult<Json<Value>> {
    super::work::results_only(&caller, body.events.iter().map(EventParams::type_name))?;
    let checked = engine.check_events(&id, &body).await?;
    let echoes = apply_events(&engine, &id, &body, checked).await?;
    Ok(Json(json!({ "data": echoes })))
}

/// Applies a checked batch in order: each event is echoed to the log (an answer on the thread
/// whose call it answers) and handed to the session's runtime. Returns the echoes.
async fn apply_events(
    engine: &Arc<EngineState>,
    id: &str,
    body: &SendEventsBody,
    checked: CheckedEvents,
) -> ApiResult<Vec<Value>> {
    let CheckedEvents { answers, outcomes, self_hosted_environment } = checked;
    let runtime = engine.runtime(id).await?;
    // Answers go to the thread whose call they answer: its echo names that thread.
    let routed: Vec<(String, Option<String>)> = match answers.is_empty() {
        true => Vec::new(),
        false => answers.iter().map(|(call, _)| call.clone()).zip(runtime.decide(&answers)?).collect(),
    };
    let mut outcomes = outcomes.into_iter();
    let mut echoes = Vec::with_capacity(body.events.len());
    for event in &body.events {
        let answered = match event {
            EventParams::UserToolConfirmation(c) => Some(&c.tool_use_id),
            EventParams::UserCustomToolResult(r) => Some(&r.custom_tool_use_id),
            EventParams::UserToolResult(r) => Some(&r.tool_use_id),
            _ => None,
        };
        let thread = answered.and_then(|call| routed.iter().find(|(id, _)| id == call)).and_then(|(_, t)| t.clone());
        let echo = match (event, thread) {
            (EventParams::UserDefineOutcome(_), _) => {
                let checked = outcomes.next().expect("every outcome was checked");
                let (echo, outcome) = engine.define_outcome(id, checked).await?;
                runtime.outcome(outcome);
                to_json(&echo)?
            }
            (_, Some(thread)) => {
                let mut echo = to_json(event)?;
                echo["session_thread_id"] = json!(thread);
                engine.append_in(id, Some(&thread), true, echo).await?
            }
            (_, None) => engine.append(id, to_json(event)?).await?,
        };
        echoes.push(echo);
        match event {
            EventParams::UserMessage(_) => runtime.message(),
            EventParams::UserInterrupt(interrupt) => runtime.interrupt(interrupt.session_thread_id.clone()),
            _ => {}
        }
    }
    if !answers.is_empty() {
        runtime.decided();
    }
    // Input for a session whose tools run on a worker: one must come if none is on it.
    let input = body.events.iter().any(|e| {
        matches!(
            e,
            EventParams::UserMessage(_) | EventParams::UserDefineOutcome(_) | EventParams::UserToolConfirmation(_)
        )
    });
    if let Some(environment_id) = self_hosted_environment.filter(|_| input) {
        engine.queue_work(id, &environment_id).await?;
    }
    Ok(echoes)
}

pub async fn list(
    State(engine): State<Arc<EngineState>>,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    engine.session(&id).await?;
    let order = params.order(Order::Asc)?;
    let types = params.all("types");
    if let Some(kind) = types.iter().find(|kind| !listable_type(kind)) {
        return Err(ApiError::invalid(format!("types[]: {kind:?} is not an event type that lists can filter on.")));
    }
    let created = params.ranges("created_at")?;
    let paging = params.paging(order, 1000, 1000)?;
    Ok(Json(engine.list_events(&id, types, created, paging).await?))
}

/// What one viewer of the stream has in hand.
struct Viewer {
    engine: Arc<EngineState>,
    session_id: String,
    scope: Scope,
    rx: tokio::sync::broadcast::Receiver<Live>,
    last_seq: i64,
    deltas: Vec<String>,
    backlog: VecDeque<Event>,
    done: bool,
}

pub async fn stream(
    State(engine): State<Arc<EngineState>>,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    engine.session(&id).await?;
    stream_of(engine, id, Scope::Session, &params).await
}

/// The live SSE stream of `scope`: the session's own, or one thread's (`…/threads/{id}/stream`).
/// Previews are of the primary thread on the session's stream, of that thread on a thread's.
pub(super) async fn stream_of(
    engine: Arc<EngineState>,
    id: String,
    scope: Scope,
    params: &Params,
) -> ApiResult<Response> {
    let deltas = params.all("event_deltas");
    if deltas.len() > 100 {
        return Err(ApiError::invalid("event_deltas[]: at most 100 values."));
    }
    for kind in &deltas {
        if kind != types::AGENT_MESSAGE && kind != types::AGENT_THINKING {
            return Err(ApiError::invalid(format!(
                "event_deltas[]: {kind:?} has no previews; use agent.message or agent.thinking."
            )));
        }
    }
    let (rx, last_seq) = engine.subscribe(&id).await?;
    let heartbeat = engine.config.heartbeat;
    let viewer = Viewer { engine, session_id: id, scope, rx, last_seq, deltas, backlog: VecDeque::new(), done: false };
    let events = futures::stream::unfold(viewer, |mut viewer| async move {
        let event = viewer.next().await?;
        Some((Ok::<_, Infallible>(event), viewer))
    });
    let keep_alive =
        KeepAlive::new().interval(heartbeat).event(Event::default().event("ping").data("{\"type\":\"ping\"}"));
    Ok(Sse::new(events).keep_alive(keep_alive).into_response())
}

impl Viewer {
    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.backlog.pop_front() {
                return Some(event);
            }
            if self.done {
                return None;
            }
            match self.rx.recv().await {
                Ok(Live::Event { seq, kind, json, thread, on_session }) => {
                    if seq > self.last_seq {
                        self.last_seq = seq;
                        if self.scope.shows(thread.as_deref(), on_session) {
                            return Some(Event::default().event(&*kind).data(&*json));
                        }
                    }
                }
                Ok(Live::Preview { of, kind, json, thread }) => {
                    let previewed = match &self.scope {
                        Scope::Session => thread.is_none(),
                        Scope::Thread(wanted) => wanted.as_deref() == thread.as_deref(),
                    };
                    if previewed && self.deltas.iter().any(|d| d == of) {
                        return Some(Event::default().event(kind).data(&*json));
                    }
                }
                Ok(Live::Deleted { json }) => {
                    self.done = true;
                    return Some(Event::default().event(types::SESSION_DELETED).data(&*json));
                }
                Err(RecvError::Lagged(_)) => {
                    // Fell behind the broadcast: read what was missed from the log, in order.
                    match self.engine.events_after(&self.session_id, &self.scope, self.last_seq, 10_000).await {
                        Ok(rows) => {
                            for (seq, kind, body) in rows {
                                self.last_seq = seq;
                                self.backlog.push_back(Event::default().event(kind).data(body));
                            }
                        }
                        Err(_) => {
                            self.done = true;
                            let error = json!({ "type": "error", "error": { "type": "api_error", "message": "The stream fell behind and could not catch up; reconnect and list the events you missed." } });
                            return Some(Event::default().event("error").data(error.to_string()));
                        }
                    }
                }
                Err(RecvError::Closed) => return None,
            }
        }
    }
}
