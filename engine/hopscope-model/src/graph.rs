//! The connection-path graph of a conference.
//!
//! Nodes are hops a media packet crosses: an endpoint, its access network, its NAT, TURN
//! relays, SFUs and remote peers. Directed edges join adjacent hops, one per direction.
//! A *route* is the path one peer connection used while one candidate pair was selected;
//! when the selection changes (network switch, relay → direct) a new route begins. Routes
//! carry the interval metrics measured end to end along them, per direction, and every
//! edge a route crosses carries those series too (`PathGraph::link_series`): from endpoint
//! data alone a measurement covers a whole route, so an edge's series says which route it
//! came from rather than pretending to be a per-hop measurement.
//!
//! petgraph stays private: callers see hops, links and routes by index.

use std::collections::{BTreeSet, HashMap};

use petgraph::graph::{DiGraph, EdgeIndex, NodeIndex};
use petgraph::visit::EdgeRef;

use crate::conference::{Conference, Participant, PeerConnection, RemoteKind};
use crate::ids::{ParticipantId, PeerConnectionId};
use crate::stats::{CandidatePair, CandidateType, IceCandidate, NetworkType, RelayProtocol};
use crate::time::Timestamp;

/// What kind of hop a node is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HopKind {
    /// A participant's device and browser.
    Endpoint,
    /// The local network the device is on (Wi-Fi, Ethernet, cellular, VPN).
    AccessNetwork,
    /// A NAT with the public address the world sees.
    Nat,
    /// A TURN relay.
    TurnRelay,
    /// A media server.
    Sfu,
    /// The far end of a peer-to-peer connection we have no data from.
    RemotePeer,
}

impl HopKind {
    /// Short lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Endpoint => "endpoint",
            Self::AccessNetwork => "access-network",
            Self::Nat => "nat",
            Self::TurnRelay => "turn",
            Self::Sfu => "sfu",
            Self::RemotePeer => "remote-peer",
        }
    }
}

/// A node of the path graph.
#[derive(Clone, Debug, PartialEq)]
pub struct Hop {
    /// What it is.
    pub kind: HopKind,
    /// Stable key (`endpoint:alice`, `turn:turn.example.com`), unique in the graph.
    pub key: String,
    /// Human label (`alice's network (wifi)`, `TURN turn.example.com over tls`).
    pub label: String,
    /// The participant it belongs to, for endpoint-side hops.
    pub participant: Option<ParticipantId>,
    /// Interface type, for access networks.
    pub network_type: Option<NetworkType>,
    /// Public or relay address, when known and not anonymised.
    pub address: Option<String>,
    /// TURN transport, for relays.
    pub relay_protocol: Option<RelayProtocol>,
    /// TURN server URL, for relays.
    pub server_url: Option<String>,
}

/// Index of a hop in a [`PathGraph`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HopId(usize);

impl HopId {
    /// Position in [`PathGraph::hops`].
    pub fn index(self) -> usize {
        self.0
    }
}

/// Which way along a route a series flows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Flow {
    /// From the route's endpoint towards the far end (what it sends).
    Outgoing,
    /// From the far end towards the route's endpoint (what it receives).
    Incoming,
}

/// Metrics of one direction of a route over one interval.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PathWindow {
    /// Start of the interval.
    pub start: Timestamp,
    /// End of the interval.
    pub end: Timestamp,
    /// Packet loss, 0..1: receiver-measured for incoming media, RTCP-reported for outgoing.
    pub loss_fraction: Option<f64>,
    /// Worst stream jitter, milliseconds.
    pub jitter_ms: Option<f64>,
    /// Round-trip time, milliseconds: RTCP for outgoing, ICE for incoming when nothing else.
    pub rtt_ms: Option<f64>,
    /// Media bitrate summed over active streams, bits per second.
    pub bitrate_bps: Option<f64>,
    /// Packets per second summed over active streams.
    pub packet_rate: Option<f64>,
    /// Sender-side bandwidth estimate, bits per second (outgoing only).
    pub available_bitrate_bps: Option<f64>,
    /// How many streams contributed.
    pub active_streams: u32,
}

/// The path one peer connection used while one candidate pair was selected.
#[derive(Clone, Debug, PartialEq)]
pub struct Route {
    /// The participant whose data this is.
    pub participant: ParticipantId,
    /// Their peer connection.
    pub peer_connection: PeerConnectionId,
    /// Stats id of the selected pair (evidence).
    pub pair_stats_id: String,
    /// Local candidate type and remote candidate type, e.g. (`relay`, `srflx`).
    pub candidate_types: (Option<CandidateType>, Option<CandidateType>),
    /// Hops from the endpoint to the far end, in order.
    pub hops: Vec<HopId>,
    /// When this pair was selected.
    pub from: Timestamp,
    /// Until when (the next selection or the end of data).
    pub until: Timestamp,
    /// What the endpoint sent, per interval.
    pub outgoing: Vec<PathWindow>,
    /// What the endpoint received, per interval.
    pub incoming: Vec<PathWindow>,
    /// ICE round-trip time along the whole route, per interval, milliseconds.
    pub ice_rtt_ms: Vec<(Timestamp, f64)>,
}

/// A directed edge between adjacent hops.
#[derive(Clone, Debug, Default, PartialEq)]
struct Link {
    /// Routes crossing this edge, and in which direction of theirs.
    crossings: Vec<(usize, Flow)>,
}

/// A directed link as callers see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkView {
    /// Where packets come from.
    pub from: HopId,
    /// Where they go.
    pub to: HopId,
}

/// One series carried by a link: the windows of a route direction that crosses it.
#[derive(Clone, Copy, Debug)]
pub struct LinkSeries<'a> {
    /// The route the measurement covers (end to end).
    pub route: &'a Route,
    /// Which of its directions.
    pub flow: Flow,
    /// The measurements.
    pub windows: &'a [PathWindow],
}

/// The connection-path graph of one conference.
#[derive(Clone, Debug, Default)]
pub struct PathGraph {
    graph: DiGraph<Hop, Link>,
    keys: HashMap<String, NodeIndex>,
    routes: Vec<Route>,
    /// Peer connections that never had a selected pair (failed ICE, probes), by participant.
    pub unrouted: Vec<(ParticipantId, PeerConnectionId)>,
}

impl PathGraph {
    /// Builds the graph of a conference: one route per selected pair of every peer
    /// connection, joined where participants share hops (the same SFU, matched peers).
    pub fn build(conference: &Conference) -> PathGraph {
        let mut g = PathGraph::default();
        let peers = match_peers(conference);
        for (pi, participant) in conference.participants.iter().enumerate() {
            for (ci, pc) in participant.peer_connections.iter().enumerate() {
                let spans = selection_spans(pc);
                if spans.is_empty() {
                    g.unrouted.push((participant.id.clone(), pc.id.clone()));
                    continue;
                }
                let peer = peers.get(&(pi, ci)).map(|&(qi, qc)| {
                    (&conference.participants[qi], &conference.participants[qi].peer_connections[qc])
                });
                for (pair, from, until) in spans {
                    g.add_route(conference, participant, pc, pair, from, until, peer);
                }
            }
        }
        g
    }

    /// All hops, indexable by [`HopId::index`].
    pub fn hops(&self) -> impl Iterator<Item = (HopId, &Hop)> {
        self.graph.node_indices().map(|n| (HopId(n.index()), &self.graph[n]))
    }

    /// One hop.
    pub fn hop(&self, id: HopId) -> Option<&Hop> {
        self.graph.node_weight(NodeIndex::new(id.0))
    }

    /// Looks a hop up by key.
    pub fn hop_by_key(&self, key: &str) -> Option<HopId> {
        self.keys.get(key).map(|n| HopId(n.index()))
    }

    /// Number of hops.
    pub fn hop_count(&self) -> usize {
        self.graph.node_count()
    }

    /// All directed links.
    pub fn links(&self) -> impl Iterator<Item = LinkView> + '_ {
        self.graph
            .edge_references()
            .map(|e| LinkView { from: HopId(e.source().index()), to: HopId(e.target().index()) })
    }

    /// Number of directed links.
    pub fn link_count(&self) -> usize {
        self.graph.edge_count()
    }

    /// The series a directed link carries: every route direction that crosses it.
    pub fn link_series(&self, from: HopId, to: HopId) -> Vec<LinkSeries<'_>> {
        let Some(edge) = self.graph.find_edge(NodeIndex::new(from.0), NodeIndex::new(to.0)) else {
            return Vec::new();
        };
        self.graph[edge]
            .crossings
            .iter()
            .filter_map(|&(r, flow)| {
                let route = self.routes.get(r)?;
                let windows = match flow {
                    Flow::Outgoing => &route.outgoing,
                    Flow::Incoming => &route.incoming,
                };
                Some(LinkSeries { route, flow, windows })
            })
            .collect()
    }

    /// All routes.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// Hops shared by routes of more than one participant (a common SFU or TURN server).
    pub fn shared_hops(&self) -> Vec<HopId> {
        let mut users: HashMap<HopId, BTreeSet<&ParticipantId>> = HashMap::new();
        for r in &self.routes {
            for h in &r.hops {
                users.entry(*h).or_default().insert(&r.participant);
            }
        }
        let mut shared: Vec<HopId> = users.into_iter().filter(|(_, u)| u.len() > 1).map(|(h, _)| h).collect();
        shared.sort();
        shared
    }

    fn hop_id(&mut self, hop: Hop) -> NodeIndex {
        if let Some(&n) = self.keys.get(&hop.key) {
            return n;
        }
        let key = hop.key.clone();
        let n = self.graph.add_node(hop);
        self.keys.insert(key, n);
        n
    }

    fn edge(&mut self, a: NodeIndex, b: NodeIndex) -> EdgeIndex {
        match self.graph.find_edge(a, b) {
            Some(e) => e,
            None => self.graph.add_edge(a, b, Link::default()),
        }
    }

    #[allow(clippy::too_many_arguments, reason = "one call site; the arguments are the route's coordinates")]
    fn add_route(
        &mut self,
        conference: &Conference,
        participant: &Participant,
        pc: &PeerConnection,
        pair: &CandidatePair,
        from: Timestamp,
        until: Timestamp,
        peer: Option<(&Participant, &PeerConnection)>,
    ) {
        let local = pair.local_candidate_id.as_deref().and_then(|id| pc.candidate(id));
        let remote = pair.remote_candidate_id.as_deref().and_then(|id| pc.candidate(id));
        let mut chain = local_chain(participant, local);
        let far = match (pc.remote_kind, peer) {
            (RemoteKind::Sfu, _) => {
                let mut far = Vec::new();
                if remote.is_some_and(|c| c.candidate_type == Some(CandidateType::Relay)) {
                    far.push(remote_turn(remote));
                }
                far.push(sfu_hop(conference, remote));
                far
            }
            (_, Some((q, qpc))) => {
                // The matched peer's own view of its side, reversed: ... → its NAT → it.
                let qlocal = qpc
                    .selected_pair_at(from)
                    .and_then(|p| p.local_candidate_id.as_deref())
                    .and_then(|id| qpc.candidate(id));
                let mut far = local_chain(q, qlocal);
                far.reverse();
                far
            }
            _ => {
                let mut far = Vec::new();
                match remote.and_then(|c| c.candidate_type) {
                    Some(CandidateType::Relay) => far.push(remote_turn(remote)),
                    Some(CandidateType::Srflx | CandidateType::Prflx) => {
                        far.push(remote_nat(participant, pc, remote))
                    }
                    _ => {}
                }
                far.push(remote_peer(participant, pc, remote));
                far
            }
        };
        chain.extend(far);
        let mut nodes: Vec<NodeIndex> = chain.into_iter().map(|h| self.hop_id(h)).collect();
        // Both sides relayed by the same TURN server: one hop, not a loop onto itself.
        nodes.dedup();
        let route_index = self.routes.len();
        for w in nodes.windows(2) {
            let out = self.edge(w[0], w[1]);
            self.graph[out].crossings.push((route_index, Flow::Outgoing));
            let back = self.edge(w[1], w[0]);
            self.graph[back].crossings.push((route_index, Flow::Incoming));
        }
        let (outgoing, incoming, ice_rtt_ms) = route_windows(pc, pair, from, until);
        self.routes.push(Route {
            participant: participant.id.clone(),
            peer_connection: pc.id.clone(),
            pair_stats_id: pair.stats_id.clone(),
            candidate_types: (local.and_then(|c| c.candidate_type), remote.and_then(|c| c.candidate_type)),
            hops: nodes.into_iter().map(|n| HopId(n.index())).collect(),
            from,
            until,
            outgoing,
            incoming,
            ice_rtt_ms,
        });
    }
}

/// The selected pairs of a peer connection as (pair, from, until) spans.
fn selection_spans(pc: &PeerConnection) -> Vec<(&CandidatePair, Timestamp, Timestamp)> {
    let end = pc.time_range().map(|(_, b)| b).unwrap_or_default();
    let mut spans = Vec::new();
    for (i, change) in pc.selected_pairs.iter().enumerate() {
        let Some(pair) = pc.candidate_pair(&change.pair_stats_id) else { continue };
        let until = pc.selected_pairs.get(i + 1).map(|n| n.at).unwrap_or(end).max(change.at);
        spans.push((pair, change.at, until));
    }
    spans
}

/// Endpoint → access network → NAT → TURN, as seen from a participant's local candidate.
fn local_chain(participant: &Participant, local: Option<&IceCandidate>) -> Vec<Hop> {
    let name = participant.id.as_str();
    let mut chain = vec![Hop {
        kind: HopKind::Endpoint,
        key: format!("endpoint:{name}"),
        label: name.to_string(),
        participant: Some(participant.id.clone()),
        network_type: None,
        address: None,
        relay_protocol: None,
        server_url: None,
    }];
    let network = local.and_then(|c| c.network_type);
    let network_name = network.map(NetworkType::as_str).unwrap_or("unknown type");
    chain.push(Hop {
        kind: HopKind::AccessNetwork,
        key: format!("access:{name}:{network_name}"),
        label: format!("{name}'s network ({network_name})"),
        participant: Some(participant.id.clone()),
        network_type: network,
        address: None,
        relay_protocol: None,
        server_url: None,
    });
    let Some(local) = local else { return chain };
    if local.is_relayed() {
        chain.push(turn_hop(local, false));
    } else if matches!(local.candidate_type, Some(CandidateType::Srflx | CandidateType::Prflx)) {
        let address = local.endpoint();
        chain.push(Hop {
            kind: HopKind::Nat,
            key: format!("nat:{name}"),
            label: match &address {
                Some(a) => format!("{name}'s NAT (public {a})"),
                None => format!("{name}'s NAT"),
            },
            participant: Some(participant.id.clone()),
            network_type: None,
            address,
            relay_protocol: None,
            server_url: None,
        });
    }
    chain
}

/// A TURN hop from a relay candidate. Keyed by the TURN server (URL host) when known, so
/// everyone using the same server shares one node; else by relay address.
fn turn_hop(candidate: &IceCandidate, remote_side: bool) -> Hop {
    let server = candidate.url.as_deref().and_then(turn_server_host);
    let protocol = candidate.relay_transport();
    let key_part = server
        .clone()
        .or_else(|| candidate.address.clone().filter(|a| !crate::stats::is_anonymised(a)))
        .unwrap_or_else(|| format!("{}-relay", candidate.stats_id));
    let who = if remote_side { "remote peer's TURN" } else { "TURN" };
    let label = match (&server, protocol) {
        (Some(s), Some(p)) => format!("{who} {s} over {}", p.as_str()),
        (Some(s), None) => format!("{who} {s}"),
        (None, Some(p)) => format!("{who} relay over {}", p.as_str()),
        (None, None) => format!("{who} relay"),
    };
    Hop {
        kind: HopKind::TurnRelay,
        key: format!("turn:{key_part}"),
        label,
        participant: None,
        network_type: None,
        address: candidate.endpoint(),
        relay_protocol: protocol,
        server_url: candidate.url.clone(),
    }
}

/// `turns:turn.example.com:443?transport=tcp` → `turn.example.com`.
fn turn_server_host(url: &str) -> Option<String> {
    let rest = url.split_once(':')?.1;
    let rest = rest.trim_start_matches('/');
    let host = rest.split(['?', '/']).next()?;
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    };
    (!host.is_empty()).then(|| host.to_string())
}

fn remote_turn(remote: Option<&IceCandidate>) -> Hop {
    match remote {
        Some(c) => turn_hop(c, true),
        None => Hop {
            kind: HopKind::TurnRelay,
            key: "turn:remote".into(),
            label: "remote TURN relay".into(),
            participant: None,
            network_type: None,
            address: None,
            relay_protocol: None,
            server_url: None,
        },
    }
}

fn sfu_hop(conference: &Conference, remote: Option<&IceCandidate>) -> Hop {
    // SFUs use one address for many clients; anonymised dumps leave only "the SFU of this
    // conference".
    let address = remote.and_then(|c| c.address.clone()).filter(|a| !crate::stats::is_anonymised(a));
    let (key, label) = match &address {
        Some(a) => (format!("sfu:{a}"), format!("SFU {a}")),
        None => (format!("sfu:{}", conference.id), "SFU".to_string()),
    };
    Hop {
        kind: HopKind::Sfu,
        key,
        label,
        participant: None,
        network_type: None,
        address,
        relay_protocol: None,
        server_url: None,
    }
}

fn remote_nat(participant: &Participant, pc: &PeerConnection, remote: Option<&IceCandidate>) -> Hop {
    let address = remote.and_then(IceCandidate::endpoint);
    Hop {
        kind: HopKind::Nat,
        key: format!("nat:peer-of:{}:{}", participant.id, pc.id),
        label: match &address {
            Some(a) => format!("remote peer's NAT (public {a})"),
            None => "remote peer's NAT".into(),
        },
        participant: None,
        network_type: None,
        address,
        relay_protocol: None,
        server_url: None,
    }
}

fn remote_peer(participant: &Participant, pc: &PeerConnection, remote: Option<&IceCandidate>) -> Hop {
    let what = if pc.remote_kind == RemoteKind::Peer { "remote peer" } else { "remote end" };
    Hop {
        kind: HopKind::RemotePeer,
        key: format!("peer-of:{}:{}", participant.id, pc.id),
        label: format!("{what} of {} {}", participant.id, pc.id),
        participant: None,
        network_type: None,
        address: remote.and_then(IceCandidate::endpoint),
        relay_protocol: None,
        server_url: None,
    }
}

/// Matches peer-to-peer connections across participants: the same SSRCs flowing in
/// opposite directions, or one side's remote candidate being the other's local one.
/// Returns (participant, pc) → (participant, pc), both as indices.
pub fn match_peers(conference: &Conference) -> HashMap<(usize, usize), (usize, usize)> {
    let mut matches = HashMap::new();
    let ps = &conference.participants;
    for (pi, p) in ps.iter().enumerate() {
        for (ci, pc) in p.peer_connections.iter().enumerate() {
            if pc.remote_kind == RemoteKind::Sfu {
                continue;
            }
            let sent: BTreeSet<u32> = pc.outbound.iter().filter_map(|s| s.info.ssrc).collect();
            let remote_addrs: BTreeSet<String> = selected_endpoints(pc, true);
            'search: for (qi, q) in ps.iter().enumerate() {
                for (qc, qpc) in q.peer_connections.iter().enumerate() {
                    // Both ends can live in one page (loopback tests): match PCs, not people.
                    if (qi, qc) == (pi, ci) || qpc.remote_kind == RemoteKind::Sfu {
                        continue;
                    }
                    // Both directions must match: an SFU forwards SSRCs unchanged too, but
                    // then each side also receives other people's media.
                    let received_by_q: BTreeSet<u32> =
                        qpc.inbound.iter().filter_map(|s| s.info.ssrc).collect();
                    let sent_by_q: BTreeSet<u32> = qpc.outbound.iter().filter_map(|s| s.info.ssrc).collect();
                    let received: BTreeSet<u32> = pc.inbound.iter().filter_map(|s| s.info.ssrc).collect();
                    let ssrc_match = !sent.is_empty()
                        && !sent.is_disjoint(&received_by_q)
                        && !sent_by_q.is_disjoint(&received)
                        && received.is_subset(&sent_by_q);
                    let addr_match = !remote_addrs.is_empty()
                        && !selected_endpoints(qpc, false).is_disjoint(&remote_addrs);
                    if ssrc_match || addr_match {
                        matches.insert((pi, ci), (qi, qc));
                        break 'search;
                    }
                }
            }
        }
    }
    matches
}

/// Addresses of the local (or remote) candidates of every selected pair.
fn selected_endpoints(pc: &PeerConnection, remote: bool) -> BTreeSet<String> {
    pc.selected_pairs
        .iter()
        .filter_map(|c| pc.candidate_pair(&c.pair_stats_id))
        .filter_map(
            |p| if remote { p.remote_candidate_id.as_deref() } else { p.local_candidate_id.as_deref() },
        )
        .filter_map(|id| pc.candidate(id))
        .filter_map(IceCandidate::endpoint)
        .collect()
}

/// Per-interval metrics along one route, both directions, from the peer connection's
/// streams between `from` and `until`.
fn route_windows(
    pc: &PeerConnection,
    pair: &CandidatePair,
    from: Timestamp,
    until: Timestamp,
) -> (Vec<PathWindow>, Vec<PathWindow>, Vec<(Timestamp, f64)>) {
    let mut grid: Vec<Timestamp> =
        pc.stats_times.iter().copied().filter(|t| *t >= from && *t <= until).collect();
    grid.sort();
    grid.dedup();
    if grid.len() < 2 {
        return (Vec::new(), Vec::new(), Vec::new());
    }
    let slot_of = |end: Timestamp| -> Option<usize> {
        if end <= grid[0] || end > until {
            return None;
        }
        let i = grid.partition_point(|g| *g < end);
        (i < grid.len()).then_some(i)
    };
    let blank = |i: usize| PathWindow { start: grid[i - 1], end: grid[i], ..PathWindow::default() };
    let mut outgoing: Vec<PathWindow> = (1..grid.len()).map(blank).collect();
    let mut incoming: Vec<PathWindow> = (1..grid.len()).map(blank).collect();
    // Loss is pooled by packets, not averaged over streams.
    let mut in_lost = vec![0.0; grid.len()];
    let mut in_total = vec![0.0; grid.len()];

    for stream in &pc.inbound {
        for iv in stream.intervals() {
            let Some(i) = slot_of(iv.end) else { continue };
            if !iv.active {
                continue;
            }
            let w = &mut incoming[i - 1];
            w.active_streams += 1;
            add(&mut w.bitrate_bps, iv.bitrate_bps);
            add(&mut w.packet_rate, iv.packet_rate);
            worst(&mut w.jitter_ms, iv.jitter_ms);
            if let (Some(l), Some(r)) = (iv.packets_lost, iv.packets_received) {
                in_lost[i] += l;
                in_total[i] += l + r;
            }
        }
    }
    for (i, w) in incoming.iter_mut().enumerate() {
        if in_total[i + 1] > 0.0 {
            w.loss_fraction = Some(in_lost[i + 1] / in_total[i + 1]);
        }
    }
    for stream in &pc.outbound {
        for iv in stream.intervals() {
            let Some(i) = slot_of(iv.end) else { continue };
            if !iv.active {
                continue;
            }
            let w = &mut outgoing[i - 1];
            w.active_streams += 1;
            add(&mut w.bitrate_bps, iv.bitrate_bps);
            add(&mut w.packet_rate, iv.packet_rate);
        }
    }
    let mut rtcp_rtt: Vec<(f64, u32)> = vec![(0.0, 0); grid.len()];
    for stream in &pc.remote_inbound {
        for iv in stream.intervals() {
            let Some(i) = slot_of(iv.end) else { continue };
            let w = &mut outgoing[i - 1];
            worst(&mut w.loss_fraction, iv.loss_fraction);
            worst(&mut w.jitter_ms, iv.jitter_ms);
            if let Some(r) = iv.rtt_ms {
                rtcp_rtt[i].0 += r;
                rtcp_rtt[i].1 += 1;
            }
        }
    }
    for (i, w) in outgoing.iter_mut().enumerate() {
        let (sum, n) = rtcp_rtt[i + 1];
        if n > 0 {
            w.rtt_ms = Some(sum / f64::from(n));
        }
    }
    let mut ice_rtt_ms = Vec::new();
    for iv in pair.intervals() {
        if let Some(r) = iv.rtt_ms
            && iv.end >= from
            && iv.end <= until
        {
            ice_rtt_ms.push((iv.end, r));
        }
        let Some(i) = slot_of(iv.end) else { continue };
        outgoing[i - 1].available_bitrate_bps = iv.available_outgoing_bitrate_bps;
        if incoming[i - 1].rtt_ms.is_none() {
            incoming[i - 1].rtt_ms = iv.rtt_ms;
        }
        if outgoing[i - 1].rtt_ms.is_none() {
            outgoing[i - 1].rtt_ms = iv.rtt_ms;
        }
    }
    (outgoing, incoming, ice_rtt_ms)
}

fn add(acc: &mut Option<f64>, v: Option<f64>) {
    if let Some(v) = v {
        *acc = Some(acc.unwrap_or(0.0) + v);
    }
}

fn worst(acc: &mut Option<f64>, v: Option<f64>) {
    if let Some(v) = v {
        *acc = Some(acc.map_or(v, |a| a.max(v)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turn_host_from_urls() {
        assert_eq!(
            turn_server_host("turns:meet-jit-si-turnrelay.jitsi.net:443?transport=tcp").as_deref(),
            Some("meet-jit-si-turnrelay.jitsi.net")
        );
        assert_eq!(turn_server_host("turn:10.0.0.1:3478").as_deref(), Some("10.0.0.1"));
        assert_eq!(turn_server_host("turn:turn.example.org").as_deref(), Some("turn.example.org"));
        assert_eq!(turn_server_host("garbage"), None);
    }
}
