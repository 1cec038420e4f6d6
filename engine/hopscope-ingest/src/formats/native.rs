//! hopscope's native observation format: one JSON envelope per observation, as NDJSON, a
//! JSON array, or a single object. Documented by `sdk/schema/observation.schema.json`.
//!
//! An envelope names its app, conference and source. Endpoint envelopes name a participant
//! and carry a full W3C `getStats()` report for one peer connection (`pc` + `stats`) and/or
//! events; a file may hold a whole conference: they are grouped by participant. SFU and
//! TURN envelopes (`source: sfu|turn`, docs/middlebox-observations.md) carry a server's
//! view of client transports and relay allocations; they are grouped by server
//! ([`middlebox`]) and may be mixed with endpoint envelopes in one file.

mod middlebox;

use std::collections::BTreeMap;

use hopscope_model::events::EventKind;
use hopscope_model::middlebox::{MiddleboxKind, MiddleboxObservation};
use hopscope_model::{DataNote, RemoteKind, Timestamp};
use serde::Deserialize;
use serde::de::DeserializeSeed;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::builder::ParticipantBuilder;
use crate::error::{IngestError, Location, json_problem};
use crate::fields::RawStats;
use crate::json::ReportSeed;

/// The current envelope version.
pub const VERSION: u64 = 1;

#[derive(Deserialize)]
struct Envelope<'a> {
    v: Option<u64>,
    app: Option<String>,
    conference: Option<String>,
    participant: Option<String>,
    user: Option<String>,
    source: Option<String>,
    timestamp: Option<f64>,
    client: Option<Client>,
    pc: Option<String>,
    remote: Option<String>,
    /// Parsed as the envelope is: a report is read once, not found first and then read.
    #[serde(default, deserialize_with = "parse_report")]
    stats: Option<Report>,
    events: Option<Vec<NativeEvent>>,
    // Middlebox envelopes (kept raw: checked with field paths in `middlebox`).
    #[serde(borrow)]
    server: Option<&'a RawValue>,
    #[serde(borrow)]
    software: Option<&'a RawValue>,
    #[serde(borrow)]
    transports: Option<&'a RawValue>,
    #[serde(borrow)]
    allocations: Option<&'a RawValue>,
    #[serde(borrow)]
    errors: Option<&'a RawValue>,
}

/// A `stats` report's objects, and the report's own timestamp when it has one.
struct Report {
    objects: Vec<(String, RawStats)>,
    timestamp: Option<f64>,
}

fn parse_report<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Report>, D::Error> {
    struct OptionalReport;
    impl<'de> serde::de::Visitor<'de> for OptionalReport {
        type Value = Option<Report>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a getStats report or null")
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            let mut objects = Vec::new();
            let timestamp = ReportSeed { out: &mut objects }
                .deserialize(d)
                .map_err(|e| serde::de::Error::custom(format_args!("`stats`: {e}")))?;
            Ok(Some(Report { objects, timestamp }))
        }
    }
    d.deserialize_option(OptionalReport)
}

#[derive(Deserialize)]
struct Client {
    #[serde(rename = "userAgent")]
    user_agent: Option<String>,
    sdk: Option<String>,
}

#[derive(Deserialize)]
struct NativeEvent {
    timestamp: Option<f64>,
    pc: Option<String>,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    value: Value,
}

/// Participants read from a native file, by participant id, plus the conference id (of
/// the endpoint envelopes), middlebox observations and remarks about the file.
pub(crate) struct NativeRead {
    pub participants: Vec<ParticipantBuilder>,
    pub conference: Option<String>,
    pub middleboxes: Vec<MiddleboxObservation>,
    pub notes: Vec<DataNote>,
}

/// Native envelopes read so far, to which more can be added: the state `read` keeps
/// between envelopes, kept across calls so that a live conference's observations are each
/// read once, as they arrive, rather than all again at every evaluation.
#[derive(Clone)]
pub(crate) struct NativeReader {
    source_name: String,
    fallback_name: String,
    builders: BTreeMap<String, ParticipantBuilder>,
    order: Vec<String>,
    conference: Option<String>,
    ok: usize,
    skipped: usize,
    /// The first envelope that could not be read: where, and why.
    first_problem: Option<(Location, String)>,
    collected: middlebox::Collected,
    notes: Vec<DataNote>,
    /// NDJSON lines read so far, so that locations count from the stream's start.
    lines: usize,
}

impl NativeReader {
    pub(crate) fn new(source_name: &str, fallback_name: &str) -> NativeReader {
        NativeReader {
            source_name: source_name.to_string(),
            fallback_name: fallback_name.to_string(),
            builders: BTreeMap::new(),
            order: Vec::new(),
            conference: None,
            ok: 0,
            skipped: 0,
            first_problem: None,
            collected: middlebox::Collected::default(),
            notes: Vec::new(),
            lines: 0,
        }
    }

    /// About how many bytes the time series read so far hold.
    pub(crate) fn series_bytes(&self) -> usize {
        self.builders.values().map(ParticipantBuilder::series_bytes).sum::<usize>()
            + self.collected.series_bytes()
    }

    /// Reads one envelope (`text`, found at `location`); a problem skips it alone.
    fn envelope(&mut self, text: &str, location: Location) {
        let result = serde_json::from_str::<Envelope>(text)
            .map_err(|e| json_problem(&e))
            .and_then(|env| self.apply(env, &location));
        match result {
            Ok(()) => self.ok += 1,
            Err(problem) => {
                self.skipped += 1;
                self.first_problem.get_or_insert((location, problem));
            }
        }
    }

    /// Reads NDJSON envelopes that follow the ones read so far (whole lines).
    pub(crate) fn read_lines(&mut self, text: &str) {
        let text = text.strip_suffix('\n').unwrap_or(text);
        for line in text.split('\n') {
            self.lines += 1;
            let line = line.trim();
            if !line.is_empty() {
                self.envelope(line, Location::Line(self.lines));
            }
        }
    }

    /// What was read: an error when no envelope could be.
    pub(crate) fn finish(self) -> Result<NativeRead, IngestError> {
        let NativeReader {
            source_name,
            mut builders,
            order,
            conference,
            ok,
            skipped,
            first_problem,
            collected,
            mut notes,
            ..
        } = self;
        let first_error = first_problem.map(|(location, problem)| IngestError::Malformed {
            source_name: source_name.clone(),
            location,
            problem,
            expected: "a hopscope observation envelope (see sdk/schema/observation.schema.json)".into(),
        });
        if ok == 0 {
            return Err(first_error.unwrap_or(IngestError::Empty { source_name }));
        }
        let mut participants: Vec<ParticipantBuilder> = Vec::new();
        for name in order {
            if let Some(b) = builders.remove(&name) {
                participants.push(b);
            }
        }
        if let Some(err) = first_error {
            let what = if skipped == 1 {
                "1 observation was".to_string()
            } else {
                format!("{skipped} observations were")
            };
            notes.push(DataNote {
                source: source_name.clone(),
                location: None,
                message: format!("{what} skipped; the first: {err}"),
            });
        }
        Ok(NativeRead { participants, conference, middleboxes: collected.finish(), notes })
    }

    fn apply(&mut self, env: Envelope, location: &Location) -> Result<(), String> {
        if let Some(v) = env.v
            && v > VERSION
        {
            return Err(format!("envelope version {v} is newer than this hopscope understands ({VERSION})"));
        }
        let kind = match env.source.as_deref() {
            None | Some("endpoint") => None,
            Some("sfu") => Some(MiddleboxKind::Sfu),
            Some("turn") => Some(MiddleboxKind::Turn),
            Some(other) => return Err(format!("unknown source `{other}`; expected endpoint, sfu or turn")),
        };
        if let Some(kind) = kind {
            let endpoint_only = [
                ("pc", env.pc.is_some()),
                ("stats", env.stats.is_some()),
                ("events", env.events.is_some()),
                ("remote", env.remote.is_some()),
            ];
            if let Some((field, _)) = endpoint_only.iter().find(|(_, present)| *present) {
                return Err(format!(
                    "`{field}` belongs to endpoint observations, not `source: {}`; send it in an endpoint envelope",
                    kind.as_str()
                ));
            }
            let checked = middlebox::check(middlebox::Header {
                kind,
                at: env.timestamp.and_then(Timestamp::from_epoch_ms),
                server: env.server,
                software: env.software,
                conference: env.conference,
                transports: env.transports,
                allocations: env.allocations,
                errors: env.errors,
            })?;
            for (path, message) in &checked.notes {
                let location = Some(format!("{location}, {path}"));
                if !self.notes.iter().any(|n| n.message == *message) {
                    self.notes.push(DataNote {
                        source: self.source_name.clone(),
                        location,
                        message: message.clone(),
                    });
                }
            }
            self.collected.apply(checked);
            return Ok(());
        }
        let middlebox_only = [
            ("transports", env.transports.is_some()),
            ("allocations", env.allocations.is_some()),
            ("errors", env.errors.is_some()),
        ];
        if let Some((field, _)) = middlebox_only.iter().find(|(_, present)| *present) {
            let source = if *field == "transports" { "sfu" } else { "turn" };
            return Err(format!(
                "`{field}` is only read in `source: {source}` observations; set `\"source\": \"{source}\"`"
            ));
        }
        let name = env.participant.clone().unwrap_or_else(|| self.fallback_name.clone());
        if self.conference.is_none() {
            self.conference = env.conference.clone();
        }
        let (source_name, fallback_name) = (&self.source_name, &self.fallback_name);
        let order = &mut self.order;
        let b = self.builders.entry(name.clone()).or_insert_with(|| {
            order.push(name.clone());
            let mut b = ParticipantBuilder::new(source_name, "hopscope native", fallback_name);
            b.name = Some(name.clone());
            b
        });
        if let Some(c) = &env.conference {
            b.identifier("conference", c);
        }
        if let Some(a) = &env.app {
            b.identifier("app", a);
        }
        if let Some(u) = &env.user {
            b.identifier("user", u);
        }
        if let Some(client) = &env.client {
            if let Some(ua) = &client.user_agent {
                b.user_agent(ua);
            }
            if let Some(sdk) = &client.sdk {
                b.identifier("sdk", sdk);
            }
        }
        let at = env.timestamp.and_then(Timestamp::from_epoch_ms);
        if let (Some(pc), Some(remote)) = (&env.pc, &env.remote) {
            let kind = match remote.as_str() {
                "sfu" => RemoteKind::Sfu,
                "peer" => RemoteKind::Peer,
                _ => RemoteKind::Unknown,
            };
            b.pc(pc).hint_remote(10, kind, "declared by the collector");
        }
        if let Some(Report { objects, timestamp: top }) = env.stats {
            let Some(pc) = &env.pc else {
                return Err("`stats` without `pc`: name the peer connection the report belongs to".into());
            };
            // The report's time is its newest object's (as rtcstats defines it); the
            // envelope's own timestamp is when the collector wrapped it, a little later.
            let newest =
                objects.iter().filter_map(|(_, r)| r.timestamp).filter(|t| *t > 0.0).reduce(f64::max);
            let report_time = top.or(newest).and_then(Timestamp::from_epoch_ms).or(at);
            let Some(report_time) = report_time else {
                return Err("a stats report needs a `timestamp` (epoch milliseconds)".into());
            };
            b.pc(pc).push_report(report_time, objects.iter().map(|(id, r)| (id.as_str(), r)));
        }
        for (i, e) in env.events.iter().flatten().enumerate() {
            let Some(t) = e.timestamp.and_then(Timestamp::from_epoch_ms).or(at) else {
                b.note(Some(format!("{location}, events[{i}]")), "event without a timestamp skipped");
                continue;
            };
            let pc = e.pc.as_deref().or(env.pc.as_deref());
            if !b.event(pc, t, &e.kind, &e.value) {
                let kind =
                    EventKind::Other { name: e.kind.clone(), detail: crate::events::value_text(&e.value) };
                match pc {
                    Some(pc) => b.pc(pc).event(t, kind),
                    None => b.push_client_event(t, kind),
                }
            }
        }
        Ok(())
    }
}

/// Reads native envelopes (NDJSON, array, or one object).
pub(crate) fn read(source_name: &str, text: &str, fallback_name: &str) -> Result<NativeRead, IngestError> {
    let mut reader = NativeReader::new(source_name, fallback_name);
    let trimmed = text.trim_start();
    // One pretty-printed object: its first line is not a whole envelope.
    let first_line = trimmed.lines().next().unwrap_or("").trim_end();
    if trimmed.starts_with('{') && !first_line.ends_with('}') {
        // Its lines are no envelopes, so a problem anywhere in it is the object's.
        let loc = Location::Line(text[..text.len() - trimmed.len()].matches('\n').count() + 1);
        reader.envelope(text, loc);
    } else if trimmed.starts_with('[') {
        // Envelopes one by one, so one that cannot be read is skipped, not the array.
        let envelopes: Vec<&RawValue> = serde_json::from_str(text).map_err(|e| {
            IngestError::from_json(source_name, &e, "an array of hopscope observation envelopes")
        })?;
        for (i, raw) in envelopes.into_iter().enumerate() {
            reader.envelope(raw.get(), Location::Path(format!("[{i}]")));
        }
    } else {
        reader.read_lines(text);
    }
    reader.finish()
}
