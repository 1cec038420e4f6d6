//! Format detection by content, never by file name.

use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The input formats hopscope reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// Chrome webrtc-internals "Create Dump" JSON.
    WebrtcInternals,
    /// The old processed rtcstats-server JSON (`peerConnections` with `{time, type, value}`).
    ProcessedRtcstats,
    /// rtcstats v3 line dump (fippo/rtcstats, Jitsi rtcstats-server).
    RtcstatsV3,
    /// Chrome's webrtc-internals RTCStatsDump export.
    ChromeRtcstatsExport,
    /// rtcstats v4 (compressed methods and properties).
    RtcstatsV4,
    /// A single raw getStats() report.
    GetStatsSnapshot,
    /// ObserveRTC ClientSample JSON.
    ObserveRtc,
    /// Jitsi server-side dump (JVB, Jicofo, Jigasi).
    JitsiServer,
    /// hopscope observation envelopes.
    Native,
}

impl Format {
    /// A short name for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::WebrtcInternals => "webrtc-internals dump",
            Format::ProcessedRtcstats => "processed rtcstats JSON",
            Format::RtcstatsV3 => "rtcstats dump (v3)",
            Format::ChromeRtcstatsExport => "Chrome RTCStatsDump export",
            Format::RtcstatsV4 => "rtcstats dump (v4)",
            Format::GetStatsSnapshot => "getStats() snapshot",
            Format::ObserveRtc => "ObserveRTC ClientSample",
            Format::JitsiServer => "Jitsi server dump",
            Format::Native => "hopscope observations",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Detects the format of raw bytes (gzip is not unwrapped here).
pub fn detect(bytes: &[u8]) -> Option<Format> {
    detect_text(&String::from_utf8_lossy(bytes))
}

/// Top-level keys of the first JSON value in a text.
struct TopKeys {
    keys: Vec<String>,
    /// For arrays: the keys of the first element, and whether the first element is itself
    /// an array or a string.
    first: Option<FirstElement>,
}

enum FirstElement {
    Object(Vec<String>),
    Array,
    Scalar,
}

struct TopKeysVisitor;

impl<'de> Visitor<'de> for TopKeysVisitor {
    type Value = TopKeys;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object or array")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TopKeys, A::Error> {
        let mut keys = Vec::new();
        while let Some(k) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if keys.len() < 64 {
                keys.push(k.into_owned());
            }
            map.next_value::<IgnoredAny>()?;
        }
        Ok(TopKeys { keys, first: None })
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<TopKeys, A::Error> {
        let first = seq.next_element::<ElementKeys>()?.map(|e| e.0);
        // Skipping the rest is cheap (nothing is built) and keeps this a plain parse.
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(TopKeys { keys: Vec::new(), first })
    }
}

struct ElementKeys(FirstElement);

impl<'de> de::Deserialize<'de> for ElementKeys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ElementKeys;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("anything")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ElementKeys, A::Error> {
                let mut keys = Vec::new();
                while let Some(k) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    keys.push(k.into_owned());
                    map.next_value::<IgnoredAny>()?;
                }
                Ok(ElementKeys(FirstElement::Object(keys)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ElementKeys, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(ElementKeys(FirstElement::Array))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<ElementKeys, E> {
                Ok(ElementKeys(FirstElement::Scalar))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<ElementKeys, E> {
                Ok(ElementKeys(FirstElement::Scalar))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<ElementKeys, E> {
                Ok(ElementKeys(FirstElement::Scalar))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<ElementKeys, E> {
                Ok(ElementKeys(FirstElement::Scalar))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<ElementKeys, E> {
                Ok(ElementKeys(FirstElement::Scalar))
            }
            fn visit_unit<E: de::Error>(self) -> Result<ElementKeys, E> {
                Ok(ElementKeys(FirstElement::Scalar))
            }
        }
        d.deserialize_any(V)
    }
}

/// The top-level shape of the first JSON value (NDJSON: of the first line's value).
fn top_keys(text: &str) -> Option<TopKeys> {
    let mut de = serde_json::Deserializer::from_str(text);
    de.deserialize_any(TopKeysVisitor).ok()
}

fn first_line(text: &str) -> &str {
    text.split('\n').next().unwrap_or(text).trim()
}

/// Detects the format of decoded text.
pub(crate) fn detect_text(text: &str) -> Option<Format> {
    let text = text.trim_start_matches('\u{feff}').trim_start();
    if text.starts_with("RTCStatsDump") {
        let meta = text.split('\n').nth(1).unwrap_or_default();
        return Some(if meta.contains("rtcstats#") {
            Format::RtcstatsV4
        } else {
            Format::ChromeRtcstatsExport
        });
    }
    if text.starts_with("{\"statsSessionId\"") || first_line(text).contains("\"statsSessionId\"") {
        return Some(Format::JitsiServer);
    }
    if let Some(after) = text.strip_prefix('[') {
        let after = after.trim_start();
        // rtcstats v3: each line an array starting with a method name.
        let line = first_line(text);
        if (after.starts_with('"') || after.starts_with('-'))
            && serde_json::from_str::<serde_json::Value>(line).is_ok()
        {
            return Some(Format::RtcstatsV3);
        }
        if after.starts_with('"') {
            // A line that does not parse alone but starts like one: still rtcstats.
            return Some(Format::RtcstatsV3);
        }
        return match top_keys(text) {
            Some(TopKeys { first: Some(FirstElement::Array), .. }) => Some(Format::GetStatsSnapshot),
            Some(TopKeys { first: Some(FirstElement::Object(keys)), .. }) => {
                Some(classify_object(&keys).unwrap_or(Format::GetStatsSnapshot))
            }
            Some(_) => None,
            // Broken JSON: guess from the text so the reader can say where it breaks.
            None => Some(sniff(text).unwrap_or(Format::GetStatsSnapshot)),
        };
    }
    if text.starts_with('{') {
        return match top_keys(text) {
            Some(k) => classify_object(&k.keys).or(Some(Format::GetStatsSnapshot)),
            None => Some(sniff(text).unwrap_or(Format::GetStatsSnapshot)),
        };
    }
    None
}

/// Guesses a JSON format from key names near the start of a document that does not parse.
fn sniff(text: &str) -> Option<Format> {
    let mut end = text.len().min(65_536);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let head = &text[..end];
    let has = |k: &str| head.contains(&format!("\"{k}\""));
    let keys: Vec<String> = [
        "PeerConnections",
        "getUserMedia",
        "UserAgent",
        "peerConnections",
        "userAgent",
        "url",
        "clientId",
        "callId",
        "messages",
        "v",
        "participant",
        "conference",
        "stats",
        "events",
        "source",
    ]
    .iter()
    .filter(|k| has(k))
    .map(|k| k.to_string())
    .collect();
    classify_object(&keys)
}

fn classify_object(keys: &[String]) -> Option<Format> {
    let has = |k: &str| keys.iter().any(|x| x == k);
    if has("statsSessionId") {
        Some(Format::JitsiServer)
    } else if has("peerConnections")
        && (has("userAgent") || has("url") || has("getUserMedia"))
        && !has("clientId")
    {
        // The processed rtcstats-server JSON also carries an empty `PeerConnections`.
        Some(Format::ProcessedRtcstats)
    } else if has("PeerConnections") || (has("getUserMedia") && has("UserAgent")) {
        Some(Format::WebrtcInternals)
    } else if has("messages")
        || (has("peerConnections") && (has("clientId") || has("callId") || has("sampleSeq")))
    {
        Some(Format::ObserveRtc)
    } else if has("v")
        || ((has("participant") || has("conference")) && (has("stats") || has("events") || has("source")))
    {
        Some(Format::Native)
    } else if has("getUserMedia") {
        Some(Format::WebrtcInternals)
    } else {
        None
    }
}

/// A short description of unrecognised input for error messages.
pub(crate) fn describe(text: &str) -> String {
    let t = text.trim_start();
    let preview: String = t.chars().take(24).map(|c| if c.is_control() { '·' } else { c }).collect();
    match t.chars().next() {
        Some('{') | Some('[') => format!("JSON starting `{preview}` with no known structure"),
        _ => format!("text starting `{preview}`, not JSON"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_each_shape() {
        assert_eq!(
            detect_text("[\"connectionInfo\",null,{},1]\n[\"create\",\"PC_0\",{},2]"),
            Some(Format::RtcstatsV3)
        );
        assert_eq!(detect_text("RTCStatsDump\n{\"fileFormat\":3}\n"), Some(Format::ChromeRtcstatsExport));
        assert_eq!(
            detect_text("RTCStatsDump\n{\"clientProtocol\":\"rtcstats#4.0\"}\n"),
            Some(Format::RtcstatsV4)
        );
        assert_eq!(
            detect_text("{\"getUserMedia\":[],\"PeerConnections\":{},\"UserAgent\":\"x\"}"),
            Some(Format::WebrtcInternals)
        );
        assert_eq!(
            detect_text("[{\"id\":\"a\",\"type\":\"codec\",\"timestamp\":1}]"),
            Some(Format::GetStatsSnapshot)
        );
        assert_eq!(detect_text("[[\"a\",{\"type\":\"codec\"}]]"), Some(Format::GetStatsSnapshot));
        assert_eq!(
            detect_text("{\"v\":1,\"participant\":\"a\",\"events\":[]}\n{\"v\":1}"),
            Some(Format::Native)
        );
        assert_eq!(detect_text("[{\"v\":1,\"participant\":\"a\"}]"), Some(Format::Native));
        assert_eq!(
            detect_text("{\"statsSessionId\":\"x\",\"type\":\"identity\",\"data\":{}}"),
            Some(Format::JitsiServer)
        );
        assert_eq!(detect_text("hello"), None);
    }
}
