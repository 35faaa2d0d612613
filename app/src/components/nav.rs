//! The sidebar: the console's sections, the inbox's count, who is signed in and the workspace.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::{
    auth::Principal,
    components::{inbox::InboxFeed, section::Section},
    me::Me,
};

/// The console's navigation, and who is signed in. `A` marks the current page with
/// `aria-current="page"`. Signed out (the login and setup pages), only the name shows.
///
/// In a workspace other than the default, the page's address names it (`?workspace=staging`, put in
/// with `history.replaceState` once the page is live and after each navigation), so that an
/// address copied from the browser opens the same workspace: the server reads it
/// (`tenancy::workspaces::select`), as it does for notifications' links.
#[cfg(feature = "hydrate")]
fn keep_workspace_in_address(place: Resource<Result<crate::api::workspaces::Place, crate::error::AppError>>) {
    let location = leptos_router::hooks::use_location();
    Effect::new(move |_| {
        // Again after each navigation: the router writes the address without it.
        let _ = (location.pathname.get(), location.search.get());
        let Some(Ok(place)) = place.get() else { return };
        if place.current.id == crate::api::workspaces::DEFAULT_ID {
            return;
        }
        let Some(window) = web_sys::window() else { return };
        let here = window.location();
        let (Ok(path), Ok(search), Ok(hash)) = (here.pathname(), here.search(), here.hash()) else { return };
        if search.trim_start_matches('?').split('&').any(|pair| pair.starts_with("workspace=")) {
            return;
        }
        let join = if search.is_empty() { "?" } else { "&" };
        let address = format!("{path}{search}{join}workspace={}{hash}", crate::format::query_value(&place.current.id));
        if let Ok(history) = window.history() {
            let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&address));
        }
    });
}

/// On a narrow screen (a phone) the navigation is one bar: the name, the Inbox with its count,
/// and a "Menu" button that opens the rest; following a link closes it again.
#[component]
pub fn Sidebar() -> impl IntoView {
    let me = use_context::<Me>().expect("App provides Me");
    let inbox = use_context::<InboxFeed>().expect("App provides the inbox feed");
    let place = use_context::<crate::me::Workspace>().expect("App provides the workspace").0;
    // How many calls wait: on the Inbox link, once the tab's inbox stream has said.
    let count = move || {
        let n = inbox.count();
        (n > 0)
            .then(|| if n == 1 { "1 call waits".to_owned() } else { format!("{n} calls wait") })
            .map(|label| (n, label))
    };
    let badge = move || {
        count().map(|(n, label)| {
            view! { " " <span class="badge count" data-testid="inbox-badge" title=label.clone() aria-label=label>{n}</span> }
        })
    };
    #[cfg(feature = "hydrate")]
    keep_workspace_in_address(place);
    // Closed by any link followed from the bar or the menu.
    let open = RwSignal::new(false);
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <nav class="sidebar" aria-label="Console">
            // Without JavaScript the "Menu" button could not open anything: the menu stays open.
            <noscript><style>".sidebar .menu { display: block !important; } .sidebar .menu-toggle { display: none !important; }"</style></noscript>
            <div class="bar">
                <A href="/" attr:class="brand" on:click=move |_| open.set(false)>
                    <span class="brand-mark" aria-hidden="true">"◧"</span>
                    " Switchboard"
                </A>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        let principal = me.0.await.ok().flatten();
                        principal.map(|p| bar_buttons(&p, open, count))
                    })}
                </Transition>
            </div>
            // A link followed from the open menu closes it (the path may not even change).
            <div id="console-menu" class="menu" class:open=move || open.get() on:click=move |_| open.set(false)>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        let principal = me.0.await.ok().flatten();
                        // Awaited here rather than in a `Transition` of the switch's own: a
                        // boundary made inside this one is made at another moment on the
                        // server than while hydrating, and shifted the numbers the page's
                        // resources are matched by (the Settings page failed to hydrate).
                        let place = place.await.ok();
                        principal.map(|p| menu(&p, place, badge))
                    })}
                </Transition>
            </div>
        </nav>
    }
}

/// The bar's buttons for someone signed in: the Inbox with its count (on a phone it is what
/// people come for), and the button that opens the menu.
fn bar_buttons<C>(p: &Principal, open: RwSignal<bool>, count: C) -> impl IntoView + use<C>
where
    C: Fn() -> Option<(usize, String)> + Copy + Send + Sync + 'static,
{
    let inbox_link = p.can(Section::Inbox.needs()).then(|| view! {
        <A href=Section::Inbox.path() attr:class="quick-inbox" on:click=move |_| open.set(false)>
            {Section::Inbox.title()}
            {move || count().map(|(n, label)| view! { " " <span class="badge count" title=label.clone() aria-label=label>{n}</span> })}
        </A>
    });
    view! {
        {inbox_link}
        <button type="button" class="menu-toggle button" data-testid="menu-toggle" aria-controls="console-menu"
            aria-expanded=move || open.get().to_string() on:click=move |_| open.update(|o| *o = !*o)>
            {move || if open.get() { "Close" } else { "Menu" }}
        </button>
    }
}

/// The menu for someone signed in: the sections they may open (the Inbox with its count), the
/// workspace switch, and who is signed in with Sign out.
fn menu<B, V>(p: &Principal, place: Option<crate::api::workspaces::Place>, badge: B) -> impl IntoView + use<B, V>
where
    B: Fn() -> V + Copy + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let sections = Section::ALL.into_iter().filter(|s| p.can(s.needs())).collect::<Vec<_>>();
    let label = p.label();
    view! {
        <ul>
            <li><A href="/" exact=true>"Overview"</A></li>
            {sections.into_iter()
                .map(|section| {
                    let badge = (section == Section::Inbox).then_some(badge);
                    view! { <li><A href=section.path()>{section.title()}{badge}</A></li> }
                })
                .collect_view()}
        </ul>
        {workspace_switch(place)}
        <div class="signed-in" data-testid="signed-in">
            <p><A href="/account" attr:title="Your password and sign-ins"><strong>{label.clone()}</strong></A><br /><span class="muted">{crate::auth::roles_text(&p.roles)}</span></p>
            <form method="post" action="/auth/logout">
                <button type="submit" class="button">"Sign out"</button>
            </form>
        </div>
    }
}

/// The workspace of the page, and a switch to the others the person may open (shown only when
/// there is more than one). A plain form: it works before the page hydrates, and the server
/// checks the choice again (`POST /auth/workspace`).
fn workspace_switch(place: Option<crate::api::workspaces::Place>) -> Option<impl IntoView> {
    let place = place.filter(|p| p.choices.len() > 1)?;
    let current = place.current.id.clone();
    Some(view! {
        <form class="workspace-switch" method="post" action="/auth/workspace" data-testid="workspace-switch">
            <label for="workspace-choice">"Workspace"</label>
            <select id="workspace-choice" name="workspace">
                {place.choices.into_iter().map(|c| {
                    let selected = c.id == current;
                    view! { <option value=c.id selected=selected>{c.name}</option> }
                }).collect_view()}
            </select>
            <button type="submit" class="button small">"Switch"</button>
        </form>
    })
}
