//! Picking ids from lists instead of typing them: files, vaults and memory stores.

use leptos::prelude::*;

use crate::api::Choice;

/// Checkboxes in a fieldset that pick ids from `choices`, with a search box that narrows them by
/// name or id once there are more than a few. An id of `chosen` the choices lack (beyond the
/// picker's reach) is listed too, checked, so that saving an edit keeps it.
#[component]
pub fn IdChecks(
    /// The form field each checked box sends, e.g. `form[vault_ids][]`.
    name: &'static str,
    #[prop(into)] legend: String,
    choices: Vec<Choice>,
    chosen: Vec<String>,
    empty: &'static str,
) -> impl IntoView {
    let mut all = choices;
    for id in &chosen {
        if !all.iter().any(|c| &c.id == id) {
            all.push(Choice { id: id.clone(), label: id.clone() });
        }
    }
    let search = RwSignal::new(String::new());
    let searchable = all.len() > 5;
    let label = legend.clone();
    let boxes = if all.is_empty() {
        view! { <p class="muted">{empty}</p> }.into_any()
    } else {
        all.into_iter()
            .map(|c| {
                let checked = chosen.contains(&c.id);
                let haystack = format!("{} {}", c.label, c.id).to_lowercase();
                let hidden = move || {
                    let wanted = search.get().trim().to_lowercase();
                    !wanted.is_empty() && !haystack.contains(&wanted)
                };
                view! {
                    <label class="check" class:hidden=hidden>
                        <input type="checkbox" name=name value=c.id.clone() checked=checked />" " {c.label}
                        " " <code class="muted">{c.id.clone()}</code>
                    </label>
                }
            })
            .collect_view()
            .into_any()
    };
    view! {
        <fieldset class="picker">
            <legend>{legend}</legend>
            {searchable.then(|| view! {
                <input type="search" class="picker-search" placeholder="Search by name or id" aria-label=format!("Search {}", label.to_lowercase())
                    on:input=move |ev| search.set(event_target_value(&ev)) />
            })}
            {boxes}
        </fieldset>
    }
}
