//! The scenario format: what a YAML file may say, and the checked form the simulator runs.
//!
//! Parsing has two steps. serde reads the YAML into `Raw*` structs that mirror the file
//! (`deny_unknown_fields` everywhere, so a typo is an error, not a silently ignored key);
//! [`Scenario::from_yaml`] then checks ranges and contradictions and fills defaults, naming
//! the field and the fix for every problem. All times in the checked form are seconds from
//! the scenario's start.

mod hops;

use std::fmt;

use hopscope_model::Timestamp;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use crate::browser::Browser;
use crate::error::SimError;
use crate::units::{Bitrate, Fraction, Seconds};
pub(crate) use hops::{IMPLICIT_RELAY, SfuSpec, TurnSpec};

/// Used when a scenario gives no `start`.
const DEFAULT_START: &str = "2026-01-01T10:00:00Z";
/// ICE STUN/TURN error codes are 300–799 (RFC 8489 §14.8, plus the 7xx WebRTC codes).
const ERROR_CODES: std::ops::RangeInclusive<u16> = 300..=799;
/// `getUserMedia` rejections browsers produce, with the message Chrome attaches.
const GUM_ERRORS: [(&str, &str); 6] = [
    ("NotAllowedError", "Permission denied"),
    ("NotFoundError", "Requested device not found"),
    ("NotReadableError", "Could not start video source"),
    ("OverconstrainedError", ""),
    ("AbortError", "Timeout starting video source"),
    ("SecurityError", "The request is not allowed by the user agent or the platform in the current context."),
];

// ---------------------------------------------------------------------------------------
// The file as written.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: String,
    #[serde(default)]
    seed: u64,
    start: Option<String>,
    duration: Seconds,
    interval: Option<Seconds>,
    topology: Topology,
    conference: Option<String>,
    participants: Vec<RawParticipant>,
    sfu: Option<hops::RawSfu>,
    #[serde(default)]
    turn: Vec<hops::RawTurn>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParticipant {
    name: String,
    user: Option<String>,
    browser: Option<String>,
    join: Option<Seconds>,
    leave: Option<Seconds>,
    audio: Option<Toggle<RawAudio>>,
    video: Option<Toggle<RawVideo>>,
    screenshare: Option<Toggle<RawVideo>>,
    #[serde(default)]
    cpu_limited: Vec<(Seconds, Seconds)>,
    #[serde(default)]
    sending_stopped: Vec<(Seconds, Seconds)>,
    #[serde(default)]
    network: RawNetwork,
    #[serde(default)]
    ice: RawIce,
    gum_error: Option<String>,
    negotiation_error: Option<String>,
    feedback: Option<RawFeedback>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAudio {
    codec: Option<AudioCodec>,
    #[serde(default)]
    muted: Vec<(Seconds, Seconds)>,
    #[serde(default)]
    dtx: bool,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawVideo {
    codec: Option<VideoCodec>,
    width: Option<u32>,
    height: Option<u32>,
    fps: Option<f64>,
    max_bitrate: Option<Bitrate>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawNetwork {
    #[serde(default)]
    uplink: RawLink,
    #[serde(default)]
    downlink: RawLink,
    #[serde(default)]
    segments: Vec<RawSegment>,
}

#[derive(Deserialize, Default, Clone, Copy)]
#[serde(deny_unknown_fields)]
struct RawLink {
    loss: Option<Fraction>,
    burst: Option<f64>,
    delay: Option<Seconds>,
    jitter: Option<Seconds>,
    bandwidth: Option<Bitrate>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSegment {
    from: Seconds,
    to: Option<Seconds>,
    #[serde(default)]
    uplink: RawLink,
    #[serde(default)]
    downlink: RawLink,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawIce {
    setup: Option<Seconds>,
    candidate: Option<CandidateKind>,
    relay_protocol: Option<RelayProtocol>,
    network_type: Option<NetworkType>,
    #[serde(default)]
    disconnect: Vec<(Seconds, Seconds)>,
    fail_at: Option<Seconds>,
    #[serde(default)]
    never_connects: bool,
    candidate_error: Option<RawCandidateError>,
    turn: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCandidateError {
    code: u16,
    text: Option<String>,
    url: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFeedback {
    rating: u8,
    comment: Option<String>,
    at: Option<Seconds>,
}

/// `false` (off), `true` (on with defaults), or a map of settings.
enum Toggle<T> {
    Off,
    On(T),
}

impl<'de, T: Deserialize<'de> + Default> Deserialize<'de> for Toggle<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de> + Default> Visitor<'de> for V<T> {
            type Value = Toggle<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("`false`, `true` or a map of settings")
            }
            fn visit_bool<E: de::Error>(self, on: bool) -> Result<Toggle<T>, E> {
                Ok(if on { Toggle::On(T::default()) } else { Toggle::Off })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Toggle<T>, A::Error> {
                // Through the map's own deserializer so unknown keys keep their errors.
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Toggle::On)
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

// ---------------------------------------------------------------------------------------
// The checked form.

/// How the participants are connected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Topology {
    /// Two participants, one peer connection between them.
    P2p,
    /// Every participant has one peer connection to a media server, which forwards every
    /// other participant's streams to it.
    Sfu,
}

/// Audio codecs the simulator can send.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum AudioCodec {
    /// Opus, 48 kHz, ~32 kbit/s.
    #[default]
    Opus,
    /// G.711 µ-law, 8 kHz, 64 kbit/s.
    Pcmu,
    /// G.711 A-law, 8 kHz, 64 kbit/s.
    Pcma,
}

/// Video codecs the simulator can send.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum VideoCodec {
    /// VP8 (libvpx).
    #[default]
    Vp8,
    /// VP9 (libvpx).
    Vp9,
    /// H.264 (OpenH264).
    H264,
    /// AV1 (libaom).
    Av1,
}

/// The local candidate type of the selected pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CandidateKind {
    /// Directly reachable address (LAN, or a public address).
    Host,
    /// Address seen by a STUN server, behind NAT.
    Srflx,
    /// Relayed through TURN.
    Relay,
}

/// How the browser reaches its TURN server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RelayProtocol {
    /// TURN over UDP.
    Udp,
    /// TURN over TCP.
    Tcp,
    /// TURN over TLS.
    Tls,
}

/// The network adapter Chrome reports on local candidates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NetworkType {
    /// Wi-Fi.
    Wifi,
    /// Wired.
    Ethernet,
    /// Mobile data.
    Cellular,
    /// A VPN adapter.
    Vpn,
    /// What recent Chrome reports more and more often.
    Unknown,
}

impl NetworkType {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            NetworkType::Wifi => "wifi",
            NetworkType::Ethernet => "ethernet",
            NetworkType::Cellular => "cellular",
            NetworkType::Vpn => "vpn",
            NetworkType::Unknown => "unknown",
        }
    }
}

/// A checked, runnable scenario.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub(crate) name: String,
    pub(crate) seed: u64,
    pub(crate) start_ms: f64,
    pub(crate) duration: f64,
    pub(crate) interval: f64,
    pub(crate) topology: Topology,
    pub(crate) conference: String,
    pub(crate) participants: Vec<ParticipantSpec>,
    /// The media server (SFU calls only).
    pub(crate) sfu: Option<SfuSpec>,
    /// Relays: the declared ones, then the implicit one if participants relay without any.
    pub(crate) turns: Vec<TurnSpec>,
}

/// A time window `[from, to)`, seconds from the start.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Window {
    pub from: f64,
    pub to: f64,
}

impl Window {
    pub fn contains(self, t: f64) -> bool {
        self.from <= t && t < self.to
    }
}

/// Whether any window holds `t`.
pub(crate) fn in_any(windows: &[Window], t: f64) -> bool {
    windows.iter().any(|w| w.contains(t))
}

#[derive(Clone, Debug)]
pub(crate) struct ParticipantSpec {
    pub name: String,
    pub user: Option<String>,
    pub browser: Browser,
    pub join: f64,
    pub leave: f64,
    pub audio: Option<AudioSpec>,
    pub video: Option<VideoSpec>,
    pub screenshare: Option<VideoSpec>,
    pub cpu_limited: Vec<Window>,
    /// Windows when the endpoint sends no media packets at all (its tracks replaced with
    /// `null`, or devices that died), while it keeps receiving.
    pub sending_stopped: Vec<Window>,
    pub network: NetworkSpec,
    pub ice: IceSpec,
    /// DOMException name and message.
    pub gum_error: Option<(String, String)>,
    pub negotiation_error: Option<String>,
    pub feedback: Option<FeedbackSpec>,
}

#[derive(Clone, Debug)]
pub(crate) struct AudioSpec {
    pub codec: AudioCodec,
    pub muted: Vec<Window>,
    pub dtx: bool,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct VideoSpec {
    pub codec: VideoCodec,
    pub width: u32,
    pub height: u32,
    pub fps: f64,
    pub max_bitrate: f64,
}

/// One direction of a participant's access link.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct LinkSpec {
    /// Packet loss, 0..1.
    pub loss: f64,
    /// Mean length of a loss burst, packets (1 = independent losses).
    pub burst: f64,
    /// One-way delay, seconds.
    pub delay: f64,
    /// Interarrival jitter this link adds (what RFC 3550 receivers measure), seconds.
    pub jitter: f64,
    /// Capacity, bits/s; `None` = never the bottleneck.
    pub bandwidth: Option<f64>,
}

impl LinkSpec {
    const DEFAULT: LinkSpec =
        LinkSpec { loss: 0.0, burst: 1.0, delay: 0.010, jitter: 0.001, bandwidth: None };
    /// A middlebox link that adds nothing (its clients' access links carry the path's delay).
    pub(crate) const QUIET: LinkSpec =
        LinkSpec { loss: 0.0, burst: 1.0, delay: 0.0, jitter: 0.0, bandwidth: None };

    fn patched(self, p: &RawLink) -> LinkSpec {
        LinkSpec {
            loss: p.loss.map_or(self.loss, |v| v.0),
            burst: p.burst.unwrap_or(self.burst),
            delay: p.delay.map_or(self.delay, |v| v.0),
            jitter: p.jitter.map_or(self.jitter, |v| v.0),
            bandwidth: p.bandwidth.map(|v| v.0).or(self.bandwidth),
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct NetworkSpec {
    pub uplink: LinkSpec,
    pub downlink: LinkSpec,
    /// Later segments win where they overlap.
    pub segments: Vec<(Window, LinkSpec, LinkSpec)>,
}

impl NetworkSpec {
    /// A network that adds nothing, at any time.
    pub(crate) fn quiet() -> NetworkSpec {
        NetworkSpec { uplink: LinkSpec::QUIET, downlink: LinkSpec::QUIET, segments: Vec::new() }
    }

    /// Uplink and downlink in force at `t`.
    pub fn at(&self, t: f64) -> (LinkSpec, LinkSpec) {
        self.segments
            .iter()
            .rev()
            .find(|(w, _, _)| w.contains(t))
            .map_or((self.uplink, self.downlink), |(_, up, down)| (*up, *down))
    }
}

#[derive(Clone, Debug)]
pub(crate) struct IceSpec {
    pub setup: f64,
    pub candidate: CandidateKind,
    pub relay_protocol: RelayProtocol,
    pub network_type: NetworkType,
    pub disconnect: Vec<Window>,
    pub fail_at: Option<f64>,
    pub never_connects: bool,
    pub candidate_error: Option<CandidateErrorSpec>,
    /// The relay configured (index into the scenario's `turns`); with `candidate: relay`
    /// the media crosses it.
    pub turn: Option<usize>,
}

#[derive(Clone, Debug)]
pub(crate) struct CandidateErrorSpec {
    pub code: u16,
    pub text: String,
    pub url: Option<String>,
}

#[derive(Clone, Debug)]
pub(crate) struct FeedbackSpec {
    pub rating: u8,
    pub comment: Option<String>,
    pub at: f64,
}

impl Scenario {
    /// Reads and checks a scenario.
    pub fn from_yaml(text: &str) -> Result<Scenario, SimError> {
        let raw: RawScenario = serde_yaml::from_str(text)?;
        check(raw)
    }

    /// The scenario's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The conference id written into every observation.
    pub fn conference(&self) -> &str {
        &self.conference
    }

    /// When the call starts, epoch milliseconds.
    pub fn start_ms(&self) -> f64 {
        self.start_ms
    }

    /// Seconds simulated.
    pub fn duration(&self) -> f64 {
        self.duration
    }

    /// The participants' names, in file order.
    pub fn participant_names(&self) -> impl Iterator<Item = &str> {
        self.participants.iter().map(|p| p.name.as_str())
    }

    /// The same scenario cut short at `seconds` (at least one stats interval): for quick
    /// runs of long scenarios. What happened after the cut is dropped; everyone still in
    /// the call leaves at the new end.
    pub fn truncated(mut self, seconds: f64) -> Scenario {
        let end = seconds.max(self.interval).min(self.duration);
        self.duration = end;
        for p in &mut self.participants {
            p.join = p.join.min(end - self.interval).max(0.0);
            p.leave = p.leave.min(end).max(p.join + self.interval.min(end - p.join));
            if let Some(f) = &mut p.feedback {
                f.at = f.at.min(end);
            }
        }
        self
    }

    /// The scenario with another seed.
    pub fn with_seed(mut self, seed: u64) -> Scenario {
        self.seed = seed;
        self
    }

    /// How the participants are connected.
    pub fn topology(&self) -> Topology {
        self.topology
    }

    /// The faults this scenario injects (see [`crate::truth`]).
    pub fn truth(&self) -> crate::truth::Truth {
        crate::truth::derive(self)
    }
}

/// Checks a window list `[[from, to], ...]`.
fn windows(field: &str, raw: &[(Seconds, Seconds)], duration: f64) -> Result<Vec<Window>, SimError> {
    raw.iter()
        .enumerate()
        .map(|(i, (from, to))| {
            let w = Window { from: from.0, to: to.0 };
            if w.from >= w.to {
                return Err(SimError::invalid(
                    format!("{field}[{i}]"),
                    format!("the window starts at {}s and ends at {}s", w.from, w.to),
                    "write [start, end] with the start first",
                ));
            }
            if w.from >= duration {
                return Err(SimError::invalid(
                    format!("{field}[{i}]"),
                    format!("the window starts at {}s, after the scenario ends ({duration}s)", w.from),
                    "move it inside the scenario or lengthen `duration`",
                ));
            }
            Ok(w)
        })
        .collect()
}

fn check(raw: RawScenario) -> Result<Scenario, SimError> {
    if raw.name.trim().is_empty() {
        return Err(SimError::invalid("name", "is empty", "give the scenario a name"));
    }
    let start = raw.start.as_deref().unwrap_or(DEFAULT_START);
    let start_ms = Timestamp::parse_rfc3339(start).map(Timestamp::epoch_ms).ok_or_else(|| {
        SimError::invalid(
            "start",
            format!("`{start}` is not a date-time"),
            "write it like 2026-03-02T10:00:00Z",
        )
    })?;
    let duration = raw.duration.0;
    if !(1.0..=86_400.0).contains(&duration) {
        return Err(SimError::invalid(
            "duration",
            format!("{duration}s is outside 1s..24h"),
            "simulate between one second and one day",
        ));
    }
    let interval = raw.interval.map_or(1.0, |i| i.0);
    if !(0.1..=60.0).contains(&interval) || interval > duration {
        return Err(SimError::invalid(
            "interval",
            format!("{interval}s is outside 100ms..60s or longer than the scenario"),
            "collectors poll getStats every 1s to 10s; use one of those",
        ));
    }
    match (raw.topology, raw.participants.len()) {
        (Topology::P2p, 2) => {}
        (Topology::P2p, n) => {
            return Err(SimError::invalid(
                "participants",
                format!("a p2p call has exactly 2 participants, this one has {n}"),
                "list two participants, or use `topology: sfu`",
            ));
        }
        (Topology::Sfu, 0) => {
            return Err(SimError::invalid("participants", "is empty", "list at least one participant"));
        }
        (Topology::Sfu, _) => {}
    }
    let sfu = match (raw.topology, raw.sfu) {
        (Topology::P2p, Some(_)) => {
            return Err(SimError::invalid(
                "sfu",
                "a p2p call has no media server",
                "use `topology: sfu` or remove the `sfu` section",
            ));
        }
        (Topology::P2p, None) => None,
        (Topology::Sfu, Some(s)) => Some(hops::sfu(s, duration)?),
        (Topology::Sfu, None) => Some(SfuSpec::plain()),
    };
    let mut turns = hops::turns(raw.turn, duration)?;
    let default_browser = Browser::current_chrome(start_ms);
    let mut participants: Vec<ParticipantSpec> = Vec::with_capacity(raw.participants.len());
    for (i, p) in raw.participants.into_iter().enumerate() {
        let spec = participant(i, p, duration, default_browser, &turns)?;
        if let Some(other) = participants.iter().find(|o| o.name == spec.name) {
            return Err(SimError::invalid(
                format!("participants[{i}].name"),
                format!("`{}` is used twice", other.name),
                "give every participant its own name",
            ));
        }
        participants.push(spec);
    }
    // Output files are named after participants and servers: a server may not share a name.
    let servers = sfu.iter().map(|s| ("sfu.name", &s.name)).chain(turns.iter().map(|t| ("turn", &t.name)));
    for (field, name) in servers {
        if participants.iter().any(|p| &p.name == name) {
            return Err(SimError::invalid(
                field,
                format!("`{name}` is also a participant's name"),
                "give servers and participants different names",
            ));
        }
    }
    if let Some(s) = &sfu
        && turns.iter().any(|t| t.name == s.name)
    {
        return Err(SimError::invalid(
            "sfu.name",
            "is also a relay's name",
            "give the media server and the relays different names",
        ));
    }
    // Participants that relay without a declared relay use the implicit one.
    let relayed_unnamed =
        |p: &ParticipantSpec| p.ice.candidate == CandidateKind::Relay && p.ice.turn.is_none();
    if participants.iter().any(relayed_unnamed) {
        let implicit = turns.len();
        turns.push(TurnSpec::implicit());
        for p in participants.iter_mut().filter(|p| relayed_unnamed(p)) {
            p.ice.turn = Some(implicit);
        }
    }
    let conference = raw.conference.unwrap_or_else(|| raw.name.clone());
    Ok(Scenario {
        name: raw.name,
        seed: raw.seed,
        start_ms,
        duration,
        interval,
        topology: raw.topology,
        conference,
        participants,
        sfu,
        turns,
    })
}

fn participant(
    i: usize,
    p: RawParticipant,
    duration: f64,
    default_browser: Browser,
    turns: &[TurnSpec],
) -> Result<ParticipantSpec, SimError> {
    let at = |field: &str| format!("participants[{i}] ({}).{field}", p.name);
    if p.name.trim().is_empty() {
        return Err(SimError::invalid(
            format!("participants[{i}].name"),
            "is empty",
            "name every participant",
        ));
    }
    let browser = match &p.browser {
        Some(b) => Browser::parse(b)
            .map_err(|e| SimError::invalid(at("browser"), e, "see examples/scenarios/README.md"))?,
        None => default_browser,
    };
    let join = p.join.map_or(0.0, |j| j.0);
    let leave = p.leave.map_or(duration, |l| l.0);
    if join >= duration {
        return Err(SimError::invalid(
            at("join"),
            format!("{join}s is not before the end ({duration}s)"),
            "join earlier or lengthen `duration`",
        ));
    }
    if leave <= join || leave > duration {
        return Err(SimError::invalid(
            at("leave"),
            format!("{leave}s is not between the join ({join}s) and the end ({duration}s)"),
            "leave after joining, at the latest at `duration`",
        ));
    }
    let audio = match p.audio {
        Some(Toggle::Off) => None,
        Some(Toggle::On(a)) => Some(a),
        None => Some(RawAudio::default()),
    }
    .map(|a| -> Result<AudioSpec, SimError> {
        if a.dtx && a.codec.is_some_and(|c| c != AudioCodec::Opus) {
            return Err(SimError::invalid(
                at("audio.dtx"),
                "only Opus has DTX here",
                "use `codec: opus` or `dtx: false`",
            ));
        }
        Ok(AudioSpec {
            codec: a.codec.unwrap_or_default(),
            muted: windows(&at("audio.muted"), &a.muted, duration)?,
            dtx: a.dtx,
        })
    })
    .transpose()?;
    let camera =
        VideoSpec { codec: VideoCodec::Vp8, width: 1280, height: 720, fps: 30.0, max_bitrate: 1_500_000.0 };
    let screen =
        VideoSpec { codec: VideoCodec::Vp8, width: 1920, height: 1080, fps: 5.0, max_bitrate: 1_200_000.0 };
    let video = media(&at("video"), p.video, Some(camera), camera)?;
    let screenshare = media(&at("screenshare"), p.screenshare, None, screen)?;
    let cpu_limited = windows(&at("cpu_limited"), &p.cpu_limited, duration)?;
    if !cpu_limited.is_empty() && video.is_none() && screenshare.is_none() {
        return Err(SimError::invalid(
            at("cpu_limited"),
            "only video encoders are CPU-limited, and this participant sends no video",
            "turn `video` on or remove `cpu_limited`",
        ));
    }
    let sending_stopped = windows(&at("sending_stopped"), &p.sending_stopped, duration)?;
    let network = network(&at("network"), &p.network, duration)?;
    let ice = ice(&at("ice"), &p.ice, join, duration, turns)?;
    let gum_error = match p.gum_error {
        None => None,
        Some(name) => {
            let known = GUM_ERRORS.iter().find(|(n, _)| *n == name).ok_or_else(|| {
                let names: Vec<&str> = GUM_ERRORS.iter().map(|(n, _)| *n).collect();
                SimError::invalid(
                    at("gum_error"),
                    format!("`{name}` is not a getUserMedia error"),
                    format!("use one of {}", names.join(", ")),
                )
            })?;
            if audio.is_none() && video.is_none() {
                return Err(SimError::invalid(
                    at("gum_error"),
                    "no camera or microphone is requested",
                    "turn `audio` or `video` on",
                ));
            }
            Some((known.0.to_string(), known.1.to_string()))
        }
    };
    if gum_error.is_some() && p.negotiation_error.is_some() {
        return Err(SimError::invalid(
            at("negotiation_error"),
            "a participant whose getUserMedia fails never creates a peer connection to negotiate",
            "keep one of `gum_error` and `negotiation_error`",
        ));
    }
    if p.negotiation_error.as_deref().is_some_and(|m| m.trim().is_empty()) {
        return Err(SimError::invalid(
            at("negotiation_error"),
            "is empty",
            "write the error message setRemoteDescription rejects with",
        ));
    }
    let feedback = match p.feedback {
        None => None,
        Some(f) => {
            if !(1..=5).contains(&f.rating) {
                return Err(SimError::invalid(
                    at("feedback.rating"),
                    format!("{} is outside 1..5", f.rating),
                    "rate from 1 (worst) to 5 (best)",
                ));
            }
            let at_s = f.at.map_or(leave, |a| a.0);
            if at_s > duration {
                return Err(SimError::invalid(
                    at("feedback.at"),
                    format!("{at_s}s is after the end ({duration}s)"),
                    "give feedback before `duration`",
                ));
            }
            Some(FeedbackSpec { rating: f.rating, comment: f.comment, at: at_s })
        }
    };
    Ok(ParticipantSpec {
        name: p.name,
        user: p.user,
        browser,
        join,
        leave,
        audio,
        video,
        screenshare,
        cpu_limited,
        sending_stopped,
        network,
        ice,
        gum_error,
        negotiation_error: p.negotiation_error,
        feedback,
    })
}

fn media(
    field: &str,
    raw: Option<Toggle<RawVideo>>,
    absent: Option<VideoSpec>,
    base: VideoSpec,
) -> Result<Option<VideoSpec>, SimError> {
    let v = match raw {
        None => return Ok(absent),
        Some(Toggle::Off) => return Ok(None),
        Some(Toggle::On(v)) => v,
    };
    let spec = VideoSpec {
        codec: v.codec.unwrap_or(base.codec),
        width: v.width.unwrap_or(base.width),
        height: v.height.unwrap_or(base.height),
        fps: v.fps.unwrap_or(base.fps),
        max_bitrate: v.max_bitrate.map_or(base.max_bitrate, |b| b.0),
    };
    for (name, value) in [("width", spec.width), ("height", spec.height)] {
        if !(16..=7680).contains(&value) {
            return Err(SimError::invalid(
                format!("{field}.{name}"),
                format!("{value} is outside 16..7680 pixels"),
                "use a camera resolution such as 1280x720",
            ));
        }
    }
    if !(1.0..=120.0).contains(&spec.fps) {
        return Err(SimError::invalid(
            format!("{field}.fps"),
            format!("{} is outside 1..120", spec.fps),
            "cameras send 15 to 60 frames per second",
        ));
    }
    if spec.max_bitrate < 30_000.0 {
        return Err(SimError::invalid(
            format!("{field}.max_bitrate"),
            format!("{}bps is below 30kbps", spec.max_bitrate),
            "video needs at least `30kbps`",
        ));
    }
    Ok(Some(spec))
}

fn link(field: &str, l: LinkSpec) -> Result<LinkSpec, SimError> {
    if l.burst < 1.0 || !l.burst.is_finite() {
        return Err(SimError::invalid(
            format!("{field}.burst"),
            format!("{} is below 1", l.burst),
            "a burst is 1 packet (independent losses) or longer",
        ));
    }
    if l.delay > 10.0 {
        return Err(SimError::invalid(
            format!("{field}.delay"),
            format!("{}s is above 10s", l.delay),
            "one-way delays are milliseconds to a few seconds",
        ));
    }
    if l.jitter > 2.0 {
        return Err(SimError::invalid(
            format!("{field}.jitter"),
            format!("{}s is above 2s", l.jitter),
            "jitter is milliseconds to a few hundred",
        ));
    }
    if l.bandwidth.is_some_and(|b| b < 20_000.0) {
        return Err(SimError::invalid(
            format!("{field}.bandwidth"),
            "is below 20kbps, less than audio alone needs",
            "use at least `20kbps`",
        ));
    }
    Ok(l)
}

fn network(field: &str, n: &RawNetwork, duration: f64) -> Result<NetworkSpec, SimError> {
    let segments: Vec<_> = n.segments.iter().map(|s| (s.from, s.to, s.uplink, s.downlink)).collect();
    links(field, ["uplink", "downlink"], [&n.uplink, &n.downlink], &segments, LinkSpec::DEFAULT, duration)
}

/// Checks a pair of links, each from `default` patched by what the file sets, and their
/// segments `(from, to, first, second)`. `names` name the two links in error messages
/// (empty when both are one link, as a relay's).
fn links(
    field: &str,
    names: [&str; 2],
    base: [&RawLink; 2],
    segments: &[(Seconds, Option<Seconds>, RawLink, RawLink)],
    default: LinkSpec,
    duration: f64,
) -> Result<NetworkSpec, SimError> {
    let label =
        |at: &str, k: usize| if names[k].is_empty() { at.to_string() } else { format!("{at}.{}", names[k]) };
    let uplink = link(&label(field, 0), default.patched(base[0]))?;
    let downlink = link(&label(field, 1), default.patched(base[1]))?;
    let mut checked = Vec::with_capacity(segments.len());
    for (i, (from, to, first, second)) in segments.iter().enumerate() {
        let at = format!("{field}.segments[{i}]");
        let w = Window { from: from.0, to: to.map_or(duration, |t| t.0) };
        if w.from >= w.to || w.from >= duration {
            return Err(SimError::invalid(
                at,
                format!("runs from {}s to {}s, which is empty or after the end ({duration}s)", w.from, w.to),
                "give `from` before `to`, inside the scenario",
            ));
        }
        let up = link(&label(&at, 0), uplink.patched(first))?;
        let down = link(&label(&at, 1), downlink.patched(second))?;
        checked.push((w, up, down));
    }
    Ok(NetworkSpec { uplink, downlink, segments: checked })
}

fn ice(field: &str, raw: &RawIce, join: f64, duration: f64, turns: &[TurnSpec]) -> Result<IceSpec, SimError> {
    let setup = raw.setup.map_or(0.25, |s| s.0);
    if !(0.001..=60.0).contains(&setup) {
        return Err(SimError::invalid(
            format!("{field}.setup"),
            format!("{setup}s is outside 1ms..60s"),
            "ICE connects in 100ms to a few seconds",
        ));
    }
    let candidate = raw.candidate.unwrap_or(CandidateKind::Srflx);
    if raw.relay_protocol.is_some() && candidate != CandidateKind::Relay {
        return Err(SimError::invalid(
            format!("{field}.relay_protocol"),
            "applies to relayed connections only",
            "set `candidate: relay` or remove `relay_protocol`",
        ));
    }
    let turn = match &raw.turn {
        Some(name) => Some(turns.iter().position(|t| &t.name == name).ok_or_else(|| {
            let names: Vec<&str> = turns.iter().map(|t| t.name.as_str()).collect();
            SimError::invalid(
                format!("{field}.turn"),
                format!("no relay is called `{name}`"),
                if names.is_empty() {
                    "declare it in the `turn:` list".to_string()
                } else {
                    format!("use one of {}", names.join(", "))
                },
            )
        })?),
        None if candidate == CandidateKind::Relay && turns.len() > 1 => {
            return Err(SimError::invalid(
                format!("{field}.turn"),
                "the scenario declares several relays and this participant relays through an unnamed one",
                "name it: `turn: <relay name>`",
            ));
        }
        None if candidate == CandidateKind::Relay => (!turns.is_empty()).then_some(0),
        None => None,
    };
    let relay = turn.and_then(|i| turns.get(i));
    let relay_protocol = raw.relay_protocol.or(relay.map(|t| t.protocol)).unwrap_or(RelayProtocol::Udp);
    // A relay that refuses credentials: the client's gathering reports the 401, and a
    // client that may only relay never gets a candidate to connect with.
    let refused = relay.filter(|t| t.auth_failure);
    if refused.is_some() && raw.candidate_error.is_some() {
        return Err(SimError::invalid(
            format!("{field}.candidate_error"),
            "the relay has `auth_failure`, which gives the 401 already",
            "remove `candidate_error`, or `auth_failure` from the relay",
        ));
    }
    let never_connects = raw.never_connects || (refused.is_some() && candidate == CandidateKind::Relay);
    let disconnect = windows(&format!("{field}.disconnect"), &raw.disconnect, duration)?;
    let fail_at = raw.fail_at.map(|f| f.0);
    if let Some(f) = fail_at
        && (f <= join || f >= duration)
    {
        return Err(SimError::invalid(
            format!("{field}.fail_at"),
            format!("{f}s is not between the join ({join}s) and the end ({duration}s)"),
            "fail the connection while the participant is in the call",
        ));
    }
    if never_connects && (fail_at.is_some() || !disconnect.is_empty()) {
        return Err(SimError::invalid(
            format!("{field}.never_connects"),
            "a connection that never comes up cannot drop later",
            "remove `fail_at` and `disconnect`, or `never_connects`",
        ));
    }
    let candidate_error = match &raw.candidate_error {
        None => refused.map(|t| CandidateErrorSpec {
            code: 401,
            text: default_error_text(401).to_string(),
            url: Some(t.url(relay_protocol)),
        }),
        Some(e) if !ERROR_CODES.contains(&e.code) => {
            return Err(SimError::invalid(
                format!("{field}.candidate_error.code"),
                format!("{} is not a STUN/TURN error code", e.code),
                "use 300..799, e.g. 401 (Unauthorized) or 701 (unreachable)",
            ));
        }
        Some(e) => Some(CandidateErrorSpec {
            code: e.code,
            text: e.text.clone().unwrap_or_else(|| default_error_text(e.code).to_string()),
            url: e.url.clone(),
        }),
    };
    Ok(IceSpec {
        setup,
        candidate,
        relay_protocol,
        network_type: raw.network_type.unwrap_or(NetworkType::Wifi),
        disconnect,
        fail_at,
        never_connects,
        candidate_error,
        turn,
    })
}

/// The text Chrome gives with a STUN/TURN error code.
fn default_error_text(code: u16) -> &'static str {
    match code {
        401 => "Unauthorized.",
        403 => "Forbidden.",
        438 => "Stale Nonce.",
        486 => "Allocation Quota Reached.",
        701 => "STUN host lookup received error.",
        _ => "TURN error.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_override_only_what_they_set() {
        let yaml = r"
name: t
duration: 60s
topology: sfu
participants:
  - name: a
    network:
      uplink: {delay: 30ms, jitter: 2ms}
      segments: [{from: 10s, to: 20s, uplink: {loss: 8%}}]
";
        let s = Scenario::from_yaml(yaml).expect("valid");
        let n = &s.participants[0].network;
        assert_eq!(n.at(5.0).0.loss, 0.0);
        let (up, down) = n.at(15.0);
        assert_eq!((up.loss, up.delay, up.jitter), (0.08, 0.03, 0.002));
        assert_eq!(down, LinkSpec::DEFAULT);
        assert_eq!(n.at(20.0).0.loss, 0.0);
    }

    #[test]
    fn truncation_keeps_everyone_in_the_call() {
        let yaml = "name: t\nduration: 60s\ntopology: sfu\nparticipants: [{name: a, join: 30s}, {name: b, leave: 50s}]\n";
        let s = Scenario::from_yaml(yaml).expect("valid").truncated(5.0);
        assert_eq!(s.duration, 5.0);
        assert_eq!((s.participants[0].join, s.participants[0].leave), (4.0, 5.0));
        assert_eq!((s.participants[1].join, s.participants[1].leave), (0.0, 5.0));
    }
}
