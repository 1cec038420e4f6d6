//! Jitsi server-side rtcstats dumps: `{"statsSessionId", "type": "identity"|"stats-entry",
//! "data"}` per line, where a stats entry's `data` is JSON inside a string.
//!
//! - **JVB** (Jitsi Videobridge): per-endpoint ICE transport counters, receive bitrates, the
//!   bridge's RTT to the endpoint, NACK/PLI counters and the SSRCs it receives become
//!   SFU-side observations (JVB reports per endpoint transport, not per SSRC, so the
//!   counters go on streams with `ssrc: None`). Its transceiver node graphs, receiver video
//!   constraints and payload maps are free-form debug state and are not modelled (said so
//!   in the result).
//! - **Jicofo** (conference focus) and **Jigasi** (SIP gateway) carry signalling state and
//!   logs, no media statistics: they are recognised and described, not modelled.

use std::collections::BTreeMap;

use hopscope_model::Timestamp;
use hopscope_model::middlebox::{
    MiddleboxClient, MiddleboxClientSample, MiddleboxKind, MiddleboxObservation, SfuInboundSample,
    SfuInboundStream, SfuOutboundSample, SfuOutboundStream,
};
use hopscope_model::stats::MediaKind;
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
    // Seen names, so a dump listing many endpoints many times stays linear.
    let mut endpoint_seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut clients: BTreeMap<String, MiddleboxClient> = BTreeMap::new();
    let mut last: BTreeMap<String, MiddleboxClientSample> = BTreeMap::new();
    let mut last_in: BTreeMap<String, SfuInboundSample> = BTreeMap::new();
    let mut last_out: BTreeMap<String, SfuOutboundSample> = BTreeMap::new();
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
                        && endpoint_seen.insert(e.to_string())
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
                    let transceiver = ep.get("transceiver");
                    if let Some(rtt) = transceiver
                        .and_then(|t| t.get("endpointConnectionStats"))
                        .and_then(|c| c.get("rtt"))
                        .and_then(Value::as_f64)
                        .filter(|r| *r > 0.0)
                    {
                        // JVB reports 0 until it has a measurement.
                        s.rtt_s = Some(rtt / 1000.0);
                    }
                    *prev = s.clone();
                    let client = clients
                        .entry(id.clone())
                        .or_insert_with(|| MiddleboxClient { id: id.clone(), ..MiddleboxClient::default() });
                    client.samples.push(s);
                    if let Some(name) = ep.get("statsId").and_then(Value::as_str) {
                        client.display_name = Some(name.to_string());
                    }
                    if let Some(t) = transceiver {
                        jvb_streams(id, t, at, client, &mut last_in, &mut last_out);
                    }
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
                "Jitsi Videobridge dump from {server_name}: {} stats entries, {} endpoints; read as SFU-side observations (ICE state, packets, bytes, RTT, NACKs, PLIs and received SSRCs per endpoint transport)",
                entries,
                clients.len()
            )));
            let not_modelled = vec![
                "transceiver packet-pipeline node statistics (free-form debug state)".to_string(),
                "receiver video constraints".to_string(),
                "RTP payload-type maps and stream information store".to_string(),
                "message transport counters".to_string(),
                "endpoint connection loss statistics (a window JVB does not document: not cumulative counters)"
                    .to_string(),
                "bandwidth estimation and bitrate allocation state".to_string(),
            ];
            Ok(ServerDump {
                middlebox: Some(MiddleboxObservation {
                    kind: Some(MiddleboxKind::Sfu),
                    server: server_name,
                    software: Some("Jitsi Videobridge".into()),
                    conference_keys: keys.clone(),
                    clients: clients.into_values().collect(),
                    not_modelled,
                    ..MiddleboxObservation::default()
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

/// The first value under a key starting with `prefix` (JVB suffixes node names with ids).
fn prefixed<'v>(v: &'v Value, prefix: &str) -> Option<&'v Value> {
    v.as_object()?.iter().find(|(k, _)| k.starts_with(prefix)).map(|(_, v)| v)
}

/// What JVB's transceiver offers per stream: NACK/PLI counters (transport totals, on
/// streams without an SSRC) and the SSRCs it receives from the endpoint.
fn jvb_streams(
    id: &str,
    transceiver: &Value,
    at: Timestamp,
    client: &mut MiddleboxClient,
    last_in: &mut BTreeMap<String, SfuInboundSample>,
    last_out: &mut BTreeMap<String, SfuOutboundSample>,
) {
    let sender = transceiver.get(format!("RTP sender {id}"));
    let receiver = transceiver.get(format!("RTP receiver {id}"));
    let num = |v: Option<&Value>, key: &str| v.and_then(|v| v.get(key)).and_then(Value::as_f64);
    // PLIs the bridge sent to the endpoint (about its uplink) and received from it (about
    // what the bridge forwards); NACKs received from it.
    let plis_sent = num(sender.and_then(|s| prefixed(s, "Node Sent RTCP stats")), "num_RtcpFbPliPacket_tx");
    let plis_received =
        num(receiver.and_then(|r| prefixed(r, "Node RTCP termination")), "num_RtcpFbPliPacket_rx");
    let nacks_received = num(sender.and_then(|s| s.get("Nack handler")), "num_nack_packets_received");
    let inbound = last_in.entry(id.to_string()).or_default();
    inbound.at = at;
    inbound.pli_count = plis_sent.or(inbound.pli_count);
    if inbound.pli_count.is_some() {
        let sample = inbound.clone();
        stream_in(client, None, None).samples.push(sample);
    }
    let outbound = last_out.entry(id.to_string()).or_default();
    outbound.at = at;
    outbound.pli_count = plis_received.or(outbound.pli_count);
    outbound.nack_count = nacks_received.or(outbound.nack_count);
    if outbound.pli_count.is_some() || outbound.nack_count.is_some() {
        let sample = outbound.clone();
        match client.outbound.iter_mut().find(|s| s.ssrc.is_none()) {
            Some(s) => s.samples.push(sample),
            None => client
                .outbound
                .push(SfuOutboundStream { samples: vec![sample], ..SfuOutboundStream::default() }),
        }
    }
    let received = transceiver
        .get("Stream Information Store")
        .and_then(|s| s.get("Receive SSRC store"))
        .and_then(|s| s.get("Receive SSRCs"))
        .and_then(Value::as_str);
    for (kind, ssrc) in received.map(receive_ssrcs).unwrap_or_default() {
        stream_in(client, Some(ssrc), kind);
    }
}

fn stream_in(
    client: &mut MiddleboxClient,
    ssrc: Option<u32>,
    kind: Option<MediaKind>,
) -> &mut SfuInboundStream {
    let i = match client.inbound.iter().position(|s| s.ssrc == ssrc) {
        Some(i) => i,
        None => {
            client.inbound.push(SfuInboundStream { ssrc, kind, samples: Vec::new() });
            client.inbound.len() - 1
        }
    };
    &mut client.inbound[i]
}

/// `{video=[2483627358, 1351887809], audio=[1292517411]}` → (kind, SSRC) pairs.
fn receive_ssrcs(text: &str) -> Vec<(Option<MediaKind>, u32)> {
    let mut out = Vec::new();
    let body = text.trim().trim_start_matches('{').trim_end_matches('}');
    for part in body.split(']') {
        let Some((kind, list)) = part.split_once('=') else { continue };
        let kind = MediaKind::parse(kind.trim_matches(|c: char| c == ',' || c.is_whitespace()));
        for n in list.trim_start_matches('[').split(',') {
            if let Ok(ssrc) = n.trim().parse::<u32>() {
                out.push((kind, ssrc));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jvb_receive_ssrc_store() {
        let got = receive_ssrcs("{video=[2483627358, 1351887809], audio=[1292517411]}");
        assert_eq!(
            got,
            vec![
                (Some(MediaKind::Video), 2_483_627_358),
                (Some(MediaKind::Video), 1_351_887_809),
                (Some(MediaKind::Audio), 1_292_517_411)
            ]
        );
        assert!(receive_ssrcs("garbage").is_empty());
    }
}
