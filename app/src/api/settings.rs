//! The server functions of the Settings page. What they take and answer, and the store they reach, are
//! [`domain::settings`]'s.

pub use domain::settings::*;

use leptos::{prelude::*, server_fn::codec::GetUrl};
use macros::access;

use super::JsonResponse;
#[cfg(feature = "ssr")]
use super::server::upstream;
use crate::error::AppError;

/// Runs the checks one after the other (so the latencies are not inflated by each other).
/// POST: it is not a mutation, but it spends upstream requests, so a link must not trigger it.
#[access(Admin)]
#[server(endpoint = "settings/check", output = JsonResponse)]
pub async fn connection_check() -> Result<Vec<Check>, AppError> {
    let api = upstream()?;
    let mut checks = Vec::new();
    // How the agents list (the first call) failed, if it did: says whether the key was refused.
    let mut first_failure = None;
    let lists = [
        ("Agents", "/v1/agents"),
        ("Environments", "/v1/environments"),
        ("Sessions", "/v1/sessions"),
        ("Files", "/v1/files"),
        ("Vaults", "/v1/vaults"),
    ];
    for (name, path) in lists {
        let started = std::time::Instant::now();
        let outcome = api.get::<serde_json::Value>(path, vec![("limit".into(), "1".into())]).await;
        let millis = started.elapsed().as_millis() as u64;
        let check = match outcome {
            Ok(page) => {
                let n = page.get("data").and_then(|d| d.as_array()).map_or(0, Vec::len);
                let more = page.get("next_page").is_some_and(|p| !p.is_null());
                let found = match (n, more) {
                    (0, _) => "none yet".to_owned(),
                    (_, true) => "some".to_owned(),
                    (n, false) => n.to_string(),
                };
                Check {
                    name: format!("List {}", name.to_lowercase()),
                    ok: true,
                    detail: format!("{path} answered; {found} found."),
                    millis,
                }
            }
            Err(error) => {
                let error = AppError::upstream(&format!("GET {path}"), error);
                if checks.is_empty() {
                    first_failure = Some(error.kind);
                }
                Check { name: format!("List {}", name.to_lowercase()), ok: false, detail: error.to_string(), millis }
            }
        };
        checks.push(check);
    }
    // The first call says whether the key and the beta work at all.
    let first = &checks[0];
    let key = if first.ok {
        Check {
            name: "API key accepted".into(),
            ok: true,
            detail: "The upstream accepted Switchboard's key.".into(),
            millis: first.millis,
        }
    } else if first_failure == Some(crate::error::ErrorKind::KeyRejected) {
        Check {
            name: "API key accepted".into(),
            ok: false,
            detail: format!("No: {}", first.detail),
            millis: first.millis,
        }
    } else {
        Check {
            name: "API key accepted".into(),
            ok: false,
            detail: "Unknown: the first request failed for another reason (see below).".into(),
            millis: first.millis,
        }
    };
    let beta = Check {
        name: "Managed Agents beta enabled".into(),
        ok: first.ok,
        detail: if first.ok {
            format!("Requests with anthropic-beta: {} are answered.", protocol::MANAGED_AGENTS_BETA)
        } else {
            "Not confirmed: the agents list failed (see below). If the key is accepted, ask Anthropic to enable the beta for the organization.".into()
        },
        millis: first.millis,
    };
    checks.insert(0, beta);
    checks.insert(0, key);
    Ok(checks)
}

/// What the Settings page says of webhooks. Admins only: it is about the server's configuration.
#[access(Admin)]
#[server(endpoint = "settings/webhooks", input = GetUrl, output = JsonResponse)]
pub async fn get_webhook_status() -> Result<WebhookStatus, AppError> {
    let source = use_context::<server::WebhooksHandle>()
        .ok_or_else(|| AppError::internal("The server did not provide its webhook receiver."))?;
    Ok(source.0.status())
}

#[cfg(feature = "ssr")]
pub mod server {
    pub use domain::settings::server::*;
}
