//! Typed stats: the W3C webrtc-stats objects of one peer connection, as series over time.
//!
//! Every metric may be missing: browsers omit fields the spec lists (Firefox has no pair RTT,
//! Safari no `relayProtocol`), and a missing value must never be confused with 0. A sample's
//! numbers are [`Reading`]s (an `Option<f64>` in 8 bytes, because a call keeps every sample)
//! and its other fields `Option`s. Units are
//! normalised at ingest: durations and delays in seconds (suffix `_s`), rates in bits per
//! second (`_bps`); plain counters are cumulative, exactly as the browser reported them.
//! Interval metrics (loss %, bitrate, ...) are derived from these in [`crate::intervals`].

pub use crate::reading::Reading;
use crate::time::Timestamp;

/// Audio or video.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MediaKind {
    /// Audio.
    Audio,
    /// Video.
    Video,
}

impl MediaKind {
    /// Parses `kind`/`mediaType` (`""` and unknown values give `None`).
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "audio" => Some(Self::Audio),
            "video" => Some(Self::Video),
            _ => None,
        }
    }

    /// `audio` or `video`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Audio => "audio",
            Self::Video => "video",
        }
    }
}

/// What we know about a stream apart from its samples.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StreamInfo {
    /// The stats id the browser used (evidence only).
    pub stats_id: String,
    /// Audio or video, when the browser said so.
    pub kind: Option<MediaKind>,
    /// RTP SSRC.
    pub ssrc: Option<u32>,
    /// Simulcast layer id (`rid`), outbound only.
    pub rid: Option<String>,
    /// SDP media id.
    pub mid: Option<String>,
    /// Track identifier, where reported.
    pub track_identifier: Option<String>,
    /// Codec `mimeType` (`video/VP8`, `audio/opus`), resolved from `codecId`.
    pub codec: Option<String>,
    /// Codec `sdpFmtpLine` (`minptime=10;useinbandfec=1`).
    pub codec_parameters: Option<String>,
    /// `encoderImplementation` or `decoderImplementation`.
    pub implementation: Option<String>,
    /// The paired stats id (`remoteId` / `localId`), evidence only.
    pub paired_stats_id: Option<String>,
    /// Content type hint: screen share when the browser says so.
    pub is_screenshare: bool,
}

/// One sample of an `inbound-rtp` stream (what this endpoint receives).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InboundRtpSample {
    /// The stats timestamp.
    pub at: Timestamp,
    /// Cumulative packets received (includes retransmissions in Chromium).
    pub packets_received: Reading,
    /// Cumulative packets lost; may decrease (late packets) and may be negative.
    pub packets_lost: Reading,
    /// Cumulative packets discarded by the jitter buffer.
    pub packets_discarded: Reading,
    /// Cumulative retransmitted (RTX) packets received.
    pub retransmitted_packets_received: Reading,
    /// Cumulative FEC packets received.
    pub fec_packets_received: Reading,
    /// Cumulative payload bytes received.
    pub bytes_received: Reading,
    /// Cumulative header bytes received.
    pub header_bytes_received: Reading,
    /// Interarrival jitter, seconds (instantaneous).
    pub jitter_s: Reading,
    /// Cumulative frames received (video).
    pub frames_received: Reading,
    /// Cumulative frames decoded (video).
    pub frames_decoded: Reading,
    /// Cumulative frames dropped before decoding (video).
    pub frames_dropped: Reading,
    /// Cumulative key frames decoded.
    pub key_frames_decoded: Reading,
    /// Decoded frames per second as the browser reports it (instantaneous).
    pub frames_per_second: Reading,
    /// Decoded frame width, pixels.
    pub frame_width: Reading,
    /// Decoded frame height, pixels.
    pub frame_height: Reading,
    /// Cumulative freezes (W3C definition).
    pub freeze_count: Reading,
    /// Cumulative freeze time, seconds.
    pub total_freezes_duration_s: Reading,
    /// Cumulative pauses (no frame for ≥ 5 s).
    pub pause_count: Reading,
    /// Cumulative pause time, seconds.
    pub total_pauses_duration_s: Reading,
    /// Cumulative inter-frame delay, seconds.
    pub total_inter_frame_delay_s: Reading,
    /// Cumulative squared inter-frame delay, seconds².
    pub total_squared_inter_frame_delay_s: Reading,
    /// Cumulative decode time, seconds.
    pub total_decode_time_s: Reading,
    /// Cumulative NACKs sent.
    pub nack_count: Reading,
    /// Cumulative PLIs sent.
    pub pli_count: Reading,
    /// Cumulative FIRs sent.
    pub fir_count: Reading,
    /// Cumulative jitter-buffer delay, seconds (divide by the emitted count).
    pub jitter_buffer_delay_s: Reading,
    /// Cumulative samples/frames emitted by the jitter buffer.
    pub jitter_buffer_emitted_count: Reading,
    /// Cumulative jitter-buffer target delay, seconds.
    pub jitter_buffer_target_delay_s: Reading,
    /// Current playout delay in seconds, from legacy stats that have no cumulative form.
    pub current_delay_s: Reading,
    /// Cumulative concealed audio samples.
    pub concealed_samples: Reading,
    /// Cumulative concealed samples during silence.
    pub silent_concealed_samples: Reading,
    /// Cumulative concealment events.
    pub concealment_events: Reading,
    /// Cumulative audio samples received.
    pub total_samples_received: Reading,
    /// Cumulative samples inserted to slow playout.
    pub inserted_samples_for_deceleration: Reading,
    /// Cumulative samples removed to speed playout.
    pub removed_samples_for_acceleration: Reading,
    /// Audio level 0..1 (instantaneous).
    pub audio_level: Reading,
    /// Cumulative audio energy.
    pub total_audio_energy: Reading,
    /// Cumulative audio duration, seconds.
    pub total_samples_duration_s: Reading,
    /// Firefox ≤ 9x: mean bitrate, bits per second.
    pub bitrate_mean_bps: Reading,
    /// Firefox ≤ 9x: mean frame rate.
    pub framerate_mean: Reading,
}

/// One sample of an `outbound-rtp` stream (one simulcast layer of what this endpoint sends).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OutboundRtpSample {
    /// The stats timestamp.
    pub at: Timestamp,
    /// Cumulative packets sent.
    pub packets_sent: Reading,
    /// Cumulative payload bytes sent.
    pub bytes_sent: Reading,
    /// Cumulative header bytes sent.
    pub header_bytes_sent: Reading,
    /// Cumulative retransmitted packets sent.
    pub retransmitted_packets_sent: Reading,
    /// Cumulative retransmitted bytes sent.
    pub retransmitted_bytes_sent: Reading,
    /// Encoder target bitrate, bits per second.
    pub target_bitrate_bps: Reading,
    /// Cumulative frames encoded.
    pub frames_encoded: Reading,
    /// Cumulative frames sent.
    pub frames_sent: Reading,
    /// Encoded frames per second (instantaneous).
    pub frames_per_second: Reading,
    /// Encoded width, pixels.
    pub frame_width: Reading,
    /// Encoded height, pixels.
    pub frame_height: Reading,
    /// Cumulative encode time, seconds.
    pub total_encode_time_s: Reading,
    /// Cumulative packet send delay (pacer), seconds.
    pub total_packet_send_delay_s: Reading,
    /// Cumulative NACKs received.
    pub nack_count: Reading,
    /// Cumulative PLIs received.
    pub pli_count: Reading,
    /// Cumulative FIRs received.
    pub fir_count: Reading,
    /// Cumulative huge frames sent.
    pub huge_frames_sent: Reading,
    /// The reason the encoder is limited now.
    pub quality_limitation_reason: Option<QualityLimitationReason>,
    /// Cumulative time spent in each limitation state.
    pub quality_limitation_durations: Option<QualityLimitationDurations>,
    /// Cumulative resolution changes caused by limitations.
    pub quality_limitation_resolution_changes: Reading,
    /// Whether this encoding is active (simulcast layers can be paused).
    pub active: Option<bool>,
    /// SVC mode (`L1T3`, `L3T3_KEY`, ...).
    pub scalability_mode: Option<String>,
    /// Legacy Chrome encoder CPU usage, percent.
    pub encode_usage_percent: Reading,
    /// Firefox ≤ 9x: mean bitrate, bits per second.
    pub bitrate_mean_bps: Reading,
    /// Firefox ≤ 9x: mean frame rate.
    pub framerate_mean: Reading,
}

/// `qualityLimitationReason`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum QualityLimitationReason {
    /// Not limited.
    None,
    /// Limited by CPU.
    Cpu,
    /// Limited by bandwidth estimation.
    Bandwidth,
    /// Limited by something else.
    Other,
}

impl OutboundRtpSample {
    /// Spatial layers in one encoding (SVC), from `scalabilityMode` (`L3T3` → 3).
    pub fn spatial_layers(&self) -> Option<u32> {
        let mode = self.scalability_mode.as_deref()?;
        let digits: String = mode.get(1..)?.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    }
}

impl QualityLimitationReason {
    /// Parses the W3C spelling.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "none" => Self::None,
            "cpu" => Self::Cpu,
            "bandwidth" => Self::Bandwidth,
            "other" => Self::Other,
            _ => return None,
        })
    }

    /// The W3C spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Cpu => "cpu",
            Self::Bandwidth => "bandwidth",
            Self::Other => "other",
        }
    }
}

/// Cumulative seconds spent in each quality-limitation state.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct QualityLimitationDurations {
    /// Seconds unlimited.
    pub none_s: f64,
    /// Seconds CPU-limited.
    pub cpu_s: f64,
    /// Seconds bandwidth-limited.
    pub bandwidth_s: f64,
    /// Seconds limited otherwise.
    pub other_s: f64,
}

/// One sample of a `remote-inbound-rtp` stream: the far end's RTCP receiver report about
/// what we send.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RemoteInboundRtpSample {
    /// The stats timestamp (the RTCP arrival time).
    pub at: Timestamp,
    /// Cumulative packets lost as the receiver reports it.
    pub packets_lost: Reading,
    /// Cumulative packets received (Firefox only).
    pub packets_received: Reading,
    /// Fraction lost in the last RTCP interval, 0..1.
    pub fraction_lost: Reading,
    /// Jitter at the receiver, seconds.
    pub jitter_s: Reading,
    /// RTCP round-trip time, seconds (last measurement).
    pub round_trip_time_s: Reading,
    /// Cumulative RTT, seconds.
    pub total_round_trip_time_s: Reading,
    /// Number of RTT measurements.
    pub round_trip_time_measurements: Reading,
}

/// One sample of a `remote-outbound-rtp` stream: the far end's RTCP sender report about
/// what it sends us.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RemoteOutboundRtpSample {
    /// The stats timestamp.
    pub at: Timestamp,
    /// Cumulative packets the remote sent.
    pub packets_sent: Reading,
    /// Cumulative bytes the remote sent.
    pub bytes_sent: Reading,
    /// The remote's clock at the report, epoch ms.
    pub remote_timestamp_ms: Reading,
    /// Cumulative reports sent.
    pub reports_sent: Reading,
    /// RTT from DLRR, seconds (Chrome, when present).
    pub round_trip_time_s: Reading,
}

/// A series of samples with what we know about the stream.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stream<S> {
    /// Identity and attributes.
    pub info: StreamInfo,
    /// Samples in time order.
    pub samples: Vec<S>,
    /// Its intervals, worked out on first use (see [`Memo`]).
    pub memo: Memo,
}

/// Something derived from a model object's samples, worked out once on first use: the
/// graph, the quality scores, the rules' view and the report all read the same intervals.
/// The model is read-only once assembled, so the memo never goes stale; it takes no part in
/// comparisons and a clone starts empty.
#[derive(Default)]
pub struct Memo(std::sync::OnceLock<Box<dyn std::any::Any + Send + Sync>>);

impl Memo {
    /// The memoised value, computing it with `f` the first time.
    pub fn get_or_init<T: std::any::Any + Send + Sync>(&self, f: impl FnOnce() -> T) -> &T {
        #[allow(clippy::expect_used)]
        self.0
            .get_or_init(|| Box::new(f()))
            .downcast_ref::<T>()
            .expect("a memo holds one type: each memo field is read through one accessor")
    }
}

impl Clone for Memo {
    fn clone(&self) -> Self {
        Memo::default()
    }
}

impl PartialEq for Memo {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for Memo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Memo")
    }
}

/// An inbound RTP stream.
pub type InboundRtpStream = Stream<InboundRtpSample>;
/// An outbound RTP stream (one per simulcast layer).
pub type OutboundRtpStream = Stream<OutboundRtpSample>;
/// A remote-inbound RTP stream.
pub type RemoteInboundRtpStream = Stream<RemoteInboundRtpSample>;
/// A remote-outbound RTP stream.
pub type RemoteOutboundRtpStream = Stream<RemoteOutboundRtpSample>;

/// ICE candidate type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CandidateType {
    /// A local interface address.
    Host,
    /// Server-reflexive: the public address a STUN server saw.
    Srflx,
    /// Peer-reflexive: an address learned from a connectivity check.
    Prflx,
    /// A TURN relay address.
    Relay,
}

impl CandidateType {
    /// Parses W3C (`host`, `srflx`, ...) and legacy (`local`, `stun`, `serverreflexive`,
    /// `peerreflexive`) spellings.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "host" | "local" => Self::Host,
            "srflx" | "stun" | "serverreflexive" => Self::Srflx,
            "prflx" | "peerreflexive" => Self::Prflx,
            "relay" | "relayed" => Self::Relay,
            _ => return None,
        })
    }

    /// The W3C spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Host => "host",
            Self::Srflx => "srflx",
            Self::Prflx => "prflx",
            Self::Relay => "relay",
        }
    }
}

/// Transport between the browser and a TURN server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RelayProtocol {
    /// TURN over UDP.
    Udp,
    /// TURN over TCP.
    Tcp,
    /// TURN over TLS (`turns:`).
    Tls,
}

impl RelayProtocol {
    /// Parses `udp`/`tcp`/`tls`.
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "udp" => Some(Self::Udp),
            "tcp" => Some(Self::Tcp),
            "tls" => Some(Self::Tls),
            _ => None,
        }
    }

    /// Derives the protocol from a TURN URL: `turns:` means TLS, `?transport=tcp` TCP.
    pub fn from_url(url: &str) -> Option<Self> {
        let lower = url.to_ascii_lowercase();
        if lower.starts_with("turns:") {
            Some(Self::Tls)
        } else if lower.starts_with("turn:") {
            if lower.contains("transport=tcp") { Some(Self::Tcp) } else { Some(Self::Udp) }
        } else {
            None
        }
    }

    /// `udp`, `tcp` or `tls`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Udp => "udp",
            Self::Tcp => "tcp",
            Self::Tls => "tls",
        }
    }
}

/// The kind of network interface under a host candidate (Chrome only, deprecated).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NetworkType {
    /// Wi-Fi.
    Wifi,
    /// Wired Ethernet.
    Ethernet,
    /// Mobile data.
    Cellular,
    /// A VPN interface.
    Vpn,
    /// Bluetooth tethering.
    Bluetooth,
    /// WiMAX.
    Wimax,
}

impl NetworkType {
    /// Parses W3C and legacy spellings (`wlan`, `lan`); `unknown` and others give `None`.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "wifi" | "wlan" => Self::Wifi,
            "ethernet" | "lan" => Self::Ethernet,
            "cellular" => Self::Cellular,
            "vpn" => Self::Vpn,
            "bluetooth" => Self::Bluetooth,
            "wimax" => Self::Wimax,
            _ => return None,
        })
    }

    /// The W3C spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Wifi => "wifi",
            Self::Ethernet => "ethernet",
            Self::Cellular => "cellular",
            Self::Vpn => "vpn",
            Self::Bluetooth => "bluetooth",
            Self::Wimax => "wimax",
        }
    }
}

/// A local or remote ICE candidate.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IceCandidate {
    /// The stats id (evidence only).
    pub stats_id: String,
    /// Local (ours) or remote (the peer's / server's).
    pub is_remote: bool,
    /// host, srflx, prflx or relay.
    pub candidate_type: Option<CandidateType>,
    /// `udp` or `tcp` between the browser and the far side.
    pub protocol: Option<String>,
    /// IP address (may be anonymised, e.g. `x.x.x.x`).
    pub address: Option<String>,
    /// Port.
    pub port: Option<u16>,
    /// TURN transport for local relay candidates (`relayProtocol`).
    pub relay_protocol: Option<RelayProtocol>,
    /// The STUN/TURN server URL that produced it.
    pub url: Option<String>,
    /// Interface type (Chrome).
    pub network_type: Option<NetworkType>,
    /// Raw `networkType` text, including `unknown`.
    pub network_type_raw: Option<String>,
    /// TCP candidate type (active/passive/so).
    pub tcp_type: Option<String>,
    /// ICE priority.
    pub priority: Option<f64>,
}

impl IceCandidate {
    /// TURN transport: `relayProtocol`, else the scheme of `url` (Safari omits the former).
    pub fn relay_transport(&self) -> Option<RelayProtocol> {
        self.relay_protocol.or_else(|| self.url.as_deref().and_then(RelayProtocol::from_url))
    }

    /// Whether this local candidate goes through a TURN server. A relay candidate can show
    /// up as `prflx` when learned through the relay, so `relayProtocol` and a `turn:` URL
    /// count too.
    pub fn is_relayed(&self) -> bool {
        self.candidate_type == Some(CandidateType::Relay)
            || (!self.is_remote
                && (self.relay_protocol.is_some()
                    || self.url.as_deref().is_some_and(|u| u.to_ascii_lowercase().starts_with("turn"))))
    }

    /// `address:port`, when both are known and the address is not anonymised.
    pub fn endpoint(&self) -> Option<String> {
        let addr = self.address.as_deref().filter(|a| !is_anonymised(a))?;
        Some(match self.port {
            Some(p) if addr.contains(':') => format!("[{addr}]:{p}"),
            Some(p) => format!("{addr}:{p}"),
            None => addr.to_string(),
        })
    }
}

/// Whether an address hides the real one: anonymised (`x.x.x.x`), unspecified (`0.0.0.0`,
/// `::`), empty, or an mDNS name (`<uuid>.local`) that browsers use to hide host addresses.
pub fn is_anonymised(address: &str) -> bool {
    let address = address.trim();
    address.is_empty()
        || address == "0.0.0.0"
        || address == "::"
        || address.ends_with(".local")
        || address.chars().all(|c| matches!(c, 'x' | 'X' | '.' | ':'))
}

/// ICE candidate-pair state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PairState {
    /// `frozen`
    Frozen,
    /// `waiting`
    Waiting,
    /// `in-progress`
    InProgress,
    /// `succeeded`
    Succeeded,
    /// `failed`
    Failed,
}

impl PairState {
    /// Parses the W3C spelling (and Firefox's old `inprogress`).
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "frozen" => Self::Frozen,
            "waiting" => Self::Waiting,
            "in-progress" | "inprogress" => Self::InProgress,
            "succeeded" => Self::Succeeded,
            "failed" => Self::Failed,
            _ => return None,
        })
    }
}

/// One sample of a `candidate-pair`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CandidatePairSample {
    /// The stats timestamp.
    pub at: Timestamp,
    /// Pair state.
    pub state: Option<PairState>,
    /// Nominated by the controlling agent.
    pub nominated: Option<bool>,
    /// Firefox's `selected` flag, or legacy `googActiveConnection`.
    pub selected: Option<bool>,
    /// Last ICE consent RTT, seconds.
    pub current_round_trip_time_s: Reading,
    /// Cumulative RTT over all responses, seconds.
    pub total_round_trip_time_s: Reading,
    /// Cumulative STUN responses received.
    pub responses_received: Reading,
    /// Cumulative STUN requests sent.
    pub requests_sent: Reading,
    /// Cumulative consent requests sent.
    pub consent_requests_sent: Reading,
    /// Bandwidth estimate for sending, bits per second.
    pub available_outgoing_bitrate_bps: Reading,
    /// Bandwidth estimate for receiving, bits per second.
    pub available_incoming_bitrate_bps: Reading,
    /// Cumulative bytes sent.
    pub bytes_sent: Reading,
    /// Cumulative bytes received.
    pub bytes_received: Reading,
    /// Cumulative packets sent.
    pub packets_sent: Reading,
    /// Cumulative packets received.
    pub packets_received: Reading,
}

/// A `candidate-pair` and its samples.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CandidatePair {
    /// The stats id (evidence only).
    pub stats_id: String,
    /// Stats id of the local candidate.
    pub local_candidate_id: Option<String>,
    /// Stats id of the remote candidate.
    pub remote_candidate_id: Option<String>,
    /// Transport stats id.
    pub transport_id: Option<String>,
    /// Samples in time order.
    pub samples: Vec<CandidatePairSample>,
    /// Its intervals, worked out on first use.
    pub memo: Memo,
}

/// One sample of a `transport` (Chrome and Safari; Firefox has none).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TransportSample {
    /// The stats timestamp.
    pub at: Timestamp,
    /// Selected pair's stats id.
    pub selected_candidate_pair_id: Option<String>,
    /// ICE transport state.
    pub ice_state: Option<String>,
    /// DTLS state.
    pub dtls_state: Option<String>,
    /// Cumulative selected-pair changes.
    pub selected_candidate_pair_changes: Reading,
    /// Cumulative bytes sent.
    pub bytes_sent: Reading,
    /// Cumulative bytes received.
    pub bytes_received: Reading,
}

/// A `transport` and its samples.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Transport {
    /// The stats id (evidence only).
    pub stats_id: String,
    /// ICE role.
    pub ice_role: Option<String>,
    /// Samples in time order.
    pub samples: Vec<TransportSample>,
}

/// A `media-source`: what the local capture produces.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MediaSource {
    /// The stats id (evidence only).
    pub stats_id: String,
    /// Audio or video.
    pub kind: Option<MediaKind>,
    /// Track identifier.
    pub track_identifier: Option<String>,
    /// Samples in time order.
    pub samples: Vec<MediaSourceSample>,
}

/// One sample of a `media-source`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MediaSourceSample {
    /// The stats timestamp.
    pub at: Timestamp,
    /// Audio level 0..1.
    pub audio_level: Reading,
    /// Captured width, pixels.
    pub width: Reading,
    /// Captured height, pixels.
    pub height: Reading,
    /// Capture frame rate.
    pub frames_per_second: Reading,
    /// Cumulative frames captured.
    pub frames: Reading,
}

/// A `codec` entry.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Codec {
    /// The stats id (evidence only).
    pub stats_id: String,
    /// `video/VP8`, `audio/opus`, ...
    pub mime_type: Option<String>,
    /// RTP payload type.
    pub payload_type: Option<u32>,
    /// Clock rate, Hz.
    pub clock_rate: Option<u32>,
    /// Channels.
    pub channels: Option<u32>,
    /// `a=fmtp` parameters.
    pub sdp_fmtp_line: Option<String>,
}

/// Bandwidth estimation figures from legacy Chrome `VideoBwe` reports.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BandwidthSample {
    /// The stats timestamp.
    pub at: Timestamp,
    /// Available send bandwidth, bits per second.
    pub available_send_bps: Reading,
    /// Available receive bandwidth, bits per second.
    pub available_receive_bps: Reading,
    /// Encoder target bitrate, bits per second.
    pub target_encode_bps: Reading,
    /// Actual encoder bitrate, bits per second.
    pub actual_encode_bps: Reading,
    /// Transmit bitrate, bits per second.
    pub transmit_bps: Reading,
    /// Retransmit bitrate, bits per second.
    pub retransmit_bps: Reading,
}
