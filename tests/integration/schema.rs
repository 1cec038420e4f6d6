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
