//! Builds the model from stats objects and events, whatever format they came in.
//!
//! Every parser feeds a [`ParticipantBuilder`]: whole reports via
//! [`PcBuilder::push_report`], events via [`ParticipantBuilder::event`]. The builder keys
//! objects by their stats id within a peer connection, turns each into a typed sample,
//! tracks which candidate pair is selected, and at the end resolves codecs, infers what is
//! at the far end of each connection and which browser produced the data.

use rustc_hash::FxHashMap as HashMap;

use hopscope_model::events::{Event, EventKind};
use hopscope_model::stats::{
    CandidatePair, IceCandidate, MediaKind, MediaSource, PairState, Stream, StreamInfo, Transport,
    is_anonymised,
};
use hopscope_model::{
    BrowserFamily, ClientInfo, DataNote, IceServer, Participant, ParticipantId, PeerConnection,
    PeerConnectionId, RemoteKind, RtcConfiguration, SelectedPairChange, SourceInfo, Timestamp,
};
use serde_json::Value;

use crate::convert;
use crate::events::{Scope, classify, decode_nested, is_bookkeeping};
use crate::fields::{Num, RawStats, StatsKind, Text, Traits};
use crate::legacy::{self, SsrcDirection};

/// Object timestamps further than this from the report time are not trusted (some old
/// browsers stamped stats with a monotonic clock).
const MAX_CLOCK_DISAGREEMENT_MS: f64 = 86_400_000.0;

/// Which typed entity a stats id became.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Entity {
    Inbound(usize),
    Outbound(usize),
    RemoteInbound(usize),
    RemoteOutbound(usize),
    /// A legacy `ssrc_*_send`: an outbound stream and its RTCP view.
    LegacySend {
        outbound: usize,
        remote: Option<usize>,
    },
    Pair(usize),
    Candidate(usize),
    Transport(usize),
    MediaSource(usize),
    Codec(usize),
}

/// Which stream a codec id belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum StreamRef {
    Inbound(usize),
    Outbound(usize),
    RemoteInbound(usize),
    RemoteOutbound(usize),
}

/// Builds one peer connection.
#[derive(Clone, Debug)]
pub(crate) struct PcBuilder {
    pc: PeerConnection,
    entities: HashMap<String, Entity>,
    codec_ids: HashMap<StreamRef, String>,
    /// Hints about the far end, with their evidence, strongest first when finishing.
    remote_hints: Vec<(u8, RemoteKind, String)>,
    last_selected: Option<String>,
    /// Pairs read from goog* stats, whose RTT starts from libjingle's default.
    legacy_pairs: Vec<usize>,
    /// Fields seen, for browser inference.
    pub(crate) traits: Traits,
    pub(crate) saw_legacy: bool,
    pub(crate) saw_w3c: bool,
    pub(crate) saw_transport: bool,
    pub(crate) saw_track: bool,
    pub(crate) saw_pairs: bool,
    pub(crate) relay_without_protocol: bool,
    pub(crate) id_scheme: IdScheme,
}

/// The stats-id naming scheme, which dates a dump.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum IdScheme {
    #[default]
    Unknown,
    /// `RTCInboundRTPVideoStream_123` (Chrome ≤ ~101, Safari ≤ 16).
    ChromeOld,
    /// `IT01V123`, `CP…`, `OT01A…` (Chrome ≥ ~102, Safari 17).
    ChromeNew,
    /// Short hex or `{uuid}` (Firefox).
    Firefox,
}

impl PcBuilder {
    fn new(id: &str) -> PcBuilder {
        PcBuilder {
            pc: PeerConnection { id: PeerConnectionId::new(id), ..PeerConnection::default() },
            entities: HashMap::default(),
            codec_ids: HashMap::default(),
            remote_hints: Vec::new(),
            last_selected: None,
            legacy_pairs: Vec::new(),
            traits: Traits::default(),
            saw_legacy: false,
            saw_w3c: false,
            saw_transport: false,
            saw_track: false,
            saw_pairs: false,
            relay_without_protocol: false,
            id_scheme: IdScheme::Unknown,
        }
    }

    /// Records the RTCConfiguration from `create`.
    pub(crate) fn set_configuration(&mut self, config: RtcConfiguration) {
        self.pc.configuration = Some(config);
    }

    /// Adds evidence about what sits at the far end; a higher `strength` wins.
    pub(crate) fn hint_remote(&mut self, strength: u8, kind: RemoteKind, evidence: impl Into<String>) {
        self.remote_hints.push((strength, kind, evidence.into()));
    }

    /// Takes one whole stats report: every object that exists at `report_time`.
    pub(crate) fn push_report<'a>(
        &mut self,
        report_time: Timestamp,
        objects: impl Iterator<Item = (&'a str, &'a RawStats)> + Clone,
    ) {
        self.pc.stats_times.push(report_time);
        let tracks: HashMap<&str, &RawStats> =
            objects.clone().filter(|(_, r)| r.kind == Some(StatsKind::Track)).collect();
        if !tracks.is_empty() {
            self.saw_track = true;
        }
        let mut selected_by_transport: Option<String> = None;
        let mut selected_by_flag: Option<String> = None;
        let mut nominated: Option<(String, f64)> = None;
        for (id, raw) in objects {
            let Some(kind) = raw.kind else { continue };
            if kind == StatsKind::Ignored || kind == StatsKind::Track {
                continue;
            }
            self.traits.insert(raw.traits);
            self.note_id_scheme(id, kind);
            let at = object_time(raw, report_time);
            match kind {
                StatsKind::Transport | StatsKind::LegacyComponent => {
                    if kind == StatsKind::Transport {
                        self.saw_transport = true;
                        let i = self.transport(id, raw);
                        self.pc.transports[i].samples.push(convert::transport(raw, at));
                    } else {
                        self.saw_legacy = true;
                    }
                    if let Some(sel) = raw.nonempty(Text::SelectedCandidatePairId) {
                        selected_by_transport.get_or_insert_with(|| sel.to_string());
                    }
                }
                StatsKind::CandidatePair | StatsKind::LegacyCandidatePair => {
                    self.saw_pairs = true;
                    // Chrome ≤ 5x labelled its goog* pairs `candidatepair`.
                    let legacy_pair = kind == StatsKind::LegacyCandidatePair
                        || raw.num(Num::GoogActiveConnection).is_some()
                        || raw.text(Text::GoogLocalAddress).is_some();
                    let sample = if legacy_pair {
                        self.saw_legacy = true;
                        legacy::pair(raw, at)
                    } else {
                        convert::pair(raw, at)
                    };
                    if sample.selected == Some(true) {
                        selected_by_flag.get_or_insert_with(|| id.to_string());
                    }
                    if sample.nominated == Some(true) && sample.state == Some(PairState::Succeeded) {
                        let bytes = sample.bytes_sent.unwrap_or(0.0) + sample.bytes_received.unwrap_or(0.0);
                        if nominated.as_ref().is_none_or(|(_, b)| bytes > *b) {
                            nominated = Some((id.to_string(), bytes));
                        }
                    }
                    let i = self.pair(id, raw, legacy_pair);
                    self.pc.candidate_pairs[i].samples.push(sample);
                }
                StatsKind::LocalCandidate | StatsKind::RemoteCandidate => {
                    let remote = kind == StatsKind::RemoteCandidate || raw.flag(Num::IsRemote) == Some(true);
                    let c = convert::candidate(id, raw, remote);
                    if !remote
                        && c.candidate_type == Some(hopscope_model::stats::CandidateType::Relay)
                        && c.relay_protocol.is_none()
                    {
                        self.relay_without_protocol = true;
                    }
                    self.upsert_candidate(id, c);
                }
                StatsKind::InboundRtp if raw.flag(Num::IsRemote) == Some(true) => {
                    self.saw_w3c = true;
                    let i = self.remote_inbound(id, raw);
                    self.pc.remote_inbound[i].samples.push(convert::remote_inbound(raw, at));
                }
                StatsKind::OutboundRtp if raw.flag(Num::IsRemote) == Some(true) => {
                    self.saw_w3c = true;
                    let i = self.remote_outbound(id, raw);
                    self.pc.remote_outbound[i].samples.push(convert::remote_outbound(raw, at));
                }
                StatsKind::InboundRtp => {
                    self.saw_w3c = true;
                    let track = raw.nonempty(Text::TrackId).and_then(|t| tracks.get(t).copied());
                    let i = self.inbound(id, raw, track);
                    self.pc.inbound[i].samples.push(convert::inbound(raw, track, at));
                }
                StatsKind::OutboundRtp => {
                    self.saw_w3c = true;
                    let i = self.outbound(id, raw);
                    self.pc.outbound[i].samples.push(convert::outbound(raw, at));
                }
                StatsKind::RemoteInboundRtp => {
                    self.saw_w3c = true;
                    let i = self.remote_inbound(id, raw);
                    self.pc.remote_inbound[i].samples.push(convert::remote_inbound(raw, at));
                }
                StatsKind::RemoteOutboundRtp => {
                    self.saw_w3c = true;
                    let i = self.remote_outbound(id, raw);
                    self.pc.remote_outbound[i].samples.push(convert::remote_outbound(raw, at));
                }
                StatsKind::MediaSource => {
                    let i = self.media_source(id, raw);
                    self.pc.media_sources[i].samples.push(convert::media_source(raw, at));
                }
                StatsKind::Codec => {
                    let c = convert::codec(id, raw);
                    match self.entities.get(id) {
                        Some(Entity::Codec(i)) => self.pc.codecs[*i] = c,
                        _ => {
                            self.entities.insert(id.to_string(), Entity::Codec(self.pc.codecs.len()));
                            self.pc.codecs.push(c);
                        }
                    }
                }
                StatsKind::LegacySsrc => {
                    self.saw_legacy = true;
                    self.legacy_ssrc(id, raw, at);
                }
                StatsKind::LegacyBandwidth => {
                    self.saw_legacy = true;
                    self.pc.bandwidth.push(legacy::bandwidth(raw, at));
                }
                StatsKind::Track | StatsKind::Ignored => {}
            }
        }
        let selected = selected_by_transport.or(selected_by_flag).or(nominated.map(|(id, _)| id));
        if let Some(sel) = selected
            && self.last_selected.as_deref() != Some(sel.as_str())
            && self.entities.contains_key(&sel)
        {
            self.pc.selected_pairs.push(SelectedPairChange { at: report_time, pair_stats_id: sel.clone() });
            self.last_selected = Some(sel);
        }
    }

    fn note_id_scheme(&mut self, id: &str, kind: StatsKind) {
        if self.id_scheme != IdScheme::Unknown || kind.is_legacy() {
            return;
        }
        self.id_scheme = if id.starts_with("RTC") {
            IdScheme::ChromeOld
        } else if matches!(kind, StatsKind::InboundRtp)
            && (id.starts_with("IT") || id.starts_with("IA") || id.starts_with("IV"))
        {
            IdScheme::ChromeNew
        } else if matches!(kind, StatsKind::InboundRtp | StatsKind::OutboundRtp | StatsKind::CandidatePair)
            && (id.starts_with('{') || (id.len() <= 8 && id.chars().all(|c| c.is_ascii_hexdigit())))
        {
            IdScheme::Firefox
        } else {
            IdScheme::Unknown
        };
    }

    fn info(id: &str, raw: &RawStats) -> StreamInfo {
        let mut info = StreamInfo { stats_id: id.to_string(), ..StreamInfo::default() };
        update_info(&mut info, raw);
        info
    }

    fn stream_index<S>(
        entities: &mut HashMap<String, Entity>,
        list: &mut Vec<Stream<S>>,
        id: &str,
        raw: &RawStats,
        wrap: fn(usize) -> Entity,
    ) -> usize {
        let existing = entities.get(id).copied().and_then(|e| match e {
            Entity::Inbound(i)
            | Entity::Outbound(i)
            | Entity::RemoteInbound(i)
            | Entity::RemoteOutbound(i)
                if e == wrap(i) =>
            {
                Some(i)
            }
            _ => None,
        });
        match existing {
            Some(i) => {
                update_info(&mut list[i].info, raw);
                i
            }
            // New id, or the id now names another kind of object: a new stream.
            None => {
                let i = list.len();
                list.push(Stream {
                    info: Self::info(id, raw),
                    samples: Vec::new(),
                    memo: Default::default(),
                });
                entities.insert(id.to_string(), wrap(i));
                i
            }
        }
    }

    fn inbound(&mut self, id: &str, raw: &RawStats, track: Option<&RawStats>) -> usize {
        let i = Self::stream_index(&mut self.entities, &mut self.pc.inbound, id, raw, Entity::Inbound);
        if let Some(t) = track {
            let info = &mut self.pc.inbound[i].info;
            if info.kind.is_none() {
                info.kind = t.text(Text::Kind).and_then(MediaKind::parse);
            }
            if info.track_identifier.is_none() {
                info.track_identifier = t.nonempty(Text::TrackIdentifier).map(String::from);
            }
        }
        self.remember_codec(StreamRef::Inbound(i), raw);
        i
    }

    fn outbound(&mut self, id: &str, raw: &RawStats) -> usize {
        let i = Self::stream_index(&mut self.entities, &mut self.pc.outbound, id, raw, Entity::Outbound);
        self.remember_codec(StreamRef::Outbound(i), raw);
        i
    }

    fn remote_inbound(&mut self, id: &str, raw: &RawStats) -> usize {
        let i = Self::stream_index(
            &mut self.entities,
            &mut self.pc.remote_inbound,
            id,
            raw,
            Entity::RemoteInbound,
        );
        self.remember_codec(StreamRef::RemoteInbound(i), raw);
        i
    }

    fn remote_outbound(&mut self, id: &str, raw: &RawStats) -> usize {
        let i = Self::stream_index(
            &mut self.entities,
            &mut self.pc.remote_outbound,
            id,
            raw,
            Entity::RemoteOutbound,
        );
        self.remember_codec(StreamRef::RemoteOutbound(i), raw);
        i
    }

    fn remember_codec(&mut self, stream: StreamRef, raw: &RawStats) {
        if let Some(codec) = raw.nonempty(Text::CodecId)
            && self.codec_ids.get(&stream).map(String::as_str) != Some(codec)
        {
            self.codec_ids.insert(stream, codec.to_string());
        }
    }

    fn legacy_ssrc(&mut self, id: &str, raw: &RawStats, at: Timestamp) {
        let kind = raw.nonempty(Text::MediaType);
        match legacy::ssrc_direction(id, raw) {
            SsrcDirection::Receive => {
                let i =
                    Self::stream_index(&mut self.entities, &mut self.pc.inbound, id, raw, Entity::Inbound);
                let info = &mut self.pc.inbound[i].info;
                if let Some(m) = legacy::codec_mime(raw, kind) {
                    info.codec = Some(m);
                }
                if let Some(imp) = raw.nonempty(Text::CodecImplementationName).filter(|s| *s != "unknown") {
                    info.implementation = Some(imp.to_string());
                }
                self.pc.inbound[i].samples.push(legacy::inbound(raw, at));
            }
            SsrcDirection::Send => {
                let (outbound, remote) = match self.entities.get(id) {
                    Some(Entity::LegacySend { outbound, remote }) => (*outbound, *remote),
                    _ => {
                        let o = self.pc.outbound.len();
                        self.pc.outbound.push(Stream {
                            info: Self::info(id, raw),
                            samples: Vec::new(),
                            memo: Default::default(),
                        });
                        self.entities
                            .insert(id.to_string(), Entity::LegacySend { outbound: o, remote: None });
                        (o, None)
                    }
                };
                update_info(&mut self.pc.outbound[outbound].info, raw);
                if let Some(m) = legacy::codec_mime(raw, kind) {
                    self.pc.outbound[outbound].info.codec = Some(m);
                }
                self.pc.outbound[outbound].samples.push(legacy::outbound(raw, at));
                if let Some(sample) = legacy::remote_inbound(raw, at) {
                    let r = match remote {
                        Some(r) => r,
                        None => {
                            let r = self.pc.remote_inbound.len();
                            let mut info = Self::info(&format!("{id}/rtcp"), raw);
                            info.paired_stats_id = Some(id.to_string());
                            self.pc.remote_inbound.push(Stream {
                                info,
                                samples: Vec::new(),
                                memo: Default::default(),
                            });
                            self.entities
                                .insert(id.to_string(), Entity::LegacySend { outbound, remote: Some(r) });
                            r
                        }
                    };
                    self.pc.remote_inbound[r].samples.push(sample);
                }
            }
        }
    }

    fn pair(&mut self, id: &str, raw: &RawStats, legacy_pair: bool) -> usize {
        let i = match self.entities.get(id) {
            Some(Entity::Pair(i)) => *i,
            _ => {
                let i = self.pc.candidate_pairs.len();
                self.pc
                    .candidate_pairs
                    .push(CandidatePair { stats_id: id.to_string(), ..CandidatePair::default() });
                self.entities.insert(id.to_string(), Entity::Pair(i));
                i
            }
        };
        if legacy_pair && !self.legacy_pairs.contains(&i) {
            self.legacy_pairs.push(i);
        }
        let p = &mut self.pc.candidate_pairs[i];
        if let Some(l) = raw.nonempty(Text::LocalCandidateId) {
            p.local_candidate_id = Some(l.to_string());
        }
        if let Some(r) = raw.nonempty(Text::RemoteCandidateId) {
            p.remote_candidate_id = Some(r.to_string());
        }
        if let Some(t) = raw.nonempty(Text::TransportId) {
            p.transport_id = Some(t.to_string());
        }
        if legacy_pair && (p.local_candidate_id.is_none() || p.remote_candidate_id.is_none()) {
            let (local, remote) = legacy::pair_candidates(id, raw);
            if let (Some(c), None) = (local, &p.local_candidate_id) {
                p.local_candidate_id = Some(c.stats_id.clone());
                let cid = c.stats_id.clone();
                self.upsert_candidate(&cid, c);
            }
            let p = &mut self.pc.candidate_pairs[i];
            if let (Some(c), None) = (remote, &p.remote_candidate_id) {
                p.remote_candidate_id = Some(c.stats_id.clone());
                let cid = c.stats_id.clone();
                self.upsert_candidate(&cid, c);
            }
        }
        i
    }

    fn upsert_candidate(&mut self, id: &str, c: IceCandidate) {
        match self.entities.get(id) {
            Some(Entity::Candidate(i)) => {
                // Keep what earlier reports knew if the later one omits it (delta dumps).
                let old = &mut self.pc.candidates[*i];
                let merged = IceCandidate {
                    candidate_type: c.candidate_type.or(old.candidate_type),
                    protocol: c.protocol.or(old.protocol.take()),
                    address: c.address.or(old.address.take()),
                    port: c.port.or(old.port),
                    relay_protocol: c.relay_protocol.or(old.relay_protocol),
                    url: c.url.or(old.url.take()),
                    network_type: c.network_type.or(old.network_type),
                    network_type_raw: c.network_type_raw.or(old.network_type_raw.take()),
                    tcp_type: c.tcp_type.or(old.tcp_type.take()),
                    priority: c.priority.or(old.priority),
                    ..c
                };
                *old = merged;
            }
            _ => {
                self.entities.insert(id.to_string(), Entity::Candidate(self.pc.candidates.len()));
                self.pc.candidates.push(c);
            }
        }
    }

    fn transport(&mut self, id: &str, raw: &RawStats) -> usize {
        let i = match self.entities.get(id) {
            Some(Entity::Transport(i)) => *i,
            _ => {
                let i = self.pc.transports.len();
                self.pc.transports.push(Transport { stats_id: id.to_string(), ..Transport::default() });
                self.entities.insert(id.to_string(), Entity::Transport(i));
                i
            }
        };
        if let Some(role) = raw.nonempty(Text::IceRole) {
            self.pc.transports[i].ice_role = Some(role.to_string());
        }
        i
    }

    fn media_source(&mut self, id: &str, raw: &RawStats) -> usize {
        match self.entities.get(id) {
            Some(Entity::MediaSource(i)) => *i,
            _ => {
                let i = self.pc.media_sources.len();
                self.pc.media_sources.push(MediaSource {
                    stats_id: id.to_string(),
                    kind: raw.text(Text::Kind).and_then(MediaKind::parse),
                    track_identifier: raw.nonempty(Text::TrackIdentifier).map(String::from),
                    samples: Vec::new(),
                });
                self.entities.insert(id.to_string(), Entity::MediaSource(i));
                i
            }
        }
    }

    /// Adds an event.
    pub(crate) fn event(&mut self, at: Timestamp, kind: EventKind) {
        self.pc.events.push(Event { at, kind });
    }

    fn finish(mut self) -> PeerConnection {
        for &i in &self.legacy_pairs {
            legacy::clear_default_rtt_decay(&mut self.pc.candidate_pairs[i].samples);
        }
        // Codecs: streams name them by stats id.
        let codecs: HashMap<&str, &hopscope_model::stats::Codec> =
            self.pc.codecs.iter().map(|c| (c.stats_id.as_str(), c)).collect();
        let mut resolved = Vec::new();
        for (stream, codec_id) in &self.codec_ids {
            if let Some(c) = codecs.get(codec_id.as_str()) {
                resolved.push((*stream, c.mime_type.clone(), c.sdp_fmtp_line.clone()));
            }
        }
        for (stream, mime, fmtp) in resolved {
            let info = match stream {
                StreamRef::Inbound(i) => &mut self.pc.inbound[i].info,
                StreamRef::Outbound(i) => &mut self.pc.outbound[i].info,
                StreamRef::RemoteInbound(i) => &mut self.pc.remote_inbound[i].info,
                StreamRef::RemoteOutbound(i) => &mut self.pc.remote_outbound[i].info,
            };
            if mime.is_some() {
                info.codec = mime;
            }
            if fmtp.is_some() {
                info.codec_parameters = fmtp;
            }
            if info.kind.is_none() {
                info.kind =
                    info.codec.as_deref().and_then(|m| m.split('/').next()).and_then(MediaKind::parse);
            }
        }
        self.drop_spec_duplicates_of_legacy();
        self.pc.events.sort_by_key(|e| e.at);
        self.pc.stats_times.sort();
        self.pc.stats_times.dedup();
        self.infer_remote_kind();
        self.pc
    }

    /// Chrome of 2016 reported each stream twice: as a legacy `ssrc` report and as an early
    /// spec `outboundrtp`/`inboundrtp` (`isRemote`, ms units). The legacy one is richer and
    /// its units are known: keep it, drop the early-spec twin with the same SSRC.
    fn drop_spec_duplicates_of_legacy(&mut self) {
        if !self.saw_legacy {
            return;
        }
        let legacy = |info: &StreamInfo| info.stats_id.starts_with("ssrc_");
        let legacy_in: Vec<u32> =
            self.pc.inbound.iter().filter(|s| legacy(&s.info)).filter_map(|s| s.info.ssrc).collect();
        let legacy_out: Vec<u32> =
            self.pc.outbound.iter().filter(|s| legacy(&s.info)).filter_map(|s| s.info.ssrc).collect();
        let keep = |info: &StreamInfo, legacy_ssrcs: &[u32]| {
            legacy(info) || !info.ssrc.is_some_and(|s| legacy_ssrcs.contains(&s))
        };
        let before = self.pc.inbound.len() + self.pc.outbound.len() + self.pc.remote_inbound.len();
        self.pc.inbound.retain(|s| keep(&s.info, &legacy_in));
        self.pc.outbound.retain(|s| keep(&s.info, &legacy_out));
        self.pc.remote_inbound.retain(|s| {
            s.info.stats_id.ends_with("/rtcp") || !s.info.ssrc.is_some_and(|x| legacy_out.contains(&x))
        });
        let after = self.pc.inbound.len() + self.pc.outbound.len() + self.pc.remote_inbound.len();
        if after < before {
            // Entity indices are only used while building; they are stale from here on.
            self.entities.clear();
            self.codec_ids.clear();
        }
    }

    fn infer_remote_kind(&mut self) {
        // Several remote audio sources on one connection: only a media server multiplexes
        // senders like that.
        let audio_sources = self
            .pc
            .inbound
            .iter()
            .filter(|s| s.info.kind == Some(MediaKind::Audio))
            .filter(|s| s.samples.iter().any(|x| x.packets_received.is_some_and(|p| p > 0.0)))
            .count();
        if audio_sources > 1 {
            self.hint_remote(
                2,
                RemoteKind::Sfu,
                format!(
                    "receives {audio_sources} audio streams on one connection, which only a media server does"
                ),
            );
        }
        let remote_candidates: Vec<&IceCandidate> = self
            .pc
            .selected_pairs
            .iter()
            .filter_map(|c| self.pc.candidate_pair(&c.pair_stats_id))
            .filter_map(|p| p.remote_candidate_id.as_deref())
            .filter_map(|id| self.pc.candidate(id))
            .collect();
        if let Some(c) = remote_candidates.first()
            && c.candidate_type == Some(hopscope_model::stats::CandidateType::Host)
            && c.address.as_deref().is_some_and(is_public_address)
        {
            let addr = c.address.clone().unwrap_or_default();
            self.hint_remote(
                1,
                RemoteKind::Sfu,
                format!(
                    "the far end offers a public host candidate ({addr}), typical of an ICE-lite media server"
                ),
            );
        }
        let best = self.remote_hints.iter().max_by_key(|(s, _, _)| *s);
        if let Some((_, kind, evidence)) = best {
            self.pc.remote_kind = *kind;
            self.pc.remote_kind_evidence = Some(evidence.clone());
        }
    }
}

fn update_info(info: &mut StreamInfo, raw: &RawStats) {
    if let Some(k) = raw.text(Text::Kind).or(raw.text(Text::MediaType)).and_then(MediaKind::parse) {
        info.kind = Some(k);
    }
    if let Some(ssrc) = raw.ssrc() {
        info.ssrc = Some(ssrc);
    }
    let set = |slot: &mut Option<String>, v: Option<&str>| {
        if let Some(v) = v
            && slot.as_deref() != Some(v)
        {
            *slot = Some(v.to_string());
        }
    };
    set(&mut info.rid, raw.nonempty(Text::Rid));
    set(&mut info.mid, raw.nonempty(Text::Mid));
    set(&mut info.track_identifier, raw.nonempty(Text::TrackIdentifier));
    set(
        &mut info.implementation,
        raw.nonempty(Text::DecoderImplementation).or(raw.nonempty(Text::EncoderImplementation)),
    );
    set(&mut info.paired_stats_id, raw.nonempty(Text::RemoteId).or(raw.nonempty(Text::LocalId)));
    if matches!(raw.text(Text::ContentType), Some("screenshare" | "screen")) {
        info.is_screenshare = true;
    }
}

/// The time of one object: its own timestamp unless it is 0/absent ("the report time") or
/// implausibly far from the report time.
fn object_time(raw: &RawStats, report_time: Timestamp) -> Timestamp {
    match raw.timestamp {
        Some(t) if t > 0.0 && (t - report_time.epoch_ms()).abs() < MAX_CLOCK_DISAGREEMENT_MS => {
            Timestamp::from_epoch_ms(t).unwrap_or(report_time)
        }
        _ => report_time,
    }
}

/// Whether an IP literal is publicly routable (not private, loopback, link-local,
/// CGNAT or anonymised).
pub(crate) fn is_public_address(addr: &str) -> bool {
    if is_anonymised(addr) {
        return false;
    }
    match addr.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(v4)) => {
            let o = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || (o[0] == 100 && (64..128).contains(&o[1])))
        }
        Ok(std::net::IpAddr::V6(v6)) => {
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80)
        }
        Err(_) => false,
    }
}

/// Builds one participant.
#[derive(Clone, Debug)]
pub(crate) struct ParticipantBuilder {
    source: SourceInfo,
    fallback_name: String,
    /// Name the data gives (display name, endpoint id, native participant id).
    pub(crate) name: Option<String>,
    identifiers: Vec<(String, String)>,
    client: ClientInfo,
    events: Vec<Event>,
    pcs: Vec<PcBuilder>,
    pc_index: HashMap<String, usize>,
    notes: Vec<DataNote>,
}

impl ParticipantBuilder {
    /// A builder for data from `source_name` in `format`; `fallback_name` names the
    /// participant when the data does not.
    pub(crate) fn new(source_name: &str, format: &str, fallback_name: &str) -> Self {
        ParticipantBuilder {
            source: SourceInfo { name: source_name.to_string(), format: format.to_string() },
            fallback_name: fallback_name.to_string(),
            name: None,
            identifiers: Vec::new(),
            client: ClientInfo::default(),
            events: Vec::new(),
            pcs: Vec::new(),
            pc_index: HashMap::default(),
            notes: Vec::new(),
        }
    }

    /// About how many bytes the time series built so far hold (see
    /// [`PeerConnection::series_bytes`](hopscope_model::PeerConnection::series_bytes)).
    pub(crate) fn series_bytes(&self) -> usize {
        self.pcs.iter().map(|b| b.pc.series_bytes()).sum::<usize>()
            + hopscope_model::conference::capacity_bytes(&self.events)
    }

    /// The builder of peer connection `key`, created on first use.
    pub(crate) fn pc(&mut self, key: &str) -> &mut PcBuilder {
        let i = match self.pc_index.get(key) {
            Some(i) => *i,
            None => {
                self.pcs.push(PcBuilder::new(key));
                self.pc_index.insert(key.to_string(), self.pcs.len() - 1);
                self.pcs.len() - 1
            }
        };
        &mut self.pcs[i]
    }

    /// Records an application identifier (`endpointId`, `conference`, `meetingUniqueId`, ...).
    pub(crate) fn identifier(&mut self, key: &str, value: &str) {
        if value.is_empty() || self.identifiers.iter().any(|(k, v)| k == key && v == value) {
            return;
        }
        self.identifiers.push((key.to_string(), value.to_string()));
    }

    /// Sets the User-Agent string.
    pub(crate) fn user_agent(&mut self, ua: &str) {
        if !ua.is_empty() {
            self.client.user_agent = Some(ua.to_string());
        }
    }

    /// Sets the page origin or URL.
    pub(crate) fn origin(&mut self, origin: &str) {
        if !origin.is_empty() && self.client.origin.is_none() {
            self.client.origin = Some(origin.to_string());
        }
    }

    /// Adds a remark about the input.
    pub(crate) fn note(&mut self, location: Option<String>, message: impl Into<String>) {
        self.notes.push(DataNote { source: self.source.name.clone(), location, message: message.into() });
    }

    /// Routes a named event (any dialect) to the participant or to peer connection `pc`.
    /// Returns whether it was recognised.
    pub(crate) fn event(&mut self, pc: Option<&str>, at: Timestamp, name: &str, value: &Value) -> bool {
        let Some((scope, kind)) = classify(name, value) else {
            return is_bookkeeping(name);
        };
        if kind == EventKind::Created
            && let Some(pc) = pc
            && let Some(config) = parse_configuration(value)
        {
            self.pc(pc).set_configuration(config);
        }
        match (scope, pc) {
            (Scope::PeerConnection, Some(pc)) => self.pc(pc).event(at, kind),
            (Scope::PeerConnection, None) if kind == EventKind::Closed => self
                .events
                .push(Event { at, kind: EventKind::Other { name: "session closed".into(), detail: None } }),
            _ => self.events.push(Event { at, kind }),
        }
        true
    }

    /// Adds an already-classified participant-level event.
    pub(crate) fn push_client_event(&mut self, at: Timestamp, kind: EventKind) {
        self.events.push(Event { at, kind });
    }

    /// Whether any peer connection or event was recorded.
    pub(crate) fn is_empty(&self) -> bool {
        self.pcs.is_empty() && self.events.is_empty()
    }

    /// The finished participant and the notes made while building it.
    pub(crate) fn finish(mut self) -> (Participant, Vec<DataNote>) {
        infer_browser(&mut self.client, &self.pcs);
        let pcs: Vec<PeerConnection> = self.pcs.into_iter().map(PcBuilder::finish).collect();
        self.events.sort_by_key(|e| e.at);
        let name = self.name.filter(|n| !n.trim().is_empty()).unwrap_or(self.fallback_name);
        let participant = Participant {
            id: ParticipantId::new(name),
            identifiers: self.identifiers,
            source: self.source,
            client: self.client,
            peer_connections: pcs,
            events: self.events,
        };
        (participant, self.notes)
    }
}

/// Parses an RTCConfiguration: a JSON object, a JSON string, or the JS-ish text old
/// webrtc-internals writes (`{ iceServers: [stun:…, turn:…], iceTransportPolicy: all }`).
/// Credentials are never kept.
pub(crate) fn parse_configuration(value: &Value) -> Option<RtcConfiguration> {
    let value = decode_nested(value);
    match &value {
        Value::Object(o) => {
            let mut config = RtcConfiguration::default();
            if let Some(servers) = o.get("iceServers").and_then(Value::as_array) {
                for s in servers {
                    let urls = match s.get("urls").or_else(|| s.get("url")) {
                        Some(Value::String(u)) => vec![u.clone()],
                        Some(Value::Array(a)) => {
                            a.iter().filter_map(Value::as_str).map(String::from).collect()
                        }
                        _ => Vec::new(),
                    };
                    if !urls.is_empty() {
                        config.ice_servers.push(IceServer { urls });
                    }
                }
            }
            let text = |k: &str| o.get(k).and_then(Value::as_str).map(String::from);
            config.ice_transport_policy = text("iceTransportPolicy").or_else(|| text("iceTransports"));
            config.bundle_policy = text("bundlePolicy");
            config.sdp_semantics = text("sdpSemantics");
            Some(config)
        }
        Value::String(s) if s.contains("iceServers") || s.contains("stun:") || s.contains("turn") => {
            let mut config = RtcConfiguration::default();
            for token in
                s.split(|c: char| c.is_whitespace() || matches!(c, ',' | '[' | ']' | '{' | '}' | '"'))
            {
                if token.starts_with("stun:") || token.starts_with("turn:") || token.starts_with("turns:") {
                    config.ice_servers.push(IceServer { urls: vec![token.to_string()] });
                }
            }
            let field = |k: &str| {
                let start = s.find(k)? + k.len();
                let rest = s[start..].trim_start_matches([':', ' ', '"']);
                let end = rest.find([',', ' ', '}', '"']).unwrap_or(rest.len());
                Some(rest[..end].to_string()).filter(|v| !v.is_empty())
            };
            config.ice_transport_policy = field("iceTransportPolicy");
            config.bundle_policy = field("bundlePolicy");
            config.sdp_semantics = field("sdpSemantics");
            Some(config)
        }
        _ => None,
    }
}

/// Browser family and era from the fields present, then the User-Agent for comparison.
fn infer_browser(client: &mut ClientInfo, pcs: &[PcBuilder]) {
    let mut traits = Traits::default();
    let (mut legacy, mut w3c, mut transport, mut track, mut pairs, mut relay_no_proto) =
        (false, false, false, false, false, false);
    let mut scheme = IdScheme::Unknown;
    for pc in pcs {
        traits.insert(pc.traits);
        legacy |= pc.saw_legacy;
        w3c |= pc.saw_w3c;
        transport |= pc.saw_transport;
        track |= pc.saw_track;
        pairs |= pc.saw_pairs;
        relay_no_proto |= pc.relay_without_protocol;
        if scheme == IdScheme::Unknown {
            scheme = pc.id_scheme;
        }
    }
    let mut evidence = Vec::new();
    let family = if legacy && !w3c {
        evidence.push("legacy callback getStats (goog* reports) exist only in Chrome".to_string());
        client.stats_dialect = Some("legacy goog* stats".into());
        Some(BrowserFamily::Chromium)
    } else if w3c {
        let firefox_signs = [
            (traits.contains(Traits::FIREFOX_MEANS), "bitrateMean/framerateMean fields"),
            (traits.contains(Traits::PAIR_SELECTED_FLAG), "a `selected` flag on candidate pairs"),
            (pairs && !transport, "no transport stats"),
            (scheme == IdScheme::Firefox, "short hex / {uuid} stats ids"),
        ];
        let safari_signs = [
            (relay_no_proto, "relay candidates without relayProtocol"),
            (traits.contains(Traits::EMPTY_KIND), "`kind: \"\"` on RTP stats"),
            (traits.contains(Traits::DATACHANNELID), "the `datachannelid` spelling"),
        ];
        let chrome_signs = [
            (traits.contains(Traits::NETWORK_TYPE), "networkType on candidates"),
            (
                traits.contains(Traits::QUALITY_LIMITATION) && transport,
                "qualityLimitationReason with transport stats",
            ),
        ];
        let count = |s: &[(bool, &str)]| s.iter().filter(|(b, _)| *b).count();
        let (ff, sa, ch) = (count(&firefox_signs), count(&safari_signs), count(&chrome_signs));
        let pick = |signs: &[(bool, &str)], evidence: &mut Vec<String>| {
            for (b, why) in signs {
                if *b {
                    evidence.push((*why).to_string());
                }
            }
        };
        let webkit_ids = matches!(scheme, IdScheme::ChromeOld | IdScheme::ChromeNew);
        if webkit_ids {
            // libwebrtc ids: Chrome or Safari, never Firefox.
            if sa > 0 && ch == 0 {
                pick(&safari_signs, &mut evidence);
                Some(BrowserFamily::Safari)
            } else if ch > 0 || sa == 0 && !transport {
                evidence.push("libwebrtc-style stats ids".into());
                pick(&chrome_signs, &mut evidence);
                Some(BrowserFamily::Chromium)
            } else if transport
                && !traits.contains(Traits::QUALITY_LIMITATION)
                && !traits.contains(Traits::NETWORK_TYPE)
            {
                evidence.push(
                    "libwebrtc-style ids, transport stats without networkType or qualityLimitationReason"
                        .into(),
                );
                Some(BrowserFamily::Safari)
            } else {
                evidence.push("libwebrtc-style stats ids".into());
                Some(BrowserFamily::Chromium)
            }
        } else if ff >= 2 || (ff == 1 && sa == 0 && ch == 0) || scheme == IdScheme::Firefox {
            pick(&firefox_signs, &mut evidence);
            Some(BrowserFamily::Firefox)
        } else if sa > 0 && ch == 0 {
            pick(&safari_signs, &mut evidence);
            Some(BrowserFamily::Safari)
        } else if ch > 0 {
            pick(&chrome_signs, &mut evidence);
            Some(BrowserFamily::Chromium)
        } else if transport
            && !traits.contains(Traits::QUALITY_LIMITATION)
            && !traits.contains(Traits::NETWORK_TYPE)
        {
            evidence.push("transport stats without networkType or qualityLimitationReason".into());
            Some(BrowserFamily::Safari)
        } else {
            None
        }
    } else {
        None
    };
    if w3c {
        client.stats_dialect = Some(
            match scheme {
                IdScheme::ChromeOld => "spec stats, old RTC… id scheme",
                IdScheme::ChromeNew => "spec stats, short id scheme (IT01…, CP…)",
                IdScheme::Firefox => "spec stats, Firefox ids",
                IdScheme::Unknown => "spec stats",
            }
            .to_string(),
        );
        let version = match (family, scheme, track, traits.contains(Traits::FREEZE_COUNT)) {
            (Some(BrowserFamily::Chromium), IdScheme::ChromeOld, _, _) => Some("≤ 101 (old stats ids)"),
            (Some(BrowserFamily::Chromium), IdScheme::ChromeNew, true, _) => {
                Some("102–109 (short ids with track stats)")
            }
            (Some(BrowserFamily::Chromium), IdScheme::ChromeNew, false, _) => {
                Some("≥ 110 (short ids, no track stats)")
            }
            (Some(BrowserFamily::Firefox), _, _, _) if traits.contains(Traits::FIREFOX_MEANS) => {
                Some("≤ 9x (bitrateMean era)")
            }
            (Some(BrowserFamily::Safari), IdScheme::ChromeOld, _, _)
            | (Some(BrowserFamily::Safari), _, true, _) => Some("≤ 16 (track stats)"),
            (Some(BrowserFamily::Safari), IdScheme::ChromeNew, false, _) => Some("≥ 17 (short ids)"),
            _ => None,
        };
        client.inferred_version = version.map(String::from);
    }
    client.inferred_family = family;
    client.evidence = evidence;
    if let Some(ua) = &client.user_agent {
        client.user_agent_browser = parse_user_agent(ua);
        client.os = parse_os(ua);
    }
}

/// Family and major version from a User-Agent string.
pub(crate) fn parse_user_agent(ua: &str) -> Option<(BrowserFamily, Option<u32>)> {
    let major = |marker: &str| -> Option<u32> {
        let start = ua.find(marker)? + marker.len();
        ua[start..].split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
    };
    if ua.contains("Firefox/") {
        Some((BrowserFamily::Firefox, major("Firefox/")))
    } else if ua.contains("Edg/") || ua.contains("Chrome/") || ua.contains("Chromium/") {
        Some((BrowserFamily::Chromium, major("Chrome/").or_else(|| major("Chromium/"))))
    } else if ua.contains("Safari/") && ua.contains("Version/") {
        Some((BrowserFamily::Safari, major("Version/")))
    } else {
        None
    }
}

fn parse_os(ua: &str) -> Option<String> {
    let os = if ua.contains("Windows NT 10") {
        "Windows 10/11"
    } else if ua.contains("Windows NT 6.1") {
        "Windows 7"
    } else if ua.contains("Windows") {
        "Windows"
    } else if ua.contains("Android") {
        "Android"
    } else if ua.contains("iPhone") || ua.contains("iPad") {
        "iOS"
    } else if ua.contains("Mac OS X") || ua.contains("Macintosh") {
        "macOS"
    } else if ua.contains("CrOS") {
        "ChromeOS"
    } else if ua.contains("Linux") {
        "Linux"
    } else {
        return None;
    };
    Some(os.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn configuration_from_json_and_js_text() {
        let c = parse_configuration(&json!({"iceServers":[{"urls":"turns:t.example:443?transport=tcp","username":"u","credential":"secret"}],"iceTransportPolicy":"relay"}))
            .expect("parsed");
        assert_eq!(c.ice_servers[0].urls, vec!["turns:t.example:443?transport=tcp"]);
        assert_eq!(c.ice_transport_policy.as_deref(), Some("relay"));
        let c = parse_configuration(&json!("{ iceServers: [stun:stun.l.google.com:19302, turn:10.0.0.1:3478], iceTransportPolicy: all, bundlePolicy: balanced }"))
            .expect("parsed");
        assert_eq!(c.ice_servers.len(), 2);
        assert_eq!(c.ice_transport_policy.as_deref(), Some("all"));
        assert_eq!(c.bundle_policy.as_deref(), Some("balanced"));
    }

    #[test]
    fn user_agents() {
        assert_eq!(
            parse_user_agent(
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:118.0) Gecko/20100101 Firefox/118.0"
            ),
            Some((BrowserFamily::Firefox, Some(118)))
        );
        assert_eq!(
            parse_user_agent(
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15"
            ),
            Some((BrowserFamily::Safari, Some(17)))
        );
    }

    #[test]
    fn public_addresses() {
        assert!(is_public_address("130.61.132.30"));
        assert!(!is_public_address("192.168.1.2"));
        assert!(!is_public_address("x.x.x.x"));
        assert!(!is_public_address("100.64.0.1"));
    }
}
