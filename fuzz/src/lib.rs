//! Shared harness for hopscope's fuzz targets: every target runs the whole pipeline
//! (ingest → assemble → diagnose → render) on what it read, with a 1 MiB input limit.
//!
//! Per-format targets force their format by construction (a fixed header where the
//! format has one) and reject, via [`Corpus::Reject`], mutated inputs that content
//! detection no longer classifies as their format, so each corpus stays on its reader.
//! `any_format` takes raw bytes (gzip included) and may hold several files.

use hopscope_diagnose::Detail;
use hopscope_ingest::{Format, Ingested, Limits};
pub use libfuzzer_sys::Corpus;

/// The size limit every target ingests with.
pub const LIMITS: Limits = Limits { max_input_bytes: 1 << 20 };

/// Separates files inside one `any_format` input (so joining is fuzzed too).
pub const FILE_SEPARATOR: &[u8] = b"\n--8<--\n";

/// At most this many files per `any_format` input.
pub const MAX_FILES: usize = 4;

/// Diagnoses and renders what was ingested.
fn diagnose_all(inputs: Vec<Ingested>) {
    let conferences: Vec<hopscope_model::Conference> = hopscope_ingest::assemble(inputs);
    for conference in &conferences {
        let diagnosis = hopscope_diagnose::diagnose(conference);
        let text = hopscope_diagnose::render(&diagnosis, Detail::Full);
        std::hint::black_box(text);
    }
}

/// One input of a known format: `prefix` + `data`, kept only when content detection
/// classifies it as one of `formats`.
pub fn run_format(name: &str, prefix: &[u8], data: &[u8], formats: &[Format]) -> Corpus {
    let owned;
    let bytes = if prefix.is_empty() {
        data
    } else {
        owned = [prefix, data].concat();
        &owned[..]
    };
    match hopscope_ingest::detect(bytes) {
        Some(f) if formats.contains(&f) => {}
        _ => return Corpus::Reject,
    }
    if let Ok(ingested) = hopscope_ingest::ingest(name, bytes, &LIMITS) {
        assert!(
            formats.contains(&ingested.format),
            "ingest read {:?} as {:?}, detect said one of {formats:?}",
            name,
            ingested.format
        );
        diagnose_all(vec![ingested]);
    }
    Corpus::Keep
}

/// Raw bytes of any format (gzip included); `FILE_SEPARATOR` splits them into up to
/// `MAX_FILES` files that are assembled together.
pub fn run_any(data: &[u8]) -> Corpus {
    let _ = hopscope_ingest::detect(data);
    let mut files: Vec<&[u8]> = Vec::new();
    let mut rest = data;
    while files.len() + 1 < MAX_FILES {
        match find(rest, FILE_SEPARATOR) {
            Some(i) => {
                files.push(&rest[..i]);
                rest = &rest[i + FILE_SEPARATOR.len()..];
            }
            None => break,
        }
    }
    files.push(rest);
    let names = ["a.json", "b.rtcstats", "c.txt.gz", "d"];
    let mut ingested = Vec::new();
    for (name, bytes) in names.iter().zip(files) {
        if let Ok(i) = hopscope_ingest::ingest(name, bytes, &LIMITS) {
            ingested.push(i);
        }
    }
    diagnose_all(ingested);
    Corpus::Keep
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
