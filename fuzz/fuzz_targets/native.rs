#![no_main]
//! hopscope's native observation envelopes (NDJSON, array or single object; sdk/schema/observation.schema.json).

use hopscope_fuzz::{Corpus, run_format};
use hopscope_ingest::Format;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| -> Corpus { run_format("fuzz.hopscope.ndjson", b"", data, &[Format::Native]) });
