#![no_main]
//! ObserveRTC ClientSample JSON (one sample, an array, or `{messages: [...]}`).

use hopscope_fuzz::{Corpus, run_format};
use hopscope_ingest::Format;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| -> Corpus { run_format("fuzz.json", b"", data, &[Format::ObserveRtc]) });
