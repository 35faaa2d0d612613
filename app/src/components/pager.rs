//! Pagination with the API's cursors. The cursor rides in the page's query string, so every page
//! of a list is a link that works on its own.

use leptos::prelude::*;
use leptos_router::components::A;

/// "First page" and "Next page" links. `base` is the list's query without `page`.
#[component]
pub fn Pager(#[prop(into)] base: String, next: Option<String>, on_first: bool) -> impl IntoView {
    let link = move |page: Option<&str>| {
        let mut query: Vec<String> = base.split('&').filter(|p| !p.is_empty()).map(str::to_owned).collect();
        if let Some(page) = page {
            query.push(format!("page={}", crate::format::query_value(page)));
        }
        if query.is_empty() { "?".to_owned() } else { format!("?{}", query.join("&")) }
    };
    let first = link(None);
    let next = next.map(|cursor| link(Some(&cursor)));
    (next.is_some() || !on_first).then(|| {
        view! {
            <nav class="pager" aria-label="Pages">
                {(!on_first).then(|| view! { <A href=first.clone()>"← First page"</A> })}
                {next.map(|href| view! { <A href=href attr:rel="next">"Next page →"</A> })}
            </nav>
        }
    })
}

fn is_on(query: &leptos_router::params::ParamsMap, key: &str) -> bool {
    query.get(key).is_some_and(|v| v == "true")
}

/// The list at `path` with the toggle `key` (`include_archived` or `mine`) flipped and the other
/// kept (the page's cursor is dropped: it belongs to the list as it was).
fn flipped(path: &str, query: &leptos_router::params::ParamsMap, key: &str) -> String {
    let on = |toggle: &str| is_on(query, toggle) != (toggle == key);
    match list_query(on("include_archived"), on("mine")) {
        toggles if toggles.is_empty() => path.to_owned(),
        toggles => format!("{path}?{toggles}"),
    }
}

/// A list's query of its toggles without `page`, for its pager: `include_archived=true&mine=true`.
pub fn list_query(archived: bool, mine: bool) -> String {
    let on: Vec<&str> = [("include_archived=true", archived), ("mine=true", mine)]
        .into_iter()
        .filter(|(_, on)| *on)
        .map(|(k, _)| k)
        .collect();
    on.join("&")
}

/// "Show archived" / "Hide archived" for the list at `path`, by its `include_archived` query
/// (its "Mine" kept).
#[component]
pub fn ArchivedToggle(path: &'static str) -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    move || {
        let query = query.read();
        let label = if is_on(&query, "include_archived") { "Hide archived" } else { "Show archived" };
        view! { <A href=flipped(path, &query, "include_archived") attr:class="button secondary">{label}</A> }
    }
}

/// "Mine" / "Everyone's" for the list at `path`, by its `mine` query: only what the person made
/// through Switchboard (its "Show archived" kept). A link, like "Show archived": its words say
/// where it leads (a link may not carry `aria-pressed`).
#[component]
pub fn MineToggle(path: &'static str) -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    move || {
        let query = query.read();
        let mine = is_on(&query, "mine");
        let (label, title) = if mine {
            ("Everyone's", "Show what everyone made")
        } else {
            ("Mine", "Show only what you made through Switchboard")
        };
        view! {
            <A href=flipped(path, &query, "mine") attr:class="button secondary" attr:title=title>{label}</A>
        }
    }
}
