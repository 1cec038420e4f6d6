//! hopscope attribute: which hop of the connection path caused each problem.
//!
//! Every media flow, sender-side report and round trip of a conference is a measurement of
//! the hops its path crosses (`observe`). At each tick the localiser finds the fewest hops
//! that explain the bad measurements, exonerating every hop a clean measurement crosses
//! (`localise`). Ticks that agree become a fault with a time range, a confidence, the
//! evidence in words and the findings it explains; when the data cannot tell two hops
//! apart, the fault lists both and says what data would decide. CPU limitation and
//! connectivity failures are read directly from what the endpoints report.
//!
//! Pure and deterministic: the same conference and findings give the same faults.

pub mod fault;
pub mod hop;
pub mod localise;
pub mod observe;

use std::collections::{BTreeMap, BTreeSet};

use hopscope_model::events::{ConnectionState, EventKind, IceConnectionState, Outcome};
use hopscope_model::{Conference, RemoteKind, Timestamp};
use hopscope_rules::finding::{Finding, stable_id};
use hopscope_rules::rule::Category;
use hopscope_rules::view::View;
use serde::Serialize;

pub use fault::{Candidate, Fault, FaultKind};
pub use hop::{Direction, HopClass, HopRef};
pub use observe::Thresholds;

use crate::localise::localise;
use crate::observe::{Observer, SIGNALS, Signal, TickMeasurements};

/// What attribution concluded about a conference.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Attribution {
    /// Root causes, in time order.
    pub faults: Vec<Fault>,
    /// Hops on the paths that no data describes from the inside.
    pub unobserved: Vec<String>,
}

/// Runs attribution with the default thresholds.
pub fn attribute(conference: &Conference, view: &View, findings: &[Finding]) -> Attribution {
    attribute_with(conference, view, findings, &Thresholds::default())
}

/// Runs attribution.
pub fn attribute_with(
    conference: &Conference,
    view: &View,
    findings: &[Finding],
    limits: &Thresholds,
) -> Attribution {
    let observer = Observer::new(conference, view, limits);
    // Tick by tick: measure, localise, keep only what the verdicts need.
    let mut runs: [BTreeMap<Vec<usize>, Run>; 4] = Default::default();
    let mut cpu: BTreeMap<String, Vec<(usize, f64, bool)>> = BTreeMap::new();
    let mut buffers: [TickMeasurements; 4] = Default::default();
    let mut cpu_now = Vec::new();
    for tick in 0..view.ticks.len() {
        observer.measure(tick, &mut buffers, &mut cpu_now);
        for (k, tm) in buffers.iter().enumerate() {
            let clean = tm.measurements.iter().filter(|m| !m.bad).count();
            for mut v in localise(&observer.paths, &tm.measurements) {
                v.hops = one_place(&observer.hops, v.hops);
                let sum = v.explains.iter().map(|&m| tm.values[m]).sum();
                let samples =
                    v.explains.iter().take(MAX_SAMPLES).map(|&m| (tm.subjects[m], tm.values[m])).collect();
                runs[k].entry(v.hops).or_default().seen.push(Seen {
                    tick,
                    confidence: v.confidence,
                    sum,
                    count: v.explains.len(),
                    samples,
                    clean,
                });
            }
        }
        for sign in cpu_now.drain(..) {
            cpu.entry(sign.sender).or_default().push((tick, sign.value, sign.inferred));
        }
    }
    let mut faults = Vec::new();
    for (k, signal) in SIGNALS.into_iter().enumerate() {
        let kind = match signal {
            Signal::Loss => FaultKind::Loss,
            Signal::Jitter => FaultKind::Jitter,
            Signal::Delay => FaultKind::Delay,
            Signal::Bandwidth => FaultKind::Bandwidth,
        };
        let mut found = signal_faults(&observer, view, signal, kind, std::mem::take(&mut runs[k]), limits);
        merge_consecutive(&mut found, view.step_ms);
        faults.extend(found);
    }
    let behind = behind_shared_ways(&observer);
    fold_common_cause(&mut faults, &behind);
    merge_consecutive(&mut faults, view.step_ms);
    fold_back_off_into_shared_loss(&mut faults, &behind);
    merge_with_bandwidth(&mut faults);
    faults.extend(cpu_faults(cpu, view, limits));
    faults.extend(connectivity_faults(conference));
    faults.extend(interruption_faults(conference));
    faults.extend(silence_faults(view, &faults));
    merge_both_ways(&mut faults);
    merge_sfu_overload(&mut faults);
    fold_into_shared(&mut faults);
    for f in &mut faults {
        f.symptoms = symptoms(f, findings, view);
    }
    faults.sort_by(|a, b| a.from_ms.total_cmp(&b.from_ms).then_with(|| a.id.cmp(&b.id)));
    Attribution { faults, unobserved: unobserved(conference) }
}

/// A tie between one place's one-way hop and the place as a whole (every flow that
/// crosses a media server crosses both its ways) is no doubt about where: keep the
/// one-way hop, which is what the evidence shows. Among several places, each place is
/// named once that way ("alice's network (uplink)", not also "alice's network").
fn one_place(table: &observe::HopTable, hops: Vec<usize>) -> Vec<usize> {
    let place = |h: &HopRef| (h.class, h.participant.clone(), h.server.clone());
    let mut places: BTreeMap<_, Vec<usize>> = BTreeMap::new();
    for &h in &hops {
        places.entry(place(table.get(h))).or_default().push(h);
    }
    let mut kept: Vec<usize> = Vec::with_capacity(hops.len());
    for same in places.values() {
        let one_way: Vec<usize> = same
            .iter()
            .copied()
            .filter(|&h| matches!(table.get(h).direction, Some(Direction::Up | Direction::Down)))
            .collect();
        let whole = same.iter().copied().find(|&h| table.get(h).whole().is_none());
        match (one_way.as_slice(), whole) {
            ([one], _) => kept.push(*one),
            // Both ways of one place and the place itself: the place as a whole.
            (_, Some(whole)) => kept.push(whole),
            _ => kept.extend(same.iter().copied()),
        }
    }
    kept.sort_unstable();
    kept
}

/// Measurements kept per verdict and tick, for evidence and for who was affected: enough
/// for every receiver of a 50-person call, bounded for hostile input.
const MAX_SAMPLES: usize = 64;

/// One tick on which the localiser named a hop set.
#[derive(Debug, Default)]
struct Seen {
    tick: usize,
    confidence: f64,
    /// Sum and count of the values it explained.
    sum: f64,
    count: usize,
    /// Some of them: (subject, value).
    samples: Vec<(usize, f64)>,
    /// Clean measurements at that tick (what exonerated the rest).
    clean: usize,
}

/// A verdict seen over ticks.
#[derive(Debug, Default)]
struct Run {
    seen: Vec<Seen>,
}

/// The shortest a fault may be: a blip of one or two seconds is noise, but a single
/// 10-second sample of a sparse dump counts.
fn min_duration_ms(view: &View) -> f64 {
    view.step_ms.max(4000.0)
}

/// Ticks of silence that end a run: a verdict missing for up to 10 s is the same fault
/// (a smoothing window that dipped under the threshold), longer is a new one.
fn gap_ticks(step_ms: f64) -> usize {
    (10_000.0 / step_ms).ceil().max(2.0) as usize
}

/// Faults of one kind at the same decided hop that overlap or follow each other within a
/// run's gap are one fault. They come apart when the hop was named from different candidate
/// lists over time (each list resolved to the same hop by where a relay saw packets
/// dropped, say), which would otherwise read as the same problem twice, back to back.
///
/// The merged fault spans both; evidence, who was affected (and so, later, the symptoms)
/// are the union. Its confidence and magnitude are the means weighted by each part's
/// duration: the claim now covers the whole span, so a long weak stretch should not borrow
/// the certainty of a short firm one (nor the reverse), unlike two views of the same time,
/// where the firmer one wins.
fn merge_consecutive(faults: &mut Vec<Fault>, step_ms: f64) {
    let join_ms = (gap_ticks(step_ms) as f64 - 1.0).max(0.0) * step_ms;
    let touch = |a: &Fault, b: &Fault| a.from_ms <= b.to_ms + join_ms && b.from_ms <= a.to_ms + join_ms;
    faults.sort_by(|a, b| a.from_ms.total_cmp(&b.from_ms).then_with(|| a.id.cmp(&b.id)));
    let mut out: Vec<Fault> = Vec::with_capacity(faults.len());
    for f in faults.drain(..) {
        let host = out
            .iter_mut()
            .rev()
            .find(|g| g.kind == f.kind && g.hop.is_some() && g.hop == f.hop && touch(g, &f));
        match host {
            Some(g) => absorb(g, f),
            None => out.push(f),
        }
    }
    // An undecided fault next to a decided one whose hop it lists is that fault while the
    // data said less (the same rule the ticks of a run follow): folded in when exactly one
    // decided fault fits, at its own split confidence.
    let mut i = 0;
    while i < out.len() {
        if out[i].hop.is_some() {
            i += 1;
            continue;
        }
        let hosts: Vec<usize> = (0..out.len())
            .filter(|&j| {
                let g = &out[j];
                g.kind == out[i].kind
                    && g.hop.as_ref().is_some_and(|h| out[i].candidates.iter().any(|c| &c.hop == h))
                    && touch(g, &out[i])
            })
            .collect();
        if let [j] = hosts[..] {
            let f = out.remove(i);
            let j = if j > i { j - 1 } else { j };
            absorb(&mut out[j], f);
            i = 0;
        } else {
            i += 1;
        }
    }
    *faults = out;
}

/// Folds `other` (same kind, at `f`'s hop or listing it) into `f`.
fn absorb(f: &mut Fault, other: Fault) {
    tracing::debug!(kind = f.kind.as_str(), first = %f.id, second = %other.id, "merging consecutive faults at one hop");
    let weight = |x: &Fault| (x.to_ms - x.from_ms).max(1.0);
    let (wf, wo) = (weight(f), weight(&other));
    f.confidence = (f.confidence * wf + other.confidence * wo) / (wf + wo);
    f.magnitude = match (f.magnitude, other.magnitude) {
        (Some(a), Some(b)) => Some((a * wf + b * wo) / (wf + wo)),
        (a, b) => a.or(b),
    };
    f.span_over(&other);
    f.add_evidence(other.evidence);
    f.affect_also(other.affected);
    f.symptoms.extend(other.symptoms);
    f.symptoms.sort();
    f.symptoms.dedup();
    // Decided: one candidate, the hop, as sure as the fault.
    f.candidates = f.hop.iter().map(|h| Candidate { hop: h.clone(), score: f.confidence }).collect();
}

/// Who sits behind each one-way side of a media server or relay: the participants whose
/// access network, the same way, shares a media path with it (a receiver's downlink with
/// the server's forwarding side, a sender's uplink with its receiving side).
fn behind_shared_ways(observer: &Observer<'_>) -> BTreeMap<HopRef, BTreeSet<String>> {
    let mut behind: BTreeMap<HopRef, BTreeSet<String>> = BTreeMap::new();
    for path in &observer.paths {
        let hops: Vec<&HopRef> = path.iter().map(|&h| observer.hops.get(h)).collect();
        for access in hops.iter().filter(|h| h.class == HopClass::Access) {
            let (Some(who), Some(way @ (Direction::Up | Direction::Down))) =
                (&access.participant, access.direction)
            else {
                continue;
            };
            for shared in hops.iter().filter(|h| matches!(h.class, HopClass::Sfu | HopClass::Turn)) {
                if shared.direction == Some(way) {
                    behind.entry((*shared).clone()).or_default().insert(who.clone());
                }
            }
        }
    }
    behind
}

/// Common cause over time. On each tick the localiser blames a shared hop only when every
/// flow through it is bad; trouble that comes and goes at random (an overloaded server
/// dropping here and there) leaves some flow clean on most ticks, so each participant's
/// own network gets blamed in turn instead. When at least two, and at least half, of the
/// participants behind one side of a media server or relay have the same trouble the same
/// way at the same time, their networks failing together is far less likely than the one
/// hop they share: it becomes one fault there, with their verdicts as symptoms.
fn fold_common_cause(faults: &mut Vec<Fault>, behind: &BTreeMap<HopRef, BTreeSet<String>>) {
    for (shared, people) in behind {
        if people.len() < 2 {
            continue;
        }
        for kind in [FaultKind::Loss, FaultKind::Jitter] {
            let mut own: Vec<usize> = (0..faults.len())
                .filter(|&i| {
                    let f = &faults[i];
                    f.kind == kind
                        && f.hop.as_ref().is_some_and(|h| {
                            h.class == HopClass::Access
                                && h.direction == shared.direction
                                && h.participant.as_ref().is_some_and(|p| people.contains(p))
                        })
                })
                .collect();
            own.sort_by(|&a, &b| faults[a].from_ms.total_cmp(&faults[b].from_ms));
            // Clusters of faults that overlap in time.
            let mut clusters: Vec<Vec<usize>> = Vec::new();
            let mut until = f64::NEG_INFINITY;
            for i in own {
                match clusters.last_mut() {
                    Some(c) if faults[i].from_ms < until => {
                        c.push(i);
                        until = until.max(faults[i].to_ms);
                    }
                    _ => {
                        clusters.push(vec![i]);
                        until = faults[i].to_ms;
                    }
                }
            }
            let mut folded: BTreeSet<usize> = BTreeSet::new();
            for cluster in clusters {
                let together: BTreeSet<&str> = cluster.iter().filter_map(|&i| faults[i].owner()).collect();
                if together.len() < 2 || together.len() * 2 < people.len() {
                    continue;
                }
                let share = together.len() as f64 / people.len() as f64;
                let mut f = faults[cluster[0]].clone();
                for &i in &cluster[1..] {
                    absorb(&mut f, faults[i].clone());
                }
                f.hop = Some(shared.clone());
                f.confidence = (0.5 + 0.4 * share).min(0.9);
                f.candidates = vec![Candidate { hop: shared.clone(), score: f.confidence }];
                f.evidence.insert(
                    0,
                    format!(
                        "{} of the {} participants behind {shared} had {} on their {} at the same time: one shared cause, not {} networks failing together",
                        together.len(),
                        people.len(),
                        kind.as_str(),
                        if shared.direction == Some(Direction::Up) { "uplink" } else { "downlink" },
                        together.len()
                    ),
                );
                f.id = stable_id(&[kind.as_str(), &format!("{shared:?}"), &f.from]);
                tracing::debug!(kind = kind.as_str(), hop = %shared, people = together.len(), "common cause");
                folded.extend(&cluster);
                faults.push(f);
            }
            remove_all(faults, &folded);
        }
    }
}

/// Senders back off when the way into a media server or relay loses their packets: its
/// receiver reports (or the far end's) tell each sender's congestion control, whose
/// encoder is then held back. A bandwidth limit on the uplink of someone behind a lossy
/// server side, within the loss and no longer than it, is that loss's symptom, not a
/// narrow uplink of theirs. (The same holds downstream for what the server forwards.)
fn fold_back_off_into_shared_loss(faults: &mut Vec<Fault>, behind: &BTreeMap<HopRef, BTreeSet<String>>) {
    let mut folded: BTreeSet<usize> = BTreeSet::new();
    for l in 0..faults.len() {
        let loss = &faults[l];
        let Some(shared) = loss.hop.clone().filter(|h| matches!(h.class, HopClass::Sfu | HopClass::Turn))
        else {
            continue;
        };
        let (Some(people), FaultKind::Loss) = (behind.get(&shared), loss.kind) else { continue };
        let length = |f: &Fault| f.to_ms - f.from_ms;
        let loss = (loss.from_ms, loss.to_ms, length(loss));
        let symptoms: Vec<usize> = (0..faults.len())
            .filter(|&b| {
                let f = &faults[b];
                f.kind == FaultKind::Bandwidth
                    && !folded.contains(&b)
                    && f.hop.as_ref().is_some_and(|h| {
                        h.class == HopClass::Access
                            && h.direction == shared.direction
                            && h.participant.as_ref().is_some_and(|p| people.contains(p))
                    })
                    && f.from_ms >= loss.0
                    && f.from_ms < loss.1
                    && length(f) <= loss.2
            })
            .collect();
        for b in symptoms {
            let limit = faults[b].clone();
            tracing::debug!(loss = %faults[l].id, limit = %limit.id, "a sender's back-off under a shared hop's loss");
            let loss = &mut faults[l];
            loss.add_evidence(vec![format!(
                "{}'s sending was held back while {shared} lost packets: congestion control backing off from that loss, not a limit of their own network",
                limit.owner().unwrap_or("a sender")
            )]);
            loss.affect_also(limit.affected);
            folded.insert(b);
        }
    }
    remove_all(faults, &folded);
}

/// Removes the faults at `gone` (indices), keeping the others in order.
fn remove_all(faults: &mut Vec<Fault>, gone: &BTreeSet<usize>) {
    let mut i = 0;
    faults.retain(|_| {
        let keep = !gone.contains(&i);
        i += 1;
        keep
    });
}

/// Loss or jitter and a bandwidth limit at the same time, at hops that can be one, are one
/// root cause seen twice: a link narrower than what is sent queues (jitter) and drops (loss)
/// the excess as the limit sets in, and heavy loss or jitter makes the sender's congestion
/// control back off until its encoder is held back. Which came first is told by which
/// lasts: a cap's queueing and drops are a burst at its onset while the encoder stays
/// limited, whereas loss or jitter that causes the limit lasts as long as it. So the longer
/// fault is the root (jitter: by twice) and the shorter folds into it; it sits at the hops
/// both allow (parsimony: one hop explaining both beats two).
fn merge_with_bandwidth(faults: &mut Vec<Fault>) {
    let hops = |f: &Fault| -> BTreeSet<HopRef> { f.candidates.iter().map(|c| c.hop.clone()).collect() };
    let mut i = 0;
    while i < faults.len() {
        let partner = (0..faults.len()).find(|&j| {
            let (a, b) = (&faults[i], &faults[j]);
            let (ha, hb) = (hops(a), hops(b));
            matches!(a.kind, FaultKind::Loss | FaultKind::Jitter)
                && b.kind == FaultKind::Bandwidth
                && a.from_ms <= b.to_ms
                && b.from_ms <= a.to_ms
                && !ha.is_empty()
                && !hb.is_empty()
                && (ha.is_subset(&hb) || hb.is_subset(&ha))
        });
        let Some(j) = partner else {
            i += 1;
            continue;
        };
        let (symptom, bandwidth) = (faults[i].clone(), faults[j].clone());
        let both: Vec<HopRef> = hops(&symptom).intersection(&hops(&bandwidth)).cloned().collect();
        let length = |f: &Fault| f.to_ms - f.from_ms;
        // Queueing is how every narrow link shows, so jitter must clearly outlast the limit
        // to be its cause; loss only has to last longer.
        let outlasts = match symptom.kind {
            FaultKind::Jitter => 2.0,
            _ => 1.0,
        } * length(&bandwidth);
        let (mut root, other) =
            if length(&symptom) > outlasts { (symptom, bandwidth) } else { (bandwidth, symptom) };
        tracing::debug!(root = %root.id, folded = %other.id, "loss or jitter and a bandwidth limit as one root cause");
        root.span_over(&other);
        root.add_evidence(other.evidence);
        root.affect_also(other.affected);
        // What pins the hop is whichever part was decided; undecided, belief splits evenly.
        let decided_confidence =
            [root.hop.is_some().then_some(root.confidence), other.hop.is_some().then_some(other.confidence)]
                .into_iter()
                .flatten()
                .reduce(f64::max);
        match (both.as_slice(), decided_confidence) {
            ([one], Some(c)) => {
                root.hop = Some(one.clone());
                root.confidence = c;
                root.would_decide = None;
                root.candidates = vec![Candidate { hop: one.clone(), score: c }];
            }
            _ => {
                let score = 1.0 / both.len() as f64;
                root.hop = None;
                root.confidence = score;
                root.would_decide = Some(fault::would_decide(&both));
                root.candidates = both.into_iter().map(|hop| Candidate { hop, score }).collect();
            }
        }
        let (lo, hi) = (i.min(j), i.max(j));
        faults.remove(hi);
        faults[lo] = root;
        i = 0;
    }
}

fn signal_faults(
    observer: &Observer<'_>,
    view: &View,
    signal: Signal,
    kind: FaultKind,
    mut verdicts: BTreeMap<Vec<usize>, Run>,
    limits: &Thresholds,
) -> Vec<Fault> {
    // An undecided verdict that contains a decided hop is the same fault seen on a tick
    // with less evidence: fold it in, at half weight (consistent with the hop, not proof).
    let decided: Vec<usize> = verdicts.keys().filter(|k| k.len() == 1).map(|k| k[0]).collect();
    let undecided: Vec<Vec<usize>> = verdicts.keys().filter(|k| k.len() > 1).cloned().collect();
    for key in undecided {
        let hosts: Vec<usize> = decided.iter().copied().filter(|h| key.contains(h)).collect();
        if hosts.len() == 1
            && let Some(run) = verdicts.remove(&key)
            && let Some(target) = verdicts.get_mut(&vec![hosts[0]])
        {
            target.seen.extend(run.seen.into_iter().map(|s| Seen { confidence: s.confidence * 0.5, ..s }));
        }
    }
    let gap = gap_ticks(view.step_ms);
    let mut out = Vec::new();
    for (hops, mut run) in verdicts {
        run.seen.sort_by_key(|s| s.tick);
        let mut segment: Vec<&Seen> = Vec::new();
        for s in &run.seen {
            if let Some(last) = segment.last()
                && s.tick > last.tick + gap
            {
                out.extend(make_fault(observer, view, signal, kind, &hops, &segment, limits));
                segment.clear();
            }
            segment.push(s);
        }
        out.extend(make_fault(observer, view, signal, kind, &hops, &segment, limits));
    }
    out
}

fn make_fault(
    observer: &Observer<'_>,
    view: &View,
    signal: Signal,
    kind: FaultKind,
    hops: &[usize],
    segment: &[&Seen],
    limits: &Thresholds,
) -> Option<Fault> {
    let first = segment.iter().map(|s| s.tick).min()?;
    let last = segment.iter().map(|s| s.tick).max()?;
    let distinct: BTreeSet<usize> = segment.iter().map(|s| s.tick).collect();
    let span_ms = view.ticks[last].seconds_since(view.ticks[first]) * 1000.0 + view.step_ms;
    if span_ms < min_duration_ms(view) || distinct.len() < 2 && view.step_ms < limits.window_ms {
        return None;
    }
    let covered = distinct.len() as f64 / (last - first + 1) as f64;
    let mean_conf = segment.iter().map(|s| s.confidence).sum::<f64>() / segment.len() as f64;
    let confidence = (mean_conf * (0.6 + 0.4 * covered)).clamp(0.0, 0.99);
    let (sum, count) = segment.iter().fold((0.0, 0usize), |(s, c), x| (s + x.sum, c + x.count));
    let magnitude = (count > 0).then(|| sum / count as f64);
    let mut affected = BTreeSet::new();
    for s in segment {
        for &(subject, _) in &s.samples {
            // Who suffers: receivers of the media for loss and jitter, the sender whose
            // video is held back for bandwidth, each end of a slow round trip.
            let x = &observer.subjects[subject];
            let who = match signal {
                Signal::Loss | Signal::Jitter => x.receiver.clone(),
                Signal::Bandwidth => x.sender.clone(),
                Signal::Delay => Some(x.observer.clone()),
            };
            if let Some(w) = who.filter(|w| !w.is_empty() && w != "the media server" && w != "the far end") {
                affected.insert(w);
            }
        }
    }
    let peak = segment.iter().copied().max_by(|a, b| a.count.cmp(&b.count).then(b.tick.cmp(&a.tick)))?;
    let evidence = describe(observer, signal, peak, hops.len() == 1);
    let mut evidence = evidence;
    let mut hops = hops.to_vec();
    let mut confidence = confidence;
    if signal == Signal::Bandwidth
        && hops.len() > 1
        && let Some((narrow, line)) = bottleneck(observer, &hops, view.ticks[first], view.ticks[last], limits)
    {
        hops = vec![narrow];
        confidence = BOTTLENECK_CONFIDENCE;
        evidence.push(line);
    }
    let candidates: Vec<HopRef> = hops.iter().map(|&h| observer.hops.get(h).clone()).collect();
    let from = view.ticks[first];
    // A tick stands for the sampling interval around it: a single sparse sample still has
    // a length.
    let end = view.ticks[view.ticks.len() - 1];
    let to = view.ticks[last].plus_ms(view.step_ms).min(end).max(from);
    Some(build(kind, candidates, confidence, from, to, magnitude, affected.into_iter().collect(), evidence))
}

/// How sure a bottleneck found by where packets were dropped is: one burst of drops at
/// one measured hop, not a run of measurements.
const BOTTLENECK_CONFIDENCE: f64 = 0.7;

/// Packets a drop burst must have lost: one or two of sixty is a random loss, not a queue
/// overflowing.
const MIN_BURST_PACKETS: f64 = 3.0;

/// How long before a bandwidth limit shows in the encoder its link may already drop: the
/// drops come as the limit sets in, the encoder follows after the estimate has fallen.
const ONSET_LEAD_MS: f64 = 10_000.0;

/// Which of several hops a bandwidth limit sits at, from where packets were dropped. A link
/// narrower than what is sent over it queues and then drops the excess until the sender's
/// congestion control backs off; the links that carry it on see no more than it passes. So
/// when a middlebox measured each candidate alone (the two sides of a relay, its inside),
/// and exactly one of them dropped packets (a window at or above the loss threshold) while
/// every other stayed clean, that one is the bottleneck. Anything unmeasured: undecided.
fn bottleneck(
    observer: &Observer<'_>,
    hops: &[usize],
    from: Timestamp,
    to: Timestamp,
    limits: &Thresholds,
) -> Option<(usize, String)> {
    // Around the onset: the limit is seen in the encoder after the drops.
    let (since, until) = (from.plus_ms(-ONSET_LEAD_MS), from.plus_ms(ONSET_LEAD_MS / 2.0).min(to));
    let mut dropped: Option<(usize, f64)> = None;
    let mut clean: Vec<usize> = Vec::new();
    for &h in hops {
        match observer.worst_direct_loss(h, since, until) {
            // A burst: over the loss threshold, and more than a stray packet or two.
            Some((v, lost)) if v >= limits.loss.0 && lost.is_none_or(|n| n >= MIN_BURST_PACKETS) => {
                if dropped.is_some() {
                    return None;
                }
                dropped = Some((h, v));
            }
            Some((v, _)) if v <= limits.loss.0 / 2.0 => clean.push(h),
            _ => {}
        }
    }
    let (narrow, worst) = dropped?;
    let narrow_hop = observer.hops.get(narrow);
    // A place as a whole is accounted for when it is the bottleneck's own place, or when
    // every way through it that was measured stayed clean.
    let accounted = |h: usize| {
        if h == narrow || clean.contains(&h) {
            return true;
        }
        let hop = observer.hops.get(h);
        if narrow_hop.whole().as_ref() == Some(hop) {
            return true;
        }
        let ways: Vec<usize> =
            hops.iter().copied().filter(|&w| observer.hops.get(w).whole().as_ref() == Some(hop)).collect();
        !ways.is_empty() && ways.iter().all(|w| clean.contains(w))
    };
    if !hops.iter().all(|&h| accounted(h)) {
        return None;
    }
    Some((
        narrow,
        format!(
            "{narrow_hop} dropped {worst:.0}% of the packets as the limit set in (the relay's count against the endpoint's), while the rest of the path passed everything on: a link too narrow for what is sent is where the excess is dropped"
        ),
    ))
}

#[allow(clippy::too_many_arguments)]
fn build(
    kind: FaultKind,
    candidates: Vec<HopRef>,
    confidence: f64,
    from: Timestamp,
    to: Timestamp,
    magnitude: Option<f64>,
    affected: Vec<String>,
    evidence: Vec<String>,
) -> Fault {
    let decided = candidates.len() == 1;
    let score = if decided { confidence } else { 1.0 / candidates.len() as f64 };
    let key: Vec<String> = candidates.iter().map(|h| format!("{h:?}")).collect();
    let id = stable_id(&[kind.as_str(), &key.join("|"), &from.to_rfc3339()]);
    Fault {
        id,
        kind,
        hop: decided.then(|| candidates[0].clone()),
        would_decide: (!decided).then(|| fault::would_decide(&candidates)),
        candidates: candidates.into_iter().map(|hop| Candidate { hop, score }).collect(),
        confidence: if decided { confidence } else { score },
        from: from.to_rfc3339(),
        to: to.to_rfc3339(),
        from_ms: from.epoch_ms(),
        to_ms: to.epoch_ms(),
        magnitude,
        affected,
        evidence,
        symptoms: Vec::new(),
    }
}

/// The measurements that pin a fault, in words, at its worst tick.
fn describe(observer: &Observer<'_>, signal: Signal, peak: &Seen, decided: bool) -> Vec<String> {
    let mut lines = Vec::new();
    for &(subject, v) in peak.samples.iter().take(4) {
        let s = &observer.subjects[subject];
        let what = match (&s.sender, &s.kind) {
            (Some(sender), Some(kind)) => format!("{sender}'s {kind}"),
            (Some(sender), None) => format!("{sender}'s media"),
            _ => "the media".into(),
        };
        let receiver = s.receiver.as_deref().unwrap_or("the far end");
        lines.push(match (signal, s.how) {
            (Signal::Loss, "measured on arrival") => format!("{receiver} lost {v:.1}% of {what}"),
            (Signal::Loss, how) => format!("{v:.1}% of {what} lost ({how})"),
            (Signal::Jitter, "measured on arrival") => {
                format!("{what} reached {receiver} with {v:.0} ms of jitter")
            }
            (Signal::Jitter, how) => format!("{what} arrived with {v:.0} ms of jitter ({how})"),
            (Signal::Delay, _) => format!("{}'s connection had a {v:.0} ms round trip", s.observer),
            (Signal::Bandwidth, _) => format!("{what} was bandwidth-limited {v:.0}% of the time"),
        });
    }
    if peak.count > 4 {
        lines.push(format!("and {} more measurements like these", peak.count - 4));
    }
    if decided && peak.clean > 0 {
        lines.push(format!(
            "{} other measurement{} at the same time crossed the rest of the path cleanly",
            peak.clean,
            if peak.clean == 1 { "" } else { "s" }
        ));
    }
    lines
}

fn cpu_faults(
    by_sender: BTreeMap<String, Vec<(usize, f64, bool)>>,
    view: &View,
    limits: &Thresholds,
) -> Vec<Fault> {
    let gap = gap_ticks(view.step_ms);
    let mut out = Vec::new();
    for (who, mut ticks) in by_sender {
        let who = who.as_str();
        ticks.sort_by_key(|t| t.0);
        ticks.dedup_by_key(|t| t.0);
        let mut start = 0;
        for i in 0..=ticks.len() {
            if i == ticks.len() || i > start && ticks[i].0 > ticks[i - 1].0 + gap {
                let seg = &ticks[start..i];
                if let (Some(f), Some(l)) = (seg.first(), seg.last()) {
                    let span = view.ticks[l.0].seconds_since(view.ticks[f.0]) * 1000.0 + view.step_ms;
                    if span >= min_duration_ms(view) && (seg.len() >= 2 || view.step_ms >= limits.window_ms) {
                        let mean = seg.iter().map(|t| t.1).sum::<f64>() / seg.len() as f64;
                        let inferred = seg.iter().all(|t| t.2);
                        let (confidence, evidence) = if inferred {
                            (
                                0.7,
                                format!(
                                    "{who}'s video encoder took {:.1}x as long per frame as at its best while its frame rate or picture size dropped, with no loss or bandwidth limit to explain it (its browser does not report qualityLimitationReason)",
                                    1.0 / (1.0 - mean / 100.0).max(0.01)
                                ),
                            )
                        } else {
                            (
                                0.9,
                                format!(
                                    "{who}'s browser reported its video encoder CPU-limited {mean:.0}% of the time (qualityLimitationReason: cpu)"
                                ),
                            )
                        };
                        out.push(build(
                            FaultKind::Cpu,
                            vec![HopRef::endpoint(who)],
                            confidence,
                            view.ticks[f.0],
                            view.ticks[l.0],
                            (!inferred).then_some(mean),
                            vec![who.to_string()],
                            vec![evidence],
                        ));
                    }
                }
                start = i;
            }
        }
    }
    out
}

/// How one media connection fared.
struct PcFate<'a> {
    participant: &'a str,
    via_sfu: bool,
    /// The far end of a peer-to-peer connection, when its data is here.
    peer: Option<&'a str>,
    connected: bool,
    /// When a connection that was up broke (disconnected for good or failed).
    broke_at: Option<Timestamp>,
    started: Option<Timestamp>,
    ended: Option<Timestamp>,
    turn_error: Option<(u16, String, String)>,
    /// The offer/answer step that failed, with the browser's error.
    negotiation_error: Option<String>,
    /// The connection's whole span.
    span: Option<(Timestamp, Timestamp)>,
}

impl PcFate<'_> {
    fn broken(&self) -> bool {
        !self.connected || self.broke_at.is_some()
    }
}

fn fates(conference: &Conference) -> Vec<PcFate<'_>> {
    let peers = hopscope_model::graph::match_peers(conference);
    let mut fates = Vec::new();
    for (pi, p) in conference.participants.iter().enumerate() {
        for (ci, pc) in p.peer_connections.iter().enumerate() {
            // Probes (no media, no negotiation) fail by design.
            let media = !pc.inbound.is_empty()
                || !pc.outbound.is_empty()
                || pc.events.iter().any(|e| {
                    matches!(
                        e.kind,
                        EventKind::TrackAdded(_) | EventKind::Negotiation { outcome: Outcome::Failed(_), .. }
                    )
                });
            if !media {
                continue;
            }
            let connected = pc.ever_connected();
            let failed_at = pc
                .events
                .iter()
                .find(|e| {
                    matches!(
                        e.kind,
                        EventKind::IceConnectionState(IceConnectionState::Failed)
                            | EventKind::ConnectionState(ConnectionState::Failed)
                    )
                })
                .map(|e| e.at);
            // A drop starts when the path went down: a few seconds before the connection
            // reported `disconnected` on its way to failing.
            let broke_at = failed_at
                .map(|failed| {
                    pc.ice_states()
                        .filter(|(t, s)| *s == IceConnectionState::Disconnected && *t <= failed)
                        .last()
                        .map_or(failed, |(t, _)| t.plus_ms(-NOTICE_MS))
                })
                .or_else(|| stuck_disconnected(conference, &peers, (pi, ci)).map(|t| t.plus_ms(-NOTICE_MS)));
            let turn_error = pc.events.iter().find_map(|e| match &e.kind {
                EventKind::IceCandidateError(err) => {
                    let code = err.error_code?;
                    let url = err.url.clone().unwrap_or_default();
                    (url.starts_with("turn") && (400..500).contains(&code))
                        .then(|| (code, err.error_text.clone().unwrap_or_default(), url))
                }
                _ => None,
            });
            let negotiation_error = pc.events.iter().find_map(|e| match &e.kind {
                EventKind::Negotiation { step, outcome: Outcome::Failed(why) } => {
                    Some(format!("{} failed: {why}", step.method_name()))
                }
                _ => None,
            });
            let gave_up = failed_at.is_some()
                || pc.events.iter().any(|e| {
                    matches!(
                        e.kind,
                        EventKind::Closed | EventKind::Negotiation { outcome: Outcome::Failed(_), .. }
                    )
                });
            if !connected && !gave_up && turn_error.is_none() {
                continue; // still connecting when the data ends: not a fault (yet)
            }
            let range = pc.time_range();
            fates.push(PcFate {
                participant: p.id.as_str(),
                via_sfu: pc.remote_kind == RemoteKind::Sfu,
                // Unmatched (a connection that never came up shares nothing to match on),
                // the far end of a two-person call is the other person.
                peer: peers.get(&(pi, ci)).map(|&(qi, _)| conference.participants[qi].id.as_str()).or_else(
                    || {
                        (pc.remote_kind != RemoteKind::Sfu && conference.participants.len() == 2)
                            .then(|| conference.participants[1 - pi].id.as_str())
                    },
                ),
                connected,
                broke_at: if connected { broke_at } else { None },
                started: if connected {
                    broke_at
                } else {
                    pc.events.first().map(|e| e.at).or(range.map(|r| r.0))
                },
                ended: failed_at.or(range.map(|r| r.1)),
                turn_error,
                negotiation_error,
                span: range.map(|(a, b)| (pc.events.first().map_or(a, |e| e.at.min(a)), b)),
            });
        }
    }
    fates
}

/// When a connection went `disconnected` for good: no `connected` after it before its data
/// ends. Chrome says `failed` only 10 s later, so a path that dies near the end of a call (or
/// of the recording) never gets there, but consent checks had gone unanswered for ~5 s. Peer
/// to peer, the far end must still have been in the call then (their data runs past it):
/// a peer that hangs up also leaves the other side `disconnected`.
fn stuck_disconnected(
    conference: &Conference,
    peers: &std::collections::HashMap<(usize, usize), (usize, usize)>,
    (pi, ci): (usize, usize),
) -> Option<Timestamp> {
    let pc = conference.participants.get(pi)?.peer_connections.get(ci)?;
    let (at, last) = pc.ice_states().filter(|(_, s)| *s != IceConnectionState::Closed).last()?;
    if last != IceConnectionState::Disconnected {
        return None;
    }
    // Seen to last: at least one stats sample after it.
    let (_, end) = pc.time_range()?;
    if end.seconds_since(at) < 1.0 {
        return None;
    }
    if pc.remote_kind == RemoteKind::Sfu {
        return Some(at);
    }
    let &(qi, qj) = peers.get(&(pi, ci))?;
    let (_, peer_end) = conference.participants.get(qi)?.peer_connections.get(qj)?.time_range()?;
    (peer_end.seconds_since(at) >= 1.0).then_some(at)
}

/// Connections that never came up or broke, read from the endpoints' events: a TURN
/// server refusing credentials, one participant's network, the media server when nobody's
/// connection holds, and either end of a peer-to-peer connection when both fail.
fn connectivity_faults(conference: &Conference) -> Vec<Fault> {
    let fates = fates(conference);
    let up: BTreeSet<&str> = fates.iter().filter(|f| !f.broken()).map(|f| f.participant).collect();
    let broken: Vec<&PcFate> = fates.iter().filter(|f| f.broken()).collect();
    let mut out = Vec::new();
    let mut done: BTreeSet<&str> = BTreeSet::new();
    let range = |fs: &[&PcFate]| -> Option<(Timestamp, Timestamp)> {
        let from = fs.iter().filter_map(|f| f.started).reduce(Timestamp::min)?;
        let to = fs.iter().filter_map(|f| f.ended).reduce(Timestamp::max)?;
        Some((from, to))
    };

    // A relay refusing credentials, once per relay, whether or not its clients got through
    // some other way (those who could only relay never connect).
    let mut refused: BTreeMap<String, Vec<&PcFate>> = BTreeMap::new();
    for f in fates.iter().filter(|f| f.turn_error.is_some()) {
        if let Some((_, _, url)) = &f.turn_error {
            refused.entry(url_host(url)).or_default().push(f);
        }
    }
    for (server, clients) in refused {
        let from = clients.iter().filter_map(|f| f.span.map(|s| s.0)).reduce(Timestamp::min);
        let to = clients.iter().filter_map(|f| f.span.map(|s| s.1)).reduce(Timestamp::max);
        let (Some(from), Some(to)) = (from, to) else { continue };
        let who: BTreeSet<&str> = clients.iter().map(|f| f.participant).collect();
        let mut evidence: Vec<String> = clients
            .iter()
            .take(3)
            .filter_map(|f| {
                let (code, text, url) = f.turn_error.as_ref()?;
                Some(format!(
                    "{}'s browser got STUN/TURN error {code} ({}) from {url}{}",
                    f.participant,
                    text.trim_end_matches('.'),
                    if f.broken() { "" } else { "; it connected another way" }
                ))
            })
            .collect();
        if clients.len() > 3 {
            evidence.push(format!("and {} more clients of the same relay", clients.len() - 3));
        }
        for f in &clients {
            if f.broken() {
                done.insert(f.participant);
            }
        }
        out.push(build(
            FaultKind::TurnAuth,
            vec![HopRef::turn(&server)],
            0.9,
            from,
            to,
            None,
            who.iter().map(|w| w.to_string()).collect(),
            evidence,
        ));
    }
    // An offer or answer one side could not apply: the application's signalling, at them.
    for f in broken.iter().filter(|f| f.negotiation_error.is_some()) {
        let Some(why) = &f.negotiation_error else { continue };
        let Some((from, to)) = range(&[f]) else { continue };
        if !done.insert(f.participant) {
            continue;
        }
        out.push(build(
            FaultKind::Connectivity,
            vec![HopRef::endpoint(f.participant)],
            0.85,
            from,
            to,
            None,
            vec![f.participant.to_string()],
            vec![format!("{}'s browser: {why}", f.participant)],
        ));
    }
    // The peer of someone the relay refused, or who could not apply the other's
    // description, could never reach them: same fault.
    let rest: Vec<&PcFate> = broken
        .iter()
        .copied()
        .filter(|f| !done.contains(f.participant) && !f.peer.is_some_and(|p| done.contains(p)))
        .collect();

    let sfu_side: Vec<&PcFate> = rest.iter().copied().filter(|f| f.via_sfu).collect();
    if sfu_side.len() > 1 && up.is_empty() {
        // Nobody's connection to the server holds: the server (or the way to it) is down.
        if let Some((from, to)) = range(&sfu_side) {
            let who: BTreeSet<&str> = sfu_side.iter().map(|f| f.participant).collect();
            out.push(build(
                FaultKind::Connectivity,
                vec![HopRef::sfu(None)],
                0.75,
                from,
                to,
                None,
                who.iter().map(|w| w.to_string()).collect(),
                vec![format!("no participant's media connection to the server held ({} of them)", who.len())],
            ));
            done.extend(who);
        }
    }
    let p2p: Vec<&PcFate> =
        rest.iter().copied().filter(|f| !f.via_sfu && !done.contains(f.participant)).collect();
    // Peer to peer, both ends broken: either network could be the one blocking it.
    let mut pairs: BTreeSet<(&str, &str)> = BTreeSet::new();
    for f in &p2p {
        if let Some(peer) = f.peer
            && p2p.iter().any(|g| g.participant == peer)
        {
            let pair = if f.participant < peer { (f.participant, peer) } else { (peer, f.participant) };
            pairs.insert(pair);
        }
    }
    for (a, b) in pairs {
        let both: Vec<&PcFate> =
            p2p.iter().copied().filter(|f| f.participant == a || f.participant == b).collect();
        let Some((from, to)) = range(&both) else { continue };
        let what = if both.iter().any(|f| f.connected) { "dropped" } else { "never came up" };
        out.push(build(
            FaultKind::Connectivity,
            vec![HopRef::access(a, Direction::Both), HopRef::access(b, Direction::Both)],
            0.5,
            from,
            to,
            None,
            vec![a.to_string(), b.to_string()],
            vec![format!("the connection between {a} and {b} {what} on both sides")],
        ));
        done.insert(a);
        done.insert(b);
    }
    let lone: Vec<&PcFate> = rest.iter().copied().filter(|f| !done.contains(f.participant)).collect();
    for f in lone {
        let Some((from, to)) = range(&[f]) else { continue };
        if !done.insert(f.participant) {
            continue;
        }
        let what = if f.connected { "dropped" } else { "never came up" };
        let mut evidence = vec![format!("{}'s media connection {what}", f.participant)];
        if !up.is_empty() {
            evidence.push(format!("{} stayed connected", up.iter().copied().collect::<Vec<_>>().join(", ")));
        }
        out.push(build(
            FaultKind::Connectivity,
            vec![HopRef::access(f.participant, Direction::Both)],
            if up.is_empty() { 0.6 } else { 0.85 },
            from,
            to,
            None,
            vec![f.participant.to_string()],
            evidence,
        ));
    }
    out
}

/// Connections that went `disconnected` and came back: the path was down for a while.
/// Everyone's connection to the media server at once is the server; both ends of a
/// peer-to-peer connection see the same outage, so either network could be it.
fn interruption_faults(conference: &Conference) -> Vec<Fault> {
    // (participant, via SFU, from, to), the path down from a few seconds before ICE noticed.
    let mut outages: Vec<(&str, bool, Timestamp, Timestamp)> = Vec::new();
    for p in &conference.participants {
        for pc in &p.peer_connections {
            let mut down: Option<Timestamp> = None;
            for (t, st) in pc.ice_states() {
                match (st, down) {
                    (IceConnectionState::Disconnected, None) => down = Some(t),
                    (s, Some(d)) if s.is_connected() => {
                        outages.push((
                            p.id.as_str(),
                            pc.remote_kind == RemoteKind::Sfu,
                            d.plus_ms(-NOTICE_MS),
                            t,
                        ));
                        down = None;
                    }
                    _ => {}
                }
            }
        }
    }
    let mut out = Vec::new();
    let mut used = vec![false; outages.len()];
    let sfu_users: BTreeSet<&str> = conference
        .participants
        .iter()
        .filter(|p| {
            p.peer_connections.iter().any(|pc| pc.remote_kind == RemoteKind::Sfu && pc.ever_connected())
        })
        .map(|p| p.id.as_str())
        .collect();
    for i in 0..outages.len() {
        if used[i] {
            continue;
        }
        let (who, via_sfu, from, to) = outages[i];
        // Everyone whose outage overlaps this one.
        let together: Vec<usize> =
            (0..outages.len()).filter(|&j| !used[j] && outages[j].2 <= to && from <= outages[j].3).collect();
        let people: BTreeSet<&str> = together.iter().map(|&j| outages[j].0).collect();
        for &j in &together {
            used[j] = true;
        }
        let from = together.iter().map(|&j| outages[j].2).reduce(Timestamp::min).unwrap_or(from);
        let to = together.iter().map(|&j| outages[j].3).reduce(Timestamp::max).unwrap_or(to);
        let secs = to.seconds_since(from);
        let names: Vec<String> = people.iter().map(|p| p.to_string()).collect();
        let (candidates, confidence, evidence) = if via_sfu
            && people.len() > 1
            && people.len() == sfu_users.len()
        {
            (
                vec![HopRef::sfu(None)],
                0.75,
                format!(
                    "every participant's connection to the media server went down at once for about {secs:.0} s"
                ),
            )
        } else if !via_sfu && people.len() == 2 {
            let mut c: Vec<HopRef> = people.iter().map(|p| HopRef::access(p, Direction::Both)).collect();
            c.sort();
            (
                c,
                0.5,
                format!(
                    "the connection between {} was down for about {secs:.0} s and came back",
                    names.join(" and ")
                ),
            )
        } else {
            (
                vec![HopRef::access(who, Direction::Both)],
                if sfu_users.len() > 1 { 0.85 } else { 0.6 },
                format!(
                    "{who}'s connection was down for about {secs:.0} s and came back; the others' stayed up"
                ),
            )
        };
        out.push(build(
            FaultKind::Connectivity,
            candidates,
            confidence,
            from,
            to,
            None,
            names,
            vec![evidence],
        ));
    }
    out
}

/// Media stopping both ways for a participant at once, for a few seconds, without ICE
/// saying so (it notices only after ~5 s, and a shorter cut comes back before it does):
/// their network dropped out. Everyone at once through a media server: the server.
fn silence_faults(view: &View, earlier: &[Fault]) -> Vec<Fault> {
    let Some((active, _)) = hopscope_rules::catalogue::Scope::Stream.metric("active") else {
        return Vec::new();
    };
    let n = view.ticks.len();
    let is_active = |i: usize, t: usize| {
        view.value(hopscope_rules::view::EntityRef::Stream(i), active, t)
            == hopscope_rules::view::Val::Bool(true)
    };
    // Per participant: the streams they receive, and the streams others receive from them.
    let mut hears: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    let mut heard: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, st) in view.streams.iter().enumerate() {
        if &*st.attrs.direction != "inbound" {
            continue;
        }
        hears.entry(&st.attrs.participant).or_default().push(i);
        if let Some(sender) = st.attrs.sender.as_deref() {
            heard.entry(sender).or_default().push(i);
        }
    }
    // A stream is expected to flow at a tick when it flowed a little before and after.
    let around = (10_000.0 / view.step_ms).ceil().max(1.0) as usize;
    let flowing: Vec<Vec<bool>> =
        (0..view.streams.len()).map(|i| (0..n).map(|t| is_active(i, t)).collect()).collect();
    let expected = |i: usize, t: usize| {
        let before = flowing[i][t.saturating_sub(around)..t].iter().any(|x| *x);
        let after = flowing[i][(t + 1).min(n)..(t + around + 1).min(n)].iter().any(|x| *x);
        before && after
    };
    let dead = |streams: &[usize], t: usize| {
        let expected: Vec<usize> = streams.iter().copied().filter(|&i| expected(i, t)).collect();
        !expected.is_empty() && expected.iter().all(|&i| !flowing[i][t])
    };
    let mut silent: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (who, theirs) in &hears {
        let Some(from_them) = heard.get(who) else { continue };
        for t in 0..n {
            if dead(theirs, t) && dead(from_them, t) {
                silent.entry(who).or_default().push(t);
            }
        }
    }
    let covered = |who: &str, from: Timestamp, to: Timestamp| {
        earlier.iter().any(|f| {
            f.kind == FaultKind::Connectivity
                && f.affected.iter().any(|a| a == who)
                && f.from_ms <= to.epoch_ms() + 5000.0
                && from.epoch_ms() <= f.to_ms + 5000.0
        })
    };
    let mut out = Vec::new();
    let everyone = hears.len();
    let mut runs: Vec<(Vec<&str>, usize, usize)> = Vec::new();
    for (who, ticks) in &silent {
        let mut start = 0;
        for i in 0..=ticks.len() {
            if i == ticks.len() || i > start && ticks[i] > ticks[i - 1] + 1 {
                if i > start {
                    runs.push((vec![*who], ticks[start], ticks[i - 1]));
                }
                start = i;
            }
        }
    }
    runs.sort_by_key(|r| r.1);
    // Outages at the same time are one event.
    let mut merged: Vec<(Vec<&str>, usize, usize)> = Vec::new();
    for r in runs {
        match merged.last_mut() {
            Some(m) if r.1 <= m.2 + 1 && m.1 <= r.2 + 1 => {
                m.0.extend(r.0);
                m.2 = m.2.max(r.2);
            }
            _ => merged.push(r),
        }
    }
    for (mut who, first, last) in merged {
        who.sort_unstable();
        who.dedup();
        let (from, to) = (view.ticks[first], view.ticks[last].plus_ms(view.step_ms));
        let secs = to.seconds_since(from);
        if secs * 1000.0 < min_duration_ms(view) || who.iter().all(|w| covered(w, from, to)) {
            continue;
        }
        let names: Vec<String> = who.iter().map(|w| w.to_string()).collect();
        let (candidates, confidence, evidence) = if who.len() == everyone && everyone > 2 {
            (
                vec![HopRef::sfu(None)],
                0.75,
                format!("all media stopped for everyone at once for about {secs:.0} s"),
            )
        } else if who.len() == 1 && everyone > 2 {
            (
                vec![HopRef::access(who[0], Direction::Both)],
                0.85,
                format!(
                    "{}'s media stopped both ways for about {secs:.0} s while the others kept talking",
                    who[0]
                ),
            )
        } else {
            let c: Vec<HopRef> = who.iter().map(|w| HopRef::access(w, Direction::Both)).collect();
            let score = 1.0 / c.len() as f64;
            (
                c,
                score,
                format!("media between {} stopped both ways for about {secs:.0} s", names.join(" and ")),
            )
        };
        out.push(build(
            FaultKind::Connectivity,
            candidates,
            confidence,
            from,
            to,
            None,
            names,
            vec![evidence],
        ));
    }
    out
}

/// How long before `disconnected` the path was already down (Chrome notices after ~5 s).
const NOTICE_MS: f64 = 6000.0;

fn url_host(url: &str) -> String {
    let rest = url.split_once(':').map_or(url, |(_, r)| r);
    let host = rest.split(['?', '/']).next().unwrap_or(rest);
    match host.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h.trim_matches(['[', ']']).to_string(),
        _ => host.to_string(),
    }
}

/// The same fault up and down a hop at the same time is one fault at the hop (a Wi-Fi
/// that loses both ways, a relay that drops everything).
fn merge_both_ways(faults: &mut Vec<Fault>) {
    let mut i = 0;
    while i < faults.len() {
        let partner = faults[i].hop.as_ref().filter(|h| h.direction == Some(Direction::Up)).and_then(|up| {
            let down = HopRef { direction: Some(Direction::Down), ..up.clone() };
            (0..faults.len()).find(|&j| {
                faults[j].kind == faults[i].kind
                    && faults[j].hop.as_ref() == Some(&down)
                    && faults[j].from_ms <= faults[i].to_ms
                    && faults[i].from_ms <= faults[j].to_ms
            })
        });
        if let Some(j) = partner {
            let other = faults.remove(j);
            let i = if j < i { i - 1 } else { i };
            let f = &mut faults[i];
            if let Some(h) = &mut f.hop {
                h.direction = if h.class == HopClass::Access { Some(Direction::Both) } else { None };
                f.candidates = vec![Candidate { hop: h.clone(), score: f.confidence.max(other.confidence) }];
            }
            f.span_over(&other);
            f.magnitude = match (f.magnitude, other.magnitude) {
                (Some(a), Some(b)) => Some((a + b) / 2.0),
                (a, b) => a.or(b),
            };
            f.confidence = f.confidence.max(other.confidence);
            f.evidence.extend(other.evidence);
            f.affect_also(other.affected);
            f.id = stable_id(&[f.kind.as_str(), &format!("{:?}", f.hop), &f.from]);
        }
        i += 1;
    }
}

/// Two kinds of trouble at the media server at once (late, uneven, lost forwarding) are one
/// fault: it is overloaded. Loss alone at the server stays loss (a congested link).
fn merge_sfu_overload(faults: &mut Vec<Fault>) {
    let at_sfu = |f: &Fault| {
        matches!(f.kind, FaultKind::Loss | FaultKind::Jitter | FaultKind::Delay)
            && f.hop.as_ref().is_some_and(|h| h.class == HopClass::Sfu)
    };
    let overlap = |a: &Fault, b: &Fault| a.from_ms <= b.to_ms && b.from_ms <= a.to_ms;
    let mut i = 0;
    while i < faults.len() {
        if !at_sfu(&faults[i]) {
            i += 1;
            continue;
        }
        let group: Vec<usize> =
            (0..faults.len()).filter(|&j| at_sfu(&faults[j]) && overlap(&faults[i], &faults[j])).collect();
        let kinds: BTreeSet<FaultKind> = group.iter().map(|&j| faults[j].kind).collect();
        let has_timing = kinds.contains(&FaultKind::Jitter) || kinds.contains(&FaultKind::Delay);
        if kinds.len() < 2 || !has_timing {
            i += 1;
            continue;
        }
        let mut merged: Vec<Fault> = Vec::new();
        for &j in group.iter().rev() {
            merged.push(faults.remove(j));
        }
        merged.sort_by(|a, b| a.from_ms.total_cmp(&b.from_ms));
        let mut f = merged[0].clone();
        f.kind = FaultKind::SfuOverload;
        if let Some(h) = &mut f.hop {
            h.direction = None;
        }
        f.candidates = f.hop.iter().map(|h| Candidate { hop: h.clone(), score: f.confidence }).collect();
        for other in &merged[1..] {
            if other.to_ms > f.to_ms {
                f.to_ms = other.to_ms;
                f.to = other.to.clone();
            }
            f.evidence.extend(other.evidence.iter().cloned());
            f.affected.extend(other.affected.iter().cloned());
            f.confidence = f.confidence.max(other.confidence);
        }
        // Overload shows as timing first; the magnitude is the worst jitter or delay.
        f.magnitude = merged
            .iter()
            .filter(|m| matches!(m.kind, FaultKind::Jitter | FaultKind::Delay))
            .filter_map(|m| m.magnitude)
            .reduce(f64::max);
        f.affected.sort();
        f.affected.dedup();
        f.id = stable_id(&["sfu-overload", &f.from]);
        faults.insert(i.min(faults.len()), f);
        i += 1;
    }
}

/// A participant's own network blamed for a while when the shared hop they sit behind
/// (the media server, a relay) is blamed for the same trouble at the same time: the
/// shared hop explains them too, so the short personal verdict is folded into it.
fn fold_into_shared(faults: &mut Vec<Fault>) {
    let shared =
        |f: &Fault| f.hop.as_ref().is_some_and(|h| matches!(h.class, HopClass::Sfu | HopClass::Turn));
    let mut drop = BTreeSet::new();
    for (i, f) in faults.iter().enumerate() {
        let Some(h) = &f.hop else { continue };
        if h.class != HopClass::Access {
            continue;
        }
        let Some(who) = h.participant.as_deref() else { continue };
        let span = (f.to_ms - f.from_ms).max(1.0);
        let covered = faults.iter().any(|g| {
            let same_kind = g.kind == f.kind || g.kind == FaultKind::SfuOverload;
            let overlap = (f.to_ms.min(g.to_ms) - f.from_ms.max(g.from_ms)).max(0.0);
            shared(g)
                && same_kind
                && g.affected.iter().any(|a| a == who)
                && overlap >= 0.5 * span
                && (g.to_ms - g.from_ms) >= span
        });
        if covered {
            drop.insert(i);
        }
    }
    remove_all(faults, &drop);
}

/// The findings a fault explains: the same time, the same people, a related category.
fn symptoms(fault: &Fault, findings: &[Finding], view: &View) -> Vec<String> {
    let related = |c: Category| match fault.kind {
        FaultKind::Loss => matches!(c, Category::PacketLoss | Category::Quality),
        FaultKind::Jitter => matches!(c, Category::Jitter | Category::Quality),
        FaultKind::Delay => matches!(c, Category::Delay | Category::Quality),
        FaultKind::Bandwidth => matches!(c, Category::Bandwidth | Category::Quality | Category::PacketLoss),
        FaultKind::Cpu => matches!(c, Category::Cpu | Category::Quality),
        FaultKind::Connectivity => matches!(c, Category::Ice | Category::CallOutcome | Category::Media),
        FaultKind::TurnAuth => matches!(c, Category::Turn | Category::Ice | Category::CallOutcome),
        FaultKind::SfuOverload => {
            matches!(
                c,
                Category::Delay | Category::Jitter | Category::PacketLoss | Category::Quality | Category::Sfu
            )
        }
    };
    let source = fault.owner();
    findings
        .iter()
        .filter(|f| related(f.category))
        .filter(|f| f.raised_ms <= fault.to_ms + 10_000.0 && fault.from_ms <= f.ended_ms + 10_000.0)
        .filter(|f| {
            let Some(p) = f.scope.participant.as_deref() else { return true };
            let involved = fault.affected.iter().any(|a| a == p) || source == Some(p);
            // A received stream is a symptom of an uplink fault only if it comes from that sender.
            let from_source = match (source, stream_sender(view, f)) {
                (Some(s), Some(sender)) if f.scope.direction.as_deref() == Some("inbound") => {
                    fault.hop.as_ref().is_none_or(|h| h.direction != Some(Direction::Up)) || sender == s
                }
                _ => true,
            };
            involved && from_source
        })
        .map(|f| f.id.clone())
        .collect()
}

/// The sender of the stream a finding is about, when known.
fn stream_sender<'v>(view: &'v View, f: &Finding) -> Option<&'v str> {
    let ssrc = f.scope.ssrc?;
    view.streams
        .iter()
        .find(|s| s.attrs.ssrc == Some(ssrc) && Some(&*s.attrs.participant) == f.scope.participant.as_deref())
        .and_then(|s| s.attrs.sender.as_deref())
}

/// Hops whose inside no data shows.
fn unobserved(conference: &Conference) -> Vec<String> {
    let mut out = Vec::new();
    let sfu = conference
        .participants
        .iter()
        .flat_map(|p| &p.peer_connections)
        .any(|pc| pc.remote_kind == RemoteKind::Sfu);
    let has_sfu_data =
        conference.middleboxes.iter().any(|m| m.kind == Some(hopscope_model::middlebox::MiddleboxKind::Sfu));
    if sfu && !has_sfu_data {
        out.push(
            "the media server: no server-side data, so its problems are inferred from who is affected".into(),
        );
    }
    let relayed = conference.participants.iter().flat_map(|p| &p.peer_connections).any(|pc| {
        pc.candidates
            .iter()
            .any(|c| !c.is_remote && c.candidate_type == Some(hopscope_model::stats::CandidateType::Relay))
    });
    let has_turn_data =
        conference.middleboxes.iter().any(|m| m.kind == Some(hopscope_model::middlebox::MiddleboxKind::Turn));
    if relayed && !has_turn_data {
        out.push(
            "TURN relays: no relay-side data, so a relay and the network on either side of it look alike"
                .into(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(hop: HopRef, from_s: f64, to_s: f64, confidence: f64, evidence: &str) -> Fault {
        let at = |s: f64| Timestamp::from_epoch_ms(1_767_225_600_000.0 + s * 1000.0).expect("a valid time");
        build(
            FaultKind::Bandwidth,
            vec![hop],
            confidence,
            at(from_s),
            at(to_s),
            Some(100.0 * confidence),
            vec!["alice".into()],
            vec![evidence.into()],
        )
    }

    #[test]
    fn consecutive_faults_at_one_hop_become_one() {
        let up = HopRef::access("alice", Direction::Up);
        let mut faults =
            vec![fault(up.clone(), 16.0, 30.0, 0.5, "later"), fault(up.clone(), 10.0, 16.0, 0.9, "first")];
        let first_id = faults[1].id.clone();
        merge_consecutive(&mut faults, 1000.0);
        assert_eq!(faults.len(), 1, "{faults:#?}");
        let f = &faults[0];
        assert_eq!(f.id, first_id, "the earlier part's id stays");
        assert_eq!((f.from_ms, f.to_ms), (1_767_225_610_000.0, 1_767_225_630_000.0));
        assert_eq!(f.evidence, ["first", "later"]);
        // Weighted by duration: 6 s at 0.9, 14 s at 0.5.
        assert!((f.confidence - (0.9 * 6.0 + 0.5 * 14.0) / 20.0).abs() < 1e-9, "{}", f.confidence);
        assert!(f.magnitude.is_some_and(|m| (m - 62.0).abs() < 1e-9), "{:?}", f.magnitude);
        assert_eq!(f.candidates, vec![Candidate { hop: up, score: f.confidence }]);
    }

    #[test]
    fn a_short_gap_joins_them_a_long_one_does_not() {
        let up = HopRef::access("alice", Direction::Up);
        // 9 s between them: within the 10 s that would not split a run either.
        let mut near = vec![fault(up.clone(), 0.0, 10.0, 0.8, "a"), fault(up.clone(), 19.0, 30.0, 0.8, "b")];
        merge_consecutive(&mut near, 1000.0);
        assert_eq!(near.len(), 1);
        let mut far = vec![fault(up.clone(), 0.0, 10.0, 0.8, "a"), fault(up, 21.0, 30.0, 0.8, "b")];
        merge_consecutive(&mut far, 1000.0);
        assert_eq!(far.len(), 2);
    }

    #[test]
    fn an_undecided_stretch_next_to_a_decided_fault_it_lists_joins_it() {
        let down = HopRef::access("alice", Direction::Down);
        let decided = fault(down.clone(), 7.0, 21.0, 0.86, "pinned");
        let mut undecided = fault(down.clone(), 21.0, 30.0, 0.5, "either");
        undecided.hop = None;
        undecided.candidates.insert(0, Candidate { hop: HopRef::access("bob", Direction::Up), score: 0.5 });
        let mut faults = vec![undecided.clone(), decided.clone()];
        merge_consecutive(&mut faults, 1000.0);
        assert_eq!(faults.len(), 1, "{faults:#?}");
        assert_eq!(faults[0].hop, Some(down));
        assert_eq!((faults[0].from_ms, faults[0].to_ms), (decided.from_ms, undecided.to_ms));
        assert!((faults[0].confidence - (0.86 * 14.0 + 0.5 * 9.0) / 23.0).abs() < 1e-9);
        // With two decided faults it could belong to, it belongs to neither.
        let other = fault(HopRef::access("bob", Direction::Up), 25.0, 40.0, 0.8, "bob");
        let mut faults = vec![decided, undecided, other];
        merge_consecutive(&mut faults, 1000.0);
        assert_eq!(faults.len(), 3, "{faults:#?}");
    }

    #[test]
    fn other_hops_and_undecided_faults_stay_apart() {
        let up = HopRef::access("alice", Direction::Up);
        let down = HopRef::access("alice", Direction::Down);
        let mut faults = vec![fault(up.clone(), 0.0, 10.0, 0.8, "a"), fault(down, 5.0, 20.0, 0.8, "b")];
        merge_consecutive(&mut faults, 1000.0);
        assert_eq!(faults.len(), 2);
        // Two undecided faults name no hop: nothing says they are the same.
        let mut undecided = fault(up.clone(), 0.0, 10.0, 0.5, "a");
        undecided.hop = None;
        let mut again = fault(up, 10.0, 20.0, 0.5, "b");
        again.hop = None;
        let mut faults = vec![undecided, again];
        merge_consecutive(&mut faults, 1000.0);
        assert_eq!(faults.len(), 2);
    }

    fn of_kind(kind: FaultKind, mut f: Fault, who: &str) -> Fault {
        f.kind = kind;
        f.affected = vec![who.into()];
        f
    }

    #[test]
    fn several_networks_failing_together_behind_one_server_are_the_server() {
        let forwarding = HopRef::sfu_way(Some("sfu-1"), Direction::Down);
        let behind: BTreeMap<HopRef, BTreeSet<String>> =
            [(forwarding.clone(), ["alice", "bob", "carol"].map(String::from).into())].into();
        let down = |who: &str, from: f64, to: f64| {
            of_kind(FaultKind::Loss, fault(HopRef::access(who, Direction::Down), from, to, 0.8, who), who)
        };
        let mut faults = vec![down("alice", 10.0, 20.0), down("bob", 12.0, 22.0), down("carol", 40.0, 50.0)];
        fold_common_cause(&mut faults, &behind);
        assert_eq!(faults.len(), 2, "{faults:#?}");
        let shared = faults
            .iter()
            .find(|f| f.hop.as_ref() == Some(&forwarding))
            .expect("a fault at the forwarding side");
        assert_eq!(shared.kind, FaultKind::Loss);
        assert_eq!((shared.from_ms, shared.to_ms), (1_767_225_610_000.0, 1_767_225_622_000.0));
        assert_eq!(shared.affected, ["alice", "bob"]);
        assert!((shared.confidence - (0.5 + 0.4 * 2.0 / 3.0)).abs() < 1e-9, "{}", shared.confidence);
        assert!(
            shared.evidence[0].starts_with("2 of the 3 participants behind the media server sfu-1"),
            "{:?}",
            shared.evidence
        );
        // Carol's loss, later and alone, stays hers.
        assert!(faults.iter().any(|f| f.owner() == Some("carol")));

        // Two of seven at once is no pattern: they stay two networks.
        let seven: BTreeSet<String> = ["a", "b", "c", "d", "e", "f", "g"].map(String::from).into();
        let behind: BTreeMap<HopRef, BTreeSet<String>> = [(forwarding, seven)].into();
        let mut faults = vec![down("a", 10.0, 20.0), down("b", 12.0, 22.0)];
        fold_common_cause(&mut faults, &behind);
        assert!(
            faults.iter().all(|f| f.hop.as_ref().is_some_and(|h| h.class == HopClass::Access)),
            "{faults:#?}"
        );
    }

    #[test]
    fn queueing_at_a_caps_onset_is_part_of_the_limit_unless_it_clearly_outlasts_it() {
        let alice_down = HopRef::access("alice", Direction::Down);
        let bob_up = HopRef::access("bob", Direction::Up);
        let limit = fault(alice_down.clone(), 28.0, 50.0, 0.8, "limited");
        let mut onset =
            of_kind(FaultKind::Jitter, fault(alice_down.clone(), 30.0, 36.0, 0.5, "queueing"), "alice");
        onset.hop = None;
        onset.candidates = vec![
            Candidate { hop: bob_up.clone(), score: 0.5 },
            Candidate { hop: alice_down.clone(), score: 0.5 },
        ];
        let mut faults = vec![onset.clone(), limit.clone()];
        merge_with_bandwidth(&mut faults);
        assert_eq!(faults.len(), 1, "{faults:#?}");
        assert_eq!(faults[0].kind, FaultKind::Bandwidth);
        assert_eq!(faults[0].hop, Some(alice_down.clone()));
        assert_eq!(faults[0].evidence, ["limited", "queueing"]);
        // Jitter over a whole call with a short limit inside it: the jitter is the cause.
        let mut long =
            of_kind(FaultKind::Jitter, fault(alice_down.clone(), 0.0, 60.0, 0.8, "jittery"), "alice");
        long.candidates = vec![Candidate { hop: alice_down.clone(), score: 0.8 }];
        let mut faults = vec![long, limit];
        merge_with_bandwidth(&mut faults);
        assert_eq!(faults.len(), 1, "{faults:#?}");
        assert_eq!(faults[0].kind, FaultKind::Jitter);
    }

    #[test]
    fn senders_backing_off_under_a_lossy_server_are_the_loss() {
        let receiving = HopRef::sfu_way(Some("sfu-1"), Direction::Up);
        let behind: BTreeMap<HopRef, BTreeSet<String>> =
            [(receiving.clone(), ["alice", "bob", "carol"].map(String::from).into())].into();
        let mut loss =
            of_kind(FaultKind::Loss, fault(receiving.clone(), 10.0, 40.0, 0.9, "server lost"), "carol");
        loss.candidates = vec![Candidate { hop: receiving.clone(), score: 0.9 }];
        let back_off = of_kind(
            FaultKind::Bandwidth,
            fault(HopRef::access("bob", Direction::Up), 15.0, 30.0, 0.5, "bob limited"),
            "bob",
        );
        // A limit that began before the loss is bob's own.
        let own = fault(HopRef::access("alice", Direction::Up), 2.0, 20.0, 0.5, "alice limited");
        let mut faults = vec![loss, back_off, own];
        fold_back_off_into_shared_loss(&mut faults, &behind);
        assert_eq!(faults.len(), 2, "{faults:#?}");
        assert_eq!(faults[0].hop, Some(receiving));
        assert_eq!(faults[0].affected, ["bob", "carol"]);
        assert!(
            faults[0].evidence[1].starts_with(
                "bob's sending was held back while the media server sfu-1 (receiving) lost packets"
            ),
            "{:?}",
            faults[0].evidence
        );
        assert_eq!(faults[1].owner(), Some("alice"));
        assert_eq!(faults[1].kind, FaultKind::Bandwidth);
    }

    #[test]
    fn each_place_among_the_candidates_is_named_once_by_the_way_the_evidence_shows() {
        let mut table = observe::HopTable::default();
        let up = table.id(HopRef::access("annabel", Direction::Up));
        let annabel = table.id(HopRef::access("annabel", Direction::Both));
        let relay_in = table.id(HopRef::turn_way("turn-1", Direction::Up));
        let relay = table.id(HopRef::turn("turn-1"));
        let sfu_in = table.id(HopRef::sfu_way(None, Direction::Up));
        let sfu_out = table.id(HopRef::sfu_way(None, Direction::Down));
        let sfu = table.id(HopRef::sfu(None));
        // One way and the whole of each place: the one way.
        assert_eq!(one_place(&table, vec![up, annabel, relay_in, relay]), vec![up, relay_in]);
        // Both ways of a place and the place: the place; a place named once stays.
        assert_eq!(one_place(&table, vec![sfu_in, sfu_out, sfu, up]), vec![up, sfu]);
        assert_eq!(one_place(&table, vec![annabel, relay]), vec![annabel, relay]);
        // Both ways without the place itself: both stay.
        assert_eq!(one_place(&table, vec![sfu_in, sfu_out]), vec![sfu_in, sfu_out]);
    }
}
