//! The conference page and a user's call history in a real browser: Debian's Chromium, driven by playwright-core,
//! against a server started here, while a simulated call is ingested live.

use std::process::Command;
use std::time::Duration;

use serde_json::Value;

mod common;

const INGEST: &str = "hs_ingest_ui_0123456789abcdef01";
const SECRET: &str = "hs_secret_ui_0123456789abcdef01";

type TestResult = Result<(), Box<dyn std::error::Error>>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_conference_page_shows_a_live_call_end_and_explains_a_wrong_key() -> TestResult {
    let dir = tempfile::tempdir()?;
    let config = common::test_config(dir.path(), 3.0, &[("prod", INGEST, SECRET)]);
    let server = hopscope_server::start(config).await?;
    let client = reqwest::Client::new();
    let post = |body: String| {
        client
            .post(format!("http://{}/v1/observations", server.address))
            .bearer_auth(INGEST)
            .body(body)
            .send()
    };
    let mut lines: Vec<(f64, String)> = Vec::new();
    for line in common::sfu_call("standup <b>42</b>")?.lines() {
        let v: Value = serde_json::from_str(line)?;
        lines.push((v["timestamp"].as_f64().ok_or("timestamp")?, line.to_string()));
    }
    lines.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (first, rest) = lines.split_at(lines.len() / 3);
    let batch = |part: &[(f64, String)]| part.iter().map(|(_, l)| format!("{l}\n")).collect::<String>();
    assert_eq!(post(batch(first)).await?.status().as_u16(), 202);

    // The page the API points people to (the id has markup in it: it must show as text).
    let detail: Value = client
        .get(format!("http://{}/v1/conferences/standup%20%3Cb%3E42%3C%2Fb%3E", server.address))
        .bearer_auth(SECRET)
        .send()
        .await?
        .json()
        .await?;
    let page = detail["page"].as_str().ok_or("page")?.to_string();
    assert!(page.ends_with("/ui/conferences/standup%20%3Cb%3E42%3C%2Fb%3E"), "{page}");
    let page = format!("http://{}{}", server.address, &page[page.find("/ui/").ok_or("path")?..]);

    // The browser opens the page while the call runs; the rest of the call arrives.
    let ui = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/ui");
    let browser = tokio::task::spawn_blocking(move || {
        Command::new("node").current_dir(ui).args(["conference.mjs", &page, SECRET, "4", "user-3"]).output()
    });
    for chunk in rest.chunks(rest.len() / 4 + 1) {
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(post(batch(chunk)).await?.status().as_u16(), 202);
    }
    let out = browser.await??;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the browser check failed: {stderr}");
    let seen: Value = serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim())?;

    assert_eq!(seen["title"], "standup <b>42</b>", "ids are text, not markup: {seen}");
    assert_eq!(seen["first_state"], "live", "{seen}");
    assert_eq!(seen["key_form_hidden"], true, "with a key in the address, no key form: {seen}");
    // Findings still open when the call ended say so; a browser reads as one name.
    assert!(
        seen["finding_times"].as_array().is_some_and(|t| t
            .iter()
            .all(|t| { t.as_str().is_some_and(|t| t.contains(" – ") && !t.ends_with("now")) })),
        "{seen}"
    );
    assert_eq!(seen["state"], "ended", "{seen}");
    assert!(seen["summary"].as_str().is_some_and(|s| s.starts_with("The call completed")), "{seen}");
    let paragraphs = seen["paragraphs"].to_string();
    assert!(paragraphs.contains("carol"), "the narrative names carol's uplink: {paragraphs}");
    assert!(seen["findings"].as_u64().is_some_and(|n| n >= 1), "{seen}");
    let mut people: Vec<String> = seen["participants"]
        .as_array()
        .ok_or("participants")?
        .iter()
        .filter_map(|p| p.as_str().map(String::from))
        .collect();
    people.sort();
    assert_eq!(people, ["alice", "bob", "carol", "dave"]);
    assert!(
        seen["facts"].as_str().is_some_and(|f| f.contains("completed") && f.contains("audio MOS")),
        "{seen}"
    );
    let wrong = seen["wrong_key"].as_str().unwrap_or("");
    assert!(wrong.starts_with("this key is not known to the server (check the key"), "{seen}");
    assert_eq!(seen["wrong_key_form"], true);
    // Carol's call history lists the call with its outcome and headline, and opens it.
    assert_eq!(seen["history_title"], "Call history of user-3");
    let history = seen["history"].as_array().ok_or("history")?;
    assert_eq!(history.len(), 1, "{seen}");
    let row = history[0].as_str().unwrap_or("");
    assert!(
        row.contains("standup <b>42</b>") && row.contains("completed") && row.contains("Carol's network"),
        "{row}"
    );
    assert_eq!(seen["history_opens"], "standup <b>42</b>");
    assert_eq!(seen["problems"], serde_json::json!([]), "no script errors or blocked requests in the pages");
    server.shutdown().await;
    Ok(())
}
