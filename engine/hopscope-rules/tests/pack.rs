//! The built-in pack and rule-file validation: every mistake is an error at its place.

use hopscope_rules::diagnostic::{Code, Diagnostic};
use hopscope_rules::pack::{LoadMode, Overrides, builtin, load_sources};

#[test]
fn the_builtin_pack_loads_cleanly() {
    let set = builtin(&Overrides::default());
    for d in &set.diagnostics {
        eprintln!("{d}");
    }
    assert!(set.diagnostics.is_empty());
    assert!(set.rules.len() >= 25, "{} rules", set.rules.len());
    for r in &set.rules {
        assert!(
            r.source.as_deref().is_some_and(|s| !s.is_empty()),
            "{} names no source for its threshold",
            r.id
        );
        assert!(!r.description.is_empty(), "{} has no description", r.id);
    }
}

fn diags(text: &str) -> Vec<Diagnostic> {
    load_sources([("custom.yaml", text)], &Overrides::default(), LoadMode::Partial).diagnostics
}

fn one(text: &str) -> Diagnostic {
    let d = diags(text);
    assert_eq!(d.len(), 1, "{d:#?}");
    d.into_iter().next().expect("one")
}

const GOOD: &str = "  - id: ok\n    scope: stream\n    category: packet-loss\n    condition: loss_percent > 5\n    message: \"{participant} loses {loss_percent}\"\n";

#[test]
fn unknown_metric_points_at_the_name_and_suggests() {
    let d = one(
        "rules:\n  - id: r1\n    scope: stream\n    category: packet-loss\n    condition: kind == \"audio\" && los_percent > 5\n    message: x\n",
    );
    assert_eq!(d.code, Code::H301);
    assert_eq!((d.position.line, d.position.column), (5, 35));
    assert_eq!(d.help.as_deref(), Some("did you mean `loss_percent`?"));
    assert_eq!(d.rule.as_deref(), Some("r1"));
    assert_eq!(
        d.to_string().lines().next(),
        Some("custom.yaml:5:35: error[H301]: unknown metric `los_percent` in the stream scope (rule `r1`)")
    );
}

#[test]
fn wrong_types_units_templates_and_impossible_conditions() {
    let d = one(
        "rules:\n  - id: r\n    scope: stream\n    category: delay\n    condition: rtt_ms > 2Mbps\n    message: x\n",
    );
    assert_eq!(d.code, Code::H303);
    let d = one(
        "rules:\n  - id: r\n    scope: stream\n    category: delay\n    condition: rtt_ms\n    message: x\n",
    );
    assert_eq!(d.code, Code::H302);
    let d = one(
        "rules:\n  - id: r\n    scope: stream\n    category: delay\n    condition: rtt_ms > 5\n    message: \"rtt {rtt_msec}\"\n",
    );
    assert_eq!(d.code, Code::H305);
    assert_eq!((d.position.line, d.position.column), (6, 19));
    assert_eq!(d.help.as_deref(), Some("did you mean `{rtt_ms}`?"));
    let d = one(
        "rules:\n  - id: r\n    scope: stream\n    category: packet-loss\n    condition: loss_percent > 120\n    message: x\n",
    );
    assert_eq!(d.code, Code::H307);
    assert!(d.message.contains("never be true"));
    let d = one(
        "rules:\n  - id: r\n    scope: stream\n    category: packet-loss\n    condition: loss_percent >= 0\n    message: x\n",
    );
    assert_eq!(d.code, Code::H307);
    assert!(d.message.contains("match everything"));
}

#[test]
fn shape_errors_duplicate_ids_and_partial_loads() {
    // The good rule, a broken one, and the good one again (a duplicate id).
    let text = format!(
        "rules:\n{GOOD}  - id: bad\n    scope: streams\n    category: packet-loss\n    condition: x > 1\n    mesage: y\n{GOOD}"
    );
    let set = load_sources([("custom.yaml", text.as_str())], &Overrides::default(), LoadMode::Partial);
    let codes: Vec<Code> = set.diagnostics.iter().map(|d| d.code).collect();
    assert!(codes.contains(&Code::H308), "unknown scope: {codes:?}");
    assert!(codes.contains(&Code::H204), "unknown field `mesage`: {codes:?}");
    assert!(codes.contains(&Code::H220), "duplicate id: {codes:?}");
    let typo = set.diagnostics.iter().find(|d| d.code == Code::H204).expect("typo");
    assert_eq!(typo.help.as_deref(), Some("did you mean `message`?"));
    // Partial: the good rule still loads. Strict: nothing does.
    assert_eq!(set.rules.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), vec!["ok"]);
    let strict = load_sources([("custom.yaml", text.as_str())], &Overrides::default(), LoadMode::Strict);
    assert!(strict.rules.is_empty());
}

#[test]
fn yaml_bombs_and_broken_yaml_are_refused_with_a_place() {
    let bomb = "rules: &a [*a]\n";
    let d = one(bomb);
    assert_eq!(d.code, Code::H205);
    let d = one("rules:\n  - id: x\n    condition: [unclosed\n");
    assert_eq!(d.code, Code::H201);
    let huge = format!("rules:\n{}", GOOD.repeat(20_000));
    let d = one(&huge);
    assert_eq!(d.code, Code::H206);
}

#[test]
fn overrides_change_params_severity_and_enabled() {
    let overrides = Overrides::parse(
        "overrides.yaml",
        "overrides:\n  high-rtt:\n    params: {raise: 250ms}\n    severity: error\n  relay-over-tcp:\n    enabled: false\n",
    )
    .expect("parses");
    let set = builtin(&overrides);
    assert!(set.diagnostics.is_empty(), "{:?}", set.diagnostics);
    let rtt = set.rules.iter().find(|r| r.id == "high-rtt").expect("high-rtt");
    assert_eq!(rtt.params.get("raise").map(String::as_str), Some("250ms"));
    assert_eq!(rtt.severity, hopscope_rules::rule::Severity::Error);
    assert!(set.rules.iter().all(|r| r.id != "relay-over-tcp"));
    // Overriding a rule or parameter that does not exist is an error, not silence.
    let bad = Overrides::parse("o.yaml", "overrides:\n  no-such-rule: {enabled: false}\n").expect("parses");
    assert!(builtin(&bad).diagnostics.iter().any(|d| d.code == Code::H309));
    let bad = Overrides::parse("o.yaml", "overrides:\n  high-rtt: {params: {nope: 1}}\n").expect("parses");
    assert!(builtin(&bad).diagnostics.iter().any(|d| d.code == Code::H309));
    assert!(Overrides::parse("o.yaml", "overrides:\n  high-rtt: {colour: red}\n").is_err());
}
