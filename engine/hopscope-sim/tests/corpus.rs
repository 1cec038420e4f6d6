//! The backtest corpus: deterministic, about 30 % healthy, every fault kind at every hop it
//! applies to, one clear fault per faulty call, each a valid scenario whose truth says
//! exactly what was planned.

mod common;

use std::collections::BTreeSet;

use common::run_scenario;
use hopscope_sim::corpus::{CorpusEntry, Layout, Planned};
use hopscope_sim::truth::{Direction, FaultKind, HopKind, Unit};
use hopscope_sim::{Topology, corpus};

fn entries(n: usize, seed: u64) -> Vec<CorpusEntry> {
    corpus(n, seed).map(|e| e.unwrap_or_else(|e| panic!("{e}"))).collect()
}

#[test]
fn the_same_seed_gives_the_same_corpus() {
    let a = entries(40, 7);
    let b = entries(40, 7);
    assert!(a.iter().zip(&b).all(|(x, y)| x.yaml == y.yaml && x.truth == y.truth));
    // A longer corpus starts with the shorter one.
    let longer = entries(60, 7);
    assert!(a.iter().zip(&longer).all(|(x, y)| x.yaml == y.yaml));
    // Another seed, another corpus.
    let c = entries(40, 8);
    assert!(a.iter().zip(&c).filter(|(x, y)| x.yaml == y.yaml).count() == 0);
    assert_eq!(a[0].id, "c-0001");
    assert_eq!(corpus(10_000, 1).next().and_then(Result::ok).map(|e| e.id).as_deref(), Some("c-00001"));
}

#[test]
fn the_mix_covers_every_kind_at_every_hop_with_a_healthy_share() {
    let all = entries(300, 3);
    let healthy = all.iter().filter(|e| e.planned.is_none()).count();
    assert_eq!(healthy, 90, "30 % healthy");
    let mut seen: BTreeSet<(FaultKind, HopKind)> = BTreeSet::new();
    let mut planned: BTreeSet<(Planned, Layout)> = BTreeSet::new();
    let mut layouts: BTreeSet<Layout> = BTreeSet::new();
    for e in &all {
        layouts.insert(e.layout);
        let truth = &e.truth;
        let people = truth.participants.len();
        assert!((30.0..=60.0).contains(&truth.duration_s), "{}", e.id);
        match truth.topology {
            Topology::P2p => assert_eq!(people, 2, "{}", e.id),
            Topology::Sfu => assert!((3..=8).contains(&people), "{}: {people}", e.id),
        }
        assert_eq!(truth.scenario, e.id);
        let Some(plan) = e.planned else {
            assert!(truth.is_healthy(), "{}: a healthy call with {:#?}\n{}", e.id, truth.faults, e.yaml);
            continue;
        };
        planned.insert((plan, e.layout));
        assert_eq!(truth.faults.len(), 1, "{}: one fault each\n{}\n{:#?}", e.id, e.yaml, truth.faults);
        let f = &truth.faults[0];
        assert_eq!(
            (f.kind, f.hop.kind, f.direction),
            (plan.kind, plan.hop, plan.direction),
            "{}\n{}",
            e.id,
            e.yaml
        );
        seen.insert((f.kind, f.hop.kind));
        // Clearly above what any monitoring product alerts on.
        let m = f.magnitude.unwrap_or(0.0);
        match (f.kind, f.unit) {
            (FaultKind::Loss, Some(Unit::Fraction)) => assert!((0.05..=0.20).contains(&m), "{}: {m}", e.id),
            (FaultKind::Jitter, Some(Unit::Seconds)) => assert!((0.04..=0.15).contains(&m), "{}: {m}", e.id),
            (FaultKind::Delay, Some(Unit::Seconds)) => assert!((0.25..=0.6).contains(&m), "{}: {m}", e.id),
            (FaultKind::Bandwidth, Some(Unit::BitsPerSecond)) => {
                assert!((100e3..=400e3).contains(&m), "{}: {m}", e.id)
            }
            (FaultKind::Cpu, None) => {
                assert!(f.to_s - f.from_s >= 15.0, "{}: a {}s CPU window", e.id, f.to_s - f.from_s)
            }
            (FaultKind::Connectivity | FaultKind::TurnAuth | FaultKind::SfuOverload, None) => {}
            other => panic!("{}: {other:?}", e.id),
        }
        assert!(f.to_s - f.from_s >= 5.0, "{}: {f:?}", e.id);
        // Middlebox faults happen in calls that have the middlebox.
        if f.hop.kind == HopKind::Sfu {
            assert_eq!(truth.topology, Topology::Sfu);
        }
    }
    let expected: BTreeSet<(FaultKind, HopKind)> = [
        (FaultKind::Loss, HopKind::Access),
        (FaultKind::Loss, HopKind::Sfu),
        (FaultKind::Loss, HopKind::Turn),
        (FaultKind::Jitter, HopKind::Access),
        (FaultKind::Jitter, HopKind::Sfu),
        (FaultKind::Jitter, HopKind::Turn),
        (FaultKind::Delay, HopKind::Access),
        (FaultKind::Delay, HopKind::Sfu),
        (FaultKind::Delay, HopKind::Turn),
        (FaultKind::Bandwidth, HopKind::Access),
        (FaultKind::Cpu, HopKind::Endpoint),
        (FaultKind::Connectivity, HopKind::Access),
        (FaultKind::TurnAuth, HopKind::Turn),
        (FaultKind::SfuOverload, HopKind::Sfu),
    ]
    .into();
    assert_eq!(seen, expected);
    assert_eq!(layouts.len(), Layout::ALL.len());
    // Every access fault in every layout, both ways; every server fault with and without
    // the server's observations.
    for layout in Layout::ALL {
        for kind in [FaultKind::Loss, FaultKind::Jitter, FaultKind::Delay, FaultKind::Bandwidth] {
            for d in [Direction::Up, Direction::Down] {
                let p = Planned { kind, hop: HopKind::Access, direction: Some(d) };
                assert!(planned.contains(&(p, layout)), "{kind:?} {d:?} in {layout:?}");
            }
        }
    }
    for layout in [Layout::SfuObserved, Layout::SfuBlind] {
        let p = Planned { kind: FaultKind::SfuOverload, hop: HopKind::Sfu, direction: None };
        assert!(planned.contains(&(p, layout)), "{layout:?}");
    }
    // Healthy calls have the variety of normal ones.
    let healthy_yaml: String = all.iter().filter(|e| e.planned.is_none()).map(|e| e.yaml.as_str()).collect();
    for benign in [
        "muted: [[",
        "screenshare: true",
        "firefox/",
        "safari/",
        "join: ",
        "leave: ",
        "observe: true",
        "candidate: relay",
    ] {
        assert!(healthy_yaml.contains(benign), "no healthy call has `{benign}`");
    }
}

#[test]
fn corpus_calls_simulate_into_clean_data() {
    // One call of each layout, healthy and faulty, through the simulator and the ingest.
    let all = entries(40, 5);
    let mut done: BTreeSet<(Layout, bool)> = BTreeSet::new();
    for e in &all {
        if !done.insert((e.layout, e.planned.is_some())) {
            continue;
        }
        // The first seconds are enough to see the data is well formed.
        let short = e.scenario.clone().truncated(12.0);
        let call = run_scenario(&short);
        let observed = e.truth.servers.iter().filter(|s| s.observed).count();
        assert_eq!(call.sim.servers.len(), observed, "{}", e.id);
        assert_eq!(call.sim.truth, short.truth());
        assert_eq!(call.conf.participants.len(), e.truth.participants.len(), "{}", e.id);
        for s in &call.sim.servers {
            for line in s.ndjson.lines() {
                let v: serde_json::Value = serde_json::from_str(line).expect("JSON");
                assert_eq!(v["source"], s.kind.as_str());
                assert_eq!(v["server"], s.name.as_str());
            }
        }
    }
    assert!(done.len() >= 8, "{done:?}");
}
