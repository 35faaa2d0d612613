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

/// A moment (RFC 3339) in the viewer's own time zone: the server renders it in UTC, and once the
/// page is live the browser rewrites it in local time (with the zone's name). The full value stays
/// in `datetime`.
#[component]
pub fn LocalTime(#[prop(into)] at: String) -> impl IntoView {
    let text = RwSignal::new(crate::format::timestamp(&at));
    #[cfg(feature = "hydrate")]
    {
        let at = at.clone();
        Effect::new(move |_| {
            if let Some(local) = local_text(&at) {
                text.set(local);
            }
        });
    }
    view! { <time datetime=at>{move || text.get()}</time> }
}

#[cfg(feature = "hydrate")]
fn local_text(at: &str) -> Option<String> {
    use wasm_bindgen::JsValue;
    let date = js_sys::Date::new(&JsValue::from_str(at));
    if date.get_time().is_nan() {
        return None;
    }
    let options = js_sys::Object::new();
    for (key, value) in [
        ("year", "numeric"),
        ("month", "short"),
        ("day", "numeric"),
        ("weekday", "short"),
        ("hour", "2-digit"),
        ("minute", "2-digit"),
        ("timeZoneName", "short"),
    ] {
        js_sys::Reflect::set(&options, &JsValue::from_str(key), &JsValue::from_str(value)).ok()?;
    }
    date.to_locale_string("default", &options).as_string()
}
