//! Deciding in Slack: the Settings page's section where an admin gives the workspace a Slack app,
//! and the page a Slack user's one-time link opens, where they confirm which account they are.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::components::table_scroll::TableScroll;
use crate::{
    api::slack::{
        ConfirmSlackLink, RemoveSlackApp, SaveSlackApp, SlackLinkCheck, SlackPerson, UnlinkSlackPerson,
        check_slack_link, get_slack_app,
    },
    components::{
        clock::LocalTime,
        feedback::{Failure, InlineError, Loading},
    },
};

/// The workspace's Slack app (admins): the channel, the bot token and the signing secret.
#[component]
pub fn SlackSection() -> impl IntoView {
    let save = ServerAction::<SaveSlackApp>::new();
    let remove = ServerAction::<RemoveSlackApp>::new();
    let unlink = ServerAction::<UnlinkSlackPerson>::new();
    let settings = Resource::new(
        move || (save.version().get(), remove.version().get(), unlink.version().get()),
        |_| get_slack_app(),
    );
    let error = Signal::derive(move || {
        save.value()
            .get()
            .and_then(Result::err)
            .or_else(|| remove.value().get().and_then(Result::err))
            .or_else(|| unlink.value().get().and_then(Result::err))
    });
    view! {
        <section class="panel" aria-labelledby="slack" data-testid="slack">
            <h2 id="slack">"Decide in Slack"</h2>
            <p>"With a Slack app, each call that waits in this workspace is posted to a channel with Allow and Deny buttons. A press decides as the Switchboard account the Slack user linked (Slack shows them a one-time link on their first press), under the same policy as a press here: their roles in this workspace, two approvers where the policy asks, nobody approving their own. The message says who decided, wherever they did."</p>
            <Transition fallback=|| view! { <Loading what="the Slack app" /> }>
                {move || Suspend::new(async move {
                    match settings.await {
                        Err(error) => view! { <Failure error inline=true /> }.into_any(),
                        Ok(settings) => view! {
                            <p>"In the Slack app's settings, Interactivity & Shortcuts, set the Request URL to "<code class="copyable" data-testid="slack-request-url">{settings.request_url}</code>". The bot needs the chat:write scope, and to be in the channel."</p>
                            {match settings.app {
                                None => view! { <p class="muted" data-testid="slack-none">"No Slack app for this workspace: nothing is posted to Slack."</p> }.into_any(),
                                Some(app) => view! {
                                    <p data-testid="slack-set">"Posting to channel "<code>{app.channel}</code>", set by "{app.set_by}" · "<LocalTime at=app.set_at />". The token and secret are sealed and never shown."</p>
                                    <ActionForm action=remove>
                                        <button type="submit" class="button danger small" disabled=move || remove.pending().get()>"Remove the Slack app"</button>
                                    </ActionForm>
                                }.into_any(),
                            }}
                            {people(settings.people, unlink)}
                        }.into_any(),
                    }
                })}
            </Transition>
            <ActionForm action=save attr:class="fields" attr:data-testid="slack-form">
                <fieldset>
                    <legend>"Set the Slack app"</legend>
                    <label>"Channel id" <input type="text" name="form[channel]" required placeholder="C0123ABCDE" autocomplete="off" /></label>
                    <label>"Bot token (write-only)" <input type="password" name="form[bot_token]" required autocomplete="off" placeholder="xoxb-…" /></label>
                    <label>"Signing secret (write-only)" <input type="password" name="form[signing_secret]" required autocomplete="off" /></label>
                    <button type="submit" class="button primary" disabled=move || save.pending().get()>
                        {move || if save.pending().get() { "Saving…" } else { "Save the Slack app" }}
                    </button>
                </fieldset>
            </ActionForm>
            {move || save.value().get().and_then(Result::ok).map(|_| view! {
                <p class="notice" role="status" data-testid="slack-saved">"Saved. Calls that wait from now on are posted to the channel."</p>
            })}
            <InlineError error />
        </section>
    }
}

/// The Slack users linked to accounts (every workspace's), each with Unlink.
fn people(people: Vec<SlackPerson>, unlink: ServerAction<UnlinkSlackPerson>) -> impl IntoView {
    if people.is_empty() {
        return view! { <p class="muted" data-testid="slack-people-none">"No Slack user has linked an account yet."</p> }.into_any();
    }
    view! {
        <TableScroll label="Linked Slack users">
            <table class="list" data-testid="slack-people">
                <caption>"Slack users and the accounts they decide as"</caption>
                <thead><tr><th scope="col">"Slack user"</th><th scope="col">"Decides as"</th><th scope="col">"Linked"</th><th scope="col">"Unlink"</th></tr></thead>
                <tbody>
                    {people.into_iter().map(|p| {
                        let (team, slack_user) = (p.team.clone(), p.slack_user.clone());
                        view! {
                            <tr>
                                <td><code>{p.slack_user}</code>" (team "<code>{p.team}</code>")"</td>
                                <td>{p.username}</td>
                                <td><LocalTime at=p.linked_at /></td>
                                <td><button type="button" class="button danger small" disabled=move || unlink.pending().get()
                                    on:click=move |_| { unlink.dispatch(UnlinkSlackPerson { team: team.clone(), slack_user: slack_user.clone() }); }>"Unlink"</button></td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </TableScroll>
    }
    .into_any()
}

/// `/slack/link?t=…`: who the Slack user of the link becomes here, and the button that says so.
#[component]
pub fn SlackLink() -> impl IntoView {
    let token = use_query_map().read_untracked().get("t").unwrap_or_default();
    let check = Resource::new(move || (), {
        let token = token.clone();
        move |_| check_slack_link(token.clone())
    });
    let confirm = ServerAction::<ConfirmSlackLink>::new();
    let error = Signal::derive(move || confirm.value().get().and_then(Result::err));
    let me = use_context::<crate::me::Me>();
    view! {
        <Title text="Link your Slack account" />
        <header class="page-header">
            <h1>"Link your Slack account"</h1>
            <p class="lede">"So that your presses in Slack decide as you."</p>
        </header>
        <section class="panel" data-testid="slack-link">
            <Suspense fallback=|| view! { <Loading what="the link" /> }>
                {move || {
                    let token = token.clone();
                    Suspend::new(async move {
                        match check.await {
                            Err(error) => view! { <Failure error /> }.into_any(),
                            Ok(SlackLinkCheck::Refused { why }) => view! { <p class="error" role="alert" data-testid="slack-link-refused">{why}</p> }.into_any(),
                            Ok(SlackLinkCheck::Ready { team, slack_user, workspace }) => view! {
                                <p>{format!("Slack user {slack_user} (team {team}, from workspace {workspace}) will decide as you, ")}<strong>{move || me.and_then(|m| m.principal()).map(|p| p.label()).unwrap_or_else(|| "your account".to_owned())}</strong>", with your roles in each workspace. Only confirm if that Slack user is you."</p>
                                <ActionForm action=confirm>
                                    <input type="hidden" name="token" value=token />
                                    <button type="submit" class="button primary" data-testid="slack-link-confirm" disabled=move || confirm.pending().get()>"Yes, that is me"</button>
                                </ActionForm>
                            }.into_any(),
                        }
                    })
                }}
            </Suspense>
            {move || confirm.value().get().and_then(Result::ok).map(|done| match done {
                SlackLinkCheck::Ready { .. } => view! { <p class="notice" role="status" data-testid="slack-linked">"Linked. Go back to Slack and press the button again."</p> }.into_any(),
                SlackLinkCheck::Refused { why } => view! { <p class="error" role="alert">{why}</p> }.into_any(),
            })}
            <InlineError error />
        </section>
    }
}
