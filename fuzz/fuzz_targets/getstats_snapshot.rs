#![no_main]
//! A raw getStats() report as JSON, in any of its four shapes.

use hopscope_fuzz::{Corpus, run_format};
use hopscope_ingest::Format;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| -> Corpus { run_format("fuzz.json", b"", data, &[Format::GetStatsSnapshot]) });
