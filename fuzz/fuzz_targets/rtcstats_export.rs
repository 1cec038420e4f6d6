#![no_main]
//! Chrome's RTCStatsDump export: the header and metadata lines are fixed, the input is the body.

use hopscope_fuzz::{Corpus, run_format};
use hopscope_ingest::Format;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| -> Corpus {
    run_format(
        "fuzz.chrome-rtcstats.txt",
        b"RTCStatsDump\n{\"fileFormat\":3}\n",
        data,
        &[Format::ChromeRtcstatsExport],
    )
});
