#![no_main]
//! Chrome webrtc-internals dumps (both dialects) and the processed rtcstats-server JSON: one JSON object document.

use hopscope_fuzz::{Corpus, run_format};
use hopscope_ingest::Format;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| -> Corpus {
    run_format("fuzz.webrtc-internals.json", b"", data, &[Format::WebrtcInternals, Format::ProcessedRtcstats])
});
