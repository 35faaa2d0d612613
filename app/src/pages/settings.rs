//! Settings: which upstream, and a connection check against it.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    api::settings::ConnectionCheck,
    api::upstream::get_upstream_summary,
    components::feedback::InlineError,
    components::feedback::{Failure, Loading},
    pages::overview::UpstreamPanel,
};

#[component]
pub fn Settings() -> impl IntoView {
    let summary = Resource::new(|| (), |_| get_upstream_summary());
    let check = ServerAction::<ConnectionCheck>::new();
    let error = Signal::derive(move || check.value().get().and_then(Result::err));
    view! {
        <Title text="Settings" />
        <header class="page-header">
            <h1>"Settings"</h1>
            <p class="lede">"The upstream this Switchboard talks to, and whether it answers."</p>
        </header>
        <Suspense fallback=|| view! { <Loading what="the upstream settings" /> }>
            {move || Suspend::new(async move {
                match summary.await {
                    Ok(summary) => view! { <UpstreamPanel summary /> }.into_any(),
                    Err(error) => view! { <Failure error=crate::error::AppError::internal(error.to_string()) /> }.into_any(),
                }
            })}
        </Suspense>
        <section class="panel" aria-labelledby="check">
            <h2 id="check">"Connection check"</h2>
            <p>"Sends one list request per resource with Switchboard's key and reports what came back and how long it took."</p>
            <ActionForm action=check>
                <button type="submit" class="button primary" disabled=move || check.pending().get()>
                    {move || if check.pending().get() { "Checking…" } else { "Run the connection check" }}
                </button>
            </ActionForm>
            <InlineError error />
            {move || check.value().get().and_then(Result::ok).map(|checks| view! {
                <table class="list" data-testid="connection-check">
                    <thead><tr><th scope="col">"Check"</th><th scope="col">"Result"</th><th scope="col" class="num">"Time"</th><th scope="col">"Detail"</th></tr></thead>
                    <tbody>
                        {checks.into_iter().map(|c| view! {
                            <tr>
                                <td>{c.name}</td>
                                <td><span class=if c.ok { "status status-ok" } else { "status status-failed" }>{if c.ok { "ok" } else { "failed" }}</span></td>
                                <td class="num">{format!("{} ms", c.millis)}</td>
                                <td>{c.detail}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            })}
        </section>
    }
}
