//! Chrome webrtc-internals "Create Dump" files, and the old processed rtcstats-server JSON
//! (`peerConnections: {PC_0: [{time, type, value}]}`) which shares their first byte.
//!
//! A dump stores stats column-wise: `"<statsId>-<metric>" → {startTime, endTime,
//! statsType?, values: "<JSON array as a string>"}`. We split keys on the **last** `-`
//! (ids contain `-`, `;`, `/`, `=`), decode `values` a second time, align each metric to the
//! object's `-timestamp` series from the end (metrics start late and are ragged), or spread
//! points between startTime and endTime when there is no timestamp series (Chrome 86),
//! and rebuild the reports row by row.

use std::borrow::Cow;
use std::collections::BTreeMap;

use hopscope_model::Timestamp;
use hopscope_model::events::{EventKind, MediaRequestSource, Outcome};
use serde::Deserialize;
use serde::de::DeserializeSeed;
use serde_json::Value;

use crate::builder::ParticipantBuilder;
use crate::error::{IngestError, Location};
use crate::fields::{RawStats, Slot, StatsKind, slot_for};
use crate::json::{NumValue, ReportSeed, TextValue, coerce_number};

#[derive(Deserialize)]
struct Dump<'a> {
    #[serde(rename = "getUserMedia", default)]
    get_user_media: Vec<Value>,
    #[serde(rename = "PeerConnections", default, borrow)]
    peer_connections: BTreeMap<String, Pc<'a>>,
    #[serde(rename = "UserAgent")]
    user_agent: Option<String>,
    #[serde(rename = "UserAgentData")]
    user_agent_data: Option<Value>,
    // The processed rtcstats-server format.
    #[serde(rename = "peerConnections", default)]
    processed: BTreeMap<String, Vec<ProcessedEntry>>,
    #[serde(rename = "userAgent")]
    processed_user_agent: Option<String>,
    url: Option<String>,
}

#[derive(Deserialize)]
struct Pc<'a> {
    url: Option<String>,
    #[serde(rename = "rtcConfiguration")]
    rtc_configuration: Option<Value>,
    #[serde(rename = "updateLog", default)]
    update_log: Vec<LogEntry>,
    #[serde(default, borrow)]
    stats: BTreeMap<Cow<'a, str>, Series<'a>>,
}

#[derive(Deserialize)]
struct LogEntry {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    value: Value,
    time: Option<Value>,
    timestamp: Option<Value>,
}

#[derive(Deserialize)]
struct Series<'a> {
    #[serde(rename = "startTime")]
    start_time: Option<Value>,
    #[serde(rename = "endTime")]
    end_time: Option<Value>,
    #[serde(rename = "statsType")]
    stats_type: Option<String>,
    #[serde(borrow)]
    values: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct ProcessedEntry {
    time: Option<Value>,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    value: Value,
}

/// A time that may be epoch ms (number or numeric string) or ISO-8601.
fn parse_time(v: &Value) -> Option<Timestamp> {
    match v {
        Value::Number(n) => n.as_f64().and_then(Timestamp::from_epoch_ms),
        Value::String(s) => {
            Timestamp::parse_rfc3339(s).or_else(|| coerce_number(s).and_then(Timestamp::from_epoch_ms))
        }
        _ => None,
    }
}

/// Reads a webrtc-internals dump (or processed rtcstats JSON) into `builder`.
pub(crate) fn read(
    source_name: &str,
    text: &str,
    builder: &mut ParticipantBuilder,
) -> Result<(), IngestError> {
    let dump: Dump = serde_json::from_str(text).map_err(|e| {
        IngestError::from_json(
            source_name,
            &e,
            "a webrtc-internals dump object with PeerConnections and getUserMedia",
        )
    })?;
    if let Some(ua) = dump.user_agent.as_deref().or(dump.processed_user_agent.as_deref()) {
        builder.user_agent(ua);
    }
    if let Some(url) = &dump.url {
        builder.origin(url);
    }
    if dump.user_agent.is_none()
        && let Some(brand) = brand_version(dump.user_agent_data.as_ref())
    {
        builder.user_agent(&brand);
    }
    for entry in &dump.get_user_media {
        media_entry(builder, entry);
    }
    // Keys are "<renderer pid>-<lid>": order them numerically, not as text.
    let mut pcs: Vec<(&String, &Pc)> = dump.peer_connections.iter().collect();
    pcs.sort_by_key(|(k, _)| pc_order(k));
    for (key, pc) in pcs {
        read_pc(builder, key, pc);
    }
    for (key, entries) in &dump.processed {
        read_processed_pc(source_name, builder, key, entries);
    }
    for entry in dump.get_user_media.iter().filter(|e| e.get("type").is_some() && e.get("time").is_some()) {
        // The processed format's getUserMedia list is {time, type, value}.
        if let (Some(t), Some(kind)) =
            (entry.get("time").and_then(parse_time), entry.get("type").and_then(Value::as_str))
        {
            builder.event(None, t, kind, entry.get("value").unwrap_or(&Value::Null));
        }
    }
    Ok(())
}

fn pc_order(key: &str) -> (u64, u64, String) {
    let mut parts = key.splitn(2, '-');
    let a = parts.next().and_then(|p| p.parse().ok()).unwrap_or(u64::MAX);
    let b = parts.next().and_then(|p| p.parse().ok()).unwrap_or(u64::MAX);
    (a, b, key.to_string())
}

/// `Chromium 142.0.7426.0` from UserAgentData (an object with `brands`, or a bare array).
fn brand_version(data: Option<&Value>) -> Option<String> {
    let data = data?;
    let brands = data.get("brands").or(Some(data)).and_then(Value::as_array)?;
    brands.iter().find_map(|b| {
        let brand = b.get("brand")?.as_str()?;
        let version = b.get("version")?.as_str()?;
        matches!(brand, "Chromium" | "Google Chrome" | "Microsoft Edge")
            .then(|| format!("Chrome/{version} ({brand})"))
    })
}

/// One getUserMedia/getDisplayMedia request or result.
fn media_entry(builder: &mut ParticipantBuilder, entry: &Value) {
    let Some(at) = entry.get("timestamp").and_then(parse_time) else { return };
    let source = match entry.get("request_type").and_then(Value::as_str) {
        Some("getDisplayMedia") => MediaRequestSource::DisplayMedia,
        Some(_) => MediaRequestSource::UserMedia,
        None => return,
    };
    let text = |k: &str| entry.get(k).and_then(Value::as_str).filter(|s| !s.is_empty() && *s != "null");
    let (outcome, detail) = if let Some(err) = text("error") {
        let message = text("error_message").map(|m| format!("{err}: {m}")).unwrap_or_else(|| err.to_string());
        (Outcome::Failed(message), None)
    } else if entry.get("stream_id").is_some()
        || entry.get("audio_track_info").is_some()
        || entry.get("video_track_info").is_some()
    {
        let mut kinds = Vec::new();
        if text("audio_track_info").is_some() {
            kinds.push("audio");
        }
        if text("video_track_info").is_some() {
            kinds.push("video");
        }
        (Outcome::Succeeded, (!kinds.is_empty()).then(|| kinds.join("+")))
    } else {
        // Constraints are strings; a key that is present was requested (`""` means
        // `true`, i.e. default constraints), an absent key was not.
        let mut kinds = Vec::new();
        if entry.get("audio").is_some_and(|a| !a.is_null() && a.as_str() != Some("false")) {
            kinds.push("audio");
        }
        if entry.get("video").is_some_and(|v| !v.is_null() && v.as_str() != Some("false")) {
            kinds.push("video");
        }
        (Outcome::Started, (!kinds.is_empty()).then(|| kinds.join("+")))
    };
    builder.push_client_event(at, EventKind::MediaRequest { source, outcome, detail });
}

fn read_pc(builder: &mut ParticipantBuilder, key: &str, pc: &Pc) {
    if let Some(url) = &pc.url {
        builder.origin(url);
    }
    if let Some(config) = pc.rtc_configuration.as_ref().and_then(crate::builder::parse_configuration) {
        builder.pc(key).set_configuration(config);
    } else {
        builder.pc(key);
    }
    for entry in &pc.update_log {
        let at = entry
            .timestamp
            .as_ref()
            .and_then(parse_time)
            .or_else(|| entry.time.as_ref().and_then(parse_time));
        let Some(at) = at else { continue };
        if !builder.event(Some(key), at, &entry.kind, &entry.value) {
            builder.pc(key).event(
                at,
                EventKind::Other {
                    name: entry.kind.clone(),
                    detail: crate::events::short_text(&entry.value, 120),
                },
            );
        }
    }
    let reports = rebuild_reports(builder, key, &pc.stats);
    for (time, objects) in reports {
        builder.pc(key).push_report(time, objects.iter().map(|(id, r)| (id.as_str(), r)));
    }
}

/// A decoded `values` array: numbers take the fast path, anything else stays JSON.
enum Column {
    Numbers(Vec<f64>),
    Values(Vec<Value>),
}

impl Column {
    fn decode(s: &Series) -> Option<Column> {
        let text = s.values.as_deref()?;
        match serde_json::from_str::<Vec<f64>>(text) {
            Ok(v) => Some(Column::Numbers(v)),
            Err(_) => serde_json::from_str::<Vec<Value>>(text).ok().map(Column::Values),
        }
    }

    fn len(&self) -> usize {
        match self {
            Column::Numbers(v) => v.len(),
            Column::Values(v) => v.len(),
        }
    }
}

/// Rebuilds per-poll reports from the column store.
fn rebuild_reports(
    builder: &mut ParticipantBuilder,
    pc_key: &str,
    stats: &BTreeMap<Cow<str>, Series>,
) -> Vec<(Timestamp, Vec<(String, RawStats)>)> {
    let mut by_id: BTreeMap<&str, Vec<(&str, &Series)>> = BTreeMap::new();
    for (key, series) in stats {
        let Some((id, metric)) = split_key(key) else { continue };
        by_id.entry(id).or_default().push((metric, series));
    }
    let mut rows: Vec<(Timestamp, bool, String, RawStats)> = Vec::new();
    let mut bad_values = 0usize;
    for (id, metrics) in &by_id {
        let stats_type = metrics.iter().find_map(|(_, s)| s.stats_type.as_deref());
        let kind = stats_type.map(StatsKind::parse).or_else(|| kind_from_id(id, metrics));
        let Some(kind) = kind else { continue };
        if kind == StatsKind::Ignored {
            continue;
        }
        // Timestamps: the object's own series, else spread over [startTime, endTime].
        let times: Vec<Timestamp> = match metrics.iter().find(|(m, _)| *m == "timestamp") {
            Some((_, s)) => match Column::decode(s) {
                Some(Column::Numbers(v)) => v.into_iter().filter_map(Timestamp::from_epoch_ms).collect(),
                Some(Column::Values(v)) => {
                    v.iter().filter_map(|x| x.as_f64().and_then(Timestamp::from_epoch_ms)).collect()
                }
                None => Vec::new(),
            },
            None => {
                let longest = metrics
                    .iter()
                    .filter(|(m, _)| !m.starts_with('['))
                    .filter_map(|(_, s)| Some((Column::decode(s)?.len(), s)))
                    .max_by_key(|(n, _)| *n);
                match longest {
                    Some((n, s)) => spread(n, s),
                    None => Vec::new(),
                }
            }
        };
        if times.is_empty() {
            continue;
        }
        let mut objects: Vec<RawStats> = (0..times.len())
            .map(|i| {
                let mut r = RawStats::default();
                r.kind = Some(kind);
                r.timestamp = Some(times[i].epoch_ms());
                r
            })
            .collect();
        for (metric, series) in metrics {
            // Only decode what we read: most series are fields hopscope does not use.
            let slot = slot_for(metric);
            if slot.is_none() && *metric != "qualityLimitationDurations" {
                continue;
            }
            let Some(column) = Column::decode(series) else {
                bad_values += 1;
                continue;
            };
            // Align: the series ends at its endTime; fall back to the end of the timestamps.
            let last = series
                .end_time
                .as_ref()
                .and_then(parse_time)
                .map(|end| nearest(&times, end))
                .unwrap_or(times.len() - 1);
            let first = (last + 1).saturating_sub(column.len());
            let skip = column.len().saturating_sub(last + 1);
            match (&column, slot) {
                (Column::Numbers(values), Some(Slot::Num(n))) => {
                    for (offset, v) in values.iter().skip(skip).enumerate() {
                        let Some(obj) = objects.get_mut(first + offset) else { break };
                        obj.note_field(Slot::Num(n));
                        obj.set_num(n, Some(*v));
                    }
                }
                (Column::Numbers(values), _) => {
                    for (offset, v) in values.iter().skip(skip).enumerate() {
                        let Some(obj) = objects.get_mut(first + offset) else { break };
                        set_field(obj, metric, &Value::from(*v));
                    }
                }
                (Column::Values(values), _) => {
                    for (offset, value) in values.iter().skip(skip).enumerate() {
                        let Some(obj) = objects.get_mut(first + offset) else { break };
                        set_field(obj, metric, value);
                    }
                }
            }
        }
        let remote = matches!(kind, StatsKind::RemoteInboundRtp | StatsKind::RemoteOutboundRtp);
        for (i, obj) in objects.into_iter().enumerate() {
            rows.push((times[i], remote, (*id).to_string(), obj));
        }
    }
    if bad_values > 0 {
        builder.note(
            Some(format!("PeerConnections.{pc_key}.stats")),
            format!("{bad_values} series with undecodable values skipped"),
        );
    }
    // Polls: the times of local objects; remote-* objects carry RTCP arrival times, so they
    // join the first poll at or after them.
    let mut polls: Vec<Timestamp> = rows.iter().filter(|r| !r.1).map(|r| r.0).collect();
    polls.sort();
    polls.dedup_by(|a, b| a.seconds_since(*b).abs() < 0.05);
    let mut reports: BTreeMap<Timestamp, Vec<(String, RawStats)>> = BTreeMap::new();
    for (t, remote, id, obj) in rows {
        let poll = if remote {
            let i = polls.partition_point(|p| *p < t);
            polls.get(i).copied().unwrap_or(t)
        } else {
            polls.get(nearest(&polls, t)).copied().filter(|p| p.seconds_since(t).abs() < 0.6).unwrap_or(t)
        };
        reports.entry(poll).or_default().push((id, obj));
    }
    reports.into_iter().collect()
}

/// `"<statsId>-<metric>"` → (id, metric). Ids contain `-`, `;`, `/`, `=`; metric names
/// never do, except the page's derived series in brackets
/// (`[framesReceived-framesDecoded-framesDropped]`), which start at `-[`.
fn split_key(key: &str) -> Option<(&str, &str)> {
    match key.find("-[") {
        Some(i) => Some((&key[..i], &key[i + 1..])),
        None => key.rsplit_once('-'),
    }
}

/// Index of the time nearest to `t` in sorted `times` (which is not empty).
fn nearest(times: &[Timestamp], t: Timestamp) -> usize {
    let i = times.partition_point(|x| *x < t);
    if i == 0 {
        return 0;
    }
    if i >= times.len() {
        return times.len() - 1;
    }
    if t.seconds_since(times[i - 1]) <= times[i].seconds_since(t) { i - 1 } else { i }
}

/// `n` points spread evenly over a series' [startTime, endTime] (about 1 s apart).
fn spread(n: usize, s: &Series) -> Vec<Timestamp> {
    let start = s.start_time.as_ref().and_then(parse_time);
    let end = s.end_time.as_ref().and_then(parse_time);
    match (start, end, n) {
        (_, _, 0) => Vec::new(),
        (_, Some(e), 1) => vec![e],
        (Some(a), Some(e), n) => {
            let step = e.seconds_since(a) * 1000.0 / (n - 1) as f64;
            (0..n).map(|i| a.plus_ms(step * i as f64)).collect()
        }
        (None, Some(e), n) => (0..n).map(|i| e.plus_ms(-1000.0 * (n - 1 - i) as f64)).collect(),
        _ => Vec::new(),
    }
}

fn set_field(obj: &mut RawStats, metric: &str, value: &Value) {
    if metric == "qualityLimitationDurations" {
        let mut d = hopscope_model::stats::QualityLimitationDurations::default();
        let o = crate::events::decode_nested(value);
        let get = |k: &str| o.get(k).and_then(Value::as_f64).unwrap_or(0.0);
        if o.is_object() {
            d.none_s = get("none");
            d.cpu_s = get("cpu");
            d.bandwidth_s = get("bandwidth");
            d.other_s = get("other");
            obj.quality_limitation_durations = Some(d);
        }
        return;
    }
    let Some(slot) = slot_for(metric) else { return };
    obj.note_field(slot);
    match slot {
        Slot::Num(n) => {
            let v = NumValue.deserialize(value).ok().flatten();
            obj.set_num(n, v);
        }
        Slot::Text(t) => {
            let v = TextValue.deserialize(value).ok().flatten();
            obj.set_text(t, v);
        }
    }
}

/// Old dumps have no `statsType`: infer it from the id scheme and the metrics present.
fn kind_from_id(id: &str, metrics: &[(&str, &Series)]) -> Option<StatsKind> {
    let has = |m: &str| metrics.iter().any(|(x, _)| *x == m);
    let is_remote_flagged = || {
        metrics
            .iter()
            .find(|(m, _)| *m == "isRemote")
            .and_then(|(_, s)| s.values.as_deref())
            .is_some_and(|v| v.contains("true"))
    };
    let kind = if id.starts_with("RTCInboundRTP") {
        StatsKind::InboundRtp
    } else if id.starts_with("RTCOutboundRTP") {
        StatsKind::OutboundRtp
    } else if id.starts_with("RTCRemoteInboundRtp") {
        StatsKind::RemoteInboundRtp
    } else if id.starts_with("RTCRemoteOutboundRTP") {
        StatsKind::RemoteOutboundRtp
    } else if id.starts_with("RTCIceCandidatePair") {
        StatsKind::CandidatePair
    } else if id.starts_with("RTCIceCandidate_") {
        if is_remote_flagged() { StatsKind::RemoteCandidate } else { StatsKind::LocalCandidate }
    } else if id.starts_with("RTCTransport") {
        StatsKind::Transport
    } else if id.starts_with("RTCCodec") {
        StatsKind::Codec
    } else if id.starts_with("RTCMediaStreamTrack") {
        StatsKind::Track
    } else if id.starts_with("RTCAudioSource") || id.starts_with("RTCVideoSource") {
        StatsKind::MediaSource
    } else if has("packetsReceived") && has("ssrc") {
        StatsKind::InboundRtp
    } else if has("packetsSent") && has("ssrc") {
        StatsKind::OutboundRtp
    } else if has("localCandidateId") {
        StatsKind::CandidatePair
    } else if has("candidateType") {
        if is_remote_flagged() { StatsKind::RemoteCandidate } else { StatsKind::LocalCandidate }
    } else if has("selectedCandidatePairId") || has("dtlsState") {
        StatsKind::Transport
    } else if has("mimeType") {
        StatsKind::Codec
    } else {
        return None;
    };
    Some(kind)
}

/// The processed rtcstats-server format: a list of {time, type, value} per peer connection,
/// with full (not delta) reports in `getStats` entries.
fn read_processed_pc(
    source_name: &str,
    builder: &mut ParticipantBuilder,
    key: &str,
    entries: &[ProcessedEntry],
) {
    builder.pc(key);
    let mut out = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let Some(at) = entry.time.as_ref().and_then(parse_time) else {
            builder.note(Some(format!("peerConnections.{key}[{i}]")), "entry without a time skipped");
            continue;
        };
        if entry.kind.eq_ignore_ascii_case("getstats") {
            out.clear();
            match (ReportSeed { out: &mut out }).deserialize(&entry.value) {
                Ok(t) => {
                    let t = t.and_then(Timestamp::from_epoch_ms).unwrap_or(at);
                    builder.pc(key).push_report(t, out.iter().map(|(id, r)| (id.as_str(), r)));
                }
                Err(e) => builder.note(
                    Some(Location::Path(format!("peerConnections.{key}[{i}]")).to_string()),
                    format!("{source_name}: getStats entry unreadable: {e}"),
                ),
            }
        } else if !builder.event(Some(key), at, &entry.kind, &entry.value) {
            builder.pc(key).event(at, EventKind::Other { name: entry.kind.clone(), detail: None });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_split_on_the_last_dash_or_a_bracket() {
        assert_eq!(
            split_key("CIT01_111_minptime=10;useinbandfec=1-payloadType"),
            Some(("CIT01_111_minptime=10;useinbandfec=1", "payloadType"))
        );
        assert_eq!(split_key("RTCIceCandidate_a-b-c-port"), Some(("RTCIceCandidate_a-b-c", "port")));
        assert_eq!(
            split_key("IT01V123-[framesReceived-framesDecoded-framesDropped]"),
            Some(("IT01V123", "[framesReceived-framesDecoded-framesDropped]"))
        );
    }

    #[test]
    fn numeric_pc_order() {
        let mut keys = vec!["92-10", "92-2", "92-1"];
        keys.sort_by_key(|k| pc_order(k));
        assert_eq!(keys, vec!["92-1", "92-2", "92-10"]);
    }
}
