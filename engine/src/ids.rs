//! Identifiers and timestamps in the API's forms.

use rand::Rng;
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A new opaque id such as `sesn_01Hx…`: the prefix, an underscore and 24 random base-62 characters.
pub fn new_id(prefix: &str) -> String {
    let mut rng = rand::rng();
    let mut id = String::with_capacity(prefix.len() + 25);
    id.push_str(prefix);
    id.push('_');
    for _ in 0..24 {
        id.push(ALPHABET[rng.random_range(0..ALPHABET.len())] as char);
    }
    id
}

/// A random secret of `len` base-62 characters (API keys).
pub fn secret(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

/// A moment as the store keeps it (microseconds since the epoch) and as the API writes it.
#[derive(Debug, Clone)]
pub struct Now {
    pub micros: i64,
    pub text: String,
}

pub fn now() -> Now {
    let micros = (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000) as i64;
    Now { micros, text: format_micros(micros) }
}

/// RFC 3339 in UTC with microseconds, e.g. `2026-11-21T09:30:00.123456Z`: fixed width, so the
/// strings sort as the moments do.
pub fn format_micros(micros: i64) -> String {
    let at = OffsetDateTime::from_unix_timestamp_nanos(micros as i128 * 1000).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.microsecond()
    )
}

/// Seconds from `text` (an RFC 3339 time) until now; never negative.
pub fn seconds_since(text: &str) -> Option<f64> {
    let then = parse_datetime(text)?;
    Some(((now().micros - then) as f64 / 1e6).max(0.0))
}

/// Parses a datetime of a query filter (`created_at[gte]=…`). Accepts RFC 3339 and the naive
/// ISO 8601 form Python's `isoformat()` writes for a datetime without a zone (read as UTC).
pub fn parse_datetime(text: &str) -> Option<i64> {
    let parsed =
        OffsetDateTime::parse(text, &Rfc3339).or_else(|_| OffsetDateTime::parse(&format!("{text}Z"), &Rfc3339));
    let parsed = parsed.or_else(|_| OffsetDateTime::parse(&format!("{text}T00:00:00Z"), &Rfc3339)).ok()?;
    Some((parsed.unix_timestamp_nanos() / 1000) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_their_prefix_and_differ() {
        let a = new_id("sesn");
        assert!(a.starts_with("sesn_") && a.len() == 29, "{a}");
        assert_ne!(a, new_id("sesn"));
    }

    #[test]
    fn timestamps_round_trip_through_the_filter_parser() {
        let now = now();
        assert_eq!(parse_datetime(&now.text), Some(now.micros));
        assert_eq!(parse_datetime("2026-01-02T03:04:05"), parse_datetime("2026-01-02T03:04:05Z"));
        assert_eq!(parse_datetime("2026-01-02T03:04:05+01:00"), parse_datetime("2026-01-02T02:04:05Z"));
        assert_eq!(parse_datetime("yesterday"), None);
    }
}
