//! Server functions: the browser's only way to reach server state. Each one is a public HTTP
//! endpoint; reads are GET, everything that changes something is POST. They stay thin: check the
//! input, call the upstream, say what went wrong in words. Who may call each is declared on it
//! with `#[access(Role)]` ([`access`]): the server's access table is built from those, and the
//! function checks its rule again when a page calls it while rendering on the server.

/// [`server::MadeBy`] for a list's row that has an `id`, a `created_by` and an `archived` flag
/// (or, second form, says whether it is archived by the expression given of the row).
macro_rules! made_by {
    ($row:ty) => {
        made_by!($row, |row| row.archived);
    };
    ($row:ty, |$this:ident| $archived:expr) => {
        #[cfg(feature = "ssr")]
        impl $crate::api::server::MadeBy for $row {
            fn id(&self) -> &str {
                &self.id
            }
            fn archived(&self) -> bool {
                let $this = self;
                $archived
            }
            fn made_by(&mut self) -> &mut Option<domain::creators::Creator> {
                &mut self.created_by
            }
        }
    };
}

pub mod access;
pub mod agents;
pub mod audit;
pub mod auth;
pub mod deployments;
pub mod diff;
pub mod environments;
pub mod files;
pub mod imports;
pub mod inbox;
pub mod live;
pub mod memory;
pub mod models;
pub mod notify;
pub mod overview;
pub mod policies;
pub mod rules;
pub mod sessions;
pub mod settings;
pub mod shares;
pub mod skills;
pub mod slack;
pub mod tokens;
pub mod upstream;
pub mod vaults;
pub mod work;
pub mod workspaces;

use leptos::server_fn::{Bytes, ContentType, Decodes, Encodes, Format, FormatType, codec::Post};
use serde::{Serialize, de::DeserializeOwned};

/// What every server function answers: JSON, as `server_fn`'s own `Json`, but decoded in the
/// browser from text (`serde_json::from_str`) rather than bytes. Leptos decodes the data it puts
/// in a page for hydration from text too, so each type's decoder is compiled into the WASM bundle
/// once instead of twice (about 150 KB of the bundle before compression).
pub struct JsonText;

pub use domain::upstream::is_id;

/// One option of a picker: an id and what to call it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Choice {
    pub id: String,
    pub label: String,
}

/// Pickers offer at most this many agents or environments (pages of 100 are walked until then).
pub const MAX_CHOICES: usize = 1000;

/// The `output` of every server function: `#[server(..., output = JsonResponse)]`.
pub type JsonResponse = Post<JsonText>;

impl ContentType for JsonText {
    const CONTENT_TYPE: &'static str = "application/json";
}

impl FormatType for JsonText {
    const FORMAT_TYPE: Format = Format::Text;
}

impl<T: Serialize> Encodes<T> for JsonText {
    type Error = serde_json::Error;

    fn encode(output: &T) -> Result<Bytes, Self::Error> {
        serde_json::to_vec(output).map(Bytes::from)
    }
}

impl<T: DeserializeOwned> Decodes<T> for JsonText {
    type Error = serde_json::Error;

    fn decode(bytes: Bytes) -> Result<T, Self::Error> {
        let text = std::str::from_utf8(&bytes).map_err(<serde_json::Error as serde::de::Error>::custom)?;
        serde_json::from_str(text)
    }
}

#[cfg(feature = "ssr")]
pub mod server {
    use leptos::prelude::*;
    use serde_json::Value;

    pub use domain::upstream::{
        client::{paging, walk_pages_of},
        segment,
    };

    use crate::{error::AppError, upstream::client::UpstreamHandle};
    pub use domain::creators::{Creator, Kind, server::CreatorsHandle};

    /// The upstream client the server provided as context.
    pub fn upstream() -> Result<UpstreamHandle, AppError> {
        use_context::<UpstreamHandle>()
            .ok_or_else(|| AppError::internal("The server did not provide its upstream client."))
    }

    /// A page of 20 of a list whose items can be archived (agents, environments, vaults,
    /// deployments, memory stores), each item as `row` makes it with who made it; with `mine`,
    /// only what the person asking made ([`list_mine`]).
    pub async fn list_archivable<T: serde::de::DeserializeOwned, R: MadeBy>(
        (path, action, kind): (&str, &str, Kind),
        (include_archived, mine): (bool, bool),
        page: Option<String>,
        row: impl Fn(&T) -> R,
    ) -> Result<protocol::common::Page<R>, AppError> {
        if mine {
            return list_mine((path, action, kind), include_archived, page, 20, row).await;
        }
        let mut query = paging(20, page);
        query.push(("include_archived".into(), include_archived.to_string()));
        let page: protocol::common::Page<T> =
            upstream()?.get(path, query).await.map_err(|e| AppError::upstream(action, e))?;
        with_makers(page.map(|item| row(&item))).await
    }

    /// A list's row that says who made it (`domain::creators`).
    pub trait MadeBy {
        fn id(&self) -> &str;
        fn archived(&self) -> bool;
        fn made_by(&mut self) -> &mut Option<Creator>;
    }

    /// The request's workspace's record of who made what, as the server provided it.
    pub fn creators() -> Result<CreatorsHandle, AppError> {
        use_context::<CreatorsHandle>()
            .ok_or_else(|| AppError::internal("The server did not provide its record of who made what."))
    }

    /// `page` with each row's maker filled in from Switchboard's record (none: made elsewhere).
    pub async fn with_makers<R: MadeBy>(
        mut page: protocol::common::Page<R>,
    ) -> Result<protocol::common::Page<R>, AppError> {
        if page.data.is_empty() {
            return Ok(page);
        }
        let ids = page.data.iter().map(|row| row.id().to_owned()).collect();
        let mut makers = creators()?.0.of(ids).await?;
        for row in &mut page.data {
            *row.made_by() = makers.remove(row.id());
        }
        Ok(page)
    }

    /// A page of what the person asking made of `kind`, newest first, `size` records at a time,
    /// each read from `<path>/<id>` (eight at once): those deleted since are left out, and
    /// archived ones unless `include_archived`, so a page may hold fewer rows than records.
    pub async fn list_mine<T: serde::de::DeserializeOwned, R: MadeBy>(
        (path, action, kind): (&str, &str, Kind),
        include_archived: bool,
        page: Option<String>,
        size: u32,
        row: impl Fn(&T) -> R,
    ) -> Result<protocol::common::Page<R>, AppError> {
        use futures::StreamExt as _;
        let me = crate::auth::store::require(crate::auth::Role::Viewer)?;
        let made = creators()?.0.made_by(kind, me.user_id, page, size).await?;
        let api = upstream()?;
        let read = futures::stream::iter(made.ids)
            .map(|id| {
                let api = api.clone();
                let path = format!("{path}/{id}");
                async move { api.get::<T>(&path, vec![]).await }
            })
            .buffered(8)
            .collect::<Vec<_>>()
            .await;
        let mut rows = Vec::new();
        for item in read {
            match item {
                Ok(item) => rows.push(row(&item)),
                Err(domain::upstream::client::UpstreamError::Api { status: 404, .. }) => {}
                Err(error) => return Err(AppError::upstream(action, error)),
            }
        }
        rows.retain(|row| include_archived || !row.archived());
        with_makers(protocol::common::Page { data: rows, next_page: made.next, prev_page: None }).await
    }

    /// `POST <path>/archive` (path from ids already checked with [`segment`]), the archived
    /// object answered as `row` makes it.
    pub async fn archive<T: serde::de::DeserializeOwned, R>(
        path: &str,
        action: &str,
        row: impl Fn(&T) -> R,
    ) -> Result<R, AppError> {
        upstream()?
            .post(&format!("{path}/archive"), &serde_json::json!({}))
            .await
            .map(|item| row(&item))
            .map_err(|e| AppError::upstream(action, e))
    }

    /// `DELETE <path>` (from ids already checked with [`segment`]).
    pub async fn delete(path: &str, action: &str) -> Result<(), AppError> {
        upstream()?.delete::<Value>(path).await.map(|_| ()).map_err(|e| AppError::upstream(action, e))
    }

    /// Up to `limit` items of a list endpoint, walking its pages of 100 (for pickers). `query`
    /// is sent with every page.
    pub async fn walk<T: serde::de::DeserializeOwned>(
        path: &str,
        action: &str,
        query: Vec<(String, String)>,
        limit: usize,
    ) -> Result<Vec<T>, AppError> {
        walk_pages(path, action, query, 100.min(limit as u32), limit, Some).await.map(|(found, _)| found)
    }

    /// Walks a list endpoint's pages of `page_size` until `limit` items were listed, keeping what
    /// `keep` makes of each. `query` is sent with every page. Answers what was kept and whether
    /// the list ended within `limit`.
    pub async fn walk_pages<T: serde::de::DeserializeOwned, R>(
        path: &str,
        action: &str,
        query: Vec<(String, String)>,
        page_size: u32,
        limit: usize,
        keep: impl FnMut(T) -> Option<R>,
    ) -> Result<(Vec<R>, bool), AppError> {
        walk_pages_of(&upstream()?, path, action, query, page_size, limit, keep).await
    }

    /// What a picker needs of a listed agent, environment, file or vault; the rest of the object is
    /// not decoded.
    #[derive(serde::Deserialize)]
    pub struct Listed {
        pub id: String,
        #[serde(alias = "display_name", alias = "filename")]
        pub name: String,
        #[serde(default)]
        pub version: Option<u64>,
        #[serde(default)]
        pub archived_at: Option<String>,
        /// An agent's model (`{id, …}`).
        #[serde(default)]
        pub model: Option<Value>,
    }

    /// Makes an update body clear what the form removed: an update keeps what it leaves out and
    /// patches metadata, so `null` is added for each of `fields` and each metadata key that
    /// `based_on` (the version being edited) has and `body` no longer does.
    pub fn clear_what_was_removed(body: &mut Value, based_on: &Value, fields: &[&str]) {
        let Some(object) = body.as_object_mut() else { return };
        for &key in fields {
            if !object.contains_key(key) && based_on.get(key).is_some_and(|v| !v.is_null()) {
                object.insert(key.to_owned(), Value::Null);
            }
        }
        let old = based_on.get("metadata").and_then(Value::as_object).cloned().unwrap_or_default();
        let metadata = object.entry("metadata").or_insert_with(|| Value::Object(Default::default()));
        if let Some(metadata) = metadata.as_object_mut() {
            for key in old.keys() {
                metadata.entry(key.clone()).or_insert(Value::Null);
            }
        }
    }

    /// Parses a JSON body the browser sent as text (the raw editors), naming the line and column.
    pub fn parse_json(field: &str, text: &str) -> Result<Value, AppError> {
        serde_json::from_str(text).map_err(|e| {
            AppError::bad_input(
                field,
                format!("The JSON is not valid: {} at line {}, column {}.", describe(&e), e.line(), e.column()),
            )
        })
    }

    fn describe(e: &serde_json::Error) -> String {
        let text = e.to_string();
        text.split(" at line").next().unwrap_or(&text).to_owned()
    }
}
