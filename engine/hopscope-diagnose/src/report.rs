//! The diagnosis of one conference, as data (serialisable: this is a wire type).

use hopscope_model::events::{ConnectionState, EventKind, IceConnectionState};
use hopscope_model::graph::{HopKind, PathGraph};
use hopscope_model::stats::MediaKind;
use hopscope_model::{BrowserFamily, Conference, Participant, PeerConnection, RemoteKind, Timestamp};
use serde::Serialize;

use crate::summary::{self, FlowSummary, Range, StreamSummary};

/// Everything hopscope can say about one conference.
#[derive(Clone, Debug, Serialize)]
pub struct Diagnosis {
    /// Conference id.
    pub conference: String,
    /// Why the inputs were joined into this conference.
    pub joined_by: Vec<String>,
    /// First and last time seen (RFC 3339).
    pub started_at: Option<String>,
    /// Last time seen (RFC 3339).
    pub ended_at: Option<String>,
    /// Seconds between them.
    pub duration_s: Option<f64>,
    /// `peer-to-peer`, `SFU`, `SFU and peer-to-peer`, or `unknown`.
    pub topology: String,
    /// How the call went, as callstats.io defined it: `completed`, `failed`,
    /// `partially_failed`, `dropped`, `aborted`, or `connecting` (the data ends mid-setup).
    pub outcome: String,
    /// The conference told in plain English, a paragraph per root cause.
    pub narrative: crate::explain::Narrative,
    /// Root causes: which hop caused each problem, with evidence and confidence.
    pub attribution: hopscope_attribute::Attribution,
    /// One entry per participant.
    pub participants: Vec<ParticipantReport>,
    /// The connection-path graph.
    pub path: PathReport,
    /// Notable events across the call, in time order.
    pub timeline: Vec<TimelineEntry>,
    /// What media servers and relays reported.
    pub middleboxes: Vec<MiddleboxReport>,
    /// What the rules found, most severe first, then by time.
    pub findings: Vec<hopscope_rules::finding::Finding>,
    /// Perceived quality: per participant (heard/saw, and what others got from them) and
    /// for the conference.
    pub quality: QualityReport,
    /// What could not be determined, and why.
    pub undetermined: Vec<String>,
    /// Remarks about the input data.
    pub notes: Vec<String>,
}

/// Perceived quality across the conference.
#[derive(Clone, Debug, Serialize)]
pub struct QualityReport {
    /// Distribution and worst participant.
    pub conference: hopscope_score::ConferenceSummary,
    /// Per participant, in order.
    pub participants: Vec<hopscope_score::ParticipantQuality>,
}

/// One participant.
#[derive(Clone, Debug, Serialize)]
pub struct ParticipantReport {
    /// Name.
    pub id: String,
    /// Input file and format.
    pub source: String,
    /// Format.
    pub format: String,
    /// Browser, as the fields show and as the User-Agent claims.
    pub browser: BrowserReport,
    /// Operating system from the User-Agent.
    pub os: Option<String>,
    /// Application identifiers found (endpoint id, user id, ...).
    pub identifiers: Vec<(String, String)>,
    /// getUserMedia / getDisplayMedia requests and outcomes.
    pub media_requests: Vec<String>,
    /// Peer connections.
    pub peer_connections: Vec<PcReport>,
}

/// What browser produced the data.
#[derive(Clone, Debug, Serialize)]
pub struct BrowserReport {
    /// The family inferred from the stats fields (trust this one).
    pub inferred: Option<String>,
    /// Approximate version from the field set.
    pub inferred_version: Option<String>,
    /// Stats dialect.
    pub dialect: Option<String>,
    /// Why.
    pub evidence: Vec<String>,
    /// Family and major version claimed by the User-Agent.
    pub user_agent_claims: Option<String>,
    /// The User-Agent string.
    pub user_agent: Option<String>,
    /// The User-Agent disagrees with the fields (edited or prepended metadata).
    pub user_agent_disagrees: bool,
}

/// One peer connection.
#[derive(Clone, Debug, Serialize)]
pub struct PcReport {
    /// Id within the participant.
    pub id: String,
    /// `sfu`, `peer` or `unknown`.
    pub remote: &'static str,
    /// Why we think so.
    pub remote_evidence: Option<String>,
    /// `connected`, `failed after connecting`, `never connected (ICE failed)`, ...
    pub outcome: String,
    /// ICE connection states in order.
    pub ice_states: Vec<String>,
    /// From the first `checking` (or creation) to the first `connected`, milliseconds.
    pub setup_ms: Option<f64>,
    /// How often ICE went disconnected and came back.
    pub reconnections: usize,
    /// Configured ICE servers and policy.
    pub ice_servers: Vec<String>,
    /// `all` or `relay`.
    pub ice_transport_policy: Option<String>,
    /// Selected candidate pairs over time.
    pub selected_paths: Vec<SelectedPathReport>,
    /// ICE candidate errors.
    pub candidate_errors: Vec<String>,
    /// Negotiation failures.
    pub negotiation_failures: Vec<String>,
    /// Streams received, sent and reported back.
    pub streams: Vec<StreamSummary>,
    /// Streams that never carried a packet (paused, unsubscribed), counted not listed.
    pub inactive_streams: usize,
}

/// A selected candidate pair and what it looked like.
#[derive(Clone, Debug, Serialize)]
pub struct SelectedPathReport {
    /// When it was selected (RFC 3339).
    pub from: String,
    /// `relay (tls) → srflx`, `host → host`.
    pub description: String,
    /// Local candidate type.
    pub local_type: Option<String>,
    /// Remote candidate type.
    pub remote_type: Option<String>,
    /// Transport between the browser and the next hop (`udp`/`tcp`).
    pub protocol: Option<String>,
    /// TURN transport, when relayed.
    pub relay_protocol: Option<String>,
    /// TURN server URL, when relayed.
    pub relay_url: Option<String>,
    /// Network interface type, when reported.
    pub network_type: Option<String>,
    /// ICE round-trip time on this pair, milliseconds.
    pub rtt_ms: Option<Range>,
    /// Bandwidth estimate on this pair, kbit/s.
    pub available_outgoing_kbps: Option<Range>,
}

/// The path graph as a report shows it.
#[derive(Clone, Debug, Serialize)]
pub struct PathReport {
    /// Hops.
    pub hops: Vec<HopReport>,
    /// Directed links with the series they carry.
    pub links: Vec<LinkReport>,
    /// Routes: one per selected pair of each peer connection.
    pub routes: Vec<RouteReport>,
    /// Hops more than one participant's media crossed.
    pub shared_hops: Vec<String>,
    /// Peer connections that never had a selected path.
    pub unrouted: Vec<String>,
}

/// A hop.
#[derive(Clone, Debug, Serialize)]
pub struct HopReport {
    /// Stable key.
    pub key: String,
    /// Kind.
    pub kind: &'static str,
    /// Label.
    pub label: String,
}

/// A directed link.
#[derive(Clone, Debug, Serialize)]
pub struct LinkReport {
    /// From hop key.
    pub from: String,
    /// To hop key.
    pub to: String,
    /// Routes whose measurements cover this link: `participant/pc (outgoing|incoming)`.
    pub carried_by: Vec<String>,
}

/// A route and its measurements.
#[derive(Clone, Debug, Serialize)]
pub struct RouteReport {
    /// Whose.
    pub participant: String,
    /// Which peer connection.
    pub peer_connection: String,
    /// Hop labels in order.
    pub hops: Vec<String>,
    /// Hop keys in order.
    pub hop_keys: Vec<String>,
    /// From (RFC 3339).
    pub from: String,
    /// Until (RFC 3339).
    pub until: String,
    /// What the endpoint sent.
    pub outgoing: FlowSummary,
    /// What it received.
    pub incoming: FlowSummary,
    /// ICE RTT along the route, milliseconds.
    pub ice_rtt_ms: Option<Range>,
}

/// One line of the timeline.
#[derive(Clone, Debug, Serialize)]
pub struct TimelineEntry {
    /// RFC 3339.
    pub at: String,
    /// Seconds since the conference's first event.
    pub offset_s: f64,
    /// Whose.
    pub participant: String,
    /// Peer connection, when the event is about one.
    pub peer_connection: Option<String>,
    /// What happened.
    pub event: String,
}

/// A middlebox's view.
#[derive(Clone, Debug, Serialize)]
pub struct MiddleboxReport {
    /// `sfu` or `turn`.
    pub kind: Option<&'static str>,
    /// Server name.
    pub server: String,
    /// Software.
    pub software: Option<String>,
    /// Client transports.
    pub clients: Vec<MiddleboxClientReport>,
    /// TURN allocations.
    pub allocations: Vec<TurnAllocationReport>,
    /// TURN allocations the relay refused.
    pub allocation_errors: Vec<TurnErrorReport>,
    /// What the source offered that is not modelled.
    pub not_modelled: Vec<String>,
}

/// A client transport as a middlebox saw it.
#[derive(Clone, Debug, Serialize)]
pub struct MiddleboxClientReport {
    /// Server-side id.
    pub id: String,
    /// Samples.
    pub samples: usize,
    /// ICE connected at the end.
    pub ice_connected: Option<bool>,
    /// ICE failed at any time.
    pub ice_failed: bool,
    /// Packets received from the client over the observation.
    pub packets_received: Option<f64>,
    /// Packets sent to the client.
    pub packets_sent: Option<f64>,
    /// Receive bitrate from the client, kbit/s.
    pub receive_kbps: Option<Range>,
    /// The participant this transport was matched to, if any.
    pub participant: Option<String>,
    /// Why it was matched to that participant.
    pub participant_evidence: Vec<String>,
    /// The client's address as the server saw it (first seen).
    pub remote_address: Option<String>,
    /// Whether the client reached the server through a TURN relay.
    pub relayed: Option<bool>,
    /// Loss from the client to the server per interval, percent.
    pub upstream_loss_pct: Option<Range>,
    /// Worst stream's jitter at the server per interval, ms.
    pub upstream_jitter_ms: Option<Range>,
    /// Loss from the server to the client (the client's receiver reports), percent.
    pub downstream_loss_pct: Option<Range>,
    /// The server's RTT to the client, ms.
    pub rtt_ms: Option<Range>,
    /// The server's clock minus the participant's, seconds, when the data bound it.
    pub clock_offset_s: Option<f64>,
}

/// A TURN allocation as the relay saw it.
#[derive(Clone, Debug, Serialize)]
pub struct TurnAllocationReport {
    /// The relay's id for it.
    pub id: String,
    /// The participant it was matched to, if any.
    pub participant: Option<String>,
    /// Why it was matched to that participant.
    pub participant_evidence: Vec<String>,
    /// The client's address as the relay saw it.
    pub client_address: Option<String>,
    /// The relayed address.
    pub relay_address: Option<String>,
    /// Client-to-relay transport.
    pub protocol: Option<&'static str>,
    /// Peers with permissions.
    pub peers: usize,
    /// Samples.
    pub samples: usize,
    /// Packets from the client over the observation.
    pub packets_from_client: Option<f64>,
    /// Packets to the client over the observation.
    pub packets_to_client: Option<f64>,
    /// Loss inside the relay from the client to its peers per interval, percent.
    pub client_to_peers_loss_pct: Option<Range>,
    /// Loss inside the relay from the peers to the client per interval, percent.
    pub peers_to_client_loss_pct: Option<Range>,
}

/// An allocation the relay refused.
#[derive(Clone, Debug, Serialize)]
pub struct TurnErrorReport {
    /// When (RFC 3339, the relay's clock).
    pub at: String,
    /// STUN error code.
    pub code: Option<u16>,
    /// Reason phrase.
    pub reason: Option<String>,
    /// The client's address as the relay saw it.
    pub client_address: Option<String>,
    /// The participant it was matched to, if any.
    pub participant: Option<String>,
    /// Why it was matched to that participant.
    pub participant_evidence: Vec<String>,
}

/// How to diagnose.
#[derive(Clone, Debug)]
pub struct Options<'a> {
    /// Quality-model settings.
    pub quality: hopscope_score::QualityConfig,
    /// Rules to evaluate.
    pub rules: &'a [hopscope_rules::rule::Rule],
    /// More kinds of rules (Rhai scripts, plugins), run after the YAML rules and seeing
    /// their findings.
    pub kinds: &'a [&'a dyn hopscope_rules::harness::RuleKind],
}

impl Default for Options<'static> {
    fn default() -> Self {
        Options {
            quality: hopscope_score::QualityConfig::default(),
            rules: &hopscope_rules::pack::builtin_default().rules,
            kinds: &[],
        }
    }
}

/// Builds the diagnosis of a conference with the default quality settings and the
/// built-in rule pack.
pub fn diagnose(conference: &Conference) -> Diagnosis {
    diagnose_with(conference, &Options::default())
}

/// Builds the diagnosis of a conference.
pub fn diagnose_with(conference: &Conference, options: &Options<'_>) -> Diagnosis {
    let quality = &options.quality;
    let graph = PathGraph::build(conference);
    let range = conference.time_range();
    let origin = range.map(|(a, _)| a);
    let scores = hopscope_score::score_conference(conference, quality);
    let view = hopscope_rules::view::View::build_with(conference, &scores);
    let mut findings = hopscope_rules::eval::evaluate(options.rules, &view);
    for kind in options.kinds {
        let more = kind.evaluate_after(conference, &view, &findings);
        findings.extend(more);
    }
    let attribution = hopscope_attribute::attribute(conference, &view, &findings);
    // Most severe first; within a severity, in time order (evaluate sorts by time).
    findings.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.raised_ms.total_cmp(&b.raised_ms)));
    let outcome = hopscope_rules::view::outcome(conference).to_string();
    let narrative = crate::explain::narrate(&outcome, &attribution, &findings);
    let mut participants: Vec<ParticipantReport> = conference.participants.iter().map(participant).collect();
    attach_quality(&mut participants, &scores);
    let mut undetermined = Vec::new();
    for p in &conference.participants {
        undetermined.extend(undetermined_for(p));
    }
    let has = |k: RemoteKind| {
        conference
            .participants
            .iter()
            .flat_map(|p| &p.peer_connections)
            .any(|pc| pc.remote_kind == k && pc.ever_connected())
    };
    let topology = match (has(RemoteKind::Sfu), has(RemoteKind::Peer)) {
        (true, true) => "SFU and peer-to-peer",
        (true, false) => "SFU",
        (false, true) => "peer-to-peer",
        (false, false) => {
            if conference
                .participants
                .iter()
                .flat_map(|p| &p.peer_connections)
                .any(PeerConnection::ever_connected)
            {
                undetermined.push(
                    "topology: no connection says whether its far end is a media server or a peer".into(),
                );
            }
            "unknown"
        }
    }
    .to_string();
    Diagnosis {
        conference: conference.id.to_string(),
        joined_by: conference.joined_by.clone(),
        started_at: range.map(|(a, _)| a.to_rfc3339()),
        ended_at: range.map(|(_, b)| b.to_rfc3339()),
        duration_s: range.map(|(a, b)| b.seconds_since(a)),
        topology,
        outcome,
        narrative,
        attribution,
        participants,
        path: path_report(&graph),
        findings,
        quality: QualityReport { conference: scores.conference, participants: scores.participants },
        timeline: timeline(conference, origin),
        middleboxes: conference.middleboxes.iter().map(middlebox).collect(),
        undetermined,
        notes: conference
            .notes
            .iter()
            .map(|n| match &n.location {
                Some(l) => format!("{}: {l}: {}", n.source, n.message),
                None => format!("{}: {}", n.source, n.message),
            })
            .collect(),
    }
}

/// Puts each received stream's quality next to its summary.
fn attach_quality(participants: &mut [ParticipantReport], scores: &hopscope_score::ConferenceQuality) {
    for q in &scores.streams {
        let Some(p) = participants.iter_mut().find(|p| p.id == q.participant) else { continue };
        let Some(pc) = p.peer_connections.iter_mut().find(|pc| pc.id == q.peer_connection) else { continue };
        if let Some(s) = pc.streams.iter_mut().find(|s| s.direction == "inbound" && s.stats_id == q.stats_id)
        {
            s.quality = Some(summary::QualityBrief::of(q));
        }
    }
}

fn participant(p: &Participant) -> ParticipantReport {
    let c = &p.client;
    ParticipantReport {
        id: p.id.to_string(),
        source: p.source.name.clone(),
        format: p.source.format.clone(),
        browser: BrowserReport {
            inferred: c.inferred_family.map(|f| f.as_str().to_string()),
            inferred_version: c.inferred_version.clone(),
            dialect: c.stats_dialect.clone(),
            evidence: c.evidence.clone(),
            user_agent_claims: c.user_agent_browser.map(|(f, v)| match v {
                Some(v) => format!("{} {v}", f.as_str()),
                None => f.as_str().to_string(),
            }),
            user_agent: c.user_agent.clone(),
            user_agent_disagrees: c.user_agent_disagrees(),
        },
        os: c.os.clone(),
        identifiers: p.identifiers.clone(),
        media_requests: p
            .events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::MediaRequest { .. }))
            .map(|e| e.kind.describe())
            .collect(),
        peer_connections: p.peer_connections.iter().map(pc_report).collect(),
    }
}

fn pc_report(pc: &PeerConnection) -> PcReport {
    let ice: Vec<(Timestamp, IceConnectionState)> = pc.ice_states().collect();
    let conn: Vec<(Timestamp, ConnectionState)> = pc.connection_states().collect();
    let connected_at = ice
        .iter()
        .find(|(_, s)| s.is_connected())
        .map(|(t, _)| *t)
        .or_else(|| conn.iter().find(|(_, s)| *s == ConnectionState::Connected).map(|(t, _)| *t));
    let checking_at = ice.iter().find(|(_, s)| *s == IceConnectionState::Checking).map(|(t, _)| *t);
    let failed = ice.iter().any(|(_, s)| *s == IceConnectionState::Failed)
        || conn.iter().any(|(_, s)| *s == ConnectionState::Failed);
    let ever = pc.ever_connected();
    let reconnections = ice
        .windows(2)
        .filter(|w| w[0].1 == IceConnectionState::Disconnected && w[1].1.is_connected())
        .count();
    let closed = pc.events.iter().any(|e| e.kind == EventKind::Closed);
    let candidate_errors: Vec<String> = pc
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::IceCandidateError(_) => Some(e.kind.describe()),
            _ => None,
        })
        .collect();
    let last_ice = ice.last().map(|(_, s)| *s);
    // The final word is the latest of the ICE and connection states.
    let ended_failed = match (ice.last(), conn.last()) {
        (Some((ti, si)), Some((tc, sc))) => {
            if tc >= ti {
                *sc == ConnectionState::Failed
            } else {
                *si == IceConnectionState::Failed
            }
        }
        (Some((_, si)), None) => *si == IceConnectionState::Failed,
        (None, Some((_, sc))) => *sc == ConnectionState::Failed,
        (None, None) => false,
    };
    let outcome = if ever && failed {
        if ended_failed {
            "connected, then failed".to_string()
        } else {
            "connected (recovered from a failure)".to_string()
        }
    } else if ever {
        match last_ice {
            Some(IceConnectionState::Disconnected) => {
                "connected, disconnected at the end of the data".to_string()
            }
            _ if closed => "connected, closed by the application".to_string(),
            _ => "connected".to_string(),
        }
    } else if ice.iter().any(|(_, s)| s.is_connected()) {
        // ICE got through; the connection state never reached `connected`.
        let then = if failed { ", then failed" } else { "" };
        format!("never connected: ICE connected but the secure handshake (DTLS) never completed{then}")
    } else if failed {
        "never connected: ICE failed".to_string()
    } else if !candidate_errors.is_empty() {
        "never connected: ICE never started (STUN/TURN errors, no candidate pair)".to_string()
    } else if pc.candidate_pairs.is_empty() && pc.inbound.is_empty() && pc.outbound.is_empty() {
        "never connected: no ICE progress recorded".to_string()
    } else {
        format!("never connected (last ICE state: {})", last_ice.map_or("unknown", |s| s.as_str()))
    };
    let setup_ms = match (connected_at, checking_at.or(pc.events.first().map(|e| e.at))) {
        (Some(c), Some(s)) if c >= s => Some(c.seconds_since(s) * 1000.0),
        _ => None,
    };
    let mut streams = Vec::new();
    let mut inactive = 0;
    let mut push = |s: StreamSummary| {
        if s.is_active() || s.direction == "remote-inbound" && s.rtt_ms.is_some() {
            streams.push(s);
        } else {
            inactive += 1;
        }
    };
    for s in &pc.inbound {
        push(summary::inbound(s));
    }
    for s in &pc.outbound {
        push(summary::outbound(s));
    }
    for s in &pc.remote_inbound {
        let sent = s.info.ssrc.and_then(|ssrc| pc.outbound_for_ssrc(ssrc));
        push(summary::remote_inbound(s, sent));
    }
    let negotiation_failures = pc
        .events
        .iter()
        .filter(|e| {
            matches!(
                &e.kind,
                EventKind::Negotiation { outcome: hopscope_model::events::Outcome::Failed(_), .. }
            )
        })
        .map(|e| e.kind.describe())
        .collect();
    let config = pc.configuration.as_ref();
    PcReport {
        id: pc.id.to_string(),
        remote: pc.remote_kind.as_str(),
        remote_evidence: pc.remote_kind_evidence.clone(),
        outcome,
        ice_states: ice.iter().map(|(_, s)| s.as_str().to_string()).collect(),
        setup_ms,
        reconnections,
        ice_servers: config
            .map(|c| c.ice_servers.iter().flat_map(|s| s.urls.iter().cloned()).collect())
            .unwrap_or_default(),
        ice_transport_policy: config.and_then(|c| c.ice_transport_policy.clone()),
        selected_paths: selected_paths(pc),
        candidate_errors,
        negotiation_failures,
        streams,
        inactive_streams: inactive,
    }
}

fn selected_paths(pc: &PeerConnection) -> Vec<SelectedPathReport> {
    pc.selected_pairs
        .iter()
        .enumerate()
        .filter_map(|(i, change)| {
            let pair = pc.candidate_pair(&change.pair_stats_id)?;
            let until = pc.selected_pairs.get(i + 1).map(|n| n.at);
            let local = pair.local_candidate_id.as_deref().and_then(|id| pc.candidate(id));
            let remote = pair.remote_candidate_id.as_deref().and_then(|id| pc.candidate(id));
            let lt = local.and_then(|c| c.candidate_type).map(|t| t.as_str().to_string());
            let rt = remote.and_then(|c| c.candidate_type).map(|t| t.as_str().to_string());
            let relay = local.filter(|c| c.is_relayed());
            let relay_protocol = relay.and_then(|c| c.relay_transport()).map(|p| p.as_str().to_string());
            let description = format!(
                "{}{} → {}",
                lt.clone().unwrap_or_else(|| "?".into()),
                relay_protocol.as_deref().map(|p| format!(" ({p})")).unwrap_or_default(),
                rt.clone().unwrap_or_else(|| "?".into())
            );
            let in_span = |t: Timestamp| t >= change.at && until.is_none_or(|u| t < u);
            let ivs = pair.intervals();
            Some(SelectedPathReport {
                from: change.at.to_rfc3339(),
                description,
                local_type: lt,
                remote_type: rt,
                protocol: local.and_then(|c| c.protocol.clone()),
                relay_protocol,
                relay_url: relay.and_then(|c| c.url.clone()),
                network_type: local.and_then(|c| c.network_type_raw.clone()),
                rtt_ms: summary::range_of(ivs.iter().filter(|i| in_span(i.end)).filter_map(|i| i.rtt_ms)),
                available_outgoing_kbps: summary::range_of(
                    ivs.iter()
                        .filter(|i| in_span(i.end))
                        .filter_map(|i| i.available_outgoing_bitrate_bps)
                        .map(|b| b / 1000.0),
                ),
            })
        })
        .collect()
}

fn path_report(graph: &PathGraph) -> PathReport {
    let key = |id| graph.hop(id).map(|h| h.key.clone()).unwrap_or_default();
    let label = |id| graph.hop(id).map(|h| h.label.clone()).unwrap_or_default();
    PathReport {
        hops: graph
            .hops()
            .map(|(_, h)| HopReport { key: h.key.clone(), kind: h.kind.as_str(), label: h.label.clone() })
            .collect(),
        links: graph
            .links()
            .map(|l| LinkReport {
                from: key(l.from),
                to: key(l.to),
                carried_by: graph
                    .link_series(l.from, l.to)
                    .iter()
                    .map(|s| {
                        let dir = match s.flow {
                            hopscope_model::graph::Flow::Outgoing => "outgoing",
                            hopscope_model::graph::Flow::Incoming => "incoming",
                        };
                        format!("{}/{} ({dir})", s.route.participant, s.route.peer_connection)
                    })
                    .collect(),
            })
            .collect(),
        routes: graph
            .routes()
            .iter()
            .map(|r| RouteReport {
                participant: r.participant.to_string(),
                peer_connection: r.peer_connection.to_string(),
                hops: r.hops.iter().map(|h| label(*h)).collect(),
                hop_keys: r.hops.iter().map(|h| key(*h)).collect(),
                from: r.from.to_rfc3339(),
                until: r.until.to_rfc3339(),
                outgoing: summary::flow(&r.outgoing),
                incoming: summary::flow(&r.incoming),
                ice_rtt_ms: summary::range_of(r.ice_rtt_ms.iter().map(|(_, v)| *v)),
            })
            .collect(),
        shared_hops: graph
            .shared_hops()
            .into_iter()
            // Infrastructure only: an endpoint's own network is "shared" by whoever talks to it.
            .filter(|h| graph.hop(*h).is_some_and(|x| x.kind != HopKind::Endpoint && x.participant.is_none()))
            .map(label)
            .collect(),
        unrouted: graph.unrouted.iter().map(|(p, pc)| format!("{p}/{pc}")).collect(),
    }
}

fn timeline(conference: &Conference, origin: Option<Timestamp>) -> Vec<TimelineEntry> {
    let origin = origin.unwrap_or_default();
    let mut entries: Vec<(Timestamp, TimelineEntry)> = Vec::new();
    for p in &conference.participants {
        for e in p.events.iter().filter(|e| e.kind.is_notable()) {
            entries.push((
                e.at,
                TimelineEntry {
                    at: e.at.to_rfc3339(),
                    offset_s: e.at.seconds_since(origin),
                    participant: p.id.to_string(),
                    peer_connection: None,
                    event: e.kind.describe(),
                },
            ));
        }
        for pc in &p.peer_connections {
            let mut last_ice: Option<IceConnectionState> = None;
            for e in pc.events.iter().filter(|e| e.kind.is_notable()) {
                // Signalling and gathering chatter is noise for people; keep state changes
                // of ICE/connection and every failure.
                let keep = match &e.kind {
                    EventKind::SignalingState(_)
                    | EventKind::IceGatheringState(_)
                    | EventKind::DtlsState(_) => false,
                    EventKind::IceConnectionState(s) => {
                        let changed = last_ice != Some(*s);
                        last_ice = Some(*s);
                        changed
                    }
                    _ => true,
                };
                if keep {
                    entries.push((
                        e.at,
                        TimelineEntry {
                            at: e.at.to_rfc3339(),
                            offset_s: e.at.seconds_since(origin),
                            participant: p.id.to_string(),
                            peer_connection: Some(pc.id.to_string()),
                            event: e.kind.describe(),
                        },
                    ));
                }
            }
            for (i, change) in pc.selected_pairs.iter().enumerate() {
                if i == 0 {
                    continue;
                }
                entries.push((
                    change.at,
                    TimelineEntry {
                        at: change.at.to_rfc3339(),
                        offset_s: change.at.seconds_since(origin),
                        participant: p.id.to_string(),
                        peer_connection: Some(pc.id.to_string()),
                        event: "selected candidate pair changed".into(),
                    },
                ));
            }
        }
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.participant.cmp(&b.1.participant)));
    entries.into_iter().map(|(_, e)| e).collect()
}

fn middlebox(m: &hopscope_model::middlebox::MiddleboxObservation) -> MiddleboxReport {
    use hopscope_model::middlebox::{ParticipantMatch, intervals as mbi};
    let who = |m: &Option<ParticipantMatch>| {
        (
            m.as_ref().map(|p| p.participant.to_string()),
            m.as_ref().map(|p| p.evidence.clone()).unwrap_or_default(),
        )
    };
    let pct = |v: Option<f64>| v.map(|f| f * 100.0);
    MiddleboxReport {
        kind: m.kind.map(|k| k.as_str()),
        server: m.server.clone(),
        software: m.software.clone(),
        clients: m
            .clients
            .iter()
            .map(|c| {
                let first = c.samples.first();
                let last = c.samples.last();
                let delta = |f: fn(&hopscope_model::middlebox::MiddleboxClientSample) -> Option<f64>| {
                    Some(f(last?)? - first.and_then(f).unwrap_or(0.0)).filter(|d| *d >= 0.0)
                };
                let iv = mbi::sfu_client_intervals(c);
                let (participant, participant_evidence) = who(&c.matched);
                MiddleboxClientReport {
                    id: c.id.clone(),
                    samples: c.samples.len(),
                    ice_connected: last.and_then(|s| s.ice_connected),
                    ice_failed: c.samples.iter().any(|s| s.ice_failed == Some(true)),
                    packets_received: last
                        .and_then(|s| s.packets_received)
                        .and(delta(|s| s.packets_received)),
                    packets_sent: last.and_then(|s| s.packets_sent).and(delta(|s| s.packets_sent)),
                    receive_kbps: summary::range_of(
                        c.samples.iter().filter_map(|s| s.receive_bitrate_bps).map(|b| b / 1000.0),
                    ),
                    participant,
                    participant_evidence,
                    remote_address: c.remote_address().map(String::from),
                    relayed: c.relayed,
                    upstream_loss_pct: summary::range_of(
                        iv.iter().filter_map(|i| pct(i.upstream_loss_fraction)),
                    ),
                    upstream_jitter_ms: summary::range_of(iv.iter().filter_map(|i| i.upstream_jitter_ms)),
                    downstream_loss_pct: summary::range_of(
                        iv.iter().filter_map(|i| pct(i.downstream_loss_fraction)),
                    ),
                    rtt_ms: summary::range_of(iv.iter().filter_map(|i| i.rtt_ms)),
                    clock_offset_s: c
                        .matched
                        .as_ref()
                        .and_then(|m| m.clock_offset.as_ref())
                        .map(|o| o.estimate_s()),
                }
            })
            .collect(),
        allocations: m
            .allocations
            .iter()
            .map(|a| {
                let iv = mbi::turn_intervals(a);
                let total = |f: fn(&hopscope_model::middlebox::TurnAllocationSample) -> Option<f64>| {
                    hopscope_model::intervals::cumulative_total(a.samples.iter().map(f))
                };
                let (participant, participant_evidence) = who(&a.matched);
                TurnAllocationReport {
                    id: a.id.clone(),
                    participant,
                    participant_evidence,
                    client_address: a.client_address.clone(),
                    relay_address: a.relay_address.clone(),
                    protocol: a.protocol.map(|p| p.as_str()),
                    peers: a.peers.len(),
                    samples: a.samples.len(),
                    packets_from_client: total(|s| s.packets_from_client),
                    packets_to_client: total(|s| s.packets_to_client),
                    client_to_peers_loss_pct: summary::range_of(
                        iv.iter().filter_map(|i| pct(i.client_to_peers_loss_fraction)),
                    ),
                    peers_to_client_loss_pct: summary::range_of(
                        iv.iter().filter_map(|i| pct(i.peers_to_client_loss_fraction)),
                    ),
                }
            })
            .collect(),
        allocation_errors: m
            .allocation_errors
            .iter()
            .map(|e| {
                let (participant, participant_evidence) = who(&e.matched);
                TurnErrorReport {
                    at: e.at.to_rfc3339(),
                    code: e.code,
                    reason: e.reason.clone(),
                    client_address: e.client_address.clone(),
                    participant,
                    participant_evidence,
                }
            })
            .collect(),
        not_modelled: m.not_modelled.clone(),
    }
}

/// What could not be determined for a participant, and why.
fn undetermined_for(p: &Participant) -> Vec<String> {
    let mut out = Vec::new();
    let name = p.id.as_str();
    if p.client.inferred_family.is_none() && !p.peer_connections.is_empty() {
        out.push(format!("{name}: browser family (the stats fields present do not identify it)"));
    }
    if p.client.user_agent_disagrees()
        && let (Some((ua, v)), Some(inf)) = (p.client.user_agent_browser, p.client.inferred_family)
    {
        out.push(format!(
                "{name}: the User-Agent says {} {} but the stats fields are {}'s; the User-Agent line was likely added or edited later, so it is ignored",
                ua.as_str(),
                v.map(|v| v.to_string()).unwrap_or_default(),
                inf.as_str()
            ));
    }
    for pc in &p.peer_connections {
        let id = format!("{name}/{}", pc.id);
        let connected = pc.ever_connected();
        if connected && pc.remote_kind == RemoteKind::Unknown {
            out.push(format!(
                "{id}: whether the far end is a media server or a peer (no app hint, no multi-stream pattern)"
            ));
        }
        if connected && pc.selected_pairs.is_empty() {
            out.push(format!(
                "{id}: the selected candidate pair (no transport, no selected/nominated pair in the stats)"
            ));
        }
        let has_pair_rtt = pc.candidate_pairs.iter().any(|cp| {
            cp.samples
                .iter()
                .any(|s| s.current_round_trip_time_s.is_some() || s.total_round_trip_time_s.is_some())
        });
        let has_rtcp_rtt =
            pc.remote_inbound.iter().any(|s| s.samples.iter().any(|x| x.round_trip_time_s.is_some()));
        let has_media = !pc.inbound.is_empty() || !pc.outbound.is_empty();
        if connected && has_media && !has_pair_rtt && !has_rtcp_rtt {
            out.push(format!("{id}: round-trip time (no candidate-pair RTT and no remote-inbound-rtp RTT)"));
        } else if connected
            && has_media
            && !has_pair_rtt
            && p.client.inferred_family == Some(BrowserFamily::Firefox)
        {
            out.push(format!("{id}: ICE round-trip time (Firefox reports none); RTT comes from RTCP only"));
        }
        if connected && has_media && pc.remote_inbound.is_empty() && !pc.outbound.is_empty() {
            out.push(format!("{id}: what the far end received from us (no remote-inbound-rtp reports)"));
        }
        for change in &pc.selected_pairs {
            let Some(pair) = pc.candidate_pair(&change.pair_stats_id) else { continue };
            let local = pair.local_candidate_id.as_deref().and_then(|c| pc.candidate(c));
            if let Some(l) = local {
                if l.is_relayed() && l.relay_transport().is_none() {
                    out.push(format!("{id}: the TURN transport (relay candidate without relayProtocol or URL, as Safari reports it)"));
                }
                if l.network_type.is_none() {
                    out.push(format!(
                        "{id}: the access network type ({})",
                        match l.network_type_raw.as_deref() {
                            Some(raw) => format!("the browser says `{raw}`"),
                            None => "not reported by this browser".into(),
                        }
                    ));
                }
            } else {
                out.push(format!("{id}: the local candidate of the selected pair (not in the stats)"));
            }
        }
        let video_in = pc.inbound.iter().any(|s| {
            s.info.kind == Some(MediaKind::Video)
                && s.samples.iter().any(|x| x.packets_received.is_some_and(|n| n > 0.0))
        });
        let has_freeze = pc.inbound.iter().any(|s| s.samples.iter().any(|x| x.freeze_count.is_some()));
        if video_in && !has_freeze {
            out.push(format!("{id}: video freezes (no freezeCount in this browser's stats)"));
        }
    }
    out.sort();
    out.dedup();
    out
}
