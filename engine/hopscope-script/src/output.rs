//! What a script returns, checked and turned into [`Finding`]s of the same shape YAML
//! rules produce.

use hopscope_rules::catalogue::ValueType;
use hopscope_rules::diagnostic::did_you_mean;
use hopscope_rules::eval::{entity_key, scope_of};
use hopscope_rules::finding::{Evidence, EvidenceValue, Finding, stable_id};
use hopscope_rules::rule::Severity;
use hopscope_rules::view::{Val, View};
use rhai::{Dynamic, Map};

use crate::api::{Entity, clip_name, suggest};
use crate::script::{Meta, parse_severity};

/// Fields a returned finding may have.
const FIELDS: [&str; 8] =
    ["about", "message", "raised", "cleared", "since", "samples", "evidence", "severity"];

/// Turns one returned map into a finding; `Err` says what is wrong with it.
pub(crate) fn finding(meta: &Meta, view: &View, item: Dynamic) -> Result<Finding, String> {
    let type_name = item.type_name();
    let Some(map) = item.try_cast::<Map>() else {
        return Err(format!("expected a map like #{{ about: p, message: \"...\" }}, found {type_name}"));
    };
    if let Some(k) = map.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        let hint = (k.len() <= 64)
            .then(|| did_you_mean(k, FIELDS.iter().copied()))
            .flatten()
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_default();
        return Err(format!("unknown field `{}`{hint} (fields: {})", clip_name(k), FIELDS.join(", ")));
    }
    let about = map
        .get("about")
        .and_then(|d| d.clone().try_cast::<Entity>())
        .ok_or("`about` must be the entity the finding is about (a participant, stream, ...)")?;
    if !about.valid_in(view) {
        return Err("`about` is an entity of another conference".into());
    }
    if about.scope() != meta.scope {
        return Err(format!(
            "`about` is a {}, but the rule's scope is {}",
            about.scope().as_str(),
            meta.scope.as_str()
        ));
    }
    let message = match map.get("message") {
        Some(m) if m.is_string() => m.to_string(),
        _ => return Err("`message` must be text".into()),
    };
    if message.trim().is_empty() {
        return Err("`message` is empty".into());
    }
    let last = view.ticks.len().checked_sub(1).ok_or("the call has no ticks")?;
    let tick = |key: &str| -> Result<Option<usize>, String> {
        match map.get(key) {
            None => Ok(None),
            Some(d) if d.is_unit() => Ok(None),
            Some(d) => {
                let t = d
                    .as_int()
                    .map_err(|_| format!("`{key}` must be a tick (an integer), found {}", d.type_name()))?;
                usize::try_from(t)
                    .ok()
                    .filter(|t| *t <= last)
                    .map(Some)
                    .ok_or(format!("`{key}` is tick {t}, outside the call (ticks 0 to {last})"))
            }
        }
    };
    let raised = tick("raised")?.unwrap_or(0);
    let cleared = tick("cleared")?;
    let since = tick("since")?.unwrap_or(raised);
    let end = cleared.unwrap_or(last);
    if since > raised || raised > end {
        return Err(format!("ticks out of order: since {since}, raised {raised}, end {end}"));
    }
    let samples = match map.get("samples") {
        None => end - since + 1,
        Some(d) => d
            .as_int()
            .ok()
            .and_then(|n| usize::try_from(n).ok())
            .ok_or("`samples` must be a count (an integer ≥ 0)")?,
    };
    let severity: Severity = match map.get("severity") {
        None => meta.severity,
        Some(d) => {
            let s = d.clone().into_string().map_err(|_| "`severity` must be text".to_string())?;
            parse_severity(&s).ok_or(format!("unknown severity `{s}` (info, warning, error, critical)"))?
        }
    };
    let names: Vec<String> = match map.get("evidence") {
        None => Vec::new(),
        Some(d) => {
            let list = d.clone().into_typed_array::<rhai::ImmutableString>().map_err(|_| {
                "`evidence` must be an array of metric names, like [\"loss_percent\"]".to_string()
            })?;
            list.iter().map(|s| s.to_string()).collect()
        }
    };
    let ticks = &view.ticks;
    let at = |t: usize| view.tick_time(t).to_string();
    let mut evidence = Vec::new();
    let mut peak = Vec::new();
    for n in &names {
        let Some((m, def)) = meta.scope.metric(n) else {
            return Err(format!("unknown metric `{}` in `evidence`{}", clip_name(n), suggest(n, meta.scope)));
        };
        if let Some(value) = evidence_value(view.value(about.0, m, raised)) {
            evidence.push(Evidence { metric: def.name.into(), value, unit: def.unit.into(), at: at(raised) });
        }
        // The largest value while it lasted: scripts say in the message which way is worse.
        if matches!(def.ty, ValueType::Number(_)) {
            let top = (raised..=end)
                .filter_map(|t| match view.value(about.0, m, t) {
                    Val::Num(v) => Some((v, t)),
                    _ => None,
                })
                .reduce(|a, b| if b.0 > a.0 { b } else { a });
            if let Some((v, t)) = top {
                peak.push(Evidence {
                    metric: def.name.into(),
                    value: EvidenceValue::Num(v),
                    unit: def.unit.into(),
                    at: at(t),
                });
            }
        }
    }
    let raised_at = at(raised);
    Ok(Finding {
        id: stable_id(&[&meta.id, &meta.version.to_string(), &entity_key(view, about.0), &raised_at]),
        rule: meta.id.clone(),
        rule_version: meta.version,
        severity,
        category: meta.category,
        scope: scope_of(view, about.0, meta.scope),
        condition_since: at(since),
        raised_at,
        cleared_at: cleared.map(at),
        open_at_end: cleared.is_none(),
        duration_s: ticks[end].seconds_since(ticks[since]),
        samples,
        evidence,
        peak,
        message,
        actions: meta.actions.clone(),
        raised_ms: ticks[raised].epoch_ms(),
        ended_ms: ticks[end].epoch_ms(),
    })
}

fn evidence_value(v: Val) -> Option<EvidenceValue> {
    Some(match v {
        Val::Num(n) => EvidenceValue::Num(n),
        Val::Bool(b) => EvidenceValue::Bool(b),
        Val::Text(t) => EvidenceValue::Text(t.to_string()),
        Val::Missing => return None,
    })
}
