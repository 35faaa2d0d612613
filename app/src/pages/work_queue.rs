//! A self-hosted environment's work queue on its page: the queue's figures, how to start a
//! worker, and a work item found by its id (`?work=work_…`, so a link opens it) with its lease,
//! to stop or label.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::{
    api::work::{
        EnvironmentKeyRow, IssueEnvironmentKey, LabelWorkItem, RevokeEnvironmentKey, StopWorkItem, WorkItem, WorkQueue,
        get_work_item, get_work_queue,
    },
    auth::Role,
    components::{
        confirm::Confirm,
        feedback::{InlineError, Loading},
        table_scroll::TableScroll,
    },
    error::AppError,
    format,
};

/// What the work queue panel reads and does. The environment's page makes it at its top, not in
/// its `Suspend`: a resource made there is made twice on the server and once in the browser, and
/// is matched with another's data while the page hydrates (the panel then did not hydrate).
#[derive(Clone, Copy)]
pub struct WorkQueueData {
    /// The queue (with the keys, for an admin on the embedded engine); `None` for an environment
    /// that is not self-hosted.
    queue: Resource<Result<Option<WorkQueue>, AppError>>,
    /// The work item `?work=` names.
    item: Resource<Result<Option<WorkItem>, AppError>>,
    refresh: RwSignal<u32>,
    stop: ServerAction<StopWorkItem>,
    label: ServerAction<LabelWorkItem>,
    issue: ServerAction<IssueEnvironmentKey>,
    revoke: ServerAction<RevokeEnvironmentKey>,
}

impl WorkQueueData {
    /// For the environment `id` names, read only once `self_hosted` says it is one.
    pub fn new<F>(
        id: impl Fn() -> String + Copy + Send + Sync + 'static,
        self_hosted: impl Fn() -> F + Copy + Send + Sync + 'static,
    ) -> Self
    where
        F: Future<Output = bool> + Send + 'static,
    {
        let query = use_query_map();
        let work_id = move || query.read().get("work").map(|w| w.trim().to_owned()).filter(|w| !w.is_empty());
        let (stop, label) = (ServerAction::<StopWorkItem>::new(), ServerAction::<LabelWorkItem>::new());
        let (issue, revoke) = (ServerAction::<IssueEnvironmentKey>::new(), ServerAction::<RevokeEnvironmentKey>::new());
        let (stopped, labelled) = (crate::actions::successes(stop), crate::actions::successes(label));
        // The keys come with the queue: issuing or revoking one reads it again.
        let (issued, revoked) = (crate::actions::successes(issue), crate::actions::successes(revoke));
        let refresh = RwSignal::new(0u32);
        let queue = Resource::new(
            move || (id(), refresh.get(), stopped.get(), issued.get(), revoked.get()),
            move |(id, ..)| async move {
                if !self_hosted().await {
                    return Ok(None);
                }
                get_work_queue(id).await.map(Some)
            },
        );
        let item = Resource::new(
            move || (id(), work_id(), stopped.get(), labelled.get()),
            |(env, work, ..)| async move {
                match work {
                    Some(work) => get_work_item(env, work).await.map(Some),
                    None => Ok(None),
                }
            },
        );
        Self { queue, item, refresh, stop, label, issue, revoke }
    }
}

#[component]
pub fn WorkQueuePanel(environment_id: String, data: WorkQueueData) -> impl IntoView {
    let WorkQueueData { queue, item, refresh, stop, label, issue, revoke } = data;
    let query = use_query_map();
    let work_id = move || query.read().get("work").map(|w| w.trim().to_owned()).filter(|w| !w.is_empty());
    let error = Signal::derive(move || {
        stop.value().get().and_then(Result::err).or_else(|| label.value().get().and_then(Result::err))
    });
    let key_env = environment_id.clone();
    view! {
        <section class="panel" aria-labelledby="work-queue">
            <h2 id="work-queue">"Work queue"</h2>
            <p class="muted">"Sessions on this environment run their tools on workers: each session queues a work item, and a worker takes it."</p>
            // A transition: read again (a key issued or revoked), the panel stays as it was until
            // the answer is in, the new key's notice with it.
            <Transition fallback=|| view! { <Loading what="the work queue" /> }>
                {move || { let key_env = key_env.clone(); Suspend::new(async move {
                    match queue.await {
                        Ok(Some(mut queue)) => {
                            let (embedded, keys) = (queue.embedded, queue.keys.take());
                            view! {
                                {queue_facts(queue, refresh)}
                                {embedded.then(|| view! { <KeyIssuer environment_id=key_env.clone() issue /> })}
                                {keys.map(|keys| key_list(keys, key_env, revoke))}
                            }.into_any()
                        }
                        Ok(None) => ().into_any(),
                        Err(error) => view! { <InlineError error=Signal::derive(move || Some(error.clone())) /> }.into_any(),
                    }
                })}}
            </Transition>
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
    let WorkQueue { depth, pending, oldest_queued_at, workers_polling, command, embedded, .. } = queue;
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
fn KeyIssuer(environment_id: String, issue: ServerAction<IssueEnvironmentKey>) -> impl IntoView {
    let admin = crate::me::can(Role::Admin);
    let error = Signal::derive(move || issue.value().get().and_then(Result::err));
    let issued = move || issue.value().get().and_then(Result::ok);
    view! {
        {move || admin.get().then(|| {
            let environment_id = environment_id.clone();
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
            }
        })}
    }
}

/// The environment's keys (an admin's, on the embedded engine), without their values: what each
/// ends with, when it was made and last used, and whether it still works; a live one is revoked
/// behind a confirmation.
fn key_list(
    keys: Vec<EnvironmentKeyRow>,
    environment_id: String,
    revoke: ServerAction<RevokeEnvironmentKey>,
) -> impl IntoView {
    let error = Signal::derive(move || revoke.value().get().and_then(Result::err));
    let table = (!keys.is_empty()).then(|| view! {
        <TableScroll label="Environment keys">
            <table class="list" data-testid="environment-keys">
                <thead><tr><th scope="col">"Key"</th><th scope="col">"Issued"</th><th scope="col">"Last used"</th><th scope="col">"State"</th><th scope="col">"Revoke"</th></tr></thead>
                <tbody>{keys.into_iter().map(|key| key_row(key, environment_id.clone(), revoke)).collect_view()}</tbody>
            </table>
        </TableScroll>
    });
    view! {
        {table.is_none().then(|| view! {
            <p class="muted">"No keys yet: a worker needs one to poll this environment. Issue one above."</p>
        })}
        {table}
        <InlineError error />
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
