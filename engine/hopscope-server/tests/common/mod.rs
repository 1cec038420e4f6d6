//! What the server's test binaries share.

/// Wall-clock now, epoch ms.
pub fn now_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as f64)
        .unwrap_or(0.0)
}

/// The bundled SFU scenario (carol's Wi-Fi loses 8 % of her uplink from 10 s to 50 s), moved
/// to have started 70 s ago and to be conference `conference`, as the collectors' NDJSON.
pub fn sfu_call(conference: &str) -> Result<String, Box<dyn std::error::Error>> {
    sfu_call_with(conference, &[])
}

/// [`sfu_call`] with its scenario text edited: each (from, to) replaced.
pub fn sfu_call_with(conference: &str, edits: &[(&str, &str)]) -> Result<String, Box<dyn std::error::Error>> {
    scenario_call("examples/scenarios/sfu-wifi-loss.yaml", conference, edits)
}

/// A scenario of the repository (`path` from its root), its text edited (each (from, to)
/// replaced), moved to have started 70 s ago and to be conference `conference`, simulated:
/// every participant's and observing server's NDJSON.
pub fn scenario_call(
    path: &str,
    conference: &str,
    edits: &[(&str, &str)],
) -> Result<String, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR")))?;
    let start = hopscope_model::Timestamp::from_epoch_ms((now_ms() / 1000.0).floor() * 1000.0 - 70_000.0)
        .ok_or("clock")?
        .to_rfc3339();
    // Top-level keys start their line; the scenario's own `conference:` (if any) goes.
    let mut text: String = text
        .lines()
        .filter(|l| !l.starts_with("conference:"))
        .map(|l| if l.starts_with("start:") { format!("start: {start}\n") } else { format!("{l}\n") })
        .collect();
    text = format!("conference: {conference}\n{text}");
    for (from, to) in edits {
        text = text.replace(from, to);
    }
    Ok(hopscope_sim::simulate(&hopscope_sim::Scenario::from_yaml(&text)?).combined_with_servers())
}

/// A server for a test: any free port, the store in `dir`, fast live evaluation, a short
/// inactivity timeout, and `apps` (name, ingest key, secret key). Tests share the machine
/// with other tests, so evaluations take a share of the CPU once 1 s behind: the rest of
/// the suite delays them by about that rather than for as long as it keeps both cores busy.
pub fn test_config(
    dir: &std::path::Path,
    inactivity_timeout_s: f64,
    apps: &[(&str, &str, &str)],
) -> hopscope_server::Config {
    hopscope_server::Config {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.to_path_buf(),
        inactivity_timeout_s,
        evaluate_every_ms: 200,
        live_evaluation_max_lag_s: 1.0,
        apps: apps
            .iter()
            .map(|(name, ingest, secret)| hopscope_server::AppConfig {
                name: (*name).into(),
                ingest_keys: vec![(*ingest).into()],
                secret_keys: vec![(*secret).into()],
                ..hopscope_server::AppConfig::default()
            })
            .collect(),
        ..hopscope_server::Config::default()
    }
}
