//! Helpers around server actions.

use leptos::prelude::*;

/// A count that goes up each time an action succeeds (`ok` reads the action's last outcome).
///
/// Resources that show what an action changed depend on this, not on the action's `version()`,
/// which also moves on failure: reloading after a failure would rebuild the form that sent the
/// request and throw away what the person typed.
pub fn successes(ok: impl Fn() -> Option<bool> + Send + Sync + 'static) -> ReadSignal<usize> {
    let (count, set_count) = signal(0usize);
    Effect::new(move |_| {
        if ok() == Some(true) {
            set_count.update(|n| *n += 1);
        }
    });
    count
}
