//! Message templates: `"{participant} lost {loss_percent} of audio from {sender} for {duration}"`.
//!
//! Fields are checked against the scope's catalogue when the rule loads, so rendering can
//! never fail: a value that is missing at render time prints as `unknown`.
//! Syntax: `{metric}` (the value when the finding was raised, with its unit),
//! `{max:metric}` / `{min:metric}` (the extreme while it lasted), `{metric:.1}` (one
//! decimal), `{metric:raw}` (no unit), `{duration}`, `{since}`, `{rule}`, `{severity}`;
//! `{sender|the other side}` (text to print when the value is missing); `{{` and `}}` are
//! literal braces.

use crate::catalogue::{MetricId, Scope, ValueType};
use crate::diagnostic::did_you_mean;

/// Which value of a metric a field shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pick {
    /// When raised.
    AtRaise,
    /// The largest while the finding lasted.
    Max,
    /// The smallest while it lasted.
    Min,
}

/// How to format a number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A sensible precision for the value, with the unit.
    Auto,
    /// Fixed decimals, with the unit.
    Decimals(u8),
    /// The bare number.
    Raw,
}

/// A piece of a template.
#[derive(Clone, Debug, PartialEq)]
pub enum Part {
    /// Text as written.
    Text(String),
    /// A metric's value, and what to print when it is missing.
    Metric(MetricId, Pick, Format, Option<String>),
    /// How long the finding lasted.
    Duration,
    /// When it was raised.
    Since,
    /// The rule id.
    Rule,
    /// The severity.
    Severity,
}

/// A checked template.
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    /// The source text.
    pub source: String,
    /// The pieces.
    pub parts: Vec<Part>,
}

/// A template problem, with the byte offset of the field.
#[derive(Clone, Debug, PartialEq)]
pub struct TemplateError {
    /// What.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
    /// Byte offset in the template.
    pub offset: usize,
}

const SPECIALS: [&str; 4] = ["duration", "since", "rule", "severity"];

/// Parses and checks a template for `scope`.
pub fn compile(source: &str, scope: Scope) -> Result<Template, TemplateError> {
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut chars = source.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '{' if matches!(chars.peek(), Some((_, '{'))) => {
                chars.next();
                text.push('{');
            }
            '}' if matches!(chars.peek(), Some((_, '}'))) => {
                chars.next();
                text.push('}');
            }
            '}' => {
                return Err(TemplateError {
                    message: "unmatched `}`".into(),
                    help: Some("write `}}` for a literal brace".into()),
                    offset: i,
                });
            }
            '{' => {
                let mut field = String::new();
                let mut closed = false;
                for (_, c) in chars.by_ref() {
                    if c == '}' {
                        closed = true;
                        break;
                    }
                    field.push(c);
                }
                if !closed {
                    return Err(TemplateError {
                        message: "unclosed `{`".into(),
                        help: Some("write `{{` for a literal brace".into()),
                        offset: i,
                    });
                }
                if !text.is_empty() {
                    parts.push(Part::Text(std::mem::take(&mut text)));
                }
                parts.push(field_part(field.trim(), scope).map_err(|(message, help)| TemplateError {
                    message,
                    help,
                    offset: i,
                })?);
            }
            c => text.push(c),
        }
    }
    if !text.is_empty() {
        parts.push(Part::Text(text));
    }
    Ok(Template { source: source.to_string(), parts })
}

fn field_part(field: &str, scope: Scope) -> Result<Part, (String, Option<String>)> {
    let (field, fallback) = match field.split_once('|') {
        Some((f, fb)) => (f.trim(), Some(fb.to_string())),
        None => (field, None),
    };
    let (pick, rest) = match field.split_once(':') {
        Some(("max", rest)) => (Pick::Max, rest),
        Some(("min", rest)) => (Pick::Min, rest),
        _ => (Pick::AtRaise, field),
    };
    let (name, format) = match rest.split_once(':') {
        Some((name, "raw")) => (name, Format::Raw),
        Some((name, spec)) => {
            match spec.strip_prefix('.').and_then(|d| d.parse::<u8>().ok()).filter(|d| *d <= 6) {
                Some(d) => (name, Format::Decimals(d)),
                None => {
                    return Err((
                        format!("unknown format `{spec}` in `{{{field}}}`"),
                        Some("use `.N` (N decimals, up to 6) or `raw`".into()),
                    ));
                }
            }
        }
        None => (rest, Format::Auto),
    };
    match name {
        "duration" if pick == Pick::AtRaise => return Ok(Part::Duration),
        "since" if pick == Pick::AtRaise => return Ok(Part::Since),
        "rule" if pick == Pick::AtRaise => return Ok(Part::Rule),
        "severity" if pick == Pick::AtRaise => return Ok(Part::Severity),
        _ => {}
    }
    let Some((id, def)) = scope.metric(name) else {
        let candidates = scope.metrics().iter().map(|m| m.name).chain(SPECIALS);
        return Err((
            format!("unknown field `{{{field}}}`: the {} scope has no `{name}`", scope.as_str()),
            Some(match did_you_mean(name, candidates) {
                Some(s) => format!("did you mean `{{{s}}}`?"),
                None => format!("`hopscope rules metrics {}` lists the fields", scope.as_str()),
            }),
        ));
    };
    if pick != Pick::AtRaise && !matches!(def.ty, ValueType::Number(_)) {
        return Err((
            format!("`{{{field}}}`: max/min need a numeric field, `{name}` is {}", def.ty.describe()),
            None,
        ));
    }
    if format != Format::Auto && !matches!(def.ty, ValueType::Number(_)) {
        return Err((
            format!("`{{{field}}}`: number formats apply to numbers, `{name}` is {}", def.ty.describe()),
            None,
        ));
    }
    Ok(Part::Metric(id, pick, format, fallback))
}

/// Formats a number with its unit. Durations (canonical ms) pick a readable unit.
pub fn format_number(value: f64, unit: &str, format: Format) -> String {
    if unit == "ms" && format == Format::Auto {
        let a = value.abs();
        let (v, u) = if a < 1000.0 {
            (value, "ms")
        } else if a < 120_000.0 {
            (value / 1000.0, "s")
        } else if a < 7_200_000.0 {
            (value / 60_000.0, "min")
        } else if a < 172_800_000.0 {
            (value / 3_600_000.0, "h")
        } else {
            (value / 86_400_000.0, "days")
        };
        let n = if u == "ms" || v.abs() >= 100.0 { format!("{v:.0}") } else { format!("{v:.1}") };
        return format!("{n} {u}");
    }
    let number = match format {
        Format::Raw => return trim(value),
        Format::Decimals(d) => format!("{value:.*}", usize::from(d)),
        Format::Auto => {
            let a = value.abs();
            if a >= 100.0 || a == a.trunc() {
                format!("{value:.0}")
            } else if a >= 10.0 {
                format!("{value:.1}")
            } else {
                format!("{value:.2}")
            }
        }
    };
    match unit {
        "" => number,
        "%" => format!("{number}%"),
        u => format!("{number} {u}"),
    }
}

fn trim(v: f64) -> String {
    if v == v.trunc() && v.abs() < 1e15 { format!("{v:.0}") } else { format!("{v}") }
}

/// Formats seconds for people: `45 s`, `3 min 20 s`, `1 h 5 min`.
pub fn format_duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    if s < 60 {
        format!("{s} s")
    } else if s < 3600 {
        if s.is_multiple_of(60) { format!("{} min", s / 60) } else { format!("{} min {} s", s / 60, s % 60) }
    } else {
        format!("{} h {} min", s / 3600, (s % 3600) / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_checked_when_compiling() {
        let t = compile("{participant} lost {max:loss_percent:.1} for {duration} {{ok}}", Scope::Stream)
            .expect("compiles");
        assert_eq!(t.parts.len(), 6);
        let t = compile("from {sender|the other side}", Scope::Stream).expect("compiles");
        assert!(
            matches!(&t.parts[1], Part::Metric(_, Pick::AtRaise, Format::Auto, Some(f)) if f == "the other side")
        );
        let e = compile("{participnat} lost", Scope::Stream).expect_err("typo");
        assert_eq!(e.help.as_deref(), Some("did you mean `{participant}`?"));
        assert!(compile("{ice_state}", Scope::Stream).is_err());
        assert!(compile("{max:kind}", Scope::Stream).is_err());
        assert!(compile("{loss_percent:%d}", Scope::Stream).is_err());
        assert!(compile("unclosed {loss_percent", Scope::Stream).is_err());
    }

    #[test]
    fn numbers_render_with_units() {
        assert_eq!(format_number(412.3, "ms", Format::Auto), "412 ms");
        assert_eq!(format_number(5.234, "%", Format::Auto), "5.23%");
        assert_eq!(format_number(5.234, "%", Format::Decimals(1)), "5.2%");
        assert_eq!(format_number(5.0, "%", Format::Raw), "5");
        assert_eq!(format_duration(200.0), "3 min 20 s");
        assert_eq!(format_number(7200.0, "ms", Format::Auto), "7.2 s");
        assert_eq!(format_number(400.0 * 86_400_000.0, "ms", Format::Auto), "400 days");
    }
}
