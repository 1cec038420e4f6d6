//! The narrative of simulated calls: one paragraph per root cause.

fn diagnose_scenario(rel: &str) -> hopscope_diagnose::Diagnosis {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(rel);
    let yaml = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let scenario = hopscope_sim::Scenario::from_yaml(&yaml).unwrap_or_else(|e| panic!("{e}"));
    let sim = hopscope_sim::simulate(&scenario);
    let input = hopscope_ingest::ingest("sim", sim.combined_with_servers().as_bytes(), &Default::default())
        .expect("ingests");
    let conference = hopscope_ingest::assemble(vec![input]).remove(0);
    hopscope_diagnose::diagnose(&conference)
}

#[test]
fn one_limit_on_one_uplink_reads_as_one_paragraph() {
    // Backtest seed 7, case c-0085: this limit used to be told twice, back to back, because
    // it was named from two different candidate lists over time.
    let d = diagnose_scenario("engine/hopscope-attribute/tests/scenarios/relayed-uplink-cap.yaml");
    let about: Vec<_> =
        d.narrative.paragraphs.iter().filter(|p| p.text.contains("did not have the bandwidth")).collect();
    assert_eq!(about.len(), 1, "{:#?}", d.narrative.paragraphs);
    let p = about[0];
    assert!(
        p.text.starts_with("Alice's network (uplink) did not have the bandwidth for video"),
        "{}",
        p.text
    );
    // One time range covering both parts.
    assert!(p.text.contains("from 12:00:14 to 12:00:30 UTC (16 s)"), "{}", p.text);
    // Its evidence is the union, each line once.
    let drops = p.evidence.iter().filter(|e| e.contains("as the limit set in")).count();
    assert_eq!(drops, 1, "{:#?}", p.evidence);
}
