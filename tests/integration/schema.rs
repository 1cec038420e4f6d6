//! The native format's JSON Schema stays in step with what the reader accepts.

use hopscope_tests::root;

#[test]
fn schema_documents_every_envelope_field_and_the_fixtures_follow_it() {
    let text =
        std::fs::read_to_string(root().join("sdk/schema/observation.schema.json")).expect("schema exists");
    let schema: serde_json::Value = serde_json::from_str(&text).expect("schema is JSON");
    let props = schema["properties"].as_object().expect("properties");
    let documented: Vec<&str> = props.keys().map(String::as_str).collect();
    // The envelope fields the reader understands (engine/hopscope-ingest/src/formats/native.rs).
    let read = [
        "v",
        "app",
        "conference",
        "participant",
        "user",
        "source",
        "timestamp",
        "client",
        "pc",
        "remote",
        "stats",
        "events",
        "server",
        "software",
        "transports",
        "allocations",
        "errors",
    ];
    for f in read {
        assert!(documented.contains(&f), "`{f}` is read but not documented");
    }
    for f in &documented {
        assert!(read.contains(f), "`{f}` is documented but not read");
    }
    assert_eq!(schema["properties"]["v"]["const"], serde_json::json!(hopscope_ingest::NATIVE_VERSION));
    // Every line of the captured native fixtures only uses documented fields.
    for scenario in ["p2p-direct", "gum-failure"] {
        let ndjson = std::fs::read_to_string(hopscope_tests::fixture(&format!(
            "chromium/{scenario}/alice.hopscope.ndjson"
        )))
        .expect("fixture");
        for line in ndjson.lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect("line is JSON");
            for key in v.as_object().expect("object").keys() {
                assert!(documented.contains(&key.as_str()), "{scenario}: undocumented field `{key}`");
            }
        }
    }
}

/// The fields the middlebox reader reads in each nested shape
/// (engine/hopscope-ingest/src/formats/native/middlebox.rs), by schema `$defs` name.
const MIDDLEBOX_SHAPES: [(&str, &[&str]); 5] = [
    (
        "sfuTransport",
        &[
            "participant",
            "transport",
            "iceState",
            "rttMs",
            "localAddress",
            "remoteAddress",
            "protocol",
            "relayed",
            "inbound",
            "outbound",
        ],
    ),
    (
        "sfuInbound",
        &[
            "ssrc",
            "kind",
            "packetsReceived",
            "packetsLost",
            "jitterMs",
            "bytesReceived",
            "nackCount",
            "pliCount",
        ],
    ),
    (
        "sfuOutbound",
        &[
            "ssrc",
            "kind",
            "sender",
            "packetsSent",
            "bytesSent",
            "packetsLost",
            "fractionLost",
            "rttMs",
            "nackCount",
            "pliCount",
        ],
    ),
    (
        "turnAllocation",
        &[
            "id",
            "participant",
            "username",
            "clientAddress",
            "relayAddress",
            "protocol",
            "peers",
            "packetsFromClient",
            "packetsToClient",
            "bytesFromClient",
            "bytesToClient",
            "packetsToPeers",
            "packetsFromPeers",
        ],
    ),
    ("turnError", &["timestamp", "clientAddress", "code", "reason", "username"]),
];

/// Every key of `v` (and of the shapes nested in it) is documented in `def`.
fn documented_keys(schema: &serde_json::Value, def: &str, v: &serde_json::Value, file: &str) {
    let props = schema["$defs"][def]["properties"].as_object().expect("def has properties");
    let nested = |key: &str| match (def, key) {
        ("sfuTransport", "inbound") => Some("sfuInbound"),
        ("sfuTransport", "outbound") => Some("sfuOutbound"),
        _ => None,
    };
    for (key, value) in v.as_object().expect("object") {
        assert!(props.contains_key(key), "{file}: `{key}` is not documented in $defs.{def}");
        if let Some(inner) = nested(key) {
            for item in value.as_array().expect("array") {
                documented_keys(schema, inner, item, file);
            }
        }
    }
}

#[test]
fn schema_documents_every_middlebox_field_and_the_fixtures_follow_it() {
    let text =
        std::fs::read_to_string(root().join("sdk/schema/observation.schema.json")).expect("schema exists");
    let schema: serde_json::Value = serde_json::from_str(&text).expect("schema is JSON");
    for (def, read) in MIDDLEBOX_SHAPES {
        let props = schema["$defs"][def]["properties"].as_object().unwrap_or_else(|| panic!("$defs.{def}"));
        for f in read {
            assert!(props.contains_key(*f), "`{f}` is read but not documented in $defs.{def}");
        }
        for f in props.keys() {
            assert!(read.contains(&f.as_str()), "`{f}` is documented in $defs.{def} but not read");
        }
    }
    let source = &schema["properties"]["source"];
    assert_eq!(source["enum"], serde_json::json!(["endpoint", "sfu", "turn"]));
    let description = source["description"].as_str().expect("description");
    assert!(!description.contains("refused until") && !description.contains("reserved"), "{description}");
    // The middlebox fixtures only use documented fields, at every level.
    let documented = schema["properties"].as_object().expect("properties");
    for file in [
        "native/sfu-uplink-loss/call.hopscope.ndjson",
        "native/turn-relayed/turn-fra-1.hopscope.ndjson",
        "native/turn-relayed/carol.hopscope.ndjson",
    ] {
        let ndjson = std::fs::read_to_string(hopscope_tests::fixture(file)).expect("fixture");
        let mut middlebox_lines = 0;
        for line in ndjson.lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect("line is JSON");
            for key in v.as_object().expect("object").keys() {
                assert!(documented.contains_key(key), "{file}: undocumented field `{key}`");
            }
            for (field, def) in
                [("transports", "sfuTransport"), ("allocations", "turnAllocation"), ("errors", "turnError")]
            {
                for item in v[field].as_array().into_iter().flatten() {
                    middlebox_lines += 1;
                    documented_keys(&schema, def, item, file);
                }
            }
        }
        assert!(
            middlebox_lines > 0 || file.ends_with("carol.hopscope.ndjson"),
            "{file}: no middlebox records"
        );
    }
}
