//! The conference as rules see it: entities of each scope, and every metric's value at each
//! tick of one time grid.
//!
//! All scopes share one grid (the conference's typical sampling interval), which is what
//! lets a conference rule count participants at the same moment. A metric's value at a tick
//! is the value of the sampling interval that covers it; nothing covers it → missing.

use std::sync::Arc;

use hopscope_model::events::{ConnectionState, EventKind, IceConnectionState, MediaRequestSource, Outcome};
use hopscope_model::graph::{PathGraph, PathWindow};
use hopscope_model::intervals::{
    InboundInterval, OutboundInterval, RemoteInboundInterval, typical_interval_s,
};
use hopscope_model::stats::{IceCandidate, MediaKind};
use hopscope_model::{Conference, Event, Participant, PeerConnection, RemoteKind, Timestamp};
use hopscope_score::audio::AudioWindowScore;
use hopscope_score::video::VideoWindowScore;
use hopscope_score::webrtc::StreamWindows;
use hopscope_score::{ConferenceQuality, QualityConfig};

use crate::catalogue::{MetricId, Scope};

/// A value at one tick.
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    /// A number in its metric's canonical unit.
    Num(f64),
    /// Yes/no.
    Bool(bool),
    /// Text.
    Text(Arc<str>),
    /// Not known at this tick.
    Missing,
}

impl Val {
    fn num(v: Option<f64>) -> Val {
        v.filter(|x| x.is_finite()).map_or(Val::Missing, Val::Num)
    }
    fn text(v: Option<&Arc<str>>) -> Val {
        v.map_or(Val::Missing, |t| Val::Text(t.clone()))
    }
}

const NONE: u32 = u32::MAX;
/// The grid is never finer than this.
const MIN_STEP_MS: f64 = 1000.0;
/// ... nor coarser.
const MAX_STEP_MS: f64 = 10_000.0;
/// Long calls get a coarser grid rather than an unbounded one.
const MAX_TICKS: usize = 7_200;

/// Maps ticks to the windows covering them: `out[t]` = index into `windows`, or `NONE`.
fn cover(ticks: &[Timestamp], windows: impl Iterator<Item = (Timestamp, Timestamp)>) -> Vec<u32> {
    let mut out = vec![NONE; ticks.len()];
    for (i, (start, end)) in windows.enumerate() {
        let first = ticks.partition_point(|t| *t <= start);
        let last = ticks.partition_point(|t| *t <= end);
        for slot in &mut out[first..last] {
            *slot = i as u32;
        }
    }
    out
}

/// Per scope, the metric behind each [`MetricId`] as an enum, so reading a metric is an
/// index and a jump, not a string match (a 50-participant conference reads millions).
macro_rules! fields {
    ($enum:ident, $catalogue:path { $($variant:ident = $name:literal),* $(,)? }) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        enum $enum {
            $($variant,)*
            Unknown,
        }

        impl $enum {
            fn of(metric: MetricId) -> $enum {
                static TABLE: std::sync::LazyLock<Vec<$enum>> = std::sync::LazyLock::new(|| {
                    $catalogue.iter().map(|m| match m.name { $($name => $enum::$variant,)* _ => $enum::Unknown }).collect()
                });
                TABLE.get(usize::from(metric.0)).copied().unwrap_or($enum::Unknown)
            }
        }
    };
}

fields!(StreamField, crate::catalogue::STREAM {
    Participant = "participant",
    PeerConnection = "peer_connection",
    Direction = "direction",
    Kind = "kind",
    Codec = "codec",
    Sender = "sender",
    Screenshare = "screenshare",
    Active = "active",
    LossPercent = "loss_percent",
    MediaLossPercent = "media_loss_percent",
    JitterMs = "jitter_ms",
    RttMs = "rtt_ms",
    BitrateKbps = "bitrate_kbps",
    PacketRate = "packet_rate",
    Fps = "fps",
    FrameWidth = "frame_width",
    FrameHeight = "frame_height",
    Freezes = "freezes",
    FrozenPercent = "frozen_percent",
    ConcealmentPercent = "concealment_percent",
    JitterBufferMs = "jitter_buffer_ms",
    Nacks = "nacks",
    Plis = "plis",
    FramesDropped = "frames_dropped",
    CpuLimitedPercent = "cpu_limited_percent",
    BandwidthLimitedPercent = "bandwidth_limited_percent",
    QualityLimitation = "quality_limitation",
    RetransmitPercent = "retransmit_percent",
    TargetBitrateKbps = "target_bitrate_kbps",
    AudioLevel = "audio_level",
    Mos = "mos",
    RFactor = "r_factor",
    VideoQuality = "video_quality",
    QualityLabel = "quality_label",
    QualityExcluded = "quality_excluded",
});

fields!(PcField, crate::catalogue::PEER_CONNECTION {
    Participant = "participant",
    PeerConnection = "peer_connection",
    Remote = "remote",
    IceState = "ice_state",
    ConnectionState = "connection_state",
    Connected = "connected",
    EverConnected = "ever_connected",
    Failed = "failed",
    Closed = "closed",
    AgeMs = "age_ms",
    SetupMs = "setup_ms",
    Reconnections = "reconnections",
    CandidateErrors = "candidate_errors",
    LastCandidateError = "last_candidate_error",
    NegotiationFailures = "negotiation_failures",
    LastNegotiationError = "last_negotiation_error",
    HasMedia = "has_media",
    Relay = "relay",
    RelayProtocol = "relay_protocol",
    LocalCandidateType = "local_candidate_type",
    RemoteCandidateType = "remote_candidate_type",
    NetworkType = "network_type",
    IcePolicy = "ice_policy",
    RttMs = "rtt_ms",
    AvailableOutgoingKbps = "available_outgoing_kbps",
    SendKbps = "send_kbps",
    ReceiveKbps = "receive_kbps",
    OutboundPacketRate = "outbound_packet_rate",
    InboundPacketRate = "inbound_packet_rate",
});

fields!(ParticipantField, crate::catalogue::PARTICIPANT {
    Participant = "participant",
    Browser = "browser",
    BrowserVersion = "browser_version",
    BrowserAge = "browser_age",
    Os = "os",
    UserAgentDisagrees = "user_agent_disagrees",
    MediaRequests = "media_requests",
    MediaFailures = "media_failures",
    LastMediaError = "last_media_error",
    MediaConnections = "media_connections",
    ConnectedMediaConnections = "connected_media_connections",
    HeardMos = "heard_mos",
    HeardLossPercent = "heard_loss_percent",
    SeenVideoQuality = "seen_video_quality",
    FeedbackRating = "feedback_rating",
});

fields!(HopField, crate::catalogue::HOP {
    Hop = "hop",
    From = "from",
    To = "to",
    FromKind = "from_kind",
    ToKind = "to_kind",
    Routes = "routes",
    LossPercent = "loss_percent",
    JitterMs = "jitter_ms",
    RttMs = "rtt_ms",
    BitrateKbps = "bitrate_kbps",
});

fields!(ConferenceField, crate::catalogue::CONFERENCE {
    Conference = "conference",
    Topology = "topology",
    Participants = "participants",
    ConnectedParticipants = "connected_participants",
    FailedParticipants = "failed_participants",
    ElapsedMs = "elapsed_ms",
    Ended = "ended",
    Outcome = "outcome",
});

/// A stream and its intervals. Its numbers live in the view's [`StreamNumbers`].
#[derive(Debug)]
pub struct StreamEntity {
    /// Owning participant (index into the conference).
    pub participant: usize,
    /// Owning peer connection (index into [`View::pcs`]).
    pub pc: usize,
    /// Attributes.
    pub attrs: StreamAttrs,
    /// Where its windows start in each column of [`StreamNumbers`], `NONE` where it has none.
    starts: [u32; Col::ALL.len()],
    /// How many windows it has.
    windows: u32,
    /// Per window, what is text.
    texts: Box<[WindowTexts]>,
    /// The windows the grid's ticks read, when they are one unbroken run (first, last):
    /// then "at some tick" is "in one of these windows", a scan of adjacent numbers.
    read_span: Option<(u32, u32)>,
}
/// What does not change over a stream's life.
#[derive(Debug, Clone)]
pub struct StreamAttrs {
    /// Participant id.
    pub participant: Arc<str>,
    /// Peer connection id.
    pub peer_connection: Arc<str>,
    /// `inbound` / `outbound`.
    pub direction: Arc<str>,
    /// `audio` / `video`.
    pub kind: Option<Arc<str>>,
    /// Received (rather than sent): `direction` as a flag, for scans over thousands of streams.
    pub inbound: bool,
    /// `kind` as an enum, for the same scans.
    pub media: Option<MediaKind>,
    /// Codec.
    pub codec: Option<Arc<str>>,
    /// Sender (inbound), when known.
    pub sender: Option<Arc<str>>,
    /// The sender as an index into [`View::participants`], when the conference holds them.
    pub sender_index: Option<usize>,
    /// Screen share.
    pub screenshare: bool,
    /// SSRC.
    pub ssrc: Option<u32>,
    /// Stats id (evidence).
    pub stats_id: String,
}

#[derive(Debug, Default, Clone)]
struct StreamWindow {
    start: Timestamp,
    end: Timestamp,
    active: bool,
    loss_percent: Option<f64>,
    media_loss_percent: Option<f64>,
    jitter_ms: Option<f64>,
    rtt_ms: Option<f64>,
    bitrate_kbps: Option<f64>,
    packet_rate: Option<f64>,
    fps: Option<f64>,
    frame_width: Option<f64>,
    frame_height: Option<f64>,
    freezes: Option<f64>,
    frozen_percent: Option<f64>,
    concealment_percent: Option<f64>,
    jitter_buffer_ms: Option<f64>,
    nacks: Option<f64>,
    plis: Option<f64>,
    frames_dropped: Option<f64>,
    cpu_limited_percent: Option<f64>,
    bandwidth_limited_percent: Option<f64>,
    quality_limitation: Option<Arc<str>>,
    retransmit_percent: Option<f64>,
    target_bitrate_kbps: Option<f64>,
    audio_level: Option<f64>,
    mos: Option<f64>,
    r_factor: Option<f64>,
    video_quality: Option<f64>,
    quality_label: Option<Arc<str>>,
    quality_excluded: Option<bool>,
    /// Packets lost in the window (for pooling across streams).
    lost: Option<f64>,
    /// Packets received in the window.
    received: Option<f64>,
}

/// The numeric columns of a stream's windows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Col {
    LossPercent,
    MediaLossPercent,
    JitterMs,
    RttMs,
    BitrateKbps,
    PacketRate,
    Fps,
    FrameWidth,
    FrameHeight,
    Freezes,
    FrozenPercent,
    ConcealmentPercent,
    JitterBufferMs,
    Nacks,
    Plis,
    FramesDropped,
    CpuLimitedPercent,
    BandwidthLimitedPercent,
    RetransmitPercent,
    TargetBitrateKbps,
    AudioLevel,
    Mos,
    RFactor,
    VideoQuality,
    /// Packets lost in the window (for pooling across streams).
    Lost,
    /// Packets received in the window.
    Received,
    /// Whether media flowed (1 or 0).
    Active,
    /// Whether quality scoring left the window out (1 or 0).
    QualityExcluded,
}

impl Col {
    const ALL: [Col; 28] = [
        Col::LossPercent,
        Col::MediaLossPercent,
        Col::JitterMs,
        Col::RttMs,
        Col::BitrateKbps,
        Col::PacketRate,
        Col::Fps,
        Col::FrameWidth,
        Col::FrameHeight,
        Col::Freezes,
        Col::FrozenPercent,
        Col::ConcealmentPercent,
        Col::JitterBufferMs,
        Col::Nacks,
        Col::Plis,
        Col::FramesDropped,
        Col::CpuLimitedPercent,
        Col::BandwidthLimitedPercent,
        Col::RetransmitPercent,
        Col::TargetBitrateKbps,
        Col::AudioLevel,
        Col::Mos,
        Col::RFactor,
        Col::VideoQuality,
        Col::Lost,
        Col::Received,
        Col::Active,
        Col::QualityExcluded,
    ];

    /// The column behind a stream metric that is a per-window number (not a yes/no).
    fn of(field: StreamField) -> Option<Col> {
        Some(match field {
            StreamField::LossPercent => Col::LossPercent,
            StreamField::MediaLossPercent => Col::MediaLossPercent,
            StreamField::JitterMs => Col::JitterMs,
            StreamField::RttMs => Col::RttMs,
            StreamField::BitrateKbps => Col::BitrateKbps,
            StreamField::PacketRate => Col::PacketRate,
            StreamField::Fps => Col::Fps,
            StreamField::FrameWidth => Col::FrameWidth,
            StreamField::FrameHeight => Col::FrameHeight,
            StreamField::Freezes => Col::Freezes,
            StreamField::FrozenPercent => Col::FrozenPercent,
            StreamField::ConcealmentPercent => Col::ConcealmentPercent,
            StreamField::JitterBufferMs => Col::JitterBufferMs,
            StreamField::Nacks => Col::Nacks,
            StreamField::Plis => Col::Plis,
            StreamField::FramesDropped => Col::FramesDropped,
            StreamField::CpuLimitedPercent => Col::CpuLimitedPercent,
            StreamField::BandwidthLimitedPercent => Col::BandwidthLimitedPercent,
            StreamField::RetransmitPercent => Col::RetransmitPercent,
            StreamField::TargetBitrateKbps => Col::TargetBitrateKbps,
            StreamField::AudioLevel => Col::AudioLevel,
            StreamField::Mos => Col::Mos,
            StreamField::RFactor => Col::RFactor,
            StreamField::VideoQuality => Col::VideoQuality,
            _ => return None,
        })
    }
}

impl StreamWindow {
    fn column(&self, c: Col) -> Option<f64> {
        match c {
            Col::LossPercent => self.loss_percent,
            Col::MediaLossPercent => self.media_loss_percent,
            Col::JitterMs => self.jitter_ms,
            Col::RttMs => self.rtt_ms,
            Col::BitrateKbps => self.bitrate_kbps,
            Col::PacketRate => self.packet_rate,
            Col::Fps => self.fps,
            Col::FrameWidth => self.frame_width,
            Col::FrameHeight => self.frame_height,
            Col::Freezes => self.freezes,
            Col::FrozenPercent => self.frozen_percent,
            Col::ConcealmentPercent => self.concealment_percent,
            Col::JitterBufferMs => self.jitter_buffer_ms,
            Col::Nacks => self.nacks,
            Col::Plis => self.plis,
            Col::FramesDropped => self.frames_dropped,
            Col::CpuLimitedPercent => self.cpu_limited_percent,
            Col::BandwidthLimitedPercent => self.bandwidth_limited_percent,
            Col::RetransmitPercent => self.retransmit_percent,
            Col::TargetBitrateKbps => self.target_bitrate_kbps,
            Col::AudioLevel => self.audio_level,
            Col::Mos => self.mos,
            Col::RFactor => self.r_factor,
            Col::VideoQuality => self.video_quality,
            Col::Lost => self.lost,
            Col::Received => self.received,
            Col::Active => Some(f64::from(u8::from(self.active))),
            Col::QualityExcluded => self.quality_excluded.map(|b| f64::from(u8::from(b))),
        }
    }
}

/// What a window holds as text.
#[derive(Debug, Clone)]
struct WindowTexts {
    quality_limitation: Option<Arc<str>>,
    quality_label: Option<Arc<str>>,
}

/// Every stream's numbers, column by column and stream after stream (NaN where nothing was
/// measured). A rule reading one metric over the 5000 streams of a 50-person SFU call then
/// reads one run of memory; with each stream's numbers behind its own pointer the same scan
/// waited on a cache miss per stream.
#[derive(Debug)]
struct StreamNumbers {
    /// Per [`Col`]: the windows of each stream that has the column, stream after stream.
    columns: Vec<Vec<f64>>,
    /// Per stream, per tick of the grid: the stream's window covering the tick, or `NONE`.
    tick_window: Vec<u32>,
    /// Ticks of the grid.
    ticks: usize,
}

impl StreamNumbers {
    fn new(ticks: usize) -> StreamNumbers {
        StreamNumbers { columns: vec![Vec::new(); Col::ALL.len()], tick_window: Vec::new(), ticks }
    }

    /// Stores a stream's windows; gives its column starts, texts and the run of windows
    /// the grid reads.
    fn add(&mut self, windows: &[StreamWindow], ticks: &[Timestamp]) -> Stored {
        let mut starts = [NONE; Col::ALL.len()];
        for c in Col::ALL {
            if windows.iter().all(|w| w.column(c).is_none_or(|v| !v.is_finite())) {
                continue;
            }
            let column = &mut self.columns[c as usize];
            starts[c as usize] = u32::try_from(column.len()).unwrap_or(NONE);
            column.extend(windows.iter().map(|w| w.column(c).unwrap_or(f64::NAN)));
        }
        let covered = cover(ticks, windows.iter().map(|w| (w.start, w.end)));
        let read_span = unbroken_run(&covered);
        self.tick_window.extend(covered);
        let texts = windows
            .iter()
            .map(|w| WindowTexts {
                quality_limitation: w.quality_limitation.clone(),
                quality_label: w.quality_label.clone(),
            })
            .collect();
        Stored { starts, texts, read_span }
    }
}

/// Where [`StreamNumbers::add`] put a stream's windows.
struct Stored {
    starts: [u32; Col::ALL.len()],
    texts: Box<[WindowTexts]>,
    read_span: Option<(u32, u32)>,
}

/// The first and last window ticks read, when every window between them is read too (each
/// tick reads the same window as the one before, or the next).
fn unbroken_run(tick_window: &[u32]) -> Option<(u32, u32)> {
    let mut read = tick_window.iter().copied().filter(|&w| w != NONE);
    let first = read.next()?;
    let mut last = first;
    for w in read {
        if w != last && w != last + 1 {
            return None;
        }
        last = w;
    }
    Some((first, last))
}

/// The highest (or lowest) finite number of `values`. Most of a rule's time over a big
/// call goes here, so the common case runs as four independent compare-and-keep lanes,
/// which compile to vector max/min (NaN never wins a comparison); only data holding an
/// infinity, or nothing, takes the careful way.
fn extreme_of(values: &[f64], highest: bool) -> Option<f64> {
    let best = if highest { lanes(values, |v, best| v > best) } else { lanes(values, |v, best| v < best) };
    if best.is_finite() {
        return Some(best);
    }
    let finite = values.iter().copied().filter(|v| v.is_finite());
    if highest { finite.reduce(f64::max) } else { finite.reduce(f64::min) }
}

/// The lowest and highest finite value, in one pass: [`extreme_of`]'s lanes, both ways at
/// once.
fn range_of(values: &[f64]) -> Option<(f64, f64)> {
    let (mut low, mut high) = ([f64::INFINITY; 4], [f64::NEG_INFINITY; 4]);
    let mut chunks = values.chunks_exact(4);
    for chunk in &mut chunks {
        for k in 0..4 {
            if chunk[k] < low[k] {
                low[k] = chunk[k];
            }
            if chunk[k] > high[k] {
                high[k] = chunk[k];
            }
        }
    }
    let (mut lowest, mut highest) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in low.into_iter().chain(chunks.remainder().iter().copied()) {
        if v < lowest {
            lowest = v;
        }
    }
    for v in high.into_iter().chain(chunks.remainder().iter().copied()) {
        if v > highest {
            highest = v;
        }
    }
    if lowest.is_finite() && highest.is_finite() {
        return Some((lowest, highest));
    }
    Some((extreme_of(values, false)?, extreme_of(values, true)?))
}

/// Folds one more number into the highest (or lowest) so far.
fn keep_extreme(best: &mut Option<f64>, v: f64, highest: bool) {
    *best = Some(best.map_or(v, |b| if highest { b.max(v) } else { b.min(v) }));
}

/// Keeps, in four lanes, each value that `wins` against the lane's best; starts from the
/// infinity every finite value beats.
#[inline(always)]
fn lanes(values: &[f64], wins: impl Fn(f64, f64) -> bool) -> f64 {
    let start = if wins(0.0, f64::INFINITY) { f64::INFINITY } else { f64::NEG_INFINITY };
    let mut acc = [start; 4];
    let mut chunks = values.chunks_exact(4);
    for chunk in &mut chunks {
        for k in 0..4 {
            if wins(chunk[k], acc[k]) {
                acc[k] = chunk[k];
            }
        }
    }
    let mut best = start;
    for v in acc.into_iter().chain(chunks.remainder().iter().copied()) {
        if wins(v, best) {
            best = v;
        }
    }
    best
}

impl StreamEntity {
    fn new(
        numbers: &mut StreamNumbers,
        participant: usize,
        pc: usize,
        attrs: StreamAttrs,
        windows: &[StreamWindow],
        ticks: &[Timestamp],
    ) -> StreamEntity {
        let Stored { starts, texts, read_span } = numbers.add(windows, ticks);
        let windows = u32::try_from(windows.len()).unwrap_or(u32::MAX);
        StreamEntity { participant, pc, attrs, starts, windows, texts, read_span }
    }

    /// Whether a metric comes from the windows (rather than the stream's fixed attributes).
    fn is_per_window(field: StreamField) -> bool {
        !matches!(
            field,
            StreamField::Participant
                | StreamField::PeerConnection
                | StreamField::Direction
                | StreamField::Kind
                | StreamField::Codec
                | StreamField::Sender
                | StreamField::Screenshare
        )
    }

    /// A fixed attribute as a value.
    fn attribute(&self, field: StreamField) -> Val {
        let a = &self.attrs;
        let text = |s: &Option<Arc<str>>| Val::text(s.as_ref());
        match field {
            StreamField::Participant => Val::Text(a.participant.clone()),
            StreamField::PeerConnection => Val::Text(a.peer_connection.clone()),
            StreamField::Direction => Val::Text(a.direction.clone()),
            StreamField::Kind => text(&a.kind),
            StreamField::Codec => text(&a.codec),
            StreamField::Sender => text(&a.sender),
            StreamField::Screenshare => Val::Bool(a.screenshare),
            _ => Val::Missing,
        }
    }
}

/// One stream read through the view: its entity and its numbers.
#[derive(Clone, Copy)]
struct StreamRef<'v> {
    entity: &'v StreamEntity,
    /// Its window for each tick of the grid.
    tick_window: &'v [u32],
    numbers: &'v StreamNumbers,
}

impl<'v> StreamRef<'v> {
    /// The window covering a tick.
    #[inline]
    fn window(self, tick: usize) -> Option<usize> {
        let i = *self.tick_window.get(tick)?;
        (i != NONE).then_some(i as usize)
    }

    /// A column over the stream's windows, if it has it.
    #[inline]
    fn column(self, c: Col) -> Option<&'v [f64]> {
        let start = self.entity.starts[c as usize];
        if start == NONE {
            return None;
        }
        self.numbers.columns[c as usize].get(start as usize..)?.get(..self.entity.windows as usize)
    }

    /// A number of a window.
    #[inline]
    fn number(self, c: Col, window: usize) -> Option<f64> {
        self.column(c).and_then(|col| col.get(window)).copied().filter(|v| v.is_finite())
    }

    /// A yes/no of a window.
    #[inline]
    fn flag(self, c: Col, window: usize) -> Option<bool> {
        self.number(c, window).map(|v| v != 0.0)
    }

    /// A metric at a tick.
    #[inline]
    fn value(self, metric: MetricId, tick: usize) -> Val {
        let field = StreamField::of(metric);
        if !StreamEntity::is_per_window(field) {
            return self.entity.attribute(field);
        }
        match self.window(tick) {
            Some(w) => self.window_value(field, w),
            None => Val::Missing,
        }
    }

    /// A per-window metric.
    #[inline]
    fn window_value(self, field: StreamField, w: usize) -> Val {
        if let Some(c) = Col::of(field) {
            return Val::num(self.number(c, w));
        }
        let text = |s: Option<&Option<Arc<str>>>| s.map_or(Val::Missing, |s| Val::text(s.as_ref()));
        match field {
            StreamField::Active => self.flag(Col::Active, w).map_or(Val::Missing, Val::Bool),
            StreamField::QualityExcluded => {
                self.flag(Col::QualityExcluded, w).map_or(Val::Missing, Val::Bool)
            }
            StreamField::QualityLimitation => text(self.entity.texts.get(w).map(|t| &t.quality_limitation)),
            StreamField::QualityLabel => text(self.entity.texts.get(w).map(|t| &t.quality_label)),
            _ => Val::Missing,
        }
    }

    /// Calls `f` with each number (and its tick) a metric has over ticks `first..=last`,
    /// resolving the metric once: windowed aggregates and scans read many ticks.
    fn each_number_at(self, metric: MetricId, first: usize, last: usize, mut f: impl FnMut(usize, f64)) {
        let field = StreamField::of(metric);
        let Some(ticks) = self.tick_window.get(first..=last.min(self.tick_window.len().saturating_sub(1)))
        else {
            return;
        };
        match Col::of(field) {
            Some(c) => {
                let Some(column) = self.column(c) else { return };
                for (i, &w) in ticks.iter().enumerate() {
                    if let Some(v) = column.get(w as usize).filter(|v| v.is_finite()) {
                        f(first + i, *v);
                    }
                }
            }
            None => {
                for tick in first..first + ticks.len() {
                    if let Val::Num(v) = self.value(metric, tick) {
                        f(tick, v);
                    }
                }
            }
        }
    }

    /// The highest (or lowest) finite value of a metric over every tick of the grid.
    fn extreme(self, metric: MetricId, highest: bool) -> Option<f64> {
        self.extreme_in(Col::of(StreamField::of(metric)), metric, highest)
    }

    /// [`extreme`](Self::extreme) with the metric's column already looked up (`None` for a
    /// metric without one), for scans over many streams.
    fn extreme_in(self, column: Option<Col>, metric: MetricId, highest: bool) -> Option<f64> {
        if let (Some(c), Some((first, last))) = (column, self.entity.read_span) {
            return extreme_of(self.column(c)?.get(first as usize..=last as usize)?, highest);
        }
        let mut best = None;
        self.each_number_at(metric, 0, self.tick_window.len().saturating_sub(1), |_, v| {
            keep_extreme(&mut best, v, highest)
        });
        best
    }

    /// The column holding a metric as numbers, yes/no ones included (as 1 and 0).
    fn number_column(metric: MetricId) -> Option<Col> {
        match StreamField::of(metric) {
            StreamField::Active => Some(Col::Active),
            StreamField::QualityExcluded => Some(Col::QualityExcluded),
            f => Col::of(f),
        }
    }

    /// The lowest and highest finite number of what [`numbers_into`](Self::numbers_into)
    /// gives; from one run of adjacent windows when the grid reads them so.
    fn range(self, metric: MetricId) -> Option<(f64, f64)> {
        if let (Some(c), Some((first, last))) = (Self::number_column(metric), self.entity.read_span) {
            return range_of(self.column(c)?.get(first as usize..=last as usize)?);
        }
        let mut values = Vec::with_capacity(self.tick_window.len());
        self.numbers_into(metric, &mut values);
        range_of(&values)
    }

    /// A metric at every tick as numbers, appended to `out`: NaN where missing or not a
    /// number, yes/no as 1 and 0.
    fn numbers_into(self, metric: MetricId, out: &mut Vec<f64>) {
        match Self::number_column(metric).map(|c| self.column(c)) {
            Some(Some(column)) => out.extend(
                self.tick_window.iter().map(|&w| column.get(w as usize).copied().unwrap_or(f64::NAN)),
            ),
            Some(None) => out.extend(std::iter::repeat_n(f64::NAN, self.tick_window.len())),
            None => out.extend((0..self.tick_window.len()).map(|t| match self.value(metric, t) {
                Val::Num(v) => v,
                Val::Bool(b) => f64::from(u8::from(b)),
                _ => f64::NAN,
            })),
        }
    }

    /// The bitrate of a window while the stream was active.
    fn active_kbps(self, w: usize) -> Option<f64> {
        self.number(Col::BitrateKbps, w).filter(|_| self.flag(Col::Active, w) == Some(true))
    }

    /// The packet rate of a window, 0 when the window says nothing.
    fn packet_rate_or_zero(self, w: usize) -> Option<f64> {
        Some(self.number(Col::PacketRate, w).unwrap_or(0.0))
    }
}

/// A peer connection.
#[derive(Debug)]
pub struct PcEntity {
    /// Owning participant (index into the conference).
    pub participant: usize,
    /// Index of the peer connection within the participant.
    pub index: usize,
    /// Participant id.
    pub participant_id: Arc<str>,
    /// Peer connection id.
    pub id: Arc<str>,
    /// Its streams (indices into [`View::streams`]).
    pub streams: Vec<usize>,
    remote: Arc<str>,
    ice_policy: Option<Arc<str>>,
    has_media: bool,
    created: Option<Timestamp>,
    ice: Vec<(Timestamp, IceConnectionState)>,
    conn: Vec<(Timestamp, ConnectionState)>,
    closed_at: Option<Timestamp>,
    candidate_errors: Vec<(Timestamp, Arc<str>)>,
    negotiation_failures: Vec<(Timestamp, Arc<str>)>,
    /// Selected path per selection change: (from, relay, relay protocol, local type, remote type, network).
    paths: Vec<(Timestamp, PathFacts)>,
    rtt: Vec<Interval>,
    available: Vec<Interval>,
    /// RTT and the bandwidth estimate at every tick (NaN where unknown), worked out on
    /// first read: a connection's RTT without ICE figures comes from every sent stream's
    /// RTCP reports, a list searched at every tick by every rule, script and plugin that
    /// reads it.
    interval_memo: [std::sync::OnceLock<Box<[f64]>>; 2],
}

#[derive(Debug, Clone, Default)]
struct PathFacts {
    relay: bool,
    relay_protocol: Option<Arc<str>>,
    local_type: Option<Arc<str>>,
    remote_type: Option<Arc<str>>,
    network_type: Option<Arc<str>>,
}

fn upto<T>(list: &[(Timestamp, T)], t: Timestamp) -> &[(Timestamp, T)] {
    &list[..list.partition_point(|(at, _)| *at <= t)]
}

/// Calls `f` with (tick, value) for each finite value of `values` (one per tick) at ticks
/// `first..=last`.
fn each_known(values: &[f64], first: usize, last: usize, mut f: impl FnMut(usize, f64)) {
    let last = last.min(values.len().saturating_sub(1));
    for (k, &v) in values.get(first..=last).unwrap_or_default().iter().enumerate() {
        if v.is_finite() {
            f(first + k, v);
        }
    }
}

/// A value over (start, end].
type Interval = (Timestamp, Timestamp, f64);

fn interval_at(list: &[Interval], t: Timestamp) -> Option<f64> {
    interval_from(list, 0, t).1
}

/// [`interval_at`] searching `list` from index `from` on: the index of the first interval
/// not over before `t`, and its value if it covers `t`. Ticks only grow, so a walk over
/// them passes each answer's index as the next one's `from`.
fn interval_from(list: &[Interval], from: usize, t: Timestamp) -> (usize, Option<f64>) {
    let i = from + list.get(from..).unwrap_or_default().partition_point(|(_, end, _)| *end < t);
    let v = list.get(i).filter(|(start, end, _)| *start < t && t <= *end || *end == t).map(|(_, _, v)| *v);
    (i, v)
}

impl PcEntity {
    /// The list of intervals a metric reads (RTT, available bandwidth) and where its
    /// memo is; `None` for other metrics.
    fn interval_list(&self, metric: MetricId) -> Option<(&[Interval], usize)> {
        match PcField::of(metric) {
            PcField::RttMs => Some((&self.rtt, 0)),
            PcField::AvailableOutgoingKbps => Some((&self.available, 1)),
            _ => None,
        }
    }

    /// A metric read from one list of intervals at every tick (NaN where unknown), from
    /// the memo: what [`interval_at`] finds at each tick, each search starting where the
    /// last one ended rather than at the list's start. `None` for other metrics.
    fn intervals_all(&self, metric: MetricId, view: &View) -> Option<&[f64]> {
        let (list, slot) = self.interval_list(metric)?;
        Some(self.interval_memo[slot].get_or_init(|| {
            let mut from = 0;
            view.ticks
                .iter()
                .map(|&t| {
                    let (i, v) = interval_from(list, from, t);
                    from = i;
                    v.filter(|v| v.is_finite()).unwrap_or(f64::NAN)
                })
                .collect()
        }))
    }

    fn connected_at(&self, t: Timestamp) -> bool {
        match upto(&self.ice, t).last() {
            Some((_, s)) => s.is_connected(),
            None => upto(&self.conn, t).last().is_some_and(|(_, s)| *s == ConnectionState::Connected),
        }
    }

    fn ever_connected_by(&self, t: Timestamp) -> bool {
        upto(&self.ice, t).iter().any(|(_, s)| s.is_connected())
            || upto(&self.conn, t).iter().any(|(_, s)| *s == ConnectionState::Connected)
    }

    fn failed_by(&self, t: Timestamp) -> bool {
        upto(&self.ice, t).iter().any(|(_, s)| *s == IceConnectionState::Failed)
            || upto(&self.conn, t).iter().any(|(_, s)| *s == ConnectionState::Failed)
    }

    fn setup_ms(&self, t: Timestamp) -> Option<f64> {
        let ice = upto(&self.ice, t);
        let connected = ice.iter().find(|(_, s)| s.is_connected()).map(|(at, _)| *at)?;
        let start = ice
            .iter()
            .find(|(_, s)| *s == IceConnectionState::Checking)
            .map(|(at, _)| *at)
            .or(self.created)?;
        (connected >= start).then(|| connected.seconds_since(start) * 1000.0)
    }

    fn path(&self, t: Timestamp) -> Option<&PathFacts> {
        upto(&self.paths, t).last().map(|(_, p)| p)
    }

    /// A metric at a tick (streams are needed for rates).
    pub fn value(&self, metric: MetricId, tick: usize, view: &View) -> Val {
        let t = view.ticks[tick];
        let field = PcField::of(metric);
        // `f` reads a stream's window.
        let sum = |f: fn(StreamRef<'_>, usize) -> Option<f64>, inbound: bool| -> Val {
            let mut total = None;
            for &s in &self.streams {
                let st = view.stream(s);
                if st.entity.attrs.inbound != inbound {
                    continue;
                }
                if let Some(v) = st.window(tick).and_then(|w| f(st, w)) {
                    total = Some(total.unwrap_or(0.0) + v);
                }
            }
            Val::num(total)
        };
        match field {
            PcField::Participant => Val::Text(self.participant_id.clone()),
            PcField::PeerConnection => Val::Text(self.id.clone()),
            PcField::Remote => Val::Text(self.remote.clone()),
            PcField::IceState => {
                upto(&self.ice, t).last().map_or(Val::Missing, |(_, s)| Val::Text(s.as_str().into()))
            }
            PcField::ConnectionState => {
                upto(&self.conn, t).last().map_or(Val::Missing, |(_, s)| Val::Text(s.as_str().into()))
            }
            PcField::Connected => Val::Bool(self.connected_at(t)),
            PcField::EverConnected => Val::Bool(self.ever_connected_by(t)),
            PcField::Failed => Val::Bool(self.failed_by(t)),
            PcField::Closed => Val::Bool(self.closed_at.is_some_and(|c| c <= t)),
            PcField::AgeMs => self
                .created
                .filter(|c| *c <= t)
                .map_or(Val::Missing, |c| Val::Num(t.seconds_since(c) * 1000.0)),
            PcField::SetupMs => Val::num(self.setup_ms(t)),
            PcField::Reconnections => {
                let ice = upto(&self.ice, t);
                Val::Num(
                    ice.windows(2)
                        .filter(|w| w[0].1 == IceConnectionState::Disconnected && w[1].1.is_connected())
                        .count() as f64,
                )
            }
            PcField::CandidateErrors => Val::Num(upto(&self.candidate_errors, t).len() as f64),
            PcField::LastCandidateError => {
                upto(&self.candidate_errors, t).last().map_or(Val::Missing, |(_, e)| Val::Text(e.clone()))
            }
            PcField::NegotiationFailures => Val::Num(upto(&self.negotiation_failures, t).len() as f64),
            PcField::LastNegotiationError => {
                upto(&self.negotiation_failures, t).last().map_or(Val::Missing, |(_, e)| Val::Text(e.clone()))
            }
            PcField::HasMedia => Val::Bool(self.has_media),
            PcField::Relay => self.path(t).map_or(Val::Missing, |p| Val::Bool(p.relay)),
            PcField::RelayProtocol => Val::text(self.path(t).and_then(|p| p.relay_protocol.as_ref())),
            PcField::LocalCandidateType => Val::text(self.path(t).and_then(|p| p.local_type.as_ref())),
            PcField::RemoteCandidateType => Val::text(self.path(t).and_then(|p| p.remote_type.as_ref())),
            PcField::NetworkType => Val::text(self.path(t).and_then(|p| p.network_type.as_ref())),
            PcField::IcePolicy => Val::text(self.ice_policy.as_ref()),
            PcField::RttMs | PcField::AvailableOutgoingKbps => {
                Val::num(self.intervals_all(metric, view).and_then(|v| v.get(tick).copied()))
            }
            PcField::SendKbps => sum(|s, w| s.active_kbps(w), false),
            PcField::ReceiveKbps => sum(|s, w| s.active_kbps(w), true),
            PcField::OutboundPacketRate => sum(|s, w| s.packet_rate_or_zero(w), false),
            PcField::InboundPacketRate => sum(|s, w| s.packet_rate_or_zero(w), true),
            _ => Val::Missing,
        }
    }
}

/// A participant.
#[derive(Debug)]
pub struct ParticipantEntity {
    /// Index in the conference.
    pub index: usize,
    /// Id.
    pub id: Arc<str>,
    /// Their peer connections (indices into [`View::pcs`]).
    pub pcs: Vec<usize>,
    /// Their streams (indices into [`View::streams`]).
    pub streams: Vec<usize>,
    /// The audio and video they receive (indices into [`View::streams`]), kept apart so
    /// `heard_*` and `seen_*` do not filter thousands of streams at every tick.
    received_audio: Vec<usize>,
    received_video: Vec<usize>,
    browser: Arc<str>,
    browser_version: Option<f64>,
    browser_age_ms: Option<f64>,
    os: Option<Arc<str>>,
    ua_disagrees: bool,
    requests: Vec<(Timestamp, ())>,
    failures: Vec<(Timestamp, Arc<str>)>,
    feedback: Vec<(Timestamp, f64)>,
    /// Heard loss, heard MOS and seen video quality at every tick, pooled on first read.
    pooled_memo: [std::sync::OnceLock<Box<[f64]>>; 3],
}

impl ParticipantEntity {
    /// Whether a metric pools what the participant received (over dozens of streams in a
    /// big call), which [`pooled_all`](Self::pooled_all) computes for every tick at once.
    fn pools_streams(&self, metric: MetricId) -> bool {
        matches!(
            ParticipantField::of(metric),
            ParticipantField::HeardMos
                | ParticipantField::HeardLossPercent
                | ParticipantField::SeenVideoQuality
        )
    }

    /// Where [`pooled_memo`](Self::pooled_memo) keeps a metric that pools streams.
    fn pool_slot(metric: MetricId) -> usize {
        match ParticipantField::of(metric) {
            ParticipantField::HeardLossPercent => 0,
            ParticipantField::HeardMos => 1,
            _ => 2,
        }
    }

    /// A pooled metric at every tick (NaN where unknown), from the memo: the same sums as
    /// [`value_computed`](Self::value_computed) in the same order, but stream by stream
    /// (see [`pool`](Self::pool)), worked out once per view and shared by every rule, script
    /// and plugin that reads it.
    fn pooled_all(&self, metric: MetricId, view: &View) -> &[f64] {
        self.pooled_memo[Self::pool_slot(metric)].get_or_init(|| self.pool(metric, view))
    }

    /// A pooled metric at every tick (NaN where unknown), stream by stream, so the scan
    /// reads each stream's numbers in one run instead of hopping between streams at every
    /// tick.
    fn pool(&self, metric: MetricId, view: &View) -> Box<[f64]> {
        let n = view.ticks.len();
        let (streams, a, b) = match ParticipantField::of(metric) {
            ParticipantField::HeardLossPercent => (&self.received_audio, Col::Lost, Some(Col::Received)),
            ParticipantField::HeardMos => (&self.received_audio, Col::Mos, None),
            _ => (&self.received_video, Col::VideoQuality, None),
        };
        // (sum of a, sum of b or count) per tick, each stream's columns looked up once.
        let mut sums = vec![(0.0f64, 0.0f64); n];
        let finite = |column: &[f64], w: u32| column.get(w as usize).copied().filter(|v| v.is_finite());
        for &s in streams {
            let st = view.stream(s);
            let Some(xs) = st.column(a) else { continue };
            let ys = match b.map(|b| st.column(b)) {
                Some(Some(ys)) => Some(ys),
                Some(None) => continue,
                None => None,
            };
            for (sum, &w) in sums.iter_mut().zip(st.tick_window) {
                let Some(x) = finite(xs, w) else { continue };
                match ys {
                    Some(ys) => {
                        if let Some(y) = finite(ys, w) {
                            sum.0 += x;
                            sum.1 += x + y;
                        }
                    }
                    None => {
                        sum.0 += x;
                        sum.1 += 1.0;
                    }
                }
            }
        }
        sums.into_iter()
            .map(|(x, y)| {
                let v = match b {
                    Some(_) => (y > 0.0).then(|| 100.0 * x / y),
                    None => (y > 0.0).then(|| x / y),
                };
                v.filter(|v| v.is_finite()).unwrap_or(f64::NAN)
            })
            .collect()
    }

    /// A metric at a tick; metrics pooled over received streams come from the
    /// participant's memo, so rules reading them tick by tick fill it for every reader
    /// after them.
    pub fn value(&self, metric: MetricId, tick: usize, view: &View) -> Val {
        if self.pools_streams(metric) {
            return Val::num(self.pooled_all(metric, view).get(tick).copied());
        }
        self.value_computed(metric, tick, view)
    }

    /// A metric at a tick worked out from the streams' windows, without the memo: what
    /// the memo is tested against.
    fn value_computed(&self, metric: MetricId, tick: usize, view: &View) -> Val {
        let t = view.ticks[tick];
        let field = ParticipantField::of(metric);
        let media_pcs = || self.pcs.iter().map(|&i| &view.pcs[i]).filter(|pc| pc.has_media);
        let received = |kind: &'static str| {
            let streams = if kind == "audio" { &self.received_audio } else { &self.received_video };
            streams.iter().filter_map(move |&s| {
                let st = view.stream(s);
                st.window(tick).map(|w| (st, w))
            })
        };
        let mean = |values: &mut dyn Iterator<Item = f64>| {
            let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
            (n > 0).then(|| sum / n as f64)
        };
        match field {
            ParticipantField::Participant => Val::Text(self.id.clone()),
            ParticipantField::Browser => Val::Text(self.browser.clone()),
            ParticipantField::BrowserVersion => Val::num(self.browser_version),
            ParticipantField::BrowserAge => Val::num(self.browser_age_ms),
            ParticipantField::Os => Val::text(self.os.as_ref()),
            ParticipantField::UserAgentDisagrees => Val::Bool(self.ua_disagrees),
            ParticipantField::MediaRequests => Val::Num(upto(&self.requests, t).len() as f64),
            ParticipantField::MediaFailures => Val::Num(upto(&self.failures, t).len() as f64),
            ParticipantField::LastMediaError => {
                upto(&self.failures, t).last().map_or(Val::Missing, |(_, e)| Val::Text(e.clone()))
            }
            ParticipantField::MediaConnections => Val::Num(media_pcs().count() as f64),
            ParticipantField::ConnectedMediaConnections => {
                Val::Num(media_pcs().filter(|pc| pc.connected_at(t)).count() as f64)
            }
            ParticipantField::HeardMos => {
                Val::num(mean(&mut received("audio").filter_map(|(s, w)| s.number(Col::Mos, w))))
            }
            ParticipantField::HeardLossPercent => {
                let (mut lost, mut total) = (0.0, 0.0);
                for (s, w) in received("audio") {
                    if let (Some(l), Some(r)) = (s.number(Col::Lost, w), s.number(Col::Received, w)) {
                        lost += l;
                        total += l + r;
                    }
                }
                if total > 0.0 { Val::Num(100.0 * lost / total) } else { Val::Missing }
            }
            ParticipantField::SeenVideoQuality => {
                Val::num(mean(&mut received("video").filter_map(|(s, w)| s.number(Col::VideoQuality, w))))
            }
            ParticipantField::FeedbackRating => {
                upto(&self.feedback, t).last().map_or(Val::Missing, |(_, r)| Val::Num(*r))
            }
            _ => Val::Missing,
        }
    }
}

/// A directed link of the path graph.
#[derive(Debug)]
pub struct HopEntity {
    /// `from → to` labels.
    pub label: Arc<str>,
    from: Arc<str>,
    to: Arc<str>,
    from_kind: Arc<str>,
    to_kind: Arc<str>,
    /// Hop keys, for evidence.
    pub keys: (String, String),
    series: Vec<Vec<PathWindow>>,
}

impl HopEntity {
    /// A metric at a tick.
    pub fn value(&self, metric: MetricId, tick: usize, view: &View) -> Val {
        let t = view.ticks[tick];
        let field = HopField::of(metric);
        let covering = || {
            self.series.iter().filter_map(move |ws| {
                let i = ws.partition_point(|w| w.end < t);
                ws.get(i).filter(|w| w.start < t && t <= w.end)
            })
        };
        let worst = |f: fn(&PathWindow) -> Option<f64>| Val::num(covering().filter_map(f).reduce(f64::max));
        let read = Self::route_reading(field);
        match field {
            HopField::Hop => Val::Text(self.label.clone()),
            HopField::From => Val::Text(self.from.clone()),
            HopField::To => Val::Text(self.to.clone()),
            HopField::FromKind => Val::Text(self.from_kind.clone()),
            HopField::ToKind => Val::Text(self.to_kind.clone()),
            HopField::Routes => Val::Num(covering().count() as f64),
            HopField::LossPercent | HopField::JitterMs => read.map_or(Val::Missing, worst),
            HopField::RttMs | HopField::BitrateKbps => {
                let Some(read) = read else { return Val::Missing };
                let v: Vec<f64> = covering().filter_map(read).collect();
                let sum = v.iter().sum::<f64>();
                let pooled = if field == HopField::RttMs { sum / v.len() as f64 } else { sum / 1000.0 };
                Val::num((!v.is_empty()).then_some(pooled))
            }
            _ => Val::Missing,
        }
    }

    /// What one route's window says of a numeric metric pooled over routes (the worst
    /// loss or jitter, the mean RTT, the summed bitrate), for [`value`](Self::value) and
    /// [`pooled`](Self::pooled) alike; every covering window counts as one route.
    fn route_reading(field: HopField) -> Option<fn(&PathWindow) -> Option<f64>> {
        Some(match field {
            HopField::Routes => |_| Some(1.0),
            HopField::LossPercent => |w| w.loss_fraction.map(|f| f * 100.0),
            HopField::JitterMs => |w| w.jitter_ms,
            HopField::RttMs => |w| w.rtt_ms,
            HopField::BitrateKbps => |w| w.bitrate_bps,
            _ => return None,
        })
    }
    /// A numeric metric at ticks `first..=last`, the same values as [`value`](Self::value)
    /// (same routes, same order, so the same sums) but route by route: each route's
    /// windows are walked once alongside the ticks instead of searched at every tick, and
    /// a hop of a big SFU call carries dozens of routes. `None` for metrics that are not
    /// numbers pooled over routes.
    fn pooled(&self, metric: MetricId, first: usize, last: usize, view: &View) -> Option<Vec<(usize, f64)>> {
        let field = HopField::of(metric);
        let read = Self::route_reading(field)?;
        let last = last.min(view.ticks.len().checked_sub(1)?);
        if first > last {
            return Some(Vec::new());
        }
        // Per tick: (max, sum, count) over the covering routes' values.
        let mut acc = vec![(f64::NAN, 0.0f64, 0usize); last - first + 1];
        for ws in &self.series {
            let mut i = 0;
            for (k, a) in acc.iter_mut().enumerate() {
                let t = view.ticks[first + k];
                while i < ws.len() && ws[i].end < t {
                    i += 1;
                }
                let Some(w) = ws.get(i).filter(|w| w.start < t && t <= w.end) else { continue };
                if let Some(v) = read(w) {
                    a.0 = if a.2 == 0 { v } else { a.0.max(v) };
                    a.1 += v;
                    a.2 += 1;
                }
            }
        }
        let out = acc.into_iter().enumerate().filter(|(_, (_, _, n))| *n > 0 || field == HopField::Routes);
        Some(
            out.filter_map(|(k, (max, sum, n))| {
                let v = match field {
                    HopField::Routes => n as f64,
                    HopField::LossPercent | HopField::JitterMs => max,
                    HopField::RttMs => sum / n as f64,
                    _ => sum / 1000.0,
                };
                Some((first + k, v)).filter(|(_, v)| v.is_finite())
            })
            .collect(),
        )
    }
}

/// The conference as a whole.
#[derive(Debug)]
pub struct ConferenceEntity {
    id: Arc<str>,
    topology: Arc<str>,
    outcome: Arc<str>,
    failed_participants: usize,
}

impl ConferenceEntity {
    /// A metric at a tick.
    pub fn value(&self, metric: MetricId, tick: usize, view: &View) -> Val {
        let t = view.ticks[tick];
        let last = tick + 1 == view.ticks.len();
        let field = ConferenceField::of(metric);
        match field {
            ConferenceField::Conference => Val::Text(self.id.clone()),
            ConferenceField::Topology => Val::Text(self.topology.clone()),
            ConferenceField::Participants => Val::Num(view.participants.len() as f64),
            ConferenceField::ConnectedParticipants => Val::Num(
                view.participants
                    .iter()
                    .filter(|p| p.pcs.iter().any(|&i| view.pcs[i].has_media && view.pcs[i].connected_at(t)))
                    .count() as f64,
            ),
            ConferenceField::FailedParticipants if last => Val::Num(self.failed_participants as f64),
            ConferenceField::ElapsedMs => Val::Num(t.seconds_since(view.ticks[0]) * 1000.0),
            ConferenceField::Ended => Val::Bool(last),
            ConferenceField::Outcome if last => Val::Text(self.outcome.clone()),
            _ => Val::Missing,
        }
    }
}

/// The whole view.
#[derive(Debug)]
pub struct View {
    /// Conference id.
    pub conference: Arc<str>,
    /// The grid.
    pub ticks: Vec<Timestamp>,
    /// Grid step, ms.
    pub step_ms: f64,
    /// Streams.
    pub streams: Vec<StreamEntity>,
    /// Peer connections.
    pub pcs: Vec<PcEntity>,
    /// Participants.
    pub participants: Vec<ParticipantEntity>,
    /// Directed links.
    pub hops: Vec<HopEntity>,
    /// The conference.
    pub conf: ConferenceEntity,
    /// Every stream's numbers.
    numbers: StreamNumbers,
    /// Each tick's time in RFC 3339, written on first read: every finding quotes a few.
    tick_times: std::sync::OnceLock<Box<[Box<str>]>>,
    /// Each stream's direction and kind, two bytes a stream: picking one way and kind out
    /// of a 5000-stream call reads these rather than every stream's attributes.
    flows: Vec<(bool, Option<MediaKind>)>,
}

/// One entity of some scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntityRef {
    /// A stream.
    Stream(usize),
    /// A peer connection.
    Pc(usize),
    /// A participant.
    Participant(usize),
    /// A hop.
    Hop(usize),
    /// The conference.
    Conference,
}

impl View {
    /// Builds the view of a conference, scoring quality with `quality`.
    pub fn build(conference: &Conference, quality: &QualityConfig) -> View {
        let scores = hopscope_score::score_conference(conference, quality);
        Self::build_with(conference, &scores)
    }

    /// Builds the view from quality already computed.
    pub fn build_with(conference: &Conference, scores: &ConferenceQuality) -> View {
        let (start, end) = conference.time_range().unwrap_or_default();
        let typical = conference
            .participants
            .iter()
            .flat_map(|p| &p.peer_connections)
            .filter_map(|pc| typical_interval_s(pc.stats_times.iter().copied()))
            .reduce(f64::min)
            .map_or(MIN_STEP_MS, |s| (s * 1000.0).clamp(MIN_STEP_MS, MAX_STEP_MS));
        let span_ms = end.seconds_since(start).max(0.0) * 1000.0;
        let step_ms = typical.max(span_ms / MAX_TICKS as f64);
        let count = (span_ms / step_ms).floor() as usize + 1;
        let mut ticks: Vec<Timestamp> = (0..count).map(|k| start.plus_ms(k as f64 * step_ms)).collect();
        if ticks.last().is_some_and(|t| *t < end) {
            ticks.push(end);
        }
        let numbers = StreamNumbers::new(ticks.len());
        let mut view = View {
            conference: conference.id.as_str().into(),
            ticks,
            step_ms,
            streams: Vec::new(),
            pcs: Vec::new(),
            participants: Vec::new(),
            hops: Vec::new(),
            numbers,
            tick_times: std::sync::OnceLock::new(),
            flows: Vec::new(),
            conf: ConferenceEntity {
                id: conference.id.as_str().into(),
                topology: topology(conference).into(),
                outcome: outcome(conference).into(),
                failed_participants: {
                    let end = conference.time_range().map_or(Timestamp::default(), |(_, e)| e);
                    conference.participants.iter().filter(|p| participant_failed(p, end)).count()
                },
            },
        };
        // A lookup, not a scan per stream: a 50-person call has thousands of streams.
        let quality_of: std::collections::HashMap<(&str, &str, &str), _> = scores
            .streams
            .iter()
            .map(|q| ((q.participant.as_str(), q.peer_connection.as_str(), q.stats_id.as_str()), q))
            .collect();
        let mut strings = Interner::default();
        for (pi, p) in conference.participants.iter().enumerate() {
            let mut entity = participant_entity(pi, p);
            for (ci, pc) in p.peer_connections.iter().enumerate() {
                let pc_index = view.pcs.len();
                let mut pce = pc_entity(pi, ci, p, pc);
                for s in &pc.inbound {
                    let quality =
                        quality_of.get(&(p.id.as_str(), pc.id.as_str(), s.info.stats_id.as_str())).copied();
                    let st = inbound_entity(
                        pi,
                        pc_index,
                        p,
                        pc,
                        s,
                        quality,
                        conference,
                        &view.ticks,
                        &mut view.numbers,
                        &mut strings,
                    );
                    match st.attrs.kind.as_deref() {
                        Some("audio") => entity.received_audio.push(view.streams.len()),
                        Some("video") => entity.received_video.push(view.streams.len()),
                        _ => {}
                    }
                    pce.streams.push(view.streams.len());
                    entity.streams.push(view.streams.len());
                    view.streams.push(st);
                }
                for s in &pc.outbound {
                    let st =
                        outbound_entity(pi, pc_index, p, pc, s, &view.ticks, &mut view.numbers, &mut strings);
                    pce.streams.push(view.streams.len());
                    entity.streams.push(view.streams.len());
                    view.streams.push(st);
                }
                entity.pcs.push(pc_index);
                view.pcs.push(pce);
            }
            view.participants.push(entity);
        }
        // `stream(i)` slices the tick windows by position: one run of ticks per stream, in order.
        debug_assert_eq!(view.numbers.tick_window.len(), view.streams.len() * view.ticks.len());
        // Senders as indices too, resolved once here rather than by every reader.
        let index_of: std::collections::HashMap<&str, usize> =
            view.participants.iter().enumerate().map(|(i, p)| (&*p.id, i)).collect();
        for st in &mut view.streams {
            st.attrs.sender_index = st.attrs.sender.as_deref().and_then(|id| index_of.get(id).copied());
        }
        view.flows = view.streams.iter().map(|s| (s.attrs.inbound, s.attrs.media)).collect();
        let graph = PathGraph::build(conference);
        for link in graph.links() {
            let (Some(a), Some(b)) = (graph.hop(link.from), graph.hop(link.to)) else { continue };
            let series: Vec<Vec<PathWindow>> =
                graph.link_series(link.from, link.to).iter().map(|s| s.windows.to_vec()).collect();
            view.hops.push(HopEntity {
                label: format!("{} → {}", a.label, b.label).into(),
                from: a.label.as_str().into(),
                to: b.label.as_str().into(),
                from_kind: a.kind.as_str().into(),
                to_kind: b.kind.as_str().into(),
                keys: (a.key.clone(), b.key.clone()),
                series,
            });
        }
        view
    }

    /// Stream `i` with its numbers.
    #[inline]
    fn stream(&self, i: usize) -> StreamRef<'_> {
        let ticks = self.numbers.ticks;
        StreamRef {
            entity: &self.streams[i],
            tick_window: self.numbers.tick_window.get(i * ticks..(i + 1) * ticks).unwrap_or_default(),
            numbers: &self.numbers,
        }
    }

    /// A stream metric at every tick as numbers, appended to `out`: NaN where missing or not
    /// a number, yes/no as 1 and 0 (the columnar form plugins receive).
    pub fn stream_numbers_into(&self, stream: usize, metric: MetricId, out: &mut Vec<f64>) {
        self.stream(stream).numbers_into(metric, out);
    }

    /// The lowest and highest finite number a stream metric has over the grid, as
    /// [`stream_numbers_into`](Self::stream_numbers_into) gives them (yes/no as 1 and 0).
    pub fn stream_range(&self, stream: usize, metric: MetricId) -> Option<(f64, f64)> {
        self.stream(stream).range(metric)
    }

    /// The entities of a scope, in model order.
    pub fn entities(&self, scope: Scope) -> Vec<EntityRef> {
        match scope {
            Scope::Stream => (0..self.streams.len()).map(EntityRef::Stream).collect(),
            Scope::PeerConnection => (0..self.pcs.len()).map(EntityRef::Pc).collect(),
            Scope::Participant => (0..self.participants.len()).map(EntityRef::Participant).collect(),
            Scope::Hop => (0..self.hops.len()).map(EntityRef::Hop).collect(),
            Scope::Conference => vec![EntityRef::Conference],
        }
    }

    /// The streams of `parent` (the conference, a participant or a connection) received
    /// (`inbound`) or sent, of one kind when `media` says which.
    pub fn streams_flowing(&self, parent: EntityRef, inbound: bool, media: Option<MediaKind>) -> Vec<usize> {
        let wanted = |i: usize| {
            self.flows
                .get(i)
                .is_some_and(|&(way, kind)| way == inbound && media.is_none_or(|m| kind == Some(m)))
        };
        match parent {
            EntityRef::Conference => (0..self.streams.len()).filter(|&i| wanted(i)).collect(),
            EntityRef::Participant(p) => {
                self.participants[p].streams.iter().copied().filter(|&i| wanted(i)).collect()
            }
            EntityRef::Pc(c) => self.pcs[c].streams.iter().copied().filter(|&i| wanted(i)).collect(),
            EntityRef::Stream(_) | EntityRef::Hop(_) => Vec::new(),
        }
    }

    /// Children of an entity in a collection scope.
    pub fn children(&self, parent: EntityRef, scope: Scope) -> Vec<EntityRef> {
        match (parent, scope) {
            (EntityRef::Conference, s) => self.entities(s),
            (EntityRef::Participant(p), Scope::PeerConnection) => {
                self.participants[p].pcs.iter().map(|&i| EntityRef::Pc(i)).collect()
            }
            (EntityRef::Participant(p), Scope::Stream) => {
                self.participants[p].streams.iter().map(|&i| EntityRef::Stream(i)).collect()
            }
            (EntityRef::Pc(c), Scope::Stream) => {
                self.pcs[c].streams.iter().map(|&i| EntityRef::Stream(i)).collect()
            }
            _ => Vec::new(),
        }
    }

    /// Calls `f` with each number a metric of an entity has over ticks `first..=last`.
    pub fn each_number(
        &self,
        entity: EntityRef,
        metric: MetricId,
        first: usize,
        last: usize,
        mut f: impl FnMut(f64),
    ) {
        self.each_number_at(entity, metric, first, last, |_, v| f(v));
    }

    /// Like [`each_number`](Self::each_number), with the tick of each number.
    pub fn each_number_at(
        &self,
        entity: EntityRef,
        metric: MetricId,
        first: usize,
        last: usize,
        mut f: impl FnMut(usize, f64),
    ) {
        match entity {
            EntityRef::Stream(i) => self.stream(i).each_number_at(metric, first, last, f),
            // Participants' pooled metrics and connections' interval metrics: from the memo.
            EntityRef::Participant(i) if self.participants[i].pools_streams(metric) => {
                each_known(self.participants[i].pooled_all(metric, self), first, last, f);
            }
            EntityRef::Hop(i) if let Some(values) = self.hops[i].pooled(metric, first, last, self) => {
                for (tick, v) in values {
                    f(tick, v);
                }
            }
            EntityRef::Pc(i) if let Some(values) = self.pcs[i].intervals_all(metric, self) => {
                each_known(values, first, last, f);
            }
            _ => {
                for tick in first..=last.min(self.ticks.len().saturating_sub(1)) {
                    if let Val::Num(v) = self.value(entity, metric, tick) {
                        f(tick, v);
                    }
                }
            }
        }
    }

    /// Drops what reads worked out and kept (each participant's pooled series, each
    /// connection's RTT and bandwidth estimate per tick, the ticks' times), so that a
    /// benchmark repeating evaluations on one view pays for them on every run, as each
    /// evaluation of a fresh view does.
    pub fn forget_memos(&mut self) {
        for p in &mut self.participants {
            for memo in &mut p.pooled_memo {
                memo.take();
            }
        }
        for pc in &mut self.pcs {
            for memo in &mut pc.interval_memo {
                memo.take();
            }
        }
        self.tick_times.take();
    }

    /// [`extreme`](Self::extreme) of a stream metric for many streams at once, each with its
    /// answer: the metric and its column are resolved once rather than per stream, which
    /// is most of the cost of a scan over the 5000 streams of a 50-person call.
    pub fn each_stream_extreme(
        &self,
        streams: impl IntoIterator<Item = usize>,
        metric: MetricId,
        highest: bool,
        mut f: impl FnMut(usize, Option<f64>),
    ) {
        let column = Col::of(StreamField::of(metric));
        for i in streams {
            let v = (i < self.streams.len())
                .then(|| self.stream(i).extreme_in(column, metric, highest))
                .flatten();
            f(i, v);
        }
    }

    /// The highest (or lowest) number of a metric of an entity over the whole call, the
    /// same as folding [`each_number_at`](Self::each_number_at) over every tick; a stream's
    /// comes from one scan of its adjacent windows.
    pub fn extreme(&self, entity: EntityRef, metric: MetricId, highest: bool) -> Option<f64> {
        if let EntityRef::Stream(i) = entity {
            return self.stream(i).extreme(metric, highest);
        }
        let last = self.ticks.len().checked_sub(1)?;
        let mut best = None;
        self.each_number_at(entity, metric, 0, last, |_, v| keep_extreme(&mut best, v, highest));
        best
    }

    /// The time of tick `t` in RFC 3339 (`2024-05-01T10:00:02.000Z`), as findings quote it.
    ///
    /// # Panics
    /// When `t` is not a tick of the grid, as indexing `ticks` would.
    pub fn tick_time(&self, t: usize) -> &str {
        &self.tick_times.get_or_init(|| self.ticks.iter().map(|t| t.to_rfc3339().into()).collect())[t]
    }

    /// [`value`](Self::value) worked out from the windows at that tick, past every memo (a
    /// participant's metrics pooled over streams, a connection's RTT and bandwidth
    /// estimate): what the memos are tested against.
    pub fn value_computed(&self, entity: EntityRef, metric: MetricId, tick: usize) -> Val {
        match entity {
            EntityRef::Participant(i) => self.participants[i].value_computed(metric, tick, self),
            EntityRef::Pc(i) if let Some((list, _)) = self.pcs[i].interval_list(metric) => {
                Val::num(interval_at(list, self.ticks[tick]))
            }
            _ => self.value(entity, metric, tick),
        }
    }

    /// A metric of an entity at a tick.
    #[inline]
    pub fn value(&self, entity: EntityRef, metric: MetricId, tick: usize) -> Val {
        match entity {
            EntityRef::Stream(i) => self.stream(i).value(metric, tick),
            EntityRef::Pc(i) => self.pcs[i].value(metric, tick, self),
            EntityRef::Participant(i) => self.participants[i].value(metric, tick, self),
            EntityRef::Hop(i) => self.hops[i].value(metric, tick, self),
            EntityRef::Conference => self.conf.value(metric, tick, self),
        }
    }
}

fn arc(s: &str) -> Arc<str> {
    Arc::from(s)
}

/// One shared copy of each string the streams repeat (participant and connection ids,
/// directions, kinds, codecs): a 50-person call has 5000 streams but a few dozen distinct
/// values, so this saves thousands of allocations, and readers may compare by pointer.
#[derive(Default)]
struct Interner(std::collections::HashSet<Arc<str>>);

impl Interner {
    fn get(&mut self, s: &str) -> Arc<str> {
        if let Some(shared) = self.0.get(s) {
            return shared.clone();
        }
        let shared = arc(s);
        self.0.insert(shared.clone());
        shared
    }
}

fn participant_entity(index: usize, p: &Participant) -> ParticipantEntity {
    let c = &p.client;
    let browser = c.inferred_family.map(|f| f.as_str()).unwrap_or("unknown");
    // Trust the User-Agent's version only when it names the family the stats show.
    let browser_version = match (c.user_agent_browser, c.inferred_family) {
        (Some((ua, Some(v))), Some(inf)) if ua == inf => Some(f64::from(v)),
        (Some((_, Some(v))), None) => Some(f64::from(v)),
        _ => None,
    };
    let mut requests = Vec::new();
    let mut failures = Vec::new();
    let mut feedback = Vec::new();
    for e in &p.events {
        match &e.kind {
            EventKind::MediaRequest { outcome: Outcome::Started, .. } => requests.push((e.at, ())),
            EventKind::MediaRequest { source, outcome: Outcome::Failed(why), .. } => {
                let what = match source {
                    MediaRequestSource::UserMedia => "getUserMedia",
                    MediaRequestSource::DisplayMedia => "getDisplayMedia",
                };
                failures.push((e.at, arc(&format!("{what}: {why}"))));
            }
            EventKind::Feedback { rating, .. } => feedback.push((e.at, f64::from(*rating))),
            _ => {}
        }
    }
    ParticipantEntity {
        index,
        id: arc(p.id.as_str()),
        pcs: Vec::new(),
        streams: Vec::new(),
        received_audio: Vec::new(),
        received_video: Vec::new(),
        browser: arc(browser),
        browser_version,
        browser_age_ms: match (c.inferred_family, browser_version, p.time_range()) {
            (Some(family), Some(v), Some((start, _))) => {
                crate::browsers::release(family, v as u32).map(|r| start.seconds_since(r).max(0.0) * 1000.0)
            }
            _ => None,
        },
        os: c.os.as_deref().map(arc),
        ua_disagrees: c.user_agent_disagrees(),
        requests,
        failures,
        feedback,
        pooled_memo: Default::default(),
    }
}

fn pc_entity(pi: usize, ci: usize, p: &Participant, pc: &PeerConnection) -> PcEntity {
    let events: &[Event] = &pc.events;
    let candidate_errors = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::IceCandidateError(_)))
        .map(|e| (e.at, arc(e.kind.describe().trim_start_matches("ICE candidate error ").trim())))
        .collect();
    let negotiation_failures = events
        .iter()
        .filter(|e| matches!(&e.kind, EventKind::Negotiation { outcome: Outcome::Failed(_), .. }))
        .map(|e| (e.at, arc(&e.kind.describe())))
        .collect();
    let has_media = !pc.inbound.is_empty()
        || !pc.outbound.is_empty()
        || events.iter().any(|e| matches!(e.kind, EventKind::TrackAdded(_)));
    let paths = pc
        .selected_pairs
        .iter()
        .map(|c| {
            let pair = pc.candidate_pair(&c.pair_stats_id);
            let local: Option<&IceCandidate> =
                pair.and_then(|p| p.local_candidate_id.as_deref()).and_then(|id| pc.candidate(id));
            let remote: Option<&IceCandidate> =
                pair.and_then(|p| p.remote_candidate_id.as_deref()).and_then(|id| pc.candidate(id));
            let relay = local.is_some_and(IceCandidate::is_relayed);
            (
                c.at,
                PathFacts {
                    relay,
                    relay_protocol: local
                        .filter(|_| relay)
                        .and_then(|l| l.relay_transport())
                        .map(|p| arc(p.as_str())),
                    local_type: local.and_then(|l| l.candidate_type).map(|t| arc(t.as_str())),
                    remote_type: remote.and_then(|l| l.candidate_type).map(|t| arc(t.as_str())),
                    network_type: local.and_then(|l| l.network_type_raw.as_deref()).map(arc),
                },
            )
        })
        .collect();
    // RTT: ICE where reported, RTCP otherwise; as (start, end, ms) intervals.
    let mut rtt: Vec<(Timestamp, Timestamp, f64)> = pc
        .candidate_pairs
        .iter()
        .filter(|cp| pc.selected_pairs.iter().any(|s| s.pair_stats_id == cp.stats_id))
        .flat_map(|cp| cp.intervals())
        .filter_map(|i| Some((i.start, i.end, i.rtt_ms?)))
        .collect();
    if rtt.is_empty() {
        rtt = pc
            .remote_inbound
            .iter()
            .flat_map(|s| s.intervals())
            .filter_map(|i| Some((i.start, i.end, i.rtt_ms?)))
            .collect();
    }
    rtt.sort_by_key(|a| a.1);
    let mut available: Vec<(Timestamp, Timestamp, f64)> = pc
        .candidate_pairs
        .iter()
        .filter(|cp| pc.selected_pairs.iter().any(|s| s.pair_stats_id == cp.stats_id))
        .flat_map(|cp| cp.intervals())
        .filter_map(|i| Some((i.start, i.end, i.available_outgoing_bitrate_bps? / 1000.0)))
        .collect();
    available.extend(
        pc.bandwidth
            .windows(2)
            .filter_map(|w| Some((w[0].at, w[1].at, w[1].available_send_bps.get()? / 1000.0))),
    );
    available.sort_by_key(|a| a.1);
    PcEntity {
        participant: pi,
        index: ci,
        participant_id: arc(p.id.as_str()),
        id: arc(pc.id.as_str()),
        streams: Vec::new(),
        remote: arc(pc.remote_kind.as_str()),
        ice_policy: pc.configuration.as_ref().and_then(|c| c.ice_transport_policy.as_deref()).map(arc),
        has_media,
        created: pc
            .events
            .iter()
            .find(|e| e.kind == EventKind::Created)
            .map(|e| e.at)
            .or_else(|| pc.time_range().map(|(a, _)| a)),
        ice: pc.ice_states().collect(),
        conn: pc.connection_states().collect(),
        closed_at: events.iter().find(|e| e.kind == EventKind::Closed).map(|e| e.at),
        candidate_errors,
        negotiation_failures,
        paths,
        rtt,
        available,
        interval_memo: Default::default(),
    }
}

fn attrs(
    p: &Participant,
    pc: &PeerConnection,
    info: &hopscope_model::stats::StreamInfo,
    direction: &str,
    strings: &mut Interner,
) -> StreamAttrs {
    StreamAttrs {
        participant: strings.get(p.id.as_str()),
        peer_connection: strings.get(pc.id.as_str()),
        direction: strings.get(direction),
        kind: info.kind.map(|k| strings.get(k.as_str())),
        inbound: direction == "inbound",
        media: info.kind,
        codec: info.codec.as_deref().map(|c| strings.get(c)),
        sender: None,
        sender_index: None,
        screenshare: info.is_screenshare,
        ssrc: info.ssrc,
        stats_id: info.stats_id.clone(),
    }
}

#[allow(clippy::too_many_arguments, reason = "the stream's coordinates in the conference")]
fn inbound_entity(
    pi: usize,
    pc_index: usize,
    p: &Participant,
    pc: &PeerConnection,
    s: &hopscope_model::stats::InboundRtpStream,
    quality: Option<&hopscope_score::StreamQuality>,
    conference: &Conference,
    ticks: &[Timestamp],
    numbers: &mut StreamNumbers,
    strings: &mut Interner,
) -> StreamEntity {
    let mut a = attrs(p, pc, &s.info, "inbound", strings);
    a.sender = quality.and_then(|q| q.sender.as_deref()).map(arc).or_else(|| {
        let ssrc = s.info.ssrc?;
        conference
            .participants
            .iter()
            .filter(|q| q.id != p.id)
            .find(|q| q.peer_connections.iter().any(|c| c.outbound.iter().any(|o| o.info.ssrc == Some(ssrc))))
            .map(|q| arc(q.id.as_str()))
    });
    let rtt: Vec<(Timestamp, Timestamp, f64)> = {
        let mut v: Vec<_> = pc
            .remote_inbound
            .iter()
            .flat_map(|r| r.intervals())
            .filter_map(|i| Some((i.start, i.end, i.rtt_ms?)))
            .collect();
        v.sort_by_key(|x| x.1);
        v
    };
    let intervals = s.intervals();
    // Quality windows were computed for the non-reset intervals, in order.
    let mut scored = quality.map(|q| match &q.windows {
        StreamWindows::Audio { windows } => windows.iter().map(QualityCell::from_audio).collect::<Vec<_>>(),
        StreamWindows::Video { windows } => windows.iter().map(QualityCell::from_video).collect::<Vec<_>>(),
    });
    let mut next_score = 0usize;
    let windows: Vec<StreamWindow> = intervals
        .iter()
        .map(|i: &InboundInterval| {
            let q = if i.reset {
                None
            } else {
                let cell = scored.as_mut().and_then(|s| s.get(next_score).cloned());
                next_score += 1;
                cell
            };
            let d = i.duration_s();
            StreamWindow {
                start: i.start,
                end: i.end,
                active: i.active,
                loss_percent: i.loss_fraction.map(|f| f * 100.0),
                media_loss_percent: i.media_loss_fraction.map(|f| f * 100.0),
                jitter_ms: i.jitter_ms,
                rtt_ms: interval_at(&rtt, i.end),
                bitrate_kbps: i.bitrate_bps.map(|b| b / 1000.0),
                packet_rate: i.packet_rate,
                fps: i.fps,
                frame_width: i.frame_width,
                frame_height: i.frame_height,
                freezes: i.freezes,
                frozen_percent: i.freeze_duration_s.filter(|_| d > 0.0).map(|f| (100.0 * f / d).min(100.0)),
                concealment_percent: i.concealment_ratio.map(|r| r * 100.0),
                jitter_buffer_ms: i.jitter_buffer_delay_ms,
                nacks: i.nacks,
                plis: i.plis,
                frames_dropped: i.frames_dropped,
                audio_level: i.mean_audio_level.or(i.audio_level),
                lost: i.packets_lost,
                received: i.packets_received,
                mos: q.as_ref().and_then(|q| q.mos),
                r_factor: q.as_ref().and_then(|q| q.r),
                video_quality: q.as_ref().and_then(|q| q.video),
                quality_label: q.as_ref().and_then(|q| q.label.clone()),
                quality_excluded: q.as_ref().map(|q| q.excluded),
                ..StreamWindow::default()
            }
        })
        .collect();
    StreamEntity::new(numbers, pi, pc_index, a, &windows, ticks)
}

#[allow(clippy::too_many_arguments, reason = "the stream's coordinates in the conference")]
fn outbound_entity(
    pi: usize,
    pc_index: usize,
    p: &Participant,
    pc: &PeerConnection,
    s: &hopscope_model::stats::OutboundRtpStream,
    ticks: &[Timestamp],
    numbers: &mut StreamNumbers,
    strings: &mut Interner,
) -> StreamEntity {
    let a = attrs(p, pc, &s.info, "outbound", strings);
    // What the receiver reported back about this SSRC.
    let reports: Vec<&RemoteInboundInterval> = pc
        .remote_inbound
        .iter()
        .filter(|r| r.info.ssrc.is_some() && r.info.ssrc == s.info.ssrc)
        .flat_map(|r| r.intervals())
        .collect();
    let report_at = |t: Timestamp| -> Option<&RemoteInboundInterval> {
        let i = reports.partition_point(|r| r.end <= t);
        i.checked_sub(1).map(|j| reports[j]).filter(|r| t.seconds_since(r.end) < 15.0)
    };
    let windows: Vec<StreamWindow> = s
        .intervals()
        .iter()
        .map(|i: &OutboundInterval| {
            let r = report_at(i.end);
            StreamWindow {
                start: i.start,
                end: i.end,
                active: i.active,
                loss_percent: r.and_then(|r| r.loss_fraction).map(|f| f * 100.0),
                jitter_ms: r.and_then(|r| r.jitter_ms),
                rtt_ms: r.and_then(|r| r.rtt_ms),
                bitrate_kbps: i.bitrate_bps.map(|b| b / 1000.0),
                packet_rate: i.packet_rate,
                fps: i.fps,
                frame_width: i.frame_width,
                frame_height: i.frame_height,
                nacks: i.nacks,
                plis: i.plis,
                cpu_limited_percent: i.cpu_limited_share.map(|s| s * 100.0),
                bandwidth_limited_percent: i.bandwidth_limited_share.map(|s| s * 100.0),
                quality_limitation: i.quality_limitation.map(|q| arc(q.as_str())),
                retransmit_percent: i.retransmit_fraction.map(|f| f * 100.0),
                target_bitrate_kbps: i.target_bitrate_bps.map(|b| b / 1000.0),
                ..StreamWindow::default()
            }
        })
        .collect();
    StreamEntity::new(numbers, pi, pc_index, a, &windows, ticks)
}

#[derive(Clone, Debug)]
struct QualityCell {
    mos: Option<f64>,
    r: Option<f64>,
    video: Option<f64>,
    label: Option<Arc<str>>,
    excluded: bool,
}

impl QualityCell {
    fn from_audio(w: &AudioWindowScore) -> QualityCell {
        match w {
            AudioWindowScore::Scored(s) => QualityCell {
                mos: Some(s.mos),
                r: Some(s.r),
                video: None,
                label: Some(arc(s.label.as_str())),
                excluded: false,
            },
            AudioWindowScore::Excluded { .. } => {
                QualityCell { mos: None, r: None, video: None, label: None, excluded: true }
            }
            AudioWindowScore::Unknown { .. } => {
                QualityCell { mos: None, r: None, video: None, label: None, excluded: false }
            }
        }
    }

    fn from_video(w: &VideoWindowScore) -> QualityCell {
        match w {
            VideoWindowScore::Scored(s) => QualityCell {
                mos: None,
                r: None,
                video: Some(s.q),
                label: Some(arc(s.label.as_str())),
                excluded: false,
            },
            VideoWindowScore::Excluded { .. } => {
                QualityCell { mos: None, r: None, video: None, label: None, excluded: true }
            }
            VideoWindowScore::Unknown { .. } => {
                QualityCell { mos: None, r: None, video: None, label: None, excluded: false }
            }
        }
    }
}

/// The media connections of a participant (probes, which never carry media, excluded).
fn media_pcs(p: &Participant) -> impl Iterator<Item = &PeerConnection> {
    p.peer_connections.iter().filter(|pc| {
        !pc.inbound.is_empty()
            || !pc.outbound.is_empty()
            || pc.events.iter().any(|e| matches!(e.kind, EventKind::TrackAdded(_)))
    })
}

/// How long ICE keeps trying before browsers give up on a connection that never came up.
const ICE_GIVE_UP_MS: f64 = 30_000.0;

/// A connection that never came up and will not: it failed, was closed, hit STUN/TURN or
/// negotiation errors, or was still trying when ICE would have given up. One whose data
/// simply ends while it is still connecting has not failed (yet): a live call, or a
/// snapshot taken during setup.
fn never_came_up(pc: &PeerConnection, data_end: Timestamp) -> bool {
    if pc.ever_connected() {
        return false;
    }
    let failed = pc.ice_states().any(|(_, s)| s == IceConnectionState::Failed)
        || pc.connection_states().any(|(_, s)| s == ConnectionState::Failed);
    let ended_or_errored = pc.events.iter().any(|e| {
        matches!(
            e.kind,
            EventKind::Closed
                | EventKind::IceCandidateError(_)
                | EventKind::Negotiation { outcome: Outcome::Failed(_), .. }
        )
    });
    let started = pc.events.first().map(|e| e.at).or_else(|| pc.stats_times.first().copied());
    let timed_out = started.is_some_and(|s| data_end.seconds_since(s) * 1000.0 >= ICE_GIVE_UP_MS);
    failed || ended_or_errored || timed_out
}

/// A participant who had connections and none of them came up, nor will.
fn participant_failed(p: &Participant, data_end: Timestamp) -> bool {
    let mut pcs = media_pcs(p).peekable();
    let candidates: Vec<&PeerConnection> =
        if pcs.peek().is_some() { pcs.collect() } else { p.peer_connections.iter().collect() };
    !candidates.is_empty() && candidates.iter().all(|pc| never_came_up(pc, data_end))
}

/// A participant none of whose connections has come up yet, still trying when the data ends.
fn participant_connecting(p: &Participant, data_end: Timestamp) -> bool {
    !p.peer_connections.is_empty()
        && p.peer_connections.iter().all(|pc| !pc.ever_connected())
        && !participant_failed(p, data_end)
}

fn topology(c: &Conference) -> &'static str {
    let has = |k: RemoteKind| {
        c.participants
            .iter()
            .flat_map(|p| &p.peer_connections)
            .any(|pc| pc.remote_kind == k && pc.ever_connected())
    };
    match (has(RemoteKind::Sfu), has(RemoteKind::Peer)) {
        (true, true) => "SFU and peer-to-peer",
        (true, false) => "SFU",
        (false, true) => "peer-to-peer",
        (false, false) => "unknown",
    }
}

/// The call's outcome, as callstats.io defined the categories: failed (nobody got
/// connected), partially failed (some could not), aborted (left while still connecting),
/// dropped (every connection that was up failed rather than being closed), completed.
pub fn outcome(c: &Conference) -> &'static str {
    let with_pcs: Vec<&Participant> =
        c.participants.iter().filter(|p| !p.peer_connections.is_empty()).collect();
    if with_pcs.is_empty() {
        return if c.participants.iter().any(|p| {
            p.events
                .iter()
                .any(|e| matches!(&e.kind, EventKind::MediaRequest { outcome: Outcome::Failed(_), .. }))
        }) {
            "failed"
        } else {
            "completed"
        };
    }
    let end = c.time_range().map_or(Timestamp::default(), |(_, e)| e);
    let failed: Vec<&&Participant> = with_pcs.iter().filter(|p| participant_failed(p, end)).collect();
    let connecting = with_pcs.iter().filter(|p| participant_connecting(p, end)).count();
    if connecting > 0 && failed.len() + connecting == with_pcs.len() {
        // Nobody is up and someone is still trying: the data ends mid-setup.
        return "connecting";
    }
    if failed.len() == with_pcs.len() {
        // Closed by the application while still checking, without an error: they gave up.
        let gave_up = failed.iter().all(|p| {
            media_pcs(p).all(|pc| {
                let closed = pc.events.iter().any(|e| e.kind == EventKind::Closed);
                let last = pc.ice_states().last().map(|(_, s)| s);
                let errors = pc.events.iter().any(|e| {
                    matches!(
                        e.kind,
                        EventKind::IceCandidateError(_)
                            | EventKind::Negotiation { outcome: Outcome::Failed(_), .. }
                    )
                });
                closed
                    && !errors
                    && matches!(
                        last,
                        Some(IceConnectionState::Checking) | Some(IceConnectionState::New) | None
                    )
                    && pc.ice_states().any(|(_, s)| s == IceConnectionState::Checking)
            })
        });
        return if gave_up { "aborted" } else { "failed" };
    }
    if !failed.is_empty() {
        return "partially_failed";
    }
    // Everyone connected: dropped if every media connection ended broken. `failed` is a drop
    // even when the application closes the connection afterwards (it cleans up after the
    // failure); `disconnected` is one only if nobody hung up, since people also hang up
    // on a connection that is recovering.
    let ended_failed = |pc: &PeerConnection| {
        let last_ice = pc.ice_states().filter(|(_, s)| *s != IceConnectionState::Closed).last();
        let last_conn = pc.connection_states().filter(|(_, s)| *s != ConnectionState::Closed).last();
        let closed = pc.events.iter().any(|e| e.kind == EventKind::Closed);
        let ice_broken = |s: IceConnectionState| {
            s == IceConnectionState::Failed || (s == IceConnectionState::Disconnected && !closed)
        };
        match (last_ice, last_conn) {
            (Some((ti, si)), Some((tc, sc))) => {
                if tc >= ti {
                    sc == ConnectionState::Failed || (sc == ConnectionState::Disconnected && !closed)
                } else {
                    ice_broken(si)
                }
            }
            (Some((_, s)), None) => ice_broken(s),
            (None, Some((_, s))) => s == ConnectionState::Failed,
            (None, None) => false,
        }
    };
    let media: Vec<&PeerConnection> =
        with_pcs.iter().flat_map(|p| media_pcs(p)).filter(|pc| pc.ever_connected()).collect();
    if !media.is_empty()
        && with_pcs.iter().all(|p| media_pcs(p).filter(|pc| pc.ever_connected()).all(ended_failed))
    {
        return "dropped";
    }
    "completed"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unbroken_run_of_windows_is_told_from_a_broken_one() {
        // Ticks before the first window, windows read twice, ticks after the last.
        assert_eq!(unbroken_run(&[NONE, 0, 0, 1, 2, 2, NONE]), Some((0, 2)));
        assert_eq!(unbroken_run(&[3, 4]), Some((3, 4)));
        // Window 1 falls between two ticks: no tick reads it, so its numbers must not count.
        assert_eq!(unbroken_run(&[0, 0, 2, 3]), None);
        // Ticks no window covers do not break the run; only a window no tick reads does.
        assert_eq!(unbroken_run(&[0, NONE, 1]), Some((0, 1)));
        assert_eq!(unbroken_run(&[NONE, NONE]), None);
    }

    #[test]
    fn extremes_skip_what_is_not_a_number() {
        let values = [f64::NAN, 3.0, f64::INFINITY, -1.0, f64::NEG_INFINITY, 2.0];
        assert_eq!(extreme_of(&values, true), Some(3.0));
        assert_eq!(extreme_of(&values, false), Some(-1.0));
        assert_eq!(extreme_of(&[f64::NAN, f64::INFINITY], true), None);
        // Longer than the four lanes, with the extremes in the remainder and in a lane.
        let many = [5.0, f64::NAN, 1.0, 7.5, 2.0, -3.0, f64::NAN, 4.0, 0.5, 9.0, -8.0];
        assert_eq!(extreme_of(&many, true), Some(9.0));
        assert_eq!(extreme_of(&many, false), Some(-8.0));
        assert_eq!(extreme_of(&many[..8], true), Some(7.5));
        assert_eq!(extreme_of(&many[..8], false), Some(-3.0));
        assert_eq!(extreme_of(&[], false), None);
        assert_eq!(range_of(&many), Some((-8.0, 9.0)));
        assert_eq!(range_of(&many[..8]), Some((-3.0, 7.5)));
        assert_eq!(range_of(&values), Some((-1.0, 3.0)));
        assert_eq!(range_of(&[f64::NAN, f64::INFINITY]), None);
        assert_eq!(range_of(&[f64::NAN, 2.0, f64::NAN]), Some((2.0, 2.0)));
        assert_eq!(range_of(&[]), None);
    }
}
