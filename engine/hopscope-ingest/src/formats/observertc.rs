//! ObserveRTC `ClientSample` messages (schema 3.x): W3C stats grouped into typed arrays
//! per peer connection, sent as deltas keyed by `id` (or `ssrc`). A file is either one
//! sample, an array of samples, or `{messages: [samples]}` (their test fixtures).

use std::collections::HashMap;

use hopscope_model::Timestamp;
use serde::de::DeserializeSeed;
use serde_json::Value;

use crate::builder::ParticipantBuilder;
use crate::error::IngestError;
use crate::fields::StatsKind;
use crate::json::{KeyMode, ObjectSeed};

/// Array name → stats type.
const ARRAYS: [(&str, &str); 11] = [
    ("inboundRtps", "inbound-rtp"),
    ("outboundRtps", "outbound-rtp"),
    ("remoteInboundRtps", "remote-inbound-rtp"),
    ("remoteOutboundRtps", "remote-outbound-rtp"),
    ("iceCandidatePairs", "candidate-pair"),
    ("iceTransports", "transport"),
    ("codecs", "codec"),
    ("mediaSources", "media-source"),
    ("localCandidates", "local-candidate"),
    ("remoteCandidates", "remote-candidate"),
    ("iceCandidates", "local-candidate"),
];

/// Reads ObserveRTC samples into `builder`.
/// A peer connection's merged objects in first-seen order, with an index by key so
/// thousands of ids stay linear.
#[derive(Default)]
struct Objects {
    list: Vec<(String, crate::fields::RawStats)>,
    index: HashMap<String, usize>,
}

pub(crate) fn read(
    source_name: &str,
    text: &str,
    builder: &mut ParticipantBuilder,
) -> Result<(), IngestError> {
    let doc: Value = serde_json::from_str(text)
        .map_err(|e| IngestError::from_json(source_name, &e, "ObserveRTC ClientSample JSON"))?;
    let samples: Vec<&Value> = match &doc {
        Value::Array(a) => a.iter().collect(),
        Value::Object(o) => match o.get("messages").and_then(Value::as_array) {
            Some(m) => m.iter().collect(),
            None => vec![&doc],
        },
        _ => Vec::new(),
    };
    if let Some(id) = doc.get("clientId").and_then(Value::as_str) {
        builder.name = Some(id.to_string());
    }
    if samples.is_empty() {
        return Err(IngestError::Empty { source_name: source_name.to_string() });
    }
    // Delta state per peer connection: (array, key) → merged object.
    let mut state: HashMap<String, Objects> = HashMap::new();
    for sample in samples {
        let Some(at) = sample.get("timestamp").and_then(Value::as_f64).and_then(Timestamp::from_epoch_ms)
        else {
            builder.note(None, "ClientSample without a timestamp skipped");
            continue;
        };
        for key in ["clientId", "callId"] {
            if let Some(v) = sample.get(key).and_then(Value::as_str) {
                builder.identifier(key, v);
            }
        }
        if let Some(id) = sample.get("clientId").and_then(Value::as_str) {
            builder.name = Some(id.to_string());
        }
        for pc in sample.get("peerConnections").and_then(Value::as_array).into_iter().flatten() {
            let Some(pc_id) = pc.get("peerConnectionId").and_then(Value::as_str) else { continue };
            let Objects { list: objects, index } = state.entry(pc_id.to_string()).or_default();
            for (array, stats_type) in ARRAYS {
                for obj in pc.get(array).and_then(Value::as_array).into_iter().flatten() {
                    // RTP deltas are keyed by SSRC (later deltas often omit the id).
                    let key = obj
                        .get("ssrc")
                        .map(|s| format!("{array}:{s}"))
                        .or_else(|| obj.get("id").and_then(Value::as_str).map(String::from));
                    let Some(key) = key else { continue };
                    let i = *index.entry(key.clone()).or_insert_with(|| {
                        objects.push((key, crate::fields::RawStats::default()));
                        objects.len() - 1
                    });
                    let target = &mut objects[i].1;
                    let _ = ObjectSeed { target: &mut *target, keys: KeyMode::Plain }.deserialize(obj);
                    target.kind = Some(StatsKind::parse(stats_type));
                }
            }
            builder.pc(pc_id).push_report(at, objects.iter().map(|(id, r)| (id.as_str(), r)));
        }
        for e in sample.get("clientEvents").and_then(Value::as_array).into_iter().flatten() {
            let Some(kind) = e.get("type").and_then(Value::as_str) else { continue };
            let t =
                e.get("timestamp").and_then(Value::as_f64).and_then(Timestamp::from_epoch_ms).unwrap_or(at);
            let pc = e.get("peerConnectionId").and_then(Value::as_str);
            let value = e.get("payload").cloned().unwrap_or(Value::Null);
            builder.event(pc, t, kind, &value);
        }
    }
    Ok(())
}
