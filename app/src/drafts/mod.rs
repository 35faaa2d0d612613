//! Models of the console's forms: what a person edits and the exact request body it becomes.
//! Pure Rust, checked on both sides: in the browser before a request is sent, and again on the
//! server before it goes upstream.

pub mod agent;
pub mod environment;

use serde_json::{Map, Value};

use crate::error::AppError;

/// A form field that cannot become a request, with what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftError {
    /// The field's name in the form (`name`, `custom_tools.0`, `metadata`, `json`).
    pub field: String,
    pub message: String,
}

impl DraftError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

impl From<DraftError> for AppError {
    fn from(e: DraftError) -> Self {
        AppError::bad_input(e.field, e.message)
    }
}

/// The API's metadata limits: at most 16 pairs, keys 1–64 characters, values up to 512.
pub fn check_metadata(metadata: &Map<String, Value>) -> Result<(), DraftError> {
    if metadata.len() > 16 {
        return Err(DraftError::new(
            "metadata",
            format!("Metadata holds at most 16 entries; this has {}. Remove some.", metadata.len()),
        ));
    }
    for (key, value) in metadata {
        if key.is_empty() || key.chars().count() > 64 {
            return Err(DraftError::new("metadata", format!("The metadata key {key:?} must be 1–64 characters long.")));
        }
        let Some(value) = value.as_str() else {
            return Err(DraftError::new("metadata", format!("The metadata value of {key:?} must be text.")));
        };
        if value.chars().count() > 512 {
            return Err(DraftError::new(
                "metadata",
                format!("The metadata value of {key:?} is longer than 512 characters."),
            ));
        }
    }
    Ok(())
}

/// The `agent` of a session or deployment body: the bare id when `version` is empty (the latest
/// version, pinned by the API), else `{type:"agent", id, version}`. Errors name `version_field`.
pub fn agent_reference(id: &str, version: &str, version_field: &str) -> Result<Value, DraftError> {
    match version.trim() {
        "" => Ok(Value::from(id.trim())),
        v => match v.parse::<u64>() {
            Ok(version) if version > 0 => {
                Ok(serde_json::json!({ "type": "agent", "id": id.trim(), "version": version }))
            }
            _ => Err(DraftError::new(version_field, format!("{v:?} is not a version number."))),
        },
    }
}

/// A budget typed in US dollars (`5`, `12.50`, `$3`) as the API's `budget`; `None` when empty.
pub fn budget_from_dollars(text: &str, field: &str) -> Result<Option<Value>, DraftError> {
    let dollars = text.trim().trim_start_matches('$');
    if dollars.is_empty() {
        return Ok(None);
    }
    let cents = dollars
        .parse::<f64>()
        .ok()
        .filter(|d| d.is_finite() && *d > 0.0)
        .map(|d| (d * 100.0).round() as u64)
        .ok_or_else(|| {
        DraftError::new(field, format!("{dollars:?} is not an amount of dollars, e.g. 5 or 12.50."))
    })?;
    Ok(Some(
        serde_json::json!({ "type": "limit", "max_list_cost": { "amount": cents.to_string(), "currency": "USD" } }),
    ))
}

/// A list typed into one text field: entries separated by whitespace, commas or lines.
pub fn entries(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || c == ',').filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// Lines of `key=value` (the metadata text areas) as a map; blank lines are skipped.
pub fn metadata_from_lines(text: &str) -> Result<Map<String, Value>, DraftError> {
    let mut map = Map::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(DraftError::new("metadata", format!("Metadata line {} needs the form key=value.", i + 1)));
        };
        if map.insert(key.trim().to_owned(), Value::String(value.trim().to_owned())).is_some() {
            return Err(DraftError::new("metadata", format!("The metadata key {:?} appears twice.", key.trim())));
        }
    }
    check_metadata(&map)?;
    Ok(map)
}

/// The `resources` of a session or deployment from the picked files and memory stores (the
/// stores mounted read-write, the API's default).
pub fn picked_resources(file_ids: &[String], memory_store_ids: &[String]) -> Vec<serde_json::Value> {
    let files = file_ids.iter().map(|id| serde_json::json!({ "type": "file", "file_id": id }));
    let stores = memory_store_ids.iter().map(|id| serde_json::json!({ "type": "memory_store", "memory_store_id": id }));
    files.chain(stores).collect()
}
