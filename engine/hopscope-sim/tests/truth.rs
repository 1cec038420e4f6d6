//! The ground truth a scenario carries: every injected fault, where, when, how large, and
//! which hops the call's data cannot tell it from.

mod common;

use common::{example, scenario};
use hopscope_sim::truth::{Direction, Fault, FaultKind, Hop, HopKind, HopRef, Unit};
use hopscope_sim::{Topology, simulate};

fn access(name: &str) -> Hop {
    Hop { kind: HopKind::Access, participant: Some(name.into()), server: None }
}

fn server(kind: HopKind, name: &str) -> Hop {
    Hop { kind, participant: None, server: Some(name.into()) }
}

fn at(hop: Hop, direction: Direction) -> HopRef {
    HopRef { hop, direction: Some(direction) }
}

fn faults(yaml: &str) -> Vec<Fault> {
    scenario(yaml).truth().faults
}

fn only(yaml: &str) -> Fault {
    let mut f = faults(yaml);
    assert_eq!(f.len(), 1, "{f:#?}");
    f.remove(0)
}

#[test]
fn examples_carry_what_they_inject() {
    let healthy = ["p2p-clean", "muted-dtx", "slow-ice"];
    for name in healthy {
        let truth = scenario(&example(name)).truth();
        assert!(truth.is_healthy(), "{name}: {:#?}", truth.faults);
    }
    // The 50-person call has one participant on a 3 % lossy uplink from when they join.
    let f = only(&example("sfu-50"));
    assert_eq!(
        (f.kind, &f.hop, f.from_s, f.to_s, f.magnitude),
        (FaultKind::Loss, &access("p18"), 5.9, 60.0, Some(0.03))
    );
    let f = only(&example("sfu-wifi-loss"));
    assert_eq!((f.kind, &f.hop, f.direction), (FaultKind::Loss, &access("carol"), Some(Direction::Up)));
    assert_eq!((f.from_s, f.to_s, f.magnitude, f.unit), (10.0, 50.0, Some(0.08), Some(Unit::Fraction)));
    assert!(
        f.equivalent.is_empty(),
        "through a media server carol's uplink stands alone: {:?}",
        f.equivalent
    );

    let f = only(&example("p2p-high-jitter"));
    assert_eq!(
        (f.kind, &f.hop, f.direction, f.magnitude),
        (FaultKind::Jitter, &access("bob"), Some(Direction::Up), Some(0.06))
    );
    assert_eq!(f.equivalent, [at(access("alice"), Direction::Down)]);

    let f = only(&example("p2p-bandwidth-cap"));
    assert_eq!(
        (f.kind, f.from_s, f.to_s, f.magnitude, f.unit),
        (FaultKind::Bandwidth, 20.0, 45.0, Some(400_000.0), Some(Unit::BitsPerSecond))
    );
    assert_eq!(f.equivalent, [at(access("bob"), Direction::Down)]);

    let f = only(&example("cpu-limited"));
    assert_eq!(
        (f.kind, f.hop.kind, f.hop.participant.as_deref(), f.direction),
        (FaultKind::Cpu, HopKind::Endpoint, Some("alice"), None)
    );
    assert_eq!((f.from_s, f.to_s, f.magnitude), (20.0, 40.0, None));
    assert!(f.equivalent.is_empty());

    let f = faults(&example("p2p-connection-lost"));
    assert_eq!(f.len(), 2, "{f:#?}");
    assert!(f.iter().all(|f| f.kind == FaultKind::Connectivity && f.hop == access("alice")));
    assert_eq!((f[0].from_s, f[0].to_s), (20.0, 27.0));
    assert_eq!((f[1].from_s, f[1].to_s), (40.0, 60.0), "the path dies for good");
    assert_eq!(f[0].equivalent, [at(access("bob"), Direction::Both)], "either end of a p2p path");

    let f = only(&example("turn-401"));
    assert_eq!((f.kind, &f.hop), (FaultKind::TurnAuth, &server(HopKind::Turn, "turn.example.com")));
}

#[test]
fn every_example_loads_and_has_its_truth() {
    let dir = format!("{}/../../examples/scenarios", env!("CARGO_MANIFEST_DIR"));
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).expect("examples") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let text = std::fs::read_to_string(&path).expect("read");
            let s = hopscope_sim::Scenario::from_yaml(&text)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let truth = s.truth();
            assert_eq!(truth.participants.len(), s.participant_names().count());
            assert!(
                truth.faults.iter().all(|f| f.from_s < f.to_s && f.to_s <= truth.duration_s),
                "{}",
                path.display()
            );
            count += 1;
        }
    }
    assert!(count >= 14, "{count} examples");
}

#[test]
fn p2p_uplink_loss_is_the_peers_downlink_unless_a_relay_reports() {
    let p2p = "name: t\nduration: 30s\ntopology: p2p\nparticipants:\n  - {name: alice, network: {segments: [{from: 5s, to: 25s, uplink: {loss: 10%}}]}}\n  - {name: bob}\n";
    let f = only(p2p);
    assert_eq!((f.from_s, f.to_s, f.magnitude), (5.0, 25.0, Some(0.1)));
    assert_eq!(f.equivalent, [at(access("bob"), Direction::Down)]);
    // Relayed through a relay that does not report: the relay could be losing them too.
    let relayed = p2p.replace("{name: alice, ", "{name: alice, ice: {candidate: relay, turn: t1}, ")
        + "turn: [{name: t1}]\n";
    let f = only(&relayed);
    assert_eq!(
        f.equivalent,
        [at(access("bob"), Direction::Down), at(server(HopKind::Turn, "t1"), Direction::Up)]
    );
    // A reporting relay counts what it got from alice: her uplink stands alone.
    let observed = relayed.replace("[{name: t1}]", "[{name: t1, observe: true}]");
    assert!(only(&observed).equivalent.is_empty());
    // ...for what counters show. It reports no jitter, so jitter is as undecided as without it.
    let f = only(&observed.replace("loss: 10%", "jitter: 80ms"));
    assert_eq!(f.kind, FaultKind::Jitter);
    assert_eq!(
        f.equivalent,
        [at(access("bob"), Direction::Down), at(server(HopKind::Turn, "t1"), Direction::Up)]
    );
    // Delay shows only in round trips: any link of the path could hold it.
    let delay = p2p.replace("loss: 10%", "delay: 300ms");
    let f = only(&delay);
    assert_eq!((f.kind, f.magnitude, f.unit), (FaultKind::Delay, Some(0.3), Some(Unit::Seconds)));
    assert_eq!(f.equivalent.len(), 5, "alice down/both, bob up/down/both: {:?}", f.equivalent);
    assert!(f.equivalent.contains(&at(access("bob"), Direction::Up)));
}

#[test]
fn middlebox_faults_are_truth_too() {
    let yaml = r"
name: boxes
duration: 40s
topology: sfu
sfu:
  name: sfu-eu-1
  observe: true
  network:
    ingress: {jitter: 2ms}
    segments: [{from: 10s, to: 20s, egress: {loss: 12%}}, {from: 15s, to: 30s, ingress: {delay: 400ms}}]
  overload: [[25s, 35s]]
turn:
  - {name: turn-fra-1, network: {segments: [{from: 5s, loss: 6%, jitter: 50ms}]}}
  - {name: turn-ams-1, auth_failure: true}
  - {name: unused, network: {loss: 30%}}
participants:
  - {name: alice, ice: {candidate: relay, turn: turn-fra-1}}
  - {name: bob, join: 8s, ice: {candidate: relay, turn: turn-ams-1}}
  - {name: carol, ice: {turn: turn-ams-1}}
";
    let f = faults(yaml);
    let summary: Vec<(FaultKind, Hop, Option<Direction>, f64, f64)> =
        f.iter().map(|f| (f.kind, f.hop.clone(), f.direction, f.from_s, f.to_s)).collect();
    let sfu = server(HopKind::Sfu, "sfu-eu-1");
    let fra = server(HopKind::Turn, "turn-fra-1");
    assert_eq!(
        summary,
        [
            (FaultKind::TurnAuth, server(HopKind::Turn, "turn-ams-1"), None, 0.0, 40.0),
            (FaultKind::Loss, fra.clone(), Some(Direction::Both), 5.0, 40.0),
            (FaultKind::Jitter, fra, Some(Direction::Both), 5.0, 40.0),
            (FaultKind::Loss, sfu.clone(), Some(Direction::Down), 10.0, 15.0),
            (FaultKind::Delay, sfu.clone(), Some(Direction::Up), 15.0, 30.0),
            (FaultKind::SfuOverload, sfu, None, 25.0, 35.0),
        ],
        "{f:#?}"
    );
    // Segments do not stack: the later one wins where they overlap, and it sets the egress
    // back to its base, so the egress loss ends at 15 s. The unused relay's loss reaches
    // nobody; the 2 ms ingress jitter is within the baseline.
    let truth = scenario(yaml).truth();
    assert_eq!(truth.topology, Topology::Sfu);
    assert_eq!(truth.servers.len(), 4);
    assert!(truth.servers[0].observed && !truth.servers[1].observed);
    // Delay at the server's ingress: every round trip crosses it, in both directions.
    let delay = &f[4];
    assert_eq!(delay.magnitude, Some(0.4));
    assert!(delay.equivalent.iter().all(|e| e.hop.kind == HopKind::Sfu), "{:?}", delay.equivalent);
}

#[test]
fn the_simulation_carries_its_truth_and_it_serialises() {
    let yaml = example("p2p-connection-lost");
    let s = scenario(&yaml);
    let sim = simulate(&s.clone().truncated(10.0));
    assert_eq!(sim.truth.scenario, "p2p-connection-lost");
    assert_eq!(sim.truth.duration_s, 10.0);
    let truth = s.truth();
    let json = serde_json::to_value(&truth).expect("serialises");
    let fault = &json["faults"][0];
    assert_eq!(fault["kind"], "connectivity");
    assert_eq!(fault["hop"], serde_json::json!({"kind": "access", "participant": "alice"}));
    assert_eq!(fault["direction"], "both");
    assert_eq!(
        fault["equivalent"],
        serde_json::json!([{"kind": "access", "participant": "bob", "direction": "both"}])
    );
    assert!(fault.get("magnitude").is_none());
    assert_eq!(json["topology"], "p2p");
    let back: hopscope_sim::Truth = serde_json::from_value(json).expect("reads back");
    assert_eq!(back, truth);
    let kinds: Vec<&str> = FaultKind::ALL.iter().map(|k| k.as_str()).collect();
    for k in &kinds {
        assert_eq!(
            serde_json::to_value(FaultKind::ALL[kinds.iter().position(|x| x == k).unwrap_or(0)]).ok(),
            Some(serde_json::json!(k))
        );
    }
}
