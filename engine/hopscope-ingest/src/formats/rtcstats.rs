//! rtcstats dumps: one JSON array per line.
//!
//! Three dialects share the line shape `[method, pcId|null, value, …]`:
//! - **v3** (fippo/rtcstats, Jitsi rtcstats-server): `[method, pc, value, epochMs(, seq)]`;
//!   `getstats` values are delta-compressed (first occurrence complete, later only changed
//!   fields, `timestamp: 0` = the report time, an absent id = removed); lines may be
//!   `--disconnect--`; a few lack the timestamp.
//! - **Chrome's RTCStatsDump export**: a `RTCStatsDump` header and a metadata line, then
//!   lines whose last element is milliseconds since the previous line (the first is an
//!   absolute epoch); `getStats` values are complete reports.
//! - **rtcstats v4**: the same header, numeric method ids and compressed property names
//!   from rtcstats' static tables (reproduced below), `null` = removed id, absent id =
//!   unchanged.

use std::collections::HashMap;
use std::fmt;

use hopscope_model::{RemoteKind, Timestamp};
use serde::de::{self, DeserializeSeed, IgnoredAny, SeqAccess, Visitor};
use serde_json::Value;

use crate::builder::ParticipantBuilder;
use crate::error::{IngestError, Location, json_problem};
use crate::fields::RawStats;
use crate::json::{DeltaSeed, DeltaState, ReportSeed, V4DeltaSeed};

/// Times above this (year 2001) are absolute epochs, not steps between lines.
const ABSOLUTE_EPOCH_MS: f64 = 1e12;

/// Which rtcstats dialect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// fippo/Jitsi v3 lines with epoch timestamps and delta-compressed getstats.
    V3,
    /// Chrome's webrtc-internals RTCStatsDump export.
    ChromeExport,
    /// rtcstats v4 (compressed methods and properties).
    V4,
}

/// How a line's value was consumed.
enum LineValue {
    /// A stats report was merged into the peer connection's state (or parsed into
    /// `full`); carries the report's own timestamp.
    Stats(Option<f64>),
    /// Anything else.
    Other(Value),
}

struct Line {
    method: String,
    pc: Option<String>,
    value: LineValue,
    /// Trailing numbers: v3 `[epochMs, seq]`, export/v4 `[…extra, delta]`.
    tail: Vec<Value>,
}

struct ParseState {
    dialect: Dialect,
    delta: HashMap<String, DeltaState>,
    present: Vec<String>,
    full: Vec<(String, RawStats)>,
}

struct LineSeed<'a> {
    state: &'a mut ParseState,
}

impl<'de> DeserializeSeed<'de> for LineSeed<'_> {
    type Value = Line;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Line, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for LineSeed<'_> {
    type Value = Line;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array [method, peerConnectionId or null, value, timestamp]")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Line, A::Error> {
        let method: Value = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(0, &self))?;
        let method = match method {
            Value::String(s) => s,
            Value::Number(n) if self.state.dialect == Dialect::V4 => {
                v4_method(&n.to_string()).map_or_else(|| n.to_string(), String::from)
            }
            other => return Err(de::Error::custom(format!("method must be a string, found {other}"))),
        };
        let method = match (self.state.dialect, method.as_str()) {
            (Dialect::V4, "g") => "getStats".to_string(),
            _ => method,
        };
        let pc: Option<Value> = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(1, &self))?;
        let pc = match pc {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            Some(other) => Some(other.to_string()),
        };
        let is_stats = method.eq_ignore_ascii_case("getstats");
        let value = match (&pc, is_stats, self.state.dialect) {
            (Some(pc), true, Dialect::V3) => {
                let state = self.state.delta.entry(pc.clone()).or_default();
                let t = seq
                    .next_element_seed(DeltaSeed { state, present: &mut self.state.present })?
                    .ok_or_else(|| de::Error::invalid_length(2, &self))?;
                LineValue::Stats(t)
            }
            (Some(pc), true, Dialect::V4) => {
                let state = self.state.delta.entry(pc.clone()).or_default();
                let t = seq
                    .next_element_seed(V4DeltaSeed { state })?
                    .ok_or_else(|| de::Error::invalid_length(2, &self))?;
                LineValue::Stats(t)
            }
            (Some(_), true, Dialect::ChromeExport) => {
                self.state.full.clear();
                let t = seq
                    .next_element_seed(ReportSeed { out: &mut self.state.full })?
                    .ok_or_else(|| de::Error::invalid_length(2, &self))?;
                LineValue::Stats(t)
            }
            _ => LineValue::Other(seq.next_element::<Value>()?.unwrap_or(Value::Null)),
        };
        let mut tail = Vec::new();
        while let Some(v) = seq.next_element::<Value>()? {
            if tail.len() < 8 {
                tail.push(v);
            }
        }
        Ok(Line { method, pc, value, tail })
    }
}

/// Reads an rtcstats dump into `builder`.
pub(crate) fn read(
    source_name: &str,
    text: &str,
    dialect: Dialect,
    builder: &mut ParticipantBuilder,
) -> Result<(), IngestError> {
    let mut state = ParseState { dialect, delta: HashMap::new(), present: Vec::new(), full: Vec::new() };
    let mut clock: Option<f64> = None;
    let mut lines_ok = 0usize;
    let mut first_error: Option<IngestError> = None;
    let mut bad = 0usize;
    let mut body = text;
    let mut line_no = 0usize;
    if dialect != Dialect::V3 {
        // Header line and metadata line.
        let mut it = text.splitn(3, '\n');
        let _header = it.next();
        let meta = it.next().unwrap_or_default();
        body = it.next().unwrap_or_default();
        line_no = 2;
        match serde_json::from_str::<Value>(meta) {
            Ok(meta) => {
                if let Some(ua) = meta.get("userAgent").and_then(Value::as_str) {
                    builder.user_agent(ua);
                }
                if let Some(o) = meta.get("origin").or(meta.get("url")).and_then(Value::as_str) {
                    builder.origin(o);
                }
                clock = meta.get("startTime").and_then(Value::as_f64);
            }
            Err(e) => builder.note(
                Some(Location::Line(2).to_string()),
                format!("metadata line unreadable: {}", json_problem(&e)),
            ),
        }
    }
    for raw_line in body.split('\n') {
        line_no += 1;
        let line = raw_line.trim();
        if line.is_empty() {
            continue;
        }
        if line == "--disconnect--" {
            if let Some(t) = clock.and_then(Timestamp::from_epoch_ms) {
                builder.push_client_event(t, hopscope_model::EventKind::CollectorDisconnected);
            }
            continue;
        }
        let mut de = serde_json::Deserializer::from_str(line);
        let parsed = LineSeed { state: &mut state }.deserialize(&mut de).and_then(|l| de.end().map(|()| l));
        let parsed = match parsed {
            Ok(l) => l,
            Err(e) => {
                bad += 1;
                let err = IngestError::Malformed {
                    source_name: source_name.to_string(),
                    location: Location::LineColumn(line_no, e.column()),
                    problem: json_problem(&e),
                    expected: "a JSON array [method, peerConnectionId or null, value, timestamp]".into(),
                };
                builder.note(
                    Some(Location::Line(line_no).to_string()),
                    format!("line skipped: {}", json_problem(&e)),
                );
                first_error.get_or_insert(err);
                continue;
            }
        };
        lines_ok += 1;
        // Line time.
        let tail_number = |i: usize| parsed.tail.get(i).and_then(Value::as_f64);
        let line_time = match dialect {
            Dialect::V3 => tail_number(0).or(clock),
            Dialect::ChromeExport | Dialect::V4 => {
                let delta = parsed.tail.iter().rev().find_map(Value::as_f64);
                match (clock, delta) {
                    // An epoch-sized value is absolute (the first line, or a line after
                    // the metadata's startTime); anything smaller is a step.
                    (_, Some(d)) if d > ABSOLUTE_EPOCH_MS => Some(d),
                    (None, Some(d)) => Some(d),
                    (Some(c), Some(d)) => Some(c + d),
                    (c, None) => c,
                }
            }
        };
        if let Some(t) = line_time {
            clock = Some(t);
        }
        let Some(at) = line_time.and_then(Timestamp::from_epoch_ms) else {
            builder
                .note(Some(Location::Line(line_no).to_string()), "line without a usable timestamp skipped");
            continue;
        };
        apply_line(builder, &mut state, parsed, at);
    }
    if lines_ok == 0 {
        return Err(
            first_error.unwrap_or_else(|| IngestError::Empty { source_name: source_name.to_string() })
        );
    }
    if bad > 0 {
        tracing::debug!(source = source_name, bad, "rtcstats lines skipped");
    }
    Ok(())
}

fn apply_line(builder: &mut ParticipantBuilder, state: &mut ParseState, line: Line, at: Timestamp) {
    let pc = line.pc.as_deref();
    match line.value {
        LineValue::Stats(report_time) => {
            let Some(pc) = pc else { return };
            let report_time = report_time.and_then(Timestamp::from_epoch_ms).unwrap_or(at);
            match state.dialect {
                Dialect::ChromeExport => {
                    builder
                        .pc(pc)
                        .push_report(report_time, state.full.iter().map(|(id, r)| (id.as_str(), r)));
                }
                Dialect::V3 | Dialect::V4 => {
                    if let Some(delta) = state.delta.get(pc) {
                        builder.pc(pc).push_report(report_time, delta.objects());
                    }
                }
            }
        }
        LineValue::Other(value) => apply_event(builder, pc, &line.method, &value, at),
    }
}

/// Non-stats lines: client metadata, configuration hints and events.
fn apply_event(
    builder: &mut ParticipantBuilder,
    pc: Option<&str>,
    method: &str,
    value: &Value,
    at: Timestamp,
) {
    // Metadata lines are sometimes JSON inside a string; events decode what they need.
    let decoded;
    let value = match method {
        "connectionInfo" | "identity" | "constraints" | "createDataChannel" => {
            decoded = crate::events::decode_nested(value);
            &decoded
        }
        _ => value,
    };
    match method {
        "connectionInfo" => {
            if let Some(ua) = value.get("userAgent").and_then(Value::as_str) {
                builder.user_agent(ua);
            }
            if let Some(o) = value.get("url").or(value.get("origin")).and_then(Value::as_str) {
                builder.origin(o);
            }
            return;
        }
        "identity" => {
            for key in [
                "displayName",
                "endpointId",
                "userId",
                "confID",
                "confName",
                "meetingUniqueId",
                "sessionId",
                "applicationName",
            ] {
                match value.get(key) {
                    Some(Value::String(s)) => builder.identifier(key, s),
                    Some(Value::Number(n)) => builder.identifier(key, &n.to_string()),
                    _ => {}
                }
            }
            if let Some(name) = value.get("displayName").and_then(Value::as_str) {
                builder.name = Some(name.to_string());
            }
            return;
        }
        "constraints" => {
            // Jitsi tags its peer-to-peer connection `rtcStatsSFUP2P: true`, the bridge one false.
            if let (Some(pc), Some(opts)) = (pc, value.get("optional").and_then(Value::as_array)) {
                for o in opts {
                    if let Some(p2p) = o.get("rtcStatsSFUP2P").and_then(Value::as_bool) {
                        let (kind, why) = if p2p {
                            (RemoteKind::Peer, "the app tags it peer-to-peer (Jitsi rtcStatsSFUP2P: true)")
                        } else {
                            (
                                RemoteKind::Sfu,
                                "the app tags it as the bridge connection (Jitsi rtcStatsSFUP2P: false)",
                            )
                        };
                        builder.pc(pc).hint_remote(9, kind, why);
                    }
                }
            }
            return;
        }
        // v4 writes client information as `create` with no peer connection.
        "create" if pc.is_none() => return,
        "createDataChannel" => {
            let label = value.get("0").or(value.get("label")).and_then(Value::as_str).unwrap_or_default();
            if let Some(pc) = pc
                && (label.contains("JVB") || label.to_ascii_lowercase().contains("bridge"))
            {
                builder.pc(pc).hint_remote(
                    8,
                    RemoteKind::Sfu,
                    format!("it carries the media server's data channel ({label})"),
                );
            }
            return;
        }
        _ => {}
    }
    if !builder.event(pc, at, method, value) {
        builder.push_client_event(
            at,
            hopscope_model::EventKind::Other {
                name: method.to_string(),
                detail: crate::events::short_text(value, 120),
            },
        );
    }
}

/// rtcstats v4 method ids (rtcstats `packages/rtcstats-shared/compression.js`,
/// `methodTable`; MIT). Numbers are never reassigned upstream.
pub(crate) fn v4_method(id: &str) -> Option<&'static str> {
    Some(match id {
        "1" | "g" => "getStats",
        "2" => "createOffer",
        "3" => "createOfferOnSuccess",
        "12" => "createOfferOnFailure",
        "4" => "createAnswer",
        "5" => "createAnswerOnSuccess",
        "13" => "createAnswerOnFailure",
        "6" => "setLocalDescription",
        "7" => "setLocalDescriptionOnSuccess",
        "14" => "setLocalDescriptionOnFailure",
        "8" => "setRemoteDescription",
        "9" => "setRemoteDescriptionOnSuccess",
        "15" => "setRemoteDescriptionOnFailure",
        "10" => "addIceCandidate",
        "11" => "addIceCandidateOnSuccess",
        "16" => "addIceCandidateOnFailure",
        "20" => "onicecandidate",
        "21" => "onicecandidateerror",
        "22" => "ontrack",
        "23" => "onsignalingstatechange",
        "24" => "oniceconnectionstatechange",
        "25" => "onconnectionstatechange",
        "26" => "onicegatheringstatechange",
        "27" => "onnegotiationneeded",
        "28" => "ondatachannel",
        "30" => "addTrack",
        "31" => "addTrackOnSuccess",
        "32" => "addTransceiver",
        "33" => "addTransceiverOnSuccess",
        "34" => "removeTrack",
        "35" => "createDataChannel",
        "36" => "close",
        "37" => "restartIce",
        "38" => "setConfiguration",
        "39" => "create",
        "40" => "constraints",
        "41" => "setCodecPreferences",
        "42" => "setHeaderExtensionsToNegotiate",
        "50" => "setParameters",
        "51" => "replaceTrack",
        "60" => "navigator.mediaDevices.getUserMedia",
        "61" => "navigator.mediaDevices.getUserMediaOnSuccess",
        // 62 was never usable; released clients send getUserMediaOnFailure as 65.
        "65" => "navigator.mediaDevices.getUserMediaOnFailure",
        "63" => "navigator.mediaDevices.getDisplayMedia",
        "64" => "navigator.mediaDevices.getDisplayMediaOnSuccess",
        "68" => "navigator.mediaDevices.getDisplayMediaOnFailure",
        "66" => "navigator.mediaDevices.enumerateDevices",
        "67" => "navigator.mediaDevices.ondevicechange",
        "70" => "MediaStreamTrack.stop",
        "71" => "MediaStreamTrack.applyConstraints",
        "72" => "MediaStreamTrack.onended",
        "73" => "MediaStreamTrack.onmute",
        "74" => "MediaStreamTrack.onunmute",
        "80" => "HTMLMediaElement.resize",
        _ => return None,
    })
}

/// rtcstats v4 stats `type` ids (`statsTypeTable`).
pub(crate) fn v4_stats_type(id: u16) -> Option<&'static str> {
    Some(match id {
        1 => "inbound-rtp",
        2 => "outbound-rtp",
        3 => "remote-inbound-rtp",
        4 => "remote-outbound-rtp",
        5 => "transport",
        6 => "candidate-pair",
        7 => "local-candidate",
        8 => "remote-candidate",
        9 => "data-channel",
        10 => "peer-connection",
        11 => "certificate",
        12 => "media-source",
        13 => "media-playout",
        14 => "codec",
        _ => return None,
    })
}

/// rtcstats v4 property ids (`statsPropertyTable`), for the properties hopscope reads.
pub(crate) fn v4_property(id: u16) -> Option<&'static str> {
    Some(match id {
        4 => "payloadType",
        5 => "transportId",
        6 => "mimeType",
        7 => "clockRate",
        8 => "channels",
        9 => "sdpFmtpLine",
        10 => "ssrc",
        11 => "kind",
        12 => "codecId",
        14 => "packetsReceived",
        15 => "packetsLost",
        16 => "jitter",
        17 => "trackIdentifier",
        18 => "mid",
        19 => "remoteId",
        20 => "framesDecoded",
        21 => "keyFramesDecoded",
        22 => "framesDropped",
        23 => "frameWidth",
        24 => "frameHeight",
        25 => "framesPerSecond",
        27 => "totalDecodeTime",
        28 => "totalInterFrameDelay",
        29 => "totalSquaredInterFrameDelay",
        30 => "pauseCount",
        31 => "totalPausesDuration",
        32 => "freezeCount",
        33 => "totalFreezesDuration",
        35 => "headerBytesReceived",
        36 => "packetsDiscarded",
        37 => "fecPacketsReceived",
        41 => "bytesReceived",
        42 => "nackCount",
        43 => "firCount",
        44 => "pliCount",
        47 => "jitterBufferDelay",
        48 => "jitterBufferTargetDelay",
        49 => "jitterBufferEmittedCount",
        51 => "totalSamplesReceived",
        52 => "concealedSamples",
        53 => "silentConcealedSamples",
        54 => "concealmentEvents",
        55 => "insertedSamplesForDeceleration",
        56 => "removedSamplesForAcceleration",
        57 => "audioLevel",
        58 => "totalAudioEnergy",
        59 => "totalSamplesDuration",
        60 => "framesReceived",
        61 => "decoderImplementation",
        66 => "contentType",
        68 => "retransmittedPacketsReceived",
        74 => "localId",
        75 => "roundTripTime",
        76 => "totalRoundTripTime",
        77 => "fractionLost",
        78 => "roundTripTimeMeasurements",
        79 => "packetsSent",
        80 => "bytesSent",
        81 => "mediaSourceId",
        82 => "rid",
        83 => "encodingIndex",
        84 => "headerBytesSent",
        85 => "retransmittedPacketsSent",
        86 => "retransmittedBytesSent",
        87 => "targetBitrate",
        89 => "framesSent",
        90 => "hugeFramesSent",
        91 => "framesEncoded",
        93 => "totalEncodeTime",
        94 => "totalPacketSendDelay",
        95 => "qualityLimitationReason",
        96 => "qualityLimitationDurations",
        97 => "qualityLimitationResolutionChanges",
        98 => "encoderImplementation",
        100 => "active",
        102 => "remoteTimestamp",
        103 => "reportsSent",
        106 => "width",
        107 => "height",
        108 => "frames",
        113 => "dataChannelsOpened",
        114 => "dataChannelsClosed",
        116 => "protocol",
        117 => "dataChannelIdentifier",
        118 => "state",
        121 => "iceRole",
        123 => "dtlsState",
        124 => "iceState",
        125 => "selectedCandidatePairId",
        132 => "selectedCandidatePairChanges",
        134 => "address",
        135 => "port",
        136 => "candidateType",
        137 => "priority",
        138 => "url",
        139 => "relayProtocol",
        144 => "tcpType",
        145 => "networkType",
        148 => "localCandidateId",
        149 => "remoteCandidateId",
        150 => "nominated",
        152 => "currentRoundTripTime",
        153 => "availableOutgoingBitrate",
        154 => "availableIncomingBitrate",
        156 => "requestsSent",
        157 => "responsesReceived",
        159 => "consentRequestsSent",
        _ => return None,
    })
}

/// Skips a value without building it (used by detection).
#[allow(dead_code, reason = "kept for symmetry with the other readers")]
fn skip(v: &str) -> bool {
    serde_json::from_str::<IgnoredAny>(v).is_ok()
}
