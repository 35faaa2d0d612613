//! The inbox as every page of a signed-in person knows it: one `EventSource` per tab on
//! `/api/inbox/stream`, for the badge in the navigation, the count in the title, notifications of
//! new calls, and the Inbox page itself.

use leptos::prelude::*;

use crate::{api::inbox::InboxList, me::Me};

/// The newest inbox the stream sent, provided by `App`.
#[derive(Clone, Copy)]
pub struct InboxFeed {
    /// `None` until the stream's first frame (and always on the server).
    pub list: RwSignal<Option<InboxList>>,
    pub link: RwSignal<FeedLink>,
}

/// The tab's link to the inbox stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedLink {
    /// Opening, or open.
    Open,
    /// The browser lost the stream and retries by itself.
    Lost,
    /// The server ended it because the sign-in ended: the page must be reloaded.
    Closed,
}

impl InboxFeed {
    /// Calls waiting, as the badge and the title count them (0 until known).
    pub fn count(&self) -> usize {
        self.list.with(|l| l.as_ref().map_or(0, |l| l.calls.len()))
    }
}

/// Provides the feed and, in the browser, opens its stream once the person is known to be signed
/// in. Approvers who turned notifications on get one for each call that arrives while the page
/// is open.
pub fn provide_inbox_feed(me: Me) -> InboxFeed {
    let feed = InboxFeed { list: RwSignal::new(None), link: RwSignal::new(FeedLink::Open) };
    provide_context(feed);
    #[cfg(feature = "hydrate")]
    {
        let started = StoredValue::new(false);
        Effect::new(move |_| {
            // Someone who must first choose their own password may not read the inbox: their
            // stream would only be refused, again and again, until they do (and the page
            // reloads then).
            if let Some(principal) = me.principal()
                && !principal.must_change_password
                && !started.get_value()
            {
                started.set_value(true);
                after_hydration(move || Stream::open(feed, principal.can(crate::auth::Role::Approver)));
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = me;
    feed
}

/// Runs `then` once the page is hydrated (`data-hydrated` on `<body>`): a list that arrived
/// earlier would change what the server rendered before the browser took it over.
#[cfg(feature = "hydrate")]
fn after_hydration(then: impl FnOnce() + 'static) {
    let hydrated = document().body().is_some_and(|b| b.has_attribute("data-hydrated"));
    if hydrated {
        then();
    } else {
        set_timeout(move || after_hydration(then), std::time::Duration::from_millis(50));
    }
}

/// The tab's inbox stream, reopened when the server refused it for another reason than the end of
/// the sign-in (a restart behind a proxy that answered 502 meanwhile).
#[cfg(feature = "hydrate")]
#[derive(Clone)]
struct Stream {
    feed: InboxFeed,
    may_decide: bool,
    /// The calls known so far; `None` until the first list the server calls ready: what waits
    /// when the page opens is not news.
    known: std::rc::Rc<std::cell::RefCell<Option<std::collections::HashSet<String>>>>,
    /// Calls this tab notified of, so that one that leaves and comes back is not announced twice.
    notified: std::rc::Rc<std::cell::RefCell<std::collections::VecDeque<String>>>,
    /// The last wait before reopening, in seconds.
    backoff: std::rc::Rc<std::cell::Cell<u64>>,
}

#[cfg(feature = "hydrate")]
impl Stream {
    fn open(feed: InboxFeed, may_decide: bool) {
        Stream {
            feed,
            may_decide,
            known: Default::default(),
            notified: Default::default(),
            backoff: Default::default(),
        }
        .connect();
    }

    fn connect(self) {
        use wasm_bindgen::{JsCast, closure::Closure};

        let Ok(source) = web_sys::EventSource::new("/api/inbox/stream") else { return };
        let feed = self.feed;
        let on_list = {
            let stream = self.clone();
            Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
                let Some(message) = event.dyn_ref::<web_sys::MessageEvent>() else { return };
                let Ok(list) = serde_json::from_str::<InboxList>(&message.data().as_string().unwrap_or_default())
                else {
                    return;
                };
                stream.backoff.set(0);
                stream.announce(&list);
                feed.link.set(FeedLink::Open);
                feed.list.set(Some(list));
            })
        };
        let _ = source.add_event_listener_with_callback(crate::sse::INBOX, on_list.as_ref().unchecked_ref());
        let closing = source.clone();
        let on_signed_out = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            closing.close();
            feed.link.set(FeedLink::Closed);
        });
        let _ = source.add_event_listener_with_callback(crate::sse::SIGNED_OUT, on_signed_out.as_ref().unchecked_ref());
        let failing = source.clone();
        let again = self.clone();
        let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            if failing.ready_state() != web_sys::EventSource::CLOSED {
                // The browser retries by itself.
                feed.link.set(FeedLink::Lost);
                return;
            }
            if feed.link.get_untracked() == FeedLink::Closed {
                return;
            }
            feed.link.set(FeedLink::Lost);
            let wait = (again.backoff.get() * 2).clamp(2, 60);
            again.backoff.set(wait);
            let again = again.clone();
            set_timeout(move || again.connect(), std::time::Duration::from_secs(wait));
        });
        source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        // The stream lives as long as the tab.
        on_list.forget();
        on_signed_out.forget();
        on_error.forget();
    }

    /// Notifies an approver of the calls in `list` that are new to this tab.
    fn announce(&self, list: &InboxList) {
        if !list.ready {
            return;
        }
        let mut known = self.known.borrow_mut();
        if self.may_decide
            && let Some(before) = known.as_ref()
        {
            let mut notified = self.notified.borrow_mut();
            for call in list.arrived(before) {
                if notified.iter().any(|id| id == call.event_id()) {
                    continue;
                }
                notifications::show(call);
                notified.push_back(call.event_id().to_owned());
                if notified.len() > 500 {
                    notified.pop_front();
                }
            }
        }
        *known = Some(list.calls.iter().map(|c| c.event_id().to_owned()).collect());
    }
}

/// Browser notifications of new calls: an approver's choice, kept in this browser.
pub mod notifications {
    /// Whether this browser shows notifications for this person.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Choice {
        /// The browser has no Notification API (or the page is not a secure context).
        Unsupported,
        /// The person or the browser refused permission; only the browser's settings undo that.
        Blocked,
        On,
        Off,
    }

    #[cfg(feature = "hydrate")]
    const KEY: &str = "switchboard.notify";

    #[cfg(feature = "hydrate")]
    fn supported() -> bool {
        web_sys::window().is_some_and(|w| js_sys::Reflect::has(&w, &"Notification".into()).unwrap_or(false))
    }

    #[cfg(feature = "hydrate")]
    fn stored() -> bool {
        web_sys::window()
            .and_then(|w| w.local_storage().ok().flatten())
            .and_then(|s| s.get_item(KEY).ok().flatten())
            .is_some_and(|v| v == "on")
    }

    #[cfg(feature = "hydrate")]
    pub fn choice() -> Choice {
        use web_sys::{Notification, NotificationPermission};
        if !supported() {
            return Choice::Unsupported;
        }
        match Notification::permission() {
            NotificationPermission::Denied => Choice::Blocked,
            NotificationPermission::Granted if stored() => Choice::On,
            _ => Choice::Off,
        }
    }

    /// Asks the browser for permission (it shows its own prompt) and remembers the choice.
    #[cfg(feature = "hydrate")]
    pub async fn turn_on() -> Choice {
        if !supported() {
            return Choice::Unsupported;
        }
        if let Ok(promise) = web_sys::Notification::request_permission() {
            let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
        }
        if web_sys::Notification::permission() == web_sys::NotificationPermission::Granted
            && let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten())
        {
            let _ = storage.set_item(KEY, "on");
        }
        choice()
    }

    #[cfg(feature = "hydrate")]
    pub fn turn_off() -> Choice {
        if let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
            let _ = storage.remove_item(KEY);
        }
        choice()
    }

    /// One notification for `call`; clicking it opens the inbox. Tagged with the call's id, so
    /// several open tabs show it once.
    #[cfg(feature = "hydrate")]
    pub fn show(call: &crate::api::inbox::PendingCall) {
        use wasm_bindgen::{JsCast, closure::Closure};
        if choice() != Choice::On {
            return;
        }
        let options = web_sys::NotificationOptions::new();
        options.set_body(&format!("{} · {}", call.session_label(), call.summary()));
        options.set_tag(call.event_id());
        let title = if call.is_custom() {
            format!("The agent called your tool {}", call.tool())
        } else {
            format!("Allow {}? A call waits for a decision", call.tool())
        };
        let Ok(notification) = web_sys::Notification::new_with_options(&title, &options) else { return };
        let on_click = Closure::once_into_js(move || {
            if let Some(window) = web_sys::window() {
                let _ = window.focus();
                let _ = window.location().set_href("/inbox");
            }
        });
        notification.set_onclick(Some(on_click.unchecked_ref()));
    }
}
