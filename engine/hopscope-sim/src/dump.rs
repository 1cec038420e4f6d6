//! A participant's data in the dump formats people actually have: Chrome's
//! webrtc-internals "Create Dump" file and the rtcstats v3 line dump Jitsi's collectors
//! write, so the readers for them are exercised on every scenario, not only on captures.
//!
//! Both are written from the participant's native envelopes, so all three formats carry the
//! same reports and events. What a format cannot carry is left out, as the real ones leave
//! it out: webrtc-internals has no place for the application's events (`feedback`) and
//! keeps the configuration instead of a `create` event. rtcstats' delta compression has no
//! word for a field that stops being reported (`framesPerSecond` when frames stop): it is
//! written as `null`, which the reader takes as unknown, rather than left at its last value.

use std::collections::BTreeMap;

use hopscope_model::Timestamp;
use serde_json::{Map, Value, json};

use crate::output::ParticipantOutput;

/// How a participant's data is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DumpFormat {
    /// hopscope observation NDJSON (`<name>.ndjson`).
    Native,
    /// Chrome's webrtc-internals dump, the current dialect (`<name>.webrtc-internals.json`).
    WebrtcInternals,
    /// rtcstats v3 with delta-compressed reports (`<name>.rtcstats`).
    Rtcstats,
}

impl DumpFormat {
    /// The file name suffix, dot included.
    pub fn extension(self) -> &'static str {
        match self {
            DumpFormat::Native => ".ndjson",
            DumpFormat::WebrtcInternals => ".webrtc-internals.json",
            DumpFormat::Rtcstats => ".rtcstats",
        }
    }
}

/// The page the call ran on, as dumps record it.
const PAGE_URL: &str = "https://meet.example.com/call";
const ORIGIN: &str = "https://meet.example.com";

impl ParticipantOutput {
    /// This participant's data in `format`.
    pub fn dump(&self, format: DumpFormat) -> String {
        match format {
            DumpFormat::Native => self.ndjson.clone(),
            DumpFormat::WebrtcInternals => webrtc_internals(&Parsed::new(self)),
            DumpFormat::Rtcstats => rtcstats(&Parsed::new(self)),
        }
    }
}

/// One thing the collector recorded.
enum Item {
    /// A participant-level event (media requests, feedback).
    Client { at: f64, kind: String, value: Value },
    /// A peer-connection event.
    Pc { at: f64, kind: String, value: Value },
    /// A `getStats()` report, its objects in report order.
    Stats { at: f64, objects: Vec<Map<String, Value>> },
}

impl Item {
    fn at(&self) -> f64 {
        match self {
            Item::Client { at, .. } | Item::Pc { at, .. } | Item::Stats { at, .. } => *at,
        }
    }
}

/// A participant's envelopes, read back.
struct Parsed {
    name: String,
    user: Option<String>,
    conference: Option<String>,
    user_agent: Option<String>,
    items: Vec<Item>,
}

impl Parsed {
    fn new(p: &ParticipantOutput) -> Parsed {
        let mut out = Parsed {
            name: p.name.clone(),
            user: None,
            conference: None,
            user_agent: None,
            items: Vec::new(),
        };
        for line in p.ndjson.lines() {
            // Our own output: every line is an envelope object.
            let Ok(Value::Object(env)) = serde_json::from_str::<Value>(line) else { continue };
            let text = |k: &str| env.get(k).and_then(Value::as_str).map(String::from);
            out.conference = out.conference.take().or_else(|| text("conference"));
            out.user = out.user.take().or_else(|| text("user"));
            if out.user_agent.is_none() {
                out.user_agent = env
                    .get("client")
                    .and_then(|c| c.get("userAgent"))
                    .and_then(Value::as_str)
                    .map(String::from);
            }
            let at = env.get("timestamp").and_then(Value::as_f64).unwrap_or(0.0);
            let on_pc = env.get("pc").is_some();
            // Events ride on the report that follows them: they come first.
            for e in env.get("events").and_then(Value::as_array).into_iter().flatten() {
                let kind = e.get("type").and_then(Value::as_str).unwrap_or_default().to_string();
                let at = e.get("timestamp").and_then(Value::as_f64).unwrap_or(at);
                let value = e.get("value").cloned().unwrap_or(Value::Null);
                out.items.push(if on_pc {
                    Item::Pc { at, kind, value }
                } else {
                    Item::Client { at, kind, value }
                });
            }
            if let Some(stats) = env.get("stats").and_then(Value::as_array) {
                let objects = stats.iter().filter_map(|o| o.as_object().cloned()).collect();
                out.items.push(Item::Stats { at, objects });
            }
        }
        out.items.sort_by(|a, b| a.at().total_cmp(&b.at()));
        out
    }
}

/// Callbacks carry `on` in both dump formats; method calls do not.
fn dump_event_name(kind: &str) -> String {
    const CALLBACKS: [&str; 8] = [
        "negotiationneeded",
        "signalingstatechange",
        "icegatheringstatechange",
        "icecandidate",
        "track",
        "iceconnectionstatechange",
        "connectionstatechange",
        "icecandidateerror",
    ];
    if CALLBACKS.contains(&kind) { format!("on{kind}") } else { kind.to_string() }
}

/// `audio:<track> stream:<stream>` → (kind, track, stream).
fn track_parts(text: &str) -> Option<(&str, &str, &str)> {
    let (kind_track, stream) = text.split_once(" stream:")?;
    let (kind, track) = kind_track.split_once(':')?;
    Some((kind, track, stream))
}

/// A process id for the dump: stable per participant, like a renderer's pid.
fn pid(name: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    10_000 + h % 50_000
}

fn iso(ms: f64) -> String {
    Timestamp::from_epoch_ms(ms).map(Timestamp::to_rfc3339).unwrap_or_default()
}

/// The webrtc-internals dump: `getUserMedia` requests, one `PeerConnections` entry with its
/// configuration, its `updateLog` (values JSON-encoded into strings, states quoted) and
/// its stats stored column-wise (`<id>-<field>` → `values`, a JSON array in a string).
fn webrtc_internals(p: &Parsed) -> String {
    let pid = pid(&p.name);
    let mut gum: Vec<Value> = Vec::new();
    let mut log: Vec<Value> = Vec::new();
    let mut configuration: Option<String> = None;
    let mut series = Series::default();
    let mut request_id = 0u64;
    let mut last = 0.0f64;
    for item in &p.items {
        last = last.max(item.at());
        match item {
            Item::Client { at, kind, value } => {
                if let Some(entry) = media_request(kind, value, *at, pid, &mut request_id) {
                    gum.push(entry);
                }
            }
            Item::Pc { at, kind, value } => {
                if kind == "create" {
                    configuration = Some(chrome_configuration(value));
                    continue;
                }
                log.push(
                    json!({"type": dump_event_name(kind), "value": log_value(kind, value), "timestamp": at}),
                );
            }
            Item::Stats { objects, .. } => series.add(objects),
        }
    }
    let mut dump = Map::new();
    dump.insert("getUserMedia".into(), Value::Array(gum));
    let mut pcs = Map::new();
    if configuration.is_some() || !log.is_empty() || !series.is_empty() {
        let mut pc = Map::new();
        pc.insert("pid".into(), json!(pid));
        pc.insert("rtcConfiguration".into(), json!(configuration.unwrap_or_else(|| "{}".into())));
        pc.insert("stats".into(), Value::Object(series.finish()));
        pc.insert("updateLog".into(), Value::Array(log));
        pc.insert("url".into(), json!(PAGE_URL));
        pcs.insert(format!("{pid}-1"), Value::Object(pc));
    }
    dump.insert("PeerConnections".into(), Value::Object(pcs));
    if let Some(ua) = &p.user_agent {
        dump.insert("UserAgent".into(), json!(ua));
    }
    dump.insert("timestamp".into(), json!(last));
    Value::Object(dump).to_string()
}

/// The stats of a connection, column-wise.
#[derive(Default)]
struct Series {
    /// `<id>-<field>` → (stats type, first and last time, values).
    columns: BTreeMap<String, (String, f64, f64, Vec<Value>)>,
    /// Each remote object's last timestamp: it is recorded only when a new RTCP report
    /// changed it (repeating it would give the reader duplicate times to align on).
    remote_seen: BTreeMap<String, f64>,
}

impl Series {
    fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    fn add(&mut self, objects: &[Map<String, Value>]) {
        for o in objects {
            let (Some(id), Some(kind)) =
                (o.get("id").and_then(Value::as_str), o.get("type").and_then(Value::as_str))
            else {
                continue;
            };
            let Some(at) = o.get("timestamp").and_then(Value::as_f64) else { continue };
            if kind.starts_with("remote-") {
                if self.remote_seen.get(id) == Some(&at) {
                    continue;
                }
                self.remote_seen.insert(id.to_string(), at);
            }
            for (field, value) in o {
                if field == "id" || field == "type" {
                    continue;
                }
                let column = self
                    .columns
                    .entry(format!("{id}-{field}"))
                    .or_insert_with(|| (kind.to_string(), at, at, Vec::new()));
                column.2 = at;
                column.3.push(value.clone());
            }
        }
    }

    fn finish(self) -> Map<String, Value> {
        self.columns
            .into_iter()
            .map(|(key, (kind, start, end, values))| {
                let values = Value::Array(values).to_string();
                let column = json!({"startTime": iso(start), "endTime": iso(end), "statsType": kind, "values": values});
                (key, column)
            })
            .collect()
    }
}

/// Chrome's `rtcConfiguration`: a JSON string, URLs as lists, no credentials.
fn chrome_configuration(value: &Value) -> String {
    let mut config = value.clone();
    if let Some(servers) = config.get_mut("iceServers").and_then(Value::as_array_mut) {
        for s in servers {
            if let Some(o) = s.as_object_mut() {
                o.remove("credential");
                if let Some(Value::String(url)) = o.get("urls").cloned() {
                    o.insert("urls".into(), json!([url]));
                }
            }
        }
    }
    config.to_string()
}

/// An `updateLog` value: a string, holding JSON for anything but `null` (empty).
fn log_value(kind: &str, value: &Value) -> String {
    match (kind, value) {
        (_, Value::Null) => String::new(),
        ("track" | "addTrack", Value::String(s)) => match track_parts(s) {
            Some((k, id, stream)) => {
                let mut o = json!({"kind": k, "id": id, "streams": [stream]});
                if kind == "track" {
                    o["label"] = json!(format!("remote {k}"));
                }
                o.to_string()
            }
            None => s.clone(),
        },
        ("icecandidateerror", Value::Object(e)) => {
            let address = e.get("address").and_then(Value::as_str).unwrap_or_default();
            let port = e.get("port").and_then(Value::as_u64).unwrap_or_default();
            json!({
                "url": e.get("url"),
                "address": address,
                "port": port,
                "host_candidate": format!("{address}:{port}"),
                "error_text": e.get("errorText"),
                "error_code": e.get("errorCode"),
            })
            .to_string()
        }
        (k, Value::Object(e)) if k.ends_with("OnFailure") => {
            let name = e.get("name").and_then(Value::as_str).unwrap_or("Error");
            let message = e.get("message").and_then(Value::as_str).unwrap_or_default();
            format!("{name}: {message}")
        }
        // States are JSON-quoted (Chrome 144+), objects JSON text.
        (_, v) => v.to_string(),
    }
}

/// A `getUserMedia` list entry for a media request event (`None` for other events).
fn media_request(kind: &str, value: &Value, at: f64, pid: u64, request_id: &mut u64) -> Option<Value> {
    let (request_type, step) = if let Some(step) = kind.strip_prefix("getUserMedia") {
        ("getUserMedia", step)
    } else if let Some(step) = kind.strip_prefix("getDisplayMedia") {
        ("getDisplayMedia", step)
    } else {
        return None;
    };
    let mut e = Map::new();
    e.insert("pid".into(), json!(pid));
    e.insert("rid".into(), json!(1));
    e.insert("request_type".into(), json!(request_type));
    e.insert("timestamp".into(), json!(at));
    match step {
        "" => {
            *request_id += 1;
            e.insert("origin".into(), json!(ORIGIN));
            e.insert("url".into(), json!(PAGE_URL));
            for media in ["audio", "video"] {
                match value.get(media) {
                    None | Some(Value::Null) | Some(Value::Bool(false)) => {}
                    Some(Value::Bool(true)) => {
                        e.insert(media.into(), json!(""));
                    }
                    Some(constraints) => {
                        e.insert(media.into(), json!(constraints.to_string()));
                    }
                }
            }
        }
        "OnSuccess" => {
            e.insert("stream_id".into(), value.get("id").cloned().unwrap_or(Value::Null));
            for t in value.get("tracks").and_then(Value::as_array).into_iter().flatten() {
                let Some(k) = t.get("kind").and_then(Value::as_str) else { continue };
                let info = json!({"id": t.get("id"), "label": t.get("label")}).to_string();
                e.insert(format!("{k}_track_info"), json!(info));
            }
        }
        "OnFailure" => {
            e.insert("error".into(), value.get("name").cloned().unwrap_or(json!("Error")));
            e.insert("error_message".into(), value.get("message").cloned().unwrap_or(json!("")));
        }
        _ => return None,
    }
    e.insert("request_id".into(), json!(request_id.saturating_sub(1)));
    Some(Value::Object(e))
}

/// The rtcstats v3 dump: `[method, pc, value, epochMs]` lines, the client's identity
/// first, `getstats` reports delta-compressed against the previous one (an object new to
/// the report in full, then only the fields that changed, its `timestamp` always, `null`
/// for a field gone).
fn rtcstats(p: &Parsed) -> String {
    let mut out = String::new();
    let first = p.items.first().map_or(0.0, Item::at).round();
    let mut line = |method: &str, pc: Option<&str>, value: &Value, at: f64| {
        let line = json!([method, pc, value, at.round() as i64]);
        out.push_str(&line.to_string());
        out.push('\n');
    };
    let info = json!({
        "userAgent": p.user_agent,
        "statsFormat": "chrome_standard",
        "clientProtocol": "3.1_STANDARD",
    });
    line("connectionInfo", None, &info, first);
    let mut identity = Map::new();
    if let Some(c) = &p.conference {
        identity.insert("confID".into(), json!(c));
        identity.insert("confName".into(), json!(c));
    }
    identity.insert("displayName".into(), json!(p.name));
    identity.insert("endpointId".into(), json!(p.name));
    if let Some(u) = &p.user {
        identity.insert("userId".into(), json!(u));
    }
    line("identity", None, &Value::Object(identity), first);
    let mut previous: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    for item in &p.items {
        match item {
            Item::Client { at, kind, value } => {
                let method = if kind.starts_with("getUserMedia") || kind.starts_with("getDisplayMedia") {
                    format!("navigator.mediaDevices.{kind}")
                } else {
                    kind.clone()
                };
                line(&method, None, value, *at);
            }
            Item::Pc { at, kind, value } => line(&dump_event_name(kind), Some("PC_0"), value, *at),
            Item::Stats { at, objects } => {
                let (delta, next) = compress(&previous, objects);
                previous = next;
                line("getstats", Some("PC_0"), &Value::Object(delta), *at);
            }
        }
    }
    out
}

/// One report against the previous one: `(delta, the report as the next one's base)`.
fn compress(
    previous: &BTreeMap<String, Map<String, Value>>,
    objects: &[Map<String, Value>],
) -> (Map<String, Value>, BTreeMap<String, Map<String, Value>>) {
    let mut delta = Map::new();
    let mut next = BTreeMap::new();
    let mut newest = f64::NEG_INFINITY;
    for o in objects {
        let Some(id) = o.get("id").and_then(Value::as_str) else { continue };
        let mut full = o.clone();
        full.remove("id");
        let mut changed = Map::new();
        match previous.get(id) {
            None => changed = full.clone(),
            Some(old) => {
                for (k, v) in &full {
                    if k == "timestamp" || old.get(k) != Some(v) {
                        changed.insert(k.clone(), v.clone());
                    }
                }
                for k in old.keys().filter(|k| !full.contains_key(*k)) {
                    changed.insert(k.clone(), Value::Null);
                }
            }
        }
        if let Some(t) = full.get("timestamp").and_then(Value::as_f64) {
            newest = newest.max(t);
        }
        delta.insert(id.to_string(), Value::Object(changed));
        next.insert(id.to_string(), full);
    }
    if newest.is_finite() {
        delta.insert("timestamp".into(), json!(newest));
    }
    (delta, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas_carry_only_changes_and_the_time() {
        let report = |t: f64, n: u64| {
            let o =
                json!({"id": "A", "type": "inbound-rtp", "timestamp": t, "packetsReceived": n, "ssrc": 1});
            vec![o.as_object().cloned().unwrap_or_default()]
        };
        let (first, base) = compress(&BTreeMap::new(), &report(1000.0, 10));
        assert_eq!(first["A"]["type"], "inbound-rtp");
        assert_eq!(first["timestamp"], 1000.0);
        let (second, base) = compress(&base, &report(2000.0, 20));
        assert_eq!(second["A"], json!({"timestamp": 2000.0, "packetsReceived": 20}));
        // A field that is no longer reported is cleared, not left at its last value.
        let mut fewer = report(3000.0, 30);
        fewer[0].remove("ssrc");
        let (third, _) = compress(&base, &fewer);
        assert_eq!(third["A"], json!({"timestamp": 3000.0, "packetsReceived": 30, "ssrc": null}));
    }

    #[test]
    fn updatelog_values_are_strings_in_chromes_shapes() {
        assert_eq!(log_value("iceconnectionstatechange", &json!("checking")), "\"checking\"");
        assert_eq!(log_value("close", &Value::Null), "");
        let track: Value =
            serde_json::from_str(&log_value("track", &json!("audio:t1 stream:s1"))).unwrap_or_default();
        assert_eq!(track, json!({"kind": "audio", "id": "t1", "label": "remote audio", "streams": ["s1"]}));
        let err = json!({"address": "192.168.1.x", "port": 5000, "url": "turn:x", "errorCode": 401, "errorText": "Unauthorized."});
        let err: Value = serde_json::from_str(&log_value("icecandidateerror", &err)).unwrap_or_default();
        assert_eq!(err["error_code"], 401);
        assert_eq!(err["host_candidate"], "192.168.1.x:5000");
    }
}
