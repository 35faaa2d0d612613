//! The rule book: scoped "always allow" rules (`domain::rules`), kept in SQLite and, while live, in
//! memory, and applied by the inbox's reads ([`RuleBook::answer`]): a waiting call that a live
//! rule matches is allowed by Switchboard itself, recorded in the decision store as the rule's
//! (so the timeline says which rule allowed it) and written to the audit log with the rule and
//! who made it.
//!
//! Rules act while no one looks: the inbox keeps polling as long as a rule is live.

use std::sync::{Arc, RwLock};

use domain::{
    decisions::{Outcome, Recorded},
    error::AppError,
    rules::{NewRule, Rule},
    upstream::client::UpstreamHandle,
};
use protocol::event_params::{EventParams, UserToolConfirmationParams};
use serde_json::{Value, json};

use super::{
    decisions::DecisionStore,
    rule_rows::{NewRuleRow, RuleRows, now, stamp},
    unattended::{Unattended, send_unattended},
};
use crate::{
    audit::{Actor, AuditLog, NewEntry},
    support::StoreError,
};

/// A session's agent's id.
fn agent_id(session: &Value) -> Option<String> {
    session.pointer("/agent/id").and_then(Value::as_str).map(str::to_owned)
}

/// Why a rule's tool policy was not written into (or put back on) a session.
enum Unwritten {
    /// The session is deleted, archived or terminated.
    Gone,
    /// Anything else, in words.
    Why(String),
}

/// The most rules one listing answers.
const LISTED: i64 = 500;

pub struct RuleBook {
    rows: Arc<dyn RuleRows>,
    audit: Arc<AuditLog>,
    upstream: UpstreamHandle,
    /// The rules not revoked nor expired when last looked at.
    live: RwLock<Vec<Rule>>,
    /// A policy that asks for two approvers, or forbids self-approval, holds rules back.
    policies: Arc<crate::approvals::policies::Policies>,
    /// The calls whose holding back is audited already (rule, event id): one entry each.
    held: std::sync::Mutex<std::collections::HashSet<(i64, String)>>,
}

impl RuleBook {
    /// Opens the book, with the rules live now in memory.
    pub async fn open(
        rows: Arc<dyn RuleRows>,
        audit: Arc<AuditLog>,
        upstream: UpstreamHandle,
        policies: Arc<crate::approvals::policies::Policies>,
    ) -> Result<Arc<Self>, StoreError> {
        let book = Arc::new(Self {
            rows,
            audit,
            upstream,
            live: RwLock::default(),
            policies,
            held: std::sync::Mutex::default(),
        });
        book.reload().await?;
        let weak = Arc::downgrade(&book);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(std::time::Duration::from_secs(30)).await;
                let Some(book) = weak.upgrade() else { return };
                book.restore_ended().await;
            }
        });
        Ok(book)
    }

    /// Reads the live rules again (another replica changed them).
    pub async fn reload(&self) -> Result<(), StoreError> {
        let live = self.rows.live(&now()).await?;
        *self.live.write().unwrap_or_else(|e| e.into_inner()) = live;
        Ok(())
    }

    /// Whether any rule is live: the inbox keeps looking while one is.
    pub fn any_live(&self) -> bool {
        self.prune() > 0
    }

    /// Drops the rules that ended from memory; answers how many are live.
    fn prune(&self) -> usize {
        let now = now();
        let mut live = self.live.write().unwrap_or_else(|e| e.into_inner());
        live.retain(|r| r.active_at(&now));
        live.len()
    }

    /// The live rule that answers `call` of `session_id` (of `agent_id`), the oldest first.
    fn matching(&self, session_id: &str, agent_id: Option<&str>, call: &Value) -> Option<Rule> {
        let now = now();
        self.live
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|r| r.active_at(&now))
            .filter(|r| match r.scope {
                domain::rules::Scope::Session => r.scope_id == session_id,
                domain::rules::Scope::Agent => Some(r.scope_id.as_str()) == agent_id,
            })
            .find(|r| r.matches(call))
            .cloned()
    }

    /// Allows each of `calls` (of one session) that a live rule matches, and answers the rest.
    /// A call whose answer did not go through stays in the rest, for a person.
    pub async fn answer(
        &self,
        decisions: &dyn DecisionStore,
        session_id: &str,
        agent_id: Option<&str>,
        calls: Vec<domain::inbox::PendingCall>,
    ) -> Vec<domain::inbox::PendingCall> {
        if self.prune() == 0 {
            return calls;
        }
        let gated = match self.policies.all().await {
            Ok(policies) => domain::policies::policy_for(&policies, agent_id).filter(|p| p.gates_approvals()).cloned(),
            // Unknown: a person decides.
            Err(_) => return calls,
        };
        let mut rest = Vec::new();
        for call in calls {
            match self.matching(session_id, agent_id, &call.event) {
                Some(rule) if gated.is_some() => {
                    if let Some(policy) = &gated {
                        self.held_back(session_id, &rule, &call.event, policy).await;
                    }
                    rest.push(call);
                }
                Some(rule) if self.allow(decisions, session_id, &rule, &call.event).await => {}
                _ => rest.push(call),
            }
        }
        rest
    }

    /// Audits, once per rule and call, that a policy kept a rule from answering a call.
    async fn held_back(&self, session_id: &str, rule: &Rule, call: &Value, policy: &domain::policies::Policy) {
        let event_id = domain::inbox::call_id(call).to_owned();
        if !self.held.lock().unwrap_or_else(|e| e.into_inner()).insert((rule.id, event_id.clone())) {
            return;
        }
        let detail = json!({
            "rule": rule.id,
            "rule_by": rule.created_by,
            "policy": policy.agent_id,
            "required_approvals": policy.required_approvals,
            "no_self_approval": policy.no_self_approval,
        });
        self.audit.append(NewEntry::of_policy("policies/held_rule", session_id, &event_id, detail)).await;
    }

    /// Sends `rule`'s allow for `call` (`unattended::send_unattended`); audited either way. True
    /// when the call is answered (by the rule, or by somebody first).
    async fn allow(&self, decisions: &dyn DecisionStore, session_id: &str, rule: &Rule, call: &Value) -> bool {
        let event_id = domain::inbox::call_id(call).to_owned();
        let decision = Recorded {
            event_id: event_id.clone(),
            result: Outcome::Allow,
            deny_message: None,
            decided_by: format!("rule {} of {}", rule.id, rule.created_by),
            decided_at: now(),
        };
        let event = EventParams::UserToolConfirmation(UserToolConfirmationParams::allow(&event_id));
        let error =
            match send_unattended(&self.upstream, decisions, session_id, &decision, event, "Allowing a call by rule")
                .await
            {
                Unattended::Taken => return true,
                Unattended::NotRecorded => return false,
                Unattended::Sent => None,
                Unattended::Failed(error) => Some(error),
            };
        let sent = error.is_none();
        if sent && let Err(e) = self.rows.count_use(rule.id).await {
            tracing::warn!(rule = rule.id, "a rule's use could not be counted: {e}");
        }
        let digest = domain::decisions::input_sha256(call.get("input").unwrap_or(&Value::Null));
        self.audit
            .append(NewEntry {
                actor: Actor { username: Some(rule.owner.clone()), roles: "rule".to_owned(), ..Actor::default() },
                action: "rules/allowed".to_owned(),
                targets: vec![session_id.to_owned(), event_id],
                detail: Some(json!({
                    "rule": rule.id,
                    "rule_by": rule.created_by,
                    "allows": rule.in_words(),
                    "tool": rule.tool,
                    "input_sha256": digest,
                })),
                status: if sent { 200 } else { 502 },
                error: error.clone(),
            })
            .await;
        if let Some(error) = error {
            tracing::warn!(rule = rule.id, "a rule could not allow a call: {error}");
        }
        sent
    }

    /// The id of `session_id`'s agent, as the API has the session (one request).
    async fn agent_of(&self, session_id: &str) -> Result<Option<String>, AppError> {
        let session =
            self.read_session(session_id).await.map_err(|e| AppError::upstream("Reading the session's agent", e))?;
        Ok(agent_id(&session))
    }

    /// The session as the API has it (one request).
    async fn read_session(&self, session_id: &str) -> Result<Value, domain::upstream::client::UpstreamError> {
        self.upstream.get(&format!("/v1/sessions/{session_id}"), Vec::new()).await
    }

    pub(super) async fn create_now(&self, rule: NewRule, by: String, owner: String) -> Result<Rule, AppError> {
        let (tool, scope) = rule.check()?;
        // Read once: for its agent, and for its tools when the rule is written into them.
        let session = self
            .read_session(&rule.session_id)
            .await
            .map_err(|e| AppError::upstream("Reading the session's agent", e))?;
        let agent = agent_id(&session);
        let policies = self.policies.all().await?;
        if let Some(policy) = domain::policies::policy_for(&policies, agent.as_deref()).filter(|p| p.gates_approvals())
        {
            let asks = if policy.required_approvals > 1 {
                "two approvers for each call"
            } else {
                "that nobody allows a call their own message led to"
            };
            return Err(AppError::bad_input(
                "scope",
                format!(
                    "This agent's approval policy asks {asks}; a rule cannot stand in for that. Decide the calls on their cards."
                ),
            ));
        }
        let scope_id = match scope {
            domain::rules::Scope::Session => rule.session_id.clone(),
            domain::rules::Scope::Agent => agent.ok_or_else(|| {
                AppError::bad_input("scope", "This session's agent has no id; make the rule for the session.")
            })?,
        };
        let created_at = time::OffsetDateTime::now_utc();
        let expires_at = created_at + time::Duration::minutes(rule.minutes as i64);
        let row = NewRuleRow {
            tool,
            pattern: rule.pattern.trim().to_owned(),
            scope,
            scope_id,
            created_by: by,
            owner,
            created_at: stamp(created_at),
            expires_at: stamp(expires_at),
        };
        let mut made = self.rows.insert(&row).await?;
        if scope == domain::rules::Scope::Session && rule.pattern.trim().is_empty() {
            // One written rule per tool and session: a second would remember the first's policy
            // as the one to put back.
            let already = self
                .live
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .find(|r| r.written && r.scope == scope && r.scope_id == made.scope_id && r.tool == made.tool)
                .map(|r| r.id);
            let written = match already {
                Some(id) => Err(Unwritten::Why(format!("rule {id} wrote it already."))),
                None => self.write_tool_policy(&made.scope_id, session, &made.tool).await,
            };
            let (previous, note) = match written {
                Ok(previous) => (Some(previous.to_string()), None),
                Err(Unwritten::Why(why)) => (None, Some(why)),
                Err(Unwritten::Gone) => (None, Some("the session has ended.".to_owned())),
            };
            made = self.rows.note_written(made.id, previous, note).await?;
        }
        self.live.write().unwrap_or_else(|e| e.into_inner()).push(made.clone());
        Ok(made)
    }

    /// `session`'s built-in toolset, with `edit` applied to the entry of `tool` in its `configs`
    /// (`None`: no entry), sent as the session's update. Answers the entry as it was, or why
    /// nothing was written, in words.
    async fn edit_tool_config(
        &self,
        session_id: &str,
        session: Value,
        tool: &str,
        edit: impl FnOnce(&mut Option<Value>),
    ) -> Result<Value, Unwritten> {
        if !domain::agents::BUILTIN_TOOLS.contains(&tool) {
            return Err(Unwritten::Why(format!(
                "`{tool}` is not a built-in tool, and only those have a policy Switchboard can write."
            )));
        }
        if session["archived_at"].is_string() || session["status"] == "terminated" {
            return Err(Unwritten::Gone);
        }
        let mut tools = session.pointer("/agent/tools").and_then(Value::as_array).cloned().unwrap_or_default();
        let Some(toolset) = tools.iter_mut().find(|t| t["type"] == "agent_toolset_20260401") else {
            return Err(Unwritten::Why("the session's agent has no built-in toolset.".to_owned()));
        };
        let configs = toolset["configs"].as_array().cloned().unwrap_or_default();
        let at = configs.iter().position(|c| c["name"] == tool);
        let previous = at.map(|i| configs[i].clone());
        let mut entry = previous.clone();
        edit(&mut entry);
        let mut configs: Vec<Value> = configs.into_iter().filter(|c| c["name"] != tool).collect();
        if let Some(entry) = entry {
            configs.insert(at.unwrap_or(configs.len()).min(configs.len()), entry);
        }
        toolset["configs"] = Value::Array(configs);
        self.upstream
            .post::<Value>(&format!("/v1/sessions/{session_id}"), &json!({ "agent": { "tools": tools } }))
            .await
            .map_err(|e| Unwritten::Why(AppError::upstream("Changing the session's tool policy", e).message))?;
        Ok(previous.unwrap_or(Value::Null))
    }

    /// Writes `always_allow` for `tool` into the session's own tool policy.
    async fn write_tool_policy(&self, session_id: &str, session: Value, tool: &str) -> Result<Value, Unwritten> {
        self.edit_tool_config(session_id, session, tool, |entry| {
            let mut new = entry.take().unwrap_or_else(|| json!({ "name": tool }));
            new["permission_policy"] = json!({ "type": "always_allow" });
            *entry = Some(new);
        })
        .await
    }

    /// Puts back the tool's policy a rule wrote over, once the rule is revoked or has ended; a
    /// session that is gone needs nothing. False when it must be tried again (the session runs,
    /// or the API did not answer).
    async fn restore_tool_policy(&self, rule: &Rule, previous: Value) -> bool {
        let put_back = match self.read_session(&rule.scope_id).await {
            Ok(session) => {
                self.edit_tool_config(&rule.scope_id, session, &rule.tool, |entry| {
                    *entry = (!previous.is_null()).then(|| previous.clone());
                })
                .await
            }
            Err(domain::upstream::client::UpstreamError::Api { status: 404, .. }) => Err(Unwritten::Gone),
            Err(e) => Err(Unwritten::Why(AppError::upstream("Reading the session", e).message)),
        };
        let gone = match &put_back {
            Ok(_) | Err(Unwritten::Gone) => true,
            Err(Unwritten::Why(why)) => {
                tracing::info!(rule = rule.id, "the tool policy a rule wrote is not put back yet: {why}");
                false
            }
        };
        if gone && let Err(e) = self.rows.restored(rule.id, &now()).await {
            tracing::warn!(rule = rule.id, "a restored tool policy could not be noted: {e}");
        }
        gone
    }

    /// Puts back the tool policies of the rules that ended and wrote one (the housekeeping task
    /// calls it every 30 s; a revocation calls it at once).
    pub async fn restore_ended(&self) {
        let due = match self.rows.to_restore(&now()).await {
            Ok(due) => due,
            Err(e) => return tracing::warn!("cannot read the rules whose tool policy to put back: {e}"),
        };
        for (rule, previous) in due {
            let previous = serde_json::from_str(&previous).unwrap_or(Value::Null);
            self.restore_tool_policy(&rule, previous).await;
        }
    }

    pub(super) async fn revoke_now(&self, id: i64, by: String, owner: String, admin: bool) -> Result<Rule, AppError> {
        let Some(rule) = self.rows.get(id).await? else {
            return Err(AppError::not_found(format!("There is no rule {id}.")));
        };
        if rule.owner != owner && !admin {
            return Err(AppError::new(
                domain::error::ErrorKind::Forbidden,
                format!("Rule {id} is {}'s: only they or an admin may revoke it.", rule.created_by),
            ));
        }
        if rule.revoked_at.is_some() {
            return Ok(rule);
        }
        let revoked = self.rows.revoke(id, &by, &now()).await?;
        if rule.written {
            self.restore_ended().await;
        }
        self.live.write().unwrap_or_else(|e| e.into_inner()).retain(|r| r.id != id);
        Ok(revoked)
    }

    pub(super) async fn list_now(&self, session_id: Option<String>) -> Result<Vec<Rule>, AppError> {
        match session_id {
            None => self.rows.list(None, LISTED).await,
            Some(session_id) => {
                let agent = self.agent_of(&session_id).await?.unwrap_or_default();
                self.rows.list(Some((&session_id, &agent)), LISTED).await
            }
        }
        .map_err(AppError::from)
    }
}
