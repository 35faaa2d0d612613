//! Helpers around server actions, and the tab's count of rule changes ([`RulesChanged`]).

use leptos::{prelude::*, server_fn::ServerFn};

/// A count that goes up each time `action` succeeds.
///
/// Resources that show what an action changed depend on this, not on the action's `version()`,
/// which also moves on failure: reloading after a failure would rebuild the form that sent the
/// request and throw away what the person typed.
pub fn successes<S>(action: ServerAction<S>) -> ReadSignal<usize>
where
    S: ServerFn + Clone + Send + Sync + 'static,
    S::Output: Send + Sync + 'static,
    S::Error: Send + Sync + 'static,
{
    let (count, set_count) = signal(0usize);
    Effect::new(move |_| {
        if action.value().with(|outcome| matches!(outcome, Some(Ok(_)))) {
            set_count.update(|n| *n += 1);
        }
    });
    count
}

/// A ref for the form that sends `action`: the form is emptied each time the action succeeds (a
/// secret typed into it is never shown again), then `after` runs.
pub fn cleared_on_success<S>(action: ServerAction<S>, after: impl Fn() + 'static) -> NodeRef<leptos::html::Form>
where
    S: ServerFn + Clone + Send + Sync + 'static,
    S::Output: Send + Sync + 'static,
    S::Error: Send + Sync + 'static,
{
    let form_ref = NodeRef::<leptos::html::Form>::new();
    Effect::new(move |_| {
        if action.value().with(|outcome| matches!(outcome, Some(Ok(_))))
            && let Some(form) = form_ref.get()
        {
            form.reset();
            after();
        }
    });
    form_ref
}

/// Bumped when a rule is made or revoked in this tab (the App provides it): lists of rules read
/// again.
#[derive(Clone, Copy)]
pub struct RulesChanged(pub RwSignal<u64>);

impl RulesChanged {
    /// The App's, looked up once where a component is made (not inside a reactive closure).
    pub fn get() -> Option<Self> {
        use_context::<RulesChanged>()
    }

    pub fn bump(self) {
        self.0.update(|n| *n += 1);
    }
}
