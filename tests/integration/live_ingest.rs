//! A live conference's observations read as they arrive (`LiveIngest`) give, at every
//! point, exactly what reading all of them at once (`ingest`) gives: the server's live
//! evaluations rely on it to read each observation once.

use hopscope_ingest::{Ingested, Limits, LiveIngest, ingest};

use hopscope_tests::root;

/// The observations of a simulated four-party call through an observed SFU and TURN relay,
/// the servers' own included, one per line in the order a store receives them (by time,
/// sources interleaved), with one line that is not an envelope and one that names an
/// unknown source.
fn observations() -> Vec<String> {
    let text =
        std::fs::read_to_string(root().join("examples/scenarios/sfu-egress-loss.yaml")).expect("scenario");
    let scenario = hopscope_sim::Scenario::from_yaml(&text).expect("scenario parses");
    let sim = hopscope_sim::simulate(&scenario);
    let mut lines: Vec<(f64, String)> = Vec::new();
    for ndjson in sim.participants.iter().map(|p| &p.ndjson).chain(sim.servers.iter().map(|s| &s.ndjson)) {
        for line in ndjson.lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect("the simulator writes JSON");
            lines.push((v["timestamp"].as_f64().expect("a timestamp"), line.to_string()));
        }
    }
    lines.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut lines: Vec<String> = lines.into_iter().map(|(_, l)| l).collect();
    assert!(lines.len() > 200, "{} observations", lines.len());
    lines.insert(lines.len() / 3, "{\"participant\": \"alice\", \"stats\": [1, 2".to_string());
    lines.insert(lines.len() / 2, "{\"source\": \"mixer\", \"conference\": \"c\"}".to_string());
    lines
}

fn joined(lines: &[String]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// Field by field: `Ingested` holds the model, whose types compare by value.
fn assert_same(live: &Ingested, whole: &Ingested, what: &str) {
    assert_eq!(live.source, whole.source, "{what}: source");
    assert_eq!(live.format, whole.format, "{what}: format");
    assert_eq!(live.participants, whole.participants, "{what}: participants");
    assert_eq!(live.middleboxes, whole.middleboxes, "{what}: middleboxes");
    assert_eq!(live.conference_keys, whole.conference_keys, "{what}: conference keys");
    assert_eq!(live.notes, whole.notes, "{what}: notes");
}

#[test]
fn observations_read_as_they_arrive_give_what_reading_them_at_once_gives() {
    let lines = observations();
    let limits = Limits::default();
    let name = "observations.ndjson";
    // Batches of uneven sizes, as collectors send them; compared after every batch.
    let mut live = LiveIngest::new(name, &limits);
    let (mut read, mut compared, mut size) = (0, 0, 1);
    while read < lines.len() {
        let to = (read + size).min(lines.len());
        live.read(joined(&lines[read..to]).as_bytes()).expect("within the limit");
        read = to;
        size = size % 23 + 7;
        let whole = ingest(name, joined(&lines[..read]).as_bytes(), &limits).expect("the prefix reads");
        assert_same(&live.ingested().expect("live reads"), &whole, &format!("after {read} lines"));
        compared += 1;
    }
    assert!(compared > 10, "{compared} comparisons");
    let last = live.ingested().expect("live reads");
    assert_eq!(last.participants.len(), 4);
    assert!(!last.middleboxes.is_empty(), "the SFU's observations are read");
    // The bad lines are noted where they are in the stream as a whole.
    let skipped =
        last.notes.iter().find(|n| n.message.contains("2 observations were skipped")).expect("noted");
    assert!(skipped.message.contains(&format!("line {}", lines.len() / 3 + 1)), "{}", skipped.message);
    assert_eq!(live.bytes_read(), joined(&lines).len() as u64);
    // The estimate of what the kept state takes grows with the call, and stays below the
    // JSON it was read from (most of a report is names and fields nobody models).
    let memory = live.memory_bytes();
    println!("{} bytes of observations kept as {memory} bytes of series", live.bytes_read());
    assert!(memory > 100_000 && (memory as u64) < live.bytes_read(), "{memory}");
}

#[test]
fn a_live_stream_keeps_the_input_limit_and_says_when_nothing_could_be_read() {
    let lines = observations();
    let limits = Limits { max_input_bytes: 40_000 };
    let mut live = LiveIngest::new("o.ndjson", &limits);
    assert!(matches!(live.ingested(), Err(hopscope_ingest::IngestError::Empty { .. })));
    live.read(b"not json\n").expect("small");
    assert!(matches!(live.ingested(), Err(hopscope_ingest::IngestError::Malformed { .. })));
    let mut refused = None;
    for line in &lines {
        if let Err(e) = live.read(format!("{line}\n").as_bytes()) {
            refused = Some(e);
            break;
        }
    }
    match refused {
        Some(hopscope_ingest::IngestError::TooLarge { size, limit, .. }) => {
            assert_eq!(limit, 40_000);
            assert!(size > 40_000);
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
    // What was read before the refusal still reads.
    assert!(live.bytes_read() <= 40_000);
    assert!(!live.ingested().expect("reads").participants.is_empty());
}
