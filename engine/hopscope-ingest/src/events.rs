//! One event vocabulary for every format.
//!
//! rtcstats writes `oniceconnectionstatechange` with a bare state, Chrome 86 dumps write
//! `iceConnectionStateChange`, Chrome 144+ dumps `oniceconnectionstatechange` with a
//! JSON-quoted state, our native format `iceconnectionstatechange`. All go through
//! [`classify`]: lower-case, strip a leading `on`, unquote.

use hopscope_model::events::{
    ConnectionState, EventKind, IceCandidateError, IceConnectionState, MediaRequestSource, NegotiationStep,
    Outcome,
};
use serde_json::Value;

/// Where an event belongs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scope {
    /// To the participant (media requests, feedback, session).
    Client,
    /// To a peer connection.
    PeerConnection,
}

/// Turns an event name and value, in any dialect, into an [`EventKind`].
/// Returns `None` for bookkeeping that is not an event (getstats, constraints, ...).
pub(crate) fn classify(name: &str, value: &Value) -> Option<(Scope, EventKind)> {
    let lower = name.to_ascii_lowercase();
    let lower = lower.strip_prefix("navigator.mediadevices.").unwrap_or(&lower);
    // `on…` marks a callback from the browser; `addStream` (local) and `onaddstream`
    // (remote) differ only by it.
    let (callback, base) = match lower.strip_prefix("on") {
        Some(rest) if !rest.is_empty() => (true, rest),
        _ => (false, lower),
    };
    let pc = |k: EventKind| Some((Scope::PeerConnection, k));
    let client = |k: EventKind| Some((Scope::Client, k));
    // Values can be whole SDPs: render text only where a branch needs it.
    let text = || value_text(value);
    match base {
        "iceconnectionstatechange" => {
            let state = text().as_deref().and_then(IceConnectionState::parse)?;
            pc(EventKind::IceConnectionState(state))
        }
        "connectionstatechange" => {
            let state = text().as_deref().and_then(ConnectionState::parse)?;
            pc(EventKind::ConnectionState(state))
        }
        "signalingstatechange" => pc(EventKind::SignalingState(text().unwrap_or_default())),
        "icegatheringstatechange" => pc(EventKind::IceGatheringState(text().unwrap_or_default())),
        "dtlsstatechange" => pc(EventKind::DtlsState(text().unwrap_or_default())),
        "icecandidate" => pc(EventKind::LocalCandidate(candidate_line(value))),
        "addicecandidate" => pc(EventKind::RemoteCandidate(candidate_line(value))),
        "icecandidateerror" => pc(EventKind::IceCandidateError(candidate_error(value))),
        "negotiationneeded" => pc(EventKind::NegotiationNeeded),
        "track" | "addstream" if callback => {
            pc(EventKind::TrackAdded(short_text(value, 80).unwrap_or_default()))
        }
        "removestream" | "removetrack" if callback => {
            pc(EventKind::TrackRemoved(short_text(value, 80).unwrap_or_default()))
        }
        "close" => pc(EventKind::Closed),
        "create" => pc(EventKind::Created),
        "--disconnect--" => client(EventKind::CollectorDisconnected),
        "feedback" => {
            let value = decode_nested(value);
            let rating =
                value.get("rating").and_then(Value::as_f64).filter(|r| (1.0..=5.0).contains(r))? as u8;
            let comment = value.get("comment").and_then(Value::as_str).map(String::from);
            client(EventKind::Feedback { rating, comment })
        }
        _ => {
            if let Some(kind) = negotiation(base, value) {
                return pc(kind);
            }
            if let Some(kind) = media_request(base, value) {
                return client(kind);
            }
            None
        }
    }
}

/// Whether a name is a known bookkeeping entry we deliberately do not turn into events.
pub(crate) fn is_bookkeeping(name: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().as_str(),
        "getstats"
            | "constraints"
            | "identity"
            | "connectioninfo"
            | "setvideotype"
            | "facelandmarks"
            | "dominantspeaker"
            | "logs"
            | "e2ertt"
            | "conferencestarttimestamp"
            | "addtrack"
            | "addstream"
            | "removestream"
            | "removetrack"
            | "addtransceiver"
            | "createdatachannel"
            | "transceiveradded"
            | "transceivermodified"
            | "legacyiceconnectionstatechange"
            | "ondatachannel"
            | "datachannel"
    )
}

fn negotiation(base: &str, value: &Value) -> Option<EventKind> {
    let steps = [
        ("createoffer", NegotiationStep::CreateOffer),
        ("createanswer", NegotiationStep::CreateAnswer),
        ("setlocaldescription", NegotiationStep::SetLocalDescription),
        ("setremotedescription", NegotiationStep::SetRemoteDescription),
        ("addicecandidate", NegotiationStep::AddIceCandidate),
    ];
    for (prefix, step) in steps {
        let Some(rest) = base.strip_prefix(prefix) else { continue };
        let outcome = match rest {
            "" => Outcome::Started,
            "onsuccess" => Outcome::Succeeded,
            "onfailure" => Outcome::Failed(error_text(value)),
            _ => return None,
        };
        return Some(EventKind::Negotiation { step, outcome });
    }
    None
}

fn media_request(base: &str, value: &Value) -> Option<EventKind> {
    let (source, rest) = if let Some(rest) = base.strip_prefix("getusermedia") {
        (MediaRequestSource::UserMedia, rest)
    } else if let Some(rest) = base.strip_prefix("getdisplaymedia") {
        (MediaRequestSource::DisplayMedia, rest)
    } else {
        return None;
    };
    let value = decode_nested(value);
    let (outcome, detail) = match rest {
        "" => (Outcome::Started, requested_media(&value)),
        "onsuccess" => (Outcome::Succeeded, obtained_media(&value)),
        "onfailure" => (Outcome::Failed(error_text(&value)), None),
        _ => return None,
    };
    Some(EventKind::MediaRequest { source, outcome, detail })
}

/// `audio+video` from constraints like `{audio: true, video: {...}}`.
fn requested_media(value: &Value) -> Option<String> {
    let wants = |k: &str| match value.get(k) {
        None | Some(Value::Null) | Some(Value::Bool(false)) => false,
        Some(Value::String(s)) => !s.is_empty() && s != "false",
        Some(_) => true,
    };
    match (wants("audio"), wants("video")) {
        (true, true) => Some("audio+video".into()),
        (true, false) => Some("audio".into()),
        (false, true) => Some("video".into()),
        (false, false) => None,
    }
}

/// `audio+video` from a success value: `{tracks: [{kind}]}` or `[[kind, id, id]]` (v4).
fn obtained_media(value: &Value) -> Option<String> {
    let mut kinds: Vec<&'static str> = Vec::new();
    let mut push = |k: &str| {
        let k = match k {
            "audio" => "audio",
            "video" => "video",
            _ => return,
        };
        if !kinds.contains(&k) {
            kinds.push(k);
        }
    };
    if let Some(tracks) = value.get("tracks").and_then(Value::as_array) {
        for t in tracks {
            if let Some(k) = t.get("kind").and_then(Value::as_str) {
                push(k);
            }
        }
    } else if let Some(list) = value.as_array() {
        for t in list {
            if let Some(k) = t.get(0).and_then(Value::as_str) {
                push(k);
            }
        }
    }
    kinds.sort_unstable();
    (!kinds.is_empty()).then(|| kinds.join("+"))
}

/// A failure value: `"NotReadableError"`, `{name, message}`, `"OperationError: ..."`.
fn error_text(value: &Value) -> String {
    let value = &decode_nested(value);
    match value {
        Value::Object(o) => {
            let name = o.get("name").and_then(Value::as_str);
            let message = o.get("message").and_then(Value::as_str).filter(|m| !m.is_empty());
            match (name, message) {
                (Some(n), Some(m)) => format!("{n}: {m}"),
                (Some(n), None) => n.to_string(),
                (None, Some(m)) => m.to_string(),
                (None, None) => compact(value),
            }
        }
        _ => value_text(value).unwrap_or_else(|| "unknown error".into()),
    }
}

/// A value as plain text: strings unquoted (Chrome 144+ JSON-quotes states), others
/// rendered compactly; `None` for null.
pub(crate) fn value_text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => {
            let s = s.trim();
            if s.starts_with('"')
                && let Ok(Value::String(inner)) = serde_json::from_str::<Value>(s)
            {
                return Some(inner);
            }
            Some(s.to_string())
        }
        other => Some(compact(other)),
    }
}

/// At most `max` characters of a value's text, without copying a long string first.
pub(crate) fn short_text(value: &Value, max: usize) -> Option<String> {
    match value {
        Value::String(s) if s.len() > max * 4 => Some(s.chars().take(max).collect()),
        _ => {
            value_text(value).map(|t| if t.chars().count() > max { t.chars().take(max).collect() } else { t })
        }
    }
}

/// A string value that may hold JSON (webrtc-internals encodes objects as strings).
pub(crate) fn decode_nested(value: &Value) -> Value {
    if let Value::String(s) = value {
        let t = s.trim_start();
        if (t.starts_with('{') || t.starts_with('[') || t.starts_with('"'))
            && let Ok(v) = serde_json::from_str::<Value>(s)
        {
            return v;
        }
    }
    value.clone()
}

fn candidate_line(value: &Value) -> Option<String> {
    let value = decode_nested(value);
    match &value {
        Value::Null => None,
        Value::Object(o) => {
            o.get("candidate").and_then(Value::as_str).filter(|c| !c.is_empty()).map(String::from)
        }
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => {
            // webrtc-internals: "sdpMid: 0, sdpMLineIndex: 0, candidate: candidate:..."
            let line = s.find("candidate:").map(|i| &s[i..]).unwrap_or(s);
            Some(line.lines().next().unwrap_or(line).trim().to_string())
        }
        other => Some(compact(other)),
    }
}

fn candidate_error(value: &Value) -> IceCandidateError {
    let value = decode_nested(value);
    let mut e = IceCandidateError::default();
    match &value {
        Value::Object(o) => {
            let s = |k: &str| o.get(k).and_then(value_text).filter(|t| !t.is_empty());
            // W3C camelCase from collectors, snake_case from webrtc-internals.
            e.url = s("url");
            e.error_text = s("errorText").or_else(|| s("error_text"));
            e.address = s("address").or_else(|| s("hostCandidate")).or_else(|| s("host_candidate"));
            e.error_code = o
                .get("errorCode")
                .or_else(|| o.get("error_code"))
                .and_then(num_like)
                .and_then(|c| u16::try_from(c).ok());
            e.port = o.get("port").and_then(num_like).and_then(|p| u16::try_from(p).ok());
        }
        Value::String(s) => {
            // "url: turn:..., address: ..., port: ..., errorCode: 401, errorText: ..."
            for part in s.split(['\n', ',']) {
                let Some((k, v)) = part.split_once(':') else { continue };
                let v = v.trim().to_string();
                match k.trim() {
                    "url" => e.url = Some(v),
                    "address" | "hostCandidate" => e.address = Some(v),
                    "port" => e.port = v.parse().ok(),
                    "errorCode" => e.error_code = v.parse().ok(),
                    "errorText" => e.error_text = Some(v),
                    _ => {}
                }
            }
            // `url: turn:host:3478` splits at the first colon only, so the rest survives.
        }
        _ => {}
    }
    e
}

fn num_like(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn compact(value: &Value) -> String {
    let s = value.to_string();
    if s.len() > 200 { format!("{}…", s.chars().take(200).collect::<String>()) } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn state_dialects_converge() {
        let expected =
            Some((Scope::PeerConnection, EventKind::IceConnectionState(IceConnectionState::Connected)));
        assert_eq!(classify("oniceconnectionstatechange", &json!("connected")), expected);
        assert_eq!(classify("iceConnectionStateChange", &json!("connected")), expected);
        assert_eq!(classify("iceconnectionstatechange", &json!("\"connected\"")), expected);
    }

    #[test]
    fn failures_keep_the_error() {
        assert_eq!(
            classify("navigator.mediaDevices.getUserMediaOnFailure", &json!("NotReadableError")),
            Some((
                Scope::Client,
                EventKind::MediaRequest {
                    source: MediaRequestSource::UserMedia,
                    outcome: Outcome::Failed("NotReadableError".into()),
                    detail: None
                }
            ))
        );
        assert_eq!(
            classify("setRemoteDescriptionOnFailure", &json!({"name":"OperationError","message":"bad sdp"})),
            Some((
                Scope::PeerConnection,
                EventKind::Negotiation {
                    step: NegotiationStep::SetRemoteDescription,
                    outcome: Outcome::Failed("OperationError: bad sdp".into())
                }
            ))
        );
    }

    #[test]
    fn local_and_remote_stream_additions_differ() {
        assert!(matches!(classify("onaddstream", &json!("x")), Some((_, EventKind::TrackAdded(_)))));
        assert_eq!(classify("addStream", &json!("x")), None);
        assert!(is_bookkeeping("addStream"));
    }

    #[test]
    fn candidate_errors_from_objects_and_text() {
        let Some((_, EventKind::IceCandidateError(e))) = classify(
            "icecandidateerror",
            &json!({"url":"turn:127.0.0.1:3478?transport=udp","errorCode":401,"errorText":"Unauthorized","address":"10.0.0.2","port":"53000"}),
        ) else {
            panic!("not classified")
        };
        assert_eq!(e.error_code, Some(401));
        assert_eq!(e.port, Some(53000));
        assert_eq!(e.url.as_deref(), Some("turn:127.0.0.1:3478?transport=udp"));
        let Some((_, EventKind::IceCandidateError(e))) = classify(
            "onicecandidateerror",
            &json!("url: turn:10.0.0.1:3478\naddress: 10.0.0.2\nport: 9\nerrorCode: 701\nerrorText: timeout"),
        ) else {
            panic!("not classified")
        };
        assert_eq!(e.error_code, Some(701));
        assert_eq!(e.url.as_deref(), Some("turn:10.0.0.1:3478"));
    }
}
