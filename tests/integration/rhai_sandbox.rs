//! The Rhai sandbox under attack: for each limit a hostile script that must stop with its own
//! typed error, evaluated in the same run as good rules whose findings must not change; and
//! many evaluations at once on threads, hostile scripts mixed in.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hopscope_rules::finding::Finding;
use hopscope_rules::pack::builtin_default;
use hopscope_rules::view::View;
use hopscope_score::QualityConfig;
use hopscope_script::{Limits, Run, ScriptError, ScriptSet};
use hopscope_tests::{conference, fixture, root};

/// The two example rules shipped in rules/examples/rhai.
fn good_scripts() -> Vec<(String, String)> {
    ["lone-audio-concealer.rhai", "sla-heard-audio.rhai"]
        .iter()
        .map(|name| {
            let path = root().join("rules/examples/rhai").join(name);
            let text = std::fs::read_to_string(&path).expect("example script");
            (path.display().to_string(), text)
        })
        .collect()
}

/// A script of `scope` whose `evaluate` body is `body`, with helper functions `extra`.
fn script(id: &str, extra: &str, body: &str) -> String {
    format!(
        "fn describe() {{ #{{ id: \"{id}\", version: 1, description: \"hostile\", scope: \"conference\", \
         severity: \"info\", category: \"quality\" }} }}\n{extra}\nfn evaluate(conf) {{\n{body}\n}}\n"
    )
}

fn lossy_view() -> View {
    let c = conference(&[
        fixture("chromium/p2p-lossy/alice.rtcstats"),
        fixture("chromium/p2p-lossy/bob.rtcstats"),
    ]);
    View::build(&c, &QualityConfig::default())
}

fn clean_view() -> View {
    let c = conference(&[
        fixture("chromium/p2p-direct/alice.rtcstats"),
        fixture("chromium/p2p-direct/bob.rtcstats"),
    ]);
    View::build(&c, &QualityConfig::default())
}

fn yaml_findings(view: &View) -> Vec<Finding> {
    hopscope_rules::eval::evaluate(&builtin_default().rules, view)
}

/// The SLA rule's finding on the lossy call, with what the built-in rules found first.
const SLA_MESSAGE: &str = "SLA breached: 2 of 2 participants heard audio below MOS 3.6 for more than \
     10% of the call (alice 74%, bob 70%); the rules found: audio-concealment, audio-packet-loss, \
     low-audio-mos, outbound-packet-loss, video-packet-loss";

fn load(limits: &Limits, hostile: &[(&str, String)]) -> ScriptSet {
    let mut set = ScriptSet::new(limits.clone());
    for (file, text) in good_scripts() {
        set.add(&file, &text).expect("the example scripts load");
    }
    for (id, text) in hostile {
        set.add(&format!("{id}.rhai"), text).expect("the hostile script compiles");
    }
    set
}

/// Runs the good rules beside one hostile script; returns the hostile script's error after
/// checking the good rules' findings are exactly what they are alone.
fn attack(limits: &Limits, id: &str, text: String) -> ScriptError {
    let view = lossy_view();
    let earlier = yaml_findings(&view);
    let alone = load(limits, &[]).run(&view, &earlier);
    assert!(alone.errors().next().is_none(), "{:?}", alone.errors().collect::<Vec<_>>());
    let messages: Vec<&str> = alone.findings.iter().map(|f| f.message.as_str()).collect();
    assert_eq!(messages, [SLA_MESSAGE]);

    let run = load(limits, &[(id, text)]).run(&view, &earlier);
    assert_eq!(run.findings, alone.findings, "the good rules' findings changed beside `{id}`");
    let good: Vec<_> = run.rules.iter().filter(|r| r.rule != id).collect();
    assert!(good.iter().all(|r| r.error.is_none()), "{good:?}");
    let hostile = run.rules.iter().find(|r| r.rule == id).expect("the hostile rule ran");
    assert_eq!(hostile.findings, 0);
    hostile.error.clone().expect("the hostile rule failed")
}

#[test]
fn an_endless_loop_stops_at_the_operation_budget() {
    let err = attack(&Limits::default(), "endless", script("endless", "", "loop { }"));
    assert_eq!(err, ScriptError::OperationLimit { rule: "endless".into(), limit: 500_000 });
}

#[test]
fn runaway_recursion_stops_at_the_call_depth() {
    let err =
        attack(&Limits::default(), "recurse", script("recurse", "fn down(n) { down(n + 1) }", "down(0)"));
    assert!(
        matches!(&err, ScriptError::StackOverflow { rule, limit: 32, .. } if rule == "recurse"),
        "{err:?}"
    );
}

#[test]
fn a_doubling_string_stops_at_the_string_limit() {
    let err = attack(&Limits::default(), "strings", script("strings", "", "let s = \"x\"; loop { s += s; }"));
    assert!(matches!(&err, ScriptError::StringTooLong { limit: 65_536, .. }), "{err:?}");
}

#[test]
fn a_doubling_array_stops_at_the_array_limit() {
    let err = attack(&Limits::default(), "arrays", script("arrays", "", "let a = [0]; loop { a += a; }"));
    assert!(matches!(&err, ScriptError::ArrayTooLarge { limit: 100_000, .. }), "{err:?}");
}

#[test]
fn a_growing_map_stops_at_the_map_limit() {
    let body = "let m = #{}; for i in 0..20000 { m[`k${i}`] = i; } [m]";
    let err = attack(&Limits::default(), "maps", script("maps", "", body));
    assert!(matches!(&err, ScriptError::MapTooLarge { limit: 10_000, .. }), "{err:?}");
}

#[test]
fn a_slow_script_stops_at_its_deadline() {
    // No operation budget: only the clock stops it.
    let limits = Limits { max_operations: 0, deadline: Duration::from_millis(50), ..Limits::default() };
    let started = Instant::now();
    let err = attack(&limits, "slow", script("slow", "", "let n = 0; loop { n += 1; }"));
    assert_eq!(err, ScriptError::Timeout { rule: "slow".into(), limit_ms: 50 });
    // Three runs of the good rules and one hostile run to its deadline.
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
}

#[test]
fn a_runtime_error_names_its_line_and_column() {
    let body = "let n = conf.participants().len();\nlet x = n / 0;\n[]";
    let err = attack(&Limits::default(), "divide", script("divide", "", body));
    // Line 1 is describe(), 2 the empty helper line, 3 `fn evaluate`, 5 the division.
    assert!(
        matches!(&err, ScriptError::Runtime { line: 5, col: 11, message, .. } if message.contains("Division by zero")),
        "{err:?}"
    );
    let body = "let p = conf.participants()[0];\nlet x = p.id * 2;\n[]";
    let err = attack(&Limits::default(), "types", script("types", "", body));
    assert!(
        matches!(&err, ScriptError::Runtime { line: 5, col: 14, message, .. } if message.contains("Function not found")),
        "{err:?}"
    );
}

#[test]
fn an_unknown_metric_is_a_runtime_error_with_a_suggestion() {
    let body = "conf.participants()[0].series(\"heard_moss\");\n[]";
    let err = attack(&Limits::default(), "typo", script("typo", "", body));
    assert!(
        matches!(&err, ScriptError::Runtime { line: 4, message, .. }
            if message.contains("unknown metric `heard_moss`") && message.contains("did you mean `heard_mos`?")),
        "{err:?}"
    );
}

#[test]
fn a_huge_argument_to_a_host_function_is_refused_quickly() {
    let body = "let s = \"x\"; for i in 0..15 { s += s; }\nconf.participants()[0].series(s);\n[]";
    let started = Instant::now();
    let err = attack(&Limits::default(), "bigname", script("bigname", "", body));
    let ScriptError::Runtime { line: 5, message, .. } = &err else { panic!("{err:?}") };
    // The 32 KiB name is cut short in the message, and no suggestion is searched for.
    assert!(message.starts_with("Runtime error: unknown metric `xxxx"), "{message}");
    assert!(message.len() < 300, "{}", message.len());
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn eval_is_refused_at_load_and_at_run_time() {
    let mut set = ScriptSet::new(Limits::default());
    let err = set.add("eval.rhai", &script("eval", "", "eval(\"40 + 2\"); []")).expect_err("eval refused");
    assert_eq!(
        err,
        ScriptError::Forbidden { file: "eval.rhai".into(), line: 4, col: 1, symbol: "eval".into() }
    );
    assert_eq!(err.diagnostic().map(|d| d.code.as_str()), Some("H902"));
    // Smuggled through a function pointer, it gets past the compiler but not the runtime.
    let err = attack(&Limits::default(), "smuggle", script("smuggle", "", "Fn(\"eval\").call(\"1\"); []"));
    assert!(matches!(&err, ScriptError::NotGranted { symbol, .. } if symbol == "eval"), "{err:?}");
}

#[test]
fn granted_eval_runs_under_the_same_limits() {
    let limits = Limits { allow_eval: true, ..Limits::default() };
    let ok = script("evals", "", "let n = eval(\"40 + 2\"); [#{ about: conf, message: `n=${n}` }]");
    let mut set = ScriptSet::new(limits.clone());
    set.add("evals.rhai", &ok).expect("eval granted");
    let run = set.run(&lossy_view(), &[]);
    assert_eq!(run.findings.iter().map(|f| f.message.as_str()).collect::<Vec<_>>(), ["n=42"]);
    let err = attack(&limits, "evalloop", script("evalloop", "", "eval(\"loop { }\")"));
    assert_eq!(err, ScriptError::OperationLimit { rule: "evalloop".into(), limit: 500_000 });
}

#[test]
fn import_is_refused_at_load() {
    let mut set = ScriptSet::new(Limits::default());
    let text = format!("import \"os\" as os;\n{}", script("import", "", "[]"));
    let err = set.add("import.rhai", &text).expect_err("import refused");
    assert_eq!(
        err,
        ScriptError::Forbidden { file: "import.rhai".into(), line: 1, col: 1, symbol: "import".into() }
    );
    let inside = script("import2", "", "import \"x\" as x;\n[]");
    let err = set.add("import2.rhai", &inside).expect_err("import refused");
    assert!(matches!(&err, ScriptError::Forbidden { line: 4, symbol, .. } if symbol == "import"), "{err:?}");
}

#[test]
fn no_clock_file_or_network_function_exists() {
    for (id, body) in [("clock", "timestamp(); []"), ("files", "open_file(\"/etc/passwd\"); []")] {
        let err = attack(&Limits::default(), id, script(id, "", body));
        assert!(
            matches!(&err, ScriptError::Runtime { message, .. } if message.contains("Function not found")),
            "{err:?}"
        );
    }
}

#[test]
fn a_deeply_nested_expression_is_a_compile_error_not_a_crash() {
    let deep = format!("{}1{}", "(".repeat(100_000), ")".repeat(100_000));
    let mut set = ScriptSet::new(Limits::default());
    let err = set.add("deep.rhai", &script("deep", "", &deep)).expect_err("too deep");
    assert!(matches!(&err, ScriptError::Compile { line: 4, .. }), "{err:?}");
    assert_eq!(err.diagnostic().map(|d| d.code.as_str()), Some("H901"));
}

#[test]
fn flooding_findings_stops_at_the_findings_limit() {
    let body = "let out = []; for i in 0..1001 { out.push(#{ about: conf, message: \"x\" }); } out";
    let err = attack(&Limits::default(), "flood", script("flood", "", body));
    assert_eq!(err, ScriptError::TooManyFindings { rule: "flood".into(), count: 1001, limit: 1000 });
}

#[test]
fn a_finding_about_the_wrong_scope_is_refused() {
    let body = "[#{ about: conf.participants()[0], message: \"x\" }]";
    let err = attack(&Limits::default(), "scope", script("scope", "", body));
    assert!(
        matches!(&err, ScriptError::BadFinding { index: 0, message, .. }
            if message == "`about` is a participant, but the rule's scope is conference"),
        "{err:?}"
    );
}

fn summary(run: &Run) -> Vec<(String, Option<String>)> {
    run.rules
        .iter()
        .map(|r| {
            (
                r.rule.clone(),
                r.error.as_ref().map(|e| format!("{e:?}").split(' ').next().unwrap_or("").to_string()),
            )
        })
        .collect()
}

#[test]
fn many_evaluations_at_once_with_hostile_scripts_mixed_in() {
    // A roomy deadline: two cores shared by many threads must not turn budgets into timeouts.
    let limits = Limits { deadline: Duration::from_secs(10), ..Limits::default() };
    let hostile = [
        ("endless", script("endless", "", "loop { }")),
        ("recurse", script("recurse", "fn down(n) { down(n + 1) }", "down(0)")),
        ("strings", script("strings", "", "let s = \"x\"; loop { s += s; }")),
        ("divide", script("divide", "", "1 / 0")),
    ];
    let set = Arc::new(load(&limits, &hostile));
    let views = Arc::new([lossy_view(), clean_view()]);
    let earlier: Arc<Vec<Vec<Finding>>> = Arc::new(views.iter().map(yaml_findings).collect());
    let expected: Vec<Run> = (0..2).map(|i| set.run(&views[i], &earlier[i])).collect();
    assert_eq!(expected[0].findings.len(), 1);
    assert!(expected[1].findings.is_empty());
    let failures = |run: &Run| run.errors().count();
    assert_eq!(failures(&expected[0]), 4);

    let threads: Vec<_> = (0..8)
        .map(|t| {
            let (set, views, earlier) = (set.clone(), views.clone(), earlier.clone());
            std::thread::spawn(move || {
                (0..4)
                    .map(|k| {
                        let i = (t + k) % 2;
                        (i, set.run(&views[i], &earlier[i]))
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut runs = 0;
    for handle in threads {
        for (i, run) in handle.join().expect("no thread panicked") {
            assert_eq!(run.findings, expected[i].findings);
            assert_eq!(summary(&run), summary(&expected[i]));
            runs += 1;
        }
    }
    assert_eq!(runs, 32);
}

#[test]
fn operations_are_counted_per_rule() {
    let view = lossy_view();
    let run = load(&Limits::default(), &[]).run(&view, &yaml_findings(&view));
    for r in &run.rules {
        assert!(r.operations > 20 && r.operations < 50_000, "{}: {} operations", r.rule, r.operations);
    }
    // The same input costs the same operations every time.
    let again = load(&Limits::default(), &[]).run(&view, &yaml_findings(&view));
    let ops = |run: &Run| run.rules.iter().map(|r| r.operations).collect::<Vec<_>>();
    assert_eq!(ops(&run), ops(&again));
}
