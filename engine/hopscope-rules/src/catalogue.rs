//! What rules can talk about: the metrics and attributes of each scope, with their types,
//! units and meaning. This is the vocabulary the validator checks names against and the
//! documentation `hopscope rules metrics` prints.

use serde::Serialize;

/// What a rule is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// One RTP stream as one endpoint sees it (received, or one sent layer).
    Stream,
    /// One peer connection.
    PeerConnection,
    /// One participant.
    Participant,
    /// One directed link of the path graph.
    Hop,
    /// The whole conference.
    Conference,
}

impl Scope {
    /// Every scope.
    pub const ALL: [Scope; 5] =
        [Scope::Stream, Scope::PeerConnection, Scope::Participant, Scope::Hop, Scope::Conference];

    /// Parses the YAML spelling.
    pub fn parse(text: &str) -> Option<Scope> {
        Some(match text {
            "stream" => Scope::Stream,
            "peer_connection" | "peer-connection" => Scope::PeerConnection,
            "participant" => Scope::Participant,
            "hop" => Scope::Hop,
            "conference" => Scope::Conference,
            _ => return None,
        })
    }

    /// The YAML spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Stream => "stream",
            Scope::PeerConnection => "peer_connection",
            Scope::Participant => "participant",
            Scope::Hop => "hop",
            Scope::Conference => "conference",
        }
    }

    /// The metrics of this scope.
    pub fn metrics(self) -> &'static [MetricDef] {
        match self {
            Scope::Stream => STREAM,
            Scope::PeerConnection => PEER_CONNECTION,
            Scope::Participant => PARTICIPANT,
            Scope::Hop => HOP,
            Scope::Conference => CONFERENCE,
        }
    }

    /// A metric by name.
    pub fn metric(self, name: &str) -> Option<(MetricId, &'static MetricDef)> {
        self.metrics().iter().enumerate().find(|(_, m)| m.name == name).map(|(i, m)| (MetricId(i as u16), m))
    }

    /// Whether a metric is an attribute fixed for the entity's life (direction, kind,
    /// browser, ...), so a `where:` on it can be decided once per entity.
    pub fn is_fixed(self, metric: MetricId) -> bool {
        let fixed: &[&str] = match self {
            Scope::Stream => {
                &["participant", "peer_connection", "direction", "kind", "codec", "sender", "screenshare"]
            }
            Scope::PeerConnection => &["participant", "peer_connection", "remote", "has_media", "ice_policy"],
            Scope::Participant => {
                &["participant", "browser", "browser_version", "browser_age", "os", "user_agent_disagrees"]
            }
            Scope::Hop => &["hop", "from", "to", "from_kind", "to_kind"],
            Scope::Conference => &["conference", "topology"],
        };
        self.metrics().get(usize::from(metric.0)).is_some_and(|m| fixed.contains(&m.name))
    }

    /// Collections reachable from this scope for `count(...)`, `any(...)`, ...
    pub fn collections(self) -> &'static [(&'static str, Scope)] {
        match self {
            Scope::Conference => &[
                ("participants", Scope::Participant),
                ("peer_connections", Scope::PeerConnection),
                ("streams", Scope::Stream),
                ("hops", Scope::Hop),
            ],
            Scope::Participant => &[("peer_connections", Scope::PeerConnection), ("streams", Scope::Stream)],
            Scope::PeerConnection => &[("streams", Scope::Stream)],
            Scope::Stream | Scope::Hop => &[],
        }
    }
}

/// Index of a metric within its scope's list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MetricId(pub u16);

/// A physical dimension: numbers of different dimensions never compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dimension {
    /// Durations, canonical unit milliseconds.
    Time,
    /// Percent, 0–100.
    Percent,
    /// A fraction 0–1.
    Ratio,
    /// Bitrate, canonical unit kbit/s.
    Bitrate,
    /// Frames per second.
    FrameRate,
    /// Packets per second.
    PacketRate,
    /// A count.
    Count,
    /// A quality score (MOS 1–5, R 0–100, Q 1–5).
    Score,
    /// Pixels.
    Pixels,
    /// A plain number (a version, a rating).
    Plain,
}

impl Dimension {
    /// How the canonical unit is named in messages.
    pub fn describe(self) -> &'static str {
        match self {
            Dimension::Time => "a duration (ms)",
            Dimension::Percent => "a percentage",
            Dimension::Ratio => "a fraction (0–1)",
            Dimension::Bitrate => "a bitrate (kbit/s)",
            Dimension::FrameRate => "a frame rate (fps)",
            Dimension::PacketRate => "a packet rate (packets/s)",
            Dimension::Count => "a count",
            Dimension::Score => "a score",
            Dimension::Pixels => "pixels",
            Dimension::Plain => "a plain number",
        }
    }
}

/// The type of a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValueType {
    /// A number of some dimension.
    Number(Dimension),
    /// Yes or no.
    Bool,
    /// Text.
    Text,
}

impl ValueType {
    /// For messages.
    pub fn describe(self) -> String {
        match self {
            ValueType::Number(d) => d.describe().to_string(),
            ValueType::Bool => "yes/no".into(),
            ValueType::Text => "text".into(),
        }
    }
}

/// One metric or attribute.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MetricDef {
    /// The name rules use.
    pub name: &'static str,
    /// Its type.
    pub ty: ValueType,
    /// Unit suffix for messages (`ms`, `%`, `kbit/s`), empty for none.
    pub unit: &'static str,
    /// The range a value can take, for spotting conditions that can never hold.
    pub range: (f64, f64),
    /// What it means.
    pub doc: &'static str,
}

const INF: f64 = f64::INFINITY;

macro_rules! m {
    ($name:literal, num($dim:ident), $unit:literal, $lo:expr, $hi:expr, $doc:literal) => {
        MetricDef {
            name: $name,
            ty: ValueType::Number(Dimension::$dim),
            unit: $unit,
            range: ($lo, $hi),
            doc: $doc,
        }
    };
    ($name:literal, bool, $doc:literal) => {
        MetricDef { name: $name, ty: ValueType::Bool, unit: "", range: (0.0, 1.0), doc: $doc }
    };
    ($name:literal, text, $doc:literal) => {
        MetricDef { name: $name, ty: ValueType::Text, unit: "", range: (0.0, 0.0), doc: $doc }
    };
}

/// Stream metrics, per sampling interval.
pub static STREAM: &[MetricDef] = &[
    m!("participant", text, "the endpoint whose data this is"),
    m!("peer_connection", text, "its peer connection"),
    m!("direction", text, "`inbound` (received) or `outbound` (one sent layer)"),
    m!("kind", text, "`audio` or `video`"),
    m!("codec", text, "codec mime type, e.g. `audio/opus`"),
    m!("sender", text, "for received streams: who sent it, when the conference holds the sender's data"),
    m!("screenshare", bool, "the stream carries a screen share"),
    m!("active", bool, "packets flowed in the interval"),
    m!(
        "loss_percent",
        num(Percent),
        "%",
        0.0,
        100.0,
        "packet loss: measured by the receiver for inbound streams, reported back over RTCP for outbound ones"
    ),
    m!(
        "media_loss_percent",
        num(Percent),
        "%",
        0.0,
        100.0,
        "inbound loss among media packets (retransmissions removed)"
    ),
    m!(
        "jitter_ms",
        num(Time),
        "ms",
        0.0,
        INF,
        "interarrival jitter (inbound: ours; outbound: the receiver's)"
    ),
    m!(
        "rtt_ms",
        num(Time),
        "ms",
        0.0,
        INF,
        "round-trip time: RTCP for outbound streams, the connection's for inbound"
    ),
    m!("bitrate_kbps", num(Bitrate), "kbit/s", 0.0, INF, "payload bitrate"),
    m!("packet_rate", num(PacketRate), "packets/s", 0.0, INF, "packets per second"),
    m!("fps", num(FrameRate), "fps", 0.0, INF, "frames per second (decoded inbound, encoded outbound)"),
    m!("frame_width", num(Pixels), "px", 0.0, INF, "frame width"),
    m!("frame_height", num(Pixels), "px", 0.0, INF, "frame height"),
    m!("freezes", num(Count), "", 0.0, INF, "video freezes that ended in the interval"),
    m!("frozen_percent", num(Percent), "%", 0.0, 100.0, "share of the interval the video was frozen"),
    m!(
        "concealment_percent",
        num(Percent),
        "%",
        0.0,
        100.0,
        "share of received audio samples concealed (silence excluded)"
    ),
    m!("jitter_buffer_ms", num(Time), "ms", 0.0, INF, "mean jitter-buffer delay"),
    m!("nacks", num(Count), "", 0.0, INF, "NACKs sent (inbound) or received (outbound) in the interval"),
    m!("plis", num(Count), "", 0.0, INF, "picture-loss indications in the interval"),
    m!("frames_dropped", num(Count), "", 0.0, INF, "frames dropped before decoding in the interval"),
    m!(
        "cpu_limited_percent",
        num(Percent),
        "%",
        0.0,
        100.0,
        "outbound: share of the interval the encoder was CPU-limited"
    ),
    m!(
        "bandwidth_limited_percent",
        num(Percent),
        "%",
        0.0,
        100.0,
        "outbound: share of the interval the encoder was bandwidth-limited"
    ),
    m!(
        "quality_limitation",
        text,
        "outbound: `none`, `cpu`, `bandwidth` or `other` at the end of the interval"
    ),
    m!(
        "retransmit_percent",
        num(Percent),
        "%",
        0.0,
        100.0,
        "outbound: share of packets that were retransmissions"
    ),
    m!("target_bitrate_kbps", num(Bitrate), "kbit/s", 0.0, INF, "outbound: the encoder's target bitrate"),
    m!("audio_level", num(Ratio), "", 0.0, 1.0, "inbound: mean played-out audio level, 0–1"),
    m!("mos", num(Score), "", 1.0, 5.0, "audio MOS of the interval (ITU-T G.107), when it could be scored"),
    m!("r_factor", num(Score), "", 0.0, 100.0, "audio R of the interval (ITU-T G.107)"),
    m!(
        "video_quality",
        num(Score),
        "",
        1.0,
        5.0,
        "video quality Q of the interval (ITU-T P.1203.1 mode 0 with freeze penalty)"
    ),
    m!("quality_label", text, "`good`, `fair` or `poor` for the interval, when scored"),
    m!("quality_excluded", bool, "the interval was left out of scoring (muted, DTX, camera off)"),
];

/// Peer-connection metrics.
pub static PEER_CONNECTION: &[MetricDef] = &[
    m!("participant", text, "whose connection"),
    m!("peer_connection", text, "its id"),
    m!("remote", text, "what is at the far end: `sfu`, `peer` or `unknown`"),
    m!("ice_state", text, "ICE connection state at the time"),
    m!("connection_state", text, "connection state at the time"),
    m!("connected", bool, "ICE connected (or completed) at the time"),
    m!("ever_connected", bool, "ICE has connected at some point up to the time"),
    m!("failed", bool, "ICE or the connection has reported `failed` up to the time"),
    m!("closed", bool, "the application has closed it up to the time"),
    m!("age_ms", num(Time), "ms", 0.0, INF, "time since the connection was created"),
    m!("setup_ms", num(Time), "ms", 0.0, INF, "time from ICE checking to connected (known once connected)"),
    m!(
        "reconnections",
        num(Count),
        "",
        0.0,
        INF,
        "times ICE went disconnected and came back, up to the time"
    ),
    m!(
        "candidate_errors",
        num(Count),
        "",
        0.0,
        INF,
        "ICE candidate errors (STUN/TURN failures) up to the time"
    ),
    m!("last_candidate_error", text, "the latest ICE candidate error, e.g. `401 Unauthorized from turn:…`"),
    m!(
        "negotiation_failures",
        num(Count),
        "",
        0.0,
        INF,
        "failed createOffer/createAnswer/setDescription/addIceCandidate calls up to the time"
    ),
    m!("last_negotiation_error", text, "the latest negotiation failure"),
    m!("has_media", bool, "audio or video was ever attached (false for connectivity probes)"),
    m!("relay", bool, "the selected path goes through a TURN relay"),
    m!("relay_protocol", text, "TURN transport of the selected path: `udp`, `tcp` or `tls`"),
    m!("local_candidate_type", text, "selected local candidate type: host, srflx, prflx, relay"),
    m!("remote_candidate_type", text, "selected remote candidate type"),
    m!("network_type", text, "interface type of the selected local candidate (Chrome only)"),
    m!("ice_policy", text, "`all` or `relay`"),
    m!("rtt_ms", num(Time), "ms", 0.0, INF, "round-trip time: ICE where reported, else RTCP"),
    m!("available_outgoing_kbps", num(Bitrate), "kbit/s", 0.0, INF, "the sender's bandwidth estimate"),
    m!("send_kbps", num(Bitrate), "kbit/s", 0.0, INF, "media bitrate sent"),
    m!("receive_kbps", num(Bitrate), "kbit/s", 0.0, INF, "media bitrate received"),
    m!("outbound_packet_rate", num(PacketRate), "packets/s", 0.0, INF, "media packets sent per second"),
    m!("inbound_packet_rate", num(PacketRate), "packets/s", 0.0, INF, "media packets received per second"),
];

/// Participant metrics.
pub static PARTICIPANT: &[MetricDef] = &[
    m!("participant", text, "the participant"),
    m!("browser", text, "browser family inferred from the stats: `Chrome`, `Firefox`, `Safari` or `unknown`"),
    m!(
        "browser_version",
        num(Plain),
        "",
        0.0,
        INF,
        "major version from the User-Agent, when it agrees with the stats"
    ),
    m!(
        "browser_age",
        num(Time),
        "ms",
        0.0,
        INF,
        "how old the browser's major version was at the call (estimated from the vendors' release cadence; write `365d`)"
    ),
    m!("os", text, "operating system from the User-Agent"),
    m!("user_agent_disagrees", bool, "the User-Agent names another browser than the stats show"),
    m!("media_requests", num(Count), "", 0.0, INF, "getUserMedia/getDisplayMedia requests up to the time"),
    m!(
        "media_failures",
        num(Count),
        "",
        0.0,
        INF,
        "failed getUserMedia/getDisplayMedia requests up to the time"
    ),
    m!("last_media_error", text, "the latest media-request error, e.g. `NotAllowedError`"),
    m!("media_connections", num(Count), "", 0.0, INF, "peer connections that carry media (probes excluded)"),
    m!("connected_media_connections", num(Count), "", 0.0, INF, "of those, connected at the time"),
    m!(
        "heard_mos",
        num(Score),
        "",
        1.0,
        5.0,
        "MOS of what they heard in the interval (received audio, pooled)"
    ),
    m!(
        "heard_loss_percent",
        num(Percent),
        "%",
        0.0,
        100.0,
        "loss on the audio they received in the interval"
    ),
    m!(
        "seen_video_quality",
        num(Score),
        "",
        1.0,
        5.0,
        "quality Q of the video they received in the interval"
    ),
    m!("feedback_rating", num(Plain), "", 1.0, 5.0, "the user's rating of the call (1–5), once given"),
];

/// Hop (directed link) metrics.
pub static HOP: &[MetricDef] = &[
    m!("hop", text, "the link, e.g. `alice's network (wifi) → TURN turn.example.com over tls`"),
    m!("from", text, "where packets come from"),
    m!("to", text, "where they go"),
    m!("from_kind", text, "kind of the first hop: endpoint, access-network, nat, turn, sfu, remote-peer"),
    m!("to_kind", text, "kind of the second hop"),
    m!("routes", num(Count), "", 0.0, INF, "routes measured across the link in the interval"),
    m!(
        "loss_percent",
        num(Percent),
        "%",
        0.0,
        100.0,
        "worst loss among the routes crossing the link, end to end"
    ),
    m!("jitter_ms", num(Time), "ms", 0.0, INF, "worst jitter among the routes crossing the link"),
    m!("rtt_ms", num(Time), "ms", 0.0, INF, "mean round-trip time of the routes crossing the link"),
    m!("bitrate_kbps", num(Bitrate), "kbit/s", 0.0, INF, "media bitrate carried across the link"),
];

/// Conference metrics.
pub static CONFERENCE: &[MetricDef] = &[
    m!("conference", text, "the conference id"),
    m!("topology", text, "`peer-to-peer`, `SFU`, `SFU and peer-to-peer` or `unknown`"),
    m!("participants", num(Count), "", 0.0, INF, "participants with data"),
    m!(
        "connected_participants",
        num(Count),
        "",
        0.0,
        INF,
        "participants with a connected media connection at the time"
    ),
    m!(
        "failed_participants",
        num(Count),
        "",
        0.0,
        INF,
        "participants none of whose media connections ever connected (known at the end)"
    ),
    m!("elapsed_ms", num(Time), "ms", 0.0, INF, "time since the conference started"),
    m!("ended", bool, "the last moment of the data"),
    m!(
        "outcome",
        text,
        "at the end: `completed`, `failed`, `partially_failed`, `dropped`, `aborted`, or `connecting` when the data ends mid-setup"
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_attributes_exist() {
        for scope in Scope::ALL {
            let fixed = (0..scope.metrics().len()).filter(|i| scope.is_fixed(MetricId(*i as u16))).count();
            assert!(fixed >= 2, "{scope:?} names fixed attributes that are not in its list");
        }
        let (kind, _) = Scope::Stream.metric("kind").expect("kind");
        let (loss, _) = Scope::Stream.metric("loss_percent").expect("loss");
        assert!(Scope::Stream.is_fixed(kind) && !Scope::Stream.is_fixed(loss));
    }

    #[test]
    fn names_are_unique_per_scope() {
        for scope in Scope::ALL {
            let mut names: Vec<&str> = scope.metrics().iter().map(|m| m.name).collect();
            let n = names.len();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), n, "{scope:?}");
        }
    }
}
