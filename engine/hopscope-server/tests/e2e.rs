//! The server end to end, over real HTTP on loopback: a simulated call ingested live while
//! a subscriber watches findings arrive, app isolation, bad input, restart.

use std::path::Path;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use hopscope_server::{Config, Running};
use serde_json::Value;

mod common;
use common::now_ms;

const PROD_INGEST: &str = "hs_ingest_prod_0123456789abcdef";
const PROD_SECRET: &str = "hs_secret_prod_0123456789abcdef";
const STAGING_INGEST: &str = "hs_ingest_staging_0123456789ab";
const STAGING_SECRET: &str = "hs_secret_staging_0123456789ab";

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn config(dir: &Path) -> Config {
    common::test_config(
        dir,
        2.0,
        &[("prod", PROD_INGEST, PROD_SECRET), ("staging", STAGING_INGEST, STAGING_SECRET)],
    )
}

/// The SFU call as NDJSON lines with their timestamps, in time order.
fn simulated_call() -> Result<Vec<(f64, String)>, Box<dyn std::error::Error>> {
    let mut lines = Vec::new();
    for line in common::sfu_call("room-42")?.lines() {
        let v: Value = serde_json::from_str(line)?;
        lines.push((v["timestamp"].as_f64().ok_or("timestamp")?, line.to_string()));
    }
    lines.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok(lines)
}

fn url(server: &Running, path: &str) -> String {
    format!("http://{}{path}", server.address)
}

async fn post(
    client: &reqwest::Client,
    server: &Running,
    key: &str,
    body: String,
    batch: Option<&str>,
) -> Result<(u16, Value), reqwest::Error> {
    let mut req = client.post(url(server, "/v1/observations")).bearer_auth(key).body(body);
    if let Some(b) = batch {
        req = req.header("Idempotency-Key", b);
    }
    let resp = req.send().await?;
    let status = resp.status().as_u16();
    Ok((status, resp.json().await.unwrap_or(Value::Null)))
}

async fn get(
    client: &reqwest::Client,
    server: &Running,
    key: &str,
    path: &str,
) -> Result<(u16, Value), reqwest::Error> {
    let resp = client.get(url(server, path)).bearer_auth(key).send().await?;
    let status = resp.status().as_u16();
    Ok((status, resp.json().await.unwrap_or(Value::Null)))
}

/// Reads server-sent events until `ended` (or the deadline), returning (event, data).
async fn collect_events(resp: reqwest::Response, deadline: Duration) -> Vec<(String, Value)> {
    let mut events = Vec::new();
    let mut buffer = String::new();
    let mut stream = resp.bytes_stream();
    let until = Instant::now() + deadline;
    while let Ok(Some(Ok(chunk))) = tokio::time::timeout_at(until.into(), stream.next()).await {
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let mut name = String::new();
            let mut data = String::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    name = v.trim().to_string();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim_start());
                }
            }
            if name.is_empty() {
                continue; // keep-alive comment
            }
            let done = name == "ended";
            events.push((name, serde_json::from_str(&data).unwrap_or(Value::Null)));
            if done {
                return events;
            }
        }
    }
    events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_call_is_diagnosed_as_it_runs_and_found_by_user_after_it_ends() -> TestResult {
    let dir = tempfile::tempdir()?;
    let server = hopscope_server::start(config(dir.path())).await?;
    let client = reqwest::Client::new();
    let lines = simulated_call()?;
    let t0 = lines[0].0;

    // The first 10 s of the call, then a subscriber.
    let batch = |from: f64, to: f64| -> String {
        lines.iter().filter(|(t, _)| *t >= t0 + from && *t < t0 + to).map(|(_, l)| format!("{l}\n")).collect()
    };
    let (status, reply) = post(&client, &server, PROD_INGEST, batch(0.0, 10_000.0), Some("b0")).await?;
    assert_eq!(status, 202, "{reply}");
    assert_eq!(reply["conferences"], serde_json::json!(["room-42"]));
    let events =
        client.get(url(&server, &format!("/v1/conferences/room-42/events?key={PROD_SECRET}"))).send().await?;
    assert_eq!(events.status().as_u16(), 200);
    let watcher = tokio::spawn(collect_events(events, Duration::from_secs(60)));

    // The rest, 10 s of call per batch, a little apart; one batch retried.
    for (i, from) in (1..7).map(|i| (i, i as f64 * 10_000.0)) {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let body = batch(from, from + 10_000.0);
        let (status, reply) =
            post(&client, &server, PROD_INGEST, body.clone(), Some(&format!("b{i}"))).await?;
        assert_eq!(status, 202, "{reply}");
        if i == 3 {
            let (status, reply) = post(&client, &server, PROD_INGEST, body, Some("b3")).await?;
            assert_eq!(
                (status, reply["result"].as_str()),
                (200, Some("duplicate")),
                "a retried batch is not stored twice"
            );
        }
    }

    // Findings arrive while the call runs; it ends by inactivity with its final state.
    let events = watcher.await?;
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.contains(&"update"), "{names:?}");
    assert_eq!(names.last(), Some(&"ended"), "{names:?}");
    let raised: Vec<&Value> = events
        .iter()
        .filter(|(n, d)| n == "finding" && d["status"] == "raised")
        .map(|(_, d)| &d["finding"])
        .collect();
    assert!(
        raised.iter().any(|f| f["message"].as_str().is_some_and(|m| m.contains("carol"))),
        "a finding about carol's loss arrives live: {raised:#?}"
    );
    let (_, last) = &events[events.len() - 1];
    assert_eq!(last["state"], "ended");
    assert_eq!(last["summary"]["outcome"], "completed");
    assert_eq!(last["summary"]["participants"], 4);

    // Support finds the call by carol's user id, with the diagnosis and the narrative.
    let (status, list) = get(&client, &server, PROD_SECRET, "/v1/users/user-3/conferences").await?;
    assert_eq!(status, 200);
    let listed = list["conferences"].as_array().ok_or("list")?;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], "room-42");
    assert_eq!(listed[0]["state"], "ended");
    let link = listed[0]["url"].as_str().ok_or("url")?.to_string();
    assert!(link.ends_with("/v1/conferences/room-42"));
    let (status, detail) = get(&client, &server, PROD_SECRET, "/v1/conferences/room-42").await?;
    assert_eq!(status, 200);
    assert_eq!(detail["diagnosis"]["participants"].as_array().map(Vec::len), Some(4));
    let narrative = detail["diagnosis"]["narrative"]["summary"].as_str().unwrap_or("");
    assert!(narrative.to_lowercase().contains("carol's network"), "{narrative}");
    let stored: u64 = detail["conference"]["observations"].as_u64().unwrap_or(0);
    assert_eq!(stored as usize, lines.len(), "every observation once, the retry not again");

    // Live evaluations read each batch once, keeping what they read; the final diagnosis
    // is still exactly what reading the whole call at once gives.
    let metrics = client.get(url(&server, "/metrics")).send().await?.text().await?;
    let reads = |how: &str| -> u64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&format!("hopscope_live_reads_total{{read=\"{how}\"}} ")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    assert_eq!(reads("started"), 1, "{metrics}");
    // At least the final evaluation carries on from what the first one read. How many more
    // run while the call does depends on the machine's load: evaluations yield the CPU to
    // everything else (10 nice steps down), and a busy CI machine may run only a few.
    assert!(reads("continued") >= 1, "{metrics}");
    assert_eq!(reads("whole"), 0, "{metrics}");
    let all: String = lines.iter().map(|(_, l)| format!("{l}\n")).collect();
    let resp = client
        .post(url(&server, &format!("/v1/evaluate?name={}", hopscope_store::NATIVE_INPUT)))
        .bearer_auth(PROD_SECRET)
        .body(all)
        .send()
        .await?;
    let at_once: Value = resp.json().await?;
    assert_eq!(detail["diagnosis"], at_once["conferences"][0], "read as it came = read at once");

    // Feedback attaches to the call.
    let resp = client
        .post(url(&server, "/v1/feedback"))
        .bearer_auth(PROD_INGEST)
        .json(&serde_json::json!({"conference": "room-42", "user": "user-3", "rating": 2, "comment": "carol kept cutting out"}))
        .send()
        .await?;
    assert_eq!(resp.status().as_u16(), 201);
    let (_, detail) = get(&client, &server, PROD_SECRET, "/v1/conferences/room-42").await?;
    assert_eq!(detail["feedback"][0]["rating"], 2);

    // Listing by category and outcome.
    let (_, by_category) =
        get(&client, &server, PROD_SECRET, "/v1/conferences?category=packet-loss&outcome=completed").await?;
    assert_eq!(by_category["conferences"].as_array().map(Vec::len), Some(1));
    let (_, none) = get(&client, &server, PROD_SECRET, "/v1/conferences?category=turn").await?;
    assert_eq!(none["conferences"].as_array().map(Vec::len), Some(0));
    server.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apps_and_keys_are_isolated() -> TestResult {
    let dir = tempfile::tempdir()?;
    let server = hopscope_server::start(config(dir.path())).await?;
    let client = reqwest::Client::new();
    let now = now_ms();
    let obs = |app: &str| {
        format!(
            r#"{{"app":"{app}","conference":"secret-call","participant":"alice","timestamp":{now},"events":[{{"type":"iceConnectionState","value":"checking"}}]}}"#
        )
    };
    assert_eq!(post(&client, &server, PROD_INGEST, obs("prod"), None).await?.0, 202);
    // Prod's conference is invisible to staging, whose keys cannot write into prod either.
    assert_eq!(get(&client, &server, STAGING_SECRET, "/v1/conferences/secret-call").await?.0, 404);
    let (_, listed) = get(&client, &server, STAGING_SECRET, "/v1/conferences").await?;
    assert_eq!(listed["conferences"].as_array().map(Vec::len), Some(0));
    let (status, err) = post(&client, &server, STAGING_INGEST, obs("prod"), None).await?;
    assert_eq!((status, err["error"]["code"].as_str()), (422, Some("bad_observation")));
    // An ingest key writes but never reads.
    let (status, err) = get(&client, &server, PROD_INGEST, "/v1/conferences/secret-call").await?;
    assert_eq!((status, err["error"]["code"].as_str()), (403, Some("ingest_key_cannot_read")));
    let (status, err) = get(&client, &server, "hs_secret_made_up_000000000000", "/v1/conferences").await?;
    assert_eq!((status, err["error"]["code"].as_str()), (401, Some("unknown_key")));
    let resp = client.get(url(&server, "/v1/conferences")).send().await?;
    assert_eq!(resp.status().as_u16(), 401);
    assert_eq!(get(&client, &server, PROD_SECRET, "/v1/conferences/secret-call").await?.0, 200);
    server.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_specific_errors_and_stores_nothing() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut cfg = config(dir.path());
    cfg.max_body_bytes = 64 * 1024;
    cfg.rate_limit_per_key = 1.0;
    cfg.rate_limit_burst = 8.0;
    let server = hopscope_server::start(cfg).await?;
    let client = reqwest::Client::new();
    let code = |v: &Value| v["error"]["code"].as_str().unwrap_or("").to_string();

    let (s, e) = post(&client, &server, PROD_INGEST, "{\"conference\": oops}".into(), None).await?;
    assert_eq!((s, code(&e)), (400, "bad_json".into()));
    let (s, e) = post(&client, &server, PROD_INGEST, "x".repeat(70 * 1024), None).await?;
    assert_eq!((s, code(&e)), (413, "body_too_large".into()));
    let (s, e) =
        post(&client, &server, PROD_INGEST, r#"{"conference":"c","participant":"a"}"#.into(), None).await?;
    assert_eq!((s, code(&e)), (422, "bad_observation".into()));
    assert!(e["error"]["details"][0].as_str().unwrap_or("").contains("no `timestamp`"), "{e}");
    let resp = client.get(url(&server, "/v1/nope")).bearer_auth(PROD_SECRET).send().await?;
    assert_eq!(resp.status().as_u16(), 404);
    assert_eq!(code(&resp.json().await?), "no_such_route");
    let resp = client.delete(url(&server, "/v1/conferences")).bearer_auth(PROD_SECRET).send().await?;
    assert_eq!(resp.status().as_u16(), 405);
    let resp = client
        .post(url(&server, "/v1/feedback"))
        .bearer_auth(PROD_INGEST)
        .json(&serde_json::json!({"conference": "c", "rating": 9}))
        .send()
        .await?;
    assert_eq!(resp.status().as_u16(), 422);
    // A flood from one key: 429 with Retry-After once the burst is spent.
    let mut throttled = None;
    for _ in 0..20 {
        let resp =
            client.post(url(&server, "/v1/observations")).bearer_auth(PROD_INGEST).body("[]").send().await?;
        if resp.status().as_u16() == 429 {
            throttled = resp.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_string);
            break;
        }
    }
    assert_eq!(throttled.as_deref(), Some("1"));
    let (_, listed) = get(&client, &server, PROD_SECRET, "/v1/conferences").await?;
    assert_eq!(
        listed["conferences"].as_array().map(Vec::len),
        Some(0),
        "nothing of the bad batches was stored"
    );
    server.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evaluate_diagnoses_uploaded_dumps_without_storing_them() -> TestResult {
    let dir = tempfile::tempdir()?;
    let server = hopscope_server::start(config(dir.path())).await?;
    let client = reqwest::Client::new();
    let base = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/conferences/lossy-p2p");
    let mut form = reqwest::multipart::Form::new();
    for name in ["alice.webrtc-internals.json", "bob.webrtc-internals.json"] {
        let bytes = std::fs::read(format!("{base}/{name}"))?;
        form = form.part(name, reqwest::multipart::Part::bytes(bytes).file_name(name));
    }
    let resp =
        client.post(url(&server, "/v1/evaluate")).bearer_auth(PROD_SECRET).multipart(form).send().await?;
    assert_eq!(resp.status().as_u16(), 200);
    let body: Value = resp.json().await?;
    let conferences = body["conferences"].as_array().ok_or("conferences")?;
    assert_eq!(conferences.len(), 1, "the two dumps are one call");
    assert_eq!(conferences[0]["participants"].as_array().map(Vec::len), Some(2));
    assert!(conferences[0]["findings"].as_array().is_some_and(|f| !f.is_empty()));
    // Same bytes, one file: one participant.
    let bytes = std::fs::read(format!("{base}/alice.webrtc-internals.json"))?;
    let resp = client
        .post(url(&server, "/v1/evaluate?name=alice.json"))
        .bearer_auth(PROD_SECRET)
        .body(bytes)
        .send()
        .await?;
    let body: Value = resp.json().await?;
    assert_eq!(body["conferences"][0]["participants"][0]["id"], "alice");
    let resp =
        client.post(url(&server, "/v1/evaluate")).bearer_auth(PROD_SECRET).body("not a dump").send().await?;
    assert_eq!(resp.status().as_u16(), 422);
    let resp = client.post(url(&server, "/v1/evaluate")).bearer_auth(PROD_INGEST).body("{}").send().await?;
    assert_eq!(resp.status().as_u16(), 403, "evaluation costs CPU: secret keys only");
    let (_, listed) = get(&client, &server, PROD_SECRET, "/v1/conferences").await?;
    assert_eq!(listed["conferences"].as_array().map(Vec::len), Some(0));
    server.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_resumes_live_conferences_from_the_store() -> TestResult {
    let dir = tempfile::tempdir()?;
    let lines = simulated_call()?;
    let half = lines.len() / 2;
    let client = reqwest::Client::new();
    {
        let mut cfg = config(dir.path());
        cfg.inactivity_timeout_s = 3600.0;
        let server = hopscope_server::start(cfg).await?;
        let body: String = lines[..half].iter().map(|(_, l)| format!("{l}\n")).collect();
        assert_eq!(post(&client, &server, PROD_INGEST, body, Some("first-half")).await?.0, 202);
        server.shutdown().await;
    }
    let server = hopscope_server::start(config(dir.path())).await?;
    let (_, c) = get(&client, &server, PROD_SECRET, "/v1/conferences/room-42").await?;
    assert_eq!(c["conference"]["state"], "live", "still live after the restart");
    let body: String = lines[half..].iter().map(|(_, l)| format!("{l}\n")).collect();
    assert_eq!(post(&client, &server, PROD_INGEST, body.clone(), Some("second-half")).await?.0, 202);
    // The first half, retried across the restart, is still known.
    let first: String = lines[..half].iter().map(|(_, l)| format!("{l}\n")).collect();
    assert_eq!(post(&client, &server, PROD_INGEST, first, Some("first-half")).await?.0, 200);
    let events =
        client.get(url(&server, "/v1/conferences/room-42/events")).bearer_auth(PROD_SECRET).send().await?;
    let events = collect_events(events, Duration::from_secs(30)).await;
    assert_eq!(events.last().map(|(n, _)| n.as_str()), Some("ended"));
    let (_, c) = get(&client, &server, PROD_SECRET, "/v1/conferences/room-42").await?;
    assert_eq!(c["conference"]["observations"].as_u64().map(|n| n as usize), Some(lines.len()));
    assert_eq!(c["diagnosis"]["participants"].as_array().map(Vec::len), Some(4));
    server.shutdown().await;
    Ok(())
}

const SLA_RULE: &str = r#"rules:
  - id: sla-audio-loss
    version: 1
    description: Our SLA allows at most 1 % audio loss.
    scope: stream
    where: direction == "inbound" && kind == "audio" && active
    condition: loss_percent > 1%
    for: 3s
    severity: error
    category: packet-loss
    source: customer SLA, section 4
    message: "{participant} lost {max:loss_percent:.1} of the audio: SLA breach"
"#;

async fn evaluate_lossy(
    client: &reqwest::Client,
    server: &Running,
    key: &str,
) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let body = evaluate_lossy_body(client, server, key).await?;
    Ok(body["conferences"][0]["findings"]
        .as_array()
        .map(|f| f.iter().filter_map(|f| f["rule"].as_str().map(str::to_string)).collect())
        .unwrap_or_default())
}

/// `/v1/evaluate` on the lossy peer-to-peer dumps: the whole answer.
async fn evaluate_lossy_body(
    client: &reqwest::Client,
    server: &Running,
    key: &str,
) -> Result<Value, Box<dyn std::error::Error>> {
    let base = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/conferences/lossy-p2p");
    let mut form = reqwest::multipart::Form::new();
    for name in ["alice.webrtc-internals.json", "bob.webrtc-internals.json"] {
        form = form.part(
            name,
            reqwest::multipart::Part::bytes(std::fs::read(format!("{base}/{name}"))?).file_name(name),
        );
    }
    let body: Value = client
        .post(url(server, "/v1/evaluate"))
        .bearer_auth(key)
        .multipart(form)
        .send()
        .await?
        .json()
        .await?;
    Ok(body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_are_uploaded_checked_switched_and_kept_per_app() -> TestResult {
    let dir = tempfile::tempdir()?;
    let server = hopscope_server::start(config(dir.path())).await?;
    let client = reqwest::Client::new();
    let put = |name: &str, text: &str, key: &str| {
        client.put(url(&server, &format!("/v1/rules/{name}"))).bearer_auth(key).body(text.to_string()).send()
    };

    // A broken file: the same diagnostics as the CLI, with file:line:col; nothing changes.
    let broken = SLA_RULE.replace("loss_percent > 1%", "los_percent > 1%");
    let resp = client
        .post(url(&server, "/v1/rules/check"))
        .bearer_auth(PROD_SECRET)
        .body(broken.clone())
        .send()
        .await?;
    let checked: Value = resp.json().await?;
    assert_eq!(checked["ok"], false);
    let message = checked["messages"][0].as_str().unwrap_or("");
    assert!(message.contains("uploaded:check.yaml:7:") && message.contains("loss_percent"), "{message}");
    let resp = put("sla.yaml", &broken, PROD_SECRET).await?;
    assert_eq!(resp.status().as_u16(), 422);
    let err: Value = resp.json().await?;
    assert_eq!(err["error"]["code"], "rules_invalid");
    assert!(!evaluate_lossy(&client, &server, PROD_SECRET).await?.contains(&"sla-audio-loss".to_string()));

    // A good one takes effect at once, for this app only.
    let resp = put("sla.yaml", SLA_RULE, PROD_SECRET).await?;
    assert_eq!(resp.status().as_u16(), 200);
    let uploaded: Value = resp.json().await?;
    assert_eq!(uploaded["rules"], serde_json::json!(["sla-audio-loss"]));
    assert_eq!(uploaded["file"]["version"], 1);
    assert!(evaluate_lossy(&client, &server, PROD_SECRET).await?.contains(&"sla-audio-loss".to_string()));
    assert!(!evaluate_lossy(&client, &server, STAGING_SECRET).await?.contains(&"sla-audio-loss".to_string()));
    let (_, listed) = get(&client, &server, PROD_SECRET, "/v1/rules").await?;
    assert_eq!(listed["files"][0]["name"], "sla.yaml");
    assert!(listed["rules"].as_array().is_some_and(|r| r.iter().any(|r| r["id"] == "sla-audio-loss")));

    // A broken new version is refused and the good one stays in force.
    assert_eq!(put("sla.yaml", "rules: [", PROD_SECRET).await?.status().as_u16(), 422);
    assert!(evaluate_lossy(&client, &server, PROD_SECRET).await?.contains(&"sla-audio-loss".to_string()));
    // Ids stay unique across files.
    assert_eq!(put("copy.yaml", SLA_RULE, PROD_SECRET).await?.status().as_u16(), 422);
    // Ingest keys cannot change rules.
    assert_eq!(put("x.yaml", SLA_RULE, PROD_INGEST).await?.status().as_u16(), 403);

    // Naming an action the app does not configure loads, with a warning.
    let paging = SLA_RULE
        .replace("sla-audio-loss", "sla-paging")
        .replace("    source:", "    actions: [nowhere]\n    source:");
    let resp = put("paging.yaml", &paging, PROD_SECRET).await?;
    assert_eq!(resp.status().as_u16(), 200);
    let uploaded: Value = resp.json().await?;
    let warning = uploaded["warnings"][0].as_str().unwrap_or("");
    assert!(
        warning
            .starts_with("rule `sla-paging` names the action `nowhere`, which app `prod` does not configure"),
        "{uploaded}"
    );
    let resp = client.delete(url(&server, "/v1/rules/paging.yaml")).bearer_auth(PROD_SECRET).send().await?;
    assert_eq!(resp.status().as_u16(), 204);

    // Off, on, gone.
    let patch = |enabled: bool| {
        client
            .patch(url(&server, "/v1/rules/sla.yaml"))
            .bearer_auth(PROD_SECRET)
            .json(&serde_json::json!({"enabled": enabled}))
            .send()
    };
    assert_eq!(patch(false).await?.status().as_u16(), 200);
    assert!(!evaluate_lossy(&client, &server, PROD_SECRET).await?.contains(&"sla-audio-loss".to_string()));
    assert_eq!(patch(true).await?.status().as_u16(), 200);
    assert!(evaluate_lossy(&client, &server, PROD_SECRET).await?.contains(&"sla-audio-loss".to_string()));
    // Uploaded rules survive a restart.
    server.shutdown().await;
    let server = hopscope_server::start(config(dir.path())).await?;
    assert!(evaluate_lossy(&client, &server, PROD_SECRET).await?.contains(&"sla-audio-loss".to_string()));
    let resp = client.delete(url(&server, "/v1/rules/sla.yaml")).bearer_auth(PROD_SECRET).send().await?;
    assert_eq!(resp.status().as_u16(), 204);
    let resp = client.delete(url(&server, "/v1/rules/sla.yaml")).bearer_auth(PROD_SECRET).send().await?;
    assert_eq!(resp.status().as_u16(), 404);
    assert!(!evaluate_lossy(&client, &server, PROD_SECRET).await?.contains(&"sla-audio-loss".to_string()));
    server.shutdown().await;
    Ok(())
}

/// A script every evaluation runs: one conference finding naming how many took part.
const HEADCOUNT_SCRIPT: &str = r#"
fn describe() {
    #{ id: "headcount", version: 1, description: "How many took part", scope: "conference",
       severity: "info", category: "call-outcome" }
}
fn evaluate(conf) {
    [#{ about: conf, message: `${conf.participants().len()} participants` }]
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripts_and_plugins_are_uploaded_per_app_and_run_after_the_yaml_rules() -> TestResult {
    let plugins = hopscope_tests::plugins::build();
    let dir = tempfile::tempdir()?;
    let server = hopscope_server::start(config(dir.path())).await?;
    let client = reqwest::Client::new();
    let put = |name: &str, body: Vec<u8>| {
        client.put(url(&server, &format!("/v1/rules/{name}"))).bearer_auth(PROD_SECRET).body(body).send()
    };
    let has = |rules: &[String], id: &str| rules.iter().any(|r| r == id);

    // A Rhai script: checked like the CLI checks it, then in force for this app only.
    let broken = HEADCOUNT_SCRIPT.replace("conf.participants().len()", "conf.participants(.len()");
    let checked: Value = client
        .post(url(&server, "/v1/rules/check?name=headcount.rhai"))
        .bearer_auth(PROD_SECRET)
        .body(broken.clone())
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(checked["ok"], false, "{checked}");
    let message = checked["messages"][0].as_str().unwrap_or("");
    assert!(message.starts_with("uploaded:headcount.rhai:"), "{message}");
    assert_eq!(put("headcount.rhai", broken.into_bytes()).await?.status().as_u16(), 422);
    let resp = put("headcount.rhai", HEADCOUNT_SCRIPT.as_bytes().to_vec()).await?;
    assert_eq!(resp.status().as_u16(), 200);
    let uploaded: Value = resp.json().await?;
    assert_eq!(uploaded["rules"], serde_json::json!(["headcount"]));
    assert!(has(&evaluate_lossy(&client, &server, PROD_SECRET).await?, "headcount"));
    assert!(!has(&evaluate_lossy(&client, &server, STAGING_SECRET).await?, "headcount"));

    // A WASM plugin, built from source: loads, lists as `wasm`, and finds on the lossy call.
    let sla = std::fs::read(plugins.join("sla_check.wasm"))?;
    assert!(!has(&evaluate_lossy(&client, &server, PROD_SECRET).await?, "sla-audio-mos"));
    let resp = put("sla-check.wasm", sla).await?;
    assert_eq!(resp.status().as_u16(), 200);
    let uploaded: Value = resp.json().await?;
    assert!(
        uploaded["rules"].as_array().is_some_and(|r| r.iter().any(|r| r == "sla-audio-mos")),
        "{uploaded}"
    );
    let found = evaluate_lossy(&client, &server, PROD_SECRET).await?;
    assert!(
        has(&found, "sla-audio-mos") && has(&found, "headcount") && has(&found, "audio-packet-loss"),
        "{found:?}"
    );
    let (_, listed) = get(&client, &server, PROD_SECRET, "/v1/rules").await?;
    let kind_of = |id: &str| {
        listed["rules"].as_array().and_then(|r| r.iter().find(|r| r["id"] == id)).map(|r| r["kind"].clone())
    };
    assert_eq!(kind_of("sla-audio-mos"), Some(Value::from("wasm")));
    assert_eq!(kind_of("headcount"), Some(Value::from("rhai")));
    assert_eq!(kind_of("audio-packet-loss"), Some(Value::from("yaml")));

    // What cannot load is refused with why, and what is in force stays: a file that is not a
    // component, a plugin importing what the sandbox does not offer, a name of no kind.
    let resp = put("junk.wasm", b"not a component".to_vec()).await?;
    assert_eq!(resp.status().as_u16(), 422);
    let err: Value = resp.json().await?;
    assert!(
        err["error"]["details"][0].as_str().is_some_and(|d| d.starts_with("uploaded:junk.wasm:")),
        "{err}"
    );
    let resp = put("reach.wasm", std::fs::read(plugins.join("hostile_import.wasm"))?).await?;
    assert_eq!(resp.status().as_u16(), 422);
    assert_eq!(put("notes.txt", b"hello".to_vec()).await?.status().as_u16(), 400);
    // Ids stay unique across YAML, scripts and plugins.
    let clash = HEADCOUNT_SCRIPT.replace("\"headcount\"", "\"audio-packet-loss\"");
    let resp = put("clash.rhai", clash.into_bytes()).await?;
    assert_eq!(resp.status().as_u16(), 422);
    let err: Value = resp.json().await?;
    let detail = err["error"]["details"][0].as_str().unwrap_or("");
    assert!(
        detail.starts_with("uploaded:clash.rhai: rule id `audio-packet-loss` is already defined in"),
        "{err}"
    );
    assert!(has(&evaluate_lossy(&client, &server, PROD_SECRET).await?, "sla-audio-mos"));

    // A script that never ends loads (it is valid Rhai), fails alone on each evaluation
    // under its limits, and the other rules still give their findings.
    let spin = HEADCOUNT_SCRIPT.replace("\"headcount\"", "\"spin\"").replace("[#{", "loop {} [#{");
    assert_eq!(put("spin.rhai", spin.into_bytes()).await?.status().as_u16(), 200);
    let found = evaluate_lossy(&client, &server, PROD_SECRET).await?;
    assert!(has(&found, "headcount") && has(&found, "sla-audio-mos") && !has(&found, "spin"), "{found:?}");
    let body = evaluate_lossy_body(&client, &server, PROD_SECRET).await?;
    let error = body["rule_errors"][0].as_str().unwrap_or("");
    assert!(error.starts_with("rule `spin`: stopped after") && error.contains("operations"), "{error}");
    let metrics = client.get(url(&server, "/metrics")).send().await?.text().await?;
    let failed: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("hopscope_rule_errors_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0);
    assert!(failed >= 2.0, "two refused uploads and a failing script at least: {failed}");

    // Everything survives a restart; switched off, a plugin stops finding.
    server.shutdown().await;
    let server = hopscope_server::start(config(dir.path())).await?;
    let found = evaluate_lossy(&client, &server, PROD_SECRET).await?;
    assert!(has(&found, "headcount") && has(&found, "sla-audio-mos"), "{found:?}");
    let resp = client
        .patch(url(&server, "/v1/rules/sla-check.wasm"))
        .bearer_auth(PROD_SECRET)
        .json(&serde_json::json!({"enabled": false}))
        .send()
        .await?;
    assert_eq!(resp.status().as_u16(), 200);
    assert!(!has(&evaluate_lossy(&client, &server, PROD_SECRET).await?, "sla-audio-mos"));
    server.shutdown().await;
    Ok(())
}

/// Relays rarely know the call an allocation serves: a TURN server's observations sent with
/// no `conference` are kept per app and join the call whose participant's relay candidate
/// is the allocation's relay address. Here that decides what the endpoints alone cannot:
/// the relay passed on everything alice sent, so bob's downlink lost the packets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_observations_without_a_conference_join_their_call_by_address() -> TestResult {
    // Bob's downlink loses 15 % from 15 s to 30 s.
    let call = common::scenario_call(
        "engine/hopscope-attribute/tests/scenarios/relayed-p2p.yaml",
        "relay-join",
        &[],
    )?;
    let (mut endpoints, mut relay) = (String::new(), String::new());
    for line in call.lines() {
        let mut v: Value = serde_json::from_str(line)?;
        if v["source"] == "turn" {
            // What a relay knows: its allocations, not the call.
            v.as_object_mut().ok_or("an object")?.remove("conference");
            relay.push_str(&format!("{v}\n"));
        } else {
            endpoints.push_str(&format!("{line}\n"));
        }
    }
    assert!(!relay.is_empty(), "the relay reported");
    let dir = tempfile::tempdir()?;
    let server = hopscope_server::start(config(dir.path())).await?;
    let client = reqwest::Client::new();
    let (status, reply) = post(&client, &server, PROD_INGEST, relay.clone(), Some("relay-1")).await?;
    assert_eq!(status, 202, "{reply}");
    assert_eq!(reply["conferences"], serde_json::json!([]), "filed under no call: {reply}");
    let (status, _) = post(&client, &server, PROD_INGEST, endpoints, Some("endpoints-1")).await?;
    assert_eq!(status, 202);
    // Another app's calls never see this app's relay data.
    let (status, _) = post(&client, &server, STAGING_INGEST, relay, Some("relay-2")).await?;
    assert_eq!(status, 202);

    let deadline = Instant::now() + Duration::from_secs(30);
    let conference = loop {
        let (status, body) = get(&client, &server, PROD_SECRET, "/v1/conferences/relay-join").await?;
        if status == 200 && body["conference"]["state"] == "ended" {
            break body;
        }
        if Instant::now() > deadline {
            return Err(format!("the call did not end: {body}").into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let faults = conference["diagnosis"]["attribution"]["faults"].as_array().cloned().unwrap_or_default();
    let loss =
        faults.iter().find(|f| f["kind"] == "loss").ok_or_else(|| format!("a loss fault: {faults:?}"))?;
    assert_eq!(
        loss["hop"],
        serde_json::json!({"class": "access", "participant": "bob", "direction": "down"}),
        "{loss}"
    );
    assert!(
        loss["evidence"]
            .as_array()
            .is_some_and(|e| e.iter().any(|l| l.as_str().unwrap_or("").contains("relay's count"))),
        "{loss}"
    );
    // The relay's data stays out of the conference list: it is nobody's call of its own.
    let (_, listed) = get(&client, &server, PROD_SECRET, "/v1/conferences").await?;
    let ids: Vec<&str> =
        listed["conferences"].as_array().into_iter().flatten().filter_map(|c| c["id"].as_str()).collect();
    assert_eq!(ids, ["relay-join"]);
    server.shutdown().await;
    Ok(())
}

/// The server's count of finished evaluations, from its Prometheus page.
async fn evaluations_done(
    client: &reqwest::Client,
    server: &Running,
) -> Result<u64, Box<dyn std::error::Error>> {
    let text = client.get(url(server, "/metrics")).send().await?.text().await?;
    let count = text
        .lines()
        .find_map(|l| l.strip_prefix("hopscope_evaluation_seconds_count "))
        .ok_or("no evaluation count on /metrics")?;
    Ok(count.trim().parse()?)
}

/// Stopping under load: the scheduler may hold minutes of due evaluations, which stopping
/// must not wait for; they are not lost, since the conferences stay live in the store and
/// resume on the next start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_starts_no_more_evaluations_and_loses_no_conference() -> TestResult {
    const CONFERENCES: usize = 30;
    let dir = tempfile::tempdir()?;
    let lines = simulated_call()?;
    let client = reqwest::Client::new();
    let mut cfg = config(dir.path());
    cfg.inactivity_timeout_s = 3600.0;
    cfg.live_evaluation_workers = Some(1);
    let server = hopscope_server::start(cfg).await?;
    // The first seconds of the call as thirty calls, in one batch: all due at one tick.
    let first = lines[0].0;
    let early: String =
        lines.iter().filter(|(t, _)| *t < first + 3_000.0).map(|(_, l)| format!("{l}\n")).collect();
    let body: String = (0..CONFERENCES)
        .map(|i| early.replace("\"conference\":\"room-42\"", &format!("\"conference\":\"busy-{i}\"")))
        .collect();
    assert_eq!(post(&client, &server, PROD_INGEST, body, None).await?.0, 202);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut at_stop = 0;
    while at_stop == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
        at_stop = evaluations_done(&client, &server).await?;
    }
    assert!(at_stop >= 1, "evaluation started");
    server.shutdown().await;
    // Evaluated conferences have a summary in the store; the others none yet.
    let store = hopscope_store::SqliteStore::open(dir.path())?;
    let mut evaluated = 0;
    for i in 0..CONFERENCES {
        let record = hopscope_store::Store::conference(&store, "prod", &format!("busy-{i}"))?;
        let record = record.ok_or_else(|| format!("busy-{i} was stored"))?;
        evaluated += usize::from(record.summary.is_some());
    }
    hopscope_store::Store::close(&store);
    drop(store);
    // Only what was running when the stop came (one worker) may finish; a few more for the
    // time between reading the count and stopping.
    assert!(evaluated as u64 <= at_stop + 3, "{evaluated} conferences evaluated after stopping at {at_stop}");
    assert!(evaluated < CONFERENCES, "the due list was not worked through");
    let server = hopscope_server::start(config(dir.path())).await?;
    for i in 0..CONFERENCES {
        let (status, c) = get(&client, &server, PROD_SECRET, &format!("/v1/conferences/busy-{i}")).await?;
        assert_eq!(status, 200);
        assert_eq!(c["conference"]["state"], "live", "busy-{i} resumes after the restart");
    }
    server.shutdown().await;
    Ok(())
}
