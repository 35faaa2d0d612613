//! What the live view's parts share.

use std::collections::HashSet;

use leptos::prelude::*;

use super::model::Model;

/// Everything the view's parts share. Copy: each part holds what it needs. The model is `Send`
/// (`Arc`s, not `Rc`s): the server renders the view on a multi-threaded runtime.
#[derive(Clone, Copy)]
pub(super) struct Live {
    pub session_id: StoredValue<String>,
    /// The thread this view follows (its own stream); `None`: the session's stream. Read by the
    /// browser's `EventSource` only.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    pub thread_id: StoredValue<Option<String>>,
    pub model: StoredValue<Model>,
    /// Bumped after each batch of frames is folded into the model.
    pub version: RwSignal<u64>,
    /// Rows the person expanded (raw JSON, long output), by sequence number and part.
    pub expanded: StoredValue<HashSet<(u64, &'static str)>>,
    /// Asks for the rows to be measured again (a row changed its height).
    pub remeasure: RwSignal<u64>,
}

impl Live {
    /// A view's shared state, following the stream of `thread_id` (`None`: the session's own),
    /// which the browser connects to at once (the server renders without it).
    pub fn open(session_id: String, thread_id: Option<String>) -> Self {
        let live = Live {
            session_id: StoredValue::new(session_id),
            thread_id: StoredValue::new(thread_id),
            model: StoredValue::new(Model::default()),
            version: RwSignal::new(0),
            expanded: StoredValue::new(HashSet::new()),
            remeasure: RwSignal::new(0),
        };
        #[cfg(feature = "hydrate")]
        super::stream::connect(live);
        live
    }

    /// A value worked out from the model after each batch of frames; what reads it is drawn again
    /// only when it changed.
    pub fn memo<T: Clone + PartialEq + Send + Sync + 'static>(
        self,
        f: impl Fn(&Model) -> T + Send + Sync + 'static,
    ) -> Memo<T> {
        Memo::new(move |_| {
            self.version.track();
            self.model.with_value(|m| f(m))
        })
    }
}
