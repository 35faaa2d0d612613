//! What the engine does with its resources, apart from HTTP: the `impl EngineState` methods the
//! handlers in `api/` and the runtime call. Handlers parse and answer; these check and store.
//!
//! One file per resource of the API (agents, deployments and their runs, environments, session
//! events, files, memory stores, sessions and their resources, skills, threads, vaults and their
//! credentials), and the parts several share (`multiagent`, `outcomes`). It holds no SQL: each
//! resource's rows are read and written by `store/<resource>.rs`, which this layer calls. Nothing
//! here imports `runtime`: the data the two share (an outcome run, a client's answer to a call)
//! is defined here, and a new or deleted session's runtime is reached only through the
//! `EngineState::runtime` / `stop_runtime` methods. Models have no file here: they are not
//! stored, and `model::catalog` lists them. The parts every list shares (`Paging`, `page`,
//! `list_archivable`) are below.

pub mod agents;
pub mod deployments;
pub mod environments;
pub mod events;
pub mod files;
pub mod memory;
pub mod multiagent;
pub mod outcomes;
pub mod sessions;
pub mod skills;
pub mod threads;
pub mod vaults;
pub mod work;

use serde_json::{Value, json};
use sqlx::sqlite::SqliteRow;

use crate::{
    EngineState,
    error::ApiResult,
    store::{Cursor, Filter, ListQuery, Order, json as json_text},
};

/// Which page of a list a client asked for: its order, its size and the cursor it starts after.
#[derive(Debug, Clone, Copy)]
pub struct Paging {
    pub order: Order,
    pub limit: i64,
    pub cursor: Option<Cursor>,
}

/// Bounds on a time as `name[gt|gte|lt|lte]` gives them: (comparison, microseconds).
pub type Ranges = Vec<(&'static str, i64)>;

impl Paging {
    /// The query of this page: `select` from `from` where `filters` hold, by `seq_column`.
    pub fn query(
        self,
        select: &'static str,
        from: &'static str,
        seq_column: &'static str,
        filters: Vec<Filter>,
    ) -> ListQuery {
        ListQuery { select, from, seq_column, filters, order: self.order, limit: self.limit, cursor: self.cursor }
    }
}

/// The conditions `ranges` put on the time in `column` (microseconds).
pub fn time_filters(ranges: Ranges, column: &'static str) -> impl Iterator<Item = Filter> {
    ranges.into_iter().map(move |(op, micros)| Filter::Cmp(column, op, micros))
}

/// A row's stored JSON body: its second column.
pub fn body_of(row: &SqliteRow) -> ApiResult<Value> {
    json_text(sqlx::Row::get(row, 1))
}

impl EngineState {
    /// Runs `query` and writes the page as the API does (`prev_page` too when `with_prev`), each
    /// row answered as `item` makes it.
    pub(crate) async fn page(
        &self,
        query: ListQuery,
        with_prev: bool,
        item: impl Fn(&SqliteRow) -> ApiResult<Value>,
    ) -> ApiResult<Value> {
        let rows = self.store.list(query).await?;
        let data = rows.rows.iter().map(item).collect::<ApiResult<Vec<_>>>()?;
        let mut page = json!({ "data": data, "next_page": rows.next_page });
        if with_prev {
            page["prev_page"] = json!(rows.prev_page);
        }
        Ok(page)
    }

    /// One page of a resource kept as `(seq, body)` rows with an `archived` flag, as
    /// environments, memory stores, vaults and credentials are: archived rows only when
    /// `include_archived`.
    pub(crate) async fn list_archivable(
        &self,
        from: &'static str,
        mut filters: Vec<Filter>,
        include_archived: bool,
        paging: Paging,
    ) -> ApiResult<Value> {
        if !include_archived {
            filters.push(Filter::Sql("archived = 0"));
        }
        self.page(paging.query("seq, body", from, "seq", filters), false, body_of).await
    }
}
