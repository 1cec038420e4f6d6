//! Sender-side video freezes: one participant's video freezes at most of the people who
//! receive it at the same moments, while those same people receive everyone else's video
//! smoothly. The built-in `video-freezes` rule raises on each received stream alone, so a
//! sender whose uplink or camera stalls shows up as one finding per receiver, and an SFU or
//! network that freezes everything everywhere looks the same. This plugin points at the
//! one hop every frozen stream shares: the sender.
//!
//! It reads `frozen_percent` on request: each stream's highest value first, then the values
//! of only the streams that ever froze (a handful of a 5000-stream call).

use std::collections::BTreeMap;

use hopscope_plugin_sdk::*;

const RULE: &str = "sender-video-freeze";
const VERSION: u32 = 1;
/// A received stream is frozen at a tick when at least this share of the tick was frozen, %.
const FROZEN_PERCENT: f64 = 10.0;
/// The sender is to blame at a tick when at least this share of their receivers froze ...
const SENDER_SHARE: f64 = 0.75;
/// ... and at most this share of the other video those receivers get froze meanwhile.
const ELSEWHERE_SHARE: f64 = 0.25;
/// Receivers needed: with one, a freeze cannot tell the sender from the receiver.
const MIN_RECEIVERS: usize = 2;
/// Ticks the sender must be to blame on: one shared hiccup is not a pattern ...
const MIN_TICKS: usize = 2;
/// ... and the share of the ticks their video froze anywhere that those are: on a network
/// that freezes everything, a sender's freezes coincide now and then, but rarely.
const MIN_BLAMED_SHARE: f64 = 0.5;

struct SenderFreeze;

/// A received video stream: who sends it, who receives it, and whether it froze per tick.
struct Received {
    sender: u32,
    receiver: u32,
    /// `None` for a stream that never froze: clean wherever it was measured.
    frozen: Option<Vec<f64>>,
}

impl Received {
    /// Frozen (`Some(true)`), measured clean (`Some(false)`) or unknown at a tick.
    fn at(&self, tick: usize) -> Option<bool> {
        match &self.frozen {
            None => Some(false),
            Some(values) => values.get(tick).filter(|v| !v.is_nan()).map(|&v| v >= FROZEN_PERCENT),
        }
    }
}

/// How many video streams are known at a tick, and how many of those froze.
#[derive(Clone, Copy, Default)]
struct Tally {
    known: usize,
    frozen: usize,
}

impl Tally {
    fn add(&mut self, state: Option<bool>) {
        if let Some(frozen) = state {
            self.known += 1;
            self.frozen += usize::from(frozen);
        }
    }
}

impl Plugin for SenderFreeze {
    fn manifest() -> Manifest {
        Manifest {
            name: "sender-freeze".into(),
            version: "0.1.0".into(),
            rules: vec![RuleInfo {
                id: RULE.into(),
                version: VERSION,
                description: "A participant's video freezes at most of its receivers at once while they get everyone else's video smoothly: the sender's uplink, camera or encoder".into(),
            }],
            metrics: vec![],
            on_request: vec!["stream.frozen_percent".into()],
            capabilities: vec![],
            budget: Budget { fuel: 100_000_000, memory_bytes: 16 << 20, wall_ms: 250 },
        }
    }

    fn evaluate(c: &Conference) -> Result<Vec<Finding>, String> {
        let Some(frozen) = c.stream_summary("frozen_percent") else { return Ok(vec![]) };
        let received: Vec<Received> = c
            .streams()
            .filter(|s| s.direction == Direction::Inbound && s.kind == Some(MediaKind::Video))
            .filter_map(|s| {
                let sender = s.sender?;
                let index = s.index as usize;
                // Never measured: says nothing either way.
                frozen.lowest_of(index)?;
                let ever_froze = frozen.highest_of(index).is_some_and(|v| v >= FROZEN_PERCENT);
                let values = if ever_froze { Some(c.stream_series(index, "frozen_percent")?) } else { None };
                Some(Received { sender, receiver: s.participant, frozen: values })
            })
            .collect();
        // What each receiver gets per tick, all senders together: "everyone else's video"
        // is that less the sender's own stream, without walking every stream per sender.
        // A stream that never froze counts as clean at every tick, without reading it.
        let ticks = c.ticks_ms.len();
        // By receiver (participant index): streams that never froze, and per-tick tallies.
        let mut received_by: Vec<(usize, Vec<Tally>)> = vec![(0, Vec::new()); c.participants.len()];
        let mut by_sender: BTreeMap<u32, Vec<&Received>> = BTreeMap::new();
        for r in &received {
            by_sender.entry(r.sender).or_default().push(r);
            let Some((never_froze, tallies)) = received_by.get_mut(r.receiver as usize) else { continue };
            if r.frozen.is_none() {
                *never_froze += 1;
                continue;
            }
            tallies.resize(ticks, Tally::default());
            for (tick, tally) in tallies.iter_mut().enumerate() {
                tally.add(r.at(tick));
            }
        }
        // Senders whose video froze somewhere: the ticks they are to blame on, and the ticks
        // their video froze anywhere.
        let suspects: Vec<(u32, &Vec<&Received>)> = by_sender
            .iter()
            .filter(|(_, theirs)| theirs.iter().any(|r| r.frozen.is_some()))
            .map(|(&sender, theirs)| (sender, theirs))
            .collect();
        let mut blamed: BTreeMap<u32, (Vec<usize>, usize)> = BTreeMap::new();
        for (sender, theirs) in suspects {
            let entry = blamed.entry(sender).or_default();
            for tick in 0..ticks {
                let (mut own, mut elsewhere) = (Tally::default(), Tally::default());
                for r in theirs {
                    let state = r.at(tick);
                    own.add(state);
                    if let Some((never_froze, tallies)) = received_by.get(r.receiver as usize) {
                        let all = tallies.get(tick).copied().unwrap_or_default();
                        elsewhere.known += never_froze + all.known - usize::from(state.is_some());
                        elsewhere.frozen += all.frozen - usize::from(state == Some(true));
                    }
                }
                entry.1 += usize::from(own.frozen > 0);
                if own.known < MIN_RECEIVERS || (own.frozen as f64) < SENDER_SHARE * own.known as f64 {
                    continue;
                }
                if elsewhere.frozen as f64 <= ELSEWHERE_SHARE * elsewhere.known as f64 {
                    entry.0.push(tick);
                }
            }
        }
        let mut findings = Vec::new();
        for (sender, (ticks, froze_anywhere)) in blamed {
            if ticks.len() < MIN_TICKS || (ticks.len() as f64) < MIN_BLAMED_SHARE * froze_anywhere as f64 {
                continue;
            }
            let receivers = received.iter().filter(|r| r.sender == sender).count();
            let worst = received
                .iter()
                .filter(|r| r.sender == sender)
                .filter_map(|r| r.frozen.as_ref())
                .flat_map(|v| ticks.iter().filter_map(|&t| v.get(t).copied()))
                .fold(0.0, f64::max);
            let first = ticks[0];
            let at = |t: usize| c.ticks_ms.get(t).copied().unwrap_or_else(|| c.end_ms());
            findings.push(Finding {
                rule: RULE.into(),
                version: VERSION,
                severity: Severity::Warning,
                category: Category::Media,
                subject: Subject::Participant(sender),
                raised_ms: at(first),
                cleared_ms: None,
                evidence: vec![Evidence {
                    metric: "frozen_percent".into(),
                    value: Value::Number(worst),
                    unit: "%".into(),
                    at_ms: at(first),
                }],
                message: format!(
                    "{}'s video froze at its {receivers} receivers at once on {} of the {froze_anywhere} ticks it froze (up to {worst:.0}% of a tick) while they received everyone else's video smoothly: look at {}'s uplink, camera or encoder",
                    c.participant_id(sender),
                    ticks.len(),
                    c.participant_id(sender),
                ),
                actions: vec![],
            });
        }
        Ok(findings)
    }
}

export_plugin!(SenderFreeze);
