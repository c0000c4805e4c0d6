//! One expectation: its id, priority, times and time to live, around a request and an
//! action.

use super::*;

/// Converts one expectation. `now_ms` is the current time, for `timeToLive`.
pub fn expectation(v: &Value, pointer: &str, now_ms: u64) -> R<Converted> {
    let obj = v
        .as_object()
        .ok_or_else(|| refuse(pointer, "an expectation must be a JSON object"))?;
    known_fields(obj, pointer, EXPECTATION_FIELDS)?;
    let id = match obj.get("id") {
        None | Some(Value::Null) => uuid::Uuid::new_v4().to_string(),
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(_) => {
            return Err(refuse(
                &format!("{pointer}/id"),
                "must be a non-empty string",
            ));
        }
    };
    let priority = match obj.get("priority") {
        None | Some(Value::Null) => 0,
        Some(p) => p
            .as_i64()
            .and_then(|p| i32::try_from(p).ok())
            .ok_or_else(|| refuse(&format!("{pointer}/priority"), "must be an integer"))?,
    };
    let request = match obj.get("httpRequest") {
        None | Some(Value::Null) => HttpRequestMatcher::default(),
        Some(r) => request_matcher(r, &format!("{pointer}/httpRequest"))?,
    };
    let (response, forward) = action(obj, pointer)?;
    let times = times(obj.get("times"), &format!("{pointer}/times"))?;
    let expires_at = time_to_live(
        obj.get("timeToLive"),
        &format!("{pointer}/timeToLive"),
        now_ms,
    )?;
    if !ACTIONS
        .iter()
        .any(|a| obj.get(*a).is_some_and(|v| !v.is_null()))
    {
        return Err(refuse(
            pointer,
            format!(
                "an expectation needs an action: one of {}",
                ACTIONS.join(", ")
            ),
        ));
    }

    let mut echo = obj.clone();
    echo.insert("id".into(), Value::String(id.clone()));
    echo.insert("priority".into(), Value::from(priority));
    // As MockServer echoes them: unlimited or the remaining count, never both.
    let times_echo = match times {
        None => serde_json::json!({"unlimited": true}),
        Some(n) => serde_json::json!({"remainingTimes": n}),
    };
    echo.insert("times".into(), times_echo);
    echo.entry("timeToLive")
        .or_insert_with(|| serde_json::json!({"unlimited": true}));
    let echo = Value::Object(echo);
    let route = Route {
        scenario: None,
        fallback: false,
        id,
        name: route_name(obj),
        memo: String::new(),
        priority,
        enabled: true,
        times,
        tags: vec!["mockserver".into()],
        expires_at,
        origin: Some(Origin {
            format: "mockserver".into(),
            document: echo.clone(),
        }),
        http: Some(HttpRoute {
            sequence: None,
            request,
            response,
            alternatives: Vec::new(),
            forward,
            contract: None,
        }),
    };
    Ok(Converted { route, echo })
}

pub(crate) fn route_name(obj: &Map<String, Value>) -> String {
    let req = obj.get("httpRequest");
    let field = |k: &str| {
        req.and_then(|r| r.get(k))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let (method, path) = (field("method"), field("path"));
    match (method.is_empty(), path.is_empty()) {
        (true, true) => "MockServer expectation".into(),
        (true, false) => path,
        (false, true) => method,
        (false, false) => format!("{method} {path}"),
    }
}

pub(crate) fn times(v: Option<&Value>, pointer: &str) -> R<Option<u64>> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let obj = v
        .as_object()
        .ok_or_else(|| refuse(pointer, "must be an object like {\"remainingTimes\": 1}"))?;
    known_fields(obj, pointer, TIMES_FIELDS)?;
    if obj.get("unlimited").and_then(Value::as_bool) == Some(true) {
        return Ok(None);
    }
    match obj.get("remainingTimes") {
        None | Some(Value::Null) => Ok(None),
        Some(n) => n.as_u64().map(Some).ok_or_else(|| {
            refuse(
                &format!("{pointer}/remainingTimes"),
                "must be a non-negative integer",
            )
        }),
    }
}

pub(crate) fn unit_ms(unit: &str, value: f64, pointer: &str) -> R<f64> {
    let factor = match unit.to_ascii_uppercase().as_str() {
        "NANOSECONDS" => 1e-6,
        "MICROSECONDS" => 1e-3,
        "MILLISECONDS" => 1.0,
        "SECONDS" => 1e3,
        "MINUTES" => 60e3,
        "HOURS" => 3600e3,
        "DAYS" => 86_400e3,
        other => return Err(refuse(pointer, format!("unknown timeUnit \"{other}\""))),
    };
    Ok(value * factor)
}

pub(crate) fn time_to_live(v: Option<&Value>, pointer: &str, now_ms: u64) -> R<Option<String>> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let obj = object(v, pointer)?;
    known_fields(obj, pointer, TIME_TO_LIVE_FIELDS)?;
    if obj.get("unlimited").and_then(Value::as_bool) == Some(true) {
        return Ok(None);
    }
    let Some(amount) = obj.get("timeToLive").and_then(Value::as_f64) else {
        return Ok(None);
    };
    let unit = obj
        .get("timeUnit")
        .and_then(Value::as_str)
        .unwrap_or("SECONDS");
    let ms = unit_ms(unit, amount, &format!("{pointer}/timeUnit"))?;
    let at = now_ms.saturating_add(ms.max(0.0) as u64);
    // A time to live beyond the last representable instant (year 9999) never ends: it
    // is unlimited, not an overflow that expires at once.
    let Some(ts) = i64::try_from(at)
        .ok()
        .and_then(|at| jiff::Timestamp::from_millisecond(at).ok())
    else {
        return Ok(None);
    };
    Ok(Some(ts.to_string()))
}

/// `{"timeUnit": "MILLISECONDS", "value": 50}` → milliseconds.
pub(crate) fn delay_ms(v: Option<&Value>, pointer: &str) -> R<u64> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(0);
    };
    let obj = v.as_object().ok_or_else(|| {
        refuse(
            pointer,
            "must be an object like {\"timeUnit\": \"MILLISECONDS\", \"value\": 50}",
        )
    })?;
    let value = obj.get("value").and_then(Value::as_f64).unwrap_or(0.0);
    let unit = obj
        .get("timeUnit")
        .and_then(Value::as_str)
        .unwrap_or("MILLISECONDS");
    Ok(unit_ms(unit, value, &format!("{pointer}/timeUnit"))?
        .max(0.0)
        .round() as u64)
}
