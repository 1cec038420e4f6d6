//! `hopscope plugin check`, `rules test --plugin` and `diagnose --plugin` with the example
//! plugins built from source.

use std::path::PathBuf;
use std::process::{Command, Output};

use hopscope_tests::plugins::wasm;

fn hopscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hopscope")).args(args).output().expect("runs")
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn path(rel: &str) -> String {
    root().join(rel).display().to_string()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn plugin_check_prints_the_manifest() {
    let file = wasm("sla-check").display().to_string();
    let o = hopscope(&["plugin", "check", &file]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = stdout(&o);
    assert!(text.starts_with("ok: sla-check 0.1.0"), "{text}");
    assert!(
        text.contains("  sla-audio-mos v1: A participant heard audio below the SLA's average MOS of 3.6"),
        "{text}"
    );
    assert!(
        text.contains("reads: participant.heard_mos, peer_connection.rtt_ms, peer_connection.connected"),
        "{text}"
    );
    assert!(text.contains("budget per evaluation: 50000000 fuel, 16 MiB memory, 100 ms"), "{text}");
    assert!(!text.contains("on request"), "{text}");
    // A plugin reading on request says what, and does not claim to read nothing.
    let o = hopscope(&["plugin", "check", &wasm("jitter-buffer-stress").display().to_string()]);
    let text = stdout(&o);
    assert!(text.contains("\nreads on request: stream.jitter_buffer_ms, stream.active\n"), "{text}");
    assert!(!text.contains("reads: nothing"), "{text}");

    let o = hopscope(&["plugin", "check", "--format", "json", &file]);
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(json["ok"], true);
    assert_eq!(json["manifest"]["name"], "sla-check");
    assert_eq!(json["manifest"]["rules"][1]["id"], "sla-round-trip");
    assert_eq!(json["manifest"]["wit"], "hopscope:plugin@0.4.0");
    assert_eq!(json["manifest"]["on_request"], serde_json::json!([]));
}

#[test]
fn plugin_check_refuses_a_hostile_component_with_its_code() {
    let o = hopscope(&["plugin", "check", "--format", "json", &wasm("hostile-import").display().to_string()]);
    assert_eq!(o.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(json["ok"], false);
    assert_eq!(json["code"], "unknown-import");

    let o = hopscope(&["plugin", "check", &path("Cargo.toml")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).starts_with("error [malformed]:"), "{}", stdout(&o));
}

#[test]
fn rules_test_runs_plugin_fixtures() {
    let plugin = wasm("jitter-buffer-stress").display().to_string();
    let o = hopscope(&["rules", "test", &path("plugins/jitter-buffer-stress"), "--plugin", &plugin]);
    let text = stdout(&o);
    assert!(o.status.success(), "{text}");
    assert!(text.contains("(wasm)"), "{text}");
    assert!(text.trim_end().ends_with("ok: 5 passed, 0 failed"), "{text}");
}

#[test]
fn diagnose_shows_plugin_findings() {
    let plugin = wasm("sla-check").display().to_string();
    let o = hopscope(&[
        "diagnose",
        "--format",
        "json",
        "--plugin",
        &plugin,
        &path("tests/fixtures/chromium/p2p-lossy/alice.rtcstats"),
        &path("tests/fixtures/chromium/p2p-lossy/bob.rtcstats"),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let findings = json["conferences"][0]["findings"].as_array().expect("findings");
    let sla: Vec<&str> = findings
        .iter()
        .filter(|f| f["rule"] == "sla-audio-mos")
        .filter_map(|f| f["message"].as_str())
        .collect();
    assert_eq!(sla.len(), 2, "{findings:?}");
    // The plugin ran after the YAML rules and read what they found about alice.
    assert!(
        sla.contains(
            &"SLA breach: alice heard audio at MOS 3.12 on average (contract: 3.6 or better), down to 2.2; the rules found: audio-concealment, audio-packet-loss, low-audio-mos, outbound-packet-loss"
        ),
        "{sla:?}"
    );
    // The built-in rules' findings are still there.
    assert!(findings.iter().any(|f| f["rule"] == "audio-concealment"));
}
