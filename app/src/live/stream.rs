//! The live view's connection to the hub (browser only): one `EventSource` on
//! `/api/sessions/{id}/stream` (a share link's audience: `/api/shares/{token}/stream`; an
//! imported session: `/api/imports/{id}/stream`), its frames folded into the model in batches of 30 ms, closed when
//! the view goes away or the stream must not be retried.

use std::{cell::RefCell, rc::Rc, time::Duration};

use leptos::prelude::*;
use wasm_bindgen::{JsCast, closure::Closure};

use super::model::{FAILED, LOST, Model, OPEN};
use crate::sse::{self, LinkState};

type Listener = Closure<dyn FnMut(web_sys::Event)>;

/// Opens the hub's stream at `url` for a view, folds its frames into `model` in batches (bumping
/// `version` after each), and closes it when the view goes away. `elsewhere`: the events are not
/// a session of the API (a share link's, an import's), which says why a refused stream was.
pub(super) fn connect(url: &str, elsewhere: bool, model: StoredValue<Model>, version: RwSignal<u64>) {
    let Ok(source) = web_sys::EventSource::new(url) else { return };
    let batch = Batch::new(model, version, elsewhere);
    let mut listeners = listen_for_frames(&source, &batch);
    listeners.extend(listen_for_link(&source, &batch));
    let held = StoredValue::new_local(Some((source, listeners)));
    on_cleanup(move || {
        held.try_update_value(|held| {
            if let Some((source, _listeners)) = held.take() {
                source.close();
            }
        });
    });
}

/// Frames waiting to be folded into the model. The first one of a batch schedules the fold 30 ms
/// later, so a burst of events redraws the view once.
#[derive(Clone)]
struct Batch {
    model: StoredValue<Model>,
    /// Bumped after each batch is folded into the model.
    version: RwSignal<u64>,
    /// The events are not a session of the API (a share link's, an import's).
    elsewhere: bool,
    pending: Rc<RefCell<Pending>>,
}

#[derive(Default)]
struct Pending {
    /// (name, data, last event id) of each frame.
    frames: Vec<(String, String, String)>,
    /// A fold is scheduled.
    scheduled: bool,
}

impl Batch {
    fn new(model: StoredValue<Model>, version: RwSignal<u64>, elsewhere: bool) -> Self {
        Self { model, version, elsewhere, pending: Rc::default() }
    }

    fn push(&self, name: &str, data: String, last_id: String) {
        let mut pending = self.pending.borrow_mut();
        pending.frames.push((name.to_owned(), data, last_id));
        if !pending.scheduled {
            pending.scheduled = true;
            let batch = self.clone();
            set_timeout(move || batch.fold(), Duration::from_millis(30));
        }
    }

    fn fold(&self) {
        let frames = {
            let mut pending = self.pending.borrow_mut();
            pending.scheduled = false;
            std::mem::take(&mut pending.frames)
        };
        if frames.is_empty() {
            return;
        }
        // The view may have gone in the 30 ms since the fold was scheduled (its page read the
        // session again, after a change the frames announce): then the frames are not its any
        // more, and its values are disposed.
        let folded = self.model.try_update_value(|m| {
            for (name, data, last_id) in frames {
                m.frame(&name, data, &last_id);
            }
        });
        if folded.is_some() {
            self.version.try_update(|v| *v += 1);
        }
    }
}

/// A listener for each of the hub's frames. The stream is closed for good when the session is
/// gone, the sign-in ended, or the hub gave up on this view.
fn listen_for_frames(source: &web_sys::EventSource, batch: &Batch) -> Vec<Listener> {
    let mut listeners = Vec::new();
    for name in [sse::EVENT, sse::PREVIEW, sse::STATUS, sse::END, sse::RESET, sse::SIGNED_OUT] {
        let (batch, source_for_end) = (batch.clone(), source.clone());
        let listener = Listener::new(move |event: web_sys::Event| {
            let Some(message) = event.dyn_ref::<web_sys::MessageEvent>() else { return };
            let data = message.data().as_string().unwrap_or_default();
            let failed = name == sse::STATUS
                && serde_json::from_str(&data).ok().and_then(|frame| LinkState::of_frame(&frame))
                    == Some(LinkState::Failed);
            if name == sse::END || name == sse::SIGNED_OUT || failed {
                source_for_end.close();
            }
            batch.push(name, data, message.last_event_id());
        });
        let _ = source.add_event_listener_with_callback(name, listener.as_ref().unchecked_ref());
        listeners.push(listener);
    }
    listeners
}

/// Listeners for the `EventSource`'s own state: open, lost (it retries by itself with
/// Last-Event-ID) or refused (closed: the session is gone, or the API cannot be reached).
fn listen_for_link(source: &web_sys::EventSource, batch: &Batch) -> [Listener; 2] {
    let opened = {
        let batch = batch.clone();
        Listener::new(move |_| batch.push(OPEN, String::new(), String::new()))
    };
    source.set_onopen(Some(opened.as_ref().unchecked_ref()));
    let failed = {
        let (batch, source) = (batch.clone(), source.clone());
        Listener::new(move |_| {
            if source.ready_state() == web_sys::EventSource::CLOSED {
                let why = if batch.elsewhere {
                    "The session's events could not be opened: this link may have been revoked or have expired, or the import removed. Reload the page to see why."
                } else {
                    "The session's events could not be opened (the session may be gone, your sign-in ended, or you have more live views open in other tabs than one person may). Reload the page to try again."
                };
                batch.push(FAILED, why.to_owned(), String::new());
            } else {
                batch.push(LOST, String::new(), String::new());
            }
        })
    };
    source.set_onerror(Some(failed.as_ref().unchecked_ref()));
    [opened, failed]
}
