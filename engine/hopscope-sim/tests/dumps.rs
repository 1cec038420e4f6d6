//! Each dump format, read back through the ingest, gives the model facts the native output
//! gives: the same streams, the same counters at their last sample, the same events (less
//! what a format cannot carry: webrtc-internals keeps the configuration instead of a
//! `create` event and has no place for the application's `feedback`).

mod common;

use common::{example, scenario};
use hopscope_ingest::{Format, Limits, ingest};
use hopscope_model::{EventKind, Participant, PeerConnection};
use hopscope_sim::{DumpFormat, Scenario, simulate};

fn read(name: &str, text: &str, format: Format) -> Participant {
    let mut read =
        ingest(name, text.as_bytes(), &Limits::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(read.format, format, "{name} is detected as what it is");
    assert!(read.notes.is_empty(), "{name}: {:?}", read.notes);
    assert_eq!(read.participants.len(), 1, "{name}");
    read.participants.remove(0)
}

/// Events as comparable text. Native `track` events are not callbacks to the ingest (no
/// `on`), the dumps' `ontrack` are: both are "a track arrived".
fn events(events: &[hopscope_model::Event], format: DumpFormat) -> Vec<String> {
    events
        .iter()
        .filter(|e| {
            !(format == DumpFormat::WebrtcInternals
                && matches!(e.kind, EventKind::Created | EventKind::Feedback { .. }))
        })
        .map(|e| {
            let kind = match &e.kind {
                EventKind::TrackAdded(_) => "track".to_string(),
                EventKind::Other { name, .. } if name == "track" => "track".to_string(),
                other => format!("{other:?}"),
            };
            format!("{:.0} {kind}", e.at.epoch_ms())
        })
        .collect()
}

/// The last sample of every stream of `a` equals that of the same stream (by SSRC) in `b`.
macro_rules! same_last_samples {
    ($who:expr, $a:expr, $b:expr, $field:ident) => {
        assert_eq!($a.$field.len(), $b.$field.len(), "{}: {}", $who, stringify!($field));
        for s in &$a.$field {
            let o = $b
                .$field
                .iter()
                .find(|x| x.info.ssrc == s.info.ssrc && x.info.kind == s.info.kind)
                .unwrap_or_else(|| panic!("{}: {} {:?} missing", $who, stringify!($field), s.info.ssrc));
            assert_eq!(s.info.codec, o.info.codec, "{}", $who);
            assert_eq!(s.info.mid, o.info.mid, "{}", $who);
            assert_eq!(
                s.samples.last(),
                o.samples.last(),
                "{}: {} {:?}",
                $who,
                stringify!($field),
                s.info.ssrc
            );
        }
    };
}

fn compare(native: &Participant, other: &Participant, format: DumpFormat) {
    let who = format!("{} as {format:?}", native.id.as_str());
    assert_eq!(native.id, other.id, "{who}: the participant keeps its name");
    assert_eq!(native.client.user_agent, other.client.user_agent, "{who}");
    assert_eq!(native.client.inferred_family, other.client.inferred_family, "{who}");
    assert_eq!(events(&native.events, format), events(&other.events, format), "{who}: client events");
    assert_eq!(native.peer_connections.len(), other.peer_connections.len(), "{who}");
    let (Some(a), Some(b)): (Option<&PeerConnection>, Option<&PeerConnection>) =
        (native.peer_connections.first(), other.peer_connections.first())
    else {
        return;
    };
    same_last_samples!(who, a, b, inbound);
    same_last_samples!(who, a, b, outbound);
    same_last_samples!(who, a, b, remote_inbound);
    same_last_samples!(who, a, b, remote_outbound);
    assert_eq!(a.media_sources.len(), b.media_sources.len(), "{who}");
    for (x, y) in a.media_sources.iter().zip(&b.media_sources) {
        assert_eq!(x.samples.last(), y.samples.last(), "{who}: media source");
    }
    assert_eq!(a.candidate_pairs.len(), b.candidate_pairs.len(), "{who}");
    for (x, y) in a.candidate_pairs.iter().zip(&b.candidate_pairs) {
        assert_eq!(x.samples.last(), y.samples.last(), "{who}: candidate pair");
    }
    for (x, y) in a.transports.iter().zip(&b.transports) {
        assert_eq!(x.samples.last(), y.samples.last(), "{who}: transport");
    }
    assert_eq!(a.candidates, b.candidates, "{who}: candidates");
    assert_eq!(a.ever_connected(), b.ever_connected(), "{who}");
    let policy = |pc: &PeerConnection| pc.configuration.as_ref().and_then(|c| c.ice_transport_policy.clone());
    let urls = |pc: &PeerConnection| {
        pc.configuration
            .as_ref()
            .map(|c| c.ice_servers.iter().flat_map(|s| s.urls.clone()).collect::<Vec<_>>())
    };
    assert_eq!((policy(a), urls(a)), (policy(b), urls(b)), "{who}: configuration");
    assert_eq!(events(&a.events, format), events(&b.events, format), "{who}: connection events");
}

fn round_trip(s: &Scenario) {
    let sim = simulate(s);
    for p in &sim.participants {
        let native = read(&format!("{}.ndjson", p.name), &p.ndjson, Format::Native);
        for (format, detected) in [
            (DumpFormat::WebrtcInternals, Format::WebrtcInternals),
            (DumpFormat::Rtcstats, Format::RtcstatsV3),
        ] {
            let name = format!("{}{}", p.name, format.extension());
            let other = read(&name, &p.dump(format), detected);
            compare(&native, &other, format);
        }
        assert!(p.dump(DumpFormat::Native) == p.ndjson);
    }
}

#[test]
fn chrome_firefox_and_safari_calls_round_trip() {
    // Chrome, Firefox and Safari dialects, uplink loss, RTCP from a media server.
    round_trip(&scenario(&example("sfu-wifi-loss")).truncated(15.0));
    // A DTX mute, a screen share, a late joiner, an early leaver.
    round_trip(&scenario(
        r"
name: variety
seed: 2
duration: 20s
topology: sfu
participants:
  - {name: alice, screenshare: true, audio: {dtx: true, muted: [[4s, 9s]]}}
  - {name: bob, join: 3s, leave: 16s, browser: edge/140}
  - {name: carol, video: false}
",
    ));
}

#[test]
fn failures_and_refusals_round_trip() {
    // Outages, ICE `disconnected` and `failed`.
    round_trip(&scenario(&example("p2p-connection-lost")));
    // Relay-only ICE refused with 401, and feedback (rtcstats only).
    round_trip(&scenario(&example("turn-401")));
    // getUserMedia and negotiation failures, a relayed connection over TLS.
    round_trip(&scenario(
        r#"
name: refusals
duration: 8s
topology: sfu
participants:
  - {name: alice, gum_error: NotAllowedError}
  - {name: bob, negotiation_error: "Failed to parse SessionDescription."}
  - {name: carol, ice: {candidate: relay, relay_protocol: tls}, feedback: {rating: 2, comment: "choppy"}}
"#,
    ));
}

#[test]
fn dumps_have_the_shapes_of_the_real_ones() {
    let sim = simulate(&scenario(&example("p2p-clean")).truncated(5.0));
    let alice = &sim.participants[0];
    let internals: serde_json::Value =
        serde_json::from_str(&alice.dump(DumpFormat::WebrtcInternals)).expect("JSON");
    let pcs = internals["PeerConnections"].as_object().expect("PeerConnections");
    assert_eq!(pcs.len(), 1);
    let pc = pcs.values().next().expect("one connection");
    assert!(
        pc["rtcConfiguration"]
            .as_str()
            .is_some_and(|c| c.contains("iceServers") && !c.contains("credential"))
    );
    let stats = pc["stats"].as_object().expect("stats");
    let (key, series) =
        stats.iter().find(|(k, _)| k.starts_with("OT01A") && k.ends_with("-packetsSent")).expect("a series");
    assert_eq!(series["statsType"], "outbound-rtp", "{key}");
    let values: Vec<f64> =
        serde_json::from_str(series["values"].as_str().expect("values in a string")).expect("numbers");
    assert!(values.len() >= 4 && values.windows(2).all(|w| w[0] <= w[1]), "{values:?}");
    assert!(series["startTime"].as_str().is_some_and(|t| t.ends_with('Z') && t.contains('T')));
    let log = pc["updateLog"].as_array().expect("updateLog");
    assert!(log.iter().any(|e| e["type"] == "oniceconnectionstatechange" && e["value"] == "\"connected\""));
    assert!(log.iter().all(|e| e["value"].is_string() && e["timestamp"].is_number()));
    assert_eq!(internals["getUserMedia"][0]["request_type"], "getUserMedia");

    let rtcstats = alice.dump(DumpFormat::Rtcstats);
    let lines: Vec<serde_json::Value> =
        rtcstats.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    assert_eq!(lines[0][0], "connectionInfo");
    assert_eq!(lines[1][0], "identity");
    assert_eq!(lines[1][2]["displayName"], "alice");
    let stats: Vec<&serde_json::Value> = lines.iter().filter(|l| l[0] == "getstats").collect();
    assert!(stats.len() >= 4);
    // The first report is complete, later ones carry what changed and the time.
    let first = stats[0][2].as_object().expect("report");
    let second = stats[1][2].as_object().expect("report");
    let (id, full) = first.iter().find(|(k, _)| k.starts_with("OT01A")).expect("outbound audio");
    assert_eq!(full["type"], "outbound-rtp");
    assert!(full.get("id").is_none(), "ids are the keys");
    let delta = second[id].as_object().expect("delta");
    assert!(
        delta.contains_key("timestamp") && delta.contains_key("packetsSent") && !delta.contains_key("type")
    );
    assert!(second["timestamp"].is_number());
    assert!(lines.iter().all(|l| l[3].is_i64()), "epoch milliseconds on every line");
}
