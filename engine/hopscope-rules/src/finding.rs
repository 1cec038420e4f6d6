//! Findings: what a rule concluded, about what, when, on what evidence, in words.

use serde::Serialize;

use crate::catalogue::Scope;
use crate::rule::{Category, Severity};

/// A value in evidence.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum EvidenceValue {
    /// A number (canonical unit of the metric).
    Num(f64),
    /// Yes/no.
    Bool(bool),
    /// Text.
    Text(String),
}

/// One metric's value that made (or kept) a rule fire.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Evidence {
    /// The metric.
    pub metric: String,
    /// Its value.
    pub value: EvidenceValue,
    /// Its unit (`ms`, `%`, `kbit/s`, or empty).
    pub unit: String,
    /// When (RFC 3339).
    pub at: String,
}

/// What a finding is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FindingScope {
    /// The rule's scope.
    pub scope: Scope,
    /// Participant, for stream, peer-connection and participant findings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub participant: Option<String>,
    /// Peer connection, for stream and peer-connection findings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer_connection: Option<String>,
    /// `inbound`/`outbound`, for streams.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<String>,
    /// `audio`/`video`, for streams.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// SSRC, for streams.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssrc: Option<u32>,
    /// The link, for hop findings (`from → to`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hop: Option<String>,
    /// Hop keys of the link.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hop_keys: Option<(String, String)>,
}

impl FindingScope {
    /// A short human description: `alice/PC_0 inbound audio 1234`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(h) = &self.hop {
            parts.push(h.clone());
        }
        if let Some(p) = &self.participant {
            parts.push(match &self.peer_connection {
                Some(pc) => format!("{p}/{pc}"),
                None => p.clone(),
            });
        }
        if let (Some(d), Some(k)) = (&self.direction, &self.kind) {
            parts.push(format!("{d} {k}"));
        }
        if let Some(s) = self.ssrc {
            parts.push(format!("ssrc {s}"));
        }
        if parts.is_empty() { "the conference".into() } else { parts.join(" ") }
    }
}

/// A rule's conclusion, with its lifecycle.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    /// Stable id: the same input and rules give the same id.
    pub id: String,
    /// The rule.
    pub rule: String,
    /// The rule's version.
    pub rule_version: u32,
    /// Severity.
    pub severity: Severity,
    /// Category.
    pub category: Category,
    /// What it is about.
    pub scope: FindingScope,
    /// When the condition started holding (RFC 3339).
    pub condition_since: String,
    /// When the finding was raised (after `for` / `samples`).
    pub raised_at: String,
    /// When it cleared; `None` while open.
    pub cleared_at: Option<String>,
    /// Still open when the data ended.
    pub open_at_end: bool,
    /// How long it lasted, seconds (to the end of data when open).
    pub duration_s: f64,
    /// Samples in which the condition held.
    pub samples: usize,
    /// The values that made it fire.
    pub evidence: Vec<Evidence>,
    /// The worst values while it lasted.
    pub peak: Vec<Evidence>,
    /// The rendered message.
    pub message: String,
    /// Callbacks the rule names.
    pub actions: Vec<String>,
    /// Epoch ms of `raised_at`, for ordering.
    #[serde(skip)]
    pub raised_ms: f64,
    /// Epoch ms of when it stopped holding, or of the end of the data while open.
    #[serde(skip)]
    pub ended_ms: f64,
}

impl Finding {
    /// The category as written in rules.
    pub fn category_str(&self) -> &'static str {
        self.category.as_str()
    }
}

/// FNV-1a 64: a stable, dependency-free hash for finding ids.
pub fn stable_id(parts: &[&str]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0xff)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}
