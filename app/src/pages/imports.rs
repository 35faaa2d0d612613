//! Imported sessions: a session's JSON export read back as a read-only session (`/imports`), its
//! page with the live view's timeline (`/imports/{id}`), and its presenter mode with the replay
//! (`/imports/{id}/present`).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::A,
    hooks::{use_navigate, use_params_map, use_query_map},
};

use crate::components::table_scroll::TableScroll;
use crate::{
    api::imports::{DeleteImport, get_import, get_import_first_screen, list_imports},
    components::{
        confirm::Confirm,
        feedback::{Empty, Failure, InlineError, Loading, MissingPage},
    },
    format,
};

/// `/imports`: the upload form (a plain form: it works without JavaScript) and every import.
#[component]
pub fn ImportList() -> impl IntoView {
    let query = use_query_map();
    let imports = Resource::new(|| (), |_| list_imports());
    let me = use_context::<crate::me::Me>();
    let error = move || query.read().get("error").filter(|e| !e.is_empty());
    view! {
        <Title text="Imported sessions" />
        <header class="page-header">
            <p class="crumbs"><A href="/sessions">"Sessions"</A></p>
            <h1>"Imported sessions"</h1>
            <p class="lede">"A session's JSON export, read back as a read-only session: its timeline, and presenter mode to replay it, without running the agent again. Exports come from a session's page (Details, Transcript)."</p>
        </header>
        // Importing needs the operator role (the server checks it too).
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let may_import = match me { Some(me) => me.0.await.ok().flatten().is_some_and(|p| p.can(crate::auth::Role::Operator)), None => false };
                may_import.then(|| view! {
                    <form class="panel inline-form" method="post" action="/api/imports" enctype="multipart/form-data" data-testid="import-form">
                        <label>"JSON export " <input type="file" name="file" accept="application/json,.json" required /></label>
                        " " <button type="submit" class="button">"Import"</button>
                        <p class="muted">"Its digests are computed again first: a file damaged, cut short, or edited without its digests made again is refused. A digest shows the file is whole, not who made it. Up to 64 MiB and a million events."</p>
                        {move || error().map(|e| view! { <p class="inline-error" role="alert" data-testid="import-error">{e}</p> })}
                    </form>
                })
            })}
        </Transition>
        <Transition fallback=|| view! { <Loading what="the imported sessions" /> }>
            {move || Suspend::new(async move {
                match imports.await {
                    Err(error) => view! { <Failure error /> }.into_any(),
                    Ok(rows) if rows.is_empty() => view! {
                        <Empty title="Nothing imported yet">
                            <p>"Export a session as JSON from its page, then import the file here to replay it."</p>
                        </Empty>
                    }.into_any(),
                    Ok(rows) => view! {
                        <section class="panel">
                            <TableScroll label="Imported sessions">
                                <table class="list" data-testid="imports">
                                    <thead><tr><th scope="col">"Session"</th><th scope="col">"Agent"</th><th scope="col">"Events"</th><th scope="col">"Imported"</th></tr></thead>
                                    <tbody>
                                        {rows.into_iter().map(|row| view! {
                                            <tr data-testid="import-row">
                                                <td><A href=format!("/imports/{}", row.id)>{row.title}</A></td>
                                                <td>{row.agent}</td>
                                                <td>{format::count(row.events)}</td>
                                                <td>{format!("{} by {}", format::timestamp(&row.imported_at), row.imported_by)}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </TableScroll>
                        </section>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The page of an import that could not be read (a wrong id, a removed import).
fn missing_import(error: crate::error::AppError) -> AnyView {
    view! { <MissingPage what="Imported session" heading="Imported session" error back=("/imports", "Back to the imported sessions") /> }.into_any()
}

/// `/imports/{id}`: what was imported, from where, with which digest, and its timeline.
#[component]
pub fn ImportDetail() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let row = Resource::new(id, get_import);
    // The timeline's first screen is read beside the import, not once the import is in.
    let first_screen = crate::live::read_first_screen(id, || None, get_import_first_screen);
    let delete = ServerAction::<DeleteImport>::new();
    let error = Signal::derive(move || delete.value().get().and_then(Result::err));
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(())) = delete.value().get() {
            navigate("/imports", Default::default());
        }
    });
    let may_delete = crate::me::can(crate::auth::Role::Operator);
    view! {
        <Suspense fallback=|| view! { <Loading what="the imported session" /> }>
            {move || Suspend::new(async move {
                let row = match row.await {
                    Ok(row) => row,
                    Err(error) => return missing_import(error),
                };
                let delete_id = row.id.clone();
                view! {
                    <Title text=format!("{} (imported)", row.title) />
                    <header class="page-header">
                        <p class="crumbs"><A href="/imports">"Imported sessions"</A></p>
                        <h1>{row.title.clone()} " " <span class="badge">"Imported, read-only"</span></h1>
                        <div class="actions">
                            <A href=format!("/imports/{}/present", row.id) attr:class="button" attr:data-testid="present">"Present and replay"</A>
                            <Show when=move || may_delete.get()>
                                <Confirm label="Remove" consequence="The imported copy is removed; the session it came from is not touched."
                                    on_confirm=Callback::new({ let id = delete_id.clone(); move |_| { delete.dispatch(DeleteImport { id: id.clone() }); } }) pending=delete.pending() danger=true />
                            </Show>
                        </div>
                        <InlineError error />
                    </header>
                    <crate::live::ReadOnlySession source=format!("/api/imports/{}", row.id) first_screen=Some(first_screen) />
                    <section class="panel" aria-labelledby="import-details">
                        <h2 id="import-details">"Details"</h2>
                        <dl class="facts">
                            <dt>"Agent"</dt><dd>{row.agent.clone()}</dd>
                            <dt>"Exported from (as the file says)"</dt><dd><code>{row.source_session_id.clone()}</code></dd>
                            <dt>"Events"</dt><dd>{format!("{} in the session, {} thread{}", format::count(row.events), row.threads, if row.threads == 1 { "" } else { "s" })}</dd>
                            <dt>"Digest"</dt><dd><code data-testid="import-digest">{row.digest.clone()}</code>" (the events matched it at import)"</dd>
                            <dt>"Imported"</dt><dd>{format!("{} by {}", format::timestamp(&row.imported_at), row.imported_by)}</dd>
                        </dl>
                    </section>
                }.into_any()
            })}
        </Suspense>
    }
}

/// `/imports/{id}/present`: presenter mode over the imported events, with the replay.
#[component]
pub fn ImportPresent() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let row = Resource::new(id, get_import);
    let event = move || query.read_untracked().get("event").filter(|e| !e.is_empty());
    let first_screen = crate::live::read_first_screen(id, event, get_import_first_screen);
    view! {
        <Suspense fallback=|| view! { <Loading what="the imported session" /> }>
            {move || Suspend::new(async move {
                let row = match row.await {
                    Ok(row) => row,
                    Err(error) => return missing_import(error),
                };
                let note = format!("Imported from a file that names session {}: read-only.", row.source_session_id);
                view! {
                    <Title text=format!("{} (presenting)", row.title) />
                    <crate::live::PresentSession session_id=String::new() title=row.title.clone() agent=row.agent.clone() event=event()
                        source=format!("/api/imports/{}", row.id) exit=Some(format!("/imports/{}", row.id)) note first_screen=Some(first_screen) />
                }.into_any()
            })}
        </Suspense>
    }
}
