//! How numbers, sizes and times read in the console. Plain functions, used on both sides.

/// `1536` → `"1.5 KiB"`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} bytes");
    }
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    let digits = if value >= 100.0 || value.fract() == 0.0 { 0 } else { 1 };
    format!("{value:.digits$} {}", UNITS[unit])
}

/// `12345` → `"12,345"`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// An RFC 3339 timestamp as `2026-11-21 10:18 UTC` (what the API sends, shortened; the full value
/// stays in the element's `datetime`).
pub fn timestamp(rfc3339: &str) -> String {
    match (rfc3339.get(..10), rfc3339.get(11..16)) {
        (Some(date), Some(time)) => format!("{date} {time} UTC"),
        _ => rfc3339.to_owned(),
    }
}

/// A list cost in US dollars.
pub fn usd(amount: f64) -> String {
    if amount == 0.0 {
        "$0.00".to_owned()
    } else if amount < 0.01 {
        format!("${amount:.4}")
    } else {
        format!("${amount:.2}")
    }
}

/// `at` as the API and Switchboard's database write times: RFC 3339, UTC.
#[cfg(feature = "ssr")]
pub fn rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// `text` as one value of a URL query: everything but unreserved characters percent-encoded, so a
/// cursor with `+`, `=` or `&` survives the round trip through a link.
pub fn query_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A list cost as the API sends it (minor units as an integer string).
pub fn list_cost(cost: &protocol::usage::ListCost) -> String {
    let minor: f64 = cost.amount.parse().unwrap_or(0.0);
    if cost.currency == "USD" { usd(minor / 100.0) } else { format!("{:.2} {}", minor / 100.0, cost.currency) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_counts_and_times_read_naturally() {
        assert_eq!(bytes(512), "512 bytes");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(100 * 1024 * 1024), "100 MiB");
        assert_eq!(count(0), "0");
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(timestamp("2026-11-21T10:18:21.123Z"), "2026-11-21 10:18 UTC");
        assert_eq!(usd(0.0), "$0.00");
        assert_eq!(usd(1.234), "$1.23");
        assert_eq!(query_value("page_a+b/c=="), "page_a%2Bb%2Fc%3D%3D");
    }
}
