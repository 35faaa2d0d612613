//! A real model's turn: Messages requests against the engine's endpoint until the model ends its
//! turn, with the thread's events as the conversation.
//!
//! Each request is built from the thread's events (`transcript`): `user.message` and
//! `agent.thread_message_received` are the user's words, each reply is read back from
//! `model_context` (where its blocks are kept as the model sent them, thinking signatures
//! included), tool results answer the calls. A reply streams text as `event_delta` previews and
//! thinking as an `event_start`; its buffered events (`agent.message`, `agent.thinking`,
//! `agent.tool_use`, `agent.custom_tool_use`) follow once the whole reply is in, then
//! `span.model_request_end` with the endpoint's usage. Tool calls run as a scripted turn's do,
//! under the agent's permission policies.
//!
//! What goes wrong is reported as the API reports it: a rate limit (429), an overloaded model
//! (529) or a cut stream is tried again after a backoff, the session `rescheduling` meanwhile, with
//! a `session.error` whose `retry_status` is `retrying`, then `exhausted`; other failures end the
//! turn with `model_request_failed_error`. A conversation longer than the model's window is
//! compacted once per turn (`agent.thread_context_compacted`), then ends with
//! `compaction_limit_reached_error`; a turn past its request limit ends with
//! `tool_use_limit_reached_error`; a session whose list cost reached its budget ends its turn
//! with `budget_reached`.

use std::collections::HashMap;

use protocol::{
    content::{ToolResultContentBlock, UserContentBlock},
    events::{SessionEvent, ToolEvaluation, types},
};
use serde_json::{Value, json};

use super::{Actor, Call, Permission, Played, Thread, evaluate, mcp::evaluate_mcp, object};
use crate::{
    emitted,
    error::ApiResult,
    ids::new_id,
    model::{
        prices,
        stream::{Failure, Progress, Reply, Usage},
        tools,
    },
};

/// Output tokens a request may use when the endpoint's model list does not say.
const DEFAULT_MAX_TOKENS: u64 = 8_192;
/// Output tokens a request asks for at most, whatever the model allows.
const MAX_TOKENS_CAP: u64 = 32_000;

/// How a request ended, once retries are done.
enum Requested {
    /// The whole reply, and the calls it made with their permissions.
    Reply(Reply, Vec<Call>),
    /// The conversation is longer than the model's context window.
    TooLong,
    /// The turn cannot go on: it ended this way.
    Over(Played),
}

impl Actor {
    /// Plays a real model's turn of `thread` from where it stands (its answers already applied).
    pub(super) async fn play_model_turn(&self, session: &Value, thread: &Thread) -> ApiResult<Played> {
        let model = thread.agent["model"]["id"].as_str().unwrap_or_default().to_owned();
        let mut compacted = false;
        loop {
            if let Some(ended) = self.over_budget().await? {
                return Ok(ended);
            }
            let Some(requests) = self.with_turn(thread, |turn| turn.next_step) else {
                return Ok(Played::Ended(emitted::end_turn()));
            };
            if requests >= self.engine.config.model.max_requests_per_turn {
                let message = format!(
                    "The agent made {requests} model requests in this turn, the most one turn may make; send a message to let it go on."
                );
                return self.script_fault(thread, "tool_use_limit_reached_error", &message).await;
            }
            let request = self.messages_request(session, thread, &model).await?;
            let (reply, calls) = match self.request(thread, &request).await? {
                Requested::Reply(reply, calls) => (reply, calls),
                Requested::TooLong => {
                    if compacted || !self.compact(thread, &model).await? {
                        let message = "The conversation no longer fits the model's context window, even compacted. Start a new session to go on.";
                        return self.script_fault(thread, "compaction_limit_reached_error", message).await;
                    }
                    compacted = true;
                    continue;
                }
                Requested::Over(played) => return Ok(played),
            };
            self.with_turn(thread, |turn| turn.next_step += 1);
            self.save().await?;
            if !calls.is_empty() {
                if let Some(paused) = self.run_calls(session, thread, calls).await? {
                    return Ok(Played::Paused(paused));
                }
                continue;
            }
            return Ok(Played::Ended(match reply.stop_reason.as_str() {
                "refusal" => emitted::refusal(),
                _ => emitted::end_turn(),
            }));
        }
    }

    /// `budget_reached` when the session has spent its budget.
    async fn over_budget(&self) -> ApiResult<Option<Played>> {
        Ok(self.engine.budget_reached(&self.session_id).await?.then(|| Played::Ended(emitted::budget_reached())))
    }

    /// The Messages request for the thread's next reply.
    async fn messages_request(&self, session: &Value, thread: &Thread, model: &str) -> ApiResult<Value> {
        let agent = &thread.agent;
        let info = self.engine.catalog.lookup(&self.engine.config.model, model).await.flatten();
        let max_tokens =
            info.as_ref().and_then(|i| i["max_tokens"].as_u64()).map_or(DEFAULT_MAX_TOKENS, |m| m.min(MAX_TOKENS_CAP));
        let mut request = json!({
            "model": model,
            "max_tokens": max_tokens,
            "messages": self.transcript(thread).await?,
        });
        if let Some(system) = agent["system"].as_str().filter(|s| !s.trim().is_empty()) {
            request["system"] = json!([{ "type": "text", "text": system, "cache_control": { "type": "ephemeral" } }]);
        }
        let mut offered = tools::definitions(&agent["tools"]);
        let mcp = self.mcp_definitions(session, thread).await?;
        if !mcp.is_empty() {
            // The cache breakpoint goes on the last tool.
            if let Some(last) = offered.last_mut().and_then(Value::as_object_mut) {
                last.remove("cache_control");
            }
            offered.extend(mcp);
            if let Some(last) = offered.last_mut() {
                last["cache_control"] = json!({ "type": "ephemeral" });
            }
        }
        if !offered.is_empty() {
            request["tools"] = json!(offered);
        }
        // Thinking and effort, where the endpoint says the model takes them.
        if let Some(capabilities) = info.as_ref().map(|i| &i["capabilities"]) {
            if capabilities["thinking"]["types"]["adaptive"]["supported"] == true {
                request["thinking"] = json!({ "type": "adaptive" });
            }
            let effort = agent["model"]["effort"]["type"].as_str();
            if let Some(effort) = effort.filter(|e| capabilities["effort"][*e]["supported"] == true) {
                request["output_config"] = json!({ "effort": effort });
            }
        }
        Ok(request)
    }

    /// The thread's conversation as Messages API `messages`, from its events.
    async fn transcript(&self, thread: &Thread) -> ApiResult<Vec<Value>> {
        let thread_id = thread.child.then_some(thread.id.as_str());
        let rows = self.engine.store.transcript_rows(&self.session_id, thread_id).await?;
        let mut messages: Vec<(String, Vec<Value>)> = Vec::new();
        for (kind, body, kept) in rows {
            // What the model wrote, and compaction summaries, are kept as Messages API JSON.
            let kept: Option<Value> = kept.map(|k| serde_json::from_str(&k)).transpose()?;
            let (role, blocks) = match kind.as_str() {
                types::SPAN_MODEL_REQUEST_END => match kept {
                    Some(reply) => ("assistant", reply["content"].as_array().cloned().unwrap_or_default()),
                    None => continue,
                },
                types::AGENT_THREAD_CONTEXT_COMPACTED => {
                    // The summary of what came before, then the messages compaction kept as they were.
                    let Some(compacted) = kept else { continue };
                    messages.clear();
                    messages.push(("user".to_owned(), vec![json!({ "type": "text", "text": compacted["summary"] })]));
                    for message in compacted["kept"].as_array().into_iter().flatten() {
                        let role = message["role"].as_str().unwrap_or("user").to_owned();
                        let blocks = message["content"].as_array().cloned().unwrap_or_default();
                        match messages.last_mut() {
                            Some((last, content)) if *last == role => content.extend(blocks),
                            _ => messages.push((role, blocks)),
                        }
                    }
                    continue;
                }
                types::USER_MESSAGE
                | types::AGENT_THREAD_MESSAGE_RECEIVED
                | types::AGENT_TOOL_RESULT
                | types::AGENT_MCP_TOOL_RESULT
                | types::USER_TOOL_RESULT
                | types::USER_CUSTOM_TOOL_RESULT => match said(&body) {
                    Some(said) => ("user", said),
                    None => continue,
                },
                _ => continue,
            };
            match messages.last_mut() {
                Some((last, content)) if last == role => content.extend(blocks),
                _ => messages.push((role.to_owned(), blocks)),
            }
        }
        Ok(well_formed(messages))
    }

    /// Sends a request, trying again after transient failures. Each try is a model request of
    /// its own (its span); the reply's blocks are kept under its `span.model_request_end`.
    async fn request(&self, thread: &Thread, request: &Value) -> ApiResult<Requested> {
        let endpoint = &self.engine.config.model;
        let model = request["model"].as_str().unwrap_or_default().to_owned();
        let mut attempt = 0u32;
        loop {
            let start = self.emit_in(thread, emitted::span_model_request_start()).await?;
            let started = std::time::Instant::now();
            let previews = thread.child.then_some(thread.id.as_str());
            let mut ids: HashMap<usize, String> = HashMap::new();
            let result = endpoint
                .stream(request, |progress| {
                    let (preview, of) = match progress {
                        Progress::TextStart(index) => {
                            let id = ids.entry(index).or_insert_with(|| new_id("sevt"));
                            (emitted::message_preview_start(id), types::AGENT_MESSAGE)
                        }
                        Progress::ThinkingStart(index) => {
                            let id = ids.entry(index).or_insert_with(|| new_id("sevt"));
                            (emitted::thinking_preview_start(id), types::AGENT_THINKING)
                        }
                        Progress::Text(index, text) => {
                            let Some(id) = ids.get(&index) else { return };
                            (emitted::message_preview_delta(id, text), types::AGENT_MESSAGE)
                        }
                    };
                    self.engine.preview(&self.session_id, previews, of, preview);
                })
                .await;
            let seconds = started.elapsed().as_secs_f64();
            crate::meters::model_request(result.as_ref().map_or_else(Failure::label, |_| "ok"), started.elapsed());
            let failure = match result {
                Ok(mut reply) => {
                    let calls = self.reply_events(thread, &mut reply, &ids).await?;
                    self.end_span(thread, start, &model, Some(&reply)).await?;
                    self.add_model_usage(thread, &model, &reply.usage, seconds).await?;
                    return Ok(Requested::Reply(reply, calls));
                }
                Err(failure) => failure,
            };
            self.end_span(thread, start, &model, None).await?;
            if let Failure::TooLong { .. } = failure {
                return Ok(Requested::TooLong);
            }
            let retrying = failure.retryable() && attempt < endpoint.max_retries;
            let status = if retrying { "retrying" } else { "exhausted" };
            let error = emitted::error(failure.error_type(), failure.message(), emitted::retry_status(status));
            self.emit_in(thread, emitted::session_error(error)).await?;
            if !retrying {
                tracing::warn!(session = %self.session_id, "a model request failed: {}", failure.message());
                return Ok(Requested::Over(Played::Ended(emitted::retries_exhausted())));
            }
            let wait = failure
                .retry_after()
                .unwrap_or_else(|| endpoint.backoff.saturating_mul(1 << attempt.min(10)))
                .min(endpoint.max_backoff);
            attempt += 1;
            self.rescheduled(thread, wait).await?;
        }
    }

    /// The buffered events of a whole reply, in its order; tool calls get the ids of their
    /// events in the blocks kept for the next request. Says the calls it made, with the
    /// permissions their events carry.
    async fn reply_events(
        &self,
        thread: &Thread,
        reply: &mut Reply,
        ids: &HashMap<usize, String>,
    ) -> ApiResult<Vec<Call>> {
        let custom = custom_tools(&thread.agent);
        let mut calls = Vec::new();
        for (index, block) in reply.content.iter_mut().enumerate() {
            let id = ids.get(&index).cloned().unwrap_or_else(|| new_id("sevt"));
            match block["type"].as_str() {
                Some("text") => {
                    let text = block["text"].as_str().unwrap_or_default();
                    self.emit_in(thread, emitted::agent_message(Some(id), text)).await?;
                }
                Some("thinking" | "redacted_thinking") => {
                    self.emit_in(thread, emitted::agent_thinking(id)).await?;
                }
                Some("tool_use") => {
                    let name = block["name"].as_str().unwrap_or_default().to_owned();
                    let input = block["input"].clone();
                    let (event, call) = if custom.contains(&name.as_str()) {
                        let event = emitted::custom_tool_use(Some(id.clone()), &name, object(&input));
                        (event, Call::with_id(id.clone(), &name, &input, Permission::Custom, None))
                    } else if let Some((server, tool)) = self.mcp_call_of(thread, &name) {
                        let (permission, evaluation) = evaluate_mcp(&thread.agent["tools"], &server, &tool);
                        let evaluated = permission.evaluated();
                        let event = emitted::mcp_tool_use(
                            Some(id.clone()),
                            &server,
                            &tool,
                            object(&input),
                            evaluated,
                            evaluation,
                        );
                        (event, Call::with_id(id.clone(), &tool, &input, permission, Some(&server)))
                    } else {
                        let (permission, evaluation) = self.permission(thread, &name);
                        let evaluated = permission.evaluated();
                        let event = emitted::tool_use(Some(id.clone()), &name, object(&input), evaluated, evaluation);
                        (event, Call::with_id(id.clone(), &name, &input, permission, None))
                    };
                    self.expect(thread, &call);
                    self.emit_in(thread, event).await?;
                    block["id"] = json!(id);
                    calls.push(call);
                }
                _ => {}
            }
        }
        Ok(calls)
    }

    /// The permission of a call to `name`: a tool the model was not offered is refused.
    fn permission(&self, thread: &Thread, name: &str) -> (Permission, Option<ToolEvaluation>) {
        let offered = tools::definitions(&thread.agent["tools"]).iter().any(|t| t["name"] == name);
        if !offered {
            return (
                Permission::Deny(format!("The model called {name}, which is not one of this agent's tools.")),
                None,
            );
        }
        evaluate(&thread.agent["tools"], name)
    }

    /// A request's `span.model_request_end`, the reply's blocks kept first under its id; with no
    /// reply (the request failed), `is_error` and no usage.
    async fn end_span(&self, thread: &Thread, start: String, model: &str, reply: Option<&Reply>) -> ApiResult<()> {
        let end_id = new_id("sevt");
        let usage = reply.map(|r| r.usage).unwrap_or_default();
        if let Some(reply) = reply {
            let kept = json!({ "model": model, "content": reply.content });
            self.engine.store.keep_model_context(&end_id, &self.session_id, &kept).await?;
        }
        let speed = emitted::speed(thread.agent["model"]["speed"].as_str());
        let model_usage = emitted::model_usage(&usage, Some(speed));
        self.emit_in(thread, emitted::span_model_request_end(Some(end_id), start, model_usage, reply.is_none()))
            .await?;
        Ok(())
    }

    /// A model request's usage and list cost, added to the session and its thread.
    async fn add_model_usage(&self, thread: &Thread, model: &str, usage: &Usage, seconds: f64) -> ApiResult<()> {
        self.add_usage(thread, usage, prices::cost(model, usage), seconds).await
    }

    /// Compacts the conversation: the model summarises everything before the latest user
    /// message, which the next requests get instead. False when there is nothing to compact or
    /// the summary cannot be had.
    async fn compact(&self, thread: &Thread, model: &str) -> ApiResult<bool> {
        let mut messages = self.transcript(thread).await?;
        // Keep the latest user message (and what followed it) as it is.
        let Some(keep_from) = messages.iter().rposition(|m| {
            m["role"] == "user" && m["content"].as_array().is_some_and(|c| c.iter().any(|b| b["type"] == "text"))
        }) else {
            return Ok(false);
        };
        if keep_from == 0 {
            return Ok(false);
        }
        let kept = messages.split_off(keep_from);
        if messages.last().is_some_and(|m| m["role"] == "assistant") {
            messages.push(json!({ "role": "user", "content": [] }));
        }
        let ask = "Summarise this conversation so far for your own later use: what was asked, what was done (files, commands, results), what was decided and what is still open. Write only the summary.";
        if let Some(last) = messages.last_mut().and_then(|m| m["content"].as_array_mut()) {
            last.push(json!({ "type": "text", "text": ask }));
        }
        let request = json!({ "model": model, "max_tokens": DEFAULT_MAX_TOKENS, "messages": messages });
        let Ok(reply) = self.engine.config.model.stream(&request, |_| {}).await else { return Ok(false) };
        self.add_model_usage(thread, model, &reply.usage, 0.0).await?;
        let summary: String = reply.content.iter().filter_map(|b| b["text"].as_str()).collect();
        if summary.trim().is_empty() {
            return Ok(false);
        }
        // From the compaction event on, the conversation is the summary, then the messages kept.
        let id = new_id("sevt");
        let text = format!("A summary of the conversation before this point:\n\n{summary}");
        let summary = json!({ "summary": text, "kept": kept });
        self.engine.store.keep_model_context(&id, &self.session_id, &summary).await?;
        self.emit_in(thread, emitted::context_compacted(Some(id))).await?;
        Ok(true)
    }
}

/// The names of an agent's custom tools.
fn custom_tools(agent: &Value) -> Vec<&str> {
    agent["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["type"] == "custom")
        .filter_map(|t| t["name"].as_str())
        .collect()
}

/// What a stored event the model reads as the user's turn says, as Messages API blocks: a
/// message's content, or the result of a call. `None` for an event that does not parse (it was
/// checked when posted, so none should).
fn said(body: &str) -> Option<Vec<Value>> {
    let event = match serde_json::from_str::<SessionEvent>(body) {
        Ok(event) => event,
        Err(error) => {
            tracing::warn!("an event of the log does not parse, so the model does not see it: {error}");
            return None;
        }
    };
    Some(match event {
        SessionEvent::UserMessage(message) => user_content(&message.content),
        SessionEvent::AgentThreadMessageReceived(message) => user_content(&message.content),
        SessionEvent::AgentToolResult(result) => {
            vec![tool_result(&result.tool_use_id, result.content.as_deref(), result.is_error)]
        }
        SessionEvent::AgentMcpToolResult(result) => {
            vec![tool_result(&result.mcp_tool_use_id, result.content.as_deref(), result.is_error)]
        }
        SessionEvent::UserCustomToolResult(result) => {
            vec![tool_result(&result.custom_tool_use_id, result.content.as_deref(), result.is_error)]
        }
        SessionEvent::UserToolResult(result) => {
            vec![tool_result(&result.tool_use_id, result.content.as_deref(), result.is_error)]
        }
        _ => return None,
    })
}

/// A user message's content as Messages API blocks: text as it is; images and documents with a
/// source the Messages API takes; anything else said in words.
fn user_content(content: &[UserContentBlock]) -> Vec<Value> {
    content
        .iter()
        .map(|block| {
            let source = match block {
                UserContentBlock::Text(text) => return json!({ "type": "text", "text": text.text }),
                UserContentBlock::Image(image) => Some((image.source.type_name(), serde_json::to_value(&image.source))),
                UserContentBlock::Document(document) => {
                    Some((document.source.type_name(), serde_json::to_value(&document.source)))
                }
                _ => None,
            };
            let kind = block.type_name();
            match source {
                Some(("base64" | "url" | "text", Ok(source))) => json!({ "type": kind, "source": source }),
                _ if kind.is_empty() => json!({ "type": "text", "text": "[an unreadable block]" }),
                _ => json!({ "type": "text", "text": format!("[a {kind} block the engine cannot pass to the model]") }),
            }
        })
        .collect()
}

/// A call's result as a Messages API `tool_result` block: its text blocks.
fn tool_result(tool_use_id: &str, content: Option<&[ToolResultContentBlock]>, is_error: Option<bool>) -> Value {
    let content: Vec<Value> = content
        .into_iter()
        .flatten()
        .filter_map(|block| match block {
            ToolResultContentBlock::Text(text) => Some(json!({ "type": "text", "text": text.text })),
            _ => None,
        })
        .collect();
    json!({
        "type": "tool_result",
        "tool_use_id": tool_use_id,
        "content": content,
        "is_error": is_error.unwrap_or(false),
    })
}

/// Makes the messages a valid Messages API conversation: it starts with the user; every tool
/// call is answered in the next message (a call cut short by an interrupt gets an error result),
/// tool results come first there and answer only calls of the message before; no message is
/// empty.
fn well_formed(messages: Vec<(String, Vec<Value>)>) -> Vec<Value> {
    let mut out: Vec<(String, Vec<Value>)> = Vec::new();
    let mut open_calls: Vec<Value> = Vec::new();
    for (role, mut content) in messages {
        if role == "user" {
            content.retain(|b| b["type"] != "tool_result" || open_calls.contains(&b["tool_use_id"]));
            let answered: Vec<Value> =
                content.iter().filter(|b| b["type"] == "tool_result").map(|b| b["tool_use_id"].clone()).collect();
            let mut results: Vec<Value> = open_calls
                .iter()
                .filter(|id| !answered.contains(id))
                .map(|id| json!({ "type": "tool_result", "tool_use_id": id, "content": [{ "type": "text", "text": "This call did not run: the turn was interrupted." }], "is_error": true }))
                .collect();
            results.extend(content.iter().filter(|b| b["type"] == "tool_result").cloned());
            results.extend(content.into_iter().filter(|b| b["type"] != "tool_result"));
            open_calls.clear();
            content = results;
        } else {
            if !open_calls.is_empty() {
                // Calls of the previous reply with no answer at all: answer them first.
                out.push(("user".to_owned(), Vec::new()));
                return_to_user(&mut out, &mut open_calls);
            }
            open_calls = content.iter().filter(|b| b["type"] == "tool_use").map(|b| b["id"].clone()).collect();
        }
        if content.is_empty() {
            continue;
        }
        match out.last_mut() {
            Some((last, existing)) if *last == role => existing.extend(content),
            _ => out.push((role, content)),
        }
    }
    if !open_calls.is_empty() {
        out.push(("user".to_owned(), Vec::new()));
        return_to_user(&mut out, &mut open_calls);
    }
    while out.first().is_some_and(|(role, _)| role != "user") {
        out.remove(0);
    }
    out.into_iter().map(|(role, content)| json!({ "role": role, "content": content })).collect()
}

/// Fills the last (user) message with error results for `open_calls`.
fn return_to_user(out: &mut [(String, Vec<Value>)], open_calls: &mut Vec<Value>) {
    if let Some((_, content)) = out.last_mut() {
        for id in open_calls.drain(..) {
            content.push(json!({ "type": "tool_result", "tool_use_id": id, "content": [{ "type": "text", "text": "This call did not run: the turn was interrupted." }], "is_error": true }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(t: &str) -> Value {
        json!({ "type": "text", "text": t })
    }

    #[test]
    fn a_conversation_is_made_valid_for_the_messages_api() {
        let call = json!({ "type": "tool_use", "id": "sevt_1", "name": "bash", "input": {} });
        let messages = vec![
            ("assistant".to_owned(), vec![text("stray")]),
            ("user".to_owned(), vec![text("hi")]),
            ("assistant".to_owned(), vec![call.clone()]),
            // The turn was interrupted: the next message comes with no result for sevt_1.
            ("user".to_owned(), vec![text("stop that")]),
            ("assistant".to_owned(), vec![text("ok")]),
            (
                "user".to_owned(),
                vec![json!({ "type": "tool_result", "tool_use_id": "sevt_9", "content": [] }), text("again")],
            ),
        ];
        let out = well_formed(messages);
        let roles: Vec<&str> = out.iter().map(|m| m["role"].as_str().unwrap()).collect();
        assert_eq!(roles, ["user", "assistant", "user", "assistant", "user"]);
        assert_eq!(out[2]["content"][0]["type"], "tool_result");
        assert_eq!(out[2]["content"][0]["tool_use_id"], "sevt_1");
        assert_eq!(out[2]["content"][0]["is_error"], true);
        assert_eq!(out[2]["content"][1], text("stop that"));
        // A result for a call that was never made is dropped.
        assert_eq!(out[4]["content"], json!([text("again")]));
    }

    #[test]
    fn a_user_message_reaches_the_model_as_blocks_it_takes_or_in_words() {
        let said = said(&json!({ "type": "user.message", "id": "sevt_1", "content": [
            text("look"),
            { "type": "image", "source": { "type": "url", "url": "https://example.com/a.png" } },
            { "type": "document", "source": { "type": "text", "media_type": "text/plain", "data": "notes" }, "title": "t" },
            { "type": "image", "source": { "type": "file", "file_id": "file_1" } },
            { "type": "redacted" },
        ] }).to_string())
        .unwrap();
        assert_eq!(said[0], text("look"));
        assert_eq!(
            said[1],
            json!({ "type": "image", "source": { "type": "url", "url": "https://example.com/a.png" } })
        );
        assert_eq!(
            said[2],
            json!({ "type": "document", "source": { "type": "text", "media_type": "text/plain", "data": "notes" } })
        );
        assert_eq!(said[3], text("[a image block the engine cannot pass to the model]"));
        assert_eq!(said[4], text("[a redacted block the engine cannot pass to the model]"));
    }

    #[test]
    fn a_tool_result_reaches_the_model_as_its_text() {
        let event = json!({ "type": "user.custom_tool_result", "id": "sevt_2", "custom_tool_use_id": "sevt_1",
            "content": [text("found"), { "type": "image", "source": { "type": "url", "url": "https://example.com/b.png" } }] });
        assert_eq!(
            said(&event.to_string()).unwrap(),
            [json!({ "type": "tool_result", "tool_use_id": "sevt_1", "content": [text("found")], "is_error": false })]
        );
        assert_eq!(said(r#"{"type":"agent.tool_result","id":"sevt_3"}"#), None, "no tool_use_id: it does not parse");
    }

    #[test]
    fn two_replies_in_a_row_get_their_calls_answered_between_them() {
        let call = json!({ "type": "tool_use", "id": "sevt_1", "name": "bash", "input": {} });
        let out = well_formed(vec![
            ("user".to_owned(), vec![text("go")]),
            ("assistant".to_owned(), vec![call]),
            ("assistant".to_owned(), vec![text("done")]),
        ]);
        let roles: Vec<&str> = out.iter().map(|m| m["role"].as_str().unwrap()).collect();
        assert_eq!(roles, ["user", "assistant", "user", "assistant"]);
        assert_eq!(out[2]["content"][0]["tool_use_id"], "sevt_1");
    }
}
