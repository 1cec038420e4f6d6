//! A deliberately hostile plugin for the sandbox tests: what it does is chosen by the
//! conference id (`hostile:<behaviour>`), so one component covers every runtime attack.

use hopscope_plugin_sdk::*;
use std::hint::black_box;

struct Hostile;

/// Scalars only, so every frame lives on the wasm stack (not Rust's shadow stack in linear
/// memory), and work after the call so it cannot become a loop.
#[allow(unconditional_recursion)] // the point of the attack
#[inline(never)]
fn recurse(depth: u64, salt: u64) -> u64 {
    let below = recurse(depth.wrapping_add(1), salt ^ depth.rotate_left(7));
    below.rotate_left(3) ^ depth ^ salt
}

fn finding(rule: &str, message: String) -> Finding {
    Finding {
        rule: rule.into(),
        version: 1,
        severity: Severity::Info,
        category: Category::Media,
        subject: Subject::Conference,
        raised_ms: now(),
        cleared_ms: None,
        evidence: vec![],
        message,
        actions: vec![],
    }
}

impl Plugin for Hostile {
    fn manifest() -> Manifest {
        Manifest {
            name: "hostile".into(),
            version: "0.1.0".into(),
            rules: vec![RuleInfo {
                id: "hostile".into(),
                version: 1,
                description: "attacks the host".into(),
            }],
            metrics: vec!["stream.jitter_buffer_ms".into()],
            on_request: vec![],
            capabilities: vec![],
            // All the fuel it can get: the host caps it at its ceiling.
            budget: Budget { fuel: u64::MAX / 2, memory_bytes: 32 << 20, wall_ms: 250 },
        }
    }

    fn evaluate(c: &Conference) -> Result<Vec<Finding>, String> {
        let behaviour = c.id.strip_prefix("hostile:").unwrap_or("");
        match behaviour {
            "loop" => {
                let mut x: u64 = 0;
                loop {
                    x = black_box(x.wrapping_add(1));
                }
            }
            "memory" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    // Grow without filling: the limit, not the wall clock, must stop it
                    // even on a loaded machine.
                    let mut chunk: Vec<u8> = Vec::with_capacity(1 << 20);
                    chunk.push(black_box(1));
                    hoard.push(chunk);
                    black_box(&hoard);
                }
            }
            "recursion" => Ok(vec![finding("hostile", format!("{}", recurse(0, c.ticks_ms.len() as u64)))]),
            "panic" => panic!("the hostile plugin gives up on purpose"),
            "trap" => core::arch::wasm32::unreachable(),
            "error" => Err("the hostile plugin refuses this conference".into()),
            "print" => {
                // stdout is linked, but only to a trap.
                println!("hello from inside the sandbox");
                Ok(vec![])
            }
            "many" => Ok((0..5_000).map(|i| finding("hostile", format!("{i}"))).collect()),
            "long" => Ok(vec![finding("hostile", "x".repeat(4 << 20))]),
            "undeclared" => Ok(vec![finding("not-in-the-manifest", "sneaky".into())]),
            "out-of-range" => {
                let mut f = finding("hostile", "bad subject".into());
                f.subject = Subject::Stream(u32::MAX);
                Ok(vec![f])
            }
            "bad-action" => {
                let mut f = finding("hostile", "bad action".into());
                f.actions = vec![Action::CapBitrate(BitrateCap { stream: 0, max_kbps: 0 })];
                Ok(vec![f])
            }
            // Reads through the host without end: the fuel each read costs must stop it.
            "series-flood" => loop {
                black_box(c.stream_series(0, "jitter_buffer_ms"));
            },
            // Reads every stream one at a time: what reading on request costs at its worst.
            "series-all" => {
                let read =
                    (0..c.stream_count()).filter_map(|i| c.stream_series(i, "jitter_buffer_ms")).count();
                Ok(vec![finding("hostile", format!("read {read} streams"))])
            }
            // Reads what it may not (a metric the manifest does not list, a stream that does
            // not exist, a name no metric has), then what it may: the first stream with a
            // jitter buffer, its deepest, and its values.
            "series-probe" => {
                let summary = c.stream_summary("jitter_buffer_ms").ok_or("no summary")?;
                let stream =
                    (0..c.stream_count()).find(|&i| summary.highest_of(i).is_some()).ok_or("no buffer")?;
                let values = c.stream_series(stream, "jitter_buffer_ms").ok_or("no values")?;
                let values: Vec<String> = values.iter().map(f64::to_string).collect();
                Ok(vec![finding(
                    "hostile",
                    format!(
                        "{:?} {:?} {:?} {stream} {} | {}",
                        c.stream_series(0, "loss_percent"),
                        c.stream_series(u32::MAX as usize, "jitter_buffer_ms"),
                        c.stream_series(0, &"z".repeat(100_000)),
                        summary.highest_of(stream).unwrap_or(f64::NAN),
                        values.join(","),
                    ),
                )])
            }
            "log-flood" => {
                for i in 0..10_000 {
                    log::info(&format!("line {i} {}", "y".repeat(2_000)));
                }
                Ok(vec![finding("hostile", "flooded".into())])
            }
            // Otherwise it behaves: one finding counting what it saw, so mixed runs can
            // check that good results stay right.
            _ => Ok(vec![finding(
                "hostile",
                format!(
                    "{} participants, {} streams, {} ticks, {} earlier findings",
                    c.participants.len(),
                    c.stream_count(),
                    c.ticks_ms.len(),
                    c.earlier_findings.len()
                ),
            )]),
        }
    }
}

export_plugin!(Hostile);
