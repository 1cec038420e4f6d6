//! A single raw `getStats()` report saved as JSON, in any of the four shapes seen in the
//! wild (see [`crate::json::ReportSeed`]). It has no peer-connection id and no events: it
//! becomes one peer connection with one report.

use hopscope_model::Timestamp;
use serde::de::DeserializeSeed;

use crate::builder::ParticipantBuilder;
use crate::error::IngestError;
use crate::json::ReportSeed;

/// The peer-connection key snapshot files get.
pub(crate) const SNAPSHOT_PC: &str = "getStats";

/// Reads a snapshot into `builder`.
pub(crate) fn read(
    source_name: &str,
    text: &str,
    builder: &mut ParticipantBuilder,
) -> Result<(), IngestError> {
    let mut objects = Vec::new();
    let mut de = serde_json::Deserializer::from_str(text);
    let top_time = ReportSeed { out: &mut objects }
        .deserialize(&mut de)
        .and_then(|t| de.end().map(|()| t))
        .map_err(|e| IngestError::from_json(source_name, &e, "a getStats() report"))?;
    let typed = objects.iter().filter(|(_, r)| r.kind.is_some()).count();
    if typed == 0 {
        return Err(IngestError::UnknownFormat {
            source_name: source_name.to_string(),
            found: "a JSON document with no stats objects (nothing has a `type`)".into(),
        });
    }
    let skipped = objects.len() - typed;
    if skipped > 0 {
        builder.note(None, format!("{skipped} entries without a `type` skipped (not stats objects)"));
    }
    // The report time: the latest object timestamp (remote stats carry older RTCP times).
    let report_time = top_time
        .or_else(|| objects.iter().filter_map(|(_, r)| r.timestamp).filter(|t| *t > 0.0).reduce(f64::max))
        .and_then(Timestamp::from_epoch_ms);
    let Some(report_time) = report_time else {
        return Err(IngestError::Malformed {
            source_name: source_name.to_string(),
            location: crate::error::Location::Byte(0),
            problem: "no stats object has a timestamp".into(),
            expected: "stats objects with `timestamp` (epoch milliseconds)".into(),
        });
    };
    builder.pc(SNAPSHOT_PC).push_report(report_time, objects.iter().map(|(id, r)| (id.as_str(), r)));
    Ok(())
}
