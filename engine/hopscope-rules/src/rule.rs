//! Rules as written in YAML, read and checked into [`Rule`]s with every problem reported
//! at its `file:line:col`.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use crate::catalogue::{MetricId, Scope, ValueType};
use crate::diagnostic::{Code, Diagnostic, Position, did_you_mean};
use crate::lang::ast::{Expr, Span};
use crate::lang::check::{self, Constness, Params, TExpr, constness};
use crate::lang::parser;
use crate::template::{self, Template};
use crate::yaml::{Node, NodeKind};

/// How serious a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Degraded experience.
    Warning,
    /// Broken experience.
    Error,
    /// The call failed.
    Critical,
}

impl Severity {
    /// The YAML spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Critical => "critical",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "info" => Severity::Info,
            "warning" => Severity::Warning,
            "error" => Severity::Error,
            "critical" => Severity::Critical,
            _ => return None,
        })
    }
}

/// What kind of problem, as support sorts failures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    /// Browser or endpoint version.
    Browser,
    /// getUserMedia / getDisplayMedia errors.
    UserMedia,
    /// ICE connectivity.
    Ice,
    /// Signalling and negotiation.
    Negotiation,
    /// Available bandwidth.
    Bandwidth,
    /// Packet loss.
    PacketLoss,
    /// Jitter.
    Jitter,
    /// Delay / round-trip time.
    Delay,
    /// An ISP or region.
    IspRegion,
    /// A TURN relay.
    Turn,
    /// A media server.
    Sfu,
    /// CPU, encoder or decoder.
    Cpu,
    /// Perceived quality (MOS).
    Quality,
    /// Media not flowing.
    Media,
    /// The call's outcome.
    CallOutcome,
}

impl Category {
    /// Every category.
    pub const ALL: [Category; 15] = [
        Category::Browser,
        Category::UserMedia,
        Category::Ice,
        Category::Negotiation,
        Category::Bandwidth,
        Category::PacketLoss,
        Category::Jitter,
        Category::Delay,
        Category::IspRegion,
        Category::Turn,
        Category::Sfu,
        Category::Cpu,
        Category::Quality,
        Category::Media,
        Category::CallOutcome,
    ];

    /// The YAML spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Browser => "browser",
            Category::UserMedia => "user-media",
            Category::Ice => "ice",
            Category::Negotiation => "negotiation",
            Category::Bandwidth => "bandwidth",
            Category::PacketLoss => "packet-loss",
            Category::Jitter => "jitter",
            Category::Delay => "delay",
            Category::IspRegion => "isp-region",
            Category::Turn => "turn",
            Category::Sfu => "sfu",
            Category::Cpu => "cpu",
            Category::Quality => "quality",
            Category::Media => "media",
            Category::CallOutcome => "call-outcome",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Category::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// Anti-flap timing.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Timing {
    /// The condition must hold this long before the finding is raised, ms.
    pub for_ms: f64,
    /// Once firing, stay firing this long after the condition stops holding, ms.
    pub keep_firing_for_ms: f64,
    /// Raise when at least `n` of the last `m` samples hold.
    pub samples: Option<(u32, u32)>,
}

/// Where a rule was defined.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Origin {
    /// File.
    pub file: Arc<str>,
    /// Where its entry starts.
    pub position: Position,
}

/// A checked rule.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// Unique id.
    pub id: String,
    /// Bumped when the meaning changes.
    pub version: u32,
    /// What it detects, for people.
    pub description: String,
    /// What it is about.
    pub scope: Scope,
    /// Which entities it applies to (`where:`).
    pub filter: Option<TExpr>,
    /// When it fires.
    pub condition: TExpr,
    /// When it clears, if different from the condition no longer holding (hysteresis).
    pub clear: Option<TExpr>,
    /// Anti-flap timing.
    pub timing: Timing,
    /// Severity.
    pub severity: Severity,
    /// Category.
    pub category: Category,
    /// The message.
    pub message: Template,
    /// Callbacks to trigger (names configured per app).
    pub actions: Vec<String>,
    /// Parameter values after overrides.
    pub params: BTreeMap<String, String>,
    /// Where the thresholds come from.
    pub source: Option<String>,
    /// Metrics the condition reads: recorded as evidence.
    pub evidence: Vec<MetricId>,
    /// Where it was defined.
    pub origin: Origin,
}

/// Keys a rule may have.
const RULE_KEYS: [&str; 17] = [
    "id",
    "version",
    "description",
    "scope",
    "where",
    "condition",
    "clear",
    "for",
    "keep_firing_for",
    "samples",
    "severity",
    "category",
    "message",
    "actions",
    "params",
    "source",
    "enabled",
];

/// Overrides users apply without editing a pack.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Override {
    /// Turn the rule off (or back on).
    pub enabled: Option<bool>,
    /// Replace parameter values.
    pub params: BTreeMap<String, String>,
    /// Replace the severity.
    pub severity: Option<Severity>,
}

/// Reads the rules of one file. Returns the rules that check cleanly and every
/// diagnostic; a bad rule never stops the others from being read.
pub fn read_file(
    file: &Arc<str>,
    root: &Node,
    overrides: &BTreeMap<String, Override>,
) -> (Vec<Rule>, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let mut rules = Vec::new();
    let NodeKind::Map(entries) = &root.kind else {
        diags.push(Diagnostic::error(
            Code::H202,
            file,
            root.pos,
            format!("expected a mapping with `rules:`, found {}", root.shape()),
        ));
        return (rules, diags);
    };
    let mut list = None;
    for (k, v) in entries {
        match k.as_str() {
            Some("rules") => list = Some(v),
            Some(other) => diags.push(
                Diagnostic::error(Code::H204, file, k.pos, format!("unknown top-level key `{other}`"))
                    .with_help("a rule file has one key, `rules:`"),
            ),
            None => diags.push(Diagnostic::error(Code::H202, file, k.pos, "keys must be plain names")),
        }
    }
    let Some(list) = list else {
        diags.push(Diagnostic::error(Code::H203, file, root.pos, "missing `rules:`"));
        return (rules, diags);
    };
    let NodeKind::Seq(items) = &list.kind else {
        diags.push(Diagnostic::error(
            Code::H202,
            file,
            list.pos,
            format!("`rules` must be a list, found {}", list.shape()),
        ));
        return (rules, diags);
    };
    for item in items {
        match read_rule(file, item, overrides) {
            Ok(Some(rule)) => rules.push(rule),
            Ok(None) => {}
            Err(mut ds) => diags.append(&mut ds),
        }
    }
    (rules, diags)
}

/// One rule's fields, as nodes.
struct Fields<'a> {
    map: BTreeMap<&'a str, &'a Node>,
}

impl<'a> Fields<'a> {
    fn get(&self, key: &str) -> Option<&'a Node> {
        self.map.get(key).copied()
    }
}

fn scalar<'a>(file: &Arc<str>, node: &'a Node, what: &str) -> Result<&'a str, Diagnostic> {
    node.as_str().ok_or_else(|| {
        Diagnostic::error(
            Code::H202,
            file,
            node.pos,
            format!("`{what}` must be a single value, found {}", node.shape()),
        )
    })
}

/// Reads one rule; `Ok(None)` when it is disabled.
fn read_rule(
    file: &Arc<str>,
    node: &Node,
    overrides: &BTreeMap<String, Override>,
) -> Result<Option<Rule>, Vec<Diagnostic>> {
    let NodeKind::Map(entries) = &node.kind else {
        return Err(vec![Diagnostic::error(
            Code::H202,
            file,
            node.pos,
            format!("a rule must be a mapping, found {}", node.shape()),
        )]);
    };
    let mut diags = Vec::new();
    let mut fields = Fields { map: BTreeMap::new() };
    for (k, v) in entries {
        let Some(key) = k.as_str() else {
            diags.push(Diagnostic::error(Code::H202, file, k.pos, "keys must be plain names"));
            continue;
        };
        if !RULE_KEYS.contains(&key) {
            let mut d = Diagnostic::error(Code::H204, file, k.pos, format!("unknown rule field `{key}`"));
            if let Some(s) = did_you_mean(key, RULE_KEYS.into_iter()) {
                d = d.with_help(format!("did you mean `{s}`?"));
            }
            diags.push(d);
            continue;
        }
        if fields.map.insert(key, v).is_some() {
            diags.push(Diagnostic::error(Code::H202, file, k.pos, format!("`{key}` is given twice")));
        }
    }
    let id = match fields.get("id").map(|n| scalar(file, n, "id")) {
        Some(Ok(id)) if valid_id(id) => id.to_string(),
        Some(Ok(id)) => {
            diags.push(
                Diagnostic::error(
                    Code::H202,
                    file,
                    fields.get("id").map_or(node.pos, |n| n.pos),
                    format!("invalid rule id `{id}`"),
                )
                .with_help("ids use lower-case letters, digits, `-` and `_`, e.g. `high-audio-loss`"),
            );
            return Err(diags);
        }
        Some(Err(d)) => {
            diags.push(d);
            return Err(diags);
        }
        None => {
            diags.push(Diagnostic::error(Code::H203, file, node.pos, "a rule needs an `id`"));
            return Err(diags);
        }
    };
    let tag = |d: Diagnostic| d.in_rule(&id);
    let over = overrides.get(&id).cloned().unwrap_or_default();
    let enabled = match fields.get("enabled").map(|n| scalar(file, n, "enabled")) {
        Some(Ok("true")) | None => true,
        Some(Ok("false")) => false,
        Some(Ok(other)) => {
            diags.push(tag(Diagnostic::error(
                Code::H202,
                file,
                fields.get("enabled").map_or(node.pos, |n| n.pos),
                format!("`enabled` must be true or false, not `{other}`"),
            )));
            true
        }
        Some(Err(d)) => {
            diags.push(tag(d));
            true
        }
    };
    // Read on even when disabled, so a disabled rule is still validated.
    let version = match fields.get("version") {
        None => 1,
        Some(n) => match scalar(file, n, "version").map(|s| s.parse::<u32>()) {
            Ok(Ok(v)) if v > 0 => v,
            _ => {
                diags.push(tag(Diagnostic::error(
                    Code::H211,
                    file,
                    n.pos,
                    "`version` must be a positive whole number",
                )));
                1
            }
        },
    };
    let description = fields.get("description").and_then(Node::as_str).unwrap_or_default().trim().to_string();
    let scope = match fields.get("scope") {
        None => {
            diags.push(tag(Diagnostic::error(Code::H203, file, node.pos, "a rule needs a `scope`")
                .with_help("one of: stream, peer_connection, participant, hop, conference")));
            None
        }
        Some(n) => match scalar(file, n, "scope") {
            Ok(s) => match Scope::parse(s) {
                Some(sc) => Some(sc),
                None => {
                    let mut d = Diagnostic::error(Code::H308, file, n.pos, format!("unknown scope `{s}`"));
                    d = d.with_help(match did_you_mean(s, Scope::ALL.iter().map(|s| s.as_str())) {
                        Some(x) => format!("did you mean `{x}`?"),
                        None => "one of: stream, peer_connection, participant, hop, conference".into(),
                    });
                    diags.push(tag(d));
                    None
                }
            },
            Err(d) => {
                diags.push(tag(d));
                None
            }
        },
    };
    let severity = match fields.get("severity") {
        None => Severity::Warning,
        Some(n) => match scalar(file, n, "severity").ok().and_then(Severity::parse) {
            Some(s) => s,
            None => {
                diags.push(tag(Diagnostic::error(Code::H308, file, n.pos, "unknown severity")
                    .with_help("one of: info, warning, error, critical")));
                Severity::Warning
            }
        },
    };
    let severity = over.severity.unwrap_or(severity);
    let category = match fields.get("category") {
        None => {
            diags.push(tag(Diagnostic::error(Code::H203, file, node.pos, "a rule needs a `category`")));
            None
        }
        Some(n) => match scalar(file, n, "category") {
            Ok(s) => match Category::parse(s) {
                Some(c) => Some(c),
                None => {
                    let help = match did_you_mean(s, Category::ALL.iter().map(|c| c.as_str())) {
                        Some(x) => format!("did you mean `{x}`?"),
                        None => format!(
                            "one of: {}",
                            Category::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")
                        ),
                    };
                    diags.push(tag(Diagnostic::error(
                        Code::H308,
                        file,
                        n.pos,
                        format!("unknown category `{s}`"),
                    )
                    .with_help(help)));
                    None
                }
            },
            Err(d) => {
                diags.push(tag(d));
                None
            }
        },
    };
    // Parameters: declared values, then overrides.
    let mut params: BTreeMap<String, String> = BTreeMap::new();
    if let Some(n) = fields.get("params") {
        match &n.kind {
            NodeKind::Map(entries) => {
                for (k, v) in entries {
                    match (k.as_str(), v.as_str()) {
                        (Some(k), Some(v)) => {
                            params.insert(k.to_string(), v.to_string());
                        }
                        _ => diags.push(tag(Diagnostic::error(
                            Code::H202,
                            file,
                            k.pos,
                            "parameters are `name: value` pairs of single values",
                        ))),
                    }
                }
            }
            _ => diags.push(tag(Diagnostic::error(
                Code::H202,
                file,
                n.pos,
                format!("`params` must be a mapping, found {}", n.shape()),
            ))),
        }
    }
    for (k, v) in &over.params {
        if !params.contains_key(k) {
            diags.push(tag(Diagnostic::error(
                Code::H309,
                file,
                node.pos,
                format!("the override sets parameter `{k}`, which the rule does not declare"),
            )
            .with_help(format!(
                "declared parameters: {}",
                params.keys().cloned().collect::<Vec<_>>().join(", ")
            ))));
        }
        params.insert(k.clone(), v.clone());
    }
    let mut param_exprs = Params::new();
    for (k, v) in &params {
        let expr = parser::parse(v).unwrap_or_else(|_| Expr::Str(v.clone(), Span::default()));
        param_exprs.insert(k.clone(), expr);
    }
    let expr_field = |name: &str, required: bool, diags: &mut Vec<Diagnostic>| -> Option<TExpr> {
        let scope = scope?;
        let Some(n) = fields.get(name) else {
            if required {
                diags.push(tag(Diagnostic::error(
                    Code::H203,
                    file,
                    node.pos,
                    format!("a rule needs a `{name}`"),
                )));
            }
            return None;
        };
        let text = match scalar(file, n, name) {
            Ok(t) => t,
            Err(d) => {
                diags.push(tag(d));
                return None;
            }
        };
        let expr = match parser::parse(text) {
            Ok(e) => e,
            Err(e) => {
                diags.push(tag(Diagnostic::error(
                    Code::H210,
                    file,
                    at(n, text, e.span),
                    format!("`{name}` does not parse: {}", e.message),
                )));
                return None;
            }
        };
        match check::check(&expr, scope, &param_exprs) {
            Ok((t, ValueType::Bool)) => {
                match constness(&t, scope) {
                    Constness::NeverTrue => diags.push(tag(Diagnostic::error(
                        Code::H307,
                        file,
                        n.pos,
                        format!("`{name}` can never be true"),
                    )
                    .with_help("check the thresholds against the metrics' ranges (percentages are 0–100)"))),
                    Constness::AlwaysTrue if name != "where" => diags.push(tag(Diagnostic::error(
                        Code::H307,
                        file,
                        n.pos,
                        format!("`{name}` is always true: the rule would match everything"),
                    )
                    .with_help("a condition must depend on the data"))),
                    _ => {}
                }
                Some(t)
            }
            Ok((_, ty)) => {
                diags.push(tag(Diagnostic::error(
                    Code::H302,
                    file,
                    n.pos,
                    format!("`{name}` must be a yes/no condition, found {}", ty.describe()),
                )));
                None
            }
            Err(e) => {
                let mut d = Diagnostic::error(e.code, file, at(n, text, e.span), e.message);
                if let Some(h) = e.help {
                    d = d.with_help(h);
                }
                diags.push(tag(d));
                None
            }
        }
    };
    let filter = expr_field("where", false, &mut diags);
    let condition = expr_field("condition", true, &mut diags);
    let clear = expr_field("clear", false, &mut diags);
    let duration = |name: &str, diags: &mut Vec<Diagnostic>| -> f64 {
        let Some(n) = fields.get(name) else { return 0.0 };
        let text = n.as_str().unwrap_or_default();
        let text = match params.get(text.trim_start_matches('$')) {
            Some(v) if text.starts_with('$') => v.as_str(),
            _ => text,
        };
        match parser::parse(text).ok().and_then(|e| check::duration_ms(&e)) {
            Some(ms) if ms >= 0.0 => ms,
            _ => {
                diags.push(tag(Diagnostic::error(
                    Code::H211,
                    file,
                    n.pos,
                    format!("`{name}` must be a duration like `10s`, `500ms` or `2min`, not `{text}`"),
                )));
                0.0
            }
        }
    };
    let for_ms = duration("for", &mut diags);
    let keep_firing_for_ms = duration("keep_firing_for", &mut diags);
    let samples = match fields.get("samples") {
        None => None,
        Some(n) => match read_samples(n) {
            Some((a, b)) if a >= 1 && a <= b && b <= 1000 => Some((a, b)),
            _ => {
                diags.push(tag(Diagnostic::error(
                    Code::H211,
                    file,
                    n.pos,
                    "`samples` must be `N of M` with 1 ≤ N ≤ M ≤ 1000, e.g. `3 of 5`",
                )));
                None
            }
        },
    };
    let message = match (fields.get("message"), scope) {
        (Some(n), Some(scope)) => match n.as_str() {
            Some(text) => match template::compile(text.trim_end(), scope) {
                Ok(t) => Some(t),
                Err(e) => {
                    let mut d = Diagnostic::error(
                        Code::H305,
                        file,
                        at(n, text, Span { start: e.offset, end: e.offset }),
                        e.message,
                    );
                    if let Some(h) = e.help {
                        d = d.with_help(h);
                    }
                    diags.push(tag(d));
                    None
                }
            },
            None => {
                diags.push(tag(Diagnostic::error(Code::H202, file, n.pos, "`message` must be text")));
                None
            }
        },
        (None, _) => {
            diags.push(tag(Diagnostic::error(Code::H203, file, node.pos, "a rule needs a `message`")));
            None
        }
        (Some(_), None) => None,
    };
    let actions = match fields.get("actions") {
        None => Vec::new(),
        Some(n) => match &n.kind {
            NodeKind::Seq(items) => items.iter().filter_map(|i| i.as_str().map(String::from)).collect(),
            NodeKind::Scalar(s, _) => vec![s.clone()],
            NodeKind::Map(_) => {
                diags.push(tag(Diagnostic::error(
                    Code::H202,
                    file,
                    n.pos,
                    "`actions` must be a list of action names",
                )));
                Vec::new()
            }
        },
    };
    let source = fields.get("source").and_then(Node::as_str).map(|s| s.trim().to_string());
    if diags.iter().any(|d| d.level == crate::diagnostic::Level::Error) {
        return Err(diags);
    }
    let (Some(scope), Some(category), Some(condition), Some(message)) = (scope, category, condition, message)
    else {
        return Err(diags);
    };
    if !over.enabled.unwrap_or(enabled) {
        return Ok(None);
    }
    let mut evidence = Vec::new();
    collect_metrics(&condition, &mut evidence);
    Ok(Some(Rule {
        id,
        version,
        description,
        scope,
        filter,
        condition,
        clear,
        timing: Timing { for_ms, keep_firing_for_ms, samples },
        severity,
        category,
        message,
        actions,
        params,
        source,
        evidence,
        origin: Origin { file: file.clone(), position: node.pos },
    }))
}

fn read_samples(n: &Node) -> Option<(u32, u32)> {
    match &n.kind {
        NodeKind::Scalar(s, _) => {
            let (a, b) = s.split_once(" of ")?;
            Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
        }
        NodeKind::Map(entries) => {
            let get = |k: &str| {
                entries
                    .iter()
                    .find(|(key, _)| key.as_str() == Some(k))
                    .and_then(|(_, v)| v.as_str()?.parse().ok())
            };
            Some((get("at_least")?, get("of_last")?))
        }
        NodeKind::Seq(_) => None,
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 80
        && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// The position of a byte offset inside a scalar that starts at `node.pos`.
fn at(node: &Node, text: &str, span: Span) -> Position {
    let quoted = matches!(node.kind, NodeKind::Scalar(_, true));
    let before = &text[..span.start.min(text.len())];
    let newlines = before.matches('\n').count();
    if newlines == 0 {
        Position {
            line: node.pos.line,
            column: node.pos.column + before.chars().count() + usize::from(quoted),
        }
    } else {
        // Block scalars: the line is right; the column is approximate (indentation varies).
        let last = before.rsplit('\n').next().unwrap_or_default();
        Position { line: node.pos.line + newlines + 1, column: last.chars().count() + 1 }
    }
}

fn collect_metrics(e: &TExpr, out: &mut Vec<MetricId>) {
    match e {
        TExpr::Metric(m) | TExpr::Window { metric: m, .. } | TExpr::Present(m) => {
            if !out.contains(m) {
                out.push(*m);
            }
        }
        TExpr::Coalesce(a, b) | TExpr::Bin(_, a, b) => {
            collect_metrics(a, out);
            collect_metrics(b, out);
        }
        TExpr::Not(a) | TExpr::Neg(a) | TExpr::Abs(a) => collect_metrics(a, out),
        TExpr::In(a, _) => collect_metrics(a, out),
        TExpr::Num(_) | TExpr::Bool(_) | TExpr::Text(_) | TExpr::Collect { .. } => {}
    }
}
