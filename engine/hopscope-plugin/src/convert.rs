//! A plugin's findings, checked and turned into the engine's [`Finding`]s. Everything a
//! plugin returns is untrusted: indices are bounds-checked, times must fall on the
//! conference's span, rules must be declared, strings and lists are capped.

use hopscope_model::Timestamp;
use hopscope_rules::catalogue::Scope;
use hopscope_rules::finding::{Evidence, EvidenceValue, Finding, FindingScope, stable_id};
use hopscope_rules::rule::{Category, Severity};
use hopscope_rules::view::{EntityRef, View};

use crate::bindings::hopscope::plugin::types as wit;
use crate::error::PluginError;
use crate::host::Limits;
use crate::manifest::Manifest;

pub(crate) fn severity_from_wit(s: wit::Severity) -> Severity {
    match s {
        wit::Severity::Info => Severity::Info,
        wit::Severity::Warning => Severity::Warning,
        wit::Severity::Error => Severity::Error,
        wit::Severity::Critical => Severity::Critical,
    }
}

pub(crate) fn severity_to_wit(s: Severity) -> wit::Severity {
    match s {
        Severity::Info => wit::Severity::Info,
        Severity::Warning => wit::Severity::Warning,
        Severity::Error => wit::Severity::Error,
        Severity::Critical => wit::Severity::Critical,
    }
}

/// The two category lists are the same list; this pair of matches keeps them so.
pub(crate) fn category_from_wit(c: wit::Category) -> Category {
    match c {
        wit::Category::Browser => Category::Browser,
        wit::Category::UserMedia => Category::UserMedia,
        wit::Category::Ice => Category::Ice,
        wit::Category::Negotiation => Category::Negotiation,
        wit::Category::Bandwidth => Category::Bandwidth,
        wit::Category::PacketLoss => Category::PacketLoss,
        wit::Category::Jitter => Category::Jitter,
        wit::Category::Delay => Category::Delay,
        wit::Category::IspRegion => Category::IspRegion,
        wit::Category::Turn => Category::Turn,
        wit::Category::Sfu => Category::Sfu,
        wit::Category::Cpu => Category::Cpu,
        wit::Category::Quality => Category::Quality,
        wit::Category::Media => Category::Media,
        wit::Category::CallOutcome => Category::CallOutcome,
    }
}

pub(crate) fn category_to_wit(c: Category) -> wit::Category {
    match c {
        Category::Browser => wit::Category::Browser,
        Category::UserMedia => wit::Category::UserMedia,
        Category::Ice => wit::Category::Ice,
        Category::Negotiation => wit::Category::Negotiation,
        Category::Bandwidth => wit::Category::Bandwidth,
        Category::PacketLoss => wit::Category::PacketLoss,
        Category::Jitter => wit::Category::Jitter,
        Category::Delay => wit::Category::Delay,
        Category::IspRegion => wit::Category::IspRegion,
        Category::Turn => wit::Category::Turn,
        Category::Sfu => wit::Category::Sfu,
        Category::Cpu => wit::Category::Cpu,
        Category::Quality => wit::Category::Quality,
        Category::Media => wit::Category::Media,
        Category::CallOutcome => wit::Category::CallOutcome,
    }
}

fn bad(reason: String) -> PluginError {
    PluginError::BadOutput { reason }
}

fn too_large(what: String) -> PluginError {
    PluginError::OutputTooLarge { what }
}

fn check_len(what: &str, s: &str, max: usize) -> Result<(), PluginError> {
    if s.len() > max {
        Err(too_large(format!("{what} of {} bytes (at most {max})", s.len())))
    } else {
        Ok(())
    }
}

fn in_range(what: &str, i: u32, len: usize) -> Result<usize, PluginError> {
    let i = i as usize;
    if i < len { Ok(i) } else { Err(bad(format!("{what} {i} does not exist (the conference has {len})"))) }
}

/// What a finding about `subject` is about, as the YAML rules word it; the index is checked
/// first (a plugin's numbers are untrusted).
fn scope_of(view: &View, subject: wit::Subject) -> Result<FindingScope, PluginError> {
    let (entity, scope) = match subject {
        wit::Subject::Conference => (EntityRef::Conference, Scope::Conference),
        wit::Subject::Participant(i) => {
            (EntityRef::Participant(in_range("participant", i, view.participants.len())?), Scope::Participant)
        }
        wit::Subject::PeerConnection(i) => {
            (EntityRef::Pc(in_range("peer connection", i, view.pcs.len())?), Scope::PeerConnection)
        }
        wit::Subject::Stream(i) => {
            (EntityRef::Stream(in_range("stream", i, view.streams.len())?), Scope::Stream)
        }
        wit::Subject::Hop(i) => (EntityRef::Hop(in_range("hop", i, view.hops.len())?), Scope::Hop),
    };
    Ok(hopscope_rules::eval::scope_of(view, entity, scope))
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// Checks a proposed action and words it as the engine's findings carry actions.
fn action(view: &View, a: wit::Action, limits: &Limits) -> Result<String, PluginError> {
    Ok(match a {
        wit::Action::Notify(name) => {
            if !is_name(&name) {
                return Err(bad(format!(
                    "callback name {:?} is not 1-64 lowercase letters, digits, `-` or `_`",
                    crate::manifest::truncate(&name, 80)
                )));
            }
            name
        }
        wit::Action::RestartIce(pc) => {
            let i = in_range("peer connection", pc, view.pcs.len())?;
            format!("restart-ice:{}/{}", view.pcs[i].participant_id, view.pcs[i].id)
        }
        wit::Action::CapBitrate(cap) => {
            let i = in_range("stream", cap.stream, view.streams.len())?;
            let a = &view.streams[i].attrs;
            if &*a.direction != "outbound" {
                return Err(bad(format!("cap-bitrate on stream {i}, which is not an outbound stream")));
            }
            if !(1..=100_000).contains(&cap.max_kbps) {
                return Err(bad(format!("cap-bitrate to {} kbit/s (1 to 100000)", cap.max_kbps)));
            }
            format!(
                "cap-bitrate:{}/{}/{}:{}kbps",
                a.participant,
                a.peer_connection,
                a.ssrc.unwrap_or(0),
                cap.max_kbps
            )
        }
        wit::Action::Advise(advice) => {
            let i = in_range("participant", advice.participant, view.participants.len())?;
            check_len("advice", &advice.text, limits.max_string_bytes)?;
            if advice.text.trim().is_empty() {
                return Err(bad("empty advice".into()));
            }
            format!("advise:{}:{}", view.participants[i].id, advice.text)
        }
    })
}

/// One plugin finding, checked.
pub(crate) fn finding(
    f: wit::Finding,
    view: &View,
    manifest: &Manifest,
    limits: &Limits,
) -> Result<Finding, PluginError> {
    let max = limits.max_string_bytes;
    check_len("a rule id", &f.rule, max)?;
    let Some(rule) = manifest.rules.iter().find(|r| r.id == f.rule) else {
        return Err(bad(format!(
            "a finding of rule `{}`, which the manifest does not declare",
            crate::manifest::truncate(&f.rule, 80)
        )));
    };
    if f.version != rule.version {
        return Err(bad(format!(
            "rule `{}` version {} (the manifest declares {})",
            rule.id, f.version, rule.version
        )));
    }
    check_len("a message", &f.message, max)?;
    if f.message.trim().is_empty() {
        return Err(bad(format!("rule `{}`: empty message", rule.id)));
    }
    if f.evidence.len() > limits.max_evidence {
        return Err(too_large(format!(
            "{} evidence entries (at most {})",
            f.evidence.len(),
            limits.max_evidence
        )));
    }
    if f.actions.len() > limits.max_actions {
        return Err(too_large(format!("{} actions (at most {})", f.actions.len(), limits.max_actions)));
    }
    let (Some(first), Some(last)) = (view.ticks.first(), view.ticks.last()) else {
        return Err(bad("a finding on a conference without data".into()));
    };
    let (start, end) = (first.epoch_ms() - view.step_ms, last.epoch_ms() + view.step_ms);
    let on_span = |what: &str, ms: f64| -> Result<Timestamp, PluginError> {
        if !ms.is_finite() || ms < start || ms > end {
            return Err(bad(format!("{what} {ms} ms is off the conference's span ({start} to {end})")));
        }
        Timestamp::from_epoch_ms(ms).ok_or_else(|| bad(format!("{what} {ms} ms is not a time")))
    };
    let raised = on_span("raised at", f.raised_ms)?;
    let cleared = f.cleared_ms.map(|c| on_span("cleared at", c)).transpose()?;
    if let Some(c) = cleared
        && c < raised
    {
        return Err(bad(format!("rule `{}`: cleared before it was raised", rule.id)));
    }
    let scope = scope_of(view, f.subject)?;
    let mut evidence = Vec::with_capacity(f.evidence.len());
    for e in f.evidence {
        check_len("an evidence metric name", &e.metric, 64)?;
        check_len("an evidence unit", &e.unit, 16)?;
        let at = on_span("evidence at", e.at_ms)?;
        let value = match e.value {
            wit::Value::Number(n) if n.is_finite() => EvidenceValue::Num(n),
            wit::Value::Number(n) => return Err(bad(format!("evidence `{}` is {n}", e.metric))),
            wit::Value::Flag(b) => EvidenceValue::Bool(b),
            wit::Value::Text(t) => {
                check_len("an evidence text", &t, max)?;
                EvidenceValue::Text(t)
            }
        };
        evidence.push(Evidence { metric: e.metric, value, unit: e.unit, at: at.to_rfc3339() });
    }
    let mut actions = Vec::with_capacity(f.actions.len());
    for a in f.actions {
        actions.push(action(view, a, limits)?);
    }
    let ended = cleared.unwrap_or(*last);
    let raised_at = raised.to_rfc3339();
    let samples = view.ticks.iter().filter(|t| **t >= raised && **t <= ended).count();
    Ok(Finding {
        id: stable_id(&[
            "wasm",
            &manifest.name,
            &rule.id,
            &rule.version.to_string(),
            &scope.describe(),
            &raised_at,
        ]),
        rule: rule.id.clone(),
        rule_version: rule.version,
        severity: severity_from_wit(f.severity),
        category: category_from_wit(f.category),
        scope,
        condition_since: raised_at.clone(),
        raised_at,
        cleared_at: cleared.map(|c| c.to_rfc3339()),
        open_at_end: cleared.is_none(),
        duration_s: ended.seconds_since(raised).max(0.0),
        samples,
        peak: evidence.clone(),
        evidence,
        message: f.message,
        actions,
        raised_ms: raised.epoch_ms(),
        ended_ms: ended.epoch_ms(),
    })
}
