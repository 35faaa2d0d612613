//! Who is signed in, as every page and component asks it: the [`Me`] context the layout provides
//! once per page, and [`can`] for hiding what a person's roles do not allow.

use leptos::prelude::*;

use crate::{
    auth::{self, Principal},
    error::AppError,
};

/// The person signed in (`None` on the login and setup pages), loaded once per page.
#[derive(Clone, Copy)]
pub struct Me(pub Resource<Result<Option<Principal>, AppError>>);

impl Me {
    /// The person, once known (tracked).
    pub fn principal(&self) -> Option<Principal> {
        self.0.get().and_then(Result::ok).flatten()
    }
}

/// The workspace of the page and the ones the person may switch to (the navigation's switch),
/// loaded once per page. Made beside [`Me`] in `App`, before anything else: resources are
/// matched with their data while hydrating by the order they were made in, and one made in the
/// navigation is made after the page's on the server but before them in the browser.
#[derive(Clone, Copy)]
pub struct Workspace(pub Resource<Result<crate::api::workspaces::Place, AppError>>);

/// Whether the person signed in has what `role` allows: hides buttons a person could not use (the
/// server refuses those calls anyway). False until known.
pub fn can(role: auth::Role) -> Signal<bool> {
    let me = use_context::<Me>();
    Signal::derive(move || me.and_then(|me| me.principal()).is_some_and(|p| p.can(role)))
}
