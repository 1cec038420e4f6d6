//! Attribution on simulated calls whose faults are known: the right hop, or an honest
//! "cannot tell" where endpoint data cannot split two hops.

use hopscope_attribute::{Attribution, Direction, FaultKind, HopClass, HopRef, attribute};
use hopscope_rules::eval::evaluate;
use hopscope_rules::pack::builtin_default;
use hopscope_rules::view::View;

fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(yaml: &str) -> Attribution {
    run_observed(yaml, false)
}

/// With `servers`, what observing media servers and relays reported joins the endpoints' data.
fn run_observed(yaml: &str, servers: bool) -> Attribution {
    let scenario = hopscope_sim::Scenario::from_yaml(yaml).unwrap_or_else(|e| panic!("{e}"));
    let sim = hopscope_sim::simulate(&scenario);
    let data = if servers { sim.combined_with_servers() } else { sim.combined() };
    let input = hopscope_ingest::ingest("sim", data.as_bytes(), &Default::default()).expect("ingests");
    let conference = hopscope_ingest::assemble(vec![input]).remove(0);
    let view = View::build(&conference, &hopscope_score::QualityConfig::default());
    let findings = evaluate(&builtin_default().rules, &view);
    attribute(&conference, &view, &findings)
}

fn file(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn decided(a: &Attribution, kind: FaultKind) -> Vec<HopRef> {
    a.faults.iter().filter(|f| f.kind == kind).filter_map(|f| f.hop.clone()).collect()
}

#[test]
fn a_lossy_uplink_on_an_sfu_call_is_the_senders() {
    let a = run(&file("examples/scenarios/sfu-wifi-loss.yaml"));
    assert_eq!(decided(&a, FaultKind::Loss), vec![HopRef::access("carol", Direction::Up)], "{:#?}", a.faults);
    let f = a.faults.iter().find(|f| f.kind == FaultKind::Loss).expect("loss fault");
    assert!(f.confidence > 0.8, "{}", f.confidence);
    assert!(f.magnitude.is_some_and(|m| (5.0..11.0).contains(&m)), "{:?}", f.magnitude);
    assert_eq!(f.affected, ["alice", "bob", "dave"], "the receivers suffer it");
    assert!(f.evidence.iter().any(|e| e.contains("reported back by the media server")), "{:?}", f.evidence);
    assert!(f.symptoms.len() >= 3, "the receivers' loss, concealment and MOS findings fold under it");
    // Nothing else is blamed.
    assert!(
        a.faults.iter().all(|f| f.hop.as_ref().is_none_or(|h| h.participant.as_deref() == Some("carol")))
    );
}

#[test]
fn loss_towards_everyone_at_once_is_the_media_server() {
    let a = run(&file("rules/builtin/tests/scenarios/sfu-egress-loss.yaml"));
    let hops = decided(&a, FaultKind::Loss);
    assert_eq!(hops.len(), 1, "{:#?}", a.faults);
    assert_eq!(hops[0].class, HopClass::Sfu);
}

#[test]
fn a_cpu_limited_encoder_is_the_senders_device() {
    let a = run(&file("examples/scenarios/cpu-limited.yaml"));
    assert_eq!(decided(&a, FaultKind::Cpu), vec![HopRef::endpoint("alice")]);
    assert_eq!(a.faults.len(), 1, "{:#?}", a.faults);
}

#[test]
fn a_relay_refusing_credentials_is_the_relay() {
    let a = run(&file("examples/scenarios/turn-401.yaml"));
    let turn = decided(&a, FaultKind::TurnAuth);
    assert_eq!(turn.len(), 1, "{:#?}", a.faults);
    assert_eq!(turn[0].class, HopClass::Turn);
    assert_eq!(turn[0].server.as_deref(), Some("turn.example.com"));
    // Bob could not reach alice because of it: not a second fault.
    assert_eq!(a.faults.len(), 1, "{:#?}", a.faults);
}

#[test]
fn peer_to_peer_jitter_names_both_ends_and_what_would_decide() {
    let a = run(&file("examples/scenarios/p2p-high-jitter.yaml"));
    let f = a.faults.iter().find(|f| f.kind == FaultKind::Jitter).expect("jitter fault");
    assert!(f.hop.is_none(), "two-party P2P cannot split uplink from downlink: {f:#?}");
    let mut candidates: Vec<String> = f.candidates.iter().map(|c| c.hop.to_string()).collect();
    candidates.sort();
    assert_eq!(candidates, ["alice's network (downlink)", "bob's network (uplink)"]);
    assert!(f.would_decide.as_deref().is_some_and(|w| w.contains("third participant")));
}

#[test]
fn healthy_calls_raise_nothing() {
    for rel in [
        "examples/scenarios/p2p-clean.yaml",
        "examples/scenarios/muted-dtx.yaml",
        "rules/builtin/tests/scenarios/audio-only.yaml",
        "rules/builtin/tests/scenarios/screenshare.yaml",
        // Chance loss in a stream's first seconds, before the smoothing window fills.
        "engine/hopscope-attribute/tests/scenarios/healthy-early-blip.yaml",
    ] {
        let a = run(&file(rel));
        assert!(a.faults.is_empty(), "{rel}: {:#?}", a.faults);
    }
}

#[test]
fn an_outage_and_a_drop_are_two_faults_from_when_the_path_went_down() {
    let a = run(&file("examples/scenarios/p2p-connection-lost.yaml"));
    let conn: Vec<_> = a.faults.iter().filter(|f| f.kind == FaultKind::Connectivity).collect();
    assert_eq!(conn.len(), 2, "{:#?}", a.faults);
    // The path was down from 20 s to 27 s, then for good from 40 s (Chrome notices ~5 s later).
    assert!(
        conn[0].from.as_str() >= "2026-03-02T10:00:18" && conn[0].to.as_str() <= "2026-03-02T10:00:29",
        "{:?}",
        (&conn[0].from, &conn[0].to)
    );
    assert!(conn[0].evidence[0].contains("came back"), "{:?}", conn[0].evidence);
    assert!(
        ("2026-03-02T10:00:38".."2026-03-02T10:00:42").contains(&conn[1].from.as_str()),
        "{}",
        conn[1].from
    );
    for f in &conn {
        assert_eq!(f.affected, ["alice", "bob"]);
        assert!(f.hop.is_none(), "either end's network could have cut a two-party P2P path");
    }
    // What the streams showed while the path was down is the outage, not a network fault.
    assert!(a.faults.iter().all(|f| f.kind == FaultKind::Connectivity), "{:#?}", a.faults);
}

#[test]
fn attribution_is_deterministic() {
    let yaml = file("examples/scenarios/sfu-wifi-loss.yaml");
    let first = serde_json::to_string(&run(&yaml)).expect("json");
    assert_eq!(first, serde_json::to_string(&run(&yaml)).expect("json"));
}

/// A two-party call relayed through an observed TURN server (`relayed-p2p.yaml`), with
/// `segment` (a YAML network segment for bob) from 15 s to 30 s.
fn relayed_call(segment: &str) -> String {
    file("engine/hopscope-attribute/tests/scenarios/relayed-p2p.yaml").replace(
        "segments: [{from: 15s, to: 30s, downlink: {loss: 15%}}]",
        &format!("segments: [{{from: 15s, to: 30s, {segment}}}]"),
    )
}

#[test]
fn the_relays_counts_tell_which_side_of_it_lost_packets() {
    // Endpoint data alone cannot split alice's uplink from bob's downlink on this flow...
    let blind = run(&relayed_call("downlink: {loss: 15%}"));
    assert!(decided(&blind, FaultKind::Loss).is_empty(), "{:#?}", blind.faults);
    // ...but the relay passed on everything alice sent, and bob got less than it passed on.
    let a = run_observed(&relayed_call("downlink: {loss: 15%}"), true);
    assert_eq!(decided(&a, FaultKind::Loss), vec![HopRef::access("bob", Direction::Down)], "{:#?}", a.faults);
    let loss = a.faults.iter().find(|f| f.kind == FaultKind::Loss).expect("a loss fault");
    assert!(loss.evidence.iter().any(|e| e.contains("relay's count")), "{:?}", loss.evidence);
    // The same on the way in: bob sent more than reached the relay.
    let a = run_observed(&relayed_call("uplink: {loss: 15%}"), true);
    assert_eq!(decided(&a, FaultKind::Loss), vec![HopRef::access("bob", Direction::Up)], "{:#?}", a.faults);
}

#[test]
fn a_path_that_dies_shortly_before_the_call_ends_is_still_a_drop() {
    // Chrome would say `failed` 15 s after the path died; the call ends 11 s after, with
    // alice's connection stuck in `disconnected` while the others carry on.
    let yaml = "name: late-drop
seed: 3
start: 2026-03-01T10:00:00.000Z
duration: 45s
topology: sfu
sfu:
  name: sfu-eu-1
participants:
  - name: alice
    video: {codec: vp8, width: 640, height: 360, fps: 30, max_bitrate: 800kbps}
    ice: {candidate: srflx, network_type: wifi, fail_at: 34s}
  - name: bob
    video: {codec: vp8, width: 640, height: 360, fps: 30, max_bitrate: 800kbps}
  - name: carol
    video: {codec: vp8, width: 640, height: 360, fps: 30, max_bitrate: 800kbps}
";
    let a = run(yaml);
    let conn: Vec<_> = a.faults.iter().filter(|f| f.kind == FaultKind::Connectivity).collect();
    assert_eq!(conn.len(), 1, "{:#?}", a.faults);
    assert_eq!(conn[0].hop, Some(HopRef::access("alice", Direction::Both)));
    // From when the path went down, a few seconds before ICE noticed.
    assert!(
        ("2026-03-01T10:00:32".."2026-03-01T10:00:36").contains(&conn[0].from.as_str()),
        "{}",
        conn[0].from
    );
}

#[test]
fn a_bandwidth_limit_is_where_the_relay_saw_packets_dropped_as_it_set_in() {
    // alice's video is held back by a narrow link somewhere between her and bob: endpoint
    // data cannot say whose.
    let blind = run(&relayed_call("downlink: {bandwidth: 150kbps}"));
    assert!(decided(&blind, FaultKind::Bandwidth).is_empty(), "{:#?}", blind.faults);
    assert!(blind.faults.iter().any(|f| f.kind == FaultKind::Bandwidth), "{:#?}", blind.faults);
    // The relay passed everything on, and bob's side dropped a burst as the limit set in.
    let a = run_observed(&relayed_call("downlink: {bandwidth: 150kbps}"), true);
    assert_eq!(
        decided(&a, FaultKind::Bandwidth),
        vec![HopRef::access("bob", Direction::Down)],
        "{:#?}",
        a.faults
    );
    let f = a.faults.iter().find(|f| f.kind == FaultKind::Bandwidth).expect("a bandwidth fault");
    assert!(f.evidence.iter().any(|e| e.contains("as the limit set in")), "{:?}", f.evidence);
    assert_eq!(f.affected, ["alice"]);
}

#[test]
fn a_limit_named_from_two_candidate_lists_is_one_fault() {
    // Endpoint data leaves the limit undecided among one set of hops for a while, then among
    // another; where the relay saw drops resolves each to alice's uplink: the same fault,
    // which must not come out twice, back to back.
    let a = run_observed(&file("engine/hopscope-attribute/tests/scenarios/relayed-uplink-cap.yaml"), true);
    let bw: Vec<_> = a.faults.iter().filter(|f| f.kind == FaultKind::Bandwidth).collect();
    assert_eq!(bw.len(), 1, "{:#?}", a.faults);
    let f = bw[0];
    assert_eq!(f.hop, Some(HopRef::access("alice", Direction::Up)));
    assert_eq!(f.candidates.len(), 1);
    // It spans both parts: the cap is on from 10 s to 26 s of the 30 s call, and shows in the
    // encoder from a few seconds in until the data ends.
    assert!(f.from.as_str() < "2026-01-12T12:00:16", "{}", f.from);
    assert!(f.to.as_str() >= "2026-01-12T12:00:29", "{}", f.to);
    // The evidence of both: the encoder held back, and the drop where the link narrowed.
    assert!(f.evidence.iter().any(|e| e.contains("bandwidth-limited")), "{:?}", f.evidence);
    assert!(f.evidence.iter().any(|e| e.contains("as the limit set in")), "{:?}", f.evidence);
    assert!((0.5..=0.99).contains(&f.confidence), "{}", f.confidence);
    assert!(f.magnitude.is_some_and(|m| (80.0..=100.0).contains(&m)), "{:?}", f.magnitude);
    assert_eq!(f.affected, ["alice"]);
}

#[test]
fn a_network_bad_both_ways_is_one_place_not_one_fault_per_direction() {
    // Peer to peer, alice's Wi-Fi loses packets both ways. Endpoint data cannot tell her
    // network from bob's, but each one-way hop also stands for its place as a whole: one
    // place bad both ways explains both flows, so this is one fault, "alice's network or
    // bob's", not one undecided fault per direction.
    let yaml = "name: wifi-both-ways
seed: 4
start: 2026-03-01T10:00:00.000Z
duration: 40s
topology: p2p
participants:
  - name: alice
    network:
      segments: [{from: 10s, to: 30s, uplink: {loss: 10%}, downlink: {loss: 10%}}]
  - name: bob
";
    let a = run(yaml);
    let loss: Vec<_> = a.faults.iter().filter(|f| f.kind == FaultKind::Loss).collect();
    assert_eq!(loss.len(), 1, "{:#?}", a.faults);
    assert_eq!(loss[0].hop, None, "endpoint data cannot decide whose network");
    let candidates: Vec<&HopRef> = loss[0].candidates.iter().map(|c| &c.hop).collect();
    assert_eq!(
        candidates,
        [&HopRef::access("alice", Direction::Both), &HopRef::access("bob", Direction::Both)],
        "{:#?}",
        a.faults
    );
    assert!((loss[0].confidence - 0.5).abs() < 1e-9, "{}", loss[0].confidence);
    assert!(loss[0].would_decide.is_some());
}

/// The one loss or bandwidth fault in `a`, checked to be alone.
fn only_loss_or_bandwidth(a: &Attribution) -> &hopscope_attribute::Fault {
    let found: Vec<_> =
        a.faults.iter().filter(|f| matches!(f.kind, FaultKind::Loss | FaultKind::Bandwidth)).collect();
    assert_eq!(found.len(), 1, "{:#?}", a.faults);
    found[0]
}

#[test]
fn a_caps_onset_drops_are_part_of_the_bandwidth_limit() {
    // The drops last a few seconds, the limit until the cap lifts: the limit is the cause.
    let a = run(&file("engine/hopscope-attribute/tests/scenarios/p2p-uplink-cap.yaml"));
    let f = only_loss_or_bandwidth(&a);
    assert_eq!(f.kind, FaultKind::Bandwidth);
    let candidates: Vec<&HopRef> = f.candidates.iter().map(|c| &c.hop).collect();
    assert!(candidates.contains(&&HopRef::access("bob", Direction::Up)), "{candidates:?}");
    assert_eq!(f.hop, None, "peer to peer, endpoint data cannot say whose network");
    // The burst of loss at the onset is kept as evidence.
    assert!(f.evidence.iter().any(|e| e.contains("lost")), "{:?}", f.evidence);
}

#[test]
fn a_limit_that_lasts_only_as_long_as_heavy_loss_is_part_of_the_loss() {
    // The loss lasts to the end, the encoder held back only since the sender backed off.
    let a = run(&file("engine/hopscope-attribute/tests/scenarios/p2p-downlink-loss.yaml"));
    let f = only_loss_or_bandwidth(&a);
    assert_eq!(f.kind, FaultKind::Loss);
    let candidates: Vec<&HopRef> = f.candidates.iter().map(|c| &c.hop).collect();
    assert!(candidates.contains(&&HopRef::access("bob", Direction::Down)), "{candidates:?}");
    assert!(f.evidence.iter().any(|e| e.contains("bandwidth-limited")), "{:?}", f.evidence);
    assert!(f.magnitude.is_some_and(|m| (10.0..30.0).contains(&m)), "{:?}", f.magnitude);
}
