//! Observations from media servers and relays (SFU, TURN): the far side of each hop.
//!
//! Endpoint data sees a path end to end; a middlebox sees each client transport from the
//! middle, which is what splits an end-to-end problem into "upstream" and "downstream".

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
    /// Per client transport.
    pub clients: Vec<MiddleboxClient>,
    /// What the source offered that we do not model, said precisely.
    pub not_modelled: Vec<String>,
}

/// A client transport as the middlebox saw it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MiddleboxClient {
    /// The server's id for the client (endpoint id, allocation, ...).
    pub id: String,
    /// A display name, when the server knows one.
    pub display_name: Option<String>,
    /// Samples in time order.
    pub samples: Vec<MiddleboxClientSample>,
}

/// Cumulative counters and states of one client transport at one time.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MiddleboxClientSample {
    /// When.
    pub at: Timestamp,
    /// ICE connected, as the server sees it.
    pub ice_connected: Option<bool>,
    /// ICE failed, as the server sees it.
    pub ice_failed: Option<bool>,
    /// Cumulative packets received from the client.
    pub packets_received: Option<f64>,
    /// Cumulative packets sent to the client.
    pub packets_sent: Option<f64>,
    /// Cumulative media bytes received from the client.
    pub bytes_received: Option<f64>,
    /// Receive bitrate from the client, bits per second.
    pub receive_bitrate_bps: Option<f64>,
}
