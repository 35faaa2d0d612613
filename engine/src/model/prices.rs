//! List prices per model, from `prices.json` (one file, with its source and date). A model not in
//! it has no public list price: its usage has no `list_cost`, and a budget cannot cover it
//! (`model_not_budgetable`).
//!
//! Costs are counted exactly in micro-cents (a millionth of a US cent): a price of N cents per
//! million tokens is N micro-cents per token.

use std::{collections::HashMap, sync::LazyLock};

use serde::Deserialize;

use super::stream::Usage;

#[derive(Debug, Clone, Copy, Deserialize)]
struct Rates {
    input: u64,
    output: u64,
    cache_write: u64,
    cache_read: u64,
}

#[derive(Debug, Deserialize)]
struct Price {
    #[serde(flatten)]
    rates: Rates,
    /// Dearer rates for a request whose input is larger than `above_input_tokens`.
    long_context: Option<LongContext>,
}

#[derive(Debug, Deserialize)]
struct LongContext {
    above_input_tokens: u64,
    #[serde(flatten)]
    rates: Rates,
}

#[derive(Debug, Deserialize)]
struct Table {
    models: HashMap<String, Price>,
}

static TABLE: LazyLock<Table> =
    LazyLock::new(|| serde_json::from_str(include_str!("prices.json")).expect("prices.json parses"));

/// Whether `model` has a list price.
pub fn priced(model: &str) -> bool {
    TABLE.models.contains_key(model)
}

/// What one request's `usage` costs on `model`, in micro-cents; `None` when it has no price.
pub fn cost(model: &str, usage: &Usage) -> Option<u64> {
    let price = TABLE.models.get(model)?;
    let input = usage.input_tokens + usage.cache_read_input_tokens + usage.cache_creation_input_tokens;
    let rates = match &price.long_context {
        Some(long) if input > long.above_input_tokens => long.rates,
        _ => price.rates,
    };
    Some(
        usage.input_tokens * rates.input
            + usage.output_tokens * rates.output
            + usage.cache_creation_input_tokens * rates.cache_write
            + usage.cache_read_input_tokens * rates.cache_read,
    )
}

/// Micro-cents as the API's `list_cost.amount`: whole cents, rounded up, so that what is shown
/// is never less than what was spent.
pub fn cents(micro_cents: u64) -> String {
    micro_cents.div_ceil(1_000_000).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_is_priced_per_kind_of_token() {
        let usage = Usage {
            input_tokens: 1_000_000,
            output_tokens: 100_000,
            cache_read_input_tokens: 1_000_000,
            cache_creation_input_tokens: 0,
        };
        // $3 + $1.50 + $0.30 on Sonnet 4.6.
        assert_eq!(cost("claude-sonnet-4-6", &usage).map(cents).as_deref(), Some("480"));
        // Above 200,000 input tokens Sonnet 4.5 costs $6 / $22.50 / $0.60.
        assert_eq!(cost("claude-sonnet-4-5", &usage).map(cents).as_deref(), Some("885"));
        assert_eq!(cost("scripted", &usage), Some(0));
        assert_eq!(cost("claude-unknown-9", &usage), None);
        assert!(priced("claude-haiku-4-5") && !priced("claude-unknown-9"));
        assert_eq!(cents(1), "1");
        assert_eq!(cents(0), "0");
    }
}
