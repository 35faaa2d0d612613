//! A self-hosted environment's work queue on its page: the queue's figures, how to start a
//! worker, and a work item found by its id (`?work=work_…`, so a link opens it) with its lease,
//! to stop or label.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::{
    api::work::{
        EnvironmentKeyRow, IssueEnvironmentKey, LabelWorkItem, RevokeEnvironmentKey, StopWorkItem, WorkItem, WorkQueue,
        get_work_item, get_work_queue, list_environment_keys,
    },
    auth::Role,
    components::{
        confirm::Confirm,
        feedback::{InlineError, Loading},
        table_scroll::TableScroll,
    },
    format,
};

#[component]
pub fn WorkQueuePanel(environment_id: String) -> impl IntoView {
    let query = use_query_map();
    let work_id = move || query.read().get("work").map(|w| w.trim().to_owned()).filter(|w| !w.is_empty());
    let stop = ServerAction::<StopWorkItem>::new();
    let label = ServerAction::<LabelWorkItem>::new();
    let stopped = crate::actions::successes(stop);
    let labelled = crate::actions::successes(label);
    let refresh = RwSignal::new(0u32);
    let env = environment_id.clone();
    let queue = Resource::new(move || (env.clone(), refresh.get(), stopped.get()), |(id, ..)| get_work_queue(id));
    let env = environment_id.clone();
    let item = Resource::new(
        move || (env.clone(), work_id(), stopped.get(), labelled.get()),
        |(env, work, ..)| async move {
            match work {
                Some(work) => get_work_item(env, work).await.map(Some),
                None => Ok(None),
            }
        },
    );
    let error = Signal::derive(move || {
        stop.value().get().and_then(Result::err).or_else(|| label.value().get().and_then(Result::err))
    });
    let key_env = environment_id.clone();
    view! {
        <section class="panel" aria-labelledby="work-queue">
            <h2 id="work-queue">"Work queue"</h2>
            <p class="muted">"Sessions on this environment run their tools on workers: each session queues a work item, and a worker takes it."</p>
            <Suspense fallback=|| view! { <Loading what="the work queue" /> }>
                {move || { let key_env = key_env.clone(); Suspend::new(async move {
                    match queue.await {
                        Ok(queue) => {
                            let embedded = queue.embedded;
                            view! {
                                {queue_facts(queue, refresh)}
                                {embedded.then(|| view! { <KeyIssuer environment_id=key_env /> })}
                            }.into_any()
                        }
                        Err(error) => view! { <InlineError error=Signal::derive(move || Some(error.clone())) /> }.into_any(),
                    }
                })}}
            </Suspense>
            <h3>"Find a work item"</h3>
            <p class="muted">"The API lists an environment's items only to its workers; find one by its id (a worker's log names it)."</p>
            <form method="get" class="inline-form">
                <label>"Work item id " <input name="work" required pattern="work_[A-Za-z0-9]+" placeholder="work_…" value=move || work_id().unwrap_or_default() /></label>
                " " <button type="submit" class="button">"Find"</button>
            </form>
            <InlineError error />
            <Suspense fallback=|| view! { <Loading what="the work item" /> }>
                {move || Suspend::new(async move {
                    match item.await {
                        Ok(Some(item)) => item_view(item, stop, label).into_any(),
                        Ok(None) => ().into_any(),
                        Err(error) => view! { <InlineError error=Signal::derive(move || Some(error.clone())) /> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

fn queue_facts(queue: WorkQueue, refresh: RwSignal<u32>) -> impl IntoView {
    let WorkQueue { depth, pending, oldest_queued_at, workers_polling, command, embedded } = queue;
    let waiting = if depth + pending == 0 {
        "nothing is waiting".to_owned()
    } else {
        format!("{depth} waiting, {pending} taken and not yet acknowledged")
    };
    let key_hint = if embedded {
        "An admin issues, lists and revokes keys below, or on the console's machine with: switchboard engine environment-key <environment id> (--list, --revoke). A key is shown once; keep it in the worker's environment or a file."
    } else {
        "Environment keys come from Anthropic's console, where they are listed and revoked too; keep one in the worker's environment or a file, never on its command line."
    };
    view! {
        <dl class="facts">
            <dt>"Queue"</dt><dd>{waiting}</dd>
            <dt>"Oldest waiting"</dt><dd>{oldest_queued_at.as_deref().map_or_else(|| "none".to_owned(), format::timestamp)}</dd>
            <dt>"Workers polling"</dt><dd>{match workers_polling {
                Some(0) => "none in the last 30 seconds: sessions wait until a worker starts".to_owned(),
                Some(n) => format!("{n} in the last 30 seconds"),
                None => "not reported".to_owned(),
            }}</dd>
        </dl>
        <button type="button" class="button" on:click=move |_| refresh.update(|n| *n += 1)>"Refresh"</button>
        <h3>"Start a worker"</h3>
        <pre class="json" tabindex="0">{command}</pre>
        <p class="muted">{key_hint}</p>
    }
}

/// An admin issues a key for the environment (the embedded engine's): shown here once, never
/// again, and never logged (the audit entry names the environment only); and sees its keys, to
/// revoke one.
#[component]
fn KeyIssuer(environment_id: String) -> impl IntoView {
    let issue = ServerAction::<IssueEnvironmentKey>::new();
    let admin = crate::me::can(Role::Admin);
    let error = Signal::derive(move || issue.value().get().and_then(Result::err));
    let issued = move || issue.value().get().and_then(Result::ok);
    view! {
        {move || admin.get().then(|| {
            let (environment_id, for_list) = (environment_id.clone(), environment_id.clone());
            view! {
                <h3>"Environment keys"</h3>
                <ActionForm action=issue attr:class="inline-form">
                    <input type="hidden" name="environment_id" value=environment_id />
                    <button type="submit" class="button" disabled=move || issue.pending().get()>"Issue an environment key"</button>
                </ActionForm>
                <InlineError error />
                {move || issued().map(|key| view! {
                    <div class="notice" role="status">
                        <p>"The new environment key, shown this once (Switchboard keeps only its hash):"</p>
                        <pre class="json" tabindex="0">{key}</pre>
                    </div>
                })}
                <KeyList environment_id=for_list issued=crate::actions::successes(issue) />
            }
        })}
    }
}

/// The environment's keys, without their values: what each ends with, when it was made and last
/// used, and whether it still works; a live one is revoked behind a confirmation.
#[component]
fn KeyList(environment_id: String, issued: ReadSignal<usize>) -> impl IntoView {
    let revoke = ServerAction::<RevokeEnvironmentKey>::new();
    let revoked = crate::actions::successes(revoke);
    let env = environment_id.clone();
    let keys = Resource::new(move || (env.clone(), issued.get(), revoked.get()), |(id, ..)| list_environment_keys(id));
    let error = Signal::derive(move || revoke.value().get().and_then(Result::err));
    view! {
        <InlineError error />
        <Suspense fallback=|| view! { <Loading what="the environment's keys" /> }>
            {move || { let environment_id = environment_id.clone(); Suspend::new(async move {
                match keys.await {
                    Ok(Some(keys)) if keys.is_empty() => view! {
                        <p class="muted">"No keys yet: a worker needs one to poll this environment. Issue one above."</p>
                    }.into_any(),
                    Ok(Some(keys)) => view! {
                        <TableScroll label="Environment keys">
                            <table class="list" data-testid="environment-keys">
                                <thead><tr><th>"Key"</th><th>"Issued"</th><th>"Last used"</th><th>"State"</th><th></th></tr></thead>
                                <tbody>{keys.into_iter().map(|key| key_row(key, environment_id.clone(), revoke)).collect_view()}</tbody>
                            </table>
                        </TableScroll>
                    }.into_any(),
                    Ok(None) => ().into_any(),
                    Err(error) => view! { <InlineError error=Signal::derive(move || Some(error.clone())) /> }.into_any(),
                }
            })}}
        </Suspense>
    }
}

fn key_row(
    key: EnvironmentKeyRow,
    environment_id: String,
    revoke: ServerAction<RevokeEnvironmentKey>,
) -> impl IntoView {
    let ends =
        key.hint.as_deref().map_or_else(|| "(issued before keys kept their ending)".to_owned(), |h| format!("…{h}"));
    let used = key.last_used_at.as_deref().map_or_else(|| "never".to_owned(), format::timestamp);
    let live = key.revoked_at.is_none();
    let state =
        key.revoked_at.as_deref().map_or_else(|| "live".to_owned(), |at| format!("revoked {}", format::timestamp(at)));
    let key_id = key.id.clone();
    view! {
        <tr>
            <td><code>{ends}</code>" "<span class="muted">{key.id.clone()}</span></td>
            <td>{format::timestamp(&key.created_at)}</td>
            <td>{used}</td>
            <td><span class="badge">{state}</span></td>
            <td>{live.then(|| view! {
                <Confirm label="Revoke" danger=true pending=revoke.pending()
                    consequence="Workers using this key are refused from their next request on; items they hold run out with their lease."
                    on_confirm=Callback::new(move |_| { revoke.dispatch(RevokeEnvironmentKey { environment_id: environment_id.clone(), key_id: key_id.clone() }); }) />
            })}</td>
        </tr>
    }
}

fn item_view(item: WorkItem, stop: ServerAction<StopWorkItem>, label: ServerAction<LabelWorkItem>) -> impl IntoView {
    let live = item.state != "stopped";
    let (e1, w1, e2, w2) = (item.environment_id.clone(), item.id.clone(), item.environment_id.clone(), item.id.clone());
    let when = |t: &Option<String>| t.as_deref().map_or_else(|| "—".to_owned(), format::timestamp);
    let heading = format!("Work item {}", item.id);
    view! {
        <article class="panel" aria-label=heading>
            <dl class="facts">
                <dt>"Id"</dt><dd><code>{item.id.clone()}</code></dd>
                <dt>"State"</dt><dd><span class="badge">{item.state.clone()}</span></dd>
                <dt>"Session"</dt><dd>{match item.session_id.clone() {
                    Some(id) if item.kind == "session" => view! { <a href=format!("/sessions/{id}")>{id.clone()}</a> }.into_any(),
                    _ => view! { <span>{item.kind.clone()}</span> }.into_any(),
                }}</dd>
                <dt>"Queued"</dt><dd>{format::timestamp(&item.created_at)}</dd>
                <dt>"Acknowledged"</dt><dd>{when(&item.acknowledged_at)}</dd>
                <dt>"Last heartbeat"</dt><dd>{when(&item.latest_heartbeat_at)}</dd>
                <dt>"Stop asked"</dt><dd>{when(&item.stop_requested_at)}</dd>
                <dt>"Stopped"</dt><dd>{when(&item.stopped_at)}</dd>
                <dt>"Metadata"</dt><dd>{if item.metadata.is_empty() { "none".to_owned() } else {
                    item.metadata.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")
                }}</dd>
            </dl>
            {live.then(|| view! {
                <div class="actions">
                    <Confirm label="Stop" consequence="Its worker lets the item go at its next heartbeat; the session waits for a worker again only when it gets new input."
                        on_confirm=Callback::new(move |_| { stop.dispatch(StopWorkItem { environment_id: e1.clone(), work_id: w1.clone(), force: false }); }) pending=stop.pending() />
                    <Confirm label="Force stop" consequence="The item stops now; its worker learns at its next heartbeat and stops running its tools."
                        on_confirm=Callback::new(move |_| { stop.dispatch(StopWorkItem { environment_id: e2.clone(), work_id: w2.clone(), force: true }); }) pending=stop.pending() danger=true />
                </div>
            })}
            <ActionForm action=label attr:class="inline-form">
                <input type="hidden" name="environment_id" value=item.environment_id.clone() />
                <input type="hidden" name="work_id" value=item.id.clone() />
                <label>"Label " <input name="key" required maxlength="64" placeholder="key" /></label>
                " " <label>"= " <input name="value" maxlength="512" placeholder="value (empty removes it)" /></label>
                " " <button type="submit" class="button">"Save label"</button>
            </ActionForm>
        </article>
    }
}
