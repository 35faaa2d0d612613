//! How numbers, sizes, durations, times and content blocks read in the console. Plain functions,
//! used on both sides.

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
#[cfg(feature = "server")]
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

/// Where to go after signing in or deciding by a plain form: a path on this server, never another
/// site (`//evil.example`); `/` for anything else.
pub fn safe_next(next: &str) -> String {
    let next = next.trim();
    // A path on this server only: no `//host`, no backslashes or control characters, which
    // browsers drop or turn into slashes (`/\t/evil.example` becomes `//evil.example`).
    let plain = next.chars().all(|c| c.is_ascii_graphic() && c != '\\');
    if plain && next.starts_with('/') && !next.starts_with("//") && !next.starts_with("/auth/") {
        next.to_owned()
    } else {
        "/".to_owned()
    }
}

/// A list cost as the API sends it (minor units as an integer string).
pub fn list_cost(cost: &protocol::usage::ListCost) -> String {
    self::cost(cost.amount.parse().unwrap_or(0.0), &cost.currency)
}

/// `{amount, currency}` as JSON (minor units, as the API sends list costs) in words.
pub fn json_cost(cost: &serde_json::Value) -> Option<String> {
    let amount = amount_of(cost)?;
    let currency = cost.get("currency").and_then(serde_json::Value::as_str).unwrap_or("USD");
    Some(self::cost(amount, currency))
}

/// A cost's `amount` (minor units, an integer string or a number).
pub fn amount_of(cost: &serde_json::Value) -> Option<f64> {
    match cost.get("amount")? {
        serde_json::Value::String(s) => s.parse::<f64>().ok(),
        other => other.as_f64(),
    }
}

/// `minor` units (cents) of `currency` in words: dollars as [`usd`], other currencies with two
/// decimals and their code.
pub fn cost(minor: f64, currency: &str) -> String {
    if currency == "USD" { usd(minor / 100.0) } else { format!("{:.2} {currency}", minor / 100.0) }
}

/// An RFC 3339 timestamp (as the API writes them) in milliseconds since the epoch.
pub fn parse_rfc3339_ms(text: &str) -> Option<f64> {
    let b = text.as_bytes();
    let num = |r: std::ops::Range<usize>| text.get(r)?.parse::<i64>().ok();
    if b.len() < 19 {
        return None;
    }
    let (y, mo, d, h, mi, s) = (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = &text[19..];
    let mut fraction = 0.0;
    if let Some(stripped) = rest.strip_prefix('.') {
        let digits = stripped.find(|c: char| !c.is_ascii_digit()).unwrap_or(stripped.len());
        fraction = format!("0.{}", &stripped[..digits]).parse().unwrap_or(0.0);
        rest = &stripped[digits..];
    }
    let offset_min = match rest {
        "Z" | "z" | "" => 0,
        _ => {
            let sign = if rest.starts_with('-') { -1 } else { 1 };
            let hh = rest.get(1..3)?.parse::<i64>().ok()?;
            let mm = rest.get(4..6).and_then(|m| m.parse::<i64>().ok()).unwrap_or(0);
            sign * (hh * 60 + mm)
        }
    };
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let seconds = days * 86_400 + h * 3600 + mi * 60 + s - offset_min * 60;
    Some((seconds as f64 + fraction) * 1000.0)
}

/// A browser's user agent in a few words, "Chrome 156 on Linux", for lists of sign-ins and audit
/// entries (the whole string is their title). Unknown agents keep their first word.
pub fn browser(agent: &str) -> String {
    let version = |name: &str| {
        agent.split_whitespace().find_map(|part| part.strip_prefix(name)?.strip_prefix('/')).map(|v| {
            let major = v.split('.').next().unwrap_or(v);
            format!("{} {major}", name.trim_end_matches("Mobile"))
        })
    };
    // Edge and Opera say Chrome too, and Chrome says Safari: the most specific name first.
    let name = [("Edg", "Edge"), ("OPR", "Opera"), ("Firefox", ""), ("Chrome", ""), ("Version", "Safari")]
        .into_iter()
        .find_map(|(token, shown)| {
            version(token).map(|v| if shown.is_empty() { v } else { v.replacen(token, shown, 1) })
        });
    let os = [
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Android", "Android"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ]
    .into_iter()
    .find(|(token, _)| agent.contains(token))
    .map(|(_, os)| os);
    match (name, os) {
        (Some(name), Some(os)) => format!("{name} on {os}"),
        (Some(name), None) => name,
        _ => agent.split_whitespace().next().unwrap_or("unknown").chars().take(40).collect(),
    }
}

/// The text of content blocks (a plain string as it is); other blocks by their kind and source.
pub fn text_of(blocks: Option<&serde_json::Value>) -> String {
    blocks
        .and_then(serde_json::Value::as_array)
        .map(|blocks| {
            blocks
                .iter()
                .map(|b| match b.get("type").and_then(serde_json::Value::as_str) {
                    Some("text") => b.get("text").and_then(serde_json::Value::as_str).unwrap_or_default().to_owned(),
                    Some("image") | Some("document") => format!(
                        "[{} {}]",
                        b["type"].as_str().unwrap_or_default(),
                        b.pointer("/source/file_id").and_then(serde_json::Value::as_str).unwrap_or("(inline)")
                    ),
                    Some("redacted") => "[redacted]".to_owned(),
                    Some(other) => format!("[{other}]"),
                    None => String::new(),
                })
                .collect::<Vec<_>>()
                .join("\n\n")
        })
        .or_else(|| blocks.and_then(serde_json::Value::as_str).map(str::to_owned))
        .unwrap_or_default()
}

/// A duration in words: "850 ms", "12.4 s", "3 min 05 s".
pub fn duration(ms: f64) -> String {
    if ms < 1000.0 {
        format!("{} ms", ms.round() as i64)
    } else if ms < 60_000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else {
        let s = (ms / 1000.0).round() as i64;
        if s < 3600 {
            format!("{} min {:02} s", s / 60, s % 60)
        } else {
            format!("{} h {:02} min", s / 3600, (s % 3600) / 60)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(850.0), "850 ms");
        assert_eq!(duration(12_400.0), "12.4 s");
        assert_eq!(duration(185_000.0), "3 min 05 s");
    }

    #[test]
    fn next_pages_stay_on_this_server() {
        assert_eq!(safe_next("/sessions/sesn_1?x=1"), "/sessions/sesn_1?x=1");
        assert_eq!(safe_next("//evil.example/"), "/");
        assert_eq!(safe_next("https://evil.example/"), "/");
        assert_eq!(safe_next("/\\evil.example"), "/");
        assert_eq!(safe_next("/\t/evil.example"), "/");
        assert_eq!(safe_next("/%09/evil.example"), "/%09/evil.example", "still a path here, and encoded");
        assert_eq!(safe_next(""), "/");
    }

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
        assert_eq!(cost(0.25, "USD"), "$0.0025");
        assert_eq!(cost(1234.0, "EUR"), "12.34 EUR");
    }

    #[test]
    fn timestamps_parse_to_milliseconds() {
        assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:01Z"), Some(1000.0));
        assert_eq!(parse_rfc3339_ms("1970-01-01T01:00:00+01:00"), Some(0.0));
        let a = parse_rfc3339_ms("2026-11-21T10:00:00.250Z").unwrap();
        let b = parse_rfc3339_ms("2026-11-21T10:01:00.750000Z").unwrap();
        assert_eq!(b - a, 60_500.0);
        assert_eq!(parse_rfc3339_ms("yesterday"), None);
    }

    #[test]
    fn a_user_agent_is_named_by_its_browser_and_system() {
        let chrome =
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.8078.73 Safari/537.36";
        assert_eq!(browser(chrome), "Chrome 156 on Linux");
        let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91";
        assert_eq!(browser(edge), "Edge 120 on Windows");
        let firefox = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.1; rv:121.0) Gecko/20100101 Firefox/121.0";
        assert_eq!(browser(firefox), "Firefox 121 on macOS");
        let safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";
        assert_eq!(browser(safari), "Safari 17 on iOS");
        assert_eq!(browser("curl/8.5.0"), "curl/8.5.0");
        assert_eq!(browser(""), "unknown");
    }
}
