//! A wide table's frame: on a phone the table scrolls sideways inside it, and the frame is a
//! named region a keyboard can focus, so that it can be scrolled without a pointer (axe's
//! `scrollable-region-focusable`).

use leptos::prelude::*;

#[component]
pub fn TableScroll(
    /// What the table is, as a screen reader names the region: "Audit log".
    #[prop(into)]
    label: String,
    children: Children,
) -> impl IntoView {
    view! { <div class="table-scroll" role="region" aria-label=label tabindex="0">{children()}</div> }
}
