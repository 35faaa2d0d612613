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

/// "Show archived" / "Hide archived" for the list at `path`, by its `include_archived` query.
#[component]
pub fn ArchivedToggle(path: &'static str) -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    move || {
        if query.read().get("include_archived").is_some_and(|v| v == "true") {
            view! { <A href=path attr:class="button secondary">"Hide archived"</A> }.into_any()
        } else {
            view! { <A href=format!("{path}?include_archived=true") attr:class="button secondary">"Show archived"</A> }
                .into_any()
        }
    }
}
