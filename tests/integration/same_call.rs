//! The same call read from different formats gives the same model.
//!
//! `<name>.rtcstats` and `<name>.hopscope.ndjson` were written by one collector from the
//! same `getStats()` reports, so they must agree exactly. Chrome's own webrtc-internals
//! dump and RTCStatsDump export of that call were recorded by the internals page polling
//! on its own clock, so they agree on structure and, within a poll interval, on totals.

use hopscope_model::stats::MediaKind;
use hopscope_model::{Conference, Participant, PeerConnection};
use hopscope_tests::{conference, fixture};

fn single(path: &str) -> Participant {
    let mut c = conference(&[fixture(path)]);
    assert_eq!(c.participants.len(), 1, "{path}");
    c.participants.remove(0)
}

fn ssrcs(pc: &PeerConnection) -> (Vec<u32>, Vec<u32>) {
    let mut inbound: Vec<u32> = pc.inbound.iter().filter_map(|s| s.info.ssrc).collect();
    let mut outbound: Vec<u32> = pc.outbound.iter().filter_map(|s| s.info.ssrc).collect();
    inbound.sort_unstable();
    outbound.sort_unstable();
    (inbound, outbound)
}

/// The parts of a peer connection that do not depend on how it was serialised.
fn assert_same_pc(a: &PeerConnection, b: &PeerConnection, what: &str) {
    assert_eq!(a.inbound.len(), b.inbound.len(), "{what}: inbound streams");
    assert_eq!(a.outbound.len(), b.outbound.len(), "{what}: outbound streams");
    for s in &a.inbound {
        let t = b.inbound.iter().find(|x| x.info.stats_id == s.info.stats_id).expect("same stats id");
        assert_eq!(s.samples, t.samples, "{what}: inbound {} samples", s.info.stats_id);
        assert_eq!(s.info, t.info, "{what}: inbound {} info", s.info.stats_id);
    }
    for s in &a.outbound {
        let t = b.outbound.iter().find(|x| x.info.stats_id == s.info.stats_id).expect("same stats id");
        assert_eq!(s.samples, t.samples, "{what}: outbound {} samples", s.info.stats_id);
    }
    for s in &a.remote_inbound {
        let t = b.remote_inbound.iter().find(|x| x.info.stats_id == s.info.stats_id).expect("same stats id");
        assert_eq!(s.samples, t.samples, "{what}: remote-inbound {} samples", s.info.stats_id);
    }
    assert_eq!(a.candidate_pairs, b.candidate_pairs, "{what}: candidate pairs");
    assert_eq!(a.candidates, b.candidates, "{what}: candidates");
    assert_eq!(a.selected_pairs, b.selected_pairs, "{what}: selected pairs");
    assert_eq!(a.stats_times, b.stats_times, "{what}: report times");
    assert_eq!(a.remote_kind, b.remote_kind, "{what}: far end");
    let states = |pc: &PeerConnection| pc.ice_states().collect::<Vec<_>>();
    assert_eq!(states(a), states(b), "{what}: ICE states with times");
    assert_eq!(
        a.configuration.as_ref().map(|c| &c.ice_servers),
        b.configuration.as_ref().map(|c| &c.ice_servers),
        "{what}: ICE servers"
    );
}

#[test]
fn rtcstats_and_native_give_identical_models() {
    for scenario in ["p2p-direct", "p2p-turn-tcp", "p2p-lossy", "gum-failure", "ice-failure-turn-401"] {
        for who in ["alice", "bob"] {
            let a = single(&format!("chromium/{scenario}/{who}.rtcstats"));
            let b = single(&format!("chromium/{scenario}/{who}.hopscope.ndjson"));
            let what = format!("{scenario}/{who}");
            assert_eq!(a.id, b.id, "{what}: participant name");
            assert_eq!(a.peer_connections.len(), b.peer_connections.len(), "{what}: peer connections");
            // The collector names PCs `PC_0` in rtcstats and `pc-1` in native files.
            for (x, y) in a.peer_connections.iter().zip(&b.peer_connections) {
                assert_same_pc(x, y, &what);
            }
            assert_eq!(a.client.inferred_family, b.client.inferred_family, "{what}: browser");
            let media = |p: &Participant| p.events.iter().map(|e| (e.at, e.kind.clone())).collect::<Vec<_>>();
            assert_eq!(media(&a), media(&b), "{what}: participant events");
        }
    }
}

/// Total packets received per media kind, from the cumulative counters.
fn received(p: &Participant, kind: MediaKind) -> f64 {
    p.peer_connections
        .iter()
        .flat_map(|pc| &pc.inbound)
        .filter(|s| s.info.kind == Some(kind))
        .filter_map(|s| hopscope_model::intervals::inbound_totals(&s.samples).0)
        .sum()
}

#[test]
fn chrome_dumps_agree_with_the_collector_on_structure_and_totals() {
    for scenario in ["p2p-direct", "p2p-turn-tcp", "p2p-lossy"] {
        for who in ["alice", "bob"] {
            let reference = single(&format!("chromium/{scenario}/{who}.rtcstats"));
            for other in [
                format!("chromium/{scenario}/{who}.webrtc-internals.json"),
                format!("chromium/{scenario}/{who}.chrome-rtcstats.txt"),
            ] {
                let p = single(&other);
                assert_eq!(
                    p.peer_connections.len(),
                    reference.peer_connections.len(),
                    "{other}: peer connections"
                );
                for (x, y) in p.peer_connections.iter().zip(&reference.peer_connections) {
                    assert_eq!(ssrcs(x), ssrcs(y), "{other}: SSRCs");
                    let sel = |pc: &PeerConnection| {
                        let pair =
                            pc.selected_pairs.last().and_then(|c| pc.candidate_pair(&c.pair_stats_id))?;
                        let l = pc.candidate(pair.local_candidate_id.as_deref()?)?;
                        let r = pc.candidate(pair.remote_candidate_id.as_deref()?)?;
                        Some((l.candidate_type, l.relay_transport(), r.candidate_type))
                    };
                    assert_eq!(sel(x), sel(y), "{other}: selected path");
                    assert!(x.ever_connected() && y.ever_connected(), "{other}: connected");
                }
                // The internals page polls on its own clock: totals agree within a couple of
                // seconds of traffic (about 50 audio packets per second).
                for kind in [MediaKind::Audio, MediaKind::Video] {
                    let (a, b) = (received(&p, kind), received(&reference, kind));
                    assert!(b > 100.0, "{other}: {kind:?} flowed");
                    assert!((a - b).abs() / b < 0.15, "{other}: {kind:?} packets {a} vs {b}");
                }
            }
        }
    }
}

#[test]
fn a_call_split_over_files_joins_into_one_conference() {
    for ext in ["rtcstats", "hopscope.ndjson", "webrtc-internals.json", "chrome-rtcstats.txt"] {
        let c: Conference = conference(&[
            fixture(&format!("chromium/p2p-direct/alice.{ext}")),
            fixture(&format!("chromium/p2p-direct/bob.{ext}")),
        ]);
        let names: Vec<&str> = c.participants.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(names.len(), 2, "{ext}: {names:?}");
        assert!(!c.joined_by.is_empty(), "{ext}: a reason to join");
        for p in &c.participants {
            assert!(
                p.peer_connections.iter().any(|pc| pc.remote_kind == hopscope_model::RemoteKind::Peer),
                "{ext}: {} is recognised as peer-to-peer",
                p.id
            );
        }
    }
}
