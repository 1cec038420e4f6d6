//! Facts about the calls captured from real Chromium (tests/fixtures/chromium), checked
//! through the whole pipeline: ingest → model → graph → diagnosis.

use hopscope_diagnose::diagnose;
use hopscope_model::events::{EventKind, MediaRequestSource, Outcome};
use hopscope_model::graph::{HopKind, PathGraph};
use hopscope_model::stats::{CandidateType, MediaKind, RelayProtocol};
use hopscope_model::{BrowserFamily, RemoteKind};
use hopscope_tests::{conference, fixture};

fn both(scenario: &str, ext: &str) -> Vec<std::path::PathBuf> {
    vec![
        fixture(&format!("chromium/{scenario}/alice.{ext}")),
        fixture(&format!("chromium/{scenario}/bob.{ext}")),
    ]
}

#[test]
fn turn_over_tcp_is_a_relay_hop_with_its_protocol() {
    for ext in ["rtcstats", "webrtc-internals.json"] {
        let c = conference(&both("p2p-turn-tcp", ext));
        for p in &c.participants {
            assert_eq!(p.client.inferred_family, Some(BrowserFamily::Chromium), "{ext}");
            let pc = &p.peer_connections[0];
            let pair =
                pc.selected_pairs.last().and_then(|s| pc.candidate_pair(&s.pair_stats_id)).expect("selected");
            let local = pc.candidate(pair.local_candidate_id.as_deref().expect("local id")).expect("local");
            assert_eq!(local.candidate_type, Some(CandidateType::Relay), "{ext}");
            assert_eq!(local.relay_transport(), Some(RelayProtocol::Tcp), "{ext}");
            assert_eq!(
                pc.configuration.as_ref().and_then(|c| c.ice_transport_policy.as_deref()),
                Some("relay")
            );
        }
        let graph = PathGraph::build(&c);
        let turn: Vec<_> = graph.hops().filter(|(_, h)| h.kind == HopKind::TurnRelay).collect();
        assert_eq!(turn.len(), 1, "{ext}: one TURN server, shared by both sides");
        assert_eq!(turn[0].1.relay_protocol, Some(RelayProtocol::Tcp));
        // Each route: endpoint → access → TURN → other side's access → other endpoint.
        for r in graph.routes() {
            let kinds: Vec<HopKind> = r.hops.iter().filter_map(|h| graph.hop(*h)).map(|h| h.kind).collect();
            assert_eq!(
                kinds,
                [
                    HopKind::Endpoint,
                    HopKind::AccessNetwork,
                    HopKind::TurnRelay,
                    HopKind::AccessNetwork,
                    HopKind::Endpoint
                ],
                "{ext}"
            );
            assert!(!r.outgoing.is_empty() && !r.incoming.is_empty(), "{ext}: routes carry series");
        }
        // Every directed link carries at least one route's series, both ways.
        for l in graph.links() {
            assert!(!graph.link_series(l.from, l.to).is_empty(), "{ext}: link without series");
        }
        let d = diagnose(&c);
        assert_eq!(d.topology, "peer-to-peer");
        assert_eq!(d.path.shared_hops, vec!["TURN 10.77.0.1 over tcp".to_string()]);
    }
}

#[test]
fn turn_401_never_connects_and_says_why() {
    for ext in ["rtcstats", "webrtc-internals.json", "hopscope.ndjson"] {
        let c = conference(&[fixture(&format!("chromium/ice-failure-turn-401/alice.{ext}"))]);
        let pc = &c.participants[0].peer_connections[0];
        assert!(!pc.ever_connected(), "{ext}");
        assert!(pc.candidate_pairs.is_empty(), "{ext}: no pair ever formed");
        let errors: Vec<u16> = pc
            .events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::IceCandidateError(err) => err.error_code,
                _ => None,
            })
            .collect();
        assert!(!errors.is_empty() && errors.iter().all(|c| *c == 401), "{ext}: {errors:?}");
        let d = diagnose(&c);
        let outcome = &d.participants[0].peer_connections[0].outcome;
        assert!(
            outcome.contains("never connected") && outcome.contains("STUN/TURN errors"),
            "{ext}: {outcome}"
        );
        assert_eq!(d.path.unrouted.len(), 1, "{ext}");
    }
}

#[test]
fn get_user_media_failure_is_an_event_with_the_error() {
    for ext in ["rtcstats", "webrtc-internals.json", "hopscope.ndjson", "chrome-rtcstats.txt"] {
        let c = conference(&[fixture(&format!("chromium/gum-failure/alice.{ext}"))]);
        let failures: Vec<String> = c.participants[0]
            .events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::MediaRequest {
                    source: MediaRequestSource::UserMedia,
                    outcome: Outcome::Failed(why),
                    ..
                } => Some(why.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(failures.len(), 1, "{ext}: {failures:?}");
        assert!(failures[0].to_ascii_lowercase().contains("overconstrainederror"), "{ext}: {}", failures[0]);
        // ... and the audio-only call afterwards connected.
        assert!(c.participants[0].peer_connections.iter().any(|pc| pc.ever_connected()), "{ext}");
    }
}

#[test]
fn random_loss_on_the_link_shows_as_audio_loss() {
    let c = conference(&both("p2p-lossy", "rtcstats"));
    for p in &c.participants {
        let audio = p.peer_connections[0]
            .inbound
            .iter()
            .find(|s| s.info.kind == Some(MediaKind::Audio))
            .expect("audio stream");
        let (received, lost) = hopscope_model::intervals::inbound_totals(&audio.samples);
        let (received, lost) = (received.expect("received"), lost.expect("lost"));
        let loss = lost / (lost + received);
        // The router dropped 5 % of UDP at random; audio has no retransmission.
        assert!((0.025..0.10).contains(&loss), "{}: audio loss {loss}", p.id);
    }
    let clean = conference(&both("p2p-direct", "rtcstats"));
    for p in &clean.participants {
        for s in &p.peer_connections[0].inbound {
            assert_eq!(hopscope_model::intervals::inbound_totals(&s.samples).1, Some(0.0), "{}", p.id);
        }
    }
}

#[test]
fn direct_call_is_host_to_host_with_tiny_rtt() {
    let c = conference(&both("p2p-direct", "rtcstats"));
    let d = diagnose(&c);
    for p in &d.participants {
        let pc = &p.peer_connections[0];
        assert_eq!(pc.remote, "peer");
        assert!(pc.outcome.starts_with("connected"), "{}", pc.outcome);
        let path = pc.selected_paths.last().expect("a path");
        assert_eq!(path.description, "host → host");
        let rtt = path.rtt_ms.expect("pair RTT");
        assert!(rtt.max < 20.0, "loopback namespaces: {rtt:?}");
        assert!(pc.setup_ms.is_some_and(|ms| ms < 2000.0), "{:?}", pc.setup_ms);
    }
    assert!(c.participants.iter().all(|p| p.peer_connections[0].remote_kind == RemoteKind::Peer));
}
