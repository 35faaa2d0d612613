//! Rules: every scoped "always allow" rule, live or not, with what it allows, where, who made it,
//! how many calls it answered, and a Revoke button for the live ones. A session's page lists
//! the rules that hold for it with the same component ([`RuleList`]).

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::table_scroll::TableScroll;
use crate::{
    api::rules::{RevokeRule, list_rules},
    auth::Role,
    components::{
        clock::LocalTime,
        feedback::{Empty, Failure, InlineError, Loading},
    },
    rules::{Rule, Scope},
};

#[component]
pub fn Rules() -> impl IntoView {
    view! {
        <Title text="Rules" />
        <header class="page-header">
            <h1>"Rules"</h1>
            <p class="lede">"Calls Switchboard allows by itself, because an approver said so for a while. Each call a rule allows is in the audit log with the rule and who made it."</p>
        </header>
        <Policies />
        <RuleList session_id=None />
    }
}

/// UTC offsets a policy's quiet hours may be written in: every quarter hour from −12:00 to +14:00.
fn offsets() -> impl Iterator<Item = i16> {
    (-48..=56).map(|quarter| quarter * 15)
}

fn offset_words(minutes: i16) -> String {
    let sign = if minutes < 0 { '-' } else { '+' };
    let m = minutes.unsigned_abs();
    format!("UTC{sign}{:02}:{:02}", m / 60, m % 60)
}

/// The policy form's fields, as the person sets them.
#[derive(Clone, Copy)]
struct PolicyFields {
    agent: RwSignal<String>,
    required: RwSignal<u8>,
    no_self: RwSignal<bool>,
    first: RwSignal<String>,
    then: RwSignal<String>,
    then_minutes: RwSignal<String>,
    quiet_start: RwSignal<String>,
    quiet_end: RwSignal<String>,
    offset: RwSignal<i16>,
    deadline: RwSignal<String>,
    tool_deadlines: RwSignal<String>,
}

impl PolicyFields {
    fn new() -> Self {
        PolicyFields {
            agent: RwSignal::new(crate::api::policies::EVERY_AGENT.to_owned()),
            required: RwSignal::new(1u8),
            no_self: RwSignal::new(false),
            first: RwSignal::new(String::new()),
            then: RwSignal::new(String::new()),
            then_minutes: RwSignal::new("15".to_owned()),
            quiet_start: RwSignal::new(String::new()),
            quiet_end: RwSignal::new(String::new()),
            offset: RwSignal::new(0i16),
            deadline: RwSignal::new(String::new()),
            tool_deadlines: RwSignal::new(String::new()),
        }
    }

    /// The policy the fields hold, to save.
    fn form(self) -> crate::api::policies::PolicyForm {
        let minutes: u32 = self.then_minutes.get_untracked().trim().parse().unwrap_or(0);
        crate::api::policies::PolicyForm {
            agent_id: self.agent.get_untracked(),
            required_approvals: self.required.get_untracked(),
            no_self_approval: self.no_self.get_untracked(),
            first: self.first.get_untracked(),
            then: self.then.get_untracked(),
            then_after_secs: minutes.saturating_mul(60),
            quiet_start: self.quiet_start.get_untracked(),
            quiet_end: self.quiet_end.get_untracked(),
            utc_offset_minutes: self.offset.get_untracked(),
            deadline: self.deadline.get_untracked(),
            tool_deadlines: self.tool_deadlines.get_untracked(),
        }
    }
}

/// The approval policies: listed for everyone, set and removed by admins.
#[component]
fn Policies() -> impl IntoView {
    use crate::api::{
        agents::list_agent_choices,
        policies::{DeletePolicy, SavePolicy, list_policies},
    };
    let save = ServerAction::<SavePolicy>::new();
    let delete = ServerAction::<DeletePolicy>::new();
    let policies = Resource::new(move || (save.version().get(), delete.version().get()), |_| list_policies());
    let agents = Resource::new(|| (), |_| list_agent_choices());
    let is_admin = crate::me::can(Role::Admin);
    let fields = PolicyFields::new();
    // The browser's own offset, once hydrated (the server renders UTC).
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        fields.offset.set(-(js_sys::Date::new_0().get_timezone_offset() as i16));
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        save.dispatch(SavePolicy { form: fields.form() });
    };
    let error = Signal::derive(move || {
        save.value().get().and_then(Result::err).or_else(|| delete.value().get().and_then(Result::err))
    });
    view! {
        <section class="panel" aria-labelledby="policies-heading" data-testid="policies">
            <h2 id="policies-heading">"Approval policies"</h2>
            <p>"How many people must allow an agent's calls, whether whoever started the work may allow it, who is told first and who next when nobody answers, when nobody is told, and how long a call may wait before it is denied. An agent's own policy replaces the one for every agent. Each decision a policy holds back or refuses, each escalation, each message held by quiet hours and each call denied at its deadline is in the audit log."</p>
            <Transition fallback=|| view! { <Loading what="the policies" /> }>
                {move || Suspend::new(async move {
                    let (listed, choices) = (policies.await, agents.await.unwrap_or_default());
                    match listed {
                        Err(error) => view! { <Failure error inline=true /> }.into_any(),
                        Ok(list) if list.is_empty() => view! {
                            <p class="muted" data-testid="policies-empty">"No policy: one approver decides each call, and everyone who chose email is told at once."</p>
                        }.into_any(),
                        Ok(list) => policy_table(list, &choices, is_admin, delete).into_any(),
                    }
                })}
            </Transition>
            <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let choices = agents.await.unwrap_or_default();
                if !is_admin.get() {
                    return view! { <p class="muted">"Admins set these policies."</p> }.into_any();
                }
                policy_form(choices, fields, submit, save).into_any()
            })}
            </Transition>
                {move || save.value().get().and_then(Result::ok).map(|saved| view! {
                    <p class="notice" role="status" data-testid="policy-saved">{format!("Saved: {}", saved.in_words().join(" "))}</p>
                })}
            <InlineError error />
        </section>
    }
}

/// An agent's name from the picker's list; its id when the list has no such agent.
fn agent_name(choices: &[crate::api::Choice], id: &str) -> String {
    if id == crate::api::policies::EVERY_AGENT {
        return "Every agent without its own policy".to_owned();
    }
    choices.iter().find(|c| c.id == id).map_or_else(|| id.to_owned(), |c| c.label.clone())
}

/// The policies, one row each: whom it is for, what it asks, who set it, and Remove for admins.
fn policy_table(
    list: Vec<crate::api::policies::Policy>,
    choices: &[crate::api::Choice],
    is_admin: Signal<bool>,
    delete: ServerAction<crate::api::policies::DeletePolicy>,
) -> impl IntoView {
    use crate::api::policies::DeletePolicy;
    view! {
        <div class="table-scroll" role="region" aria-label="Policies" tabindex="0">
            <table class="list" data-testid="policy-list">
                <thead><tr><th scope="col">"For"</th><th scope="col">"Asks"</th><th scope="col">"Set by"</th><th scope="col">"Remove"</th></tr></thead>
                <tbody>
                    {list.into_iter().map(|policy| {
                        let id = policy.agent_id.clone();
                        let for_whom = agent_name(choices, &id);
                        let row_agent = id.clone();
                        view! {
                            <tr data-testid="policy-row" data-agent=row_agent>
                                <td>{for_whom}</td>
                                <td><ul class="plain">{policy.in_words().into_iter().map(|w| view! { <li>{w}</li> }).collect_view()}</ul></td>
                                <td>{policy.updated_by}" · "<LocalTime at=policy.updated_at /></td>
                                <td>
                                    <Show when=move || is_admin.get() fallback=|| "—">
                                        {
                                            let id = id.clone();
                                            view! {
                                                <button type="button" class="button danger small" disabled=move || delete.pending().get()
                                                    on:click=move |_| { delete.dispatch(DeletePolicy { agent_id: id.clone() }); }>"Remove"</button>
                                            }
                                        }
                                    </Show>
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// The form that sets a policy: for whom, how many approvers, who is told and when, quiet hours.
fn policy_form(
    choices: Vec<crate::api::Choice>,
    fields: PolicyFields,
    submit: impl Fn(leptos::ev::SubmitEvent) + 'static,
    save: ServerAction<crate::api::policies::SavePolicy>,
) -> impl IntoView {
    use crate::api::policies::EVERY_AGENT;
    let PolicyFields {
        agent,
        required,
        no_self,
        first,
        then,
        then_minutes,
        quiet_start,
        quiet_end,
        offset,
        deadline,
        tool_deadlines,
    } = fields;
    view! {
        <form class="fields" on:submit=submit data-testid="policy-form">
            <fieldset class="choices">
                <legend>"Set a policy"</legend>
                <label>"For"
                    <select data-testid="policy-agent" on:change=move |ev| agent.set(event_target_value(&ev))>
                        <option value=EVERY_AGENT selected=move || agent.get() == EVERY_AGENT>"Every agent without its own policy"</option>
                        {choices.into_iter().map(|choice| {
                            let id = choice.id.clone();
                            view! { <option value=choice.id selected=move || agent.get() == id>{choice.label}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <label class="check"><input type="radio" name="policy-required" value="1" prop:checked=move || required.get() == 1
                    on:change=move |_| required.set(1) />" One person allows a call"</label>
                <label class="check"><input type="radio" name="policy-required" value="2" data-testid="policy-two" prop:checked=move || required.get() == 2
                    on:change=move |_| required.set(2) />" Two different people must allow a call (one denial is final)"</label>
                <label class="check"><input type="checkbox" data-testid="policy-no-self" prop:checked=move || no_self.get()
                    on:change=move |ev| no_self.set(event_target_checked(&ev)) />" Whoever sent the message that led to a call may not allow it"</label>
                <label>"Tell first (usernames; empty: every approver who chose email)"
                    <input type="text" data-testid="policy-first" placeholder="ann, bob" prop:value=move || first.get()
                        on:input=move |ev| first.set(event_target_value(&ev)) /></label>
                <label>"Then tell, if nobody has decided (usernames; empty: nobody more)"
                    <input type="text" data-testid="policy-then" placeholder="carol" prop:value=move || then.get()
                        on:input=move |ev| then.set(event_target_value(&ev)) /></label>
                <label>"after (minutes)"
                    <input type="number" min="1" max="1440" inputmode="numeric" data-testid="policy-then-minutes" prop:value=move || then_minutes.get()
                        on:input=move |ev| then_minutes.set(event_target_value(&ev)) /></label>
                <p class="hint">"Only people who chose email on their Inbox page are emailed. The team's channels get every call at once."</p>
                <label>"Quiet hours from"
                    <input type="time" data-testid="policy-quiet-start" prop:value=move || quiet_start.get()
                        on:input=move |ev| quiet_start.set(event_target_value(&ev)) /></label>
                <label>"to"
                    <input type="time" data-testid="policy-quiet-end" prop:value=move || quiet_end.get()
                        on:input=move |ev| quiet_end.set(event_target_value(&ev)) /></label>
                <label>"in"
                    <select data-testid="policy-offset" on:change=move |ev| offset.set(event_target_value(&ev).parse().unwrap_or(0))>
                        {offsets().map(|m| view! { <option value=m.to_string() selected=move || offset.get() == m>{offset_words(m)}</option> }).collect_view()}
                    </select>
                </label>
                <p class="hint">"Nobody is emailed or messaged in quiet hours; what waits is told when they end. Calls still wait in the Inbox. A fixed offset does not follow daylight saving time."</p>
                <label>"Deny a call nobody decides within (such as 30m or 2h; empty: calls wait)"
                    <input type="text" data-testid="policy-deadline" placeholder="30m" prop:value=move || deadline.get()
                        on:input=move |ev| deadline.set(event_target_value(&ev)) /></label>
                <label>"Tools' own deadlines (a tool and a duration each)"
                    <input type="text" data-testid="policy-tool-deadlines" placeholder="bash 5m, write 1h" prop:value=move || tool_deadlines.get()
                        on:input=move |ev| tool_deadlines.set(event_target_value(&ev)) /></label>
                <p class="hint">"At its deadline a waiting call is denied, with a message to the agent saying so, whoever was told and whatever the hour; the card and the Inbox show the time left. Custom tools' calls have none."</p>
                <button type="submit" class="button primary" data-testid="policy-save" disabled=move || save.pending().get()>"Save the policy"</button>
            </fieldset>
        </form>
    }
}

/// The rules that hold for `session_id` (its own and its agent's), or all of them.
#[component]
pub fn RuleList(session_id: Option<String>) -> impl IntoView {
    let revoke = ServerAction::<RevokeRule>::new();
    let for_session = session_id.is_some();
    let session_id = StoredValue::new(session_id);
    let changed = crate::actions::RulesChanged::get();
    // The source's value must change for the list to be read again: a memo that only tracked
    // the bump would compare equal and fetch nothing.
    let rules = Resource::new(
        move || (changed.map(|c| c.0.get()), revoke.version().get()),
        move |_| list_rules(session_id.get_value()),
    );
    let error = Signal::derive(move || revoke.value().get().and_then(Result::err));
    let may_revoke = crate::me::can(Role::Approver);
    view! {
        <section class="panel" aria-labelledby="rules-heading" data-testid="rules">
            <h2 id="rules-heading">{if for_session { "Rules for this session" } else { "Every rule" }}</h2>
            <Transition fallback=|| view! { <Loading what="the rules" /> }>
                {move || Suspend::new(async move {
                    match rules.await {
                        Err(error) => view! { <Failure error inline=true /> }.into_any(),
                        Ok(list) if list.is_empty() && for_session => view! {
                            <p class="muted" data-testid="rules-empty">"No rule answers this session's calls. “Always allow…” on an approval card makes one."</p>
                        }.into_any(),
                        Ok(list) if list.is_empty() => view! {
                            <Empty title="No rules" attr:data-testid="rules-empty">
                                <p>"On an approval card, “Always allow…” makes one: Switchboard then answers the matching calls of a session or an agent itself, for up to a day."</p>
                            </Empty>
                        }.into_any(),
                        Ok(list) => {
                            view! {
                                <TableScroll label="Rules">
                                    <table class="list" data-testid="rule-list">
                                        <thead><tr>
                                            <th scope="col">"Rule"</th><th scope="col">"Allows"</th><th scope="col">"Where"</th>
                                            <th scope="col">"Made by"</th><th scope="col">"Until"</th><th scope="col" class="num">"Calls"</th><th scope="col">"State"</th>
                                        </tr></thead>
                                        <tbody>
                                            {list.into_iter().map(|rule| view! { <RuleRow rule revoke may_revoke /> }).collect_view()}
                                        </tbody>
                                    </table>
                                </TableScroll>
                            }.into_any()
                        }
                    }
                })}
            </Transition>
            <InlineError error />
        </section>
    }
}

#[component]
fn RuleRow(rule: Rule, revoke: ServerAction<RevokeRule>, may_revoke: Signal<bool>) -> impl IntoView {
    let live = rule.live;
    let state = match (&rule.revoked_by, live) {
        (Some(by), _) => format!("revoked by {by}"),
        (None, true) => "live".to_owned(),
        (None, false) => "expired".to_owned(),
    };
    let place = match rule.scope {
        Scope::Session => view! { "session " <a href=format!("/sessions/{}", rule.scope_id)><code>{rule.scope_id.clone()}</code></a> }.into_any(),
        Scope::Agent => view! { "every session of agent " <a href=format!("/agents/{}", rule.scope_id)><code>{rule.scope_id.clone()}</code></a> }.into_any(),
    };
    let id = rule.id;
    view! {
        <tr data-testid="rule-row" data-rule=id.to_string() data-state=if live { "live" } else { "ended" }>
            <td>{format!("#{id}")}</td>
            <td>{rule.in_words()}{rule.tool_policy_words().map(|words| view! { <br /><small class="muted" data-testid="rule-tool-policy">{words}</small> })}</td>
            <td>{place}</td>
            <td>{rule.created_by.clone()}" · "<LocalTime at=rule.created_at.clone() /></td>
            <td>{match rule.revoked_at.clone() { Some(at) => view! { <LocalTime at /> }.into_any(), None => view! { <LocalTime at=rule.expires_at.clone() /> }.into_any() }}</td>
            <td class="num" data-testid="rule-uses">{rule.uses}</td>
            <td>
                <span class=if live { "status status-ok" } else { "status" }>{state}</span>
                {(live && may_revoke.get_untracked()).then(|| view! {
                    " "
                    <button type="button" class="button danger" data-testid="rule-revoke" disabled=move || revoke.pending().get()
                        on:click=move |_| { revoke.dispatch(RevokeRule { id }); }>"Revoke"</button>
                })}
            </td>
        </tr>
    }
}
