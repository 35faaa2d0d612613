use leptos::prelude::*;
use leptos_router::components::A;

use crate::pages::Section;

/// The console's navigation. `A` marks the current page with `aria-current="page"`.
#[component]
pub fn Sidebar() -> impl IntoView {
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <nav class="sidebar" aria-label="Console">
            <A href="/" attr:class="brand">
                <span class="brand-mark" aria-hidden="true">"◧"</span>
                " Switchboard"
            </A>
            <ul>
                <li><A href="/" exact=true>"Overview"</A></li>
                {Section::ALL
                    .iter()
                    .map(|section| view! { <li><A href=section.path()>{section.title()}</A></li> })
                    .collect_view()}
            </ul>
        </nav>
    }
}
