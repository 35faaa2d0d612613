//! The page for an address the console does not have.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

/// Shown for any path the console does not know, with a real 404 status on the server.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Page not found" />
        <header class="page-header"><h1>"Page not found"</h1></header>
        <section class="panel empty-state">
            <p>"There is no page at this address. It may have been mistyped, or the link is from an older version of Switchboard."</p>
            <p><A href="/">"Go to the overview"</A></p>
        </section>
    }
}
