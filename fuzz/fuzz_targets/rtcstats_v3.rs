#![no_main]
//! rtcstats v3 dumps (fippo/Jitsi): lines of JSON arrays `[method, pc, value, epochMs]`, delta-compressed getstats.

use hopscope_fuzz::{Corpus, run_format};
use hopscope_ingest::Format;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| -> Corpus { run_format("fuzz.rtcstats", b"", data, &[Format::RtcstatsV3]) });
