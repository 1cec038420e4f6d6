//! Loading scripts and what they read and return, on a simulated call.

use hopscope_rules::catalogue::Scope;
use hopscope_rules::finding::EvidenceValue;
use hopscope_rules::rule::{Category, Severity};
use hopscope_rules::view::{Val, View};
use hopscope_script::{Limits, ScriptError, ScriptSet};

/// A four-person SFU call, Carol's uplink losing 8 % from 10 s to 50 s.
fn view() -> View {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/scenarios/sfu-wifi-loss.yaml");
    let text = std::fs::read_to_string(path).expect("scenario");
    let scenario = hopscope_sim::Scenario::from_yaml(&text).expect("valid scenario");
    let sim = hopscope_sim::simulate(&scenario);
    let input =
        hopscope_ingest::ingest("sim", sim.combined().as_bytes(), &hopscope_ingest::Limits::default())
            .expect("ingests");
    let conference = hopscope_ingest::assemble(vec![input]).remove(0);
    View::build(&conference, &hopscope_score::QualityConfig::default())
}

fn describe(id: &str, scope: &str) -> String {
    format!(
        "fn describe() {{ #{{ id: \"{id}\", version: 2, description: \"d\", scope: \"{scope}\", \
         severity: \"warning\", category: \"packet-loss\", actions: [\"page\"] }} }}\n"
    )
}

fn one(scope: &str, body: &str) -> ScriptSet {
    let mut set = ScriptSet::new(Limits::default());
    set.add("t.rhai", &format!("{}fn evaluate(conf) {{\n{body}\n}}\n", describe("t", scope))).expect("loads");
    set
}

#[test]
fn describe_gives_the_rules_metadata() {
    let set = one("participant", "[]");
    let m = &set.scripts()[0].meta;
    assert_eq!((m.id.as_str(), m.version, m.scope), ("t", 2, Scope::Participant));
    assert_eq!((m.severity, m.category), (Severity::Warning, Category::PacketLoss));
    assert_eq!(m.actions, ["page"]);
    assert_eq!(set.scripts()[0].position.line, 1);
}

#[test]
fn load_problems_are_diagnostics_with_places_and_codes() {
    let mut set = ScriptSet::new(Limits::default());
    let cases = [
        ("fn evaluate(conf) { [] }\n", "H903", 1, "no `fn describe()`"),
        (&*describe("a", "stream"), "H904", 1, "no `fn evaluate(conf)`"),
        ("\nfn describe() { #{ id: \"x\" } }\nfn evaluate(conf) { [] }", "H903", 2, "has no `version`"),
        (
            "fn describe() { #{ id: \"x\", version: 1, description: \"d\", scope: \"stream\", severity: \"info\", category: \"packet_loss\" } }\nfn evaluate(conf) { [] }",
            "H903",
            1,
            "did you mean `packet-loss`?",
        ),
        (
            "fn describe() { #{ id: \"x\", versoin: 1 } }\nfn evaluate(conf) { [] }",
            "H903",
            1,
            "unknown field `versoin` in `describe()`; did you mean `version`?",
        ),
        (
            "fn describe() { #{} }\nfn evaluate(conf) {\n  let y = x + 1;\n}",
            "H901",
            3,
            "Undefined variable: x",
        ),
    ];
    for (text, code, line, says) in cases {
        let err = set.add("bad.rhai", text).expect_err(says);
        let d = err.diagnostic().expect("a load error");
        assert_eq!((d.code.as_str(), d.position.line), (code, line), "{d}");
        assert!(d.message.contains(says), "{d}");
        assert!(d.to_string().starts_with(&format!("bad.rhai:{line}:")), "{d}");
    }
    set.add("a.rhai", &format!("{}fn evaluate(conf) {{ [] }}", describe("a", "stream"))).expect("loads");
    let err = set
        .add("b.rhai", &format!("{}fn evaluate(conf) {{ [] }}", describe("a", "stream")))
        .expect_err("dup");
    assert!(
        matches!(&err, ScriptError::Metadata { message, .. } if message.contains("duplicate rule id `a`"))
    );
}

#[test]
fn scripts_read_the_same_values_as_the_view() {
    let view = view();
    // Carol's loss as Alice receives her audio: the series, its summary and one value.
    let set = one(
        "stream",
        r#"
        let out = [];
        for s in conf.streams() {
            if s.attr("direction") != "inbound" || s.attr("kind") != "audio" || s.attr("sender") != "carol" { continue; }
            if s.attr("participant") != "alice" { continue; }
            let series = s.series("loss_percent");
            let sum = s.summary("loss_percent");
            out.push(#{ about: s, raised: sum.max_at, evidence: ["loss_percent"],
                        message: `${series.len()} ${sum.samples} ${sum.max} ${s.value("loss_percent", sum.max_at)}` });
        }
        out
        "#,
    );
    let run = set.run(&view, &[]);
    assert!(run.errors().next().is_none(), "{:?}", run.errors().collect::<Vec<_>>());
    assert_eq!(run.findings.len(), 1);
    let f = &run.findings[0];
    let stream = view
        .streams
        .iter()
        .position(|s| {
            &*s.attrs.participant == "alice"
                && &*s.attrs.direction == "inbound"
                && s.attrs.kind.as_deref() == Some("audio")
                && s.attrs.sender.as_deref() == Some("carol")
        })
        .expect("alice hears carol");
    let (loss, _) = Scope::Stream.metric("loss_percent").expect("metric");
    let values: Vec<f64> = (0..view.ticks.len())
        .filter_map(|t| match view.value(hopscope_rules::view::EntityRef::Stream(stream), loss, t) {
            Val::Num(v) => Some(v),
            _ => None,
        })
        .collect();
    let max = values.iter().copied().fold(f64::MIN, f64::max);
    assert!(max > 3.0, "carol's uplink loses 8%: {max}");
    assert_eq!(f.message, format!("{} {} {max:?} {max:?}", view.ticks.len(), values.len()));
    assert_eq!(f.scope.participant.as_deref(), Some("alice"));
    assert_eq!((f.rule.as_str(), f.rule_version, f.severity), ("t", 2, Severity::Warning));
    assert_eq!(f.evidence[0].metric, "loss_percent");
    assert_eq!(f.evidence[0].value, EvidenceValue::Num(max));
    assert_eq!(f.actions, ["page"]);
    assert!(f.open_at_end && f.cleared_at.is_none());
    // Deterministic ids, like YAML rules'.
    assert_eq!(set.run(&view, &[]).findings[0].id, f.id);
}

#[test]
fn earlier_findings_are_visible_with_their_ticks() {
    let view = view();
    let earlier = hopscope_rules::eval::evaluate(&hopscope_rules::pack::builtin_default().rules, &view);
    let concealment: Vec<_> = earlier.iter().filter(|f| f.rule == "audio-concealment").collect();
    assert!(!concealment.is_empty());
    let set = one(
        "conference",
        r#"
        let n = 0;
        let first = ();
        for f in conf.findings() {
            if f.rule == "audio-concealment" {
                n += 1;
                if first == () || f.raised < first { first = f.raised; }
            }
        }
        [#{ about: conf, raised: first, message: `${n} at ${conf.time(first)}` }]
        "#,
    );
    let run = set.run(&view, &earlier);
    let first = concealment.iter().map(|f| f.raised_at.as_str()).min().expect("one");
    assert_eq!(run.findings[0].message, format!("{} at {first}", concealment.len()));
    assert_eq!(run.findings[0].raised_at, first);
}

#[test]
fn attributes_and_bad_ticks_are_clear_errors() {
    let view = view();
    let run = one("conference", "conf.participants()[0].attr(\"heard_mos\"); []").run(&view, &[]);
    let err = run.errors().next().expect("an error");
    assert!(err.to_string().contains("`heard_mos` changes over the call"), "{err}");
    let run = one("conference", "conf.value(\"participants\", 100000); []").run(&view, &[]);
    let err = run.errors().next().expect("an error");
    assert!(err.to_string().contains("tick 100000 is outside the call"), "{err}");
}

#[test]
fn streams_filter_by_direction_and_kind_natively() {
    let view = view();
    let body = r#"
        let a = conf.streams("inbound", "audio").len();
        let b = conf.participants()[0].streams("outbound").len();
        let c = conf.peer_connections()[1].streams("inbound", "video").len();
        // Asked again in the same run: the list given out the first time.
        let again = conf.streams("inbound", "audio").len() + conf.participants()[0].streams("outbound").len();
        [#{ about: conf, message: `${a} ${b} ${c} ${again}` }]
    "#;
    let run = one("conference", body).run(&view, &[]);
    let pc_inbound_video = view
        .streams
        .iter()
        .filter(|s| s.pc == 1 && &*s.attrs.direction == "inbound" && s.attrs.kind.as_deref() == Some("video"))
        .count();
    let inbound_audio = view
        .streams
        .iter()
        .filter(|s| &*s.attrs.direction == "inbound" && s.attrs.kind.as_deref() == Some("audio"))
        .count();
    let first_outbound =
        view.streams.iter().filter(|s| s.participant == 0 && &*s.attrs.direction == "outbound").count();
    // Four people through an SFU: each hears the three others.
    assert_eq!(inbound_audio, 12);
    assert!(pc_inbound_video > 0);
    assert_eq!(
        run.findings[0].message,
        format!("{inbound_audio} {first_outbound} {pc_inbound_video} {}", inbound_audio + first_outbound)
    );
    let run = one("conference", "conf.streams(\"incoming\"); []").run(&view, &[]);
    let err = run.errors().next().expect("an error");
    assert!(err.to_string().contains("direction `incoming`: one of inbound, outbound"), "{err}");
}

#[test]
fn the_readme_example_loads_and_runs() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../rules/README.md"))
        .expect("rules/README.md");
    let start = readme.find("```rhai\n").expect("a Rhai example") + "```rhai\n".len();
    let end = start + readme[start..].find("```").expect("closed");
    let mut set = ScriptSet::new(Limits::default());
    set.add("README.md", &readme[start..end]).expect("the example loads");
    let run = set.run(&view(), &[]);
    assert!(run.errors().next().is_none(), "{:?}", run.errors().collect::<Vec<_>>());
    // Carol's lossy uplink: the three others hear her badly for a third of the call.
    let messages: Vec<&str> = run.findings.iter().map(|f| f.message.as_str()).collect();
    assert_eq!(messages, ["SLA breached for 3 participants"]);
}

#[test]
fn native_scans_keep_what_a_script_loop_keeps() {
    let view = view();
    let (loss, _) = Scope::Stream.metric("loss_percent").expect("metric");
    // Per inbound stream, the ticks at which loss is above 3 %, read from the view.
    let mut expected = Vec::new();
    for (i, s) in view.streams.iter().enumerate() {
        if &*s.attrs.direction != "inbound" {
            continue;
        }
        let ticks: Vec<usize> = (0..view.ticks.len())
            .filter(|&t| {
                matches!(view.value(hopscope_rules::view::EntityRef::Stream(i), loss, t), Val::Num(v) if v > 3.0)
            })
            .collect();
        if !ticks.is_empty() {
            expected.push(format!("{}/{} {:?}", s.attrs.participant, s.attrs.stats_id, ticks));
        }
    }
    // Carol's lossy uplink reaches the three others, audio and video.
    assert!(expected.len() >= 3, "{expected:?}");
    let set = one(
        "stream",
        r#"
        let out = [];
        for s in conf.streams("inbound").above("loss_percent", 3) {
            out.push(#{ about: s, message: `${s.attr("participant")}/${s.id} ${s.ticks_above("loss_percent", 3.0)}` });
        }
        out
        "#,
    );
    let run = set.run(&view, &[]);
    assert!(run.errors().next().is_none(), "{:?}", run.errors().collect::<Vec<_>>());
    let mut found: Vec<String> = run.findings.iter().map(|f| f.message.clone()).collect();
    found.sort();
    expected.sort();
    assert_eq!(found, expected);

    // `below` and `ticks_below` are the mirror: no stream's loss is below zero, and every
    // measured tick of a clean stream is below 3 %.
    let run = one(
        "conference",
        r#"
        let none = conf.streams().below("loss_percent", 0).len();
        let s = conf.streams("inbound", "audio").below("loss_percent", 3)[0];
        [#{ about: conf, message: `${none} ${s.ticks_below("loss_percent", 3).len()} ${s.summary("loss_percent").samples}` }]
        "#,
    )
    .run(&view, &[]);
    assert!(run.errors().next().is_none(), "{:?}", run.errors().collect::<Vec<_>>());
    let parts: Vec<&str> = run.findings[0].message.split(' ').collect();
    assert_eq!(parts[0], "0");
    assert!(parts[1].parse::<usize>().expect("count") > 0);

    // Lists of something else and unknown metrics are clear errors.
    for (body, says) in [
        ("[1, 2].above(\"loss_percent\", 3); []", "item 0 of the list is a i64, not an entity"),
        ("conf.streams().above(\"loss_pct\", 3); []", "unknown metric `loss_pct` for a stream"),
        ("conf.hops()[0].ticks_below(\"rtt\", 3); []", "unknown metric `rtt` for a hop"),
    ] {
        let run = one("conference", body).run(&view, &[]);
        let err = run.errors().next().expect("an error");
        assert!(err.to_string().contains(says), "{body}: {err}");
    }
}

/// Participant metrics pooled over received streams, hop metrics pooled over routes and a
/// connection's metrics kept as intervals are scanned stream by stream, route by route and
/// interval by interval; the scan must give exactly what reading tick by tick gives.
#[test]
fn pooled_metrics_scan_to_the_same_values_as_tick_by_tick() {
    use hopscope_rules::view::EntityRef;
    let view = view();
    let participants = (0..view.participants.len()).map(EntityRef::Participant).collect::<Vec<_>>();
    let hops = (0..view.hops.len()).map(EntityRef::Hop).collect::<Vec<_>>();
    let pcs = (0..view.pcs.len()).map(EntityRef::Pc).collect::<Vec<_>>();
    let cases = [
        (Scope::PeerConnection, "rtt_ms", &pcs),
        (Scope::PeerConnection, "available_outgoing_kbps", &pcs),
        (Scope::Participant, "heard_mos", &participants),
        (Scope::Participant, "heard_loss_percent", &participants),
        (Scope::Participant, "seen_video_quality", &participants),
        (Scope::Hop, "routes", &hops),
        (Scope::Hop, "loss_percent", &hops),
        (Scope::Hop, "jitter_ms", &hops),
        (Scope::Hop, "rtt_ms", &hops),
        (Scope::Hop, "bitrate_kbps", &hops),
    ];
    for (scope, name, entities) in cases {
        let (metric, _) = scope.metric(name).expect("metric");
        let mut compared = 0;
        for &entity in entities.iter() {
            let mut scanned = Vec::new();
            view.each_number_at(entity, metric, 0, view.ticks.len() - 1, |t, v| scanned.push((t, v)));
            let by_tick: Vec<(usize, f64)> = (0..view.ticks.len())
                .filter_map(|t| match view.value_computed(entity, metric, t) {
                    Val::Num(v) => Some((t, v)),
                    _ => None,
                })
                .collect();
            // Bit for bit: the same sums in the same order.
            assert_eq!(scanned, by_tick, "{name} of {entity:?}");
            // Read tick by tick, through the memo, too.
            for &(t, v) in &by_tick {
                assert_eq!(view.value(entity, metric, t), Val::Num(v), "{name} of {entity:?} at {t}");
            }
            let known = by_tick.len();
            let missing =
                (0..view.ticks.len()).filter(|&t| view.value(entity, metric, t) == Val::Missing).count();
            assert_eq!(
                known + missing,
                view.ticks.len(),
                "{name} of {entity:?}: a value or missing at every tick"
            );
            compared += by_tick.len();
            // A window of the call, too.
            let mut part = Vec::new();
            view.each_number_at(entity, metric, 10, 20, |t, v| part.push((t, v)));
            assert_eq!(
                part,
                by_tick.iter().copied().filter(|(t, _)| (10..=20).contains(t)).collect::<Vec<_>>()
            );
        }
        assert!(compared > 50, "{name}: the SFU call has values to compare ({compared})");
    }
}

/// A metric's highest and lowest value over the call, as `above`/`below` read them, are
/// exactly the fold of every tick's value, for every stream, participant and hop.
#[test]
fn extremes_are_the_highest_and_lowest_of_every_tick() {
    use hopscope_rules::view::EntityRef;
    let view = view();
    let streams = (0..view.streams.len()).map(EntityRef::Stream).collect::<Vec<_>>();
    let participants = (0..view.participants.len()).map(EntityRef::Participant).collect::<Vec<_>>();
    let hops = (0..view.hops.len()).map(EntityRef::Hop).collect::<Vec<_>>();
    let cases = [
        (Scope::Stream, "loss_percent", &streams),
        (Scope::Stream, "jitter_ms", &streams),
        (Scope::Stream, "concealment_percent", &streams),
        (Scope::Stream, "bitrate_kbps", &streams),
        (Scope::Stream, "rtt_ms", &streams),
        (Scope::Participant, "heard_mos", &participants),
        (Scope::Hop, "loss_percent", &hops),
    ];
    for (scope, name, entities) in cases {
        let (metric, _) = scope.metric(name).expect("metric");
        let mut known = 0;
        for &entity in entities.iter() {
            let mut values = Vec::new();
            view.each_number_at(entity, metric, 0, view.ticks.len() - 1, |_, v| values.push(v));
            let highest = values.iter().copied().reduce(f64::max);
            let lowest = values.iter().copied().reduce(f64::min);
            assert_eq!(view.extreme(entity, metric, true), highest, "{name} of {entity:?}");
            assert_eq!(view.extreme(entity, metric, false), lowest, "{name} of {entity:?}");
            known += usize::from(highest.is_some());
        }
        assert!(known > 0, "{name}: the SFU call has values");
    }
}

/// Entity lists read like arrays: loops, length, indices from either end, filter, map,
/// concatenation, membership, and a real array on request; a bad index or a filter that
/// does not answer yes or no is a clear error.
#[test]
fn entity_lists_read_like_arrays() {
    let view = view();
    let body = r#"
        let people = conf.participants();
        let n = 0;
        for p in people { n += 1; }
        let last = people[-1];
        let named = people.filter(|p| p.id == last.id);
        let ids = people.map(|p| p.id);
        let both = people + conf.hops();
        let arr = people.to_array();
        arr.push(1);
        [#{ about: conf, message: `${n} ${people.len()} ${people.len} ${people.is_empty()} ${named.len()} ${ids[0]} ${ids.len()} ${both.len()} ${people.contains(last)} ${conf.hops().contains(last)} ${arr.len()} ${type_of(people)}` }]
    "#;
    let run = one("conference", body).run(&view, &[]);
    assert!(run.errors().next().is_none(), "{:?}", run.errors().collect::<Vec<_>>());
    let (people, hops) = (view.participants.len(), view.hops.len());
    assert_eq!(people, 4);
    assert_eq!(
        run.findings[0].message,
        format!("4 4 4 false 1 {} 4 {} true false 5 Entities", view.participants[0].id, people + hops)
    );
    for (body, says) in [
        ("conf.participants()[4]; []", "index 4 is outside the list (4 entities)"),
        ("conf.participants()[-5]; []", "index -5 is outside the list (4 entities)"),
        ("conf.participants().filter(|p| 1); []", "filter: the function returned a i64, not true or false"),
    ] {
        let run = one("conference", body).run(&view, &[]);
        let err = run.errors().next().unwrap_or_else(|| panic!("{body}: no error"));
        assert!(err.to_string().contains(says), "{body}: {err}");
    }
}
