//! Models: the ones the upstream can run (`GET /v1/models`: Anthropic's in Anthropic mode; the
//! embedded engine's `scripted` and its Messages endpoint's otherwise), for the agent form's
//! picker and the warnings about models that are deprecated or about to retire.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use macros::access;
use serde::{Deserialize, Serialize};

use super::JsonResponse;
use crate::error::AppError;

/// A model as the pickers and warnings show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelChoice {
    pub id: String,
    pub display_name: String,
    /// `active`, `deprecated` or `retired`.
    pub lifecycle: String,
    /// When it is to retire (an RFC 3339 time), when that is scheduled.
    pub retires_at: Option<String>,
}

impl ModelChoice {
    /// Why a model should not be chosen for new work, if it should not: deprecated, retired, or
    /// with a retirement scheduled.
    pub fn warning(&self) -> Option<String> {
        let date = self.retires_at.as_deref().map(|at| at.get(..10).unwrap_or(at));
        match (self.lifecycle.as_str(), date) {
            ("retired", _) => Some("retired: requests naming it fail".to_owned()),
            ("deprecated", Some(date)) => Some(format!("deprecated, retires on {date}")),
            ("deprecated", None) => Some("deprecated".to_owned()),
            (_, Some(date)) => Some(format!("retires on {date}")),
            _ => None,
        }
    }

    /// What the picker shows: the id, its name when it differs, and its lifecycle when it is not
    /// simply current.
    pub fn label(&self) -> String {
        let mut label = self.id.clone();
        if !self.display_name.is_empty() && self.display_name != self.id {
            label = format!("{} — {}", self.display_name, self.id);
        }
        match self.warning() {
            Some(warning) => format!("{label} ({warning})"),
            None => label,
        }
    }
}

/// The model a new agent starts with: the first current model listed (the API lists the newest
/// first) other than `scripted`; `scripted` when it is the only one.
pub fn default_model(models: &[ModelChoice]) -> Option<&str> {
    let current = |m: &&ModelChoice| m.warning().is_none();
    models
        .iter()
        .filter(current)
        .find(|m| m.id != "scripted")
        .or_else(|| models.iter().find(current))
        .map(|m| m.id.as_str())
}

/// What the upstream says of `id`: its entry, when it lists it.
pub fn find<'a>(models: &'a [ModelChoice], id: &str) -> Option<&'a ModelChoice> {
    models.iter().find(|m| m.id == id)
}

/// Every model the upstream lists (its pages walked with `after_id`, as the models API pages).
#[access(Viewer)]
#[server(endpoint = "models/list", input = GetUrl, output = JsonResponse)]
pub async fn list_models() -> Result<Vec<ModelChoice>, AppError> {
    use super::server::upstream;
    let client = upstream()?;
    let mut models = Vec::new();
    let mut after: Option<String> = None;
    // 20 pages of 1000 is far more than any model list.
    for _ in 0..20 {
        let mut query = vec![("limit".to_owned(), "1000".to_owned())];
        if let Some(after) = after.take() {
            query.push(("after_id".to_owned(), after));
        }
        let page: serde_json::Value =
            client.get("/v1/models", query).await.map_err(|e| AppError::upstream("Listing the models", e))?;
        for model in page["data"].as_array().into_iter().flatten() {
            let Some(id) = model["id"].as_str() else { continue };
            models.push(ModelChoice {
                id: id.to_owned(),
                display_name: model["display_name"].as_str().unwrap_or_default().to_owned(),
                lifecycle: model["lifecycle"].as_str().unwrap_or("active").to_owned(),
                retires_at: model["retires_at"].as_str().map(str::to_owned),
            });
        }
        match (page["has_more"].as_bool(), page["last_id"].as_str()) {
            (Some(true), Some(last)) => after = Some(last.to_owned()),
            _ => break,
        }
    }
    Ok(models)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(id: &str, lifecycle: &str, retires_at: Option<&str>) -> ModelChoice {
        ModelChoice {
            id: id.into(),
            display_name: id.into(),
            lifecycle: lifecycle.into(),
            retires_at: retires_at.map(Into::into),
        }
    }

    #[test]
    fn models_that_are_going_away_say_so_and_are_not_the_default() {
        let retiring = model("claude-sonnet-4-5", "deprecated", Some("2026-11-30T00:00:00Z"));
        assert_eq!(retiring.warning().as_deref(), Some("deprecated, retires on 2026-11-30"));
        assert_eq!(retiring.label(), "claude-sonnet-4-5 (deprecated, retires on 2026-11-30)");
        assert_eq!(model("claude-x", "active", None).warning(), None);
        let models = [model("scripted", "active", None), retiring, model("claude-opus-5", "active", None)];
        assert_eq!(default_model(&models), Some("claude-opus-5"));
        assert_eq!(default_model(&models[..2]), Some("scripted"));
        assert_eq!(default_model(&[]), None);
    }
}
