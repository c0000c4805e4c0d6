//! `now`, `date` and `parseDate`: dates print as ISO 8601 without fractions (UTC as `Z`,
//! otherwise the offset they were parsed with); `format` takes Java date patterns
//! (`yyyy-MM-dd HH:mm`), `epoch` (milliseconds) or `unix` (seconds); `offset` is
//! `N unit` (seconds … years, months clamped to the end of the month); `timezone` an IANA
//! zone.

use super::helpers::Args;
use super::value::Value;
use jiff::{Span, Timestamp, Zoned, tz::TimeZone};

type Out = Result<Value, String>;

pub(crate) fn call(name: &str, a: &Args<'_>) -> Out {
    match name {
        // In UTC directly: `Zoned::now` would look up the system time zone first.
        "now" => {
            let z = Timestamp::now().to_zoned(TimeZone::UTC);
            format(offset(z, a)?, a)
        }
        "parseDate" => {
            let text = a.params.first().map(Value::render).unwrap_or_default();
            Ok(
                match parse(&text, a.hash.get("format").map(Value::render).as_deref()) {
                    Some(z) => Value::str(iso(&z)),
                    None => Value::Null,
                },
            )
        }
        _ => {
            // date DATE: a date printed by parseDate or now, or today when absent.
            let z = a
                .params
                .first()
                .map(Value::render)
                .and_then(|t| parse(&t, None))
                .unwrap_or_else(|| Timestamp::now().to_zoned(TimeZone::UTC));
            format(offset(z, a)?, a)
        }
    }
}

fn offset(z: Zoned, a: &Args<'_>) -> Result<Zoned, String> {
    let Some(text) = a.hash.get("offset").map(Value::render) else {
        return Ok(z);
    };
    let mut parts = text.split_whitespace();
    let (Some(n), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!(
            "offset \"{text}\": give it as \"N unit\", e.g. \"3 days\" or \"-1 months\""
        ));
    };
    let n: i64 = n
        .parse()
        .map_err(|_| format!("offset \"{text}\": \"{n}\" is not a whole number"))?;
    let span = match unit.trim_end_matches('s') {
        "second" => Span::new().try_seconds(n),
        "minute" => Span::new().try_minutes(n),
        "hour" => Span::new().try_hours(n),
        "day" => Span::new().try_days(n),
        "month" => Span::new().try_months(n),
        "year" => Span::new().try_years(n),
        _ => {
            return Err(format!(
                "offset \"{text}\": the unit is seconds, minutes, hours, days, months or years"
            ));
        }
    }
    .map_err(|e| format!("offset \"{text}\": {e}"))?;
    z.checked_add(span)
        .map_err(|e| format!("offset \"{text}\": {e}"))
}

fn format(z: Zoned, a: &Args<'_>) -> Out {
    // A parsed date keeps its own zone; `timezone` applies to `now` (as in WireMock).
    let zone = a.hash.get("timezone").filter(|_| a.params.is_empty());
    let z = match zone.map(Value::render) {
        Some(tz) => {
            let zone = TimeZone::get(&tz).map_err(|_| format!("\"{tz}\" is not a time zone"))?;
            z.with_time_zone(zone)
        }
        None => z,
    };
    Ok(match a.hash.get("format").map(Value::render).as_deref() {
        None => Value::str(iso(&z)),
        Some("epoch") => Value::Int(z.timestamp().as_millisecond()),
        Some("unix") => Value::Int(z.timestamp().as_second()),
        Some(pattern) => Value::str(z.strftime(&java_pattern(pattern)).to_string()),
    })
}

/// `2026-11-30T10:00:00Z`, or with the offset the date carries.
fn iso(z: &Zoned) -> String {
    if z.offset().seconds() == 0 {
        z.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
    } else {
        z.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
    }
}

fn parse(text: &str, format: Option<&str>) -> Option<Zoned> {
    let text = text.trim();
    match format {
        Some("epoch") => {
            return Timestamp::from_millisecond(text.parse().ok()?)
                .ok()
                .map(|t| t.to_zoned(TimeZone::UTC));
        }
        Some("unix") => {
            return Timestamp::from_second(text.parse().ok()?)
                .ok()
                .map(|t| t.to_zoned(TimeZone::UTC));
        }
        Some(p) => {
            let f = java_pattern(p);
            if let Ok(z) = Zoned::strptime(&f, text) {
                return Some(z);
            }
            return jiff::civil::DateTime::strptime(&f, text)
                .or_else(|_| {
                    jiff::civil::Date::strptime(&f, text)
                        .map(|d| d.to_datetime(jiff::civil::Time::midnight()))
                })
                .ok()?
                .to_zoned(TimeZone::UTC)
                .ok();
        }
        None => {}
    }
    // ISO 8601 with an offset, then the HTTP date forms WireMock reads.
    if let Ok(ts) = text.parse::<Timestamp>() {
        let offset = iso_offset(text);
        return Some(ts.to_zoned(TimeZone::fixed(offset)));
    }
    for f in ["%a, %d %b %Y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"] {
        if let Ok(dt) = jiff::civil::DateTime::strptime(f, text) {
            return dt.to_zoned(TimeZone::UTC).ok();
        }
    }
    None
}

/// The offset an ISO text was written with (`Z` or `+02:00`).
fn iso_offset(text: &str) -> jiff::tz::Offset {
    if text.ends_with('Z') || text.ends_with('z') {
        return jiff::tz::Offset::UTC;
    }
    let tail = &text[text.len().saturating_sub(6)..];
    let sign = match tail.as_bytes().first() {
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => return jiff::tz::Offset::UTC,
    };
    let (h, m) = tail[1..].split_once(':').unwrap_or(("0", "0"));
    let secs = sign * (h.parse::<i32>().unwrap_or(0) * 3600 + m.parse::<i32>().unwrap_or(0) * 60);
    jiff::tz::Offset::from_seconds(secs).unwrap_or(jiff::tz::Offset::UTC)
}

/// A Java `DateTimeFormatter` pattern as a strftime format.
pub(crate) fn java_pattern(p: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = p.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                if chars[i] == '%' {
                    out.push('%');
                }
                out.push(chars[i]);
                i += 1;
            }
            i += 1;
            continue;
        }
        let mut n = 1;
        while i + n < chars.len() && chars[i + n] == c {
            n += 1;
        }
        let piece = match (c, n) {
            ('y', 2) => "%y",
            ('y' | 'u', _) => "%Y",
            ('M', 1) => "%-m",
            ('M', 2) => "%m",
            ('M', 3) => "%b",
            ('M', _) => "%B",
            ('d', 1) => "%-d",
            ('d', _) => "%d",
            ('H', 1) => "%-H",
            ('H', _) => "%H",
            ('h', 1) => "%-I",
            ('h', _) => "%I",
            ('m', 1) => "%-M",
            ('m', _) => "%M",
            ('s', 1) => "%-S",
            ('s', _) => "%S",
            ('S', _) => "%3f",
            ('a', _) => "%p",
            ('E', 4..) => "%A",
            ('E', _) => "%a",
            ('Z', _) => "%z",
            ('X' | 'x', 1) => "%z",
            ('X' | 'x', _) => "%:z",
            ('z', _) => "%Z",
            ('%', _) => "%%",
            _ => {
                for _ in 0..n {
                    out.push(c);
                }
                i += n;
                continue;
            }
        };
        out.push_str(piece);
        i += n;
    }
    out
}
