//! Shared helpers: simulate, read the endpoints back through the ingest, read the servers'
//! envelopes as plain JSON (the contract is docs/middlebox-observations.md).

#![allow(dead_code, reason = "each test binary uses its own part")]

use hopscope_ingest::{Limits, assemble, ingest};
use hopscope_model::intervals::{InboundInterval, inbound_intervals};
use hopscope_model::stats::{InboundRtpStream, MediaKind, OutboundRtpStream};
use hopscope_model::{Conference, Participant, PeerConnection, Timestamp};
use hopscope_sim::{Scenario, Simulation, simulate};
use serde_json::Value;

pub fn scenario(yaml: &str) -> Scenario {
    Scenario::from_yaml(yaml).unwrap_or_else(|e| panic!("{e}"))
}

pub fn example(name: &str) -> String {
    let path = format!("{}/../../examples/scenarios/{name}.yaml", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A simulated call, its endpoints read back as one conference, its servers' envelopes.
pub struct Run {
    pub sim: Simulation,
    pub conf: Conference,
    pub start: Timestamp,
}

pub fn run(yaml: &str) -> Run {
    run_scenario(&scenario(yaml))
}

pub fn run_scenario(s: &Scenario) -> Run {
    let sim = simulate(s);
    let inputs = sim
        .participants
        .iter()
        .map(|p| {
            let name = format!("{}.ndjson", p.name);
            let read =
                ingest(&name, p.ndjson.as_bytes(), &Limits::default()).unwrap_or_else(|e| panic!("{e}"));
            assert!(read.notes.is_empty(), "{name}: {:?}", read.notes);
            read
        })
        .collect();
    let mut conferences = assemble(inputs);
    assert_eq!(conferences.len(), 1, "one conference");
    let start = Timestamp::from_epoch_ms(s.start_ms()).expect("finite");
    Run { sim, conf: conferences.remove(0), start }
}

impl Run {
    pub fn participant(&self, name: &str) -> &Participant {
        self.conf.participants.iter().find(|p| p.id.as_str() == name).unwrap_or_else(|| panic!("no {name}"))
    }

    pub fn pc(&self, name: &str) -> &PeerConnection {
        &self.participant(name).peer_connections[0]
    }

    pub fn secs(&self, t: Timestamp) -> f64 {
        t.seconds_since(self.start)
    }

    pub fn sent(&self, sender: &str, kind: MediaKind) -> &OutboundRtpStream {
        self.pc(sender)
            .outbound
            .iter()
            .find(|s| s.info.kind == Some(kind))
            .unwrap_or_else(|| panic!("{sender} sends no {kind:?}"))
    }

    pub fn received(&self, receiver: &str, sender: &str, kind: MediaKind) -> &InboundRtpStream {
        let ssrc = self.sent(sender, kind).info.ssrc;
        self.pc(receiver)
            .inbound
            .iter()
            .find(|s| s.info.ssrc == ssrc)
            .unwrap_or_else(|| panic!("{receiver} gets nothing from {sender}"))
    }

    pub fn inbound(
        &self,
        receiver: &str,
        sender: &str,
        kind: MediaKind,
        from: f64,
        to: f64,
    ) -> Vec<InboundInterval> {
        inbound_intervals(&self.received(receiver, sender, kind).samples)
            .into_iter()
            .filter(|i| (from..=to).contains(&self.secs(i.end)))
            .collect()
    }

    /// The envelopes of the server called `name`, parsed.
    pub fn server(&self, name: &str) -> Vec<Value> {
        let s =
            self.sim.servers.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no server {name}"));
        s.ndjson.lines().map(|l| serde_json::from_str(l).expect("valid JSON")).collect()
    }

    /// The first envelope of `name` at or after `t` seconds.
    pub fn server_at(&self, name: &str, t: f64) -> Value {
        let start = self.start.epoch_ms();
        self.server(name)
            .into_iter()
            .find(|e| (e["timestamp"].as_f64().unwrap_or(0.0) - start) / 1000.0 >= t)
            .unwrap_or_else(|| panic!("{name} reports nothing after {t}s"))
    }
}

/// Lost / (lost + received) over intervals.
pub fn loss(intervals: &[InboundInterval]) -> f64 {
    let lost: f64 = intervals.iter().filter_map(|i| i.packets_lost).sum();
    let received: f64 = intervals.iter().filter_map(|i| i.packets_received).sum();
    lost / (lost + received)
}

pub fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.collect();
    assert!(!v.is_empty(), "no values");
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

pub fn assert_near(what: &str, measured: f64, expected: f64, tolerance: f64) {
    assert!(
        (measured - expected).abs() <= tolerance,
        "{what}: measured {measured:.4}, expected {expected} ± {tolerance}"
    );
}

/// The transport of `participant` in an SFU envelope.
pub fn transport<'a>(envelope: &'a Value, participant: &str) -> &'a Value {
    envelope["transports"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["participant"] == participant))
        .unwrap_or_else(|| panic!("no transport for {participant}"))
}

/// The entry of `list` (`inbound` or `outbound`) with `ssrc`.
pub fn by_ssrc<'a>(transport: &'a Value, list: &str, ssrc: Option<u32>) -> &'a Value {
    let ssrc = ssrc.expect("an ssrc");
    transport[list]
        .as_array()
        .and_then(|l| l.iter().find(|x| x["ssrc"] == ssrc))
        .unwrap_or_else(|| panic!("no {list} {ssrc} in {}", transport["participant"]))
}

pub fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("{v} is not a number"))
}

/// `new[field] - old[field]`.
pub fn delta(new: &Value, old: &Value, field: &str) -> f64 {
    num(&new[field]) - num(&old[field])
}
