//! `POST /webhooks/slack`: Slack's interactivity requests (a button pressed, the Deny modal
//! submitted). The signature is the credential: `v0=` HMAC-SHA-256 of `v0:<timestamp>:<body>`
//! with a workspace's signing secret, the timestamp within five minutes of now, and a signature
//! taken before refused (a replay). Only then is the body read. A press decides as the linked
//! Switchboard account, under the workspace's policy, through the approval service; what went
//! wrong is told to the presser only (`chat.postEphemeral`).

use std::sync::Arc;

use axum::{
    Json,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use domain::decisions::Verdict;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::{
    blocks,
    service::{Desk, Linked, OpenApp, Slack, outcome_line, reason_error},
};

/// Slack's payloads are small; a modal's text is at most 2,000 characters.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// How old a request may be (Slack's own advice: five minutes).
const WINDOW_SECS: i64 = 5 * 60;

/// Whether `signature` (`v0=<hex>`) signs `timestamp` and `body` with `secret`; constant time.
pub fn signed(secret: &str, timestamp: &str, body: &[u8], signature: &str) -> bool {
    use subtle::ConstantTimeEq as _;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    let expected = format!("v0={}", crate::support::hex(&mac.finalize().into_bytes()));
    expected.as_bytes().ct_eq(signature.as_bytes()).into()
}

fn refused(status: StatusCode, why: &str) -> Response {
    (status, why.to_owned()).into_response()
}

pub async fn receive(State(slack): State<Arc<Slack>>, headers: HeaderMap, body: Bytes) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let (timestamp, signature) = (header("x-slack-request-timestamp"), header("x-slack-signature"));
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    match timestamp.parse::<i64>() {
        Ok(at) if (now - at).abs() <= WINDOW_SECS => {}
        _ => return refused(StatusCode::UNAUTHORIZED, "The request is not from the last five minutes."),
    }
    let apps = match slack.apps().await {
        Ok(apps) => apps,
        Err(error) => {
            tracing::error!("cannot read the Slack apps: {error}");
            return refused(StatusCode::SERVICE_UNAVAILABLE, "Try again.");
        }
    };
    let signers: Vec<OpenApp> =
        apps.into_iter().filter(|app| signed(&app.signing_secret, &timestamp, &body, &signature)).collect();
    if signers.is_empty() {
        return refused(StatusCode::UNAUTHORIZED, "The request is not signed by a Slack app of this Switchboard.");
    }
    match slack.take_request(&signature).await {
        Ok(true) => {}
        Ok(false) => return refused(StatusCode::CONFLICT, "This request was received before."),
        Err(error) => {
            tracing::error!("cannot record a Slack request: {error}");
            return refused(StatusCode::SERVICE_UNAVAILABLE, "Try again.");
        }
    }
    let payload = form_urlencoded::parse(&body)
        .find(|(k, _)| k == "payload")
        .and_then(|(_, v)| serde_json::from_str::<Value>(&v).ok());
    let Some(payload) = payload else {
        return refused(StatusCode::BAD_REQUEST, "The request has no payload.");
    };
    let press = Press::of(&payload);
    // The workspace is the one the message or the modal names, and its app must have signed.
    let Some(app) = press.as_ref().and_then(|p| signers.iter().find(|a| a.workspace == p.workspace)) else {
        return StatusCode::OK.into_response();
    };
    let press = press.expect("found above");
    match payload.get("type").and_then(Value::as_str) {
        Some("block_actions") => {
            pressed(&slack, app, press, &payload).await;
            StatusCode::OK.into_response()
        }
        Some("view_submission") => submitted(&slack, app, press, &payload).await,
        _ => StatusCode::OK.into_response(),
    }
}

/// What a press or a submission is about, and who made it.
struct Press {
    workspace: String,
    session_id: String,
    event_id: String,
    team: String,
    user: String,
    /// Where the message is, to tell the presser there.
    channel: String,
    action: String,
}

impl Press {
    fn of(payload: &Value) -> Option<Self> {
        let text = |pointer: &str| payload.pointer(pointer).and_then(Value::as_str).map(str::to_owned);
        let user = text("/user/id")?;
        let team = text("/user/team_id").or_else(|| text("/team/id")).unwrap_or_default();
        let (value, channel, action) = match payload.get("type").and_then(Value::as_str)? {
            "block_actions" => (text("/actions/0/value")?, text("/channel/id")?, text("/actions/0/action_id")?),
            "view_submission" => {
                let metadata: Value = serde_json::from_str(&text("/view/private_metadata")?).ok()?;
                let field = |k: &str| metadata.get(k).and_then(Value::as_str).map(str::to_owned);
                (field("value")?, field("channel")?, text("/view/callback_id")?)
            }
            _ => return None,
        };
        let mut parts = value.split(' ');
        let (workspace, session_id, event_id) = (parts.next()?, parts.next()?, parts.next()?);
        Some(Self {
            workspace: workspace.to_owned(),
            session_id: session_id.to_owned(),
            event_id: event_id.to_owned(),
            team,
            user,
            channel,
            action,
        })
    }

    fn value(&self) -> String {
        format!("{} {} {}", self.workspace, self.session_id, self.event_id)
    }
}

/// Allow decides now; Deny opens the modal that asks why.
async fn pressed(slack: &Slack, app: &OpenApp, press: Press, payload: &Value) {
    let Some((desk, person)) = who(slack, app, &press).await else { return };
    match press.action.as_str() {
        blocks::ALLOW => {
            let verdict = Verdict { event_id: press.event_id.clone(), allow: true, deny_message: None, reason: None };
            let decided = slack.decide(&desk, person.clone(), &press.session_id, verdict).await;
            after(slack, app, &press, &person, decided).await;
        }
        blocks::DENY => {
            let Some(trigger) = payload.get("trigger_id").and_then(Value::as_str) else { return };
            let metadata = json!({ "value": press.value(), "channel": press.channel }).to_string();
            let line =
                payload.pointer("/message/text").and_then(Value::as_str).unwrap_or("Deny this tool call").to_owned();
            if let Err(error) =
                slack.api.open_view(&app.bot_token, trigger, &blocks::deny_modal(&line, &metadata)).await
            {
                tracing::warn!(workspace = app.workspace, "the Deny modal did not open: {error}");
                tell(
                    slack,
                    app,
                    &press,
                    "Switchboard could not open the Deny form; deny the call in Switchboard instead.",
                )
                .await;
            }
        }
        _ => {}
    }
}

/// The Deny modal's submission: denies with its reason, or says what is wrong in the modal.
async fn submitted(slack: &Slack, app: &OpenApp, press: Press, payload: &Value) -> Response {
    if press.action != blocks::DENY_MODAL {
        return StatusCode::OK.into_response();
    }
    let pointer = format!("/view/state/values/{}/{}/value", blocks::REASON_BLOCK, blocks::REASON_INPUT);
    let reason = payload.pointer(&pointer).and_then(Value::as_str).unwrap_or_default().trim().to_owned();
    if reason.is_empty() {
        return Json(reason_error("Say why: the agent is told.")).into_response();
    }
    let Some((desk, person)) = who(slack, app, &press).await else {
        return Json(json!({ "response_action": "clear" })).into_response();
    };
    let verdict = Verdict { event_id: press.event_id.clone(), allow: false, deny_message: Some(reason), reason: None };
    let decided = slack.decide(&desk, person.clone(), &press.session_id, verdict).await;
    if let Err(error) = &decided
        && error.field.as_deref() == Some("deny_message")
    {
        return Json(reason_error(&error.message)).into_response();
    }
    after(slack, app, &press, &person, decided).await;
    Json(json!({ "response_action": "clear" })).into_response()
}

/// The workspace and the person a press decides as; `None` after telling the presser why not.
async fn who(slack: &Slack, app: &OpenApp, press: &Press) -> Option<(Desk, domain::auth::Principal)> {
    let Some(desk) = slack.desk(&app.workspace) else {
        tell(slack, app, press, "This workspace is no longer connected to Switchboard.").await;
        return None;
    };
    match slack.person(&app.workspace, &press.team, &press.user).await {
        Ok(Linked::Person(person)) => Some((desk, person)),
        Ok(Linked::Unknown) => {
            let link = slack.link_for(&app.workspace, &press.team, &press.user);
            let text = format!(
                "Switchboard does not know who you are yet, so nothing was decided. <{link}|Link your Slack account> \
                 (sign in to Switchboard and confirm; the link is yours alone, works once and for 15 minutes), then press again."
            );
            tell(slack, app, press, &text).await;
            None
        }
        Ok(Linked::MayNot(username)) => {
            let text = format!(
                "Nothing was decided: your Switchboard account {username} may not decide calls in {} (it needs the Approver role there, and to be enabled).",
                desk.name
            );
            tell(slack, app, press, &text).await;
            None
        }
        Err(error) => {
            tracing::error!("cannot read who a Slack user is: {error}");
            tell(slack, app, press, "Switchboard could not read who you are; nothing was decided. Try again.").await;
            None
        }
    }
}

/// Updates the message after a decision, or tells the presser what stopped it.
async fn after(
    slack: &Slack,
    app: &OpenApp,
    press: &Press,
    person: &domain::auth::Principal,
    decided: Result<domain::decisions::Decided, domain::error::AppError>,
) {
    let message = slack.message(&app.workspace, &press.event_id).await;
    match decided {
        Ok(decided) if !decided.sent.is_empty() => {
            let result = if press.action == blocks::ALLOW {
                domain::decisions::Outcome::Allow
            } else {
                domain::decisions::Outcome::Deny
            };
            if let Some(message) = message {
                slack
                    .settle(
                        app,
                        &message,
                        &outcome_line(
                            result,
                            &person.label(),
                            &domain::format::rfc3339(time::OffsetDateTime::now_utc()),
                        ),
                    )
                    .await;
            }
        }
        Ok(decided) if !decided.waiting.is_empty() => {
            let by = decided.waiting[0].approved_by.join(", ");
            let note = format!("Approved by {by}; it waits for another approver (not the same person).");
            if let Some(message) = message {
                slack.note_waiting(app, &message, &note).await;
            }
            tell(
                slack,
                app,
                press,
                "Your approval is recorded. The policy asks for a second approver: someone else allows it too.",
            )
            .await;
        }
        Ok(decided) => {
            let text = match decided.taken.first() {
                Some(first) => {
                    format!("Already decided by {} at {}; nothing more was sent.", first.decided_by, first.decided_at)
                }
                None => "Nothing was decided.".to_owned(),
            };
            tell(slack, app, press, &text).await;
        }
        Err(error) => tell(slack, app, press, &format!("Nothing was decided: {}", error.message)).await,
    }
}

/// A message only the presser sees.
async fn tell(slack: &Slack, app: &OpenApp, press: &Press, text: &str) {
    if let Err(error) = slack.api.ephemeral(&app.bot_token, &press.channel, &press.user, text).await {
        tracing::warn!(workspace = app.workspace, "a Slack user was not told why: {error}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_is_checked_over_the_timestamp_and_the_body() {
        // Slack's documented example: its signing secret, timestamp, body and signature.
        let secret = "8f742231b10e8888abcd99yyyzzz85a5";
        let timestamp = "1531420618";
        let body = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        let good = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
        assert!(signed(secret, timestamp, body, good));
        assert!(!signed(secret, "1531420619", body, good), "another timestamp");
        assert!(!signed("another secret", timestamp, body, good));
        assert!(!signed(secret, timestamp, &body[1..], good), "another body");
        assert!(!signed(secret, timestamp, body, "a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"));
        assert!(!signed(secret, timestamp, body, "v0=zz"));
    }
}
