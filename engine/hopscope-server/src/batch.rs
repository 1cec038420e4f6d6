//! Reading an ingest request: gzip or plain; one observation, a JSON array of them, or
//! NDJSON. Every observation's envelope is checked before anything is stored, so a batch
//! is taken whole or refused whole with every problem listed (a collector retrying a fixed
//! batch never half-duplicates it).
//!
//! Only the envelope is checked here; the stats inside are read by ingest at evaluation,
//! where a problem in part of a report becomes a note rather than a lost call.

use std::collections::BTreeMap;
use std::io::Read;

use axum::http::StatusCode;
use hopscope_store::BatchPart;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::error::ApiError;

/// At most this many problems are listed in one error.
const MAX_DETAILS: usize = 20;

/// What the checks need to know.
#[derive(Clone, Copy, Debug)]
pub struct BatchLimits {
    /// Largest body after decompression.
    pub max_bytes: usize,
    /// Most observations.
    pub max_observations: usize,
    /// Largest distance from the server's clock, ms.
    pub max_skew_ms: f64,
}

/// A checked batch, split by conference.
#[derive(Debug)]
pub struct CheckedBatch {
    /// Per conference, in first-seen order.
    pub parts: Vec<BatchPart>,
    /// Relay (TURN) observations naming no conference, NDJSON: they join calls at
    /// evaluation, by participant or address.
    pub unfiled: Vec<u8>,
    /// How many observations `unfiled` holds.
    pub unfiled_observations: u32,
    /// Observations in all.
    pub observations: usize,
}

/// The envelope fields the server reads, kept loosely typed so a wrong type is reported
/// by field name.
#[derive(Deserialize)]
struct RawHeader<'a> {
    v: Option<serde_json::Value>,
    app: Option<serde_json::Value>,
    conference: Option<serde_json::Value>,
    participant: Option<serde_json::Value>,
    user: Option<serde_json::Value>,
    source: Option<serde_json::Value>,
    timestamp: Option<serde_json::Value>,
    #[serde(borrow)]
    stats: Option<&'a RawValue>,
}

struct Header<'a> {
    v: Option<u64>,
    app: Option<String>,
    conference: Option<String>,
    participant: Option<String>,
    user: Option<String>,
    source: Option<String>,
    timestamp: Option<f64>,
    stats: Option<&'a RawValue>,
}

fn type_name(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

fn text_field(name: &str, v: Option<serde_json::Value>) -> Result<Option<String>, String> {
    match v {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(format!("`{name}` must be a string, not {}", type_name(&other))),
    }
}

impl<'a> Header<'a> {
    fn parse(text: &'a str) -> Result<Header<'a>, String> {
        match serde_json::from_str::<RawHeader<'a>>(text) {
            Ok(raw) => Header::from_raw(raw),
            Err(e) => Err(Header::unreadable(text, &e)),
        }
    }

    /// Why `text`, which is JSON, is not an envelope.
    fn unreadable(text: &str, e: &serde_json::Error) -> String {
        if text.trim_start().starts_with('{') {
            format!("unreadable envelope: {e}")
        } else {
            "not an observation object".to_string()
        }
    }

    fn from_raw(raw: RawHeader<'a>) -> Result<Header<'a>, String> {
        let v = match raw.v {
            None | Some(serde_json::Value::Null) => None,
            Some(x) => {
                Some(x.as_u64().ok_or_else(|| format!("`v` must be a whole number, not {}", type_name(&x)))?)
            }
        };
        let timestamp = match raw.timestamp {
            None | Some(serde_json::Value::Null) => None,
            Some(x) => Some(x.as_f64().ok_or_else(|| {
                format!("`timestamp` must be a number (epoch milliseconds), not {}", type_name(&x))
            })?),
        };
        Ok(Header {
            v,
            app: text_field("app", raw.app)?,
            conference: text_field("conference", raw.conference)?,
            participant: text_field("participant", raw.participant)?,
            user: text_field("user", raw.user)?,
            source: text_field("source", raw.source)?,
            timestamp,
            stats: raw.stats,
        })
    }
}

/// Whether a body starts with gzip's magic bytes.
pub fn is_gzip(body: &[u8]) -> bool {
    body.starts_with(&[0x1f, 0x8b])
}

/// Decompresses a gzip body (by its magic bytes, whatever the headers say), refusing to
/// inflate past the limit.
pub fn decompress(body: &[u8], max_bytes: usize) -> Result<std::borrow::Cow<'_, [u8]>, ApiError> {
    if !is_gzip(body) {
        return Ok(std::borrow::Cow::Borrowed(body));
    }
    let mut out = Vec::new();
    let read = flate2::read::MultiGzDecoder::new(body).take(max_bytes as u64 + 1).read_to_end(&mut out);
    match read {
        Err(e) => Err(ApiError::bad_request(
            "bad_gzip",
            format!("the body looks gzip-compressed but does not inflate: {e}"),
        )
        .hint("send valid gzip, or plain JSON without the gzip magic bytes")),
        Ok(_) if out.len() > max_bytes => Err(too_large(max_bytes)),
        Ok(_) => Ok(std::borrow::Cow::Owned(out)),
    }
}

/// 413 for a body over the limit.
pub fn too_large(max_bytes: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        format!("the body is larger than {max_bytes} bytes (after decompression)"),
    )
    .hint("send smaller batches: one request every few seconds per client is plenty")
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

/// One observation of a body: the line it starts on, its text, and its envelope read.
struct Item<'a> {
    line: usize,
    text: &'a str,
    header: Result<Header<'a>, String>,
}

impl<'a> Item<'a> {
    fn of_raw(line: usize, raw: &'a RawValue) -> Item<'a> {
        Item { line, text: raw.get(), header: Header::parse(raw.get()) }
    }
}

/// The observations of a body. NDJSON, what collectors send, is read line by line straight
/// into envelopes, so a 13 KB report is scanned once; an array, or one pretty-printed
/// object, is split first and each observation read after.
fn split(text: &str) -> Result<Vec<Item<'_>>, ApiError> {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    let start = text.len() - trimmed.len();
    if trimmed.is_empty() {
        return Err(ApiError::bad_request("empty_batch", "the body holds no observations")
            .hint("send one observation, a JSON array of them, or NDJSON (one per line)"));
    }
    if trimmed.starts_with('[') {
        let list: Vec<&RawValue> = serde_json::from_str(trimmed).map_err(|e| {
            ApiError::bad_request(
                "bad_json",
                format!(
                    "the JSON array is malformed at line {}, column {}: {e}",
                    e.line() + line_of(text, start) - 1,
                    e.column()
                ),
            )
            .hint("send a JSON array of observation objects")
        })?;
        return Ok(list
            .into_iter()
            .map(|raw| Item::of_raw(line_of(text, raw.get().as_ptr() as usize - text.as_ptr() as usize), raw))
            .collect());
    }
    let first_line = line_of(text, start);
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (i, line) in trimmed.split('\n').enumerate() {
        let (number, line) = (first_line + i, line.trim());
        if line.is_empty() {
            continue;
        }
        match serde_json::from_str::<RawHeader<'_>>(line) {
            Ok(raw) => out.push(Item { line: number, text: line, header: Header::from_raw(raw) }),
            // JSON, but not an envelope: named with the other problems of observations.
            Err(e) if e.is_data() => {
                out.push(Item { line: number, text: line, header: Err(Header::unreadable(line, &e)) })
            }
            // The first line ends mid-value: one object over several lines.
            Err(e) if e.is_eof() && i == 0 => {
                if let Ok(one) = serde_json::from_str::<&RawValue>(trimmed) {
                    return Ok(vec![Item::of_raw(first_line, one)]);
                }
                problems.push(format!("line {number}, column {}: {e}", e.column()));
            }
            Err(e) => problems.push(format!("line {number}, column {}: {e}", e.column())),
        }
        if problems.len() >= MAX_DETAILS {
            break;
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::bad_request(
            "bad_json",
            format!("{} line(s) of the NDJSON body are not JSON", problems.len()),
        )
        .hint("send one JSON object per line; nothing of this batch was stored")
        .details(problems));
    }
    Ok(out)
}

/// What the server files an observation by: its conference (none for a relay's that names
/// none) and the (user, participant) it names.
type Envelope = (Option<String>, Option<(String, String)>);

fn check_envelope(
    header: &Header<'_>,
    app: &str,
    now_ms: f64,
    limits: &BatchLimits,
) -> Result<Envelope, String> {
    if let Some(v) = header.v
        && v > hopscope_ingest::NATIVE_VERSION
    {
        return Err(format!(
            "envelope version {v} is newer than this server understands ({})",
            hopscope_ingest::NATIVE_VERSION
        ));
    }
    if let Some(theirs) = &header.app
        && theirs != app
    {
        return Err(format!("names app `{theirs}` but the key belongs to app `{app}`; use that app's key"));
    }
    let source = header.source.as_deref().unwrap_or("endpoint");
    if !matches!(source, "endpoint" | "sfu" | "turn") {
        return Err(format!("unknown source `{source}`; expected endpoint, sfu or turn"));
    }
    // Relays rarely know the call an allocation serves: theirs may name none.
    let conference = header.conference.as_deref();
    if conference.is_none() && source != "turn" {
        return Err("no `conference`: add the call's id so observations of one call come together".into());
    }
    if let Some(conference) = conference
        && (conference.is_empty() || conference.len() > 256 || conference.chars().any(char::is_control))
    {
        return Err("`conference` must be 1–256 printable characters".into());
    }
    let participant = header.participant.as_deref();
    if source == "endpoint" && participant.is_none_or(str::is_empty) {
        return Err("no `participant`: name who sent it (unique within the call)".into());
    }
    let Some(ts) = header.timestamp else {
        return Err("no `timestamp`: add when the collector made the observation, epoch milliseconds".into());
    };
    if !ts.is_finite() || ts <= 0.0 {
        return Err(format!("`timestamp` {ts} is not a time; send epoch milliseconds"));
    }
    if ts < 1e11 {
        return Err(format!("`timestamp` {ts} looks like seconds; send epoch milliseconds (×1000)"));
    }
    let skew = ts - now_ms;
    if skew.abs() > limits.max_skew_ms {
        let hours = skew.abs() / 3_600_000.0;
        let way = if skew > 0.0 { "ahead of" } else { "behind" };
        return Err(format!(
            "`timestamp` is {hours:.1} h {way} the server's clock (limit {:.0} h); check the collector's clock",
            limits.max_skew_ms / 3_600_000.0
        ));
    }
    if let Some(stats) = header.stats
        && !stats.get().starts_with(['{', '['])
    {
        return Err("`stats` must be a getStats() report: an object or an array of stats objects".into());
    }
    let user = match (&header.user, participant) {
        (Some(u), Some(p)) if !u.is_empty() => Some((u.clone(), p.to_string())),
        (Some(u), None) if !u.is_empty() => Some((u.clone(), String::new())),
        _ => None,
    };
    Ok((conference.map(str::to_string), user))
}

/// Checks a body and splits it by conference.
pub fn check(body: &[u8], app: &str, now_ms: i64, limits: &BatchLimits) -> Result<CheckedBatch, ApiError> {
    let body = decompress(body, limits.max_bytes)?;
    let text = std::str::from_utf8(&body).map_err(|e| {
        ApiError::bad_request("bad_utf8", format!("the body is not UTF-8 (byte {})", e.valid_up_to()))
            .hint("send JSON encoded as UTF-8")
    })?;
    let items = split(text)?;
    if items.len() > limits.max_observations {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "batch_too_large",
            format!("the batch holds {} observations; the limit is {}", items.len(), limits.max_observations),
        )
        .hint("split it into several requests"));
    }
    let mut parts: Vec<BatchPart> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    let (mut unfiled, mut unfiled_observations) = (Vec::new(), 0u32);
    let mut problems = Vec::new();
    let observations = items.len();
    for Item { line, text, header } in items {
        if problems.len() >= MAX_DETAILS {
            break;
        }
        let header = match header {
            Ok(h) => h,
            Err(why) => {
                problems.push(format!("observation at line {line}: {why}"));
                continue;
            }
        };
        let (conference, user) = match check_envelope(&header, app, now_ms as f64, limits) {
            Ok(filed) => filed,
            Err(why) => {
                problems.push(format!("observation at line {line}: {why}"));
                continue;
            }
        };
        let text = match as_line(text) {
            Ok(text) => text,
            Err(e) => {
                problems.push(format!("observation at line {line}: {e}"));
                continue;
            }
        };
        let Some(conference) = conference else {
            // A relay's observation naming no call: kept per app until calls claim it.
            unfiled.extend_from_slice(text.as_bytes());
            unfiled.push(b'\n');
            unfiled_observations += 1;
            continue;
        };
        let i = *index.entry(conference.clone()).or_insert_with(|| {
            parts.push(BatchPart { conference, ..BatchPart::default() });
            parts.len() - 1
        });
        let part = &mut parts[i];
        part.ndjson.extend_from_slice(text.as_bytes());
        part.ndjson.push(b'\n');
        part.observations += 1;
        if let Some(u) = user
            && !part.users.contains(&u)
        {
            part.users.push(u);
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_observation",
            format!("{} observation(s) of the batch are not valid; nothing of it was stored", problems.len()),
        )
        .hint(
            "fix them (sdk/schema/observation.schema.json describes the envelope) and resend the whole batch",
        )
        .details(problems));
    }
    Ok(CheckedBatch { parts, unfiled, unfiled_observations, observations })
}

/// An observation as one NDJSON line: pretty-printed inside an array, it is re-serialised
/// onto one line.
fn as_line(text: &str) -> Result<std::borrow::Cow<'_, str>, serde_json::Error> {
    if text.contains('\n') {
        Ok(std::borrow::Cow::Owned(serde_json::from_str::<serde_json::Value>(text)?.to_string()))
    } else {
        Ok(std::borrow::Cow::Borrowed(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: BatchLimits =
        BatchLimits { max_bytes: 1 << 20, max_observations: 100, max_skew_ms: 86_400_000.0 };
    const NOW: i64 = 1_790_000_000_000;

    fn obs(conference: &str, participant: &str, user: &str) -> String {
        format!(
            r#"{{"v":1,"conference":"{conference}","participant":"{participant}","user":"{user}","timestamp":{NOW},"pc":"pc1","stats":[]}}"#
        )
    }

    #[test]
    fn ndjson_array_and_single_object_split_by_conference() {
        let body = format!(
            "{}\n{}\n\n{}\n",
            obs("c1", "alice", "u1"),
            obs("c2", "bob", "u2"),
            obs("c1", "alice", "u1")
        );
        let b = check(body.as_bytes(), "prod", NOW, &LIMITS)
            .map_err(|e| e.message)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(b.observations, 3);
        assert_eq!(
            b.parts.iter().map(|p| (p.conference.as_str(), p.observations)).collect::<Vec<_>>(),
            [("c1", 2), ("c2", 1)]
        );
        assert_eq!(b.parts[0].users, vec![("u1".to_string(), "alice".to_string())]);
        let array = format!("[\n  {},\n  {}\n]", obs("c1", "a", "u"), obs("c1", "b", "u"));
        let b = check(array.as_bytes(), "prod", NOW, &LIMITS)
            .map_err(|e| e.message)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(b.parts[0].observations, 2);
        assert_eq!(b.parts[0].ndjson.iter().filter(|&&c| c == b'\n').count(), 2);
        let pretty = "{\n \"conference\": \"c9\", \"participant\": \"a\",\n \"timestamp\": 1790000000000 }";
        let b = check(pretty.as_bytes(), "prod", NOW, &LIMITS)
            .map_err(|e| e.message)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(b.parts[0].conference, "c9");
        assert!(!b.parts[0].ndjson[..b.parts[0].ndjson.len() - 1].contains(&b'\n'), "stored as one line");
    }

    #[test]
    fn gzip_bodies_inflate_within_the_limit() {
        use std::io::Write;
        let body = obs("c1", "alice", "u1");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        let _ = enc.write_all(body.as_bytes());
        let gz = enc.finish().unwrap_or_default();
        assert!(check(&gz, "prod", NOW, &LIMITS).is_ok());
        let bomb = {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            let _ = enc.write_all(&vec![b' '; 2 << 20]);
            enc.finish().unwrap_or_default()
        };
        let err = check(&bomb, "prod", NOW, &LIMITS).err().map(|e| (e.status, e.code));
        assert_eq!(err, Some((StatusCode::PAYLOAD_TOO_LARGE, "body_too_large")));
        assert_eq!(check(&[0x1f, 0x8b, 1, 2], "prod", NOW, &LIMITS).err().map(|e| e.code), Some("bad_gzip"));
    }

    #[test]
    fn ndjson_lines_are_read_as_envelopes_and_json_errors_still_name_their_line() {
        // A byte-order mark and blank lines before NDJSON: the lines keep their numbers.
        let body = format!("\u{feff}\n{}\n{}\n", obs("c1", "alice", "u1"), obs("c2", "bob", "u2"));
        let b = check(body.as_bytes(), "prod", NOW, &LIMITS)
            .map_err(|e| e.message)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(b.parts.iter().map(|p| p.conference.as_str()).collect::<Vec<_>>(), ["c1", "c2"]);
        assert_eq!(b.parts[1].ndjson, format!("{}\n", obs("c2", "bob", "u2")).into_bytes());
        // A first line cut short, then a good one: not one object over two lines, but JSON
        // broken on line 2 (after the mark's line).
        let cut = obs("c1", "alice", "u1");
        let body = format!("\n{}\n{}\n", &cut[..cut.len() - 1], obs("c1", "bob", "u1"));
        let err = check(body.as_bytes(), "prod", NOW, &LIMITS).err().unwrap_or_else(|| panic!("accepted"));
        assert_eq!((err.status, err.code), (StatusCode::BAD_REQUEST, "bad_json"));
        assert_eq!(err.details.len(), 1, "{:?}", err.details);
        assert!(err.details[0].starts_with("line 2, column"), "{:?}", err.details);
        // JSON that is no envelope (a field twice) is named among the observations' problems.
        let body = format!("{}\n{{\"conference\":\"c1\",\"conference\":\"c2\"}}", obs("c1", "a", "u"));
        let err = check(body.as_bytes(), "prod", NOW, &LIMITS).err().unwrap_or_else(|| panic!("accepted"));
        assert_eq!((err.status, err.code), (StatusCode::UNPROCESSABLE_ENTITY, "bad_observation"));
        assert!(
            err.details[0]
                .starts_with("observation at line 2: unreadable envelope: duplicate field `conference`"),
            "{:?}",
            err.details
        );
    }

    #[test]
    fn every_problem_is_named_with_its_line_and_nothing_is_taken() {
        let body = [
            obs("c1", "alice", "u1"),
            r#"{"conference":"c1","participant":"bob","timestamp":"soon"}"#.to_string(),
            r#"{"conference":"c1","participant":"bob","timestamp":1790000000}"#.to_string(),
            format!(r#"{{"conference":"c1","participant":"bob","timestamp":{}}}"#, NOW + 3 * 86_400_000),
            format!(r#"{{"app":"staging","conference":"c1","participant":"bob","timestamp":{NOW}}}"#),
            format!(r#"{{"participant":"bob","timestamp":{NOW}}}"#),
            format!(r#"{{"conference":"c1","timestamp":{NOW}}}"#),
            format!(r#"{{"v":2,"conference":"c1","participant":"bob","timestamp":{NOW}}}"#),
            "[1,2]".to_string(),
        ]
        .join("\n");
        let err = check(body.as_bytes(), "prod", NOW, &LIMITS).err().unwrap_or_else(|| panic!("accepted"));
        assert_eq!((err.status, err.code), (StatusCode::UNPROCESSABLE_ENTITY, "bad_observation"));
        let d = err.details.join("\n");
        for needle in [
            "line 2: `timestamp` must be a number (epoch milliseconds), not a string",
            "line 3: `timestamp` 1790000000 looks like seconds",
            "line 4: `timestamp` is 72.0 h ahead of the server's clock",
            "line 5: names app `staging` but the key belongs to app `prod`",
            "line 6: no `conference`",
            "line 7: no `participant`",
            "line 8: envelope version 2 is newer",
            "line 9: not an observation object",
        ] {
            assert!(d.contains(needle), "missing `{needle}` in:\n{d}");
        }
        assert_eq!(err.details.len(), 8);
        let bad_json = check(b"{\"a\":1}\n{oops\n", "prod", NOW, &LIMITS).err().map(|e| (e.code, e.details));
        assert!(matches!(bad_json, Some(("bad_json", d)) if d[0].starts_with("line 2")));
    }

    #[test]
    fn relay_observations_may_name_no_conference_and_are_kept_apart() {
        let relay = format!(
            r#"{{"v":1,"source":"turn","server":"turn-1","timestamp":{NOW},"allocations":[{{"relayAddress":"203.0.113.9:49152"}}]}}"#
        );
        let pretty = format!(
            "[{},\n{{\n  \"v\": 1,\n  \"source\": \"turn\",\n  \"timestamp\": {NOW},\n  \"errors\": []\n}}]",
            obs("c1", "alice", "u1")
        );
        let b = check(format!("{relay}\n{}\n", obs("c1", "alice", "u1")).as_bytes(), "prod", NOW, &LIMITS)
            .map_err(|e| e.message)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((b.observations, b.unfiled_observations), (2, 1));
        assert_eq!(b.unfiled, format!("{relay}\n").into_bytes());
        assert_eq!(b.parts.len(), 1);
        assert_eq!(b.parts[0].conference, "c1");
        // Pretty-printed in an array, a relay's observation is stored on one line too.
        let b = check(pretty.as_bytes(), "prod", NOW, &LIMITS)
            .map_err(|e| e.message)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(b.unfiled_observations, 1);
        assert_eq!(b.unfiled.iter().filter(|&&c| c == b'\n').count(), 1);
        // Endpoints and media servers still must name their call.
        let sfu = format!(r#"{{"v":1,"source":"sfu","timestamp":{NOW},"transports":[]}}"#);
        let err = check(sfu.as_bytes(), "prod", NOW, &LIMITS).err().map(|e| e.details.join("\n"));
        assert!(err.is_some_and(|d| d.contains("line 1: no `conference`")));
    }

    #[test]
    fn a_batch_of_many_bad_observations_names_the_first_twenty() {
        let body: String =
            (0..50).map(|_| format!("{{\"participant\":\"bob\",\"timestamp\":{NOW}}}\n")).collect();
        let err = check(body.as_bytes(), "prod", NOW, &LIMITS).err().map(|e| e.details);
        assert_eq!(err.as_ref().map(Vec::len), Some(MAX_DETAILS), "{err:?}");
        assert!(err.is_some_and(|d| d[19].starts_with("observation at line 20: no `conference`")));
    }

    #[test]
    fn too_many_observations_is_413() {
        let body: String = (0..101).map(|_| obs("c1", "a", "u") + "\n").collect();
        let err = check(body.as_bytes(), "prod", NOW, &LIMITS).err().map(|e| (e.status, e.code));
        assert_eq!(err, Some((StatusCode::PAYLOAD_TOO_LARGE, "batch_too_large")));
    }
}
