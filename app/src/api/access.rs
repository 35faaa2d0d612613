//! Who may call which server function, declared on each function with `#[access(Role)]` (the
//! `macros` crate) and collected here: the server builds its access table from [`endpoint`], and
//! [`serve`] checks the same rule again inside the function.

pub use domain::auth::Rule;

/// A server function as `#[access]` registers it.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint {
    /// `/api/agents/create`.
    pub path: &'static str,
    /// Answered on GET (its arguments in the query); otherwise on POST.
    pub read: bool,
    pub rule: Rule,
}

#[cfg(feature = "ssr")]
pub use server::*;

#[cfg(feature = "ssr")]
mod server {
    use std::{collections::HashMap, sync::LazyLock};

    use super::{Endpoint, Rule};
    use crate::error::AppError;

    inventory::collect!(Endpoint);

    static ENDPOINTS: LazyLock<HashMap<&'static str, Endpoint>> =
        LazyLock::new(|| inventory::iter::<Endpoint>.into_iter().map(|e| (e.path, *e)).collect());

    /// The server function at `path` (`/api/agents/create`), if there is one.
    pub fn endpoint(path: &str) -> Option<Endpoint> {
        ENDPOINTS.get(path).copied()
    }

    /// Every server function, in no particular order.
    pub fn endpoints() -> impl Iterator<Item = Endpoint> {
        ENDPOINTS.values().copied()
    }

    /// The body of every server function (`#[access]` puts it there): refuses a caller `rule`
    /// does not allow, whether the call came over HTTP or from a page rendering on the server;
    /// runs the function; logs a failure that is not the caller's, with the upstream's request
    /// id in a field of its own when the upstream failed. The HTTP status of a failure comes from
    /// the error's kind (the server's `server_fn_error_status` layer); a page that shows an error
    /// sets its own status.
    pub async fn serve<T>(rule: Rule, run: impl Future<Output = Result<T, AppError>>) -> Result<T, AppError> {
        if let Rule::Needs(role) = rule {
            crate::auth::store::require(role)?;
        }
        let result = run.await;
        if let Err(error) = &result
            && error.status() >= 500
        {
            tracing::warn!(request_id = error.request_id.as_deref(), "{}", error.message);
        }
        result
    }
}
