//! `hopscope rules …` and `diagnose --rules` as rule authors run them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn hopscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hopscope")).args(args).output().expect("runs")
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture(rel: &str) -> String {
    root().join("tests/fixtures").join(rel).display().to_string()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
    std::fs::write(&path, text).expect("write");
    path.display().to_string()
}

/// A customer rule: a lower loss threshold than the built-in one.
const STRICT_LOSS: &str = r#"rules:
  - id: strict-audio-loss
    description: Any sustained audio loss above 1 %.
    scope: stream
    where: direction == "inbound" && kind == "audio" && active
    condition: loss_percent > $raise
    samples: 3 of 5
    params:
      raise: 1%
    severity: info
    category: packet-loss
    message: "{participant} lost {max:loss_percent} of the audio from {sender|the far end}"
"#;

#[test]
fn the_builtin_fixtures_pass() {
    let dir = root().join("rules/builtin").display().to_string();
    let o = hopscope(&["rules", "test", &dir, "--format", "json"]);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    assert_eq!(v["failed"], 0);
    assert!(v["passed"].as_u64().is_some_and(|n| n >= 20), "{v}");
}

#[test]
fn check_points_at_file_line_column_with_a_fix() {
    let tmp = tempfile::tempdir().expect("tempdir");
    write(
        tmp.path(),
        "bad.yaml",
        "rules:\n  - id: my-loss\n    description: loss\n    scope: stream\n    condition: paket_loss > 5%\n    severity: warning\n    category: packet_loss\n    message: \"loss {packet_loss}\"\n",
    );
    let dir = tmp.path().display().to_string();
    let o = hopscope(&["rules", "check", "--no-builtin", "--rules", &dir]);
    assert_eq!(o.status.code(), Some(1));
    let text = stdout(&o);
    assert!(
        text.contains("bad.yaml:5:16: error[H301]: unknown metric `paket_loss` in the stream scope"),
        "{text}"
    );
    assert!(text.contains("help: did you mean `loss_percent`?"), "{text}");
    assert!(text.contains("bad.yaml:7:15: error[H308]: unknown category `packet_loss`"), "{text}");
    assert!(text.contains("help: did you mean `packet-loss`?"), "{text}");
    assert!(text.contains("bad.yaml:8:20: error[H305]"), "{text}");
    assert!(text.contains("FAILED: 0 rules check, 3 errors"), "{text}");

    // The built-in pack checks clean, and stays silent on healthy simulated calls.
    let o = hopscope(&["rules", "check", "--deny-warnings"]);
    assert!(o.status.success(), "{}", stdout(&o));

    // A rule that loads but fires on a healthy call is a warning, fatal with --deny-warnings.
    let loose = tempfile::tempdir().expect("tempdir");
    write(
        loose.path(),
        "loose.yaml",
        "rules:\n  - id: loose-loss\n    description: x\n    scope: stream\n    condition: loss_percent < 50%\n    severity: info\n    category: packet-loss\n    message: \"loss {loss_percent}\"\n",
    );
    let dir = loose.path().display().to_string();
    let o = hopscope(&["rules", "check", "--no-builtin", "--rules", &dir]);
    assert!(o.status.success(), "a warning alone passes: {}", stdout(&o));
    let text = stdout(&o);
    assert!(
        text.contains("loose.yaml:2:7: warning[H801]: fires on a healthy peer-to-peer call (simulated)"),
        "{text}"
    );
    let o = hopscope(&["rules", "check", "--no-builtin", "--deny-warnings", "--rules", &dir]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn a_wrong_expectation_fails_with_a_diff_and_bless_rewrites_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    write(tmp.path(), "loss.yaml", STRICT_LOSS);
    let lossy = fixture("chromium/p2p-lossy/alice.rtcstats");
    let fixture_path = write(
        tmp.path(),
        "tests/loss.yaml",
        &format!(
            "rule: strict-audio-loss\ncases:\n  - name: lossy\n    inputs: [{lossy}]\n    expect:\n      - scope: {{participant: alice}}\n        message: \"alice lost 1% of the audio\"\n"
        ),
    );
    let dir = tmp.path().display().to_string();
    let o = hopscope(&["rules", "test", &dir]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let text = stdout(&o);
    assert!(text.contains("FAIL"), "{text}");
    assert!(
        text.contains("- expected: strict-audio-loss [participant=alice]: alice lost 1% of the audio"),
        "{text}"
    );
    assert!(
        text.contains("+ found:    strict-audio-loss [direction=inbound kind=audio participant=alice"),
        "{text}"
    );
    assert!(text.contains("alice lost 12% of the audio from the far end"), "{text}");

    let o = hopscope(&["rules", "test", &dir, "--bless"]);
    assert!(o.status.success(), "{}", stdout(&o));
    let blessed = std::fs::read_to_string(&fixture_path).expect("read");
    assert!(blessed.contains("message: alice lost 12% of the audio from the far end"), "{blessed}");
    let o = hopscope(&["rules", "test", &dir]);
    assert!(o.status.success(), "{}", stdout(&o));
    assert!(stdout(&o).contains("ok: 1 passed, 0 failed"), "{}", stdout(&o));
}

#[test]
fn diagnose_runs_custom_rules_and_overrides() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let rules = write(tmp.path(), "rules/loss.yaml", STRICT_LOSS);
    let lossy = fixture("chromium/p2p-lossy/alice.rtcstats");
    let findings = |extra: &[&str]| -> Vec<String> {
        let mut args = vec!["diagnose", "--format", "json"];
        args.extend_from_slice(extra);
        args.push(&lossy);
        let o = hopscope(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("JSON");
        v["conferences"][0]["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .map(|f| f["rule"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    let builtin_only = findings(&[]);
    assert!(builtin_only.contains(&"audio-packet-loss".to_string()), "{builtin_only:?}");
    assert!(!builtin_only.contains(&"strict-audio-loss".to_string()));

    let with_custom = findings(&["--rules", &rules]);
    assert!(with_custom.contains(&"strict-audio-loss".to_string()), "{with_custom:?}");
    assert!(with_custom.contains(&"audio-packet-loss".to_string()));

    let custom_only = findings(&["--no-builtin", "--rules", &rules]);
    assert_eq!(custom_only, vec!["strict-audio-loss".to_string()]);

    // Overrides: turn a built-in rule off, raise a custom threshold above the loss seen.
    let overrides = write(
        tmp.path(),
        "overrides.yaml",
        "overrides:\n  audio-packet-loss: {enabled: false}\n  strict-audio-loss: {params: {raise: 50%}}\n",
    );
    let overridden = findings(&["--rules", &rules, "--overrides", &overrides]);
    assert!(!overridden.contains(&"audio-packet-loss".to_string()), "{overridden:?}");
    assert!(!overridden.contains(&"strict-audio-loss".to_string()), "{overridden:?}");
    assert!(overridden.contains(&"outbound-packet-loss".to_string()), "{overridden:?}");

    // An override naming no rule is an error, not silently ignored.
    let typo = write(tmp.path(), "typo.yaml", "overrides:\n  audio-packet-los: {enabled: false}\n");
    let o = hopscope(&["diagnose", "--overrides", &typo, &lossy]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("error[H309]: the overrides name `audio-packet-los`"), "{}", stderr(&o));
}

#[test]
fn a_bad_rule_stops_the_run_unless_partial() {
    let tmp = tempfile::tempdir().expect("tempdir");
    write(tmp.path(), "good.yaml", STRICT_LOSS);
    write(
        tmp.path(),
        "bad.yaml",
        "rules:\n  - id: broken\n    description: x\n    scope: stream\n    condition: loss_percent > 5 kbps\n    severity: warning\n    category: packet-loss\n    message: x\n",
    );
    let dir = tmp.path().display().to_string();
    let lossy = fixture("chromium/p2p-lossy/alice.rtcstats");
    let o = hopscope(&["diagnose", "--no-builtin", "--rules", &dir, &lossy]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("bad.yaml:5:"), "{}", stderr(&o));
    assert!(stderr(&o).contains("pass --partial"), "{}", stderr(&o));

    let o = hopscope(&["diagnose", "--no-builtin", "--partial", "--rules", &dir, "--format", "json", &lossy]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("bad.yaml:5:"), "the bad rule is still reported: {}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    let rules: Vec<&str> = v["conferences"][0]["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["rule"].as_str())
        .collect();
    assert_eq!(rules, ["strict-audio-loss"]);
}

#[test]
fn list_and_metrics_describe_what_there_is() {
    let o = hopscope(&["rules", "list", "--format", "json"]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    let rows = v.as_array().expect("rows");
    assert!(rows.len() >= 30, "{}", rows.len());
    let rtt = rows.iter().find(|r| r["id"] == "high-rtt").expect("high-rtt listed");
    assert_eq!(rtt["scope"], "peer_connection");
    assert!(rtt["source"].as_str().is_some_and(|s| !s.is_empty()), "every built-in rule cites its source");
    assert!(rtt["file"].as_str().is_some_and(|f| f.starts_with("rules/builtin/network.yaml:")));

    let o = hopscope(&["rules", "metrics", "stream"]);
    assert!(o.status.success());
    let text = stdout(&o);
    assert!(text.contains("loss_percent"), "{text}");
    assert!(!text.contains("scope: participant"), "only the stream scope: {text}");
    let o = hopscope(&["rules", "metrics", "streams"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown scope `streams`"), "{}", stderr(&o));
}

/// Every built-in rule is shown firing in some fixture case and staying silent in another
/// of the cases that test it.
#[test]
fn every_builtin_rule_fires_somewhere_and_stays_silent_somewhere() {
    let o = hopscope(&["rules", "list", "--format", "json"]);
    let rules: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    let ids: Vec<String> =
        rules.as_array().expect("rows").iter().filter_map(|r| r["id"].as_str().map(String::from)).collect();
    let mut fires: std::collections::BTreeSet<String> = Default::default();
    let mut silent: std::collections::BTreeSet<String> = Default::default();
    let dir = root().join("rules/builtin/tests");
    for entry in std::fs::read_dir(&dir).expect("fixtures") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let doc: serde_yaml::Value =
            serde_yaml::from_str(&std::fs::read_to_string(&path).expect("read")).expect("yaml");
        let tested: Vec<String> = match &doc["rule"] {
            serde_yaml::Value::String(s) => vec![s.clone()],
            serde_yaml::Value::Sequence(v) => v.iter().filter_map(|x| x.as_str().map(String::from)).collect(),
            _ => ids.clone(),
        };
        for case in doc["cases"].as_sequence().expect("cases") {
            let found: Vec<String> = case["expect"]
                .as_sequence()
                .map(|v| {
                    v.iter()
                        .map(|e| e["rule"].as_str().map_or_else(|| tested[0].clone(), String::from))
                        .collect()
                })
                .unwrap_or_default();
            for rule in &tested {
                if found.contains(rule) {
                    fires.insert(rule.clone());
                } else {
                    silent.insert(rule.clone());
                }
            }
        }
    }
    let never_fires: Vec<&String> = ids.iter().filter(|id| !fires.contains(*id)).collect();
    let never_silent: Vec<&String> = ids.iter().filter(|id| !silent.contains(*id)).collect();
    assert!(never_fires.is_empty(), "no fixture case where these fire: {never_fires:?}");
    assert!(never_silent.is_empty(), "no fixture case where these stay silent: {never_silent:?}");
}

#[test]
fn the_rhai_example_rules_pass_their_fixtures() {
    let dir = root().join("rules/examples/rhai").display().to_string();
    let o = hopscope(&["rules", "test", &dir, "--format", "json"]);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    assert_eq!((v["passed"].as_u64(), v["failed"].as_u64()), (Some(7), Some(0)), "{v}");
    assert!(v["cases"].as_array().is_some_and(|c| c.iter().all(|c| c["kind"] == "rhai")), "{v}");
}

#[test]
fn rhai_scripts_load_beside_yaml_rules_in_check_list_and_diagnose() {
    let tmp = tempfile::tempdir().expect("tempdir");
    write(tmp.path(), "strict.yaml", STRICT_LOSS);
    let examples = root().join("rules/examples/rhai");
    for name in ["sla-heard-audio.rhai", "lone-audio-concealer.rhai"] {
        let text = std::fs::read_to_string(examples.join(name)).expect("example");
        write(tmp.path(), name, &text);
    }
    let bad =
        write(tmp.path(), "broken.rhai", "fn describe() { #{} }\nfn evaluate(conf) {\n  eval(\"1\")\n}\n");
    let dir = tmp.path().display().to_string();

    let o = hopscope(&["rules", "check", "--no-builtin", "--rules", &dir]);
    assert!(!o.status.success());
    let out = stdout(&o);
    assert!(out.contains(&format!("{bad}:3:3: error[H902]: `eval` is not allowed in rule scripts")), "{out}");
    assert!(out.contains("FAILED: 3 rules check, 1 error"), "{out}");

    std::fs::remove_file(&bad).expect("rm");
    let always = write(
        tmp.path(),
        "always.rhai",
        "fn describe() { #{ id: \"always-fires\", version: 1, description: \"d\", scope: \"conference\", \
         severity: \"info\", category: \"quality\" } }\nfn evaluate(conf) { [#{ about: conf, message: \"hello\" }] }\n",
    );
    let o = hopscope(&["rules", "check", "--no-builtin", "--rules", &dir]);
    let out = stdout(&o);
    assert!(
        out.contains(&format!(
            "{always}:1:1: warning[H801]: fires on a healthy peer-to-peer call (simulated): \"hello\" (rule `always-fires`)"
        )),
        "{out}"
    );
    std::fs::remove_file(&always).expect("rm");
    let o = hopscope(&["rules", "list", "--no-builtin", "--rules", &dir]);
    let out = stdout(&o);
    assert!(
        out.contains("sla-heard-audio") && out.contains("strict-audio-loss") && out.contains("3 rules"),
        "{out}"
    );

    let o = hopscope(&[
        "diagnose",
        "--format",
        "json",
        "--rules",
        &dir,
        &fixture("chromium/p2p-lossy/alice.rtcstats"),
        &fixture("chromium/p2p-lossy/bob.rtcstats"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    let findings = v["conferences"][0]["findings"].as_array().expect("findings");
    let sla = findings.iter().find(|f| f["rule"] == "sla-heard-audio").expect("the script's finding");
    // The script saw what the YAML rules (built-in and strict-audio-loss) found first.
    let message = sla["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("SLA breached: 2 of 2 participants"), "{message}");
    assert!(message.contains("strict-audio-loss"), "{message}");
    assert!(findings.iter().any(|f| f["rule"] == "strict-audio-loss"));
}

#[test]
fn rules_test_runs_yaml_then_scripts_that_read_their_findings() {
    let tmp = tempfile::tempdir().expect("tempdir");
    write(tmp.path(), "strict.yaml", STRICT_LOSS);
    write(
        tmp.path(),
        "count.rhai",
        r#"fn describe() {
    #{ id: "loss-count", version: 1, description: "How many streams the strict rule flagged",
       scope: "conference", severity: "info", category: "packet-loss" }
}
fn evaluate(conf) {
    let n = conf.findings().filter(|f| f.rule == "strict-audio-loss").len();
    if n == 0 { return []; }
    [#{ about: conf, message: `${n} streams lost audio` }]
}
"#,
    );
    let lossy = [fixture("chromium/p2p-lossy/alice.rtcstats"), fixture("chromium/p2p-lossy/bob.rtcstats")];
    let direct = [fixture("chromium/p2p-direct/alice.rtcstats"), fixture("chromium/p2p-direct/bob.rtcstats")];
    write(
        tmp.path(),
        "tests/count.yaml",
        &format!(
            "rule: loss-count\ncases:\n- name: fires\n  inputs: [{}, {}]\n  expect:\n  - message: 2 streams lost audio\n\
             - name: silent\n  inputs: [{}, {}]\n  expect: []\n",
            lossy[0], lossy[1], direct[0], direct[1]
        ),
    );
    let dir = tmp.path().display().to_string();
    let o = hopscope(&["rules", "test", &dir, "--format", "json"]);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    assert_eq!((v["passed"].as_u64(), v["failed"].as_u64()), (Some(2), Some(0)), "{v}");
    assert_eq!(v["cases"][0]["kind"], "yaml+rhai");
}

#[test]
fn overrides_turn_scripts_off_and_change_their_severity() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let examples = root().join("rules/examples/rhai");
    for name in ["sla-heard-audio.rhai", "lone-audio-concealer.rhai"] {
        let text = std::fs::read_to_string(examples.join(name)).expect("example");
        write(tmp.path(), &format!("rules/{name}"), &text);
    }
    let dir = tmp.path().join("rules").display().to_string();
    let overrides = write(
        tmp.path(),
        "overrides.yaml",
        "overrides:\n  lone-audio-concealer: {enabled: false}\n  sla-heard-audio: {severity: critical}\n",
    );
    let o = hopscope(&["rules", "list", "--no-builtin", "--rules", &dir, "--overrides", &overrides]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("sla-heard-audio") && out.contains("critical") && out.contains("1 rules"), "{out}");
    assert!(!out.contains("lone-audio-concealer"), "{out}");

    let params = write(tmp.path(), "params.yaml", "overrides:\n  sla-heard-audio: {params: {target: 3.0}}\n");
    let o = hopscope(&["rules", "check", "--no-builtin", "--rules", &dir, "--overrides", &params]);
    assert!(!o.status.success());
    let out = stdout(&o);
    assert!(out.contains("error[H306]: `sla-heard-audio` is a script and takes no parameters"), "{out}");
}
