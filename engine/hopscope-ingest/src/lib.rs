//! hopscope ingest: reads WebRTC stats in the formats seen in the wild and builds the
//! conference model.
//!
//! ```text
//! bytes ──gunzip?──► detect ──► format reader ──► builder ──► Participant(s)
//!                                                   (typed samples, events, selected pairs)
//! Ingested × N ──► join ──► Conference(s)
//! ```
//!
//! Formats: raw `getStats()` snapshots (four JSON shapes), Chrome webrtc-internals dumps
//! (old and new dialects), rtcstats dumps (Jitsi/fippo v3 with delta compression, Chrome's
//! RTCStatsDump export, rtcstats v4), legacy Chrome `goog*` stats inside any of them,
//! ObserveRTC ClientSamples, Jitsi server dumps (JVB as SFU observations) and hopscope's
//! native observation envelopes. Gzip is sniffed.
//!
//! Invariants: bad input never panics; a problem confined to part of an input becomes a
//! [`hopscope_model::DataNote`] on the result, and only an input with nothing usable is an
//! [`IngestError`], which names the file, the place and what was expected.

mod builder;
mod convert;
mod detect;
mod error;
mod events;
mod fields;
mod formats;
mod join;
mod json;
mod legacy;

use std::io::Read;
use std::path::Path;

use hopscope_model::middlebox::MiddleboxObservation;
use hopscope_model::{DataNote, Participant};

pub use detect::{Format, detect};
pub use error::{IngestError, Location};
pub use formats::native::VERSION as NATIVE_VERSION;
pub use join::assemble;

/// Limits that keep hostile input from exhausting memory.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest input accepted, after decompression, in bytes.
    pub max_input_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_input_bytes: 512 * 1024 * 1024 }
    }
}

/// What one input contained.
#[derive(Clone, Debug)]
pub struct Ingested {
    /// The input's name (file name).
    pub source: String,
    /// The detected format.
    pub format: Format,
    /// Participants (one for most dumps; a native file may hold a conference).
    pub participants: Vec<Participant>,
    /// Media-server and relay observations.
    pub middleboxes: Vec<MiddleboxObservation>,
    /// Conference identifiers found in the data, for joining files of one call.
    pub conference_keys: Vec<(String, String)>,
    /// Remarks about the input (skipped lines, unsupported parts, ...).
    pub notes: Vec<DataNote>,
}

/// Reads a file (gzip or plain) with default limits.
pub fn ingest_file(path: &Path) -> Result<Ingested, IngestError> {
    ingest_file_with(path, &Limits::default())
}

/// Reads a file (gzip or plain).
pub fn ingest_file_with(path: &Path, limits: &Limits) -> Result<Ingested, IngestError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    let file =
        std::fs::File::open(path).map_err(|error| IngestError::Io { source_name: name.clone(), error })?;
    let mut bytes = Vec::new();
    file.take(limits.max_input_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| IngestError::Io { source_name: name.clone(), error })?;
    if bytes.len() as u64 > limits.max_input_bytes {
        return Err(IngestError::TooLarge {
            source_name: name,
            size: bytes.len() as u64,
            limit: limits.max_input_bytes,
        });
    }
    ingest(&name, &bytes, limits)
}

/// Reads one input from memory. `name` names it in errors and, when the data does not
/// name its participant, names the participant (`alice.txt` → `alice`).
pub fn ingest(name: &str, bytes: &[u8], limits: &Limits) -> Result<Ingested, IngestError> {
    if bytes.len() as u64 > limits.max_input_bytes {
        return Err(IngestError::TooLarge {
            source_name: name.to_string(),
            size: bytes.len() as u64,
            limit: limits.max_input_bytes,
        });
    }
    let bytes = decompress(name, bytes, limits)?;
    // Validate first (fast); only invalid input pays for the lossy conversion.
    let text = match std::str::from_utf8(&bytes) {
        Ok(t) => std::borrow::Cow::Borrowed(t),
        Err(_) => String::from_utf8_lossy(&bytes),
    };
    let mut notes = Vec::new();
    if matches!(text, std::borrow::Cow::Owned(_)) {
        notes.push(DataNote {
            source: name.to_string(),
            location: None,
            message: "invalid UTF-8 replaced with U+FFFD".into(),
        });
    }
    let text = text.trim_start_matches('\u{feff}');
    if text.trim().is_empty() {
        return Err(IngestError::Empty { source_name: name.to_string() });
    }
    let format = detect::detect_text(text).ok_or_else(|| IngestError::UnknownFormat {
        source_name: name.to_string(),
        found: detect::describe(text),
    })?;
    let fallback = participant_name_from_file(name);
    let mut result = Ingested {
        source: name.to_string(),
        format,
        participants: Vec::new(),
        middleboxes: Vec::new(),
        conference_keys: Vec::new(),
        notes,
    };
    let one = |read: &dyn Fn(&mut builder::ParticipantBuilder) -> Result<(), IngestError>| -> Result<Vec<builder::ParticipantBuilder>, IngestError> {
        let mut b = builder::ParticipantBuilder::new(name, format.as_str(), &fallback);
        read(&mut b)?;
        Ok(vec![b])
    };
    let builders = match format {
        Format::RtcstatsV3 => {
            one(&|b| formats::rtcstats::read(name, text, formats::rtcstats::Dialect::V3, b))?
        }
        Format::ChromeRtcstatsExport => {
            one(&|b| formats::rtcstats::read(name, text, formats::rtcstats::Dialect::ChromeExport, b))?
        }
        Format::RtcstatsV4 => {
            one(&|b| formats::rtcstats::read(name, text, formats::rtcstats::Dialect::V4, b))?
        }
        Format::WebrtcInternals | Format::ProcessedRtcstats => {
            one(&|b| formats::internals::read(name, text, b))?
        }
        Format::GetStatsSnapshot => one(&|b| formats::snapshot::read(name, text, b))?,
        Format::ObserveRtc => one(&|b| formats::observertc::read(name, text, b))?,
        Format::Native => add_native(&mut result, formats::native::read(name, text, &fallback)?),
        Format::JitsiServer => {
            let dump = formats::jitsi_server::read(name, text)?;
            result.middleboxes.extend(dump.middlebox);
            result.conference_keys.extend(dump.conference_keys);
            for (location, message) in dump.notes {
                result.notes.push(DataNote { source: name.to_string(), location, message });
            }
            Vec::new()
        }
    };
    add_participants(&mut result, builders);
    Ok(result)
}

/// Adds what a native reader found besides participants (the conference key, middlebox
/// observations, notes) to `result`; gives the participants' builders.
fn add_native(result: &mut Ingested, read: formats::native::NativeRead) -> Vec<builder::ParticipantBuilder> {
    if let Some(c) = read.conference {
        result.conference_keys.push(("conference".into(), c));
    }
    result.middleboxes.extend(read.middleboxes);
    result.notes.extend(read.notes);
    read.participants
}

/// Finishes the participants an input's reader built into `result`, with the conference
/// keys they name, and notes an input that held nothing usable.
fn add_participants(result: &mut Ingested, builders: Vec<builder::ParticipantBuilder>) {
    for b in builders {
        if b.is_empty() {
            continue;
        }
        let (participant, notes) = b.finish();
        for key in ["meetingUniqueId", "confID", "conference", "callId"] {
            if let Some(v) = participant.identifier(key) {
                let pair = (key.to_string(), v.to_string());
                if !result.conference_keys.contains(&pair) {
                    result.conference_keys.push(pair);
                }
            }
        }
        result.notes.extend(notes);
        result.participants.push(participant);
    }
    if result.participants.is_empty() && result.middleboxes.is_empty() && result.format != Format::JitsiServer
    {
        result.notes.push(DataNote {
            source: result.source.clone(),
            location: None,
            message: "no peer connection, event or media-request data found".into(),
        });
    }
}

/// Native observations (NDJSON) read as they arrive, for a conference still in progress:
/// each line is read once, and [`ingested`](Self::ingested) gives at any point exactly what
/// [`ingest`] gives for all the lines read so far at once. The state it keeps is the
/// model being built, about what the finished participants take.
#[derive(Clone)]
pub struct LiveIngest {
    reader: formats::native::NativeReader,
    name: String,
    bytes: u64,
    limits: Limits,
    invalid_utf8: bool,
}

impl std::fmt::Debug for LiveIngest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveIngest")
            .field("name", &self.name)
            .field("bytes", &self.bytes)
            .finish_non_exhaustive()
    }
}

impl LiveIngest {
    /// Nothing read yet of the stream called `name` (what [`Ingested::source`] says).
    pub fn new(name: &str, limits: &Limits) -> LiveIngest {
        LiveIngest {
            reader: formats::native::NativeReader::new(name, &participant_name_from_file(name)),
            name: name.to_string(),
            bytes: 0,
            limits: *limits,
            invalid_utf8: false,
        }
    }

    /// Reads the next whole NDJSON lines of the stream. Past the input limit (all lines
    /// read so far counted) it refuses them, as [`ingest`] refuses the whole input.
    pub fn read(&mut self, ndjson: &[u8]) -> Result<(), IngestError> {
        let total = self.bytes + ndjson.len() as u64;
        if total > self.limits.max_input_bytes {
            return Err(IngestError::TooLarge {
                source_name: self.name.clone(),
                size: total,
                limit: self.limits.max_input_bytes,
            });
        }
        self.bytes = total;
        match std::str::from_utf8(ndjson) {
            Ok(text) => self.reader.read_lines(text),
            Err(_) => {
                self.invalid_utf8 = true;
                self.reader.read_lines(&String::from_utf8_lossy(ndjson));
            }
        }
        Ok(())
    }

    /// Bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes
    }

    /// About how much memory the state kept takes: the time series read so far, which is
    /// what grows with the call (a memory budget for many live calls is kept with it).
    pub fn memory_bytes(&self) -> usize {
        self.reader.series_bytes()
    }

    /// Everything read so far, as [`ingest`] reads it; the stream goes on.
    pub fn ingested(&self) -> Result<Ingested, IngestError> {
        let read = self.reader.clone().finish()?;
        let mut result = Ingested {
            source: self.name.clone(),
            format: Format::Native,
            participants: Vec::new(),
            middleboxes: Vec::new(),
            conference_keys: Vec::new(),
            notes: Vec::new(),
        };
        if self.invalid_utf8 {
            result.notes.push(DataNote {
                source: self.name.clone(),
                location: None,
                message: "invalid UTF-8 replaced with U+FFFD".into(),
            });
        }
        let builders = add_native(&mut result, read);
        add_participants(&mut result, builders);
        Ok(result)
    }
}

fn decompress<'a>(
    name: &str,
    bytes: &'a [u8],
    limits: &Limits,
) -> Result<std::borrow::Cow<'a, [u8]>, IngestError> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(std::borrow::Cow::Borrowed(bytes));
    }
    let mut out = Vec::new();
    let mut decoder = flate2::read::MultiGzDecoder::new(bytes).take(limits.max_input_bytes + 1);
    if let Err(e) = decoder.read_to_end(&mut out) {
        return Err(IngestError::Malformed {
            source_name: name.to_string(),
            location: Location::Byte(out.len()),
            problem: format!("gzip stream is corrupt or truncated ({e})"),
            expected: "a complete gzip file".into(),
        });
    }
    if out.len() as u64 > limits.max_input_bytes {
        return Err(IngestError::TooLarge {
            source_name: name.to_string(),
            size: out.len() as u64,
            limit: limits.max_input_bytes,
        });
    }
    Ok(std::borrow::Cow::Owned(out))
}

/// `alice.txt` → `alice`, `bob.webrtc-internals.json.gz` → `bob`; unknown extensions
/// (version numbers like `chrome-77.0.3842.0`) are kept.
pub fn participant_name_from_file(name: &str) -> String {
    const EXTENSIONS: [&str; 11] = [
        ".gz",
        ".json",
        ".txt",
        ".ndjson",
        ".jsonl",
        ".log",
        ".rtcstats",
        ".webrtc-internals",
        ".hopscope",
        ".chrome-rtcstats",
        ".dump",
    ];
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let mut stem = base;
    loop {
        let before = stem;
        for ext in EXTENSIONS {
            if let Some(s) = stem.strip_suffix(ext)
                && !s.is_empty()
            {
                stem = s;
            }
        }
        if stem == before {
            break;
        }
    }
    stem.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_files() {
        assert_eq!(participant_name_from_file("alice.txt"), "alice");
        assert_eq!(participant_name_from_file("dir/bob.webrtc-internals.json.gz"), "bob");
        assert_eq!(participant_name_from_file("chrome-77.0.3842.0.json"), "chrome-77.0.3842.0");
        assert_eq!(participant_name_from_file("9c93a447-c9f8"), "9c93a447-c9f8");
    }

    #[test]
    fn empty_and_garbage_inputs_are_errors_not_panics() {
        let l = Limits::default();
        assert!(matches!(ingest("e.json", b"   ", &l), Err(IngestError::Empty { .. })));
        assert!(matches!(ingest("g.bin", b"\x00\x01garbage", &l), Err(IngestError::UnknownFormat { .. })));
        let truncated_gzip = [0x1f, 0x8b, 0x08, 0x00];
        assert!(matches!(ingest("t.gz", &truncated_gzip, &l), Err(IngestError::Malformed { .. })));
    }
}
