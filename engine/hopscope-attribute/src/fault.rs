//! Faults: what went wrong, where, when, how sure, on what evidence, and which findings it
//! explains.

use serde::Serialize;

use crate::hop::{HopClass, HopRef};

/// What kind of fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// Packets lost.
    Loss,
    /// Packets arriving unevenly.
    Jitter,
    /// Long round trips.
    Delay,
    /// Not enough bandwidth for what the sender wants to send.
    Bandwidth,
    /// The sender's device cannot encode fast enough.
    Cpu,
    /// The connection does not come up, or drops.
    Connectivity,
    /// A TURN server refuses the credentials.
    TurnAuth,
    /// The media server is overloaded: delay and jitter (and often loss) for everyone.
    SfuOverload,
}

impl FaultKind {
    /// Lower-case name, as serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::Loss => "loss",
            FaultKind::Jitter => "jitter",
            FaultKind::Delay => "delay",
            FaultKind::Bandwidth => "bandwidth",
            FaultKind::Cpu => "cpu",
            FaultKind::Connectivity => "connectivity",
            FaultKind::TurnAuth => "turn-auth",
            FaultKind::SfuOverload => "sfu-overload",
        }
    }

    /// The unit its magnitude is in.
    pub fn unit(self) -> &'static str {
        match self {
            FaultKind::Loss | FaultKind::Bandwidth | FaultKind::Cpu => "%",
            FaultKind::Jitter | FaultKind::Delay | FaultKind::SfuOverload => "ms",
            FaultKind::Connectivity | FaultKind::TurnAuth => "",
        }
    }
}

/// A hop the fault may sit at, with how likely.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Candidate {
    /// The hop.
    pub hop: HopRef,
    /// Share of belief, 0..1.
    pub score: f64,
}

/// One root cause.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Fault {
    /// Stable id (same input, same id).
    pub id: String,
    /// What went wrong.
    pub kind: FaultKind,
    /// Where, when the data decides it; `None` when it cannot tell the candidates apart.
    pub hop: Option<HopRef>,
    /// Every hop considered, most likely first.
    pub candidates: Vec<Candidate>,
    /// How sure, 0..1.
    pub confidence: f64,
    /// When it started (RFC 3339).
    pub from: String,
    /// When it ended (RFC 3339), or the end of the data.
    pub to: String,
    /// Milliseconds since the epoch, for sorting and joining.
    pub from_ms: f64,
    /// Milliseconds since the epoch.
    pub to_ms: f64,
    /// How bad, typically: mean loss %, jitter or round trip ms, limited share %.
    pub magnitude: Option<f64>,
    /// Who suffered it.
    pub affected: Vec<String>,
    /// The measurements that pin it, in words.
    pub evidence: Vec<String>,
    /// Ids of the findings it explains (folded under it).
    pub symptoms: Vec<String>,
    /// When undecided: what data would tell the candidates apart.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub would_decide: Option<String>,
}

impl Fault {
    /// Stretches the time range over `other`'s (when two faults become one).
    pub(crate) fn span_over(&mut self, other: &Fault) {
        if other.from_ms < self.from_ms {
            self.from_ms = other.from_ms;
            self.from = other.from.clone();
        }
        if other.to_ms > self.to_ms {
            self.to_ms = other.to_ms;
            self.to = other.to.clone();
        }
    }

    /// Adds the people `other` affected, each once, in order.
    pub(crate) fn affect_also(&mut self, affected: Vec<String>) {
        self.affected.extend(affected);
        self.affected.sort();
        self.affected.dedup();
    }

    /// Adds evidence lines not already there, in their order.
    pub(crate) fn add_evidence(&mut self, evidence: Vec<String>) {
        for line in evidence {
            if !self.evidence.contains(&line) {
                self.evidence.push(line);
            }
        }
    }

    /// The participant the fault belongs to, for device and access-network faults.
    pub fn owner(&self) -> Option<&str> {
        self.hop
            .as_ref()
            .filter(|h| matches!(h.class, HopClass::Endpoint | HopClass::Access))?
            .participant
            .as_deref()
    }
}

/// What would tell undecided candidates apart.
pub fn would_decide(candidates: &[HopRef]) -> String {
    let has = |c: HopClass| candidates.iter().any(|h| h.class == c);
    if has(HopClass::Turn) {
        "the TURN server's own counters (packets to and from each client) would show which side of the relay it is"
            .into()
    } else if has(HopClass::Sfu) {
        "the media server's view (what it received from each sender, and each receiver's reports to it) would show whether it is the server or the receiver's network".into()
    } else {
        "a third participant in the call, or TURN or media-server observations, would show whose network it is"
            .into()
    }
}
