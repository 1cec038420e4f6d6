//! `source: sfu` and `source: turn` envelopes (docs/middlebox-observations.md): media-server
//! transports and TURN allocations, grouped by server into [`MiddleboxObservation`]s.
//!
//! Envelope parts are walked as JSON values so that a wrong type names its field
//! (`transports[0].inbound[1].packetsLost`); an envelope is checked whole before any of it
//! is applied, so a bad one is skipped without leaving half a sample behind.

use std::collections::HashMap;

use hopscope_model::Timestamp;
use hopscope_model::events::IceConnectionState;
use hopscope_model::middlebox::{
    MiddleboxClient, MiddleboxClientSample, MiddleboxKind, MiddleboxObservation, SfuInboundSample,
    SfuInboundStream, SfuOutboundSample, SfuOutboundStream, TransportProtocol, TurnAllocation,
    TurnAllocationError, TurnAllocationSample,
};
use hopscope_model::stats::MediaKind;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// A problem with one envelope: what and where, and how to fix it.
pub(super) type Problem = String;

/// Parses a part of the envelope that was kept raw.
pub(super) fn raw_value(field: &str, raw: &RawValue) -> Result<Value, Problem> {
    serde_json::from_str(raw.get()).map_err(|e| format!("`{field}`: {}", crate::error::json_problem(&e)))
}

fn describe(v: &Value) -> String {
    let short = |s: &str| {
        let mut t: String = s.chars().take(24).collect();
        if t.len() < s.len() {
            t.push('…');
        }
        t
    };
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("a boolean ({b})"),
        Value::Number(n) => format!("a number ({n})"),
        Value::String(s) => format!("a string ({:?})", short(s)),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

/// An object being read, with its path for messages.
struct Obj<'v> {
    map: &'v Map<String, Value>,
    path: String,
}

impl<'v> Obj<'v> {
    fn new(v: &'v Value, path: String, what: &str) -> Result<Self, Problem> {
        match v {
            Value::Object(map) => Ok(Obj { map, path }),
            other => Err(format!("`{path}` is {}; expected {what}", describe(other))),
        }
    }

    fn at(&self, key: &str) -> String {
        if self.path.is_empty() { key.to_string() } else { format!("{}.{key}", self.path) }
    }

    /// A field; JSON `null` counts as absent.
    fn get(&self, key: &str) -> Option<&'v Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    fn wrong(&self, key: &str, v: &Value, expected: &str) -> Problem {
        format!("`{}` is {}; expected {expected}", self.at(key), describe(v))
    }

    fn string(&self, key: &str) -> Result<Option<&'v str>, Problem> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(v) => Err(self.wrong(key, v, "a string")),
        }
    }

    fn owned(&self, key: &str) -> Result<Option<String>, Problem> {
        Ok(self.string(key)?.map(String::from))
    }

    fn number(&self, key: &str, what: &str) -> Result<Option<f64>, Problem> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => match n.as_f64().filter(|f| f.is_finite()) {
                Some(f) => Ok(Some(f)),
                None => Err(format!("`{}` ({n}) is out of range; expected {what}", self.at(key))),
            },
            Some(v) => Err(self.wrong(key, v, &format!("a number ({what})"))),
        }
    }

    /// A cumulative counter: a number, never negative.
    fn counter(&self, key: &str, what: &str) -> Result<Option<f64>, Problem> {
        match self.number(key, what)? {
            Some(n) if n < 0.0 => {
                Err(format!("`{}` is negative ({n}); expected {what}, counting up from 0", self.at(key)))
            }
            other => Ok(other),
        }
    }

    /// Milliseconds in, seconds out; never negative.
    fn millis(&self, key: &str, what: &str) -> Result<Option<f64>, Problem> {
        match self.number(key, what)? {
            Some(n) if n < 0.0 => Err(format!("`{}` is negative ({n}); expected {what}", self.at(key))),
            other => Ok(other.map(|ms| ms / 1000.0)),
        }
    }

    fn boolean(&self, key: &str) -> Result<Option<bool>, Problem> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(self.wrong(key, v, "true or false")),
        }
    }

    fn integer(
        &self,
        key: &str,
        range: std::ops::RangeInclusive<u64>,
        what: &str,
    ) -> Result<Option<u64>, Problem> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => match n.as_u64().filter(|i| range.contains(i)) {
                Some(i) => Ok(Some(i)),
                None => Err(format!(
                    "`{}` is {n}; expected {what}, an integer {}–{}",
                    self.at(key),
                    range.start(),
                    range.end()
                )),
            },
            Some(v) => Err(self.wrong(key, v, &format!("{what}, an integer"))),
        }
    }

    fn ssrc(&self, key: &str) -> Result<Option<u32>, Problem> {
        Ok(self.integer(key, 0..=u64::from(u32::MAX), "an RTP SSRC")?.and_then(|i| u32::try_from(i).ok()))
    }

    fn array(&self, key: &str, what: &str) -> Result<Option<&'v Vec<Value>>, Problem> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(v) => Err(self.wrong(key, v, &format!("an array of {what}"))),
        }
    }

    /// A text field with a fixed vocabulary: an unknown word is noted and read as unknown
    /// (a newer server may say more), a wrong type is an error.
    fn word<T>(
        &self,
        key: &str,
        parse: impl Fn(&str) -> Option<T>,
        expected: &str,
        notes: &mut Vec<(String, String)>,
    ) -> Result<Option<T>, Problem> {
        let Some(text) = self.string(key)? else { return Ok(None) };
        let parsed = parse(text);
        if parsed.is_none() {
            notes.push((
                self.at(key),
                format!("`{key}` value `{text}` is not one of {expected}; read as unknown"),
            ));
        }
        Ok(parsed)
    }
}

/// One transport of one SFU envelope, checked.
struct TransportRecord {
    id: String,
    participant: Option<String>,
    local_address: Option<String>,
    remote_address: Option<String>,
    protocol: Option<TransportProtocol>,
    relayed: Option<bool>,
    sample: MiddleboxClientSample,
    inbound: Vec<(u32, Option<MediaKind>, SfuInboundSample)>,
    outbound: Vec<(u32, Option<MediaKind>, Option<String>, SfuOutboundSample)>,
}

struct AllocationRecord {
    id: String,
    participant: Option<String>,
    username: Option<String>,
    client_address: Option<String>,
    relay_address: Option<String>,
    protocol: Option<TransportProtocol>,
    peers: Vec<String>,
    sample: TurnAllocationSample,
}

/// What one middlebox envelope said, checked whole.
pub(super) struct Checked {
    kind: MiddleboxKind,
    server: String,
    software: Option<String>,
    conference: Option<String>,
    transports: Vec<TransportRecord>,
    allocations: Vec<AllocationRecord>,
    errors: Vec<TurnAllocationError>,
    /// Unknown vocabulary, as (field path, message).
    pub(super) notes: Vec<(String, String)>,
}

/// The envelope-level fields a middlebox envelope carries.
pub(super) struct Header<'a> {
    pub kind: MiddleboxKind,
    pub at: Option<Timestamp>,
    pub server: Option<&'a RawValue>,
    pub software: Option<&'a RawValue>,
    pub conference: Option<String>,
    pub transports: Option<&'a RawValue>,
    pub allocations: Option<&'a RawValue>,
    pub errors: Option<&'a RawValue>,
}

fn optional_text(field: &str, raw: Option<&RawValue>) -> Result<Option<String>, Problem> {
    match raw.map(|r| raw_value(field, r)).transpose()? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(v) => Err(format!("`{field}` is {}; expected a string", describe(&v))),
    }
}

/// Checks a middlebox envelope.
pub(super) fn check(h: Header) -> Result<Checked, Problem> {
    let source = h.kind.as_str();
    let Some(at) = h.at else {
        return Err(format!(
            "a `source: {source}` observation needs a `timestamp` (the server's clock, epoch milliseconds)"
        ));
    };
    let server = optional_text("server", h.server)?.unwrap_or_else(|| format!("unnamed {source}"));
    let software = optional_text("software", h.software)?;
    let mut c = Checked {
        kind: h.kind,
        server,
        software,
        conference: h.conference,
        transports: Vec::new(),
        allocations: Vec::new(),
        errors: Vec::new(),
        notes: Vec::new(),
    };
    match h.kind {
        MiddleboxKind::Sfu => {
            if h.allocations.is_some() || h.errors.is_some() {
                return Err("`allocations` and `errors` belong to `source: turn` observations; an sfu observation carries `transports`".into());
            }
            let Some(raw) = h.transports else {
                return Err("a `source: sfu` observation needs `transports` (an array, one entry per client transport; may be empty)".into());
            };
            let v = raw_value("transports", raw)?;
            let Value::Array(items) = &v else {
                return Err(format!(
                    "`transports` is {}; expected an array of client transports",
                    describe(&v)
                ));
            };
            for (i, t) in items.iter().enumerate() {
                let rec = transport(t, format!("transports[{i}]"), at, &mut c.notes)?;
                c.transports.push(rec);
            }
        }
        MiddleboxKind::Turn => {
            if h.transports.is_some() {
                return Err("`transports` belongs to `source: sfu` observations; a turn observation carries `allocations` and `errors`".into());
            }
            if h.allocations.is_none() && h.errors.is_none() {
                return Err("a `source: turn` observation needs `allocations` or `errors` (arrays)".into());
            }
            if let Some(raw) = h.allocations {
                let v = raw_value("allocations", raw)?;
                let Value::Array(items) = &v else {
                    return Err(format!(
                        "`allocations` is {}; expected an array of TURN allocations",
                        describe(&v)
                    ));
                };
                for (i, a) in items.iter().enumerate() {
                    c.allocations.push(allocation(a, format!("allocations[{i}]"), at, &mut c.notes)?);
                }
            }
            if let Some(raw) = h.errors {
                let v = raw_value("errors", raw)?;
                let Value::Array(items) = &v else {
                    return Err(format!(
                        "`errors` is {}; expected an array of allocation errors",
                        describe(&v)
                    ));
                };
                for (i, e) in items.iter().enumerate() {
                    c.errors.push(allocation_error(e, format!("errors[{i}]"), at)?);
                }
            }
        }
    }
    Ok(c)
}

fn transport(
    v: &Value,
    path: String,
    at: Timestamp,
    notes: &mut Vec<(String, String)>,
) -> Result<TransportRecord, Problem> {
    let o = Obj::new(v, path, "a client transport object")?;
    let participant = o.owned("participant")?;
    let id = match (o.owned("transport")?, &participant) {
        (Some(id), _) => id,
        (None, Some(p)) => p.clone(),
        (None, None) => {
            return Err(format!(
                "`{}` has neither `transport` nor `participant`; name the transport (the server's id for it) or its participant",
                o.path
            ));
        }
    };
    let ice_state = o.word(
        "iceState",
        IceConnectionState::parse,
        "new, checking, connected, completed, disconnected, failed, closed",
        notes,
    )?;
    let sample = MiddleboxClientSample {
        at,
        ice_state,
        ice_connected: ice_state.map(IceConnectionState::is_connected),
        ice_failed: ice_state.map(|s| s == IceConnectionState::Failed),
        rtt_s: o.millis("rttMs", "the server's round-trip time to the client, milliseconds")?,
        ..MiddleboxClientSample::default()
    };
    let mut inbound = Vec::new();
    for (i, s) in o.array("inbound", "streams received from the client")?.into_iter().flatten().enumerate() {
        let s = Obj::new(s, o.at(&format!("inbound[{i}]")), "an inbound stream object")?;
        let ssrc = s
            .ssrc("ssrc")?
            .ok_or_else(|| format!("`{}` has no `ssrc`; every stream names its SSRC", s.path))?;
        let kind = s.word("kind", MediaKind::parse, "audio, video", notes)?;
        inbound.push((
            ssrc,
            kind,
            SfuInboundSample {
                at,
                packets_received: s.counter("packetsReceived", "cumulative packets received")?,
                packets_lost: s.number("packetsLost", "cumulative packets lost")?,
                jitter_s: s.millis("jitterMs", "interarrival jitter, milliseconds")?,
                bytes_received: s.counter("bytesReceived", "cumulative bytes received")?,
                nack_count: s.counter("nackCount", "cumulative NACKs sent to the client")?,
                pli_count: s.counter("pliCount", "cumulative PLIs sent to the client")?,
            },
        ));
    }
    let mut outbound = Vec::new();
    for (i, s) in o.array("outbound", "streams sent to the client")?.into_iter().flatten().enumerate() {
        let s = Obj::new(s, o.at(&format!("outbound[{i}]")), "an outbound stream object")?;
        let ssrc = s
            .ssrc("ssrc")?
            .ok_or_else(|| format!("`{}` has no `ssrc`; every stream names its SSRC", s.path))?;
        let kind = s.word("kind", MediaKind::parse, "audio, video", notes)?;
        let fraction_lost = match s.number("fractionLost", "the last receiver report's fraction lost, 0–1")?
        {
            Some(f) if !(0.0..=1.0).contains(&f) => {
                return Err(format!(
                    "`{}` is {f}; expected 0–1 (the RTCP fraction lost divided by 256)",
                    s.at("fractionLost")
                ));
            }
            other => other,
        };
        outbound.push((
            ssrc,
            kind,
            s.owned("sender")?,
            SfuOutboundSample {
                at,
                packets_sent: s.counter("packetsSent", "cumulative packets sent")?,
                bytes_sent: s.counter("bytesSent", "cumulative bytes sent")?,
                packets_lost: s.number("packetsLost", "cumulative packets the client reported lost")?,
                packets_received: None,
                fraction_lost,
                rtt_s: s.millis("rttMs", "round-trip time from receiver reports, milliseconds")?,
                nack_count: s.counter("nackCount", "cumulative NACKs from the client")?,
                pli_count: s.counter("pliCount", "cumulative PLIs from the client")?,
            },
        ));
    }
    Ok(TransportRecord {
        id,
        participant,
        local_address: o.owned("localAddress")?,
        remote_address: o.owned("remoteAddress")?,
        protocol: o.word("protocol", TransportProtocol::parse, "udp, tcp, tls", notes)?,
        relayed: o.boolean("relayed")?,
        sample,
        inbound,
        outbound,
    })
}

fn allocation(
    v: &Value,
    path: String,
    at: Timestamp,
    notes: &mut Vec<(String, String)>,
) -> Result<AllocationRecord, Problem> {
    let o = Obj::new(v, path, "a TURN allocation object")?;
    let relay_address = o.owned("relayAddress")?;
    let client_address = o.owned("clientAddress")?;
    let id = match (o.owned("id")?, &relay_address, &client_address) {
        (Some(id), _, _) => id,
        (None, Some(r), _) => r.clone(),
        (None, None, Some(c)) => c.clone(),
        (None, None, None) => {
            return Err(format!(
                "`{}` has no `id`, `relayAddress` or `clientAddress`; name the allocation",
                o.path
            ));
        }
    };
    let mut peers = Vec::new();
    for (i, p) in o.array("peers", "peer addresses")?.into_iter().flatten().enumerate() {
        match p {
            Value::String(s) => peers.push(s.clone()),
            other => {
                return Err(format!(
                    "`{}` is {}; expected a peer address string",
                    o.at(&format!("peers[{i}]")),
                    describe(other)
                ));
            }
        }
    }
    Ok(AllocationRecord {
        id,
        participant: o.owned("participant")?,
        username: o.owned("username")?,
        client_address,
        relay_address,
        protocol: o.word("protocol", TransportProtocol::parse, "udp, tcp, tls", notes)?,
        peers,
        sample: TurnAllocationSample {
            at,
            packets_from_client: o.counter("packetsFromClient", "cumulative packets from the client")?,
            packets_to_client: o.counter("packetsToClient", "cumulative packets to the client")?,
            bytes_from_client: o.counter("bytesFromClient", "cumulative bytes from the client")?,
            bytes_to_client: o.counter("bytesToClient", "cumulative bytes to the client")?,
            packets_to_peers: o.counter("packetsToPeers", "cumulative packets relayed to peers")?,
            packets_from_peers: o.counter("packetsFromPeers", "cumulative packets from peers")?,
        },
    })
}

fn allocation_error(v: &Value, path: String, at: Timestamp) -> Result<TurnAllocationError, Problem> {
    let o = Obj::new(v, path, "an allocation error object")?;
    let at = match o.number("timestamp", "epoch milliseconds")? {
        Some(ms) => Timestamp::from_epoch_ms(ms).unwrap_or(at),
        None => at,
    };
    Ok(TurnAllocationError {
        at,
        client_address: o.owned("clientAddress")?,
        code: o.integer("code", 100..=699, "a STUN error code")?.and_then(|c| u16::try_from(c).ok()),
        reason: o.owned("reason")?,
        username: o.owned("username")?,
        matched: None,
    })
}

/// Middlebox observations of one file, grouped by kind, server and conference.
#[derive(Clone, Default)]
pub(super) struct Collected {
    groups: Vec<Group>,
    index: HashMap<(MiddleboxKind, String, Option<String>), usize>,
}

#[derive(Clone, Default)]
struct Group {
    obs: MiddleboxObservation,
    clients: HashMap<String, usize>,
    inbound: HashMap<(usize, u32), usize>,
    outbound: HashMap<(usize, u32), usize>,
    allocations: HashMap<String, usize>,
}

impl Collected {
    /// About how many bytes the time series collected so far hold.
    pub(super) fn series_bytes(&self) -> usize {
        self.groups.iter().map(|g| g.obs.series_bytes()).sum()
    }

    /// Adds a checked envelope.
    pub(super) fn apply(&mut self, c: Checked) {
        let key = (c.kind, c.server.clone(), c.conference.clone());
        let groups = &mut self.groups;
        let gi = *self.index.entry(key).or_insert_with(|| {
            groups.push(Group {
                obs: MiddleboxObservation {
                    kind: Some(c.kind),
                    server: c.server.clone(),
                    conference_keys: c
                        .conference
                        .iter()
                        .map(|v| ("conference".to_string(), v.clone()))
                        .collect(),
                    ..MiddleboxObservation::default()
                },
                ..Group::default()
            });
            groups.len() - 1
        });
        let g = &mut self.groups[gi];
        if g.obs.software.is_none() {
            g.obs.software = c.software;
        }
        for t in c.transports {
            let clients = &mut g.obs.clients;
            let ci = *g.clients.entry(t.id.clone()).or_insert_with(|| {
                clients.push(MiddleboxClient { id: t.id.clone(), ..MiddleboxClient::default() });
                clients.len() - 1
            });
            let client = &mut g.obs.clients[ci];
            fill(&mut client.reported_participant, t.participant);
            fill(&mut client.local_address, t.local_address);
            fill(&mut client.protocol, t.protocol);
            fill(&mut client.relayed, t.relayed);
            if let Some(addr) = t.remote_address
                && !client.remote_addresses.iter().any(|(_, a)| *a == addr)
            {
                client.remote_addresses.push((t.sample.at, addr));
            }
            client.samples.push(t.sample);
            for (ssrc, kind, sample) in t.inbound {
                let streams = &mut client.inbound;
                let si = *g.inbound.entry((ci, ssrc)).or_insert_with(|| {
                    streams.push(SfuInboundStream { ssrc: Some(ssrc), ..SfuInboundStream::default() });
                    streams.len() - 1
                });
                fill(&mut streams[si].kind, kind);
                streams[si].samples.push(sample);
            }
            for (ssrc, kind, sender, sample) in t.outbound {
                let streams = &mut client.outbound;
                let si = *g.outbound.entry((ci, ssrc)).or_insert_with(|| {
                    streams.push(SfuOutboundStream { ssrc: Some(ssrc), ..SfuOutboundStream::default() });
                    streams.len() - 1
                });
                fill(&mut streams[si].kind, kind);
                fill(&mut streams[si].sender, sender);
                streams[si].samples.push(sample);
            }
        }
        for a in c.allocations {
            let allocations = &mut g.obs.allocations;
            let ai = *g.allocations.entry(a.id.clone()).or_insert_with(|| {
                allocations.push(TurnAllocation { id: a.id.clone(), ..TurnAllocation::default() });
                allocations.len() - 1
            });
            let alloc = &mut g.obs.allocations[ai];
            fill(&mut alloc.reported_participant, a.participant);
            fill(&mut alloc.username, a.username);
            fill(&mut alloc.client_address, a.client_address);
            fill(&mut alloc.relay_address, a.relay_address);
            fill(&mut alloc.protocol, a.protocol);
            for p in a.peers {
                if !alloc.peers.contains(&p) {
                    alloc.peers.push(p);
                }
            }
            alloc.samples.push(a.sample);
        }
        g.obs.allocation_errors.extend(c.errors);
    }

    /// The observations, samples in time order (files need not be).
    pub(super) fn finish(self) -> Vec<MiddleboxObservation> {
        self.groups
            .into_iter()
            .map(|g| {
                let mut obs = g.obs;
                for c in &mut obs.clients {
                    c.samples.sort_by_key(|s| s.at);
                    c.remote_addresses.sort_by_key(|(at, _)| *at);
                    for s in &mut c.inbound {
                        s.samples.sort_by_key(|x| x.at);
                    }
                    for s in &mut c.outbound {
                        s.samples.sort_by_key(|x| x.at);
                    }
                }
                for a in &mut obs.allocations {
                    a.samples.sort_by_key(|s| s.at);
                }
                obs.allocation_errors.sort_by_key(|e| e.at);
                obs
            })
            .collect()
    }
}

/// Keeps the first value reported for a field that should not change.
fn fill<T>(slot: &mut Option<T>, value: Option<T>) {
    if slot.is_none() {
        *slot = value;
    }
}
