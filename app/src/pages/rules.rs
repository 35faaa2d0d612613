//! Rules: every scoped "always allow" rule, live or not, with what it allows, where, who made it,
//! how many calls it answered, and a Revoke button for the live ones. A session's page lists
//! the rules that hold for it with the same component ([`RuleList`]).

use leptos::prelude::*;
use leptos_meta::Title;

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
        <RuleList session_id=None />
    }
}

/// The rules that hold for `session_id` (its own and its agent's), or all of them.
#[component]
pub fn RuleList(session_id: Option<String>) -> impl IntoView {
    let revoke = ServerAction::<RevokeRule>::new();
    let for_session = session_id.is_some();
    let session_id = StoredValue::new(session_id);
    let changed = crate::rules::RulesChanged::get();
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
                                <table class="list" data-testid="rule-list">
                                    <thead><tr>
                                        <th scope="col">"Rule"</th><th scope="col">"Allows"</th><th scope="col">"Where"</th>
                                        <th scope="col">"Made by"</th><th scope="col">"Until"</th><th scope="col" class="num">"Calls"</th><th scope="col">"State"</th>
                                    </tr></thead>
                                    <tbody>
                                        {list.into_iter().map(|rule| view! { <RuleRow rule revoke may_revoke /> }).collect_view()}
                                    </tbody>
                                </table>
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
            <td>{rule.in_words()}</td>
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
