//! A customer's SLA, with the customer's own thresholds: every participant must hear audio
//! at MOS 3.6 or better on average, and no peer connection may spend more than 10% of its
//! connected time above 300 ms of round trip. A breach proposes a notification to the
//! account team's callback, which the host validates and the operator wires up. A breach
//! names what the rules run before the plugin found about the participant, so the account
//! team reads the cause next to the breach.

use hopscope_plugin_sdk::*;

/// The contract's thresholds.
const MIN_AVERAGE_MOS: f64 = 3.6;
const MAX_RTT_MS: f64 = 300.0;
const MAX_SLOW_SHARE: f64 = 0.10;
/// Too little media to judge a contract on, ticks.
const MIN_TICKS: usize = 5;
const CALLBACK: &str = "sla-breach";

struct SlaCheck;

impl Plugin for SlaCheck {
    fn manifest() -> Manifest {
        Manifest {
            name: "sla-check".into(),
            version: "0.1.0".into(),
            rules: vec![
                RuleInfo {
                    id: "sla-audio-mos".into(),
                    version: 1,
                    description: "A participant heard audio below the SLA's average MOS of 3.6".into(),
                },
                RuleInfo {
                    id: "sla-round-trip".into(),
                    version: 1,
                    description: "A peer connection spent over 10% of its connected time above the SLA's 300 ms round trip".into(),
                },
            ],
            metrics: vec![
                "participant.heard_mos".into(),
                "peer_connection.rtt_ms".into(),
                "peer_connection.connected".into(),
            ],
            on_request: vec![],
            capabilities: vec![],
            budget: Budget { fuel: 50_000_000, memory_bytes: 16 << 20, wall_ms: 100 },
        }
    }

    fn evaluate(c: &Conference) -> Result<Vec<Finding>, String> {
        // The finding is about the call as a whole: it stands at the end of the data.
        let at = now();
        let mut findings = Vec::new();
        for (index, p) in c.participants.iter().enumerate() {
            let Some(mos) = p.metrics.number("heard_mos") else { continue };
            let known = mos.iter().filter(|v| !v.is_nan()).count();
            let Some(average) = mean(mos) else { continue };
            if known < MIN_TICKS || average >= MIN_AVERAGE_MOS {
                continue;
            }
            let worst = mos.iter().copied().filter(|v| !v.is_nan()).fold(f64::INFINITY, f64::min);
            let found = rules_that_found(c, index as u32);
            findings.push(Finding {
                rule: "sla-audio-mos".into(),
                version: 1,
                severity: Severity::Error,
                category: Category::Quality,
                subject: Subject::Participant(index as u32),
                raised_ms: at,
                cleared_ms: None,
                evidence: vec![Evidence { metric: "heard_mos".into(), value: Value::Number(worst), unit: String::new(), at_ms: at }],
                message: format!(
                    "SLA breach: {} heard audio at MOS {average:.2} on average (contract: {MIN_AVERAGE_MOS:.1} or better), down to {worst:.1}{}",
                    p.id,
                    if found.is_empty() { String::new() } else { format!("; the rules found: {}", found.join(", ")) }
                ),
                actions: vec![Action::Notify(CALLBACK.into())],
            });
        }
        for (index, pc) in c.peer_connections.iter().enumerate() {
            let Some(rtt) = pc.metrics.number("rtt_ms") else { continue };
            let connected: Vec<usize> = (0..rtt.len())
                .filter(|&t| pc.metrics.flag("connected", t) == Some(true) && !rtt[t].is_nan())
                .collect();
            if connected.len() < MIN_TICKS {
                continue;
            }
            let slow: Vec<usize> = connected.iter().copied().filter(|&t| rtt[t] > MAX_RTT_MS).collect();
            let share = slow.len() as f64 / connected.len() as f64;
            if share <= MAX_SLOW_SHARE {
                continue;
            }
            let worst_tick =
                slow.iter().copied().max_by(|&a, &b| rtt[a].total_cmp(&rtt[b])).unwrap_or(slow[0]);
            findings.push(Finding {
                rule: "sla-round-trip".into(),
                version: 1,
                severity: Severity::Warning,
                category: Category::Delay,
                subject: Subject::PeerConnection(index as u32),
                raised_ms: at,
                cleared_ms: None,
                evidence: vec![Evidence {
                    metric: "rtt_ms".into(),
                    value: Value::Number(rtt[worst_tick]),
                    unit: "ms".into(),
                    at_ms: c.ticks_ms.get(worst_tick).copied().unwrap_or(at),
                }],
                message: format!(
                    "SLA breach: {}'s round trip on {} was over {MAX_RTT_MS:.0} ms for {:.0}% of the call (contract: at most {:.0}%), up to {:.0} ms",
                    c.participant_id(pc.participant),
                    pc.id,
                    share * 100.0,
                    MAX_SLOW_SHARE * 100.0,
                    rtt[worst_tick]
                ),
                actions: vec![Action::Notify(CALLBACK.into())],
            });
        }
        Ok(findings)
    }
}

/// The rules that ran before (the YAML rules, scripts) and found something about a
/// participant: about them, one of their connections, or a stream they received or sent.
fn rules_that_found(c: &Conference, participant: u32) -> Vec<String> {
    let mut rules: Vec<String> = c
        .earlier_findings
        .iter()
        .filter(|f| f.participant == Some(participant))
        .map(|f| f.rule.clone())
        .collect();
    rules.sort();
    rules.dedup();
    rules
}

export_plugin!(SlaCheck);
