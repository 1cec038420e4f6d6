#![no_main]
//! rtcstats v4 (numeric methods, compressed properties): the header and metadata lines are fixed, the input is the body.

use hopscope_fuzz::{Corpus, run_format};
use hopscope_ingest::Format;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| -> Corpus {
    run_format(
        "fuzz.rtcstats",
        b"RTCStatsDump\n{\"clientProtocol\":\"rtcstats#4.0\"}\n",
        data,
        &[Format::RtcstatsV4],
    )
});
