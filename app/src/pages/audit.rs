//! Audit: who did what, when, from where, and how it ended. Admins see everyone's entries; others
//! their own. Filters are a GET form, so a filtered view is a link; exports take the same filters.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

use crate::components::table_scroll::TableScroll;
use crate::{
    api::audit::{AuditQuery, Entry, list_audit},
    components::feedback::{Empty, Failure, Loading},
    format,
};

#[component]
pub fn Audit() -> impl IntoView {
    let query = use_query_map();
    let filter = move || {
        let q = query.read();
        AuditQuery {
            user: q.get("user").unwrap_or_default(),
            action: q.get("action").unwrap_or_default(),
            target: q.get("target").unwrap_or_default(),
            from: q.get("from").unwrap_or_default(),
            to: q.get("to").unwrap_or_default(),
            before: q.get("before").and_then(|b| b.parse().ok()),
            limit: None,
        }
    };
    let page = Resource::new(filter, list_audit);
    view! {
        <Title text="Audit" />
        <header class="page-header">
            <h1>"Audit"</h1>
            <p class="lede">"Every change and every decision: who, with which roles, when, from where, and how it ended. Entries cannot be edited or deleted here."</p>
        </header>
        {audit_filters(filter)}
        <Transition fallback=|| view! { <Loading what="the audit log" /> }>
            {move || Suspend::new(async move {
                let f = filter();
                let base = f.to_query_string();
                match page.await {
                    Err(error) => view! { <Failure error /> }.into_any(),
                    Ok(page) if page.entries.is_empty() => view! {
                        <Empty title="No entries match">
                            <p>{if page.everyone { "Nothing was recorded for these filters." } else { "You see your own actions only; none match these filters." }}</p>
                        </Empty>
                    }.into_any(),
                    Ok(page) => {
                        let export = |format: &str| {
                            if base.is_empty() { format!("/api/audit/export?format={format}") } else { format!("/api/audit/export?format={format}&{base}") }
                        };
                        let next = page.more.then(|| {
                            let last = page.entries.last().map(|e| e.id).unwrap_or_default();
                            if base.is_empty() { format!("/audit?before={last}") } else { format!("/audit?{base}&before={last}") }
                        });
                        view! {
                            <section class="panel">
                                <p class="actions">
                                    {if page.everyone { "Everyone's actions. " } else { "Your own actions. " }}
                                    <a href=export("csv") download="">"Export CSV"</a> " · " <a href=export("json") download="">"Export JSON"</a>
                                </p>
                                <TableScroll label="Audit log">
                                    <table class="list" data-testid="audit-log">
                                        <thead><tr>
                                            <th scope="col">"When"</th><th scope="col">"Who"</th><th scope="col">"Action"</th>
                                            <th scope="col">"Targets"</th><th scope="col">"Outcome"</th><th scope="col">"From"</th>
                                        </tr></thead>
                                        <tbody>
                                            {page.entries.into_iter().map(audit_row).collect_view()}
                                        </tbody>
                                    </table>
                                </TableScroll>
                                {next.map(|href| view! { <nav class="pager" aria-label="Pages"><A href="/audit">"← Newest"</A><A href=href attr:rel="next">"Older →"</A></nav> })}
                            </section>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

/// The log's filters: a GET form, so a filtered view is a link.
fn audit_filters(filter: impl Fn() -> AuditQuery + Copy + Send + Sync + 'static) -> impl IntoView {
    view! {
        <form method="get" action="/audit" class="panel filters" aria-label="Filter the audit log">
            <label>"User " <input name="user" value=move || filter().user size="12" /></label>
            <label>"Action " <input name="action" value=move || filter().action placeholder="sessions/decide or sessions/" size="18" /></label>
            <label>"Target " <input name="target" value=move || filter().target placeholder="an id" size="18" /></label>
            <label>"From " <input type="date" name="from" value=move || filter().from /></label>
            <label>"To " <input type="date" name="to" value=move || filter().to /></label>
            " " <button type="submit" class="button">"Filter"</button>
            " " <A href="/audit">"Clear"</A>
        </form>
    }
}

/// One entry of the log: when, who with which roles, the action and its detail, its targets,
/// how it ended, and from where.
fn audit_row(e: Entry) -> impl IntoView {
    let outcome_class = format!(
        "status status-{}",
        match e.outcome.as_str() {
            "ok" => "ok",
            "refused" => "refused",
            "pending" => "rescheduling",
            _ => "failed",
        }
    );
    view! {
        <tr data-action=e.action.clone()>
            <td><time datetime=e.at.clone()>{format::timestamp(&e.at)}</time></td>
            <td>{e.who.clone()}<br /><span class="muted">{e.roles.clone()}</span></td>
            <td><code>{e.action.clone()}</code>
                {(!e.detail.is_empty()).then(|| view! { <details><summary>"Detail"</summary><pre class="detail">{e.detail.clone()}</pre></details> })}</td>
            <td><code>{e.targets.clone()}</code></td>
            <td><span class=outcome_class title=(e.outcome == "pending").then_some("Written before the change was made; its outcome was never recorded (the server stopped while it ran).")>{e.outcome.clone()} " " {(e.status > 0).then_some(e.status)}</span>
                {(!e.error.is_empty()).then(|| view! { <br /><span class="muted">{e.error.clone()}</span> })}</td>
            <td>{e.from.clone()}<br /><span class="muted" title=e.user_agent.clone()>{if e.credential.is_empty() { crate::format::browser(&e.user_agent) } else { format!("API, {}", e.credential) }}</span></td>
        </tr>
    }
}
