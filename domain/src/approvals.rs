//! The approval service as every caller reaches it: one trait, implemented by the server
//! (`server/src/approvals/service.rs`), that gates, records, sends, settles and reconciles
//! decisions, applies policies and rules, and notes each in the request's audit entry. The app's
//! server functions (`app/src/api/live.rs`, `policies.rs`, `rules.rs`) and the server's own callers
//! (Slack, deadlines) only pass their arguments on.

#[cfg(feature = "server")]
pub use service::*;

#[cfg(feature = "server")]
mod service {
    use std::sync::Arc;

    use serde_json::Value;

    use crate::{
        auth::{Principal, store::AuditNote},
        decisions::{Decided, LinkRefusal, Recorded, Verdict},
        error::AppError,
        policies::{ApprovalState, Policy},
        rules::{NewRule, Rule},
        upstream::client::BoxFuture,
    };

    /// Who asks, and the audit entry of their request, which the service adds its detail to.
    #[derive(Clone)]
    pub struct Caller {
        pub person: Principal,
        note: Option<AuditNote>,
    }

    impl Caller {
        /// `person`, with the audit entry their detail goes to when there is one: their request's,
        /// or, deciding outside a server function (a press in Slack), the one the caller writes
        /// itself.
        pub fn new(person: Principal, note: Option<AuditNote>) -> Self {
            Self { person, note }
        }

        /// Sets what the request's audit entry says beside its action.
        pub fn note(&self, detail: Value) {
            if let Some(note) = &self.note {
                *note.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(detail);
            }
        }
    }

    /// A custom tool's answer, as the card sends it.
    #[derive(Debug, Clone)]
    pub struct CustomAnswer {
        pub text: String,
        /// The text is JSON, to be checked and sent pretty-printed.
        pub json: bool,
        pub is_error: bool,
    }

    /// Everything about approving tool calls, for one workspace.
    pub trait Approvals: Send + Sync + 'static {
        /// Decides pending `agent.tool_use` / `agent.mcp_tool_use` calls in one request upstream,
        /// under the session's approval policy.
        fn decide(
            &self,
            by: Caller,
            session_id: String,
            verdicts: Vec<Verdict>,
        ) -> BoxFuture<'_, Result<Decided, AppError>>;
        /// Answers a pending `agent.custom_tool_use`.
        fn answer(
            &self,
            by: Caller,
            session_id: String,
            event_id: String,
            answer: CustomAnswer,
        ) -> BoxFuture<'_, Result<Decided, AppError>>;
        /// Every decision recorded for the session, oldest first.
        fn decisions(&self, session_id: String) -> BoxFuture<'_, Result<Vec<Recorded>, AppError>>;
        /// The approvals the session's waiting calls have and need, for their cards.
        fn state(&self, session_id: String) -> BoxFuture<'_, Result<ApprovalState, AppError>>;
        /// Records that `by` sent the `user.message` `event_id` (`None`: the session's initial
        /// message). The message is sent already: a failure is logged, not answered.
        fn sent(&self, by: Principal, session_id: String, event_id: Option<String>) -> BoxFuture<'_, ()>;
        /// Every policy, `*` first.
        fn policies(&self) -> BoxFuture<'_, Result<Vec<Policy>, AppError>>;
        /// Saves a checked policy, replacing the agent's.
        fn save_policy(&self, by: Caller, policy: Policy) -> BoxFuture<'_, Result<Policy, AppError>>;
        fn delete_policy(&self, by: Caller, agent_id: String) -> BoxFuture<'_, Result<(), AppError>>;
        /// Makes a rule; matching calls are answered from now on, the one on the card too.
        fn create_rule(&self, by: Caller, rule: NewRule) -> BoxFuture<'_, Result<Rule, AppError>>;
        /// Ends a rule at once: its maker may, and admins.
        fn revoke_rule(&self, by: Caller, id: i64) -> BoxFuture<'_, Result<Rule, AppError>>;
        /// Rules, newest first: every one, or those that hold for a session.
        fn rules(&self, session_id: Option<String>) -> BoxFuture<'_, Result<Vec<Rule>, AppError>>;
    }

    /// The request's workspace's approval service, in the Leptos context.
    #[derive(Clone)]
    pub struct ApprovalsHandle(pub Arc<dyn Approvals>);

    /// Decisions that may come through a notification's link, implemented by the server
    /// (`server/src/approvals/links.rs`) over the approval service and the request's workspace's
    /// notifier.
    pub trait LinkDecisions: Send + Sync + 'static {
        /// Decides `verdicts`, through the link whose token is `link` when there is one: the link
        /// is spent first (of two presses at once exactly one goes on) and given back if its
        /// call's decision was not made, so that a refusal or an unreachable API leaves it usable.
        /// `Err`: the link may not carry the decision, and nothing was decided.
        fn decide(
            &self,
            by: Caller,
            session_id: String,
            verdicts: Vec<Verdict>,
            link: Option<String>,
        ) -> BoxFuture<'_, Result<Result<Decided, AppError>, LinkRefusal>>;
    }

    /// The request's workspace's [`LinkDecisions`], in the Leptos context.
    #[derive(Clone)]
    pub struct LinkDecisionsHandle(pub Arc<dyn LinkDecisions>);
}
