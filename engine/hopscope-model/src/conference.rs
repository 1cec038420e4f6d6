//! The conference model: conference → participants → peer connections → streams, events.

use crate::events::{ConnectionState, Event, EventKind, IceConnectionState};
use crate::ids::{ConferenceId, ParticipantId, PeerConnectionId};
use crate::stats::{
    BandwidthSample, CandidatePair, Codec, IceCandidate, InboundRtpStream, MediaSource, OutboundRtpStream,
    RemoteInboundRtpStream, RemoteOutboundRtpStream, Transport,
};
use crate::time::Timestamp;

/// One call: everyone in it, and what we could not determine.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Conference {
    /// The conference id (from the data, or derived from the input).
    pub id: ConferenceId,
    /// Everyone we have data from.
    pub participants: Vec<Participant>,
    /// Why these participants were joined into one conference.
    pub joined_by: Vec<String>,
    /// What media servers and relays reported about this conference.
    pub middleboxes: Vec<crate::middlebox::MiddleboxObservation>,
    /// Things about the input a reader should know (skipped lines, unsupported parts, ...).
    pub notes: Vec<DataNote>,
}

impl Conference {
    /// The earliest and latest time seen in any participant.
    pub fn time_range(&self) -> Option<(Timestamp, Timestamp)> {
        self.participants
            .iter()
            .filter_map(Participant::time_range)
            .reduce(|(a0, a1), (b0, b1)| (a0.min(b0), a1.max(b1)))
    }

    /// Looks a participant up by id.
    pub fn participant(&self, id: &ParticipantId) -> Option<&Participant> {
        self.participants.iter().find(|p| &p.id == id)
    }
}

/// A remark about the input data, with where it applies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataNote {
    /// Which file or source it concerns.
    pub source: String,
    /// Where in the source (`line 12`, `byte 3071`, `PC_1`), when known.
    pub location: Option<String>,
    /// What we noticed.
    pub message: String,
}

/// Someone in the call, as seen from their own endpoint's data.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Participant {
    /// How the data names them, else the file stem.
    pub id: ParticipantId,
    /// Application-level identifiers found in the data (endpoint id, user id, ...).
    pub identifiers: Vec<(String, String)>,
    /// Where the data came from.
    pub source: SourceInfo,
    /// Browser and device.
    pub client: ClientInfo,
    /// Peer connections in creation order.
    pub peer_connections: Vec<PeerConnection>,
    /// Events not tied to a peer connection (getUserMedia, feedback, ...).
    pub events: Vec<Event>,
}

impl Participant {
    /// The earliest and latest time seen in this participant's data.
    pub fn time_range(&self) -> Option<(Timestamp, Timestamp)> {
        let event_times = self.events.iter().map(|e| e.at);
        let pc_times =
            self.peer_connections.iter().filter_map(PeerConnection::time_range).flat_map(|(a, b)| [a, b]);
        let mut all = event_times.chain(pc_times);
        let first = all.next()?;
        Some(all.fold((first, first), |(lo, hi), t| (lo.min(t), hi.max(t))))
    }

    /// Looks up an application identifier (`endpointId`, `userId`, `conference`, ...).
    pub fn identifier(&self, key: &str) -> Option<&str> {
        self.identifiers.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// The file or stream a participant's data came from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceInfo {
    /// File name or other label.
    pub name: String,
    /// Detected format.
    pub format: String,
}

/// Browser family as inferred from the stats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BrowserFamily {
    /// Chrome, Chromium, Edge and other Chromium-based browsers.
    Chromium,
    /// Firefox.
    Firefox,
    /// Safari / WebKit.
    Safari,
}

impl BrowserFamily {
    /// Display name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Chromium => "Chrome",
            Self::Firefox => "Firefox",
            Self::Safari => "Safari",
        }
    }
}

/// What we know about the client software.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClientInfo {
    /// The User-Agent string as recorded (it can lie: dumps get edited).
    pub user_agent: Option<String>,
    /// Family and major version parsed from the User-Agent.
    pub user_agent_browser: Option<(BrowserFamily, Option<u32>)>,
    /// Family inferred from which stats fields are present.
    pub inferred_family: Option<BrowserFamily>,
    /// The era of the stats format (`legacy goog* stats`, `spec stats, old id scheme`, ...).
    pub stats_dialect: Option<String>,
    /// Approximate version range from the field set, e.g. `≤ 96`, `≥ 110`.
    pub inferred_version: Option<String>,
    /// Why we inferred what we did.
    pub evidence: Vec<String>,
    /// Operating system from the User-Agent.
    pub os: Option<String>,
    /// Page URL or origin, when recorded.
    pub origin: Option<String>,
}

impl ClientInfo {
    /// Whether the User-Agent contradicts what the stats fields say.
    pub fn user_agent_disagrees(&self) -> bool {
        matches!((self.user_agent_browser, self.inferred_family), (Some((ua, _)), Some(inf)) if ua != inf)
    }
}

/// What sits at the other end of a peer connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum RemoteKind {
    /// A media server (SFU/MCU).
    Sfu,
    /// Another endpoint (peer-to-peer).
    Peer,
    /// We cannot tell.
    #[default]
    Unknown,
}

impl RemoteKind {
    /// `sfu`, `peer` or `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sfu => "sfu",
            Self::Peer => "peer",
            Self::Unknown => "unknown",
        }
    }
}

/// An ICE server from the RTCConfiguration (credentials are never kept).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IceServer {
    /// `stun:`/`turn:`/`turns:` URLs.
    pub urls: Vec<String>,
}

/// The parts of `RTCConfiguration` that matter for diagnosis.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RtcConfiguration {
    /// Configured ICE servers.
    pub ice_servers: Vec<IceServer>,
    /// `all` or `relay`.
    pub ice_transport_policy: Option<String>,
    /// Bundle policy.
    pub bundle_policy: Option<String>,
    /// `plan-b` or `unified-plan`.
    pub sdp_semantics: Option<String>,
}

/// A change of the selected candidate pair.
#[derive(Clone, Debug, PartialEq)]
pub struct SelectedPairChange {
    /// When the change was first observed.
    pub at: Timestamp,
    /// Stats id of the now-selected pair (an index into `candidate_pairs` by stats id).
    pub pair_stats_id: String,
}

/// One `RTCPeerConnection`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PeerConnection {
    /// Unique within the participant.
    pub id: PeerConnectionId,
    /// The configuration passed at creation, if recorded.
    pub configuration: Option<RtcConfiguration>,
    /// What is at the other end, and why we think so.
    pub remote_kind: RemoteKind,
    /// Evidence for `remote_kind`.
    pub remote_kind_evidence: Option<String>,
    /// Events in time order.
    pub events: Vec<Event>,
    /// Candidates as last reported.
    pub candidates: Vec<IceCandidate>,
    /// Candidate pairs with their samples.
    pub candidate_pairs: Vec<CandidatePair>,
    /// How the selected pair changed over time.
    pub selected_pairs: Vec<SelectedPairChange>,
    /// Transports (none in Firefox).
    pub transports: Vec<Transport>,
    /// What we receive.
    pub inbound: Vec<InboundRtpStream>,
    /// What we send, one per simulcast layer.
    pub outbound: Vec<OutboundRtpStream>,
    /// RTCP receiver reports about what we send.
    pub remote_inbound: Vec<RemoteInboundRtpStream>,
    /// RTCP sender reports about what we receive.
    pub remote_outbound: Vec<RemoteOutboundRtpStream>,
    /// Local capture.
    pub media_sources: Vec<MediaSource>,
    /// Codecs in use.
    pub codecs: Vec<Codec>,
    /// Legacy bandwidth-estimation samples.
    pub bandwidth: Vec<BandwidthSample>,
    /// Times at which a stats report was taken.
    pub stats_times: Vec<Timestamp>,
}

/// Bytes a vector holds room for: what its series takes in memory, for memory budgets.
pub fn capacity_bytes<T>(v: &Vec<T>) -> usize {
    v.capacity() * std::mem::size_of::<T>()
}

impl PeerConnection {
    /// About how many bytes its time series hold (samples, events, report times): what
    /// grows with a call's length, for memory budgets. Ids, names and other fixed parts are
    /// left out.
    pub fn series_bytes(&self) -> usize {
        let streams = self.inbound.iter().map(|s| capacity_bytes(&s.samples)).sum::<usize>()
            + self.outbound.iter().map(|s| capacity_bytes(&s.samples)).sum::<usize>()
            + self.remote_inbound.iter().map(|s| capacity_bytes(&s.samples)).sum::<usize>()
            + self.remote_outbound.iter().map(|s| capacity_bytes(&s.samples)).sum::<usize>()
            + self.media_sources.iter().map(|s| capacity_bytes(&s.samples)).sum::<usize>()
            + self.transports.iter().map(|s| capacity_bytes(&s.samples)).sum::<usize>()
            + self.candidate_pairs.iter().map(|s| capacity_bytes(&s.samples)).sum::<usize>();
        streams
            + capacity_bytes(&self.events)
            + capacity_bytes(&self.bandwidth)
            + capacity_bytes(&self.stats_times)
            + capacity_bytes(&self.selected_pairs)
    }

    /// First and last time seen (events or stats).
    pub fn time_range(&self) -> Option<(Timestamp, Timestamp)> {
        let mut times = self.events.iter().map(|e| e.at).chain(self.stats_times.iter().copied());
        let first = times.next()?;
        Some(times.fold((first, first), |(lo, hi), t| (lo.min(t), hi.max(t))))
    }

    /// Looks up a candidate by stats id.
    pub fn candidate(&self, stats_id: &str) -> Option<&IceCandidate> {
        self.candidates.iter().find(|c| c.stats_id == stats_id)
    }

    /// Looks up a candidate pair by stats id.
    pub fn candidate_pair(&self, stats_id: &str) -> Option<&CandidatePair> {
        self.candidate_pairs.iter().find(|p| p.stats_id == stats_id)
    }

    /// The ICE connection states in order, from events.
    pub fn ice_states(&self) -> impl Iterator<Item = (Timestamp, IceConnectionState)> + '_ {
        self.events.iter().filter_map(|e| match e.kind {
            EventKind::IceConnectionState(s) => Some((e.at, s)),
            _ => None,
        })
    }

    /// The connection states in order, from events.
    pub fn connection_states(&self) -> impl Iterator<Item = (Timestamp, ConnectionState)> + '_ {
        self.events.iter().filter_map(|e| match e.kind {
            EventKind::ConnectionState(s) => Some((e.at, s)),
            _ => None,
        })
    }

    /// Whether the media connection ever came up: a connected state event, or a selected
    /// pair that carried traffic when the dump has no events. A connection state that went
    /// `connecting` and never `connected` means ICE may have connected but DTLS did not,
    /// so no media could flow.
    pub fn ever_connected(&self) -> bool {
        let mut connecting = false;
        for (_, s) in self.connection_states() {
            match s {
                ConnectionState::Connected => return true,
                ConnectionState::Connecting => connecting = true,
                _ => {}
            }
        }
        if connecting {
            return false;
        }
        self.ice_states().any(|(_, s)| s.is_connected())
            || (!self.selected_pairs.is_empty()
                && self
                    .candidate_pairs
                    .iter()
                    .any(|p| p.samples.iter().any(|s| s.bytes_received.is_some_and(|b| b > 0.0))))
    }

    /// The pair selected at time `t` (the last selection at or before `t`, else the first).
    pub fn selected_pair_at(&self, t: Timestamp) -> Option<&CandidatePair> {
        let change =
            self.selected_pairs.iter().rev().find(|c| c.at <= t).or_else(|| self.selected_pairs.first())?;
        self.candidate_pair(&change.pair_stats_id)
    }

    /// The outbound stream a remote-inbound report refers to, by SSRC.
    pub fn outbound_for_ssrc(&self, ssrc: u32) -> Option<&OutboundRtpStream> {
        self.outbound.iter().find(|s| s.info.ssrc == Some(ssrc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pc(events: &[EventKind]) -> PeerConnection {
        let events = events
            .iter()
            .enumerate()
            .map(|(i, kind)| Event {
                at: Timestamp::default().plus_ms(1000.0 * i as f64),
                kind: kind.clone(),
            })
            .collect();
        PeerConnection { events, ..PeerConnection::default() }
    }

    #[test]
    fn ice_connected_without_dtls_is_not_a_media_connection() {
        use ConnectionState as C;
        use EventKind::{ConnectionState as Conn, IceConnectionState as Ice};
        use IceConnectionState as I;
        // The answer's fingerprint is bad: ICE connects, DTLS never does.
        assert!(!pc(&[Ice(I::Checking), Conn(C::Connecting), Ice(I::Connected)]).ever_connected());
        assert!(
            pc(&[Ice(I::Checking), Conn(C::Connecting), Ice(I::Connected), Conn(C::Connected)])
                .ever_connected()
        );
        // Browsers without connectionState: ICE decides.
        assert!(pc(&[Ice(I::Checking), Ice(I::Connected)]).ever_connected());
        assert!(!pc(&[Ice(I::Checking), Ice(I::Failed)]).ever_connected());
    }
}
