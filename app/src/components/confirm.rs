//! A destructive action behind a second, explicit click.

use leptos::prelude::*;

/// A button that first asks "Really …?" with the consequence spelled out.
#[component]
pub fn Confirm(
    /// The button's label, e.g. "Archive".
    #[prop(into)]
    label: String,
    /// What will happen, e.g. "The agent becomes read-only and cannot start new sessions."
    #[prop(into)]
    consequence: String,
    on_confirm: Callback<()>,
    #[prop(into, optional)] pending: Signal<bool>,
    #[prop(optional)] danger: bool,
) -> impl IntoView {
    let asking = RwSignal::new(false);
    let class = if danger { "button danger" } else { "button" };
    let confirm_label = format!("Yes, {}", label.to_lowercase());
    view! {
        <span class="confirm">
            <Show
                when=move || asking.get()
                fallback={
                    let label = label.clone();
                    move || view! { <button type="button" class=class on:click=move |_| asking.set(true)>{label.clone()}</button> }
                }
            >
                <span class="confirm-box" role="group" aria-label="Confirm">
                    <span>{consequence.clone()}</span>
                    " "
                    <button
                        type="button"
                        class=class
                        disabled=move || pending.get()
                        on:click=move |_| {
                            on_confirm.run(());
                            asking.set(false);
                        }
                    >
                        {confirm_label.clone()}
                    </button>
                    " "
                    <button type="button" class="button secondary" on:click=move |_| asking.set(false)>"Cancel"</button>
                </span>
            </Show>
        </span>
    }
}
