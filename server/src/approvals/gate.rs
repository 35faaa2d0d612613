//! The session's approval policy applied to decisions: two approvers, no self-approval. Also what
//! a card shows of it ([`state`]): the approvals a waiting call has, and who led to it.

use domain::{
    approvals::Caller,
    decisions::{Outcome, Waiting},
    error::{AppError, ErrorKind},
    policies::{ApprovalState, CallApprovals, Policy, Sender, SentMessage, policy_for},
    upstream::client::UpstreamHandle,
};
use protocol::events::types;
use serde_json::{Value, json};

use super::{
    decisions::{DecisionStore, Pending, store_failed},
    policies::{Policies, PolicyStore},
};

/// The events read to find who led to each call, at most.
const MAX_EVENTS: usize = 10_000;

/// The policy that gates approvals in `session_id` (one read of the session when any policy
/// exists; none when none does).
pub async fn session_policy(
    upstream: &UpstreamHandle,
    policies: &Policies,
    session_id: &str,
) -> Result<Option<Policy>, AppError> {
    policy_where(upstream, policies, session_id, Policy::gates_approvals).await
}

/// The policy that holds in `session_id` if it is `wanted` (one read of the session when any
/// policy is).
async fn policy_where(
    upstream: &UpstreamHandle,
    policies: &Policies,
    session_id: &str,
    wanted: fn(&Policy) -> bool,
) -> Result<Option<Policy>, AppError> {
    let policies = policies.list().await?;
    if !policies.iter().any(wanted) {
        return Ok(None);
    }
    let session: Value = upstream
        .get(&format!("/v1/sessions/{session_id}"), Vec::new())
        .await
        .map_err(|e| AppError::upstream("Reading the session's agent", e))?;
    let agent = session.pointer("/agent/id").and_then(Value::as_str);
    Ok(policy_for(&policies, agent).filter(|p| wanted(p)).cloned())
}

/// Who sent the message that led to each call of the session (its `agent.*tool_use` events): the
/// last `user.message` before the call, looked up among the messages Switchboard sent.
pub async fn senders(
    upstream: &UpstreamHandle,
    policies: &Policies,
    session_id: &str,
) -> Result<Vec<(String, Sender)>, AppError> {
    let sent = policies.messages(session_id.to_owned()).await?;
    let mut query: Vec<(String, String)> =
        [types::USER_MESSAGE, types::AGENT_TOOL_USE, types::AGENT_MCP_TOOL_USE, types::AGENT_CUSTOM_TOOL_USE]
            .iter()
            .map(|t| ("types[]".to_owned(), (*t).to_owned()))
            .collect();
    query.push(("order".to_owned(), "asc".to_owned()));
    let keep = |event: Value| {
        let kind = event.get("type").and_then(Value::as_str)?.to_owned();
        Some((event.get("id").and_then(Value::as_str)?.to_owned(), kind))
    };
    let (events, _) = domain::upstream::client::walk_pages_of(
        upstream,
        &format!("/v1/sessions/{session_id}/events"),
        "Reading who sent the session's messages",
        query,
        1000,
        MAX_EVENTS,
        keep,
    )
    .await?;
    Ok(lead(&events, &sent))
}

/// For each call among `events` (id and type, in order), who sent the message before it.
pub fn lead(events: &[(String, String)], sent: &[SentMessage]) -> Vec<(String, Sender)> {
    let mut out = Vec::new();
    let mut messages = 0;
    let mut last: Option<Sender> = None;
    for (id, kind) in events {
        if kind == types::USER_MESSAGE {
            messages += 1;
            let person = sent.iter().find(|m| match &m.event_id {
                Some(event) => event == id,
                // The initial message is the session's first.
                None => messages == 1,
            });
            last = Some(match person {
                Some(m) => Sender::Person { username: m.username.clone(), label: m.label.clone() },
                None => Sender::Outside,
            });
        } else {
            out.push((id.clone(), last.clone().unwrap_or(Sender::Outside)));
        }
    }
    out
}

/// Applies the session's approval policy to the allows among `decisions`. An allow of a call that
/// the deciding person's own message led to is refused, with the whole request (nothing is
/// recorded or sent), under a no-self-approval policy. Under a two-approver policy each allow is
/// recorded as this person's approval, and goes on only once the call has the approvals it needs,
/// as the decision of everyone who approved it. Denials go on: one is final. Answers what goes
/// on, what waits, and the policy's part of the audit entry.
pub async fn gate(
    (upstream, policies, store): (&UpstreamHandle, &Policies, &dyn DecisionStore),
    by: &Caller,
    session_id: &str,
    decisions: Vec<Pending>,
) -> Result<(Vec<Pending>, Vec<Waiting>, Option<Value>), AppError> {
    if !decisions.iter().any(|(d, _)| d.result == Outcome::Allow) {
        return Ok((decisions, Vec::new(), None));
    }
    let Some(policy) = session_policy(upstream, policies, session_id).await? else {
        return Ok((decisions, Vec::new(), None));
    };
    let mut note = json!({
        "agent": policy.agent_id,
        "required_approvals": policy.required_approvals,
        "no_self_approval": policy.no_self_approval,
    });
    if policy.no_self_approval {
        refuse_self_approval(upstream, policies, by, session_id, &decisions, &mut note).await?;
    }
    // A call decided already goes on, to be answered with who decided it.
    let decided = store.recorded(session_id).await.map_err(store_failed)?;
    let mut go = Vec::new();
    let mut waiting = Vec::new();
    for (mut decision, event) in decisions {
        let open = !decided.iter().any(|d| d.event_id == decision.event_id);
        if open && decision.result == Outcome::Allow && policy.required_approvals > 1 {
            let me = &by.person;
            let approved = policies
                .approve(session_id.to_owned(), decision.event_id.clone(), me.username.clone(), me.label())
                .await?;
            if approved.len() < usize::from(policy.required_approvals) {
                let required = policy.required_approvals;
                waiting.push(Waiting { event_id: decision.event_id, approved_by: approved, required });
                continue;
            }
            decision.decided_by = approved.join(" and ");
        }
        go.push((decision, event));
    }
    if !waiting.is_empty() {
        note["waiting_for_approvals"] = json!(
            waiting
                .iter()
                .map(|w| json!({ "event_id": w.event_id, "approvals": w.approved_by.len() }))
                .collect::<Vec<_>>()
        );
    }
    Ok((go, waiting, Some(note)))
}

/// Refuses the request when the person allows a call their own message led to.
async fn refuse_self_approval(
    upstream: &UpstreamHandle,
    policies: &Policies,
    by: &Caller,
    session_id: &str,
    decisions: &[Pending],
    note: &mut Value,
) -> Result<(), AppError> {
    let led = senders(upstream, policies, session_id).await?;
    let own = decisions.iter().filter(|(d, _)| d.result == Outcome::Allow).find(|(d, _)| {
        led.iter().any(|(call, sender)| {
            call == &d.event_id && matches!(sender, Sender::Person { username, .. } if *username == by.person.username)
        })
    });
    let Some((own, _)) = own else { return Ok(()) };
    note["refused_self_approval"] = json!(own.event_id);
    by.note(json!({ "session_id": session_id, "policy": note }));
    Err(AppError::new(
        ErrorKind::Forbidden,
        format!(
            "You sent the message that led to call {}, and this agent's approval policy lets nobody allow a call their own message led to: somebody else must allow it. You may deny it. Nothing was sent.",
            own.event_id
        ),
    ))
}

/// The approvals a session's waiting calls have and need, for their cards.
pub async fn state(
    upstream: &UpstreamHandle,
    policies: &Policies,
    session_id: &str,
) -> Result<ApprovalState, AppError> {
    let Some(policy) = policy_where(upstream, policies, session_id, Policy::shows_on_cards).await? else {
        return Ok(ApprovalState::default());
    };
    let approvals = policies.approvals(session_id.to_owned()).await?;
    let senders = if policy.no_self_approval { Some(senders(upstream, policies, session_id).await?) } else { None };
    let mut calls: Vec<CallApprovals> = Vec::new();
    for (event_id, label) in approvals {
        call_entry(&mut calls, event_id).approved_by.push(label);
    }
    for (event_id, sender) in senders.unwrap_or_default() {
        call_entry(&mut calls, event_id).sender = Some(sender);
    }
    Ok(ApprovalState { policy: Some(policy), calls })
}

/// The entry of `event_id` among `calls`, added when it has none yet.
fn call_entry(calls: &mut Vec<CallApprovals>, event_id: String) -> &mut CallApprovals {
    let at = match calls.iter().position(|c| c.event_id == event_id) {
        Some(at) => at,
        None => {
            calls.push(CallApprovals { event_id, approved_by: Vec::new(), sender: None });
            calls.len() - 1
        }
    };
    &mut calls[at]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_message_before_a_call_names_who_led_to_it() {
        let e = |id: &str, kind: &str| (id.to_owned(), kind.to_owned());
        let events = [
            e("m1", "user.message"),
            e("c1", "agent.tool_use"),
            e("m2", "user.message"),
            e("c2", "agent.tool_use"),
            e("m3", "user.message"),
            e("c3", "agent.mcp_tool_use"),
        ];
        let message = |event: Option<&str>, username: &str, label: &str| SentMessage {
            event_id: event.map(str::to_owned),
            username: username.into(),
            label: label.into(),
        };
        let sent = [message(None, "ann", "Ann"), message(Some("m3"), "bob", "Bob")];
        let led = lead(&events, &sent);
        let person = |u: &str, l: &str| Sender::Person { username: u.into(), label: l.into() };
        assert_eq!(
            led,
            vec![
                ("c1".into(), person("ann", "Ann")),
                ("c2".into(), Sender::Outside),
                ("c3".into(), person("bob", "Bob"))
            ]
        );
    }
}
