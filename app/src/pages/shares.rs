//! Share links: the form that makes one (on the session page), the page a link opens for its
//! audience (`/share/{token}`, no account needed), and the Shared links page that lists and
//! revokes them (`/shares`).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::A,
    hooks::{use_params_map, use_query_map},
};

use crate::components::table_scroll::TableScroll;
use crate::{
    api::shares::{CreateShare, MAX_HOURS, RevokeShare, ShareRow, get_share_first_screen, list_shares, open_share},
    components::{
        confirm::Confirm,
        feedback::{Empty, Failure, InlineError, Loading},
    },
    format,
};

/// How long a link lasts: the choices of the form, in hours.
const LIFETIMES: [(u32, &str); 5] =
    [(1, "1 hour"), (24, "1 day"), (7 * 24, "7 days"), (14 * 24, "14 days"), (MAX_HOURS, "30 days")];

/// The session page's "Share" panel: a read-only link, with its expiry, live or as a snapshot,
/// and what it hides. The address is shown once, here.
#[component]
pub fn ShareSession(#[prop(into)] session_id: String) -> impl IntoView {
    let create = ServerAction::<CreateShare>::new();
    let error = Signal::derive(move || create.value().get().and_then(Result::err));
    let made = move || create.value().get().and_then(Result::ok);
    view! {
        <section class="panel" aria-labelledby="share">
            <h2 id="share">"Share read-only"</h2>
            <p class="muted">"Anyone with the link sees this session in the presenter layout, without an account, until it expires or you revoke it on "
                <A href="/shares">"Shared links"</A> "."</p>
            <ActionForm action=create attr:class="inline-form" attr:data-testid="share-form">
                <input type="hidden" name="form[session_id]" value=session_id />
                <label>"Lasts " <select name="form[hours]">
                    {LIFETIMES.into_iter().map(|(hours, label)| view! { <option value=hours.to_string() selected=hours == 24>{label}</option> }).collect_view()}
                </select></label>
                " " <label>"Shows " <select name="form[mode]">
                    <option value="live" selected=true>"the session live"</option>
                    <option value="snapshot">"a snapshot (its events until now)"</option>
                </select></label>
                " " <label class="check"><input type="checkbox" name="form[hide_tools]" />" Hide tool inputs and outputs"</label>
                " " <label class="check"><input type="checkbox" name="form[mask_secrets]" checked=true />" Mask values that look like secrets"</label>
                " " <button type="submit" class="button" disabled=move || create.pending().get()>"Make a link"</button>
            </ActionForm>
            <InlineError error />
            {move || made().map(|made| {
                let path = made.path.clone();
                let copied = RwSignal::new(false);
                view! {
                    <div class="share-made" role="status" data-testid="share-made">
                        <p>"Copy the link now: Switchboard keeps only its hash and cannot show it again. It works until "
                            {format::timestamp(&made.expires_at)} "."</p>
                        <input readonly=true data-testid="share-link" aria-label="The share link's address" value=path.clone()
                            prop:value=move || share_address(&made.path) on:focus=move |ev| select_all(&ev) />
                        " " <button type="button" class="button" on:click=move |_| { crate::components::copy_link(&path); copied.set(true); }>
                            {move || if copied.get() { "Copied" } else { "Copy the link" }}
                        </button>
                    </div>
                }
            })}
        </section>
    }
}

/// The link's whole address, in the browser (the server knows only the path).
fn share_address(path: &str) -> String {
    #[cfg(feature = "hydrate")]
    {
        format!("{}{path}", window().location().origin().unwrap_or_default())
    }
    #[cfg(not(feature = "hydrate"))]
    path.to_owned()
}

fn select_all(_ev: &leptos::ev::FocusEvent) {
    #[cfg(feature = "hydrate")]
    if let Some(input) = _ev.target().and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlInputElement>(t).ok())
    {
        input.select();
    }
}

/// `/share/{token}`: the session for a link's audience, in the presenter layout; or, for a link
/// that does not open (mistyped, revoked, expired), why, in words.
#[component]
pub fn Shared() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let token = move || params.read().get("token").unwrap_or_default();
    let shared = Resource::new(token, open_share);
    let event = move || query.read_untracked().get("event").filter(|e| !e.is_empty());
    // The timeline's first screen is read beside the link, not once the link is in.
    let first_screen = crate::live::read_first_screen(token, event, get_share_first_screen);
    view! {
        <Suspense fallback=|| view! { <Loading what="the shared session" /> }>
            {move || Suspend::new(async move {
                match shared.await {
                    Err(error) => view! {
                        <Title text="Share link" />
                        <div class="share-closed" data-testid="share-closed">
                            <h1>"This link does not open"</h1>
                            <Failure error />
                        </div>
                    }.into_any(),
                    Ok(session) => {
                        let mut note = match &session.snapshot_at {
                            Some(at) => format!("Shared read-only: a snapshot of {}.", format::timestamp(at)),
                            None => "Shared read-only, live.".to_owned(),
                        };
                        let hidden = session.redaction_in_words();
                        if !hidden.is_empty() {
                            note.push(' ');
                            note.push_str(&hidden);
                        }
                        note.push_str(&format!(" The link works until {}.", format::timestamp(&session.expires_at)));
                        view! {
                            <Title text=format!("{} (shared)", session.title) />
                            <crate::live::PresentSession session_id=String::new() title=session.title agent=session.agent event=event()
                                source=format!("/api/shares/{}", token()) exit=None note first_screen=Some(first_screen) />
                        }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

/// `/shares`: every link, its views and its state; its maker or an admin revokes it.
#[component]
pub fn SharesList() -> impl IntoView {
    let revoke = ServerAction::<RevokeShare>::new();
    let revoked = crate::actions::successes(revoke);
    let shares = Resource::new(move || revoked.get(), |_| list_shares());
    let error = Signal::derive(move || revoke.value().get().and_then(Result::err));
    let me = use_context::<crate::me::Me>();
    view! {
        <Title text="Shared links" />
        <header class="page-header">
            <h1>"Shared links"</h1>
            <p class="lede">"Every read-only link to a session, with how often it was opened. Revoking a link closes it at once, for viewers who have it open too. Make links on a session's page."</p>
        </header>
        <InlineError error />
        <Transition fallback=|| view! { <Loading what="the shared links" /> }>
            {move || Suspend::new(async move {
                let principal = match me { Some(me) => me.0.await.ok().flatten(), None => None };
                match shares.await {
                    Err(error) => view! { <Failure error /> }.into_any(),
                    Ok(rows) if rows.is_empty() => view! {
                        <Empty title="No session is shared">
                            <p>"Open a session and use "<strong>"Share read-only"</strong>" to make a link for someone without an account."</p>
                        </Empty>
                    }.into_any(),
                    Ok(rows) => view! {
                        <section class="panel">
                            <TableScroll label="Share links">
                                <table class="list" data-testid="shares">
                                    <thead><tr><th scope="col">"Session"</th><th scope="col">"Made"</th><th scope="col">"Shows"</th><th scope="col">"Views"</th><th scope="col">"State"</th><th scope="col">"Revoke"</th></tr></thead>
                                    <tbody>
                                        {rows.into_iter().map(|row| {
                                            let may_revoke = principal.as_ref().is_some_and(|p| {
                                                p.can(crate::auth::Role::Admin) || (p.username == row.created_by && p.can(crate::auth::Role::Operator))
                                            });
                                            view! { <ShareLine row may_revoke revoke /> }
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

#[component]
fn ShareLine(row: ShareRow, may_revoke: bool, revoke: ServerAction<RevokeShare>) -> impl IntoView {
    let shows = {
        let mut parts = vec![match &row.snapshot_at {
            Some(at) => format!("a snapshot of {}", format::timestamp(at)),
            None => "live".to_owned(),
        }];
        if row.hide_tools {
            parts.push("tools hidden".to_owned());
        }
        if row.mask_secrets {
            parts.push("secrets masked".to_owned());
        }
        parts.join(", ")
    };
    let state = match row.state.as_str() {
        "revoked" => format!(
            "Revoked {}{}",
            row.revoked_at.as_deref().map(format::timestamp).unwrap_or_default(),
            row.revoked_by.as_deref().map(|by| format!(" by {by}")).unwrap_or_default()
        ),
        "expired" => format!("Expired {}", format::timestamp(&row.expires_at)),
        _ => format!("Until {}", format::timestamp(&row.expires_at)),
    };
    let active = row.state == "active";
    let id = row.id.clone();
    let last = row.last_viewed_at.as_deref().map(|at| format!(", last {}", format::timestamp(at))).unwrap_or_default();
    view! {
        <tr data-testid="share-row" data-state=row.state.clone()>
            <td><A href=format!("/sessions/{}", row.session_id)>{row.title.clone()}</A></td>
            <td>{format!("{} by {}", format::timestamp(&row.created_at), row.created_by)}</td>
            <td>{shows}</td>
            <td data-testid="share-views">{format!("{}{last}", format::count(row.views))}</td>
            <td>{state}</td>
            <td>{(active && may_revoke).then(|| view! {
                <Confirm label="Revoke" consequence="The link stops working at once, for people who have it open too."
                    on_confirm=Callback::new(move |_| { revoke.dispatch(RevokeShare { id: id.clone() }); }) pending=revoke.pending() danger=true />
            })}</td>
        </tr>
    }
}
