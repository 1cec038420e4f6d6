//! Bad input never panics, never hangs, and gets a specific error: which file, where,
//! what was expected. Problems confined to part of a file become notes, not failures.

use hopscope_ingest::{IngestError, Limits, Location, ingest};
use hopscope_tests::fixture;
use proptest::prelude::*;

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(fixture(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Every fixture format, cut short anywhere, is either read (partially) or refused with an
/// error that names the file — and the whole pipeline after ingest survives what was read.
fn survives_truncation(name: &str, bytes: &[u8], cut: usize) {
    let cut = cut.min(bytes.len());
    match ingest(name, &bytes[..cut], &Limits::default()) {
        Ok(i) => {
            for c in hopscope_ingest::assemble(vec![i]) {
                let d = hopscope_diagnose::diagnose(&c);
                let _ = hopscope_diagnose::render(&d, hopscope_diagnose::Detail::Full);
            }
        }
        Err(e) => assert!(e.to_string().starts_with(name), "error does not name the file: {e}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn truncated_dumps_never_panic(cut in 0usize..250_000, which in 0usize..7) {
        let files = [
            "chromium/p2p-lossy/alice.webrtc-internals.json",
            "chromium/p2p-lossy/alice.rtcstats",
            "chromium/p2p-lossy/alice.hopscope.ndjson",
            "chromium/p2p-lossy/alice.chrome-rtcstats.txt",
            "chromium/gum-failure/bob.webrtc-internals.json",
            "native/sfu-uplink-loss/call.hopscope.ndjson",
            "native/turn-relayed/turn-fra-1.hopscope.ndjson",
        ];
        let bytes = read(files[which]);
        survives_truncation(files[which], &bytes, cut);
    }

    #[test]
    fn middlebox_envelopes_with_junk_values_never_panic(
        which in 0usize..2,
        leaf in 0usize..400,
        junk in prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_map(serde_json::Value::from),
            "[a-z0-9:.]{0,12}".prop_map(serde_json::Value::from),
            Just(serde_json::json!([])),
            Just(serde_json::json!({"x": [1, {"y": null}]})),
        ],
    ) {
        // One SFU or TURN envelope of the fixtures, one of its values replaced by junk.
        let (file, source) = [
            ("native/sfu-uplink-loss/call.hopscope.ndjson", "sfu"),
            ("native/turn-relayed/turn-fra-1.hopscope.ndjson", "turn"),
        ][which];
        let text = String::from_utf8(read(file)).expect("utf-8");
        let line = text.lines().filter(|l| l.contains(&format!("\"source\":\"{source}\""))).nth(2).expect("envelope");
        let mut envelope: serde_json::Value = serde_json::from_str(line).expect("JSON");
        replace_leaf(&mut envelope, &mut { leaf }, junk);
        let bytes = format!("{envelope}\n{line}\n");
        survives_truncation("junk.ndjson", bytes.as_bytes(), usize::MAX);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = ingest("random.bin", &bytes, &Limits::default());
    }

    #[test]
    fn corrupted_lines_are_skipped_with_a_note(line in 3usize..40, junk in "[a-z{}\\[\\],:\"]{1,30}") {
        let text = String::from_utf8(read("chromium/p2p-direct/alice.rtcstats")).expect("utf-8");
        let mut lines: Vec<String> = text.lines().map(String::from).collect();
        let line = line.min(lines.len() - 1);
        lines[line] = junk;
        let i = ingest("alice.rtcstats", lines.join("\n").as_bytes(), &Limits::default()).expect("one bad line never rejects a dump");
        prop_assert_eq!(i.participants.len(), 1);
    }
}

/// Replaces the `n`-th value (depth first) of a JSON document.
fn replace_leaf(v: &mut serde_json::Value, n: &mut usize, junk: serde_json::Value) -> bool {
    if *n == 0 {
        *v = junk;
        return true;
    }
    *n -= 1;
    match v {
        serde_json::Value::Array(items) => items.iter_mut().any(|x| replace_leaf(x, n, junk.clone())),
        serde_json::Value::Object(map) => map.values_mut().any(|x| replace_leaf(x, n, junk.clone())),
        _ => false,
    }
}

#[test]
fn truncated_internals_dump_says_where() {
    let bytes = read("chromium/p2p-direct/alice.webrtc-internals.json");
    let err = ingest("alice.json", &bytes[..bytes.len() / 2], &Limits::default())
        .expect_err("truncated JSON document");
    match &err {
        IngestError::Malformed { source_name, location: Location::LineColumn(line, _), expected, .. } => {
            assert_eq!(source_name, "alice.json");
            assert!(*line > 1);
            assert!(expected.contains("webrtc-internals"), "{expected}");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn a_broken_line_in_an_rtcstats_dump_is_a_note_with_its_line_number() {
    let text = String::from_utf8(read("chromium/p2p-direct/alice.rtcstats")).expect("utf-8");
    let mut lines: Vec<&str> = text.lines().collect();
    lines[5] = "[\"getstats\",\"PC_0\",{\"oops\":";
    let i = ingest("alice.rtcstats", lines.join("\n").as_bytes(), &Limits::default()).expect("partial read");
    assert!(
        i.notes.iter().any(|n| n.location.as_deref() == Some("line 6") && n.message.contains("line skipped")),
        "{:?}",
        i.notes
    );
}

#[test]
fn hostile_shapes_get_specific_errors() {
    let l = Limits::default();
    // Nesting beyond serde_json's recursion limit: an error, not a stack overflow.
    let deep = format!("{{\"PeerConnections\":{}{}}}", "[".repeat(10_000), "]".repeat(10_000));
    assert!(matches!(ingest("deep.json", deep.as_bytes(), &l), Err(IngestError::Malformed { .. })));
    // Wrong types where objects are expected.
    let wrong = br#"{"getUserMedia": 5, "PeerConnections": "no", "UserAgent": 7}"#;
    assert!(matches!(ingest("wrong.json", wrong, &l), Err(IngestError::Malformed { .. })));
    // Numbers far outside any real range are dropped, not turned into infinities.
    let huge = br#"[{"id":"a","type":"inbound-rtp","timestamp":1700000000000,"kind":"audio","ssrc":1,"packetsReceived":1e400,"packetsLost":-1e999}]"#;
    match ingest("huge.json", huge, &l) {
        Ok(i) => {
            let s = &i.participants[0].peer_connections[0].inbound[0].samples[0];
            assert!(s.packets_received.is_none_or(f64::is_finite));
        }
        Err(e) => assert!(e.to_string().starts_with("huge.json")),
    }
    // Over the size limit.
    let small = Limits { max_input_bytes: 100 };
    assert!(matches!(ingest("big.json", &[b' '; 200], &small), Err(IngestError::TooLarge { .. })));
    // A gzip bomb stops at the limit.
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut enc, &vec![b'['; 10_000_000]).expect("compress");
    let bomb = enc.finish().expect("compress");
    assert!(bomb.len() < 100_000);
    let limited = Limits { max_input_bytes: 1_000_000 };
    assert!(matches!(ingest("bomb.gz", &bomb, &limited), Err(IngestError::TooLarge { .. })));
    // A native envelope from the future.
    let future = br#"{"v":99,"participant":"a","events":[]}"#;
    let err = ingest("future.ndjson", future, &l).expect_err("unsupported version");
    assert!(err.to_string().contains("version 99"), "{err}");
}

/// A native observation whose `stats` is not a getStats report is skipped with the reason,
/// in NDJSON and in an array alike; the others are read, and `"stats": null` is no report.
#[test]
fn a_native_report_that_is_not_one_skips_its_observation_only() {
    let line = |t: u64, stats: &str| {
        format!(
            r#"{{"v":1,"conference":"c","participant":"alice","pc":"pc1","timestamp":{t},"stats":{stats}}}"#
        )
    };
    let good = |t: u64| {
        line(
            t,
            &format!(
                r#"[{{"id":"T1","type":"transport","timestamp":{t},"bytesSent":{}}}]"#,
                t - 1_700_000_000_000
            ),
        )
    };
    let bad = line(1_700_000_001_000, "42");
    let null = line(1_700_000_002_000, "null");
    let ndjson = format!("{}\n{bad}\n{null}\n{}\n", good(1_700_000_000_000), good(1_700_000_003_000));
    let array = format!("[{}, {bad}, {null}, {}]", good(1_700_000_000_000), good(1_700_000_003_000));
    for (name, text, place) in [("a.ndjson", ndjson, "line 2"), ("a.json", array, "at [1]")] {
        let i = ingest(name, text.as_bytes(), &Limits::default())
            .unwrap_or_else(|e| panic!("{name}: the good observations are read: {e}"));
        let pc = &i.participants[0].peer_connections[0];
        assert_eq!(pc.stats_times.len(), 2, "{name}: both good reports, nothing of the bad one");
        let skipped: Vec<&str> =
            i.notes.iter().map(|n| n.message.as_str()).filter(|m| m.contains("skipped")).collect();
        assert_eq!(skipped.len(), 1, "{name}: {:?}", i.notes);
        assert!(
            skipped[0].starts_with(&format!("1 observation was skipped; the first: {name}: {place}: `stats`: invalid type: integer `42`, expected a getStats report")),
            "{name}: {}",
            skipped[0]
        );
    }
    // One pretty-printed envelope: the problem is told as the report's, not as a broken line.
    let pretty = bad.replace(",\"", ",\n  \"");
    let err = ingest("one.json", pretty.as_bytes(), &Limits::default()).expect_err("nothing else to read");
    assert!(
        err.to_string()
            .starts_with("one.json: line 1: `stats`: invalid type: integer `42`, expected a getStats report"),
        "{err}"
    );
}
