//! Findings as the rules produce them: deterministic, the same whether the call is evaluated
//! at once or tick by tick as it happens, with a coherent lifecycle and evidence.

use hopscope_rules::eval::{Evaluator, evaluate};
use hopscope_rules::finding::Finding;
use hopscope_rules::pack::builtin_default;
use hopscope_rules::view::View;
use hopscope_score::QualityConfig;
use hopscope_tests::{conference, fixture};

fn lossy_call() -> hopscope_model::Conference {
    conference(&[
        fixture("chromium/p2p-bandwidth-cap/alice.rtcstats"),
        fixture("chromium/p2p-bandwidth-cap/bob.rtcstats"),
    ])
}

fn json(findings: &[Finding]) -> String {
    serde_json::to_string(findings).expect("serialises")
}

#[test]
fn the_same_input_gives_the_same_findings_byte_for_byte() {
    let rules = &builtin_default().rules;
    let first = evaluate(rules, &View::build(&lossy_call(), &QualityConfig::default()));
    assert!(first.len() >= 5, "{}", first.len());
    for _ in 0..3 {
        let again = evaluate(rules, &View::build(&lossy_call(), &QualityConfig::default()));
        assert_eq!(json(&first), json(&again));
    }
    // The order the files are given in does not matter either.
    let reversed = conference(&[
        fixture("chromium/p2p-bandwidth-cap/bob.rtcstats"),
        fixture("chromium/p2p-bandwidth-cap/alice.rtcstats"),
    ]);
    let mut a: Vec<String> = first.iter().map(|f| f.id.clone()).collect();
    let mut b: Vec<String> = evaluate(rules, &View::build(&reversed, &QualityConfig::default()))
        .iter()
        .map(|f| f.id.clone())
        .collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);
}

#[test]
fn stepping_tick_by_tick_gives_what_evaluating_at_once_gives() {
    let rules = &builtin_default().rules;
    let view = View::build(&lossy_call(), &QualityConfig::default());
    let at_once = evaluate(rules, &view);

    let mut live = Evaluator::new(rules, &view);
    let mut closed = Vec::new();
    let last = view.ticks.len() - 1;
    let mut seen_open_midway = 0;
    for tick in 0..=last {
        live.step(&view, tick, &mut closed);
        if tick == last / 2 {
            // Mid-call, the findings raised so far are visible as open ones.
            seen_open_midway = live.open(&view, tick).len();
        }
    }
    let mut stepped = closed;
    stepped.extend(live.open(&view, last));
    stepped.sort_by(|a, b| {
        a.raised_ms.total_cmp(&b.raised_ms).then_with(|| a.rule.cmp(&b.rule)).then_with(|| a.id.cmp(&b.id))
    });
    assert_eq!(json(&at_once), json(&stepped));
    assert!(seen_open_midway > 0, "the cap is on mid-call, so something is open then");
}

#[test]
fn every_finding_has_a_coherent_lifecycle_and_evidence() {
    let rules = &builtin_default().rules;
    let view = View::build(&lossy_call(), &QualityConfig::default());
    for f in evaluate(rules, &view) {
        assert!(f.condition_since <= f.raised_at, "{}: held before it was raised", f.rule);
        if let Some(cleared) = &f.cleared_at {
            assert!(&f.raised_at <= cleared, "{}", f.rule);
            assert!(!f.open_at_end);
        } else {
            assert!(f.open_at_end);
        }
        assert!(f.duration_s >= 0.0 && f.samples >= 1, "{}", f.rule);
        assert!(!f.evidence.is_empty(), "{} names the values that made it fire", f.rule);
        assert!(!f.message.is_empty() && !f.message.contains('{'), "{}", f.message);
        let rule = rules.iter().find(|r| r.id == f.rule).expect("known rule");
        assert_eq!((f.rule_version, f.severity, f.category), (rule.version, rule.severity, rule.category));
    }
}

/// A stream's range (what plugins read as a summary) is the lowest and highest of the
/// numbers it has at the ticks, for every numeric and yes/no stream metric of every stream,
/// and the extremes scripts scan for, stream by stream or a list at once, agree with it; on
/// two captured calls and a simulated SFU call.
#[test]
fn a_streams_range_is_the_extremes_of_its_numbers() {
    use hopscope_rules::catalogue::{Scope, ValueType};
    use hopscope_rules::view::EntityRef;
    let calls = [
        lossy_call(),
        conference(&[
            fixture("chromium/p2p-delay-jitter/alice.rtcstats"),
            fixture("chromium/p2p-delay-jitter/bob.rtcstats"),
        ]),
        hopscope_tests::plugins::load_case(&[
            hopscope_tests::root().join("rules/builtin/tests/scenarios/sfu-egress-loss.yaml")
        ])
        .expect("the scenario simulates"),
    ];
    let mut ranges = 0;
    for call in &calls {
        let view = View::build(call, &QualityConfig::default());
        for def in Scope::Stream.metrics() {
            if matches!(def.ty, ValueType::Text) {
                continue;
            }
            let (id, _) = Scope::Stream.metric(def.name).expect("a catalogue metric");
            let mut at_once = Vec::new();
            view.each_stream_extreme(0..view.streams.len(), id, true, |i, v| at_once.push((i, v)));
            assert_eq!(at_once.len(), view.streams.len());
            for (stream, &at_once) in at_once.iter().enumerate() {
                let mut values = Vec::new();
                view.stream_numbers_into(stream, id, &mut values);
                let finite: Vec<f64> = values.into_iter().filter(|v| v.is_finite()).collect();
                let expected =
                    finite.iter().copied().reduce(f64::min).zip(finite.iter().copied().reduce(f64::max));
                assert_eq!(view.stream_range(stream, id), expected, "{} of stream {stream}", def.name);
                ranges += usize::from(expected.is_some());
                // What scripts scan for, one stream at a time or a list at once, agrees;
                // yes/no metrics have no extremes.
                if !matches!(def.ty, ValueType::Bool) {
                    let one = view.extreme(EntityRef::Stream(stream), id, false).zip(view.extreme(
                        EntityRef::Stream(stream),
                        id,
                        true,
                    ));
                    assert_eq!(one, expected, "extremes of {} of stream {stream}", def.name);
                    assert_eq!(at_once, (stream, expected.map(|(_, high)| high)), "{}", def.name);
                }
            }
        }
    }
    assert!(ranges > 200, "only {ranges} streams and metrics have numbers");
}
