#![no_main]
//! Raw bytes of any format, gzip included; `\n--8<--\n` splits an input into up to four
//! files that are ingested separately and assembled together (joining is fuzzed too).

use hopscope_fuzz::{Corpus, run_any};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| -> Corpus { run_any(data) });
