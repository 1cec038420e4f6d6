//! `hopscope serve` killed with SIGKILL in the middle of a sustained ingest: after a
//! restart, every batch the server acknowledged is there.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const INGEST: &str = "hs_ingest_crash_0123456789abcdef";
const SECRET: &str = "hs_secret_crash_0123456789abcdef";

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Starts the server and waits for the address it prints.
fn start(config: &std::path::Path) -> Result<(Child, String), Box<dyn std::error::Error>> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hopscope"))
        .args(["serve", "--config"])
        .arg(config)
        .env("HOPSCOPE_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let stderr = child.stderr.take().ok_or("stderr")?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("serving on http://").nth(1) {
                let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_string());
            }
        }
    });
    let address = rx.recv_timeout(Duration::from_secs(60))?;
    Ok((child, address))
}

fn batch(worker: usize, n: usize, now: f64) -> String {
    (0..20)
        .map(|k| {
            format!(
                "{{\"conference\":\"crash-{worker}\",\"participant\":\"p{n}-{k}\",\"timestamp\":{now},\"events\":[{{\"type\":\"iceConnectionState\",\"value\":\"checking\"}}]}}\n"
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_batch_survives_sigkill() -> TestResult {
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("hopscope.yaml");
    std::fs::write(
        &config,
        format!(
            "listen: 127.0.0.1:0\ndata_dir: {}\nrate_limit_per_key: 100000\nrate_limit_burst: 100000\ninactivity_timeout_s: 3600\napps:\n  - name: prod\n    ingest_keys: [{INGEST}]\n    secret_keys: [{SECRET}]\n",
            dir.path().join("data").display()
        ),
    )?;
    let (mut child, address) = start(&config)?;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
    let acknowledged: Arc<Mutex<Vec<(usize, usize)>>> = Arc::default();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as f64;
    let mut workers = Vec::new();
    for worker in 0..4 {
        let (client, address, acked) = (client.clone(), address.clone(), acknowledged.clone());
        workers.push(tokio::spawn(async move {
            for n in 0.. {
                let resp = client
                    .post(format!("http://{address}/v1/observations"))
                    .bearer_auth(INGEST)
                    .header("Idempotency-Key", format!("w{worker}-{n}"))
                    .body(batch(worker, n, now))
                    .send()
                    .await;
                match resp {
                    Ok(r) if r.status().as_u16() == 202 => {
                        if let Ok(mut a) = acked.lock() {
                            a.push((worker, n));
                        }
                    }
                    // The server is gone: this batch was never acknowledged.
                    _ => return,
                }
            }
        }));
    }
    // Let the ingest run, then pull the plug mid-stream.
    let until = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill()?; // SIGKILL
    child.wait()?;
    for w in workers {
        let _ = w.await;
    }
    let acked = acknowledged.lock().map(|a| a.clone()).unwrap_or_default();
    assert!(acked.len() >= 20, "the ingest was running: {} batches acknowledged", acked.len());

    let (mut child, address) = start(&config)?;
    for worker in 0..4 {
        let mine = acked.iter().filter(|(w, _)| *w == worker).count() as u64;
        let resp = client
            .get(format!("http://{address}/v1/conferences/crash-{worker}"))
            .bearer_auth(SECRET)
            .send()
            .await?;
        let body: serde_json::Value = resp.json().await?;
        let stored = body["conference"]["observations"].as_u64().unwrap_or(0);
        assert!(
            stored >= mine * 20,
            "worker {worker}: {mine} batches acknowledged, {stored} observations stored"
        );
    }
    // Every acknowledged batch is known by its id: a retry stores nothing.
    for (worker, n) in acked.iter().step_by(7) {
        let resp = client
            .post(format!("http://{address}/v1/observations"))
            .bearer_auth(INGEST)
            .header("Idempotency-Key", format!("w{worker}-{n}"))
            .body(batch(*worker, *n, now))
            .send()
            .await?;
        assert_eq!(resp.status().as_u16(), 200, "batch w{worker}-{n} was acknowledged before the crash");
    }
    println!("{} batches acknowledged before SIGKILL, all present after restart", acked.len());
    child.kill()?;
    child.wait()?;
    Ok(())
}
