//! Memory stores: the list, and a store's page: its memories as a tree by path (one folder at a
//! time, `?prefix=`), a memory opened for editing (`?memory=`), and the memory's versions with
//! who wrote each, a diff of any two (`?from=&to=`) and redaction.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::A,
    hooks::{use_navigate, use_params_map, use_query_map},
};

use crate::components::table_scroll::TableScroll;
use crate::{
    api::memory::{
        ArchiveStore, DeleteMemory, DeleteStore, MemoryView, RedactVersion, SaveStore, Saved, StoreRow, TreeEntry,
        VersionRow, WriteMemory, get_store, list_directory, list_stores, list_versions, open_memory, version_diff,
    },
    components::{
        confirm::Confirm,
        diff::Diff,
        feedback::{Failure, InlineError, Loading, MissingPage},
        list_page::{Column, ListPage, created_by_cell},
        pager::{ArchivedToggle, MineToggle, Pager, list_query},
    },
    error::AppError,
    format::{self, query_value},
};

const COLUMNS: &[Column] = &[
    Column::text("Name"),
    Column::text("Description"),
    Column::text("Id"),
    Column::text("Updated"),
    Column::text("Created by"),
];

#[component]
pub fn MemoryStoreList() -> impl IntoView {
    let query = use_query_map();
    let archived = move || query.read().get("include_archived").is_some_and(|v| v == "true");
    let mine = move || query.read().get("mine").is_some_and(|v| v == "true");
    let create = ServerAction::<SaveStore>::new();
    let stores =
        Resource::new(move || (archived(), mine(), query.read().get("page")), |(a, mine, p)| list_stores(a, p, mine));
    let error = Signal::derive(move || create.value().get().and_then(Result::err));
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(store)) = create.value().get() {
            navigate(&format!("/memory/{}", store.id), Default::default());
        }
    });

    view! {
        <ListPage
            title="Memory stores"
            lede="Files that agents read and write across sessions. A session mounts each store it attaches under /mnt/memory/; every change is kept as a version with who made it."
            actions=|| view! { <MineToggle path="/memory" /> <ArchivedToggle path="/memory" /> }
            list=stores
            testid="store-list"
            columns=COLUMNS
            row=store_row
            empty_title=Signal::derive(move || if mine() { "You have made no memory stores here yet" } else { "No memory stores yet" }.to_owned())
            empty=|| view! {
                <p>"A memory store keeps what agents learn: notes, preferences, decisions. Attach it when a session or a deployment starts, and the agent finds it under /mnt/memory/."</p>
            }
            pager_base=move || list_query(archived(), mine())
            first_page=move || query.read_untracked().get("page").is_none()
        >
            <ActionForm action=create attr:class="panel inline-form" attr:data-testid="new-store">
                <input type="hidden" name="id" value="" />
                <label>"New store named " <input name="name" required maxlength="255" /></label>
                " " <label>"described as " <input name="description" maxlength="1024" placeholder="shown to the agent" /></label>
                " " <button type="submit" class="button primary" disabled=move || create.pending().get()>"Create store"</button>
                <InlineError error />
            </ActionForm>
        </ListPage>
    }
}

/// A store's row: its name (and whether it is archived), description, id and last change.
fn store_row(s: StoreRow) -> impl IntoView {
    view! {
        <tr>
            <td><a href=format!("/memory/{}", s.id)>{s.name.clone()}</a>
                {s.archived.then(|| view! { " " <span class="badge">"archived"</span> })}</td>
            <td>{s.description.clone()}</td>
            <td><code>{s.id.clone()}</code></td>
            <td>{format::timestamp(&s.updated_at)}</td>
            {created_by_cell(s.created_by.clone())}
        </tr>
    }
}

/// The link to a store's page with these query values (empty ones left out).
fn store_link(store_id: &str, pairs: &[(&str, &str)]) -> String {
    let query: Vec<String> =
        pairs.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| format!("{k}={}", query_value(v))).collect();
    if query.is_empty() { format!("/memory/{store_id}") } else { format!("/memory/{store_id}?{}", query.join("&")) }
}

#[component]
pub fn MemoryStoreDetail() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let q = move |key: &str| query.read().get(key).unwrap_or_default();
    let save = ServerAction::<SaveStore>::new();
    let archive = ServerAction::<ArchiveStore>::new();
    let delete = ServerAction::<DeleteStore>::new();
    let (saved, archived_done) = (crate::actions::successes(save), crate::actions::successes(archive));
    let store = Resource::new(move || (id(), saved.get(), archived_done.get()), |(id, ..)| get_store(id));
    let error = Signal::derive(move || {
        save.value()
            .get()
            .and_then(Result::err)
            .or_else(|| archive.value().get().and_then(Result::err))
            .or_else(|| delete.value().get().and_then(Result::err))
    });
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(())) = delete.value().get() {
            navigate("/memory", Default::default());
        }
    });
    // Saves of the opened memory: the editor sends them; the editor reloads the memory and the
    // history lists its versions after each one that was written. A lost race answers `Ok` too,
    // but writes nothing: reloading then would replace the draft with the winner's text.
    let write = ServerAction::<WriteMemory>::new();
    let (saves, counted) = signal(0usize);
    Effect::new(move |_| {
        if write.value().with(|outcome| matches!(outcome, Some(Ok(Saved::Saved(_))))) {
            counted.update(|n| *n += 1);
        }
    });

    view! {
        <Suspense fallback=|| view! { <Loading what="the memory store" /> }>
            {move || Suspend::new(async move {
                let store = match store.await {
                    Ok(s) => s,
                    Err(error) => return view! { <MissingPage what="Memory store" heading="Memory store" error back=("/memory", "Back to the memory stores") /> }.into_any(),
                };
                view! {
                    {store_header(&store, archive, delete, error)}
                    {(!store.archived).then(|| store_edit_form(&store, save))}
                }.into_any()
            })}
        </Suspense>
        <div class="memory-browser">
            <MemoryTree store_id=Signal::derive(id) prefix=Signal::derive(move || q("prefix")) page=Signal::derive(move || q("page")) opened=Signal::derive(move || q("memory")) />
            {move || {
                let memory = q("memory");
                (!memory.is_empty()).then(|| view! { <MemoryEditor store_id=id() memory_id=memory prefix=q("prefix") write saves /> })
            }}
        </div>
        {move || {
            let memory = q("memory");
            (!memory.is_empty()).then(|| view! { <Versions store_id=id() memory_id=memory prefix=q("prefix") from=q("from") to=q("to") saves /> })
        }}
    }
}

/// A store's title and header: its name, description and id, Archive and Delete.
fn store_header(
    store: &StoreRow,
    archive: ServerAction<ArchiveStore>,
    delete: ServerAction<DeleteStore>,
    error: Signal<Option<AppError>>,
) -> impl IntoView + use<> {
    let (a_id, d_id) = (store.id.clone(), store.id.clone());
    let archived = store.archived;
    view! {
        <Title text=store.name.clone() />
        <header class="page-header">
            <p class="crumbs"><A href="/memory">"Memory stores"</A></p>
            <h1>{store.name.clone()} {archived.then(|| view! { " " <span class="badge">"archived"</span> })}</h1>
            <p class="lede">{store.description.clone()} " " <code>{store.id.clone()}</code></p>
            <div class="actions">
                {(!archived).then(|| view! {
                    <Confirm label="Archive" consequence="No new session can attach the store; its memories can still be read and deleted. This cannot be undone."
                        on_confirm=Callback::new(move |_| { archive.dispatch(ArchiveStore { id: a_id.clone() }); }) pending=archive.pending() />
                })}
                <Confirm label="Delete" consequence="The store, every memory in it and their whole history are deleted for good."
                    on_confirm=Callback::new(move |_| { delete.dispatch(DeleteStore { id: d_id.clone() }); }) pending=delete.pending() danger=true />
            </div>
            <InlineError error />
        </header>
    }
}

/// The form that renames a store and changes its description.
fn store_edit_form(store: &StoreRow, save: ServerAction<SaveStore>) -> impl IntoView + use<> {
    let (id, name, description) = (store.id.clone(), store.name.clone(), store.description.clone());
    view! {
        <details class="panel">
            <summary>"Edit name and description"</summary>
            <ActionForm action=save attr:class="inline-form">
                <input type="hidden" name="id" value=id />
                <label>"Name " <input name="name" required maxlength="255" value=name /></label>
                " " <label>"Description " <input name="description" maxlength="1024" value=description /></label>
                " " <button type="submit" class="button">"Save"</button>
            </ActionForm>
        </details>
    }
}

/// One folder of the store: its memories and subfolders, with a way up, and a form for a new
/// memory in it.
#[component]
fn MemoryTree(
    store_id: Signal<String>,
    prefix: Signal<String>,
    page: Signal<String>,
    opened: Signal<String>,
) -> impl IntoView {
    let write = ServerAction::<WriteMemory>::new();
    let written = crate::actions::successes(write);
    let entries = Resource::new(
        move || (store_id.get(), prefix.get(), page.get(), written.get()),
        |(store_id, prefix, page, _)| list_directory(store_id, prefix, (!page.is_empty()).then_some(page)),
    );
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(Saved::Saved(memory))) = write.value().get() {
            navigate(
                &store_link(&store_id.get_untracked(), &[("prefix", &prefix.get_untracked()), ("memory", &memory.id)]),
                Default::default(),
            );
        }
    });
    let folder = move || if prefix.get().is_empty() { "/".to_owned() } else { prefix.get() };

    view! {
        <section class="panel tree" aria-labelledby="memories">
            <h2 id="memories">"Memories"</h2>
            <nav class="crumbs" aria-label="Folder" data-testid="memory-folder">
                {move || folder_links(&store_id.get(), &folder())}
            </nav>
            <Transition fallback=|| view! { <p class="muted">"Loading the folder…"</p> }>
                {move || Suspend::new(async move {
                    match entries.await {
                        Err(error) => view! { <Failure error inline=true /> }.into_any(),
                        Ok(page_) if page_.data.is_empty() => view! {
                            <p class="muted" data-testid="memory-empty">"Nothing here yet. Agents write memories through their mounted store, or add one below."</p>
                        }.into_any(),
                        Ok(page_) => {
                            let store = store_id.get_untracked();
                            let here = prefix.get_untracked();
                            view! {
                                <ul class="memory-entries" data-testid="memory-entries">
                                    // Plain links, as every list's rows: a router `<A>` per row costs render time
                                    // (docs/benchmarks.md); the router still navigates them.
                                    {page_.data.iter().map(|entry| tree_entry(entry, &store, &here, &opened.get_untracked())).collect_view()}
                                </ul>
                                <Pager base=format!("prefix={}", query_value(&here)) next=page_.next_page.clone() on_first=page.get_untracked().is_empty() />
                            }.into_any()
                        }
                    }
                })}
            </Transition>
            {new_memory_form(write, store_id, folder)}
        </section>
    }
}

/// The links up the folder's path: `/`, then each folder down to this one.
fn folder_links(store: &str, folder: &str) -> Vec<AnyView> {
    let mut at = String::from("/");
    let mut links = vec![view! { <A href=store_link(store, &[])>"/"</A> }.into_any()];
    for segment in folder.trim_matches('/').split('/').filter(|s| !s.is_empty()) {
        at.push_str(segment);
        at.push('/');
        links.push(view! { <A href=store_link(store, &[("prefix", &at)])>{format!("{segment}/")}</A> }.into_any());
    }
    links
}

/// One entry of a folder: a subfolder, a memory (marked when it is the one opened), or another
/// kind of entry.
fn tree_entry(entry: &TreeEntry, store: &str, here: &str, opened: &str) -> AnyView {
    let name = entry.name();
    match entry {
        TreeEntry::Folder { path } => view! {
            <li class="folder"><a href=store_link(store, &[("prefix", path)])>{name}</a></li>
        }
        .into_any(),
        TreeEntry::Memory { id, size_bytes, updated_at, .. } => {
            let current = opened == id;
            view! {
                <li class="memory" class:current=current>
                    <a href=store_link(store, &[("prefix", here), ("memory", id)])>{name}</a>
                    " " <span class="muted">{format::bytes(*size_bytes)} " · " {format::timestamp(updated_at)}</span>
                </li>
            }
            .into_any()
        }
        TreeEntry::Other { .. } => view! { <li class="other"><code>{name}</code></li> }.into_any(),
    }
}

/// The form that adds a memory to the folder.
fn new_memory_form(
    write: ServerAction<WriteMemory>,
    store_id: Signal<String>,
    folder: impl Fn() -> String + Send + Sync + 'static,
) -> impl IntoView {
    let error = Signal::derive(move || write.value().get().and_then(Result::err));
    view! {
        <details>
            <summary>"New memory in this folder"</summary>
                <ActionForm action=write attr:class="editor" attr:data-testid="new-memory">
                    <input type="hidden" name="store_id" value=store_id />
                    <input type="hidden" name="id" value="" />
                    <input type="hidden" name="based_on" value="" />
                    <label>"Path " <input name="path" required value=move || format!("{}new.md", folder()) /></label>
                    <label>"Content " <textarea name="content" rows="6" class="code"></textarea></label>
                    <InlineError error />
                    <div class="actions"><button type="submit" class="button primary" disabled=move || write.pending().get()>"Add memory"</button></div>
                </ActionForm>
        </details>
    }
}

/// A memory opened for editing. Saving sends what the memory held when it was opened as a
/// precondition; if someone changed it meanwhile, both texts are shown and the draft stays.
#[component]
fn MemoryEditor(
    store_id: String,
    memory_id: String,
    prefix: String,
    write: ServerAction<WriteMemory>,
    /// Counts the saves that were written.
    saves: ReadSignal<usize>,
) -> impl IntoView {
    // A conflict of the memory opened before is not this one's.
    write.clear();
    let forget = ServerAction::<DeleteMemory>::new();
    let (sid, mid) = (store_id.clone(), memory_id.clone());
    let memory = Resource::new(move || saves.get(), move |_| open_memory(sid.clone(), mid.clone()));
    let navigate = use_navigate();
    let back = store_link(&store_id, &[("prefix", &prefix)]);
    Effect::new(move |_| {
        if let Some(Ok(())) = forget.value().get() {
            navigate(&back, Default::default());
        }
    });

    view! {
        <Suspense fallback=|| view! { <Loading what="the memory" /> }>
            {move || {
                let store_id = store_id.clone();
                Suspend::new(async move {
                    match memory.await {
                        Err(error) => view! { <Failure error inline=true /> }.into_any(),
                        Ok(opened) => view! { <EditorPanel store_id opened write forget /> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

#[component]
fn EditorPanel(
    store_id: String,
    opened: MemoryView,
    write: ServerAction<WriteMemory>,
    forget: ServerAction<DeleteMemory>,
) -> impl IntoView {
    let draft = RwSignal::new(opened.content.clone());
    let path = RwSignal::new(opened.path.clone());
    // What a save is based on: what was opened, or, after a lost race, what won it.
    let based_on = RwSignal::new(opened.content_sha256.clone());
    let conflict = move || match write.value().get() {
        Some(Ok(Saved::Conflict(theirs))) => Some(theirs),
        _ => None,
    };
    let error = Signal::derive(move || {
        write.value().get().and_then(Result::err).or_else(|| forget.value().get().and_then(Result::err))
    });
    let (s1, s3, id1, id3) = (store_id.clone(), store_id, opened.id.clone(), opened.id.clone());
    let save = move || {
        write.dispatch(WriteMemory {
            store_id: s1.clone(),
            id: id1.clone(),
            path: path.get_untracked(),
            content: draft.get_untracked(),
            based_on: based_on.get_untracked(),
        });
    };
    let save_again = save.clone();
    let opened_sha = opened.content_sha256.clone();
    view! {
        <section class="panel memory-editor" aria-labelledby="memory-path" data-testid="memory-editor">
            <h2 id="memory-path"><code>{opened.path.clone()}</code></h2>
            <p class="muted">{format::bytes(opened.size_bytes)} " · updated " {format::timestamp(&opened.updated_at)} " · version " <code>{opened.version_id.clone()}</code></p>
            <form on:submit=move |ev| { ev.prevent_default(); save(); }>
                <label>"Path " <input name="path" prop:value=move || path.get() on:input=move |ev| path.set(event_target_value(&ev)) /></label>
                <label>"Content "
                    <textarea name="content" rows="16" class="code" on:input=move |ev| draft.set(event_target_value(&ev)) prop:value=move || draft.get()>{opened.content.clone()}</textarea>
                </label>
                <InlineError error />
                {move || conflict().map(|theirs| {
                    let (their_sha, their_text) = (theirs.content_sha256.clone(), theirs.content.clone());
                    let save_again = save_again.clone();
                    view! {
                        <div class="conflict" role="alert" data-testid="memory-conflict">
                            <p><strong>"Someone changed this memory while you were editing it."</strong>
                                " Nothing was saved. Your text is still in the editor; theirs (updated " {format::timestamp(&theirs.updated_at)} ") is below."</p>
                            <div class="side-by-side">
                                <div><h3>"Theirs (saved now)"</h3><pre class="prose" data-testid="theirs">{their_text.clone()}</pre></div>
                                <div><h3>"Yours (not saved)"</h3><pre class="prose" data-testid="yours">{move || draft.get()}</pre></div>
                            </div>
                            <div class="actions">
                                <button type="button" class="button primary" on:click=move |_| { based_on.set(their_sha.clone()); save_again(); }>"Save mine over theirs"</button>
                                " " <button type="button" class="button" on:click=move |_| { based_on.set(theirs.content_sha256.clone()); draft.set(their_text.clone()); write.clear(); }>"Discard mine, keep theirs"</button>
                            </div>
                        </div>
                    }
                })}
                <div class="actions">
                    <button type="submit" class="button primary" disabled=move || write.pending().get()>"Save"</button>
                    " " <Confirm label="Delete" consequence="The memory is deleted; its versions stay in the history." danger=true
                        on_confirm=Callback::new(move |_| { forget.dispatch(DeleteMemory { store_id: s3.clone(), id: id3.clone(), based_on: opened_sha.clone() }); }) pending=forget.pending() />
                </div>
            </form>
        </section>
    }
}

/// A memory's versions, newest first: who wrote each (a session links to it), a diff of any
/// two, and redaction for admins.
#[component]
fn Versions(
    store_id: String,
    memory_id: String,
    prefix: String,
    from: String,
    to: String,
    /// Counts the saves of the memory that were written, so the history shows each new version.
    saves: ReadSignal<usize>,
) -> impl IntoView {
    let redact = ServerAction::<RedactVersion>::new();
    let redacted = crate::actions::successes(redact);
    let (sid, mid) = (store_id.clone(), memory_id.clone());
    let versions =
        Resource::new(move || (redacted.get(), saves.get()), move |_| list_versions(sid.clone(), mid.clone(), None));
    let (dsid, dfrom, dto) = (store_id.clone(), from.clone(), to.clone());
    let diff = Resource::new(
        || (),
        move |_| {
            let (s, f, t) = (dsid.clone(), dfrom.clone(), dto.clone());
            async move {
                if f.is_empty() || t.is_empty() || f == t { Ok(None) } else { version_diff(s, f, t).await.map(Some) }
            }
        },
    );
    let error = Signal::derive(move || redact.value().get().and_then(Result::err));
    let action = store_link(&store_id, &[]);

    view! {
        <section class="panel" aria-labelledby="versions" data-testid="memory-versions">
            <h2 id="versions">"Versions"</h2>
            <InlineError error />
            <Transition fallback=|| view! { <p class="muted">"Loading the versions…"</p> }>
                {move || {
                    let (store_id, memory_id, prefix, from, to, action) =
                        (store_id.clone(), memory_id.clone(), prefix.clone(), from.clone(), to.clone(), action.clone());
                    Suspend::new(async move {
                        let page = match versions.await {
                            Ok(page) => page,
                            Err(error) => return view! { <Failure error inline=true /> }.into_any(),
                        };
                        let rows: Vec<VersionRow> = page.data;
                        let older = if from.is_empty() { rows.get(1).map(|v| v.id.clone()).unwrap_or_default() } else { from };
                        let newer = if to.is_empty() { rows.first().map(|v| v.id.clone()).unwrap_or_default() } else { to };
                        view! {
                            <form method="get" action=action>
                                <input type="hidden" name="prefix" value=prefix />
                                <input type="hidden" name="memory" value=memory_id />
                                <TableScroll label="Memories">
                                    <table class="list">
                                        <thead><tr><th scope="col">"From"</th><th scope="col">"To"</th><th scope="col">"Change"</th><th scope="col">"By"</th><th scope="col">"When"</th><th scope="col"></th></tr></thead>
                                        <tbody>
                                            {rows.into_iter().map(|v| version_row(v, &older, &newer, &store_id, redact)).collect_view()}
                                        </tbody>
                                    </table>
                                </TableScroll>
                                <div class="actions"><button type="submit" class="button">"Show the differences"</button></div>
                            </form>
                        }.into_any()
                    })
                }}
            </Transition>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match diff.await {
                        Ok(None) => ().into_any(),
                        Err(error) => view! { <Failure error inline=true /> }.into_any(),
                        Ok(Some(lines)) if lines.iter().all(|l| l.sign == ' ') => view! { <p class="muted">"The two versions hold the same text."</p> }.into_any(),
                        Ok(Some(lines)) => view! { <div data-testid="memory-diff"><Diff lines /></div> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

/// One version of a memory: the two radios that pick it for a diff, what changed, who changed it
/// and when, and Redact.
fn version_row(
    v: VersionRow,
    older: &str,
    newer: &str,
    store_id: &str,
    redact: ServerAction<RedactVersion>,
) -> impl IntoView + use<> {
    let by = match &v.author.session_id {
        Some(session) => view! { <a href=format!("/sessions/{session}")>{v.author.words.clone()}</a> }.into_any(),
        None => view! { <span>{v.author.words.clone()}</span> }.into_any(),
    };
    let what = match (&v.redacted_at, &v.path) {
        (Some(at), _) => format!(
            "{} · redacted {} by {}",
            v.operation,
            format::timestamp(at),
            v.redacted_by.as_ref().map(|a| a.words.clone()).unwrap_or_default()
        ),
        (None, Some(path)) => format!(
            "{} {} ({})",
            v.operation,
            path,
            v.size_bytes.map(format::bytes).unwrap_or_else(|| "no content".into())
        ),
        (None, None) => v.operation.clone(),
    };
    let can_redact = v.redacted_at.is_none();
    let (sid, vid) = (store_id.to_owned(), v.id.clone());
    view! {
        <tr data-testid="memory-version">
            <td><input type="radio" name="from" value=v.id.clone() checked=v.id == older aria-label="Compare from this version" /></td>
            <td><input type="radio" name="to" value=v.id.clone() checked=v.id == newer aria-label="Compare to this version" /></td>
            <td>{what}</td>
            <td>{by}</td>
            <td>{format::timestamp(&v.created_at)}</td>
            <td>{can_redact.then(|| view! {
                <Confirm label="Redact" consequence="This version's path and content are erased for good; who wrote it stays. The audit log records the redaction."
                    on_confirm=Callback::new(move |_| { redact.dispatch(RedactVersion { store_id: sid.clone(), version_id: vid.clone() }); }) pending=redact.pending() danger=true />
            })}</td>
        </tr>
    }
}
