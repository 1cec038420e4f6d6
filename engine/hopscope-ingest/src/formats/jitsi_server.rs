//! Jitsi server-side rtcstats dumps: `{"statsSessionId", "type": "identity"|"stats-entry",
//! "data"}` per line, where a stats entry's `data` is JSON inside a string.
//!
//! - **JVB** (Jitsi Videobridge): per-endpoint ICE transport counters and receive bitrates
//!   become SFU-side observations. Its transceiver node graphs, receiver video constraints
//!   and payload maps are free-form debug state and are not modelled (said so in the result).
//! - **Jicofo** (conference focus) and **Jigasi** (SIP gateway) carry signalling state and
//!   logs, no media statistics: they are recognised and described, not modelled.

use std::collections::BTreeMap;

use hopscope_model::Timestamp;
use hopscope_model::middlebox::{
    MiddleboxClient, MiddleboxClientSample, MiddleboxKind, MiddleboxObservation,
};
use serde::Deserialize;
use serde_json::Value;

use crate::error::{IngestError, Location, json_problem};

#[derive(Deserialize)]
struct Line {
    #[serde(rename = "type")]
    kind: String,
    data: Value,
}

/// What a server dump turned out to be.
pub(crate) struct ServerDump {
    /// Observations for SFU dumps.
    pub middlebox: Option<MiddleboxObservation>,
    /// Plain-English notes on what the file is and what was (not) read.
    pub notes: Vec<(Option<String>, String)>,
    /// Conference keys found.
    pub conference_keys: Vec<(String, String)>,
}

/// Reads a Jitsi server dump.
pub(crate) fn read(source_name: &str, text: &str) -> Result<ServerDump, IngestError> {
    let mut application = None;
    let mut server = None;
    let mut keys: Vec<(String, String)> = Vec::new();
    let mut endpoint_names: Vec<String> = Vec::new();
    let mut clients: BTreeMap<String, MiddleboxClient> = BTreeMap::new();
    let mut last: BTreeMap<String, MiddleboxClientSample> = BTreeMap::new();
    let mut entries = 0usize;
    let mut members = std::collections::BTreeSet::new();
    let mut notes = Vec::new();
    let mut ok = 0usize;
    let mut first_error = None;
    for (i, raw) in text.split('\n').enumerate() {
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        let line: Line = match serde_json::from_str(raw) {
            Ok(l) => l,
            Err(e) => {
                notes.push((
                    Some(Location::Line(i + 1).to_string()),
                    format!("line skipped: {}", json_problem(&e)),
                ));
                first_error.get_or_insert(IngestError::Malformed {
                    source_name: source_name.to_string(),
                    location: Location::LineColumn(i + 1, e.column()),
                    problem: json_problem(&e),
                    expected: "{\"statsSessionId\", \"type\", \"data\"}".into(),
                });
                continue;
            }
        };
        ok += 1;
        let data = crate::events::decode_nested(&line.data);
        match line.kind.as_str() {
            "identity" => {
                let s = |k: &str| data.get(k).and_then(Value::as_str).map(String::from);
                application = application.or(s("applicationName"));
                server = server.or(s("displayName"));
                for k in ["meetingUniqueId", "confName", "confUrl"] {
                    if let Some(v) = s(k)
                        && !keys.iter().any(|(a, b)| a == k && *b == v)
                    {
                        keys.push((k.to_string(), v));
                    }
                }
                for e in data.get("endpoints").and_then(Value::as_array).into_iter().flatten() {
                    if let Some(e) = e.as_str()
                        && !endpoint_names.iter().any(|n| n == e)
                    {
                        endpoint_names.push(e.to_string());
                    }
                }
            }
            "stats-entry" => {
                entries += 1;
                let Some(at) =
                    data.get("timestamp").and_then(Value::as_f64).and_then(Timestamp::from_epoch_ms)
                else {
                    if let Some(m) =
                        data.get("chat_room").and_then(|c| c.get("members")).and_then(Value::as_object)
                    {
                        members.extend(m.keys().cloned());
                    }
                    continue;
                };
                for (id, ep) in data.get("endpoints").and_then(Value::as_object).into_iter().flatten() {
                    // Entries are delta-like: only changed subtrees appear, so carry values over.
                    let prev = last.entry(id.clone()).or_default();
                    let mut s = prev.clone();
                    s.at = at;
                    if let Some(ice) = ep.get("iceTransport") {
                        let b = |k: &str| ice.get(k).and_then(Value::as_bool);
                        let n = |k: &str| ice.get(k).and_then(Value::as_f64);
                        s.ice_connected = b("iceConnected").or(s.ice_connected);
                        s.ice_failed = b("iceFailed").or(s.ice_failed);
                        s.packets_received = n("num_packets_received").or(s.packets_received);
                        s.packets_sent = n("num_packets_sent").or(s.packets_sent);
                    }
                    if let Some(rx) = ep.get("transceiver").and_then(|t| t.get(format!("RTP receiver {id}")))
                        && let Some(h) = rx.get("Packet handler stats")
                    {
                        s.bytes_received =
                            h.get("received_bytes").and_then(Value::as_f64).or(s.bytes_received);
                        s.receive_bitrate_bps = h
                            .get("received_bitrate_mbps")
                            .and_then(Value::as_f64)
                            .map(|m| m * 1e6)
                            .or(s.receive_bitrate_bps);
                    }
                    *prev = s.clone();
                    clients
                        .entry(id.clone())
                        .or_insert_with(|| MiddleboxClient { id: id.clone(), ..MiddleboxClient::default() })
                        .samples
                        .push(s);
                }
            }
            other => notes.push((
                Some(Location::Line(i + 1).to_string()),
                format!("unknown entry type `{other}` skipped"),
            )),
        }
    }
    if ok == 0 {
        return Err(
            first_error.unwrap_or_else(|| IngestError::Empty { source_name: source_name.to_string() })
        );
    }
    let app = application.clone().unwrap_or_else(|| "unknown".into());
    let server_name = server.clone().unwrap_or_else(|| "unknown server".into());
    match app.to_ascii_uppercase().as_str() {
        "JVB" => {
            notes.push((None, format!(
                "Jitsi Videobridge dump from {server_name}: {} stats entries, {} endpoints; read as SFU-side observations (ICE state, packets and bytes per endpoint transport)",
                entries,
                clients.len()
            )));
            let not_modelled = vec![
                "transceiver packet-pipeline node statistics (free-form debug state)".to_string(),
                "receiver video constraints".to_string(),
                "RTP payload-type maps and stream information store".to_string(),
                "message transport counters".to_string(),
            ];
            Ok(ServerDump {
                middlebox: Some(MiddleboxObservation {
                    kind: Some(MiddleboxKind::Sfu),
                    server: server_name,
                    software: Some("Jitsi Videobridge".into()),
                    conference_keys: keys.clone(),
                    clients: clients.into_values().collect(),
                    not_modelled,
                }),
                notes,
                conference_keys: keys,
            })
        }
        "JICOFO" => {
            notes.push((None, format!(
                "Jicofo (Jitsi conference focus) dump from {server_name}: {entries} entries of signalling state and logs for {} members; it carries no media statistics, so there is nothing to diagnose at the media level",
                members.len().max(endpoint_names.len())
            )));
            Ok(ServerDump { middlebox: None, notes, conference_keys: keys })
        }
        "JIGASI" => {
            notes.push((None, format!(
                "Jigasi (Jitsi SIP gateway) dump from {server_name}: identity lines only (caller, nickname); it carries no media statistics"
            )));
            Ok(ServerDump { middlebox: None, notes, conference_keys: keys })
        }
        _ => Err(IngestError::Unsupported {
            source_name: source_name.to_string(),
            format: format!("a Jitsi server dump from `{app}`"),
            reason: "only JVB (videobridge) dumps carry media statistics hopscope reads; Jicofo and Jigasi are recognised".into(),
        }),
    }
}
