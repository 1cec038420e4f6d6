//! One test harness for every kind of rule: a fixture names input dumps and the findings
//! expected from them, with the rendered message compared as a golden text.
//!
//! ```yaml
//! rule: audio-packet-loss            # the rule(s) under test: a string or a list
//! cases:
//!   - name: fires on the lossy call
//!     inputs: [../../../tests/fixtures/chromium/p2p-lossy/alice.rtcstats]
//!     expect:
//!       - scope: {participant: alice, kind: audio}
//!         message: "alice lost up to 7.2% of the audio from bob (19 s)"
//!   - name: silent on a clean call
//!     inputs: [../../../tests/fixtures/chromium/p2p-direct/alice.rtcstats]
//!     expect: []
//! ```
//! Every finding of the rules under test must be expected, and every expectation must be
//! met. Input paths are relative to the fixture file. The rule kinds (YAML now; Rhai and
//! WASM plug in through [`RuleKind`]) all run against the same fixtures.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hopscope_model::Conference;
use serde::{Deserialize, Serialize};

use crate::eval::evaluate;
use crate::finding::Finding;
use crate::rule::Rule;
use crate::view::View;

/// A kind of rule the harness can run.
pub trait RuleKind {
    /// For reports (`yaml`, `rhai`, `wasm`).
    fn kind(&self) -> &str;
    /// The rule ids it provides.
    fn rule_ids(&self) -> Vec<String>;
    /// Findings for a conference.
    fn evaluate(&self, conference: &Conference, view: &View) -> Vec<Finding>;
    /// Findings for a conference, given what the kinds run before found (scripts read them).
    fn evaluate_after(&self, conference: &Conference, view: &View, earlier: &[Finding]) -> Vec<Finding> {
        let _ = earlier;
        self.evaluate(conference, view)
    }
}

impl std::fmt::Debug for dyn RuleKind + '_ {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RuleKind({}: {} rules)", self.kind(), self.rule_ids().len())
    }
}

/// Several kinds run in order, each seeing what the ones before it found: YAML first,
/// then scripts that build on its findings.
#[derive(Debug)]
pub struct Chain<'a> {
    kinds: Vec<&'a dyn RuleKind>,
    name: String,
}

impl<'a> Chain<'a> {
    /// The kinds, in the order they run.
    pub fn new(kinds: Vec<&'a dyn RuleKind>) -> Self {
        let name = kinds.iter().map(|k| k.kind()).collect::<Vec<_>>().join("+");
        Chain { kinds, name }
    }
}

impl RuleKind for Chain<'_> {
    fn kind(&self) -> &str {
        &self.name
    }
    fn rule_ids(&self) -> Vec<String> {
        self.kinds.iter().flat_map(|k| k.rule_ids()).collect()
    }
    fn evaluate(&self, conference: &Conference, view: &View) -> Vec<Finding> {
        self.evaluate_after(conference, view, &[])
    }
    fn evaluate_after(&self, conference: &Conference, view: &View, earlier: &[Finding]) -> Vec<Finding> {
        let mut all = earlier.to_vec();
        for k in &self.kinds {
            let found = k.evaluate_after(conference, view, &all);
            all.extend(found);
        }
        all.split_off(earlier.len())
    }
}

/// YAML rules.
#[derive(Debug)]
pub struct YamlRules<'a>(pub &'a [Rule]);

impl RuleKind for YamlRules<'_> {
    fn kind(&self) -> &str {
        "yaml"
    }
    fn rule_ids(&self) -> Vec<String> {
        self.0.iter().map(|r| r.id.clone()).collect()
    }
    fn evaluate(&self, _conference: &Conference, view: &View) -> Vec<Finding> {
        evaluate(self.0, view)
    }
}

/// A fixture file.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    /// Rules under test; all rules when absent.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "one_or_many")]
    pub rule: Option<Vec<String>>,
    /// Cases.
    pub cases: Vec<Case>,
}

/// One input and what must come of it.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// What the case shows.
    pub name: String,
    /// Dump files, relative to the fixture.
    pub inputs: Vec<String>,
    /// The findings expected (all of them, for the rules under test).
    #[serde(default)]
    pub expect: Vec<Expected>,
}

/// An expected finding.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Expected {
    /// The rule; may be left out when the fixture tests one rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Scope fields that must match (participant, peer_connection, direction, kind, ssrc, hop).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub scope: BTreeMap<String, String>,
    /// The rendered message, exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Severity, when it matters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
}

mod one_or_many {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
        Ok(Option::<OneOrMany>::deserialize(d)?.map(|v| match v {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }))
    }

    pub fn serialize<S: Serializer>(v: &Option<Vec<String>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(list) if list.len() == 1 => list[0].serialize(s),
            other => other.serialize(s),
        }
    }
}

/// The outcome of one case.
#[derive(Clone, Debug, Serialize)]
pub struct CaseResult {
    /// Fixture file.
    pub fixture: String,
    /// Case name.
    pub case: String,
    /// Rule kind that ran.
    pub kind: String,
    /// Passed.
    pub passed: bool,
    /// Why it failed: a diff of expected against actual, or an input error.
    pub failure: Option<String>,
    /// What the rules found (for blessing).
    #[serde(skip)]
    pub actual: Vec<Expected>,
}

/// Loads the conference of a case from input files.
pub type InputLoader<'a> = dyn Fn(&[PathBuf]) -> Result<Conference, String> + 'a;

/// Reads a fixture file.
pub fn read_fixture(path: &Path) -> Result<Fixture, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_yaml::from_str(&text).map_err(|e| {
        let at = e.location().map(|l| format!(":{}:{}", l.line(), l.column())).unwrap_or_default();
        format!("{}{at}: not a fixture: {e}", path.display())
    })
}

fn describe(f: &Expected) -> String {
    let scope: Vec<String> = f.scope.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!(
        "{} [{}]{}{}",
        f.rule.as_deref().unwrap_or("?"),
        scope.join(" "),
        f.severity.as_deref().map(|s| format!(" {s}")).unwrap_or_default(),
        f.message.as_deref().map(|m| format!(": {m}")).unwrap_or_default()
    )
}

/// What a finding looks like as an expectation (every scope field it has).
pub fn as_expected(f: &Finding) -> Expected {
    let mut scope = BTreeMap::new();
    let s = &f.scope;
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            scope.insert(k.to_string(), v);
        }
    };
    put("participant", s.participant.clone());
    put("peer_connection", s.peer_connection.clone());
    put("direction", s.direction.clone());
    put("kind", s.kind.clone());
    put("ssrc", s.ssrc.map(|x| x.to_string()));
    put("hop", s.hop.clone());
    Expected {
        rule: Some(f.rule.clone()),
        scope,
        message: Some(f.message.clone()),
        severity: Some(f.severity.as_str().to_string()),
    }
}

fn matches(e: &Expected, a: &Expected, default_rule: Option<&str>) -> bool {
    let rule = e.rule.as_deref().or(default_rule);
    rule == a.rule.as_deref()
        && e.scope.iter().all(|(k, v)| a.scope.get(k) == Some(v))
        && e.message.as_ref().is_none_or(|m| a.message.as_ref() == Some(m))
        && e.severity.as_ref().is_none_or(|s| a.severity.as_ref() == Some(s))
}

/// Runs one fixture with one rule kind.
pub fn run_fixture(
    path: &Path,
    fixture: &Fixture,
    kind: &dyn RuleKind,
    load: &InputLoader<'_>,
    quality: &hopscope_score::QualityConfig,
) -> Vec<CaseResult> {
    let base = path.parent().unwrap_or(Path::new("."));
    let available = kind.rule_ids();
    let tested: Vec<String> = fixture.rule.clone().unwrap_or_else(|| available.clone());
    let default_rule = match tested.as_slice() {
        [one] => Some(one.as_str()),
        _ => None,
    };
    let mut results = Vec::new();
    for case in &fixture.cases {
        let mut result = CaseResult {
            fixture: path.display().to_string(),
            case: case.name.clone(),
            kind: kind.kind().to_string(),
            passed: false,
            failure: None,
            actual: Vec::new(),
        };
        if let Some(missing) = tested.iter().find(|r| !available.contains(r)) {
            result.failure = Some(format!("the rule `{missing}` is not loaded"));
            results.push(result);
            continue;
        }
        let inputs: Vec<PathBuf> = case.inputs.iter().map(|i| base.join(i)).collect();
        let conference = match load(&inputs) {
            Ok(c) => c,
            Err(e) => {
                result.failure = Some(format!("inputs: {e}"));
                results.push(result);
                continue;
            }
        };
        let view = View::build(&conference, quality);
        let actual: Vec<Expected> = kind
            .evaluate(&conference, &view)
            .iter()
            .filter(|f| tested.contains(&f.rule))
            .map(as_expected)
            .collect();
        let mut unmatched_actual: Vec<&Expected> = actual.iter().collect();
        let mut unmet = Vec::new();
        for e in &case.expect {
            match unmatched_actual.iter().position(|a| matches(e, a, default_rule)) {
                Some(i) => {
                    unmatched_actual.remove(i);
                }
                None => unmet.push(e),
            }
        }
        result.passed = unmet.is_empty() && unmatched_actual.is_empty();
        if !result.passed {
            let mut diff = String::new();
            for e in &unmet {
                let mut e = (*e).clone();
                e.rule = e.rule.or(default_rule.map(String::from));
                diff.push_str(&format!("- expected: {}\n", describe(&e)));
            }
            for a in &unmatched_actual {
                diff.push_str(&format!("+ found:    {}\n", describe(a)));
            }
            result.failure = Some(diff);
        }
        result.actual = actual;
        results.push(result);
    }
    results
}

/// Rewrites a fixture's expectations with what the rules found now.
pub fn bless(path: &Path, fixture: &Fixture, results: &[CaseResult]) -> Result<(), String> {
    let single = fixture.rule.as_ref().is_some_and(|r| r.len() == 1);
    let mut updated = fixture.clone();
    for case in &mut updated.cases {
        if let Some(r) = results
            .iter()
            .find(|r| r.case == case.name && r.failure.as_deref().is_none_or(|f| !f.starts_with("inputs:")))
        {
            case.expect = r
                .actual
                .iter()
                .cloned()
                .map(|mut e| {
                    if single {
                        e.rule = None;
                    }
                    e
                })
                .collect();
        }
    }
    let text = serde_yaml::to_string(&updated).map_err(|e| e.to_string())?;
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Fixture files under a pack directory: `tests/*.yaml`, recursively.
pub fn fixture_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.parent().and_then(|x| x.file_name()).is_some_and(|n| n == "tests")
                && p.extension().is_some_and(|x| x == "yaml" || x == "yml")
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}
