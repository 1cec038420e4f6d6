//! Events: state changes, ICE and negotiation outcomes, media requests, user feedback.
//!
//! Events are first-class: many calls fail before a single stats sample exists (ICE that
//! never starts, a camera that is blocked), and only events tell those stories.

use crate::time::Timestamp;

/// One thing that happened, at a point in time.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// When it happened.
    pub at: Timestamp,
    /// What happened.
    pub kind: EventKind,
}

/// What happened.
#[derive(Clone, Debug, PartialEq)]
pub enum EventKind {
    /// The peer connection was created, with its configuration when the dump carries it.
    Created,
    /// `iceConnectionState` changed.
    IceConnectionState(IceConnectionState),
    /// `connectionState` changed.
    ConnectionState(ConnectionState),
    /// `signalingState` changed.
    SignalingState(String),
    /// `iceGatheringState` changed.
    IceGatheringState(String),
    /// The DTLS transport changed state.
    DtlsState(String),
    /// A local ICE candidate was gathered; `None` marks the end of gathering.
    LocalCandidate(Option<String>),
    /// A remote ICE candidate was added (`addIceCandidate`).
    RemoteCandidate(Option<String>),
    /// An `icecandidateerror`: a STUN/TURN server could not be used.
    IceCandidateError(IceCandidateError),
    /// A negotiation step (createOffer, setRemoteDescription, ...) and how it ended.
    Negotiation {
        /// Which step.
        step: NegotiationStep,
        /// Started, succeeded or failed.
        outcome: Outcome,
    },
    /// `negotiationneeded` fired.
    NegotiationNeeded,
    /// A getUserMedia or getDisplayMedia request and how it ended.
    MediaRequest {
        /// Camera/microphone or screen.
        source: MediaRequestSource,
        /// Started, succeeded or failed.
        outcome: Outcome,
        /// What was asked for or obtained, compact (`audio+video`, `video`).
        detail: Option<String>,
    },
    /// A remote track arrived (`ontrack`/`onaddstream`).
    TrackAdded(String),
    /// A remote stream or track went away.
    TrackRemoved(String),
    /// The application closed the peer connection.
    Closed,
    /// The user rated the call.
    Feedback {
        /// 1 (worst) to 5 (best).
        rating: u8,
        /// Free text, if any.
        comment: Option<String>,
    },
    /// The collector lost its connection to the stats server and reconnected (`--disconnect--`).
    CollectorDisconnected,
    /// Anything else the dump recorded, kept for the timeline.
    Other {
        /// The event name as the dump spells it.
        name: String,
        /// A short rendering of its value.
        detail: Option<String>,
    },
}

/// How a request or step ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Issued, no answer yet.
    Started,
    /// Completed successfully.
    Succeeded,
    /// Failed; the error name and message as the browser reported them.
    Failed(String),
}

/// Negotiation steps that can fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NegotiationStep {
    /// `createOffer`.
    CreateOffer,
    /// `createAnswer`.
    CreateAnswer,
    /// `setLocalDescription`.
    SetLocalDescription,
    /// `setRemoteDescription`.
    SetRemoteDescription,
    /// `addIceCandidate`.
    AddIceCandidate,
}

impl NegotiationStep {
    /// The JavaScript method name.
    pub fn method_name(self) -> &'static str {
        match self {
            NegotiationStep::CreateOffer => "createOffer",
            NegotiationStep::CreateAnswer => "createAnswer",
            NegotiationStep::SetLocalDescription => "setLocalDescription",
            NegotiationStep::SetRemoteDescription => "setRemoteDescription",
            NegotiationStep::AddIceCandidate => "addIceCandidate",
        }
    }
}

/// Which media request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MediaRequestSource {
    /// `getUserMedia`: camera and/or microphone.
    UserMedia,
    /// `getDisplayMedia`: screen share.
    DisplayMedia,
}

/// An `icecandidateerror` event.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct IceCandidateError {
    /// The STUN/TURN server URL that failed.
    pub url: Option<String>,
    /// STUN error code (401 unauthorized, 701 unreachable, ...).
    pub error_code: Option<u16>,
    /// The browser's error text.
    pub error_text: Option<String>,
    /// Local address the request was sent from.
    pub address: Option<String>,
    /// Local port.
    pub port: Option<u16>,
}

/// W3C `RTCIceConnectionState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IceConnectionState {
    /// `new`
    New,
    /// `checking`
    Checking,
    /// `connected`
    Connected,
    /// `completed`
    Completed,
    /// `disconnected`
    Disconnected,
    /// `failed`
    Failed,
    /// `closed`
    Closed,
}

/// W3C `RTCPeerConnectionState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConnectionState {
    /// `new`
    New,
    /// `connecting`
    Connecting,
    /// `connected`
    Connected,
    /// `disconnected`
    Disconnected,
    /// `failed`
    Failed,
    /// `closed`
    Closed,
}

impl IceConnectionState {
    /// Parses the W3C spelling.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "new" => Self::New,
            "checking" => Self::Checking,
            "connected" => Self::Connected,
            "completed" => Self::Completed,
            "disconnected" => Self::Disconnected,
            "failed" => Self::Failed,
            "closed" => Self::Closed,
            _ => return None,
        })
    }

    /// The W3C spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Checking => "checking",
            Self::Connected => "connected",
            Self::Completed => "completed",
            Self::Disconnected => "disconnected",
            Self::Failed => "failed",
            Self::Closed => "closed",
        }
    }

    /// Media can flow in this state.
    pub fn is_connected(self) -> bool {
        matches!(self, Self::Connected | Self::Completed)
    }
}

impl ConnectionState {
    /// Parses the W3C spelling.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "new" => Self::New,
            "connecting" => Self::Connecting,
            "connected" => Self::Connected,
            "disconnected" => Self::Disconnected,
            "failed" => Self::Failed,
            "closed" => Self::Closed,
            _ => return None,
        })
    }

    /// The W3C spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Connecting => "connecting",
            Self::Connected => "connected",
            Self::Disconnected => "disconnected",
            Self::Failed => "failed",
            Self::Closed => "closed",
        }
    }
}

impl EventKind {
    /// A one-line rendering for timelines: `ice connected`, `createOffer failed: ...`.
    pub fn describe(&self) -> String {
        match self {
            EventKind::Created => "peer connection created".into(),
            EventKind::IceConnectionState(s) => format!("ICE {}", s.as_str()),
            EventKind::ConnectionState(s) => format!("connection {}", s.as_str()),
            EventKind::SignalingState(s) => format!("signaling {s}"),
            EventKind::IceGatheringState(s) => format!("ICE gathering {s}"),
            EventKind::DtlsState(s) => format!("DTLS {s}"),
            EventKind::LocalCandidate(Some(c)) => format!("local candidate {}", short_candidate(c)),
            EventKind::LocalCandidate(None) => "end of candidates".into(),
            EventKind::RemoteCandidate(Some(c)) => format!("remote candidate {}", short_candidate(c)),
            EventKind::RemoteCandidate(None) => "remote end of candidates".into(),
            EventKind::IceCandidateError(e) => {
                let mut text = String::from("ICE candidate error");
                if let Some(code) = e.error_code {
                    text.push_str(&format!(" {code}"));
                }
                if let Some(t) = &e.error_text {
                    text.push_str(&format!(" ({t})"));
                }
                if let Some(url) = &e.url {
                    text.push_str(&format!(" from {url}"));
                }
                text
            }
            EventKind::Negotiation { step, outcome } => match outcome {
                Outcome::Started => step.method_name().to_string(),
                Outcome::Succeeded => format!("{} succeeded", step.method_name()),
                Outcome::Failed(e) => format!("{} failed: {e}", step.method_name()),
            },
            EventKind::NegotiationNeeded => "negotiation needed".into(),
            EventKind::MediaRequest { source, outcome, detail } => {
                let name = match source {
                    MediaRequestSource::UserMedia => "getUserMedia",
                    MediaRequestSource::DisplayMedia => "getDisplayMedia",
                };
                let detail = detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default();
                match outcome {
                    Outcome::Started => format!("{name} requested{detail}"),
                    Outcome::Succeeded => format!("{name} succeeded{detail}"),
                    Outcome::Failed(e) => format!("{name} failed: {e}"),
                }
            }
            EventKind::TrackAdded(t) => format!("remote track added {t}"),
            EventKind::TrackRemoved(t) => format!("remote track removed {t}"),
            EventKind::Closed => "closed by the application".into(),
            EventKind::Feedback { rating, comment } => match comment {
                Some(c) => format!("user feedback {rating}/5: {c}"),
                None => format!("user feedback {rating}/5"),
            },
            EventKind::CollectorDisconnected => "stats collector reconnected".into(),
            EventKind::Other { name, detail } => match detail {
                Some(d) => format!("{name} {d}"),
                None => name.clone(),
            },
        }
    }

    /// Whether a timeline meant for people should show this event (candidate-by-candidate
    /// gathering and track bookkeeping are noise there).
    pub fn is_notable(&self) -> bool {
        !matches!(
            self,
            EventKind::LocalCandidate(_)
                | EventKind::RemoteCandidate(_)
                | EventKind::TrackAdded(_)
                | EventKind::TrackRemoved(_)
                | EventKind::NegotiationNeeded
                | EventKind::Other { .. }
                | EventKind::Negotiation { outcome: Outcome::Started | Outcome::Succeeded, .. }
        )
    }
}

/// `candidate:842163049 1 udp 1677729535 1.2.3.4 46154 typ srflx ...` → `udp 1.2.3.4:46154 srflx`.
fn short_candidate(line: &str) -> String {
    let parts: Vec<&str> = line.split_whitespace().collect();
    match (parts.get(2), parts.get(4), parts.get(5), parts.get(7)) {
        (Some(proto), Some(addr), Some(port), Some(typ)) => {
            format!("{} {addr}:{port} {typ}", proto.to_ascii_lowercase())
        }
        _ => line.chars().take(60).collect(),
    }
}
