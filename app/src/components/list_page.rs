//! The scaffold of a list page (`/agents`, `/sessions`, `/vaults`…): its title and header with
//! the page's actions, whatever the page puts between header and list (a form, filters, tabs),
//! then the list itself, in each of its states: loading, failed, designed empty state, or a table
//! of one page of rows with the pager under it.

use std::sync::Arc;

use leptos::prelude::*;
use leptos_meta::Title;
use protocol::common::Page;

use crate::components::table_scroll::TableScroll;
use crate::{
    components::{
        feedback::{Empty, Failure, Loading},
        pager::Pager,
    },
    error::AppError,
};

/// A column of a list's table: its heading, and whether it holds numbers (`class="num"`).
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub label: &'static str,
    pub numeric: bool,
}

impl Column {
    /// A column of words.
    pub const fn text(label: &'static str) -> Self {
        Column { label, numeric: false }
    }

    /// A column of numbers, aligned to the right.
    pub const fn num(label: &'static str) -> Self {
        Column { label, numeric: true }
    }
}

/// A list page. `list` is read inside the page's one `Transition`; `empty_title`, `empty`,
/// `pager_base` and `first_page` are read when the rows have arrived, in that same reactive
/// closure, so a page that reads its query there still follows it.
#[component]
pub fn ListPage<T, R, V, B, F>(
    /// The page's title and heading: "Agents". Lower-cased, it names what is loading.
    title: &'static str,
    /// The sentence under the heading.
    lede: &'static str,
    /// The header's buttons, in a `div.actions`; a page without any leaves it out.
    #[prop(optional, into)]
    actions: Option<ViewFn>,
    /// What stands between the header and the list: a form, filters, tabs.
    #[prop(optional)]
    children: Option<Children>,
    /// One page of the list.
    list: Resource<Result<Page<T>, AppError>>,
    /// The table's `data-testid`, which the browser tests find it by.
    testid: &'static str,
    /// The table's columns.
    columns: &'static [Column],
    /// One row of the table (`<tr>`).
    row: R,
    /// The empty state's heading.
    #[prop(into)]
    empty_title: Signal<String>,
    /// The empty state's text: what the list would hold, and how to start it.
    #[prop(into)]
    empty: ViewFn,
    /// The list's query without `page`, for the pager's links.
    pager_base: B,
    /// Whether this is the list's first page.
    first_page: F,
) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
    R: Fn(T) -> V + Send + Sync + 'static,
    V: IntoView + 'static,
    B: Fn() -> String + Send + Sync + 'static,
    F: Fn() -> bool + Send + Sync + 'static,
{
    let (row, pager_base, first_page) = (Arc::new(row), Arc::new(pager_base), Arc::new(first_page));
    let loading = title.to_lowercase();
    let region = title.to_string();
    view! {
        <Title text=title />
        <header class="page-header">
            <h1>{title}</h1>
            <p class="lede">{lede}</p>
            {actions.map(|actions| view! { <div class="actions">{actions.run()}</div> })}
        </header>
        {children.map(|children| children())}
        <Transition fallback=move || view! { <Loading what=loading.clone() /> }>
            {move || {
                let (row, pager_base, first_page, empty) = (row.clone(), pager_base.clone(), first_page.clone(), empty.clone());
                let region = region.clone();
                Suspend::new(async move {
                    match list.await {
                        Err(error) => view! { <Failure error /> }.into_any(),
                        Ok(page) if page.data.is_empty() => view! {
                            <Empty title=empty_title.get()>{empty.run()}</Empty>
                        }.into_any(),
                        Ok(page) => view! {
                            <section class="panel">
                                <TableScroll label=region>
                                    <table class="list" data-testid=testid>
                                        <thead><tr>{columns.iter().map(|c| column_head(*c)).collect_view()}</tr></thead>
                                        <tbody>{page.data.into_iter().map(|item| row(item)).collect_view()}</tbody>
                                    </table>
                                </TableScroll>
                                <Pager base=pager_base() next=page.next_page on_first=first_page() />
                            </section>
                        }.into_any(),
                    }
                })
            }}
        </Transition>
    }
}

/// A column's `<th>`.
fn column_head(column: Column) -> AnyView {
    if column.numeric {
        view! { <th scope="col" class="num">{column.label}</th> }.into_any()
    } else {
        view! { <th scope="col">{column.label}</th> }.into_any()
    }
}

/// A list's "Created by" cell: the username, with an "API" badge (naming the token in its title)
/// when it came through Switchboard's API; a dash for what Switchboard has no record of.
pub fn created_by_cell(creator: Option<domain::creators::Creator>) -> AnyView {
    match creator {
        None => view! {
            <td class="muted" title="Made outside Switchboard, by a schedule, or before Switchboard kept the record">"—"</td>
        }
        .into_any(),
        Some(creator) => view! {
            <td data-testid="created-by">
                {creator.username}
                {creator.via.map(|via| view! { " " <span class="badge" title=format!("Through {via}")>"API"</span> })}
            </td>
        }
        .into_any(),
    }
}
