//! `multiagent` on agents, as the API resolves it: every referenced agent pinned to a version and
//! checked (it exists, is not archived, does not delegate itself: depth 1), the defaults filled
//! in, the deep-merge of an update onto a stored `multiagent_20261001`, and the copy a session
//! keeps, with the full definition of every agent it may delegate to.

use std::collections::HashSet;

use protocol::{
    agents::{
        Advisor, AdvisorSetting, Agent, AgentRef, AgentTag, Coordinator, CoordinatorParams, Delegation,
        DelegationEnabled, DelegationEnabledParams, DelegationParams, Multiagent, Multiagent20261001,
        Multiagent20261001Params, MultiagentParams, RosterEntryObject, RosterEntryParam, RosterMember, Toggle,
    },
    common::Empty,
    sessions::{
        SessionCoordinator, SessionDelegation, SessionDelegationEnabled, SessionMultiagent, SessionMultiagent20261001,
        SessionRosterMember, SessionThreadAgent,
    },
};

use crate::{
    EngineState,
    error::{ApiError, ApiResult},
    store::from_json,
};

/// Agents a coordinator roster or a `predefined_agents` list may name.
pub const MAX_AGENTS: usize = 20;

/// The agent that owns the configuration being resolved: what `{"type": "self"}` stands for.
#[derive(Debug, Clone, Copy)]
pub struct Owner<'a> {
    pub id: &'a str,
    /// The version being written.
    pub version: u64,
}

impl EngineState {
    /// Resolves `params` for `owner`. `stored` is the owner's current configuration (an update):
    /// a `multiagent_20261001` sent onto a stored one is merged into it member by member.
    pub(crate) async fn resolve_multiagent(
        &self,
        params: &MultiagentParams,
        owner: Owner<'_>,
        stored: Option<&Multiagent>,
    ) -> ApiResult<Multiagent> {
        match params {
            MultiagentParams::Coordinator(roster) => self.coordinator(roster, owner).await,
            MultiagentParams::Multiagent20261001(params) => {
                let stored = match stored {
                    Some(Multiagent::Multiagent20261001(stored)) => Some(stored),
                    _ => None,
                };
                self.multiagent_20261001(params, owner, stored).await
            }
            MultiagentParams::Unknown(value) => Err(ApiError::invalid(format!(
                "multiagent.type: unknown configuration {value}; use multiagent_20261001 (or the legacy coordinator)."
            ))),
        }
    }

    async fn coordinator(&self, roster: &CoordinatorParams, owner: Owner<'_>) -> ApiResult<Multiagent> {
        if roster.agents.is_empty() || roster.agents.len() > MAX_AGENTS {
            return Err(ApiError::invalid(format!(
                "multiagent.agents: a coordinator names 1 to {MAX_AGENTS} agents ({} given).",
                roster.agents.len()
            )));
        }
        let mut agents = Vec::new();
        let mut advisor = false;
        let mut names = Names::default();
        for (i, entry) in roster.agents.iter().enumerate() {
            let at = format!("multiagent.agents[{i}]");
            if let RosterEntryParam::Entry(RosterEntryObject::Advisor(Advisor { model })) = entry {
                if std::mem::replace(&mut advisor, true) {
                    return Err(ApiError::invalid(format!("{at}: a roster has at most one advisor.")));
                }
                agents.push(RosterMember::Advisor(Advisor { model: advisor_model(model, &at)? }));
                continue;
            }
            let reference = self.member(entry, &at, owner, &mut names).await?;
            agents.push(RosterMember::Agent(reference));
        }
        Ok(Multiagent::Coordinator(Coordinator { agents }))
    }

    async fn multiagent_20261001(
        &self,
        params: &Multiagent20261001Params,
        owner: Owner<'_>,
        stored: Option<&Multiagent20261001>,
    ) -> ApiResult<Multiagent> {
        let advisor = match &params.advisor {
            None => stored.map_or(AdvisorSetting::Disabled(Empty {}), |s| s.advisor.clone()),
            Some(None) | Some(Some(AdvisorSetting::Disabled(_))) => AdvisorSetting::Disabled(Empty {}),
            Some(Some(AdvisorSetting::Enabled(Advisor { model }))) => {
                AdvisorSetting::Enabled(Advisor { model: advisor_model(model, "multiagent.advisor")? })
            }
            Some(Some(AdvisorSetting::Unknown(value))) => {
                return Err(ApiError::invalid(format!(
                    "multiagent.advisor.type: unknown setting {value}; use enabled or disabled."
                )));
            }
        };
        let subagents =
            self.delegation(&params.subagents, stored.map(|s| &s.subagents), "multiagent.subagents", owner).await?;
        let workflows =
            self.delegation(&params.workflows, stored.map(|s| &s.workflows), "multiagent.workflows", owner).await?;
        Ok(Multiagent::Multiagent20261001(Multiagent20261001 { advisor, subagents, workflows }))
    }

    /// `subagents` or `workflows`: sent (`Some`), reset to the default (`Some(None)`) or kept.
    async fn delegation(
        &self,
        sent: &Option<Option<DelegationParams>>,
        stored: Option<&Delegation>,
        at: &str,
        owner: Owner<'_>,
    ) -> ApiResult<Delegation> {
        let enabled = match sent {
            None => return Ok(stored.cloned().unwrap_or_else(default_delegation)),
            Some(None) => return Ok(default_delegation()),
            Some(Some(DelegationParams::Disabled(_))) => return Ok(Delegation::Disabled(Empty {})),
            Some(Some(DelegationParams::Unknown(value))) => {
                return Err(ApiError::invalid(format!("{at}.type: unknown setting {value}; use enabled or disabled.")));
            }
            Some(Some(DelegationParams::Enabled(enabled))) => enabled,
        };
        // An enabled member onto a stored enabled one is merged; onto anything else it replaces.
        let stored = match stored {
            Some(Delegation::Enabled(stored)) => Some(stored),
            _ => None,
        };
        let DelegationEnabledParams { inline_agents, predefined_agents } = enabled;
        let inline_agents = match inline_agents {
            None => stored.map_or(Toggle::Enabled(Empty {}), |s| s.inline_agents.clone()),
            Some(None) => Toggle::Enabled(Empty {}),
            Some(Some(Toggle::Unknown(value))) => {
                return Err(ApiError::invalid(format!(
                    "{at}.inline_agents.type: unknown setting {value}; use enabled or disabled."
                )));
            }
            Some(Some(toggle)) => toggle.clone(),
        };
        let predefined_agents = match predefined_agents {
            None => stored.map(|s| s.predefined_agents.clone()).unwrap_or_default(),
            Some(None) => Vec::new(),
            Some(Some(list)) => {
                if list.len() > MAX_AGENTS {
                    return Err(ApiError::invalid(format!(
                        "{at}.predefined_agents: at most {MAX_AGENTS} agents ({} given).",
                        list.len()
                    )));
                }
                let mut names = Names::default();
                let mut agents = Vec::new();
                for (i, entry) in list.iter().enumerate() {
                    agents.push(self.member(entry, &format!("{at}.predefined_agents[{i}]"), owner, &mut names).await?);
                }
                agents
            }
        };
        if matches!(inline_agents, Toggle::Disabled(_)) && predefined_agents.is_empty() {
            return Err(ApiError::invalid(format!(
                "{at}: with inline_agents disabled, predefined_agents must name at least one agent (or disable {} altogether).",
                at.trim_start_matches("multiagent.")
            )));
        }
        Ok(Delegation::Enabled(DelegationEnabled { inline_agents, predefined_agents }))
    }

    /// One agent of a roster or a predefined list, pinned to a version and checked.
    async fn member(
        &self,
        entry: &RosterEntryParam,
        at: &str,
        owner: Owner<'_>,
        names: &mut Names,
    ) -> ApiResult<AgentRef> {
        let (id, version) = match entry {
            RosterEntryParam::Id(id) => (id.as_str(), None),
            RosterEntryParam::Entry(RosterEntryObject::Agent(reference)) => (reference.id.as_str(), reference.version),
            RosterEntryParam::Entry(RosterEntryObject::SelfAgent(_)) => {
                if std::mem::replace(&mut names.own, true) {
                    return Err(ApiError::invalid(format!("{at}: self may be named once.")));
                }
                names.check(owner.id, at)?;
                return Ok(AgentRef { id: owner.id.to_owned(), r#type: AgentTag, version: owner.version });
            }
            RosterEntryParam::Entry(RosterEntryObject::Advisor(_)) => {
                return Err(ApiError::invalid(format!(
                    "{at}: an advisor is not a predefined agent; set multiagent.advisor instead."
                )));
            }
            RosterEntryParam::Entry(RosterEntryObject::Unknown(value)) => {
                return Err(ApiError::invalid(format!(
                    "{at}: unknown entry {value}; name an agent by id, as {{\"type\": \"agent\", \"id\": …}}, or {{\"type\": \"self\"}}."
                )));
            }
        };
        names.check(id, at)?;
        let agent = self.delegate(id, version.map(|v| v as i64), at).await?;
        Ok(AgentRef { id: agent.id, r#type: AgentTag, version: agent.version })
    }

    /// An agent another may delegate to, at `version` (latest when `None`): it exists, is not
    /// archived, and does not delegate itself.
    async fn delegate(&self, id: &str, version: Option<i64>, at: &str) -> ApiResult<Agent> {
        let body = self
            .agent(id, version)
            .await
            .map_err(|error| ApiError::invalid(format!("{at}: {} Name an agent that exists.", error.message)))?;
        if !body["archived_at"].is_null() {
            return Err(ApiError::invalid(format!("{at}: agent {id} is archived, so no agent may delegate to it.")));
        }
        let agent: Agent = from_json(body)?;
        if agent.multiagent.is_some() {
            return Err(ApiError::invalid(format!(
                "{at}: agent {id} (version {}) has a multiagent configuration itself; delegation is one level deep, so name agents without one.",
                agent.version
            )));
        }
        Ok(agent)
    }

    /// The multiagent configuration as a session keeps it: each agent's full definition at its
    /// pinned version. `owner` is the session's own agent, what a reference to itself reads.
    pub(crate) async fn session_multiagent(
        &self,
        multiagent: &Multiagent,
        owner: &Agent,
    ) -> ApiResult<SessionMultiagent> {
        Ok(match multiagent {
            Multiagent::Coordinator(roster) => {
                let mut agents = Vec::new();
                for member in &roster.agents {
                    agents.push(match member {
                        RosterMember::Agent(reference) => {
                            SessionRosterMember::Agent(Box::new(self.thread_agent(reference, owner).await?))
                        }
                        RosterMember::Advisor(advisor) => SessionRosterMember::Advisor(advisor.clone()),
                        RosterMember::Unknown(value) => SessionRosterMember::Unknown(value.clone()),
                    });
                }
                SessionMultiagent::Coordinator(SessionCoordinator { agents })
            }
            Multiagent::Multiagent20261001(config) => {
                SessionMultiagent::Multiagent20261001(SessionMultiagent20261001 {
                    advisor: config.advisor.clone(),
                    subagents: self.session_delegation(&config.subagents, owner).await?,
                    workflows: self.session_delegation(&config.workflows, owner).await?,
                })
            }
            Multiagent::Unknown(value) => SessionMultiagent::Unknown(value.clone()),
        })
    }

    async fn session_delegation(&self, delegation: &Delegation, owner: &Agent) -> ApiResult<SessionDelegation> {
        Ok(match delegation {
            Delegation::Enabled(enabled) => {
                let mut predefined_agents = Vec::new();
                for reference in &enabled.predefined_agents {
                    predefined_agents.push(self.thread_agent(reference, owner).await?);
                }
                SessionDelegation::Enabled(SessionDelegationEnabled {
                    inline_agents: enabled.inline_agents.clone(),
                    predefined_agents,
                })
            }
            Delegation::Disabled(_) => SessionDelegation::Disabled(Empty {}),
            Delegation::Unknown(value) => SessionDelegation::Unknown(value.clone()),
        })
    }

    /// The definition of a referenced agent at its pinned version.
    async fn thread_agent(&self, reference: &AgentRef, owner: &Agent) -> ApiResult<SessionThreadAgent> {
        let agent = if reference.id == owner.id && reference.version == owner.version {
            owner.clone()
        } else {
            from_json(self.agent(&reference.id, Some(reference.version as i64)).await?)?
        };
        Ok(thread_agent(agent))
    }
}

/// An agent's definition as one of a session's threads runs it.
pub fn thread_agent(agent: Agent) -> SessionThreadAgent {
    SessionThreadAgent {
        id: agent.id,
        description: agent.description,
        execution_identity: agent.execution_identity,
        mcp_servers: agent.mcp_servers,
        model: agent.model,
        name: agent.name,
        skills: agent.skills,
        system: agent.system,
        tools: agent.tools,
        r#type: AgentTag,
        version: agent.version,
    }
}

/// `subagents` and `workflows` when not given: enabled, inline agents allowed, none predefined.
fn default_delegation() -> Delegation {
    Delegation::Enabled(DelegationEnabled { inline_agents: Toggle::Enabled(Empty {}), predefined_agents: Vec::new() })
}

fn advisor_model(model: &str, at: &str) -> ApiResult<String> {
    if model.trim().is_empty() {
        return Err(ApiError::invalid(format!("{at}.model: name the advisor's model.")));
    }
    Ok(model.to_owned())
}

/// The agents a list names so far: each at most once.
#[derive(Default)]
struct Names {
    ids: HashSet<String>,
    /// `self` was named.
    own: bool,
}

impl Names {
    fn check(&mut self, id: &str, at: &str) -> ApiResult<()> {
        if !self.ids.insert(id.to_owned()) {
            return Err(ApiError::invalid(format!("{at}: agent {id} is named twice; name each agent once.")));
        }
        Ok(())
    }
}

/// `multiagent` with the owner's references to its own version `from` read as `to`: an update
/// that changes nothing else must not count as a change because `self` now names the version
/// it would write.
pub fn with_own_version(multiagent: &Multiagent, owner: &str, from: u64, to: u64) -> Multiagent {
    let pin = |r: &AgentRef| {
        let mut r = r.clone();
        if r.id == owner && r.version == from {
            r.version = to;
        }
        r
    };
    let delegation = |d: &Delegation| match d {
        Delegation::Enabled(e) => Delegation::Enabled(DelegationEnabled {
            inline_agents: e.inline_agents.clone(),
            predefined_agents: e.predefined_agents.iter().map(pin).collect(),
        }),
        other => other.clone(),
    };
    match multiagent {
        Multiagent::Coordinator(c) => Multiagent::Coordinator(Coordinator {
            agents: c
                .agents
                .iter()
                .map(|m| match m {
                    RosterMember::Agent(r) => RosterMember::Agent(pin(r)),
                    other => other.clone(),
                })
                .collect(),
        }),
        Multiagent::Multiagent20261001(m) => Multiagent::Multiagent20261001(Multiagent20261001 {
            advisor: m.advisor.clone(),
            subagents: delegation(&m.subagents),
            workflows: delegation(&m.workflows),
        }),
        other => other.clone(),
    }
}
