//! `hopscope backtest`: attribution against known ground truth, over a labelled corpus on
//! disk or one simulated on the spot.
//!
//! For each injected fault: is the hop the engine names the right one (top-1, counted where
//! the data can decide), did it abstain, or miss? Per fault kind: precision and recall. On
//! healthy calls: false alarms per 100 conferences. Where the data cannot decide (a truth
//! fault with equivalent hops), an honest "one of these" is the right answer.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use hopscope_attribute::{Attribution, Direction, Fault, FaultKind, HopClass, HopRef};
use hopscope_model::Conference;
use hopscope_sim::truth::{self, Truth};
use serde::Serialize;

use crate::cli::{BacktestArgs, OutputFormat};

/// Seconds of slack around a truth fault's window: detection smooths over a few seconds,
/// and ICE notices an outage ~5 s late.
const SLACK_S: f64 = 12.0;

/// One conference to score.
struct Case {
    id: String,
    truth: Truth,
    conference: Result<Conference, String>,
}

/// When the call starts on the engine's clock: the truth's windows are seconds from it.
/// The simulated data begins at the scenario's start.
fn start_ms(conference: &Conference) -> f64 {
    conference.time_range().map_or(0.0, |(start, _)| start.epoch_ms())
}

pub fn run(args: &BacktestArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let cases: Box<dyn Iterator<Item = Case>> = match (&args.corpus, args.generate) {
        (Some(dir), _) => Box::new(from_disk(dir)?.into_iter()),
        (None, Some(n)) => Box::new(generated(n, args.seed)),
        (None, None) => anyhow::bail!("give a corpus directory, or --generate N to simulate one"),
    };
    let total = match (&args.corpus, args.generate) {
        (Some(dir), _) => case_dirs(dir)?.len() as u64,
        (None, Some(n)) => n as u64,
        _ => 0,
    };
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} conferences, {elapsed} ({eta} left)")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    if args.format == OutputFormat::Json || args.quiet {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let quality = hopscope_score::QualityConfig::default();
    let mut score = Score::default();
    let mut diffs = Vec::new();
    for case in cases {
        bar.inc(1);
        let outcome = match &case.conference {
            Ok(conference) => {
                let view = hopscope_rules::view::View::build(conference, &quality);
                let attribution = hopscope_attribute::attribute(conference, &view, &[]);
                score.add(&case.truth, &attribution, start_ms(conference))
            }
            Err(e) => {
                score.errors += 1;
                CaseOutcome { correct: false, lines: vec![format!("could not read: {e}")] }
            }
        };
        if args.diff && !outcome.correct {
            diffs.push((case.id.clone(), outcome.lines));
        }
    }
    bar.finish_and_clear();
    let elapsed = started.elapsed().as_secs_f64();
    let report = score.report(elapsed);
    match args.format {
        OutputFormat::Json => {
            #[derive(Serialize)]
            struct Out<'a> {
                #[serde(flatten)]
                report: &'a Report,
                diffs: Vec<Diff>,
            }
            #[derive(Serialize)]
            struct Diff {
                case: String,
                lines: Vec<String>,
            }
            let diffs = diffs.into_iter().map(|(case, lines)| Diff { case, lines }).collect();
            outln!("{}", serde_json::to_string_pretty(&Out { report: &report, diffs })?);
        }
        OutputFormat::Text => {
            for (id, lines) in &diffs {
                outln!("{id}");
                for l in lines {
                    outln!("    {l}");
                }
            }
            out!("{}", report.render());
        }
    }
    Ok(if score.errors == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// Conference folders: each holds a `truth.json` and the dumps (any format) of one call.
fn case_dirs(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading the corpus {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("truth.json").is_file())
        .collect();
    out.sort();
    if out.is_empty() {
        anyhow::bail!(
            "{} holds no conference folders with a truth.json; make one with `hopscope simulate --corpus N --out {}`",
            dir.display(),
            dir.display()
        );
    }
    Ok(out)
}

fn from_disk(dir: &Path) -> anyhow::Result<Vec<Case>> {
    let mut cases = Vec::new();
    for d in case_dirs(dir)? {
        let id = d.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let text = std::fs::read_to_string(d.join("truth.json"))?;
        let truth: Truth =
            serde_json::from_str(&text).with_context(|| format!("{}/truth.json", d.display()))?;
        let mut inputs = Vec::new();
        let mut error = None;
        let mut files: Vec<PathBuf> =
            std::fs::read_dir(&d)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
        files.sort();
        for f in files {
            let name = f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if name == "truth.json" || name.ends_with(".yaml") || f.is_dir() {
                continue;
            }
            match hopscope_ingest::ingest_file(&f) {
                Ok(i) => inputs.push(i),
                Err(e) => error = Some(e.to_string()),
            }
        }
        let conference = match error {
            Some(e) => Err(e),
            None => pick(hopscope_ingest::assemble(inputs), &truth),
        };
        cases.push(Case { id, truth, conference });
    }
    Ok(cases)
}

fn generated(n: usize, seed: u64) -> impl Iterator<Item = Case> {
    hopscope_sim::corpus(n, seed).enumerate().map(move |(i, entry)| match entry {
        Ok(entry) => {
            let sim = hopscope_sim::simulate(&entry.scenario);
            let conference = hopscope_ingest::ingest(
                &entry.id,
                sim.combined_with_servers().as_bytes(),
                &hopscope_ingest::Limits::default(),
            )
            .map_err(|e| e.to_string())
            .and_then(|input| pick(hopscope_ingest::assemble(vec![input]), &entry.truth));
            Case { id: entry.id, truth: entry.truth, conference }
        }
        Err(e) => Case {
            id: format!("c-{:04}", i + 1),
            truth: Truth {
                scenario: String::new(),
                conference: String::new(),
                seed,
                topology: hopscope_sim::Topology::P2p,
                duration_s: 0.0,
                participants: Vec::new(),
                servers: Vec::new(),
                faults: Vec::new(),
            },
            conference: Err(e.to_string()),
        },
    })
}

/// The conference the truth describes, out of what the inputs assembled into.
fn pick(mut conferences: Vec<Conference>, truth: &Truth) -> Result<Conference, String> {
    match conferences.iter().position(|c| c.id.as_str() == truth.conference) {
        Some(i) => Ok(conferences.swap_remove(i)),
        None if conferences.len() == 1 => Ok(conferences.remove(0)),
        None => Err(format!(
            "the inputs form {} conferences and none is `{}`",
            conferences.len(),
            truth.conference
        )),
    }
}

/// Whether an engine hop and a truth hop name the same place. Server names are not
/// compared (the engine names servers by address, the simulator by name); a missing or
/// two-way direction is compatible with either way.
fn same_hop(engine: &HopRef, hop: &truth::Hop, direction: Option<truth::Direction>) -> bool {
    let class = match hop.kind {
        truth::HopKind::Endpoint => HopClass::Endpoint,
        truth::HopKind::Access => HopClass::Access,
        truth::HopKind::Sfu => HopClass::Sfu,
        truth::HopKind::Turn => HopClass::Turn,
    };
    let direction_ok = matches!(
        (engine.direction, direction),
        (None | Some(Direction::Both), _)
            | (_, None | Some(truth::Direction::Both))
            | (Some(Direction::Up), Some(truth::Direction::Up))
            | (Some(Direction::Down), Some(truth::Direction::Down))
    );
    engine.class == class
        && direction_ok
        && (hop.participant.is_none()
            || engine.participant.is_none()
            || engine.participant == hop.participant)
}

/// Engine kinds that count as finding a truth kind: a capped downlink shows as loss, an
/// overloaded server as its symptoms.
fn same_kind(engine: FaultKind, truth: truth::FaultKind) -> bool {
    use truth::FaultKind as T;
    match truth {
        T::Loss => engine == FaultKind::Loss,
        T::Jitter => engine == FaultKind::Jitter,
        T::Delay => engine == FaultKind::Delay,
        T::Bandwidth => matches!(engine, FaultKind::Bandwidth | FaultKind::Loss),
        T::Cpu => engine == FaultKind::Cpu,
        T::Connectivity => engine == FaultKind::Connectivity,
        T::TurnAuth => engine == FaultKind::TurnAuth,
        T::SfuOverload => {
            matches!(engine, FaultKind::SfuOverload | FaultKind::Jitter | FaultKind::Delay | FaultKind::Loss)
        }
    }
}

fn kind_of(k: truth::FaultKind) -> FaultKind {
    use truth::FaultKind as T;
    match k {
        T::Loss => FaultKind::Loss,
        T::Jitter => FaultKind::Jitter,
        T::Delay => FaultKind::Delay,
        T::Bandwidth => FaultKind::Bandwidth,
        T::Cpu => FaultKind::Cpu,
        T::Connectivity => FaultKind::Connectivity,
        T::TurnAuth => FaultKind::TurnAuth,
        T::SfuOverload => FaultKind::SfuOverload,
    }
}

/// Whether an engine fault is about the same time as a truth fault.
fn overlaps(f: &Fault, t: &truth::Fault, start_ms: f64) -> bool {
    let from = start_ms + (t.from_s - SLACK_S) * 1000.0;
    let to = start_ms + (t.to_s + SLACK_S) * 1000.0;
    f.from_ms <= to && from <= f.to_ms
}

/// How one truth fault fared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    /// The engine named its hop.
    Right,
    /// It named another hop.
    Wrong,
    /// It listed the hop among undecided candidates.
    Abstained,
    /// Nothing about it.
    Missed,
}

struct CaseOutcome {
    correct: bool,
    lines: Vec<String>,
}

#[derive(Default)]
struct Score {
    conferences: usize,
    healthy: usize,
    false_alarms_healthy: usize,
    errors: usize,
    /// Decidable truth faults: right/wrong/abstained/missed.
    decidable: BTreeMap<&'static str, usize>,
    /// Undecidable ones: abstained with the right candidates, or claimed one of them, or missed.
    undecidable: BTreeMap<&'static str, usize>,
    /// Per kind: (true positives, false negatives, false positives).
    kinds: BTreeMap<&'static str, (usize, usize, usize)>,
}

impl Score {
    fn add(&mut self, truth: &Truth, a: &Attribution, start_ms: f64) -> CaseOutcome {
        self.conferences += 1;
        let mut lines = Vec::new();
        let mut correct = true;
        if truth.faults.is_empty() {
            self.healthy += 1;
            self.false_alarms_healthy += a.faults.len();
            for f in &a.faults {
                correct = false;
                lines.push(format!("+ false alarm: {}", describe(f)));
            }
            return CaseOutcome { correct, lines };
        }
        let mut used = vec![false; a.faults.len()];
        for t in &truth.faults {
            let near: Vec<usize> =
                (0..a.faults.len()).filter(|&i| overlaps(&a.faults[i], t, start_ms)).collect();
            let right = near.iter().copied().find(|&i| {
                a.faults[i].hop.as_ref().is_some_and(|h| same_hop(h, &t.hop, t.direction))
                    && same_kind(a.faults[i].kind, t.kind)
            });
            let listed = near.iter().copied().find(|&i| {
                a.faults[i].hop.is_none()
                    && a.faults[i].candidates.iter().any(|c| same_hop(&c.hop, &t.hop, t.direction))
                    && same_kind(a.faults[i].kind, t.kind)
            });
            let wrong = near
                .iter()
                .copied()
                .find(|&i| same_kind(a.faults[i].kind, t.kind) && a.faults[i].hop.is_some());
            let verdict = match (right, listed, wrong) {
                (Some(i), _, _) => {
                    used[i] = true;
                    Verdict::Right
                }
                (None, Some(i), _) => {
                    used[i] = true;
                    Verdict::Abstained
                }
                (None, None, Some(i)) => {
                    used[i] = true;
                    Verdict::Wrong
                }
                _ => Verdict::Missed,
            };
            // Faults at the same hop and time (other symptoms of this one) are not false alarms.
            for &i in &near {
                if a.faults[i].hop.as_ref().is_some_and(|h| same_hop(h, &t.hop, t.direction)) {
                    used[i] = true;
                }
            }
            // Equivalents that differ only in direction (a round trip cannot say which way
            // was slow) leave the hop itself decidable: naming it without a way is right.
            let decidable = t.equivalent.iter().all(|e| e.hop == t.hop);
            let bucket = if decidable { &mut self.decidable } else { &mut self.undecidable };
            let name = match (verdict, decidable) {
                (Verdict::Right, true) => "right",
                (Verdict::Right, false) => "claimed one of the equivalent hops",
                (Verdict::Abstained, true) => "abstained",
                (Verdict::Abstained, false) => "abstained, rightly",
                (Verdict::Wrong, _) => "wrong hop",
                (Verdict::Missed, _) => "missed",
            };
            *bucket.entry(name).or_default() += 1;
            let k = self.kinds.entry(kind_of(t.kind).as_str()).or_default();
            if matches!(verdict, Verdict::Right | Verdict::Abstained) {
                k.0 += 1;
            } else {
                k.1 += 1;
            }
            // Naming one hop where the data cannot tell it from others is a lucky guess.
            let ok = match verdict {
                Verdict::Right => decidable,
                Verdict::Abstained => !decidable,
                _ => false,
            };
            if !ok {
                correct = false;
                lines.push(format!(
                    "- {} at {} ({:.0}–{:.0} s): {name}",
                    t.kind.as_str(),
                    truth_hop(t),
                    t.from_s,
                    t.to_s
                ));
                for &i in &near {
                    lines.push(format!("    engine: {}", describe(&a.faults[i])));
                }
            }
        }
        for (i, f) in a.faults.iter().enumerate() {
            if !used[i] {
                self.kinds.entry(f.kind.as_str()).or_default().2 += 1;
                correct = false;
                lines.push(format!("+ not in the truth: {}", describe(f)));
            }
        }
        CaseOutcome { correct, lines }
    }

    fn report(&self, elapsed_s: f64) -> Report {
        let get = |m: &BTreeMap<&'static str, usize>, k: &str| m.get(k).copied().unwrap_or(0);
        let decidable: usize = self.decidable.values().sum();
        let undecidable: usize = self.undecidable.values().sum();
        let pct = |a: usize, b: usize| if b == 0 { None } else { Some(100.0 * a as f64 / b as f64) };
        Report {
            conferences: self.conferences,
            healthy: self.healthy,
            errors: self.errors,
            seconds: elapsed_s,
            decidable_faults: decidable,
            top1_accuracy_percent: pct(get(&self.decidable, "right"), decidable),
            decidable_outcomes: self.decidable.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            undecidable_faults: undecidable,
            undecidable_outcomes: self.undecidable.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            abstention_percent: pct(
                get(&self.decidable, "abstained") + get(&self.undecidable, "abstained, rightly"),
                decidable + undecidable,
            ),
            false_alarms_per_100_healthy: pct(self.false_alarms_healthy, self.healthy),
            kinds: self
                .kinds
                .iter()
                .map(|(k, (tp, fn_, fp))| KindScore {
                    kind: k.to_string(),
                    truth: tp + fn_,
                    found: *tp,
                    false_positives: *fp,
                    precision_percent: pct(*tp, tp + fp),
                    recall_percent: pct(*tp, tp + fn_),
                })
                .collect(),
        }
    }
}

fn truth_hop(t: &truth::Fault) -> String {
    let who = t.hop.participant.as_deref().or(t.hop.server.as_deref()).unwrap_or("?");
    let dir = t.direction.map(|d| format!(" {d:?}").to_lowercase()).unwrap_or_default();
    format!("{} {who}{dir}", t.hop.kind.as_str())
}

fn describe(f: &Fault) -> String {
    let hop = match &f.hop {
        Some(h) => h.to_string(),
        None => format!(
            "one of {}",
            f.candidates.iter().map(|c| c.hop.to_string()).collect::<Vec<_>>().join(" / ")
        ),
    };
    format!(
        "{} at {hop} ({} → {}, confidence {:.2})",
        f.kind.as_str(),
        clock(&f.from),
        clock(&f.to),
        f.confidence
    )
}

fn clock(t: &str) -> &str {
    t.get(11..19).unwrap_or(t)
}

/// The scores.
#[derive(Debug, Serialize)]
struct Report {
    conferences: usize,
    healthy: usize,
    errors: usize,
    seconds: f64,
    decidable_faults: usize,
    top1_accuracy_percent: Option<f64>,
    decidable_outcomes: Vec<(String, usize)>,
    undecidable_faults: usize,
    undecidable_outcomes: Vec<(String, usize)>,
    abstention_percent: Option<f64>,
    false_alarms_per_100_healthy: Option<f64>,
    kinds: Vec<KindScore>,
}

#[derive(Debug, Serialize)]
struct KindScore {
    kind: String,
    truth: usize,
    found: usize,
    false_positives: usize,
    precision_percent: Option<f64>,
    recall_percent: Option<f64>,
}

impl Report {
    fn render(&self) -> String {
        let p = |v: Option<f64>| v.map_or("–".to_string(), |x| format!("{x:.1}%"));
        let mut s = String::new();
        s.push_str(&format!(
            "{} conferences ({} healthy) in {:.1} s ({:.1} ms each){}\n",
            self.conferences,
            self.healthy,
            self.seconds,
            1000.0 * self.seconds / self.conferences.max(1) as f64,
            if self.errors > 0 { format!(", {} could not be read", self.errors) } else { String::new() }
        ));
        s.push_str(&format!(
            "top-1 hop accuracy where the data can decide: {} of {} faults\n",
            p(self.top1_accuracy_percent),
            self.decidable_faults
        ));
        for (k, v) in &self.decidable_outcomes {
            s.push_str(&format!("    {k}: {v}\n"));
        }
        s.push_str(&format!("faults the data cannot place (equivalent hops): {}\n", self.undecidable_faults));
        for (k, v) in &self.undecidable_outcomes {
            s.push_str(&format!("    {k}: {v}\n"));
        }
        s.push_str(&format!("abstention rate: {}\n", p(self.abstention_percent)));
        s.push_str(&format!(
            "false alarms per 100 healthy conferences: {}\n",
            p(self.false_alarms_per_100_healthy).trim_end_matches('%')
        ));
        s.push_str("per kind            truth  found  false+  precision  recall\n");
        for k in &self.kinds {
            s.push_str(&format!(
                "  {:16} {:6} {:6} {:7} {:>10} {:>7}\n",
                k.kind,
                k.truth,
                k.found,
                k.false_positives,
                p(k.precision_percent),
                p(k.recall_percent)
            ));
        }
        s
    }
}
