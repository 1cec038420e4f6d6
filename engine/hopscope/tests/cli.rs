//! The `hopscope` command as users run it.

use std::path::PathBuf;
use std::process::{Command, Output};

fn hopscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hopscope")).args(args).output().expect("runs")
}

fn fixture(rel: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures").join(rel).display().to_string()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn diagnose_prints_a_readable_report() {
    let o = hopscope(&[
        "diagnose",
        &fixture("chromium/p2p-turn-tcp/alice.webrtc-internals.json"),
        &fixture("chromium/p2p-turn-tcp/bob.webrtc-internals.json"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    for expected in [
        "Topology: peer-to-peer",
        "Participants (2)",
        "alice",
        "bob",
        "path: relay (tcp) → relay",
        "TURN 10.77.0.1 over tcp",
        "Path graph",
        "Timeline",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in:\n{text}");
    }
}

#[test]
fn diagnose_json_is_one_document_with_conferences() {
    let o = hopscope(&["diagnose", "--format", "json", &fixture("chromium/p2p-lossy/alice.rtcstats")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("valid JSON");
    let conf = &v["conferences"][0];
    assert_eq!(conf["participants"][0]["id"], "alice");
    assert_eq!(v["errors"].as_array().map(Vec::len), Some(0));
    let audio_loss = conf["participants"][0]["peer_connections"][0]["streams"]
        .as_array()
        .expect("streams")
        .iter()
        .find(|s| s["direction"] == "inbound" && s["kind"] == "audio")
        .and_then(|s| s["loss_percent"].as_f64())
        .expect("audio loss");
    assert!((2.5..10.0).contains(&audio_loss), "{audio_loss}");
}

#[test]
fn a_bad_file_is_named_with_its_location_and_fails_the_run() {
    let dir = std::env::temp_dir().join(format!("hopscope-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let bad = dir.join("broken.json");
    std::fs::write(&bad, "{\"PeerConnections\": {\"1-1\": {\"stats\": [}}").expect("write");
    let o =
        hopscope(&["diagnose", bad.to_str().expect("utf-8"), &fixture("chromium/p2p-direct/alice.rtcstats")]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("broken.json") && err.contains("line 1, column"), "{err}");
    // The good file is still diagnosed.
    assert!(stdout(&o).contains("alice"));
}

#[test]
fn quality_audio_reproduces_the_g107_default() {
    // G.107 §7.7: all defaults give R = 93.2; G.711 with PLC at 0 % loss has Ie = 0.
    let o = hopscope(&[
        "quality", "audio", "--codec", "g711-plc", "--loss", "0", "--delay", "0", "--format", "json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
    let r = v["r"].as_f64().expect("r");
    assert!((r - 93.2).abs() < 0.01, "{r}");
    let o = hopscope(&["quality", "audio", "--codec", "g711-plc", "--loss", "2", "--delay", "150"]);
    let text = stdout(&o);
    assert!(text.contains("R ") && text.contains("MOS") && text.contains("category"), "{text}");
}

#[test]
fn quality_rejects_out_of_range_parameters_clearly() {
    let o = hopscope(&["quality", "audio", "--loss", "120"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("loss must be 0–100 %, got 120"), "{}", stderr(&o));
    let o =
        hopscope(&["quality", "video", "--width", "0", "--height", "720", "--bitrate", "800", "--fps", "30"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("width"), "{}", stderr(&o));
    let o = hopscope(&["quality", "audio", "--codec", "speex"]);
    assert!(stderr(&o).contains("unknown audio codec"), "{}", stderr(&o));
}

#[test]
fn help_explains_the_commands() {
    let o = hopscope(&["--help"]);
    let text = stdout(&o);
    assert!(text.contains("diagnose") && text.contains("quality") && text.contains("Examples"), "{text}");
}

#[test]
fn diagnose_tells_what_happened_and_where_first() {
    let o = hopscope(&[
        "diagnose",
        &fixture("chromium/p2p-lossy/alice.rtcstats"),
        &fixture("chromium/p2p-lossy/bob.rtcstats"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let what = text.find("What happened").expect("a narrative section");
    let findings = text.find("Findings (").expect("a findings section");
    assert!(what < findings, "the story comes before the list");
    // 5 % loss on the router both ways: from two endpoints' data alone, loss both ways could
    // be either person's network, and the report says so.
    assert!(text.contains("more explained above"), "symptoms fold under their cause: {text}");

    let o = hopscope(&[
        "diagnose",
        "--format",
        "json",
        &fixture("chromium/p2p-lossy/alice.rtcstats"),
        &fixture("chromium/p2p-lossy/bob.rtcstats"),
    ]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    let conf = &v["conferences"][0];
    let faults = conf["attribution"]["faults"].as_array().expect("faults");
    assert!(
        faults.iter().any(|f| f["kind"] == "loss"
            && f["hop"].is_null()
            && f["candidates"].as_array().is_some_and(|c| c.len() == 2)),
        "{faults:?}"
    );
    assert!(conf["narrative"]["summary"].as_str().is_some_and(|s| s.starts_with("The call completed.")));
    let paragraphs = conf["narrative"]["paragraphs"].as_array().expect("paragraphs");
    assert_eq!(paragraphs.len(), faults.len());
    let texts: Vec<&str> = paragraphs.iter().filter_map(|p| p["text"].as_str()).collect();
    assert!(
        texts.iter().any(|t| t.starts_with("Either alice's network or bob's network lost packets")
            && t.contains("The data cannot tell which: a third participant")),
        "{texts:#?}"
    );
    let support = paragraphs[0]["actions"]["support"].as_str().unwrap_or_default();
    assert!(support.contains("alice and bob"), "both people are asked: {support}");
}
