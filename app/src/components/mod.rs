//! The pieces pages are built from: navigation, lists and pagers, pickers, confirmations,
//! uploads, diffs, clocks and the inbox's feed.

pub mod clock;
pub mod confirm;
pub mod diff;
pub mod feedback;
pub mod inbox;
pub mod list_page;
pub mod nav;
pub mod pager;
pub mod pickers;
pub mod section;
pub mod table_scroll;
pub mod upload;

/// Puts `text` on the clipboard (the browser asks no permission for a click's write).
pub fn copy_to_clipboard(_text: &str) {
    #[cfg(feature = "hydrate")]
    {
        let _ = leptos::prelude::window().navigator().clipboard().write_text(_text);
    }
}

/// Puts the absolute address of `path` (on this server) on the clipboard.
pub fn copy_link(path: &str) {
    #[cfg(feature = "hydrate")]
    {
        let origin = leptos::prelude::window().location().origin().unwrap_or_default();
        copy_to_clipboard(&format!("{origin}{path}"));
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = path;
}
