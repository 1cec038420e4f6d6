//! The engine behind the API: inputs in, diagnoses out, and the brief the store indexes.
//! Pure and blocking; the server runs it on blocking threads.

use std::sync::Mutex;

use hopscope_diagnose::{Diagnosis, Options, diagnose_with};
use hopscope_ingest::{Ingested, Limits, assemble, ingest};
use hopscope_model::Conference;
use hopscope_plugin::PluginRules;
use hopscope_rules::finding::Finding;
use hopscope_rules::harness::RuleKind;
use hopscope_rules::view::View;
use hopscope_script::ScriptSet;
use hopscope_store::{FindingRow, Input, Summary};

use crate::rules::AppRules;

/// Diagnoses of some inputs, with the inputs that could not be read.
#[derive(Debug, serde::Serialize)]
pub struct Evaluated {
    /// One per conference found in the inputs.
    pub conferences: Vec<Diagnosis>,
    /// Inputs that could not be read, each with why.
    pub errors: Vec<String>,
    /// Scripts and plugins that failed (a limit, a trap, an error of their own): they gave
    /// no findings, the other rules ran.
    pub rule_errors: Vec<String>,
}

/// Scripts as a rule kind that keeps their failures (the harness's kind keeps findings only).
struct Scripts<'a> {
    set: &'a ScriptSet,
    failures: Mutex<Vec<String>>,
}

impl RuleKind for Scripts<'_> {
    fn kind(&self) -> &str {
        "rhai"
    }
    fn rule_ids(&self) -> Vec<String> {
        self.set.rule_ids()
    }
    fn evaluate(&self, conference: &Conference, view: &View) -> Vec<Finding> {
        self.evaluate_after(conference, view, &[])
    }
    fn evaluate_after(&self, _conference: &Conference, view: &View, earlier: &[Finding]) -> Vec<Finding> {
        let run = self.set.run(view, earlier);
        if let Ok(mut failures) = self.failures.lock() {
            failures.extend(run.errors().map(|e| e.to_string()));
        }
        run.findings
    }
}

/// Reads inputs, joins them into conferences and diagnoses each with an app's rules: YAML,
/// then Rhai scripts, then plugins.
pub fn evaluate(inputs: &[Input], rules: &AppRules, limits: &Limits) -> Evaluated {
    let mut read = Read::default();
    for input in inputs {
        read.add(ingest(&input.name, &input.bytes, limits));
    }
    evaluate_read(read, rules)
}

/// Inputs as ingest read them, in order, and the errors of those it could not read.
#[derive(Debug, Default)]
pub struct Read {
    ingested: Vec<Ingested>,
    errors: Vec<String>,
}

impl Read {
    /// One more input's outcome.
    pub fn add(&mut self, outcome: Result<Ingested, hopscope_ingest::IngestError>) {
        match outcome {
            Ok(i) => self.ingested.push(i),
            Err(e) => self.errors.push(e.to_string()),
        }
    }
}

/// [`evaluate`] of inputs already read.
pub fn evaluate_read(read: Read, rules: &AppRules) -> Evaluated {
    let Read { ingested, errors } = read;
    let scripts = Scripts { set: &rules.scripts, failures: Mutex::new(Vec::new()) };
    let plugins = PluginRules::new(&rules.plugins);
    let mut kinds: Vec<&dyn RuleKind> = Vec::new();
    if !rules.scripts.scripts().is_empty() {
        kinds.push(&scripts);
    }
    if !rules.plugins.is_empty() {
        kinds.push(&plugins);
    }
    let options = Options { rules: &rules.yaml, kinds: &kinds, ..Options::default() };
    let conferences = assemble(ingested).iter().map(|c| diagnose_with(c, &options)).collect();
    let mut rule_errors = scripts.failures.into_inner().unwrap_or_default();
    rule_errors.extend(plugins.errors().into_iter().map(|(plugin, e)| format!("plugin `{plugin}`: {e}")));
    Evaluated { conferences, errors, rule_errors }
}

/// The diagnosis that stands for a stored conference: the one with its id, else the one
/// with the most participants (data that joined nothing else, such as a relay record
/// matching nobody, forms conferences of its own).
pub fn primary(evaluated: Evaluated, id: &str) -> Option<Diagnosis> {
    let mut all = evaluated.conferences;
    if let Some(i) = all.iter().position(|d| d.conference == id) {
        return Some(all.swap_remove(i));
    }
    all.into_iter().max_by_key(|d| d.participants.len())
}

fn epoch_ms(rfc3339: Option<&str>) -> Option<i64> {
    rfc3339.and_then(hopscope_model::Timestamp::parse_rfc3339).map(|t| t.epoch_ms() as i64)
}

/// What the store indexes about a diagnosis.
pub fn summarize(d: &Diagnosis) -> (Summary, Vec<FindingRow>) {
    // Conference MOS: each participant's mean weighted by the time it covers.
    let mos = |pick: fn(&hopscope_score::ParticipantQuality) -> &hopscope_score::StreamSummary| {
        let (mut sum, mut weight) = (0.0, 0.0);
        for p in &d.quality.participants {
            let s = pick(p);
            if let Some(m) = s.mean_mos
                && s.scored_s > 0.0
            {
                sum += m * s.scored_s;
                weight += s.scored_s;
            }
        }
        (weight > 0.0).then(|| (sum / weight * 100.0).round() / 100.0)
    };
    let mut categories: Vec<String> = d.findings.iter().map(|f| f.category_str().to_string()).collect();
    categories.sort();
    categories.dedup();
    let summary = Summary {
        outcome: d.outcome.clone(),
        participants: d.participants.len() as u32,
        started_ms: epoch_ms(d.started_at.as_deref()),
        ended_ms: epoch_ms(d.ended_at.as_deref()),
        duration_s: d.duration_s,
        audio_mos: mos(|p| &p.received.audio),
        video_mos: mos(|p| &p.received.video),
        findings: d.findings.len() as u32,
        categories,
        headline: d.narrative.summary.clone(),
    };
    let findings = d
        .findings
        .iter()
        .map(|f| FindingRow {
            id: f.id.clone(),
            rule: f.rule.clone(),
            severity: f.severity.as_str().to_string(),
            category: f.category_str().to_string(),
            participant: f.scope.participant.clone(),
            raised_ms: f.raised_ms,
            cleared_ms: f.cleared_at.as_ref().map(|_| f.ended_ms),
            message: f.message.clone(),
            actions: f.actions.clone(),
        })
        .collect();
    (summary, findings)
}
