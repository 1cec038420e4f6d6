//! Callbacks against real HTTP receivers started by the test: down, then slow, then up,
//! with the server restarted in between; rate-limit summaries; dry runs, dead letters, kill
//! switches and Slack messages; Rhai scripts and WASM plugins naming actions as YAML rules do.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hopscope_actions::{ActionConfig, ActionKind, ActionsConfig, Limits, RetryPolicy};
use hopscope_server::{Config, Running};
use serde_json::Value;

mod common;
use common::{now_ms, sfu_call as call};

const INGEST: &str = "hs_ingest_cb_0123456789abcdef";
const SECRET: &str = "hs_secret_cb_0123456789abcdef";
const HOOK_SECRET: &str = "whsec_0123456789abcdef0123";

type TestResult = Result<(), Box<dyn std::error::Error>>;

const SLOW: u8 = 1;
const UP: u8 = 2;
const NOT_FOUND: u8 = 3;

/// A webhook receiver: verifies signatures, keeps each event once by its idempotency key.
#[derive(Default)]
struct Receiver {
    mode: AtomicU8,
    requests: AtomicUsize,
    bad_signatures: AtomicUsize,
    events: Mutex<HashMap<String, Value>>,
}

async fn hook(State(r): State<Arc<Receiver>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    r.requests.fetch_add(1, Ordering::Relaxed);
    match r.mode.load(Ordering::Relaxed) {
        SLOW => {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            return StatusCode::OK; // too late: the sender has given up
        }
        NOT_FOUND => return StatusCode::NOT_FOUND,
        _ => {}
    }
    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    if hopscope_actions::sign::verify(
        HOOK_SECRET,
        &h("hopscope-timestamp"),
        &h("hopscope-signature"),
        &body,
        now,
        300,
    )
    .is_err()
    {
        r.bad_signatures.fetch_add(1, Ordering::Relaxed);
        return StatusCode::UNAUTHORIZED;
    }
    let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if let Ok(mut e) = r.events.lock() {
        e.entry(h("idempotency-key")).or_insert(value);
    }
    StatusCode::OK
}

async fn slack(State(r): State<Arc<Receiver>>, body: Bytes) -> StatusCode {
    r.requests.fetch_add(1, Ordering::Relaxed);
    let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if let Ok(mut e) = r.events.lock() {
        let n = e.len();
        e.insert(format!("slack-{n}"), value);
    }
    StatusCode::OK
}

async fn serve_receiver(listener: tokio::net::TcpListener, r: Arc<Receiver>) {
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(hook))
        .route("/slack", axum::routing::post(slack))
        .with_state(r);
    let _ = axum::serve(listener, app).await;
}

/// A receiver answering as `mode` says, on a free port: the receiver and its address.
async fn start_receiver(mode: u8) -> Result<(Arc<Receiver>, SocketAddr), std::io::Error> {
    let receiver = Arc::new(Receiver::default());
    receiver.mode.store(mode, Ordering::Relaxed);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(serve_receiver(listener, receiver.clone()));
    Ok((receiver, addr))
}

fn free_port() -> Result<SocketAddr, std::io::Error> {
    std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()
}

fn config(dir: &Path, callbacks: ActionsConfig) -> Config {
    let mut config = common::test_config(dir, 2.0, &[("prod", INGEST, SECRET)]);
    config.apps[0].callbacks = callbacks;
    config
}

fn webhook(url: String) -> ActionConfig {
    ActionConfig {
        kind: ActionKind::Webhook,
        url,
        secret: Some(HOOK_SECRET.into()),
        dry_run: false,
        max_concurrency: 2,
        timeout_s: 0.5,
    }
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy { base_s: 0.1, max_s: 0.4, max_attempts: 200 }
}

/// A rule naming the actions, for every participant who hears loss.
fn rule(actions: &str) -> String {
    format!(
        r#"rules:
  - id: heard-loss
    version: 1
    description: A participant hears audio loss.
    scope: stream
    where: direction == "inbound" && kind == "audio" && active
    condition: loss_percent > 2%
    for: 3s
    severity: error
    category: packet-loss
    source: test
    actions: [{actions}]
    message: "{{participant}} lost {{max:loss_percent:.1}} of the audio from {{sender|the other side}}"
"#
    )
}

async fn setup(server: &Running, client: &reqwest::Client, rule_text: &str, conference: &str) -> TestResult {
    let resp = client
        .put(format!("http://{}/v1/rules/hooks.yaml", server.address))
        .bearer_auth(SECRET)
        .body(rule_text.to_string())
        .send()
        .await?;
    assert_eq!(resp.status().as_u16(), 200, "{}", resp.text().await?);
    let resp = client
        .post(format!("http://{}/v1/observations", server.address))
        .bearer_auth(INGEST)
        .body(call(conference)?)
        .send()
        .await?;
    assert_eq!(resp.status().as_u16(), 202);
    Ok(())
}

async fn deliveries(
    server: &Running,
    client: &reqwest::Client,
    state: &str,
) -> Result<Vec<Value>, reqwest::Error> {
    let v: Value = client
        .get(format!("http://{}/v1/deliveries?state={state}", server.address))
        .bearer_auth(SECRET)
        .send()
        .await?
        .json()
        .await?;
    Ok(v["deliveries"].as_array().cloned().unwrap_or_default())
}

async fn wait_for<F: Fn() -> bool>(what: &str, limit: Duration, f: F) -> TestResult {
    let until = Instant::now() + limit;
    while !f() {
        if Instant::now() > until {
            return Err(format!("timed out waiting for {what}").into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_arrive_exactly_once_through_an_outage_a_slow_receiver_and_a_restart() -> TestResult {
    let dir = tempfile::tempdir()?;
    let hook_addr = free_port()?; // nothing listens yet: the receiver is down
    let callbacks = ActionsConfig {
        actions: [("hook".to_string(), webhook(format!("http://{hook_addr}/hook")))].into(),
        conference_summary: vec!["hook".into()],
        limits: Limits { per_rule: 0, per_conference: 0, window_s: 300.0 },
        retry: fast_retries(),
    };
    let client = reqwest::Client::new();
    let server = hopscope_server::start(config(dir.path(), callbacks.clone())).await?;
    setup(&server, &client, &rule("hook"), "room-cb").await?;

    // Down: findings are raised, deliveries fail and wait.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let pending = deliveries(&server, &client, "pending").await?;
    assert!(!pending.is_empty(), "events wait while the receiver is down");
    assert!(pending.iter().all(|d| d["attempts"].as_u64().unwrap_or(0) >= 1), "{pending:?}");

    // Slow: every attempt times out.
    let receiver = Arc::new(Receiver::default());
    receiver.mode.store(SLOW, Ordering::Relaxed);
    let listener = tokio::net::TcpListener::bind(hook_addr).await?;
    tokio::spawn(serve_receiver(listener, receiver.clone()));
    wait_for("slow attempts", Duration::from_secs(20), || receiver.requests.load(Ordering::Relaxed) >= 3)
        .await?;

    // The server restarts in the middle; nothing in the outbox is lost.
    server.shutdown().await;
    let server = hopscope_server::start(config(dir.path(), callbacks)).await?;
    receiver.mode.store(UP, Ordering::Relaxed);

    // Up: everything arrives, once per event, signed.
    wait_for("the conference summary", Duration::from_secs(60), || {
        receiver.events.lock().map(|e| e.values().any(|v| v["type"] == "conference.ended")).unwrap_or(false)
    })
    .await?;
    let mut settled = false;
    for _ in 0..100 {
        if deliveries(&server, &client, "pending").await?.is_empty() {
            settled = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(settled, "every delivery settles");
    let delivered = deliveries(&server, &client, "delivered").await?;
    let events = receiver.events.lock().map(|e| e.clone()).unwrap_or_default();
    let mut sent: Vec<String> =
        delivered.iter().filter_map(|d| d["event_id"].as_str().map(str::to_string)).collect();
    let mut got: Vec<String> = events.keys().cloned().collect();
    sent.sort();
    got.sort();
    assert_eq!(got, sent, "exactly the events the server delivered, each once");
    assert!(deliveries(&server, &client, "dead").await?.is_empty());
    assert_eq!(receiver.bad_signatures.load(Ordering::Relaxed), 0);
    assert!(receiver.requests.load(Ordering::Relaxed) > got.len(), "retries happened and were deduplicated");
    let raised: Vec<&Value> = events.values().filter(|v| v["type"] == "finding.raised").collect();
    assert!(raised.len() >= 2, "{raised:?}");
    for e in &raised {
        assert_eq!(e["finding"]["rule"], "heard-loss");
        let text = e["text"].as_str().unwrap_or("");
        assert!(
            text.starts_with("[ERROR] ") && text.contains("lost") && text.contains("/v1/conferences/room-cb"),
            "{text}"
        );
    }
    let summary = events.values().find(|v| v["type"] == "conference.ended").ok_or("summary")?;
    assert_eq!(summary["conference"]["outcome"], "completed");
    assert_eq!(summary["conference"]["participants"], 4);
    assert!(
        summary["details"]["narrative"]["summary"]
            .as_str()
            .is_some_and(|s| s.to_lowercase().contains("carol")),
        "{summary}"
    );
    // The audit log has every attempt of a delivery.
    let id = delivered[0]["id"].as_i64().ok_or("id")?;
    let one: Value = client
        .get(format!("http://{}/v1/deliveries/{id}", server.address))
        .bearer_auth(SECRET)
        .send()
        .await?
        .json()
        .await?;
    let attempts = one["attempts"].as_array().map(Vec::len).unwrap_or(0);
    assert!(attempts >= 2, "failed attempts and the success are all logged: {one}");
    // A tampered body does not verify.
    let ts = (now_ms() / 1000.0) as i64;
    let sig = hopscope_actions::sign::sign(HOOK_SECRET, ts, b"{\"a\":1}");
    assert!(
        hopscope_actions::sign::verify(HOOK_SECRET, &ts.to_string(), &sig, b"{\"a\":2}", ts, 300).is_err()
    );
    server.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_hold_back_and_summarise_instead_of_dropping() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (receiver, addr) = start_receiver(UP).await?;
    let callbacks = ActionsConfig {
        actions: [("hook".to_string(), webhook(format!("http://{addr}/hook")))].into(),
        conference_summary: vec![],
        limits: Limits { per_rule: 1, per_conference: 0, window_s: 3.0 },
        retry: fast_retries(),
    };
    let client = reqwest::Client::new();
    let server = hopscope_server::start(config(dir.path(), callbacks)).await?;
    setup(&server, &client, &rule("hook"), "room-rl").await?;
    wait_for("the summary of held events", Duration::from_secs(30), || {
        receiver.events.lock().map(|e| e.values().any(|v| v["type"] == "summary")).unwrap_or(false)
    })
    .await?;
    let events = receiver.events.lock().map(|e| e.clone()).unwrap_or_default();
    let raised = events.values().filter(|v| v["type"] == "finding.raised").count();
    let summary = events.values().find(|v| v["type"] == "summary").ok_or("summary")?;
    let held = summary["held"]["count"].as_u64().unwrap_or(0);
    assert_eq!(raised, 1, "one finding event per window");
    assert!(held >= 1, "{summary}");
    let text = summary["text"].as_str().unwrap_or("");
    assert!(
        text.starts_with(&format!("{held} more like this (rule heard-loss) in the 3 seconds from ")),
        "{text}"
    );
    assert!(text.contains("room-rl"), "{text}");
    assert_eq!(
        deliveries(&server, &client, "summarized").await?.len() as u64,
        held,
        "held events are kept, marked summarised"
    );
    server.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_runs_dead_letters_kill_switches_and_slack() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (_, addr) = start_receiver(NOT_FOUND).await?;
    let (slack_receiver, slack_addr) = start_receiver(UP).await?;
    let mut dry = webhook(format!("http://{addr}/hook"));
    dry.dry_run = true;
    let callbacks = ActionsConfig {
        actions: [
            ("gone".to_string(), webhook(format!("http://{addr}/hook"))),
            ("dry".to_string(), dry),
            (
                "oncall".to_string(),
                ActionConfig {
                    kind: ActionKind::Slack,
                    url: format!("http://{slack_addr}/slack"),
                    secret: None,
                    dry_run: false,
                    max_concurrency: 1,
                    timeout_s: 2.0,
                },
            ),
        ]
        .into(),
        conference_summary: vec![],
        limits: Limits { per_rule: 0, per_conference: 0, window_s: 300.0 },
        retry: fast_retries(),
    };
    let client = reqwest::Client::new();
    let server = hopscope_server::start(config(dir.path(), callbacks)).await?;
    setup(&server, &client, &rule("gone, dry, oncall"), "room-k").await?;
    wait_for("slack messages", Duration::from_secs(30), || {
        slack_receiver.events.lock().map(|e| !e.is_empty()).unwrap_or(false)
    })
    .await?;
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // 404: refused, dead at once, on the dead-letter list; a retry by hand puts it back.
    // Dead with 200 attempts allowed: the 404 was not retried. (An attempt before it may
    // have timed out on a loaded machine, which is retried; the 404 that followed is not.)
    let dead = deliveries(&server, &client, "dead").await?;
    assert!(!dead.is_empty() && dead.iter().all(|d| d["action"] == "gone"), "{dead:?}");
    assert!(
        dead.iter().all(|d| d["last_error"].as_str().unwrap_or("").starts_with("404")),
        "every one dead on its 404: {dead:?}"
    );
    let id = dead[0]["id"].as_i64().ok_or("id")?;
    let resp = client
        .post(format!("http://{}/v1/deliveries/{id}/retry", server.address))
        .bearer_auth(SECRET)
        .send()
        .await?;
    assert_eq!(resp.status().as_u16(), 200);
    // Dry runs are recorded as delivered, with a dry-run attempt, and send nothing.
    let delivered = deliveries(&server, &client, "delivered").await?;
    let dry: Vec<&Value> = delivered.iter().filter(|d| d["action"] == "dry").collect();
    assert!(!dry.is_empty());
    let id = dry[0]["id"].as_i64().ok_or("id")?;
    let one: Value = client
        .get(format!("http://{}/v1/deliveries/{id}", server.address))
        .bearer_auth(SECRET)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(one["attempts"][0]["dry_run"], true);
    assert!(one["body"]["type"].as_str().is_some_and(|t| t.starts_with("finding.")), "{one}");
    // Slack gets readable messages: severity, the link, the message, the rule.
    let messages = slack_receiver.events.lock().map(|e| e.clone()).unwrap_or_default();
    let m = messages
        .values()
        .find(|m| m["blocks"][0]["text"]["text"].as_str().is_some_and(|t| t.contains("*Raised*")))
        .ok_or("a message about a raised finding")?;
    let block = m["blocks"][0]["text"]["text"].as_str().unwrap_or("");
    assert!(
        block.contains("*Raised* · ERROR · <http://")
            && block.contains("|room-k>\n")
            && block.contains("lost"),
        "{block}"
    );
    assert!(
        m["blocks"][1]["elements"][0]["text"].as_str().unwrap_or("").starts_with("rule `heard-loss`"),
        "{m}"
    );

    // Kill switch on the rule: a new call's findings send nothing.
    let before = deliveries(&server, &client, "").await.unwrap_or_default().len();
    let all: Value = client
        .get(format!("http://{}/v1/deliveries?limit=1000", server.address))
        .bearer_auth(SECRET)
        .send()
        .await?
        .json()
        .await?;
    let before_all = all["deliveries"].as_array().map(Vec::len).unwrap_or(before);
    let resp = client
        .put(format!("http://{}/v1/switches/rule/heard-loss", server.address))
        .bearer_auth(SECRET)
        .json(&serde_json::json!({"enabled": false}))
        .send()
        .await?;
    assert_eq!(resp.status().as_u16(), 200);
    let resp = client
        .post(format!("http://{}/v1/observations", server.address))
        .bearer_auth(INGEST)
        .body(call("room-k2")?)
        .send()
        .await?;
    assert_eq!(resp.status().as_u16(), 202);
    tokio::time::sleep(Duration::from_millis(3000)).await;
    let all: Value = client
        .get(format!("http://{}/v1/deliveries?limit=1000", server.address))
        .bearer_auth(SECRET)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(
        all["deliveries"].as_array().map(Vec::len).unwrap_or(0),
        before_all,
        "a killed rule sends nothing"
    );
    let off: Value = client
        .get(format!("http://{}/v1/switches", server.address))
        .bearer_auth(SECRET)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(off["off"][0]["name"], "heard-loss");
    server.shutdown().await;
    Ok(())
}

/// The example receiver (examples/callbacks/webhook_receiver.py) accepts what the server
/// signs, and refuses a tampered body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_python_receiver_verifies_real_deliveries() -> TestResult {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir()?;
    let port = free_port()?.port();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/callbacks/webhook_receiver.py");
    let mut child = std::process::Command::new("python3")
        .args([script, "--port", &port.to_string(), "--secret", HOOK_SECRET])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    let stderr = child.stderr.take().ok_or("stderr")?;
    let mut ready = String::new();
    BufReader::new(stderr).read_line(&mut ready)?;
    assert!(ready.starts_with("listening on"), "{ready}");
    let callbacks = ActionsConfig {
        actions: [("hook".to_string(), webhook(format!("http://127.0.0.1:{port}/hook")))].into(),
        conference_summary: vec!["hook".into()],
        limits: Limits { per_rule: 0, per_conference: 0, window_s: 300.0 },
        retry: fast_retries(),
    };
    let client = reqwest::Client::new();
    let server = hopscope_server::start(config(dir.path(), callbacks)).await?;
    setup(&server, &client, &rule("hook"), "room-py").await?;
    let mut done = false;
    for _ in 0..150 {
        let delivered = deliveries(&server, &client, "delivered").await?;
        if delivered.iter().any(|d| d["kind"] == "conference.ended") {
            done = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(done, "the summary reached the Python receiver");
    assert!(deliveries(&server, &client, "dead").await?.is_empty(), "every signature verified");
    // Tampered: same headers, different body.
    let ts = (now_ms() / 1000.0) as i64;
    let sig = hopscope_actions::sign::sign(HOOK_SECRET, ts, b"{\"type\":\"x\"}");
    let resp = client
        .post(format!("http://127.0.0.1:{port}/hook"))
        .header("Hopscope-Timestamp", ts.to_string())
        .header("Hopscope-Signature", sig)
        .body("{\"type\":\"y\"}")
        .send()
        .await?;
    assert_eq!(resp.status().as_u16(), 401);
    server.shutdown().await;
    child.kill()?;
    let out = child.wait_with_output()?;
    let printed: Vec<Value> =
        String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    assert!(printed.iter().any(|e| e["type"] == "finding.raised"));
    let ids: std::collections::HashSet<&str> = printed.iter().filter_map(|e| e["id"].as_str()).collect();
    assert_eq!(ids.len(), printed.len(), "each event printed once");
    Ok(())
}

/// A Rhai script naming the `hook` action, for every conference.
const SCRIPT_WITH_ACTION: &str = r#"
fn describe() {
    #{ id: "scripted-headcount", version: 1, description: "How many took part", scope: "conference",
       severity: "warning", category: "call-outcome", actions: ["hook"] }
}
fn evaluate(conf) {
    [#{ about: conf, message: `${conf.participants().len()} participants` }]
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripts_and_plugins_trigger_the_actions_they_name() -> TestResult {
    let plugins = hopscope_tests::plugins::build();
    let dir = tempfile::tempdir()?;
    let (receiver, addr) = start_receiver(UP).await?;
    // The sla-check plugin names `sla-breach` in its findings; the script names `hook`.
    let callbacks = ActionsConfig {
        actions: [
            ("hook".to_string(), webhook(format!("http://{addr}/hook"))),
            ("sla-breach".to_string(), webhook(format!("http://{addr}/hook"))),
        ]
        .into(),
        conference_summary: vec![],
        limits: Limits { per_rule: 0, per_conference: 0, window_s: 300.0 },
        retry: fast_retries(),
    };
    let client = reqwest::Client::new();
    let server = hopscope_server::start(config(dir.path(), callbacks)).await?;
    for (name, body) in [
        ("headcount.rhai", SCRIPT_WITH_ACTION.as_bytes().to_vec()),
        ("sla-check.wasm", std::fs::read(plugins.join("sla_check.wasm"))?),
    ] {
        let resp = client
            .put(format!("http://{}/v1/rules/{name}", server.address))
            .bearer_auth(SECRET)
            .body(body)
            .send()
            .await?;
        assert_eq!(resp.status().as_u16(), 200, "{name}: {}", resp.text().await?);
    }
    let resp = client
        .post(format!("http://{}/v1/observations", server.address))
        .bearer_auth(INGEST)
        // Carol's uplink loses 40 % all call long: bad enough to break the plugin's MOS contract.
        .body(common::sfu_call_with(
            "room-kinds",
            &[("{from: 10s, to: 50s, uplink: {loss: 8%}}", "{from: 0s, to: 60s, uplink: {loss: 40%}}")],
        )?)
        .send()
        .await?;
    assert_eq!(resp.status().as_u16(), 202);

    let raised_by = |rule: &str| {
        receiver
            .events
            .lock()
            .map(|e| {
                e.values()
                    .filter(|v| v["type"] == "finding.raised" && v["finding"]["rule"] == rule)
                    .cloned()
                    .collect::<Vec<Value>>()
            })
            .unwrap_or_default()
    };
    wait_for("the script's and the plugin's findings", Duration::from_secs(30), || {
        !raised_by("scripted-headcount").is_empty() && !raised_by("sla-audio-mos").is_empty()
    })
    .await?;
    let script = &raised_by("scripted-headcount")[0];
    assert_eq!(script["finding"]["severity"], "warning", "{script}");
    assert!(script["text"].as_str().is_some_and(|t| t.contains("4 participants")), "{script}");
    let plugin = &raised_by("sla-audio-mos")[0];
    assert!(plugin["text"].as_str().is_some_and(|t| t.contains("/v1/conferences/room-kinds")), "{plugin}");
    // Each went to the action it named, signed like any other delivery.
    let actions_of = |delivered: &[Value], rule: &str| {
        let mut actions: Vec<String> = delivered
            .iter()
            .filter(|d| d["rule"] == rule)
            .map(|d| d["action"].as_str().unwrap_or("").to_string())
            .collect();
        actions.dedup();
        actions
    };
    let mut delivered = Vec::new();
    for _ in 0..50 {
        delivered = deliveries(&server, &client, "delivered").await?;
        if !actions_of(&delivered, "sla-audio-mos").is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(actions_of(&delivered, "scripted-headcount"), ["hook"], "{delivered:?}");
    assert_eq!(actions_of(&delivered, "sla-audio-mos"), ["sla-breach"], "{delivered:?}");
    assert_eq!(receiver.bad_signatures.load(Ordering::Relaxed), 0);
    server.shutdown().await;
    Ok(())
}
