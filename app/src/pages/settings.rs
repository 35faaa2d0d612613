//! Settings: which upstream, a connection check against it, and whether webhooks arrive.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::table_scroll::TableScroll;
use crate::{
    api::settings::{ConnectionCheck, WebhookSetup, WebhookStatus, get_webhook_status},
    api::upstream::get_upstream_summary,
    auth::Role,
    components::clock::LocalTime,
    components::feedback::InlineError,
    components::feedback::{Failure, Loading},
    pages::overview::UpstreamPanel,
};

#[component]
pub fn Settings() -> impl IntoView {
    let summary = Resource::new(|| (), |_| get_upstream_summary());
    let check = ServerAction::<ConnectionCheck>::new();
    let error = Signal::derive(move || check.value().get().and_then(Result::err));
    let admin = crate::me::can(Role::Admin);
    view! {
        <Title text="Settings" />
        <header class="page-header">
            <h1>"Settings"</h1>
            <p class="lede">"The upstream this Switchboard talks to, and whether it answers."</p>
        </header>
        <Suspense fallback=|| view! { <Loading what="the upstream settings" /> }>
            {move || Suspend::new(async move {
                match summary.await {
                    Ok(summary) => view! { <UpstreamPanel summary /> }.into_any(),
                    Err(error) => view! { <Failure error=crate::error::AppError::internal(error.to_string()) /> }.into_any(),
                }
            })}
        </Suspense>
        <section class="panel" aria-labelledby="check">
            <h2 id="check">"Connection check"</h2>
            <p>"Sends one list request per resource with Switchboard's key and reports what came back and how long it took."</p>
            <ActionForm action=check>
                <button type="submit" class="button primary" disabled=move || check.pending().get()>
                    {move || if check.pending().get() { "Checking…" } else { "Run the connection check" }}
                </button>
            </ActionForm>
            <InlineError error />
            {move || check.value().get().and_then(Result::ok).map(|checks| view! {
                <TableScroll label="Connection check">
                    <table class="list" data-testid="connection-check">
                        <thead><tr><th scope="col">"Check"</th><th scope="col">"Result"</th><th scope="col" class="num">"Time"</th><th scope="col">"Detail"</th></tr></thead>
                        <tbody>
                            {checks.into_iter().map(|c| view! {
                                <tr>
                                    <td>{c.name}</td>
                                    <td><span class=if c.ok { "status status-ok" } else { "status status-failed" }>{if c.ok { "ok" } else { "failed" }}</span></td>
                                    <td class="num">{format!("{} ms", c.millis)}</td>
                                    <td>{c.detail}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </TableScroll>
            })}
        </section>
        <Show when=move || admin.get()>
            <Workspaces />
            <Webhooks />
            <Channels />
            <crate::pages::slack::SlackSection />
        </Show>
    }
}

/// The workspaces (admins): connect an upstream by address and key, grant people roles in it,
/// disconnect it.
#[component]
fn Workspaces() -> impl IntoView {
    use crate::api::workspaces::{
        ConnectForm, ConnectWorkspace, DisconnectWorkspace, GrantWorkspace, SetWorkspaceWebhook, list_workspaces,
    };
    let connect = ServerAction::<ConnectWorkspace>::new();
    let disconnect = ServerAction::<DisconnectWorkspace>::new();
    let grant = ServerAction::<GrantWorkspace>::new();
    let webhook = ServerAction::<SetWorkspaceWebhook>::new();
    let workspaces = Resource::new(
        move || (connect.version().get(), disconnect.version().get(), grant.version().get(), webhook.version().get()),
        |_| list_workspaces(),
    );
    let form = RwSignal::new(ConnectForm::default());
    // The draft stays until the workspace is connected; the key is cleared either way once sent.
    Effect::new(move |_| match connect.value().get() {
        Some(Ok(_)) => form.set(ConnectForm::default()),
        Some(Err(_)) => form.update(|f| f.key.clear()),
        None => {}
    });
    // The navigation's switch lists the workspaces this admin may open: all of them.
    let place = use_context::<crate::me::Workspace>();
    Effect::new(move |previous: Option<(usize, usize)>| {
        let now = (connect.version().get(), disconnect.version().get());
        if previous.is_some_and(|p| p != now)
            && let Some(place) = place
        {
            place.0.refetch();
        }
        now
    });
    let disconnect_error = Signal::derive(move || disconnect.value().get().and_then(Result::err));
    view! {
        <section class="panel" aria-labelledby="workspaces" data-testid="workspaces">
            <h2 id="workspaces">"Workspaces"</h2>
            <p>"Each workspace is an upstream of its own: another Anthropic workspace (its API key), or another engine. Sessions, the inbox, rules, share links and audit entries belong to the workspace they were made in, and people choose theirs in the navigation. Admins may open every workspace; others only those they are given roles in. Keys are sealed with SWITCHBOARD_SECRET_KEY and never shown again."</p>
            <Transition fallback=|| view! { <Loading what="the workspaces" /> }>
                {move || Suspend::new(async move {
                    match workspaces.await {
                        Err(error) => view! { <Failure error inline=true /> }.into_any(),
                        Ok(list) => view! {
                            <TableScroll label="Workspaces">
                                <table class="list" data-testid="workspace-list">
                                    <thead><tr><th scope="col">"Workspace"</th><th scope="col">"Upstream"</th><th scope="col">"Who may open it"</th><th scope="col">"Webhooks"</th><th scope="col">"Disconnect"</th></tr></thead>
                                    <tbody>
                                        {list.into_iter().map(|w| workspace_row(w, disconnect)).collect_view()}
                                    </tbody>
                                </table>
                            </TableScroll>
                        }.into_any(),
                    }
                })}
            </Transition>
            <InlineError error=disconnect_error />
            {grant_form(grant)}
            {webhook_form(webhook)}
            {connect_form(form, connect)}
        </section>
    }
}

/// A workspace's row: its name and id, upstream, who may open it, and Disconnect.
fn workspace_row(
    w: crate::api::workspaces::WorkspaceRow,
    disconnect: ServerAction<crate::api::workspaces::DisconnectWorkspace>,
) -> impl IntoView {
    use crate::{api::workspaces::DisconnectWorkspace, components::confirm::Confirm};
    let id = w.id.clone();
    let people = if w.is_default {
        "Everyone, with their account's roles".to_owned()
    } else if w.grants.is_empty() {
        "Admins only".to_owned()
    } else {
        w.grants.iter().map(|g| format!("{} ({})", g.username, g.roles)).collect::<Vec<_>>().join(", ")
    };
    let remove = (!w.is_default).then(|| {
        let id = id.clone();
        view! {
            <Confirm label="Disconnect" danger=true pending=disconnect.pending()
                consequence="Its key is deleted and nobody can open it; its records stay in the data directory."
                on_confirm=Callback::new(move |_| { disconnect.dispatch(DisconnectWorkspace { id: id.clone() }); }) />
        }
    });
    view! {
        <tr data-testid="workspace-row">
            <td>
                <strong>{w.name}</strong><br /><code>{w.id}</code>
                {(!w.serving).then(|| view! { " " <span class="badge" data-testid="workspace-not-served" title="Its key did not open at start: another SWITCHBOARD_SECRET_KEY, or its row was changed. The server's log says which.">"not served"</span> })}
            </td>
            <td><code>{w.base_url}</code>{(!w.created_by.is_empty()).then(|| view! { <br /><span class="muted">{format!("connected by {} · ", w.created_by)}<LocalTime at=w.created_at /></span> })}</td>
            <td>{people}</td>
            <td data-testid="workspace-webhooks">
                <code>{format!("POST {}", w.webhook_path)}</code><br />
                <span class="muted">{match w.webhook_secret_set {
                    None => "Signed with SWITCHBOARD_WEBHOOK_SECRET (the Webhooks section below).",
                    Some(true) => "Signing secret set.",
                    Some(false) => "No signing secret: webhooks refused (404).",
                }}</span>
            </td>
            <td>{remove}</td>
        </tr>
    }
}

/// The form that gives someone roles in a workspace.
fn grant_form(grant: ServerAction<crate::api::workspaces::GrantWorkspace>) -> impl IntoView {
    let grant_error = Signal::derive(move || grant.value().get().and_then(Result::err));
    view! {
        <ActionForm action=grant attr:class="fields" attr:data-testid="workspace-grant">
            <fieldset>
                <legend>"Give someone roles in a workspace"</legend>
                <label>"Workspace (its short name)" <input type="text" name="form[workspace_id]" required placeholder="staging" /></label>
                <label>"Username" <input type="text" name="form[username]" required autocomplete="off" /></label>
                <label>"Roles (space-separated: viewer, operator, approver; empty takes access away)" <input type="text" name="form[roles]" placeholder="viewer approver" /></label>
                <button type="submit" class="button" disabled=move || grant.pending().get()>"Save the roles"</button>
            </fieldset>
        </ActionForm>
        <InlineError error=grant_error />
    }
}

/// The form that sets a connected workspace's webhook signing secret (or removes it, empty).
fn webhook_form(webhook: ServerAction<crate::api::workspaces::SetWorkspaceWebhook>) -> impl IntoView {
    let error = Signal::derive(move || webhook.value().get().and_then(Result::err));
    view! {
        <ActionForm action=webhook attr:class="fields" attr:data-testid="workspace-webhook">
            <fieldset>
                <legend>"A workspace's incoming webhooks"</legend>
                <p class="hint">"Register the workspace's address above (the public address, then POST /webhooks/anthropic/<short name>) as a webhook endpoint of its upstream, and paste the signing secret it shows here. A signed webhook about a session has the inbox read it at once. The secret is sealed and never shown again; empty removes it."</p>
                <label>"Workspace (its short name)" <input type="text" name="id" required placeholder="staging" /></label>
                <label>"Signing secret (write-only)" <input type="password" name="secret" autocomplete="off" placeholder="whsec_…" /></label>
                <button type="submit" class="button" disabled=move || webhook.pending().get()>"Save the secret"</button>
            </fieldset>
        </ActionForm>
        {move || webhook.value().get().and_then(Result::ok).map(|row| view! {
            <p class="notice" role="status" data-testid="workspace-webhook-saved">{format!(
                "{}: {}",
                row.name,
                if row.webhook_secret_set == Some(true) { "webhooks are received with the new secret." } else { "webhooks are refused until a secret is set." }
            )}</p>
        })}
        <InlineError error />
    }
}

/// The form that connects a workspace: short name, name, address and API key.
fn connect_form(
    form: RwSignal<crate::api::workspaces::ConnectForm>,
    connect: ServerAction<crate::api::workspaces::ConnectWorkspace>,
) -> impl IntoView {
    use crate::api::workspaces::{ConnectForm, ConnectWorkspace};
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        connect.dispatch(ConnectWorkspace { form: form.get_untracked() });
    };
    let field = move |set: fn(&mut ConnectForm, String)| move |ev| form.update(|f| set(f, event_target_value(&ev)));
    let connect_error = Signal::derive(move || connect.value().get().and_then(Result::err));
    view! {
        <form class="fields" on:submit=submit data-testid="workspace-connect">
            <fieldset>
                <legend>"Connect a workspace"</legend>
                <label>"Short name (lower case, for links and the audit log)" <input type="text" required placeholder="staging"
                    prop:value=move || form.with(|f| f.id.clone()) on:input=field(|f, v| f.id = v) /></label>
                <label>"Name" <input type="text" required placeholder="Staging"
                    prop:value=move || form.with(|f| f.name.clone()) on:input=field(|f, v| f.name = v) /></label>
                <label>"Address" <input type="url" required placeholder="https://api.anthropic.com"
                    prop:value=move || form.with(|f| f.base_url.clone()) on:input=field(|f, v| f.base_url = v) /></label>
                <label>"API key (write-only)" <input type="password" required autocomplete="off"
                    prop:value=move || form.with(|f| f.key.clone()) on:input=field(|f, v| f.key = v) /></label>
                <button type="submit" class="button primary" disabled=move || connect.pending().get()>
                    {move || if connect.pending().get() { "Checking the key…" } else { "Connect" }}
                </button>
            </fieldset>
        </form>
        <InlineError error=connect_error />
    }
}

/// The team's notification channels (admins): Slack incoming webhooks and signed JSON webhooks
/// that every batch of waiting calls also goes to.
#[component]
fn Channels() -> impl IntoView {
    use crate::api::notify::{CreateChannel, DeleteChannel, NewChannel, list_channels};
    let create = ServerAction::<CreateChannel>::new();
    let delete = ServerAction::<DeleteChannel>::new();
    let channels = Resource::new(move || (create.version().get(), delete.version().get()), |_| list_channels());
    let kind = RwSignal::new("slack".to_owned());
    let name = RwSignal::new(String::new());
    let url = RwSignal::new(String::new());
    // A draft stays until the channel is added.
    Effect::new(move |_| {
        if let Some(Ok(_)) = create.value().get() {
            name.set(String::new());
            url.set(String::new());
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        create.dispatch(CreateChannel {
            channel: NewChannel { kind: kind.get_untracked(), name: name.get_untracked(), url: url.get_untracked() },
        });
    };
    let error = Signal::derive(move || {
        create.value().get().and_then(Result::err).or_else(|| delete.value().get().and_then(Result::err))
    });
    view! {
        <section class="panel" aria-labelledby="channels" data-testid="channels">
            <h2 id="channels">"Notification channels"</h2>
            <p>"Every batch of this workspace's waiting calls also goes to each of its channels: a Slack message (an incoming webhook), or JSON signed as Standard Webhooks for anything else (Teams, PagerDuty, a bot). Links in a channel open the session at the call after sign-in; each person's own email links are single-use."</p>
            <Transition fallback=|| view! { <Loading what="the channels" /> }>
                {move || Suspend::new(async move {
                    match channels.await {
                        Err(error) => view! { <Failure error inline=true /> }.into_any(),
                        Ok(list) if list.is_empty() => view! { <p class="muted" data-testid="channels-empty">"No channel yet: only the people who chose email are told of waiting calls."</p> }.into_any(),
                        Ok(list) => view! {
                            <TableScroll label="Notification channels">
                                <table class="list" data-testid="channel-list">
                                    <thead><tr><th scope="col">"Channel"</th><th scope="col">"Kind"</th><th scope="col">"Goes to"</th><th scope="col">"Added by"</th><th scope="col">"Remove"</th></tr></thead>
                                    <tbody>{list.into_iter().map(|c| channel_row(c, delete)).collect_view()}</tbody>
                                </table>
                            </TableScroll>
                        }.into_any(),
                    }
                })}
            </Transition>
            {move || create.value().get().and_then(Result::ok).and_then(|made| made.secret.map(|secret| view! {
                <div class="notice" role="status" data-testid="channel-secret">
                    <p>{format!("{} checks signatures with this secret. It is shown only now; copy it to the receiver:", made.channel.name)}</p>
                    <p><code class="copyable">{secret}</code></p>
                </div>
            }))}
            <form class="fields" on:submit=submit>
                <fieldset class="choices">
                    <legend>"Add a channel"</legend>
                    <label class="check"><input type="radio" name="channel-kind" value="slack" prop:checked=move || kind.get() == "slack"
                        on:change=move |_| kind.set("slack".to_owned()) />" Slack (incoming webhook)"</label>
                    <label class="check"><input type="radio" name="channel-kind" value="webhook" prop:checked=move || kind.get() == "webhook"
                        on:change=move |_| kind.set("webhook".to_owned()) />" Signed JSON webhook"</label>
                    <label>"Name" <input type="text" data-testid="channel-name" placeholder="#on-call" prop:value=move || name.get()
                        on:input=move |ev| name.set(event_target_value(&ev)) /></label>
                    <label>"URL (kept secret; only its host is shown)" <input type="url" data-testid="channel-url" autocomplete="off"
                        placeholder="https://hooks.slack.com/services/…" prop:value=move || url.get() on:input=move |ev| url.set(event_target_value(&ev)) /></label>
                    <button type="submit" class="button primary" data-testid="channel-add" disabled=move || create.pending().get()>"Add the channel"</button>
                </fieldset>
            </form>
            <InlineError error />
        </section>
    }
}

fn channel_row(
    c: crate::api::notify::Channel,
    delete: ServerAction<crate::api::notify::DeleteChannel>,
) -> impl IntoView {
    use crate::api::notify::DeleteChannel;
    let id = c.id;
    view! {
        <tr data-testid="channel-row">
            <td>{c.name}</td>
            <td>{if c.kind == "slack" { "Slack" } else { "Signed webhook" }}</td>
            <td><code>{c.target}</code>" …"</td>
            <td>{c.created_by}" · "<LocalTime at=c.created_at /></td>
            <td><button type="button" class="button danger small" disabled=move || delete.pending().get()
                on:click=move |_| { delete.dispatch(DeleteChannel { id }); }>"Remove"</button></td>
        </tr>
    }
}

/// Whether signed webhooks reach `/webhooks/anthropic`, and what the inbox does meanwhile.
#[component]
fn Webhooks() -> impl IntoView {
    let refresh = RwSignal::new(0u32);
    let status = Resource::new(move || refresh.get(), |_| get_webhook_status());
    view! {
        <section class="panel" aria-labelledby="webhooks" data-testid="webhooks">
            <h2 id="webhooks">"Webhooks"</h2>
            <Suspense fallback=|| view! { <p class="muted">"Loading the webhooks' state…"</p> }>
                {move || Suspend::new(async move {
                    match status.await {
                        Ok(status) => view! { <WebhookFacts status /> }.into_any(),
                        Err(error) => view! { <Failure error inline=true /> }.into_any(),
                    }
                })}
            </Suspense>
            <button type="button" class="button" on:click=move |_| refresh.update(|n| *n += 1)>"Refresh"</button>
        </section>
    }
}

#[component]
fn WebhookFacts(status: WebhookStatus) -> impl IntoView {
    let every = |ms: u64| crate::live::model::duration(ms as f64);
    let explanation = match status.setup {
        WebhookSetup::Off => format!(
            "Off: SWITCHBOARD_WEBHOOK_SECRET is not set, so {} answers 404 and the inbox finds waiting calls by polling alone, every {}. To have them at once, add a webhook endpoint in Anthropic's console for this Switchboard's {} (on the address people reach it at), subscribe it to the session events, and start Switchboard with its whsec_… signing secret in SWITCHBOARD_WEBHOOK_SECRET.",
            status.path,
            every(status.base_poll_ms),
            status.path
        ),
        WebhookSetup::Secret => format!(
            "On: {} accepts webhooks signed with SWITCHBOARD_WEBHOOK_SECRET (the secret is never shown). A webhook about a session has the inbox read it at once.",
            status.path
        ),
        WebhookSetup::Embedded => format!(
            "On: the embedded engine sends its webhooks to this Switchboard's {}, signed with a secret made at start. A webhook about a session has the inbox read it at once.",
            status.path
        ),
    };
    let polling = if status.poll_ms > status.base_poll_ms {
        format!(
            "every {}: slower, since webhooks arrive (every {} without them)",
            every(status.poll_ms),
            every(status.base_poll_ms)
        )
    } else {
        format!("every {}", every(status.poll_ms))
    };
    let on = status.setup != WebhookSetup::Off;
    view! {
        <p data-testid="webhooks-setup">{explanation}</p>
        <dl class="facts">
            <dt>"Inbox polls"</dt>
            <dd data-testid="webhooks-polling">{polling}</dd>
            {on.then(|| view! {
                <dt>"Accepted since start"</dt>
                <dd data-testid="webhooks-accepted">{crate::format::count(status.accepted)}</dd>
                <dt>"Last accepted"</dt>
                <dd data-testid="webhooks-last">{match status.last_accepted {
                    Some(last) => view! { <LocalTime at=last.at />" · "<code>{last.what}</code> }.into_any(),
                    None => view! { "None since Switchboard started." }.into_any(),
                }}</dd>
                <dt>"Refused since start"</dt>
                <dd data-testid="webhooks-refused">{match status.last_refused {
                    Some(last) => view! { {crate::format::count(status.refused)}", the last "<LocalTime at=last.at />": "{last.what} }.into_any(),
                    None => view! { "None." }.into_any(),
                }}</dd>
            })}
        </dl>
    }
}
