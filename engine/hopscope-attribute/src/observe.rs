//! From the conference to measurements: every flow of media from a sender to a receiver,
//! every sender-side report, every round trip, each with the hops its path crosses and
//! whether it was bad or clean at a tick.
//!
//! Paths: a flow from S to R through a media server crosses S's uplink, S's TURN relay (if
//! any), the server, R's relay and R's downlink; peer to peer it skips the server. What an
//! SFU reports back to a sender (RTCP receiver reports: it terminates RTCP) covers the
//! sender's uplink alone; a peer's report covers the whole path again.

use std::collections::BTreeMap;

use hopscope_model::events::IceConnectionState;
use hopscope_model::graph::{HopKind, PathGraph, match_peers};
use hopscope_model::{Conference, RemoteKind};
use hopscope_rules::catalogue::{MetricId, Scope};
use hopscope_rules::view::{EntityRef, Val, View};

use crate::hop::{Direction, HopRef};
use crate::localise::Measurement;

/// What a measurement is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Signal {
    /// Packet loss.
    Loss,
    /// Interarrival jitter.
    Jitter,
    /// Round-trip time.
    Delay,
    /// The sender's bandwidth estimate holds its encoder back.
    Bandwidth,
}

/// Thresholds: bad at or above `bad`, clean at or below `clean`, no verdict in between.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Thresholds {
    /// Loss, percent over the smoothing window.
    pub loss: (f64, f64),
    /// Audio jitter, ms.
    pub jitter: (f64, f64),
    /// Round trip, ms.
    pub rtt: (f64, f64),
    /// Share of time the encoder is bandwidth-limited, percent.
    pub bandwidth: (f64, f64),
    /// Share of time the encoder is CPU-limited, percent.
    pub cpu: f64,
    /// Smoothing window, ms: one-second windows of a 5 % loss swing from 0 to 10 %.
    pub window_ms: f64,
    /// How long after connecting the bandwidth estimate is still ramping up, ms.
    pub ramp_up_ms: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            // 3 % is where speech starts to break up (G.113 Opus/PLC curves; the built-in
            // rules raise at 5 %); 1 % is what healthy Wi-Fi shows.
            loss: (3.0, 1.0),
            // Twilio's high-jitter warning is 30 ms; healthy paths stay under 15 ms.
            jitter: (30.0, 15.0),
            // G.114: 150 ms one way is the comfort limit.
            rtt: (300.0, 150.0),
            bandwidth: (50.0, 10.0),
            cpu: 50.0,
            window_ms: 5000.0,
            // libwebrtc's estimate starts at 300 kbit/s and takes 10-20 s to reach HD rates.
            ramp_up_ms: 20_000.0,
        }
    }
}

/// The hops of a conference, numbered for [`crate::localise`].
#[derive(Clone, Debug, Default)]
pub struct HopTable {
    hops: Vec<HopRef>,
    index: BTreeMap<HopRef, usize>,
}

impl HopTable {
    /// The index of a hop, adding it when new.
    pub fn id(&mut self, hop: HopRef) -> usize {
        if let Some(&i) = self.index.get(&hop) {
            return i;
        }
        self.hops.push(hop.clone());
        self.index.insert(hop, self.hops.len() - 1);
        self.hops.len() - 1
    }

    /// A hop by index.
    pub fn get(&self, i: usize) -> &HopRef {
        &self.hops[i]
    }
}

/// Who and what a measurement is, for evidence and for folding symptoms.
#[derive(Clone, Debug, PartialEq)]
pub struct Subject {
    /// Whose data it is.
    pub observer: String,
    /// The sender of the media, when the measurement is about a flow.
    pub sender: Option<String>,
    /// The receiver of the media, when the measurement is about a flow.
    pub receiver: Option<String>,
    /// `audio`/`video`, for flows.
    pub kind: Option<String>,
    /// How it was measured, for evidence ("received", "reported by the media server").
    pub how: &'static str,
}

/// One tick's measurements of one signal, with their subjects and values.
#[derive(Clone, Debug, Default)]
pub struct TickMeasurements {
    /// For the localiser.
    pub measurements: Vec<Measurement>,
    /// What each measured, in the same order.
    pub subjects: Vec<Subject>,
    /// The values (percent, ms), in the same order.
    pub values: Vec<f64>,
}

impl TickMeasurements {
    fn push(&mut self, path: Vec<usize>, value: f64, limits: (f64, f64), direct: bool, subject: Subject) {
        let bad = if value >= limits.0 {
            true
        } else if value <= limits.1 {
            false
        } else {
            return;
        };
        self.measurements.push(Measurement { path, bad, direct });
        self.subjects.push(subject);
        self.values.push(value);
    }
}

/// A media stream as attribution sees it.
#[derive(Clone, Debug)]
struct StreamInfo {
    entity: EntityRef,
    receiver: String,
    sender: Option<String>,
    kind: Option<String>,
    /// The hops between sender and receiver (inbound), or from the sender to whoever
    /// reports on it (outbound).
    path: Vec<usize>,
    /// A sent stream: its values are what the far end reports back.
    outbound: bool,
    /// Its connection (index into the view's).
    pc: usize,
    /// For outbound streams: the far end's report covers the uplink alone (an SFU).
    report_is_uplink: bool,
}

/// The signals of a whole conference, per tick.
#[derive(Debug)]
pub struct Observed {
    /// Hop numbering.
    pub hops: HopTable,
    /// Per signal, per tick.
    pub ticks: BTreeMap<Signal, Vec<TickMeasurements>>,
    /// Senders CPU-limited at a tick: (tick, participant, share %).
    pub cpu: Vec<(usize, String, f64)>,
}

/// Resolves the metric ids once.
struct Metrics {
    loss: MetricId,
    concealment: MetricId,
    jitter: MetricId,
    active: MetricId,
    cpu: MetricId,
    bandwidth: MetricId,
    pc_rtt: MetricId,
    pc_available: MetricId,
}

impl Metrics {
    fn new() -> Option<Metrics> {
        let s = |n: &str| Scope::Stream.metric(n).map(|(id, _)| id);
        Some(Metrics {
            loss: s("loss_percent")?,
            concealment: s("concealment_percent")?,
            jitter: s("jitter_ms")?,
            active: s("active")?,
            cpu: s("cpu_limited_percent")?,
            bandwidth: s("bandwidth_limited_percent")?,
            pc_rtt: Scope::PeerConnection.metric("rtt_ms").map(|(id, _)| id)?,
            pc_available: Scope::PeerConnection.metric("available_outgoing_kbps").map(|(id, _)| id)?,
        })
    }
}

/// Where one peer connection leads.
#[derive(Clone, Debug, Default)]
struct PcPath {
    participant: String,
    via_sfu: bool,
    sfu: Option<String>,
    turn: Option<String>,
    /// For peer-to-peer: the participant at the far end, when their data is here.
    peer: Option<String>,
    /// When ICE connected (again, after each disconnection).
    connected_at: Vec<hopscope_model::Timestamp>,
    /// When the path was down: from a few seconds before ICE noticed (`disconnected`) until
    /// it reconnected. What the streams show then is the outage, which connectivity reports.
    outages: Vec<(hopscope_model::Timestamp, hopscope_model::Timestamp)>,
}

/// How long before `disconnected` the path was already down (Chrome notices after ~5 s).
const NOTICE_MS: f64 = 6000.0;

impl PcPath {
    fn in_outage(&self, t: hopscope_model::Timestamp) -> bool {
        self.outages.iter().any(|(a, b)| *a <= t && t <= *b)
    }
}

fn pc_paths(conference: &Conference, view: &View) -> Vec<PcPath> {
    let graph = PathGraph::build(conference);
    let peers = match_peers(conference);
    view.pcs
        .iter()
        .map(|pce| {
            let participant = &conference.participants[pce.participant];
            let pc = &participant.peer_connections[pce.index];
            let senders =
                pc.inbound.iter().filter_map(|s| s.info.ssrc).collect::<std::collections::BTreeSet<_>>();
            let via_sfu = match pc.remote_kind {
                RemoteKind::Sfu => true,
                RemoteKind::Peer => false,
                // Many streams in on one connection is what a media server looks like.
                _ => senders.len() > 2,
            };
            let connected_at: Vec<_> = pc
                .ice_states()
                .scan(false, |was_up, (t, s)| {
                    let now_up = s.is_connected();
                    let came_up = now_up && !*was_up;
                    *was_up = now_up;
                    Some(came_up.then_some(t))
                })
                .flatten()
                .collect();
            let mut outages = Vec::new();
            let mut down: Option<hopscope_model::Timestamp> = None;
            for (t, st) in pc.ice_states() {
                match (st, down) {
                    (IceConnectionState::Disconnected | IceConnectionState::Failed, None) => down = Some(t),
                    (s, Some(d)) if s.is_connected() => {
                        outages.push((d.plus_ms(-NOTICE_MS), t));
                        down = None;
                    }
                    _ => {}
                }
            }
            if let Some(d) = down {
                let forever = hopscope_model::Timestamp::from_epoch_ms(f64::MAX).unwrap_or(d);
                outages.push((d.plus_ms(-NOTICE_MS), forever));
            }
            let mut path = PcPath {
                participant: participant.id.to_string(),
                via_sfu,
                connected_at,
                outages,
                ..PcPath::default()
            };
            for route in graph
                .routes()
                .iter()
                .filter(|r| r.participant == participant.id && r.peer_connection == pc.id)
            {
                for hop in route.hops.iter().filter_map(|h| graph.hop(*h)) {
                    match hop.kind {
                        HopKind::TurnRelay => path.turn = Some(turn_name(hop)),
                        HopKind::Sfu => path.sfu = hop.address.clone(),
                        _ => {}
                    }
                }
            }
            if let Some(&(qi, _)) = peers.get(&(pce.participant, pce.index)) {
                path.peer = Some(conference.participants[qi].id.to_string());
            }
            path
        })
        .collect()
}

/// A relay's name: its server's host, else its address.
fn turn_name(hop: &hopscope_model::graph::Hop) -> String {
    if let Some(url) = &hop.server_url {
        let rest = url.split_once(':').map_or(url.as_str(), |(_, r)| r);
        let host = rest.split(['?', '/']).next().unwrap_or(rest);
        let host = match host.rsplit_once(':') {
            Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
            _ => host,
        };
        return host.trim_matches(['[', ']']).to_string();
    }
    hop.address.clone().unwrap_or_else(|| hop.key.trim_start_matches("turn:").to_string())
}

/// Mean of a stream metric over the smoothing window ending at `tick`.
fn smoothed(view: &View, entity: EntityRef, metric: MetricId, tick: usize, back: usize) -> Option<f64> {
    let (mut n, mut sum) = (0usize, 0.0);
    view.each_number(entity, metric, tick.saturating_sub(back), tick, |v| {
        n += 1;
        sum += v;
    });
    (n > 0).then(|| sum / n as f64)
}

/// Gathers every measurement of the conference.
pub fn observe(conference: &Conference, view: &View, limits: &Thresholds) -> Observed {
    let mut hops = HopTable::default();
    let mut ticks: BTreeMap<Signal, Vec<TickMeasurements>> = BTreeMap::new();
    let n = view.ticks.len();
    for signal in [Signal::Loss, Signal::Jitter, Signal::Delay, Signal::Bandwidth] {
        ticks.insert(signal, vec![TickMeasurements::default(); n]);
    }
    let mut cpu = Vec::new();
    let Some(m) = Metrics::new() else { return Observed { hops, ticks, cpu } };
    let back = (limits.window_ms / view.step_ms).ceil().max(1.0) as usize - 1;
    let paths = pc_paths(conference, view);

    // Which connection of which participant sends each SSRC: a flow's sender side.
    let mut sent_on: BTreeMap<u32, usize> = BTreeMap::new();
    for (i, st) in view.streams.iter().enumerate() {
        if &*st.attrs.direction == "outbound"
            && let Some(ssrc) = st.attrs.ssrc
        {
            sent_on.entry(ssrc).or_insert(view.streams[i].pc);
        }
    }

    let mut streams = Vec::new();
    for (i, st) in view.streams.iter().enumerate() {
        let a = &st.attrs;
        let here = &paths[st.pc];
        let kind = a.kind.as_deref().map(String::from);
        if &*a.direction == "inbound" {
            // The sender: named by the data, else by the far end of a peer connection.
            let sender = a
                .sender
                .as_deref()
                .map(String::from)
                .or_else(|| (!here.via_sfu).then(|| here.peer.clone()).flatten());
            let sender_path = a.ssrc.and_then(|s| sent_on.get(&s)).map(|&pc| &paths[pc]);
            let mut path = Vec::new();
            let sender_key = sender.clone().unwrap_or_else(|| {
                format!("the sender of SSRC {}", a.ssrc.map_or("?".into(), |s| s.to_string()))
            });
            path.push(hops.id(HopRef::access(&sender_key, Direction::Up)));
            // A relay's two ways are separate hops, like an access network's: what it takes
            // in from a sender and what it hands to a receiver.
            if let Some(t) = sender_path.and_then(|p| p.turn.as_deref()) {
                path.push(hops.id(HopRef::turn_way(t, Direction::Up)));
            }
            if here.via_sfu {
                path.push(hops.id(HopRef::sfu(here.sfu.as_deref())));
            }
            if let Some(t) = here.turn.as_deref() {
                path.push(hops.id(HopRef::turn_way(t, Direction::Down)));
            }
            path.push(hops.id(HopRef::access(&a.participant, Direction::Down)));
            path.dedup();
            streams.push(StreamInfo {
                entity: EntityRef::Stream(i),
                receiver: a.participant.to_string(),
                sender,
                kind,
                path,
                pc: st.pc,
                outbound: false,
                report_is_uplink: false,
            });
        } else {
            // What the far end reports: an SFU terminates RTCP, so its report is the uplink
            // (and the sender's relay); a peer's report covers the whole way.
            let mut path = vec![hops.id(HopRef::access(&a.participant, Direction::Up))];
            if let Some(t) = here.turn.as_deref() {
                path.push(hops.id(HopRef::turn_way(t, Direction::Up)));
            }
            if !here.via_sfu {
                if let Some(peer) = &here.peer {
                    path.push(hops.id(HopRef::access(peer, Direction::Down)));
                } else {
                    path.push(hops.id(HopRef::access("the far end", Direction::Down)));
                }
            }
            streams.push(StreamInfo {
                entity: EntityRef::Stream(i),
                receiver: here.peer.clone().unwrap_or_else(|| {
                    if here.via_sfu { "the media server".into() } else { "the far end".into() }
                }),
                sender: Some(a.participant.to_string()),
                kind,
                path,
                pc: st.pc,
                outbound: true,
                report_is_uplink: here.via_sfu,
            });
        }
    }

    // Per connection and tick: is the bandwidth estimate still ramping up after connecting?
    // Early on, yes, unless it has already fallen to half its best (that is congestion).
    let ramping: Vec<Vec<bool>> = paths
        .iter()
        .enumerate()
        .map(|(i, pc)| {
            let mut best = 0.0f64;
            (0..n)
                .map(|tick| {
                    let now = view.ticks[tick];
                    let available = match view.value(EntityRef::Pc(i), m.pc_available, tick) {
                        Val::Num(v) => Some(v),
                        _ => None,
                    };
                    let fell = available.is_some_and(|a| a < 0.5 * best);
                    best = best.max(available.unwrap_or(0.0));
                    let early = pc
                        .connected_at
                        .iter()
                        .rfind(|c| **c <= now)
                        .is_none_or(|c| now.seconds_since(*c) * 1000.0 < limits.ramp_up_ms);
                    early && !fell
                })
                .collect()
        })
        .collect();
    for tick in 0..n {
        let now = view.ticks[tick];
        for s in &streams {
            if view.value(s.entity, m.active, tick) != Val::Bool(true) || paths[s.pc].in_outage(now) {
                continue;
            }
            let outbound = s.outbound;
            let subject = |how: &'static str| Subject {
                observer: if outbound { s.sender.clone().unwrap_or_default() } else { s.receiver.clone() },
                sender: s.sender.clone(),
                receiver: Some(s.receiver.clone()),
                kind: s.kind.clone(),
                how,
            };
            let how = if outbound {
                if s.report_is_uplink {
                    "reported back by the media server"
                } else {
                    "reported back by the receiver"
                }
            } else {
                "measured on arrival"
            };
            // An audio flow's loss is the path's loss; video hides it behind retransmissions.
            let is_audio = s.kind.as_deref() == Some("audio");
            // Chrome counts no loss across a gap longer than its reordering window (an
            // outage restarts the sequence numbering), but the receiver still conceals what
            // never came: for received audio, the concealed share is the loss it heard.
            let concealed = if is_audio && !outbound {
                smoothed(view, s.entity, m.concealment, tick, back)
            } else {
                None
            };
            let loss = match (smoothed(view, s.entity, m.loss, tick, back), concealed) {
                (Some(l), Some(c)) => Some(l.max(c)),
                (l, c) => l.or(c),
            };
            if let Some(v) = loss
                && (is_audio || !has_audio_twin(&streams, s))
                && let Some(t) = ticks.get_mut(&Signal::Loss)
            {
                t[tick].push(s.path.clone(), v, limits.loss, s.report_is_uplink, subject(how));
            }
            if is_audio
                && let Some(v) = smoothed(view, s.entity, m.jitter, tick, back)
                && let Some(t) = ticks.get_mut(&Signal::Jitter)
            {
                t[tick].push(s.path.clone(), v, limits.jitter, s.report_is_uplink, subject(how));
            }
            // The bandwidth estimate starts low and climbs for the first seconds of every
            // connection; Chrome reports `bandwidth` limitation while it does.
            let ramping = ramping[s.pc][tick];
            if outbound && s.kind.as_deref() == Some("video") {
                if !ramping
                    && let Some(v) = smoothed(view, s.entity, m.bandwidth, tick, back)
                    && let Some(t) = ticks.get_mut(&Signal::Bandwidth)
                {
                    t[tick].push(s.path.clone(), v, limits.bandwidth, false, subject("the sender's encoder"));
                }
                if let Some(v) = smoothed(view, s.entity, m.cpu, tick, back)
                    && v >= limits.cpu
                    && let Some(sender) = &s.sender
                {
                    cpu.push((tick, sender.clone(), v));
                }
            }
        }
        // Round trips: each connection's path, both directions of each access network.
        for (i, pc) in paths.iter().enumerate() {
            if pc.in_outage(now) {
                continue;
            }
            let Some(v) = smoothed(view, EntityRef::Pc(i), m.pc_rtt, tick, back) else { continue };
            let mut path = vec![hops.id(HopRef::access(&pc.participant, Direction::Both))];
            if let Some(t) = pc.turn.as_deref() {
                path.push(hops.id(HopRef::turn(t)));
            }
            if pc.via_sfu {
                path.push(hops.id(HopRef::sfu(pc.sfu.as_deref())));
            } else {
                let peer = pc.peer.as_deref().unwrap_or("the far end");
                path.push(hops.id(HopRef::access(peer, Direction::Both)));
            }
            let subject = Subject {
                observer: pc.participant.clone(),
                sender: None,
                receiver: None,
                kind: None,
                how: "round trip of the connection",
            };
            if let Some(t) = ticks.get_mut(&Signal::Delay) {
                t[tick].push(path, v, limits.rtt, false, subject);
            }
        }
    }
    Observed { hops, ticks, cpu }
}

/// Whether the same sender → receiver pair also has audio, which measures the path better.
fn has_audio_twin(streams: &[StreamInfo], s: &StreamInfo) -> bool {
    streams.iter().any(|o| {
        o.kind.as_deref() == Some("audio")
            && o.sender == s.sender
            && o.receiver == s.receiver
            && o.path == s.path
    })
}
