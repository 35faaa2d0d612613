//! What the live view's parts share.

use std::collections::{HashMap, HashSet};

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
    /// Calls a rule allowed (the call's event id → "rule 3 of April (april)"), from the
    /// decisions Switchboard recorded: read again as answers arrive.
    pub by_rule: RwSignal<HashMap<String, String>>,
    /// The row a link (`?event=`) opened the timeline at, by sequence number: highlighted.
    pub focused: RwSignal<Option<u64>>,
    /// The timeline follows the live end (it stops when the person scrolls up).
    pub following: RwSignal<bool>,
    /// Presenter mode: a reading layout for an audience, without ids, raw JSON or debugging rows.
    pub presenter: bool,
    /// A replay: only the first this many events are shown (`None`: all of them).
    pub reveal: RwSignal<Option<usize>>,
    /// Where the view's events come from when it is not a session of the API: a share link's
    /// stream base (`/api/shares/{token}`) or an imported session's (`/api/imports/{id}`). Nothing
    /// then links to the session's own pages, and which rule allowed a call is not read.
    pub source: StoredValue<Option<String>>,
}

impl Live {
    /// A view's shared state, following the stream of `thread_id` (`None`: the session's own),
    /// which the browser connects to at once (the server renders without it).
    pub fn open(session_id: String, thread_id: Option<String>) -> Self {
        Self::open_as(session_id, thread_id, false)
    }

    /// [`Live::open`], in presenter mode or not.
    pub fn open_as(session_id: String, thread_id: Option<String>, presenter: bool) -> Self {
        Self::open_with(session_id, thread_id, presenter, None)
    }

    /// A view of events that are not a session of the API: `source` is the base of their stream
    /// (`/api/shares/{token}`, `/api/imports/{id}`), which ends in `/stream`.
    pub fn open_from(source: String, presenter: bool) -> Self {
        Self::open_with(String::new(), None, presenter, Some(source))
    }

    fn open_with(session_id: String, thread_id: Option<String>, presenter: bool, source: Option<String>) -> Self {
        let elsewhere = source.is_some();
        let live = Self::blank(session_id, thread_id, presenter, source);
        #[cfg(feature = "hydrate")]
        {
            super::stream::connect(&live.stream_url(), elsewhere, live.model, live.version);
            // Which rule allowed a call is for the people who run the session.
            if !elsewhere {
                live.follow_rule_decisions();
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = elsewhere;
        live
    }

    /// The URL of the hub's stream this view follows: the session's own, one thread's, or that of
    /// the events' `source`.
    #[cfg(feature = "hydrate")]
    fn stream_url(&self) -> String {
        let base = self.source.get_value().unwrap_or_else(|| format!("/api/sessions/{}", self.session_id.get_value()));
        match self.thread_id.get_value() {
            None => format!("{base}/stream"),
            Some(thread) => format!("{base}/threads/{thread}/stream"),
        }
    }

    /// The first screen of `of`'s timeline, from the events the server sent with the page: its
    /// own model and no stream, opened at `focus` (a link's event) or else at its newest event.
    /// What the person does to its rows (expanding one, the highlighted row, following) is
    /// `of`'s, so nothing changes when `of` has caught up and takes its place.
    pub fn first_screen(of: Live, screen: &crate::api::live::FirstScreen, focus: Option<&str>) -> Self {
        let mut model = Model::starting_at(screen.started_at.as_deref().and_then(crate::format::parse_rfc3339_ms));
        for (seq, event) in &screen.events {
            model.frame(crate::sse::EVENT, event.clone(), &seq.to_string());
        }
        // These events are not a stream: the page's own link is the one to show.
        model.link = super::model::Link::Connecting;
        if let Some(row) = focus.and_then(|id| model.row_of(id)) {
            of.focused.set(Some(model.items[row].seq));
            of.following.set(false);
        }
        Live { model: StoredValue::new(model), version: RwSignal::new(0), reveal: RwSignal::new(None), ..of }
    }

    /// A view's state with nothing loaded and nothing connected.
    fn blank(session_id: String, thread_id: Option<String>, presenter: bool, source: Option<String>) -> Self {
        Live {
            session_id: StoredValue::new(session_id),
            thread_id: StoredValue::new(thread_id),
            model: StoredValue::new(Model::default()),
            version: RwSignal::new(0),
            expanded: StoredValue::new(HashSet::new()),
            remeasure: RwSignal::new(0),
            by_rule: RwSignal::new(HashMap::new()),
            focused: RwSignal::new(None),
            following: RwSignal::new(true),
            presenter,
            reveal: RwSignal::new(None),
            source: StoredValue::new(source),
        }
    }

    /// Reads which calls a rule allowed whenever more calls have been answered.
    #[cfg(feature = "hydrate")]
    fn follow_rule_decisions(self) {
        let read = StoredValue::new(0usize);
        // The page's lists of rules count each rule's calls: they are read again when a rule
        // answered more.
        let rules_changed = crate::actions::RulesChanged::get();
        Effect::new(move |_| {
            self.version.track();
            let answered = self.model.with_value(|m| m.answered_count());
            if answered <= read.get_value() {
                return;
            }
            read.set_value(answered);
            let session_id = self.session_id.get_value();
            leptos::task::spawn_local(async move {
                if let Ok(decisions) = crate::api::live::list_decisions(session_id).await {
                    let by_rule: HashMap<_, _> = decisions
                        .into_iter()
                        .filter(|d| d.decided_by.starts_with("rule "))
                        .map(|d| (d.event_id, d.decided_by))
                        .collect();
                    let more = by_rule.len() > self.by_rule.try_with_untracked(HashMap::len).unwrap_or(0);
                    // The view may be gone by now.
                    if let (None, true, Some(changed)) = (self.by_rule.try_set(by_rule), more, rules_changed) {
                        changed.bump();
                    }
                }
            });
        });
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
