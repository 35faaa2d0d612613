//! Loading, empty and error states: designed, never a blank panel.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::error::{AppError, ErrorKind};

/// A panel while data loads.
#[component]
pub fn Loading(#[prop(into)] what: String) -> impl IntoView {
    view! {
        <section class="panel loading" aria-busy="true">
            <p class="muted">{format!("Loading {what}…")}</p>
        </section>
    }
}

/// A list with nothing in it: says why and what to do.
#[component]
pub fn Empty(#[prop(into)] title: String, children: Children) -> impl IntoView {
    view! {
        <section class="panel empty-state">
            <h2>{title}</h2>
            {children()}
        </section>
    }
}

/// A failed load. On the server it also sets the page's status, so a link to something that
/// does not exist is a real 404.
#[component]
pub fn Failure(
    error: AppError,
    #[prop(optional, into)] back: Option<(String, String)>,
    /// A failed part of a page that otherwise works: the page keeps its status.
    #[prop(optional)]
    inline: bool,
) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if !inline && let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::from_u16(error.status()).unwrap_or(http::StatusCode::BAD_GATEWAY));
    }
    #[cfg(not(feature = "ssr"))]
    let _ = inline;
    let title = match error.kind {
        ErrorKind::NotFound => "Not found",
        ErrorKind::KeyRejected => "The upstream refused Switchboard's key",
        ErrorKind::RateLimited => "Rate limited",
        ErrorKind::Unavailable => "The upstream API is not available",
        ErrorKind::BadInput | ErrorKind::Conflict => "The request was refused",
        ErrorKind::Internal => "Something went wrong in Switchboard",
        ErrorKind::SignedOut => "Sign in again",
        ErrorKind::Forbidden => "Not allowed for your roles",
        ErrorKind::TooLarge => "Too large",
    };
    // Back to this very page once signed in (a notification's link keeps its call and token).
    let sign_in = (error.kind == ErrorKind::SignedOut).then(|| {
        let here = leptos_router::hooks::use_location();
        let (path, search) = (here.pathname.get_untracked(), here.search.get_untracked());
        let query = search.trim_start_matches('?');
        let next = if query.is_empty() { path } else { format!("{path}?{query}") };
        let href = format!("/login?next={}", crate::format::query_value(&next));
        view! { <p><a href=href data-testid="sign-in">"Sign in"</a></p> }
    });
    view! {
        <section class="panel error" role="alert" data-testid="failure">
            <h2>{title}</h2>
            <p>{error.to_string()}</p>
            {sign_in}
            {back.map(|(href, label)| view! { <p><A href=href>{label}</A></p> })}
        </section>
    }
}

/// A page whose object could not be loaded (a missing id, a failed upstream): the page's title,
/// its heading, and the failure with a link back to the list.
#[component]
pub fn MissingPage(
    /// "Agent", "Vault": the page's title becomes "Agent not found".
    #[prop(into)]
    what: String,
    #[prop(into)] heading: String,
    error: AppError,
    /// The list to go back to, and its label.
    back: (&'static str, &'static str),
) -> impl IntoView {
    view! {
        <Title text=format!("{what} not found") />
        <header class="page-header"><h1>{heading}</h1></header>
        <Failure error back=(back.0.to_owned(), back.1.to_owned()) />
    }
}

/// An error next to the form or button it is about.
#[component]
pub fn InlineError(error: Signal<Option<AppError>>) -> impl IntoView {
    move || {
        error.get().map(|e| {
            view! { <p class="inline-error" role="alert">{e.to_string()}</p> }
        })
    }
}
