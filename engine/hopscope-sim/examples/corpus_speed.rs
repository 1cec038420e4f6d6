//! Generates and simulates a corpus in memory, the way a backtest would, and reports how
//! long it took: `cargo run --release -p hopscope-sim --example corpus_speed -- 1000 7`.

use std::time::Instant;

fn main() -> Result<(), hopscope_sim::SimError> {
    let mut args = std::env::args().skip(1);
    let n = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let seed = args.next().and_then(|a| a.parse().ok()).unwrap_or(7);
    let started = Instant::now();
    let (mut bytes, mut seconds, mut people) = (0usize, 0.0, 0usize);
    for entry in hopscope_sim::corpus(n, seed) {
        let entry = entry?;
        let sim = hopscope_sim::simulate(&entry.scenario);
        bytes += sim.participants.iter().map(|p| p.ndjson.len()).sum::<usize>();
        bytes += sim.servers.iter().map(|s| s.ndjson.len()).sum::<usize>();
        seconds += entry.truth.duration_s;
        people += entry.truth.participants.len();
    }
    let took = started.elapsed().as_secs_f64();
    println!(
        "{n} conferences ({people} participants, {:.0} call-minutes, {:.0} MB of NDJSON) in {took:.2} s: {:.1} ms each",
        seconds / 60.0,
        bytes as f64 / 1e6,
        took * 1000.0 / n as f64
    );
    Ok(())
}
