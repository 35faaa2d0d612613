//! The browser's clock, for "running for 12 s" and "waiting 3 min".

use leptos::prelude::*;

/// Milliseconds since the epoch, a tick a second; `None` on the server and until the page is
/// hydrated, so that the first render matches the server's (a time on the server would be stale
/// the moment the page is sent).
pub fn ticking() -> RwSignal<Option<f64>> {
    let now = RwSignal::new(None::<f64>);
    #[cfg(feature = "hydrate")]
    {
        Effect::new(move |_| now.set(Some(js_sys::Date::now())));
        if let Ok(handle) =
            set_interval_with_handle(move || now.set(Some(js_sys::Date::now())), std::time::Duration::from_secs(1))
        {
            on_cleanup(move || handle.clear());
        }
    }
    now
}
