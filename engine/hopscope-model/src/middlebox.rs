//! Observations from media servers and relays (SFU, TURN): the far side of each hop.
//!
//! Endpoint data sees a path end to end; a middlebox sees each client transport from the
//! middle, which is what splits an end-to-end problem into "upstream" and "downstream".
//! Units follow the rest of the model: seconds for time, bits/s for rates, cumulative
//! counters as `f64` exactly as the server reported them; a field the server did not send
//! is `None`, never 0. Which participant a record is gets decided when inputs are joined
//! into a conference ([`ParticipantMatch`]); a middlebox record alone never makes a
//! participant or a hop.

pub mod intervals;

use crate::events::IceConnectionState;
use crate::ids::ParticipantId;
use crate::stats::MediaKind;
use crate::time::Timestamp;

/// What kind of middlebox.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MiddleboxKind {
    /// A selective forwarding unit (media server).
    Sfu,
    /// A TURN relay.
    Turn,
}

impl MiddleboxKind {
    /// `sfu` or `turn`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sfu => "sfu",
            Self::Turn => "turn",
        }
    }
}

/// The transport between a client and a middlebox.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TransportProtocol {
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
    /// TLS over TCP.
    Tls,
}

impl TransportProtocol {
    /// Parses `udp`/`tcp`/`tls` (any case).
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "udp" => Some(Self::Udp),
            "tcp" => Some(Self::Tcp),
            "tls" => Some(Self::Tls),
            _ => None,
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

/// One middlebox's view of a conference.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MiddleboxObservation {
    /// SFU or TURN (`None` until known).
    pub kind: Option<MiddleboxKind>,
    /// The server's name (host name, instance id).
    pub server: String,
    /// The software (`JVB`, `coturn`, ...).
    pub software: Option<String>,
    /// Conference identifiers the server reported (`meetingUniqueId`, room name, ...).
    pub conference_keys: Vec<(String, String)>,
    /// SFU: per client transport.
    pub clients: Vec<MiddleboxClient>,
    /// TURN: per allocation.
    pub allocations: Vec<TurnAllocation>,
    /// TURN: allocations that failed.
    pub allocation_errors: Vec<TurnAllocationError>,
    /// What the source offered that we do not model, said precisely.
    pub not_modelled: Vec<String>,
}

use crate::conference::capacity_bytes;

impl MiddleboxObservation {
    /// About how many bytes its time series hold (see [`PeerConnection::series_bytes`]).
    ///
    /// [`PeerConnection::series_bytes`]: crate::PeerConnection::series_bytes
    pub fn series_bytes(&self) -> usize {
        let clients: usize = self
            .clients
            .iter()
            .map(|c| {
                capacity_bytes(&c.samples)
                    + c.inbound.iter().map(|s| capacity_bytes(&s.samples)).sum::<usize>()
                    + c.outbound.iter().map(|s| capacity_bytes(&s.samples)).sum::<usize>()
            })
            .sum();
        clients + self.allocations.iter().map(|a| capacity_bytes(&a.samples)).sum::<usize>()
    }
}

/// Which participant a middlebox record belongs to, decided when joining a conference.
#[derive(Clone, Debug, PartialEq)]
pub struct ParticipantMatch {
    /// The participant (an endpoint we have data from).
    pub participant: ParticipantId,
    /// Why, strongest first (`the SFU names it alice`, `remote address ... is alice's
    /// selected srflx candidate`, ...), so every attribution can be traced.
    pub evidence: Vec<String>,
    /// How far the server's clock is from the endpoint's, when the data bound it.
    pub clock_offset: Option<ClockOffset>,
}

/// Bounds on the server's clock minus the endpoint's: comparing their series needs it.
#[derive(Clone, Debug, PartialEq)]
pub struct ClockOffset {
    /// Smallest offset consistent with the data, seconds.
    pub min_s: f64,
    /// Largest offset consistent with the data, seconds.
    pub max_s: f64,
    /// What the bounds come from (`ICE connected`, `first media`).
    pub basis: String,
}

impl ClockOffset {
    /// The middle of the bounds, seconds.
    pub fn estimate_s(&self) -> f64 {
        (self.min_s + self.max_s) / 2.0
    }
}

/// A client transport as the middlebox saw it (one per transport: a client with separate
/// send and receive transports has two).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MiddleboxClient {
    /// The server's id for the client transport (transport id, JVB endpoint id, ...).
    pub id: String,
    /// A display name, when the server knows one.
    pub display_name: Option<String>,
    /// The participant id the server reported (the app's, as endpoints send it).
    pub reported_participant: Option<String>,
    /// The server's own address for this transport (`ip:port`).
    pub local_address: Option<String>,
    /// Each distinct address the server saw the client at, from when: the first is the
    /// initial one; more mean the client moved (ICE restart, network change).
    pub remote_addresses: Vec<(Timestamp, String)>,
    /// Client-to-server transport.
    pub protocol: Option<TransportProtocol>,
    /// Whether the client reaches the server through a TURN relay (the remote address is
    /// then the relay's).
    pub relayed: Option<bool>,
    /// Transport-level samples in time order.
    pub samples: Vec<MiddleboxClientSample>,
    /// Media the server receives from the client (upstream of the server), per SSRC.
    pub inbound: Vec<SfuInboundStream>,
    /// Media the server sends to the client (downstream of the server), per SSRC.
    pub outbound: Vec<SfuOutboundStream>,
    /// Which participant this is, once joined.
    pub matched: Option<ParticipantMatch>,
}

impl MiddleboxClient {
    /// The first address the server saw the client at.
    pub fn remote_address(&self) -> Option<&str> {
        self.remote_addresses.first().map(|(_, a)| a.as_str())
    }

    /// SSRCs the server receives from the client.
    pub fn inbound_ssrcs(&self) -> impl Iterator<Item = u32> + '_ {
        self.inbound.iter().filter_map(|s| s.ssrc)
    }
}

/// Cumulative counters and states of one client transport at one time.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MiddleboxClientSample {
    /// When (the server's clock).
    pub at: Timestamp,
    /// ICE state as the server sees it.
    pub ice_state: Option<IceConnectionState>,
    /// ICE connected, as the server sees it.
    pub ice_connected: Option<bool>,
    /// ICE failed, as the server sees it.
    pub ice_failed: Option<bool>,
    /// The server's round-trip time to the client (ICE or RTCP), seconds.
    pub rtt_s: Option<f64>,
    /// Cumulative packets received from the client (all kinds, transport level).
    pub packets_received: Option<f64>,
    /// Cumulative packets sent to the client (transport level).
    pub packets_sent: Option<f64>,
    /// Cumulative media bytes received from the client.
    pub bytes_received: Option<f64>,
    /// Receive bitrate from the client, bits per second.
    pub receive_bitrate_bps: Option<f64>,
}

/// Media the server receives from a client: one SSRC, or the whole transport when the
/// server reports totals only (`ssrc: None`, as JVB does).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SfuInboundStream {
    /// RTP SSRC; `None` for transport totals. Equals the sending endpoint's outbound SSRC.
    pub ssrc: Option<u32>,
    /// Audio or video, when reported.
    pub kind: Option<MediaKind>,
    /// Samples in time order.
    pub samples: Vec<SfuInboundSample>,
}

/// What the server measured on arrival from the client, cumulative.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SfuInboundSample {
    /// When (the server's clock).
    pub at: Timestamp,
    /// Packets received.
    pub packets_received: Option<f64>,
    /// Packets lost on the way from the client (may dip when late packets arrive).
    pub packets_lost: Option<f64>,
    /// Interarrival jitter at the server, seconds.
    pub jitter_s: Option<f64>,
    /// Bytes received.
    pub bytes_received: Option<f64>,
    /// NACKs the server sent to the client about this stream.
    pub nack_count: Option<f64>,
    /// PLIs the server sent to the client about this stream.
    pub pli_count: Option<f64>,
}

/// Media the server sends to a client: one SSRC, or the transport's totals (`ssrc: None`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SfuOutboundStream {
    /// RTP SSRC as sent to the client; `None` for transport totals.
    pub ssrc: Option<u32>,
    /// Audio or video, when reported.
    pub kind: Option<MediaKind>,
    /// The participant whose media this forwards, as the server names it.
    pub sender: Option<String>,
    /// Samples in time order.
    pub samples: Vec<SfuOutboundSample>,
}

/// What the server sent to the client and what the client's receiver reports said, cumulative.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SfuOutboundSample {
    /// When (the server's clock).
    pub at: Timestamp,
    /// Packets sent.
    pub packets_sent: Option<f64>,
    /// Bytes sent.
    pub bytes_sent: Option<f64>,
    /// Packets the client reported lost (RTCP RR, cumulative).
    pub packets_lost: Option<f64>,
    /// Packets the client reported receiving, when the server derives it (from the RRs'
    /// highest sequence number); no native field carries it yet.
    pub packets_received: Option<f64>,
    /// The last RR's fraction lost, 0..1.
    pub fraction_lost: Option<f64>,
    /// Round-trip time from the RRs, seconds.
    pub rtt_s: Option<f64>,
    /// NACKs the client sent about this stream.
    pub nack_count: Option<f64>,
    /// PLIs the client sent about this stream.
    pub pli_count: Option<f64>,
}

/// One TURN allocation: a client's relayed transport address.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TurnAllocation {
    /// The relay's id for the allocation.
    pub id: String,
    /// The participant id the relay reported, when it knows one.
    pub reported_participant: Option<String>,
    /// The TURN username (often `expiry:user` with TURN REST credentials).
    pub username: Option<String>,
    /// The client's address as the relay sees it (its srflx address behind a NAT).
    pub client_address: Option<String>,
    /// The relayed address the relay allocated (the client's relay candidate).
    pub relay_address: Option<String>,
    /// Client-to-relay transport.
    pub protocol: Option<TransportProtocol>,
    /// Peer addresses with permissions, in order first seen.
    pub peers: Vec<String>,
    /// Samples in time order.
    pub samples: Vec<TurnAllocationSample>,
    /// Which participant this is, once joined.
    pub matched: Option<ParticipantMatch>,
}

/// The relay's cumulative counters for one allocation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TurnAllocationSample {
    /// When (the relay's clock).
    pub at: Timestamp,
    /// Packets received from the client.
    pub packets_from_client: Option<f64>,
    /// Packets sent to the client.
    pub packets_to_client: Option<f64>,
    /// Bytes received from the client.
    pub bytes_from_client: Option<f64>,
    /// Bytes sent to the client.
    pub bytes_to_client: Option<f64>,
    /// Packets relayed to the peers.
    pub packets_to_peers: Option<f64>,
    /// Packets received from the peers.
    pub packets_from_peers: Option<f64>,
}

/// An allocation the relay refused.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TurnAllocationError {
    /// When (the relay's clock).
    pub at: Timestamp,
    /// The client's address as the relay saw it.
    pub client_address: Option<String>,
    /// STUN error code (401 bad credentials, 486 allocation quota, 508 insufficient capacity).
    pub code: Option<u16>,
    /// The reason phrase.
    pub reason: Option<String>,
    /// The username the client tried.
    pub username: Option<String>,
    /// Which participant this was, once joined.
    pub matched: Option<ParticipantMatch>,
}
