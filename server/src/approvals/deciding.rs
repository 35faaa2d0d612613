//! A person's decisions on waiting calls, from the request to the upstream: checked, gated by the
//! session's policy (`gate.rs`), noted in the request's audit entry with the input the person saw
//! (as a digest), then delivered as every decision is (`delivery.rs`: claimed, sent in one
//! request, settled). Each decision's end is counted in the metrics (`Tally`).

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use domain::{
    approvals::{Caller, CustomAnswer},
    decisions::{Decided, Outcome, Recorded, Verdict},
    error::{AppError, ErrorKind},
    live::MAX_TEXT,
    upstream::client::UpstreamHandle,
};
use protocol::{
    common::Page,
    content::ToolResultContentBlock,
    event_params::{EventParams, UserCustomToolResultParams, UserToolConfirmationParams},
    events::types,
};
use serde_json::{Value, json};

use super::{
    decisions::{DecisionStore, Pending, store_failed},
    delivery::{Delivery, Failed},
    gate,
    inbox::Inbox,
    policies::Policies,
};

/// What a decision passes through on its way upstream: the workspace's upstream, the decision
/// store, the policies that gate it and the inbox it leaves; and the share links' masking, which
/// the audit's copy of the input decided on goes through.
pub struct DecisionPath {
    pub upstream: UpstreamHandle,
    pub decisions: Arc<dyn DecisionStore>,
    pub policies: Arc<Policies>,
    pub inbox: Arc<Inbox>,
    pub shares: Arc<crate::records::shares::Shares>,
}

/// Who decides, and when: worked out once per request, for all its decisions.
pub struct Decider {
    by: String,
    at: String,
}

impl Decider {
    pub fn new(by: &Caller) -> Self {
        Self { by: by.person.label(), at: domain::format::rfc3339(time::OffsetDateTime::now_utc()) }
    }

    pub fn record(&self, event_id: String, result: Outcome, deny_message: Option<String>) -> Recorded {
        Recorded { event_id, result, deny_message, decided_by: self.by.clone(), decided_at: self.at.clone() }
    }
}

/// The verdicts as decisions to send, or what is wrong with them (nothing is recorded then).
pub fn check_verdicts(decider: &Decider, verdicts: Vec<Verdict>) -> Result<Vec<Pending>, AppError> {
    if verdicts.is_empty() {
        return Err(AppError::bad_input("verdicts", "Choose at least one tool call to decide."));
    }
    let mut decisions = Vec::new();
    let mut seen = HashSet::new();
    for verdict in verdicts {
        if !seen.insert(verdict.event_id.clone()) {
            return Err(AppError::bad_input(
                "verdicts",
                format!("{} is decided twice in one request; decide each call once.", verdict.event_id),
            ));
        }
        let event_id = domain::upstream::segment(&verdict.event_id)
            .map_err(|_| AppError::bad_input("event_id", format!("{:?} is not an event id.", verdict.event_id)))?;
        let deny_message = verdict.deny_message.map(|m| m.trim().to_owned()).filter(|m| !m.is_empty());
        if verdict.allow && deny_message.is_some() {
            return Err(AppError::bad_input("deny_message", "A message to the agent goes only with a denial."));
        }
        let reason = verdict.reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
        if !verdict.allow && reason.is_some() {
            return Err(AppError::bad_input(
                "reason",
                "A reason goes with an Allow; a denial's reason is its message to the agent.",
            ));
        }
        if reason.is_some_and(|r| r.len() > domain::decisions::MAX_REASON) {
            return Err(AppError::bad_input("reason", "The reason is too long; keep it under 2,000 characters."));
        }
        if deny_message.as_ref().is_some_and(|m| m.len() > MAX_TEXT) {
            return Err(AppError::bad_input(
                "deny_message",
                "The message is too long; keep it under 200,000 characters.",
            ));
        }
        let event = if verdict.allow {
            UserToolConfirmationParams::allow(&event_id)
        } else {
            UserToolConfirmationParams::deny(&event_id, deny_message.clone())
        };
        let decision = decider.record(event_id, event.result.into(), deny_message);
        decisions.push((decision, EventParams::UserToolConfirmation(event)));
    }
    Ok(decisions)
}

/// A custom tool's answer as the event that carries it, or what is wrong with it.
pub fn check_answer(event_id: &str, answer: CustomAnswer) -> Result<EventParams, AppError> {
    if answer.text.len() > MAX_TEXT {
        return Err(AppError::bad_input("text", "The result is too long; keep it under 200,000 characters."));
    }
    let text = if answer.json {
        let value: Value = serde_json::from_str(&answer.text)
            .map_err(|e| AppError::bad_input("text", format!("This is not JSON ({e}). Fix it, or send it as text.")))?;
        serde_json::to_string_pretty(&value).unwrap_or(answer.text)
    } else {
        answer.text
    };
    Ok(EventParams::UserCustomToolResult(UserCustomToolResultParams {
        custom_tool_use_id: event_id.to_owned(),
        content: Some(vec![ToolResultContentBlock::text(text)]),
        is_error: answer.is_error.then_some(true),
    }))
}

impl DecisionPath {
    /// Decides tool calls: checked, gated by the policy, then delivered.
    pub async fn decide_calls(
        &self,
        by: Caller,
        session_id: String,
        verdicts: Vec<Verdict>,
    ) -> Result<Decided, AppError> {
        let reasons: HashMap<String, String> = verdicts
            .iter()
            .filter_map(|v| Some((v.event_id.clone(), v.reason.as_deref()?.trim().to_owned())))
            .filter(|(_, reason)| !reason.is_empty())
            .collect();
        let decisions = check_verdicts(&Decider::new(&by), verdicts)?;
        let parts = (&self.upstream, self.policies.as_ref(), self.decisions.as_ref());
        let (decisions, waiting, policy) = gate::gate(parts, &by, &session_id, decisions).await?;
        let mut decided = if decisions.is_empty() {
            // Approvals that wait for another person: their reasons are this entry's.
            by.note(json!({ "session_id": session_id, "policy": policy, "reasons": reasons }));
            Decided::default()
        } else {
            let echo = (types::USER_TOOL_CONFIRMATION, "tool_use_id");
            self.deliver(&by, &session_id, echo, decisions, Noted { policy, reasons }).await?
        };
        decided.waiting = waiting;
        Ok(decided)
    }

    /// Answers a custom tool call: checked, then delivered (no policy gates an answer).
    pub async fn answer_call(
        &self,
        by: Caller,
        session_id: String,
        event_id: String,
        answer: CustomAnswer,
    ) -> Result<Decided, AppError> {
        let event = check_answer(&event_id, answer)?;
        let decision = Decider::new(&by).record(event_id, Outcome::Answered, None);
        let echo = (types::USER_CUSTOM_TOOL_RESULT, "custom_tool_use_id");
        self.deliver(&by, &session_id, echo, vec![(decision, event)], Noted::default()).await
    }

    /// Notes the decisions in the request's audit entry, then delivers them
    /// ([`Delivery::deliver`]: claimed, the won ones sent in one request, settled); those that
    /// reached the API leave the inbox.
    async fn deliver(
        &self,
        by: &Caller,
        session_id: &str,
        echo: (&str, &str),
        decisions: Vec<Pending>,
        noted: Noted,
    ) -> Result<Decided, AppError> {
        self.note_decisions(by, session_id, &decisions, noted).await;
        let tally = Tally(decisions.iter().map(|(d, _)| (d.event_id.clone(), d.result)).collect());
        let count = |id: &str, result: &'static str| tally.count(id, result);
        let delivery = Delivery { upstream: &self.upstream, decisions: self.decisions.as_ref(), echo, count: &count };
        let delivered = delivery.deliver(session_id, decisions).await.map_err(store_failed)?;
        // What reached the API leaves every tab's inbox at once, not at the next poll.
        for id in &delivered.sent {
            self.inbox.decided(session_id, id).await;
        }
        match delivered.failed {
            None => Ok(Decided { sent: delivered.sent, taken: delivered.taken, ..Decided::default() }),
            Some(Failed::NotSent(error)) => Err(AppError::upstream("Sending the decision", error)),
            // The person looks at the timeline; a later decision may take over once the records
            // are stale.
            Some(Failed::Unknown) => Err(AppError::new(
                ErrorKind::Unavailable,
                "Switchboard could not tell whether the decision reached the API (it did not answer, and listing the events failed). Watch the timeline: a confirmation appears if it arrived; if none does within two minutes, decide again.",
            )),
        }
    }
}

/// What each decision of a request is (`allow`, `deny`, `answered`), to count its end in the
/// metrics by: `sent`, `failed`, `unknown` (no answer, and the events could not be listed to
/// tell), `taken` (someone else's decision came first).
struct Tally(HashMap<String, Outcome>);

impl Tally {
    fn count(&self, event_id: &str, result: &'static str) {
        if let Some(decision) = self.0.get(event_id) {
            metrics::counter!(crate::support::meters::DECISIONS, "decision" => decision.as_str(), "result" => result)
                .increment(1);
        }
    }
}

/// What a request's audit entry notes beside its decisions: the policy's part, and the reasons
/// people gave for their Allows (by event id).
#[derive(Default)]
struct Noted {
    policy: Option<Value>,
    reasons: HashMap<String, String>,
}

/// The most of a call's input the audit entry keeps, in bytes of its JSON.
const MAX_INPUT_SHOWN: usize = 16 * 1024;

/// `input` as the audit keeps it: masked as a redacting share link masks it, as JSON, cut at
/// [`MAX_INPUT_SHOWN`] bytes (on a character's boundary) with what was cut said.
fn input_shown(shares: &crate::records::shares::Shares, input: &Value) -> String {
    let text = serde_json::to_string(&shares.masked(input.clone())).unwrap_or_default();
    if text.len() <= MAX_INPUT_SHOWN {
        return text;
    }
    let mut cut = MAX_INPUT_SHOWN;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}… ({} more bytes not kept)", &text[..cut], text.len() - cut)
}

impl DecisionPath {
    /// Adds to the request's audit entry what each decided call was: its tool, the input the API
    /// holds for it (what the approval card showed) as a SHA-256 digest and as shown
    /// (`input_shown`: masked, bounded; the audit log seals it where a secret key is set), with
    /// the decision, any message to the agent and any reason for an Allow. A call the listing
    /// does not find is noted by id.
    async fn note_decisions(&self, by: &Caller, session_id: &str, decisions: &[Pending], noted: Noted) {
        let mut query: Vec<(String, String)> =
            [types::AGENT_TOOL_USE, types::AGENT_MCP_TOOL_USE, types::AGENT_CUSTOM_TOOL_USE]
                .iter()
                .map(|t| ("types[]".to_owned(), (*t).to_owned()))
                .collect();
        query.push(("order".to_owned(), "desc".to_owned()));
        query.push(("limit".to_owned(), "1000".to_owned()));
        let listed: Vec<Value> = self
            .upstream
            .get::<Page<Value>>(&format!("/v1/sessions/{session_id}/events"), query)
            .await
            .map(|page| page.data)
            .unwrap_or_default();
        let noted_calls: Vec<Value> = decisions
            .iter()
            .map(|(decision, _)| {
                let call =
                    listed.iter().find(|e| e.get("id").and_then(Value::as_str) == Some(decision.event_id.as_str()));
                let input = call.and_then(|c| c.get("input"));
                json!({
                    "event_id": decision.event_id,
                    "tool": call.and_then(|c| c.get("name")).cloned(),
                    "input_sha256": input.map(domain::decisions::input_sha256),
                    "input_shown": input.map(|input| input_shown(&self.shares, input)),
                    "result": decision.result,
                    "deny_message": decision.deny_message,
                    "reason": noted.reasons.get(&decision.event_id),
                })
            })
            .collect();
        let mut detail = json!({ "session_id": session_id, "decisions": noted_calls });
        if let Some(policy) = noted.policy {
            detail["policy"] = policy;
        }
        by.note(detail);
    }
}
