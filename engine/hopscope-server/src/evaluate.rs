//! The engine behind the API: inputs in, diagnoses out, and the brief the store indexes.
//! Pure and blocking; the server runs it on blocking threads.

use hopscope_diagnose::{Diagnosis, Options, diagnose_with};
use hopscope_ingest::{Ingested, Limits, assemble, ingest};
use hopscope_rules::rule::Rule;
use hopscope_store::{FindingRow, Input, Summary};

/// Diagnoses of some inputs, with the inputs that could not be read.
#[derive(Debug, serde::Serialize)]
pub struct Evaluated {
    /// One per conference found in the inputs.
    pub conferences: Vec<Diagnosis>,
    /// Inputs that could not be read, each with why.
    pub errors: Vec<String>,
}

/// Reads inputs, joins them into conferences and diagnoses each with `rules`.
pub fn evaluate(inputs: &[Input], rules: &[Rule], limits: &Limits) -> Evaluated {
    let mut ingested: Vec<Ingested> = Vec::new();
    let mut errors = Vec::new();
    for input in inputs {
        match ingest(&input.name, &input.bytes, limits) {
            Ok(i) => ingested.push(i),
            Err(e) => errors.push(e.to_string()),
        }
    }
    let options = Options { rules, ..Options::default() };
    let conferences = assemble(ingested).iter().map(|c| diagnose_with(c, &options)).collect();
    Evaluated { conferences, errors }
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
