#![no_main]
//! Jitsi server dumps (JVB, Jicofo, Jigasi): lines `{"statsSessionId", "type", "data"}`.

use hopscope_fuzz::{Corpus, run_format};
use hopscope_ingest::Format;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| -> Corpus { run_format("fuzz.log", b"", data, &[Format::JitsiServer]) });
