//! Lines that differ between two texts, as the diff server functions answer them.

use leptos::prelude::*;

use crate::api::diff::DiffLine;

/// A diff: removed lines, added lines, context, and a gap mark where unchanged lines are left out.
#[component]
pub fn Diff(lines: Vec<DiffLine>) -> impl IntoView {
    view! {
        <pre class="diff">{lines.into_iter().map(|l| {
            let class = match l.sign { '+' => "added", '-' => "removed", '…' => "gap", _ => "same" };
            view! { <span class=class>{format!("{} {}\n", l.sign, l.text)}</span> }
        }).collect_view()}</pre>
    }
}
