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
use hopscope_model::{Conference, RemoteKind, Timestamp};
use hopscope_rules::catalogue::{MetricId, Scope};
use hopscope_rules::view::{EntityRef, Val, View};

use crate::hop::{Direction, HopRef};
use crate::localise::Measurement;

mod relay;

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
    /// How it was measured, for evidence ("measured on arrival", "reported back by the
    /// media server").
    pub how: &'static str,
}

/// One tick's measurements of one signal. Reused from tick to tick: the conference is
/// measured a tick at a time, so memory stays proportional to one tick.
#[derive(Clone, Debug, Default)]
pub struct TickMeasurements {
    /// For the localiser.
    pub measurements: Vec<Measurement>,
    /// What each measured (index into [`Observer::subjects`]), in the same order.
    pub subjects: Vec<usize>,
    /// The values (percent, ms), in the same order.
    pub values: Vec<f64>,
}

impl TickMeasurements {
    fn clear(&mut self) {
        self.measurements.clear();
        self.subjects.clear();
        self.values.clear();
    }

    fn push(&mut self, path: usize, value: f64, limits: (f64, f64), direct: bool, subject: usize) {
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
    /// Its subject (index into `subjects`).
    subject: usize,
    sender: Option<String>,
    receiver: String,
    kind: Option<String>,
    /// The hops between sender and receiver (inbound), or from the sender to whoever
    /// reports on it (outbound): index into `paths`.
    path: usize,
    /// A sent stream: its values are what the far end reports back.
    outbound: bool,
    /// Its connection (index into the view's).
    pc: usize,
    /// For outbound streams: the far end's report covers the uplink alone (an SFU).
    report_is_uplink: bool,
    /// Audio of the same flow measures its loss better (video hides loss behind
    /// retransmissions): worked out once, not at every tick.
    audio_twin: bool,
}

/// A sender's encoder held back by its CPU at a tick.
#[derive(Clone, Debug, PartialEq)]
pub struct CpuSign {
    /// Who.
    pub sender: String,
    /// The CPU-limited share, percent; or, when inferred, how much slower each frame encodes.
    pub value: f64,
    /// Read from the encoder's slowdown, not from the browser's limitation reason.
    pub inferred: bool,
}

/// Packets a loss share must rest on within the smoothing window.
const MIN_PACKETS: f64 = 50.0;

/// The four signals, in the order [`Observer::measure`] fills them.
pub const SIGNALS: [Signal; 4] = [Signal::Loss, Signal::Jitter, Signal::Delay, Signal::Bandwidth];

/// Measures a conference tick by tick.
#[derive(Debug)]
pub struct Observer<'v> {
    view: &'v View,
    limits: Thresholds,
    metrics: Option<Metrics>,
    back: usize,
    /// Hop numbering.
    pub hops: HopTable,
    /// Paths, as hop indices.
    pub paths: Vec<Vec<usize>>,
    /// What is measured.
    pub subjects: Vec<Subject>,
    streams: Vec<StreamInfo>,
    pcs: Vec<PcPath>,
    /// Per connection: (path, subject) of its round trip.
    round_trips: Vec<(usize, usize)>,
    /// Per connection and tick: the bandwidth estimate is still ramping up.
    ramping: Vec<Vec<bool>>,
    /// What media servers and relays measured of single segments.
    segments: Vec<SegmentSeries>,
    /// Senders whose browser does not say why it limits quality (Firefox, Safari): when the
    /// encoder slowed down on its own, per tick.
    slow_encoders: Vec<(String, Vec<Option<f64>>)>,
}

/// A series a middlebox measured of one segment of the path (a client's uplink as the
/// media server received it, a relay's inside), on the endpoints' clock.
#[derive(Clone, Debug)]
struct SegmentSeries {
    signal: Signal,
    path: usize,
    subject: usize,
    /// (start, end, value) in the signal's unit.
    windows: Vec<(Timestamp, Timestamp, f64)>,
    /// Packets behind each window, when its value is a share of them (a relay's count
    /// against an endpoint's): windows then pool by packets, and need enough of them.
    packets: Option<Vec<f64>>,
    /// The one hop it measures alone (a relay's inside, one side of a relay), if it does.
    alone: Option<usize>,
}

/// Resolves the metric ids once.
#[derive(Debug)]
struct Metrics {
    loss: MetricId,
    packet_rate: MetricId,
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
            packet_rate: s("packet_rate")?,
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
    /// This end's own relay (its selected local candidate is relayed), as opposed to the
    /// far end's, which `turn` may name too.
    own_turn: Option<String>,
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
            let relays_here = pc
                .selected_pairs
                .iter()
                .filter_map(|s| pc.candidate_pair(&s.pair_stats_id)?.local_candidate_id.as_deref())
                .filter_map(|id| pc.candidate(id))
                .any(|c| c.is_relayed());
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
                        HopKind::TurnRelay => {
                            // The route runs from this end: its own relay comes first.
                            if relays_here && path.own_turn.is_none() {
                                path.own_turn = Some(turn_name(hop));
                            }
                            path.turn = Some(turn_name(hop));
                        }
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
/// The mean of a rate over the smoothing window, and how many seconds of the window had it.
fn covered(view: &View, entity: EntityRef, metric: MetricId, tick: usize, back: usize) -> Option<(f64, f64)> {
    let (mut n, mut sum) = (0usize, 0.0);
    view.each_number(entity, metric, tick.saturating_sub(back), tick, |v| {
        n += 1;
        sum += v;
    });
    (n > 0).then(|| (sum / n as f64, n as f64 * view.step_ms / 1000.0))
}

fn smoothed(view: &View, entity: EntityRef, metric: MetricId, tick: usize, back: usize) -> Option<f64> {
    let (mut n, mut sum) = (0usize, 0.0);
    view.each_number(entity, metric, tick.saturating_sub(back), tick, |v| {
        n += 1;
        sum += v;
    });
    (n > 0).then(|| sum / n as f64)
}

impl<'v> Observer<'v> {
    /// Works out every flow, report and round trip of the conference and their paths.
    pub fn new(conference: &Conference, view: &'v View, limits: &Thresholds) -> Observer<'v> {
        let mut hops = HopTable::default();
        let mut paths: Vec<Vec<usize>> = Vec::new();
        let mut path_ids: BTreeMap<Vec<usize>, usize> = BTreeMap::new();
        let mut intern = |path: Vec<usize>| -> usize {
            *path_ids.entry(path.clone()).or_insert_with(|| {
                paths.push(path);
                paths.len() - 1
            })
        };
        let mut subjects = Vec::new();
        let back = (limits.window_ms / view.step_ms).ceil().max(1.0) as usize - 1;
        let pcs = pc_paths(conference, view);
        let metrics = Metrics::new();

        // Which connection sends each SSRC: a flow's sender side.
        let mut sent_on: BTreeMap<u32, usize> = BTreeMap::new();
        for st in &view.streams {
            if &*st.attrs.direction == "outbound"
                && let Some(ssrc) = st.attrs.ssrc
            {
                sent_on.entry(ssrc).or_insert(st.pc);
            }
        }

        let mut streams = Vec::new();
        for (i, st) in view.streams.iter().enumerate() {
            let a = &st.attrs;
            let here = &pcs[st.pc];
            let kind = a.kind.as_deref().map(String::from);
            if &*a.direction == "inbound" {
                // The sender: named by the data, else by the far end of a peer connection.
                let sender = a
                    .sender
                    .as_deref()
                    .map(String::from)
                    .or_else(|| (!here.via_sfu).then(|| here.peer.clone()).flatten());
                let sender_path = a.ssrc.and_then(|s| sent_on.get(&s)).map(|&pc| &pcs[pc]);
                let mut path = Vec::new();
                let sender_key = sender.clone().unwrap_or_else(|| {
                    format!("the sender of SSRC {}", a.ssrc.map_or("?".into(), |s| s.to_string()))
                });
                path.push(hops.id(HopRef::access(&sender_key, Direction::Up)));
                // A relay's two ways are separate hops, like an access network's: what it
                // takes in from a sender and what it hands to a receiver.
                if let Some(t) = sender_path.and_then(|p| p.turn.as_deref()) {
                    path.push(hops.id(HopRef::turn_way(t, Direction::Up)));
                }
                // The media server's two ways too: what it receives (where its receiver
                // reports are measured) and what it forwards.
                if here.via_sfu {
                    path.push(hops.id(HopRef::sfu_way(here.sfu.as_deref(), Direction::Up)));
                    path.push(hops.id(HopRef::sfu_way(here.sfu.as_deref(), Direction::Down)));
                }
                if let Some(t) = here.turn.as_deref() {
                    path.push(hops.id(HopRef::turn_way(t, Direction::Down)));
                }
                path.push(hops.id(HopRef::access(&a.participant, Direction::Down)));
                path.dedup();
                subjects.push(Subject {
                    observer: a.participant.to_string(),
                    sender: sender.clone(),
                    receiver: Some(a.participant.to_string()),
                    kind: kind.clone(),
                    how: "measured on arrival",
                });
                streams.push(StreamInfo {
                    entity: EntityRef::Stream(i),
                    subject: subjects.len() - 1,
                    sender,
                    receiver: a.participant.to_string(),
                    kind,
                    path: intern(path),
                    outbound: false,
                    pc: st.pc,
                    report_is_uplink: false,
                    audio_twin: false,
                });
            } else {
                // What the far end reports: an SFU terminates RTCP, so its report is the
                // uplink (and the sender's relay) up to the server's own receiving; a peer's
                // report covers the whole way.
                let mut path = vec![hops.id(HopRef::access(&a.participant, Direction::Up))];
                if let Some(t) = here.turn.as_deref() {
                    path.push(hops.id(HopRef::turn_way(t, Direction::Up)));
                }
                if here.via_sfu {
                    path.push(hops.id(HopRef::sfu_way(here.sfu.as_deref(), Direction::Up)));
                }
                if !here.via_sfu {
                    let peer = here.peer.as_deref().unwrap_or("the far end");
                    path.push(hops.id(HopRef::access(peer, Direction::Down)));
                }
                let receiver = here.peer.clone().unwrap_or_else(|| {
                    if here.via_sfu { "the media server".into() } else { "the far end".into() }
                });
                subjects.push(Subject {
                    observer: a.participant.to_string(),
                    sender: Some(a.participant.to_string()),
                    receiver: Some(receiver.clone()),
                    kind: kind.clone(),
                    how: if here.via_sfu {
                        "reported back by the media server"
                    } else {
                        "reported back by the receiver"
                    },
                });
                streams.push(StreamInfo {
                    entity: EntityRef::Stream(i),
                    subject: subjects.len() - 1,
                    sender: Some(a.participant.to_string()),
                    receiver,
                    kind,
                    path: intern(path),
                    outbound: true,
                    pc: st.pc,
                    report_is_uplink: here.via_sfu,
                    audio_twin: false,
                });
            }
        }

        // Audio of the same flow (same sender, receiver, way and path) measures its loss
        // better than video does.
        let audio: std::collections::HashSet<(Option<&str>, &str, bool, usize)> = streams
            .iter()
            .filter(|s| s.kind.as_deref() == Some("audio"))
            .map(|s| (s.sender.as_deref(), s.receiver.as_str(), s.outbound, s.path))
            .collect();
        let twins: Vec<bool> = streams
            .iter()
            .map(|s| audio.contains(&(s.sender.as_deref(), s.receiver.as_str(), s.outbound, s.path)))
            .collect();
        for (s, twin) in streams.iter_mut().zip(twins) {
            s.audio_twin = twin;
        }

        // Round trips: each connection's path, both directions of each access network.
        let mut round_trips = Vec::new();
        for pc in &pcs {
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
            subjects.push(Subject {
                observer: pc.participant.clone(),
                sender: None,
                receiver: None,
                kind: None,
                how: "round trip of the connection",
            });
            round_trips.push((intern(path), subjects.len() - 1));
        }

        let ramping = match &metrics {
            Some(m) => ramp_ups(view, &pcs, m, limits),
            None => Vec::new(),
        };
        let segments = middlebox_segments(conference, view, &pcs, &mut hops, &mut intern, &mut subjects);
        let slow_encoders = slow_encoders(conference, view, metrics.as_ref());
        // Every one-way hop on a path also stands for its place as a whole (a Wi-Fi bad
        // both ways, a relay dropping everything): one hop that explains both directions
        // beats two, and ties with whatever else explains them as well.
        for path in &mut paths {
            let mut whole = Vec::with_capacity(path.len() * 2);
            for &h in path.iter() {
                whole.push(h);
                if let Some(twin) = hops.get(h).whole() {
                    whole.push(hops.id(twin));
                }
            }
            whole.sort_unstable();
            whole.dedup();
            *path = whole;
        }
        Observer {
            view,
            limits: *limits,
            metrics,
            back,
            hops,
            paths,
            subjects,
            streams,
            pcs,
            round_trips,
            ramping,
            segments,
            slow_encoders,
        }
    }

    /// The worst loss a middlebox measured of `hop` alone in any one of its windows between
    /// `from` and `to`: (percent, packets lost when known). Windows of a share need
    /// [`MIN_PACKETS`]. `None` when nothing measured that hop alone then.
    pub fn worst_direct_loss(
        &self,
        hop: usize,
        from: Timestamp,
        to: Timestamp,
    ) -> Option<(f64, Option<f64>)> {
        let mut worst: Option<(f64, Option<f64>)> = None;
        for seg in self.segments.iter().filter(|s| s.signal == Signal::Loss && s.alone == Some(hop)) {
            for (k, (start, end, v)) in seg.windows.iter().enumerate() {
                let packets = seg.packets.as_ref().and_then(|p| p.get(k)).copied();
                if *end > from && *start < to && packets.is_none_or(|n| n >= MIN_PACKETS) {
                    let lost = packets.map(|n| n * v / 100.0);
                    if worst.is_none_or(|w| *v > w.0) {
                        worst = Some((*v, lost));
                    }
                }
            }
        }
        worst
    }

    /// Fills `out` with the measurements of every signal at `tick`, in [`SIGNALS`] order,
    /// and `cpu` with the senders CPU-limited then.
    pub fn measure(&self, tick: usize, out: &mut [TickMeasurements; 4], cpu: &mut Vec<CpuSign>) {
        for t in out.iter_mut() {
            t.clear();
        }
        cpu.clear();
        let Some(m) = &self.metrics else { return };
        let (view, limits, back) = (self.view, &self.limits, self.back);
        let now = view.ticks[tick];
        let [loss, jitter, delay, bandwidth] = out;
        for s in &self.streams {
            if view.value(s.entity, m.active, tick) != Val::Bool(true) || self.pcs[s.pc].in_outage(now) {
                continue;
            }
            // An audio flow's loss is the path's loss; video hides it behind retransmissions.
            let is_audio = s.kind.as_deref() == Some("audio");
            let jitter_ms = if is_audio { smoothed(view, s.entity, m.jitter, tick, back) } else { None };
            // Chrome counts no loss across a gap longer than its reordering window (an
            // outage restarts the sequence numbering), but the receiver still conceals what
            // never came: for received audio on a steady path, the concealed share is the
            // loss it heard. On a jittery path concealment is the jitter's doing.
            let steady = jitter_ms.is_some_and(|j| j <= limits.jitter.1);
            let concealed = if is_audio && !s.outbound && steady {
                smoothed(view, s.entity, m.concealment, tick, back)
            } else {
                None
            };
            let lost = match (smoothed(view, s.entity, m.loss, tick, back), concealed) {
                (Some(l), Some(c)) => Some(l.max(c)),
                (l, c) => l.or(c),
            };
            // A loss share needs packets behind it: one lost of a DTX mute's dozen is not 8 %.
            // And it needs at least half the smoothing window: in a stream's first seconds
            // two packets lost by chance are a 4 % loss.
            let (rate, seconds) = covered(view, s.entity, m.packet_rate, tick, back).unwrap_or((0.0, 0.0));
            let packets = rate * limits.window_ms / 1000.0;
            if let Some(v) = lost
                && packets >= MIN_PACKETS
                && seconds * 2000.0 >= limits.window_ms
                && (is_audio || !s.audio_twin)
            {
                loss.push(s.path, v, limits.loss, s.report_is_uplink, s.subject);
            }
            if let Some(v) = jitter_ms {
                jitter.push(s.path, v, limits.jitter, s.report_is_uplink, s.subject);
            }
            if s.outbound && s.kind.as_deref() == Some("video") {
                // The estimate starts low and climbs for the first seconds of every
                // connection; Chrome reports `bandwidth` limitation while it does.
                let ramping = self.ramping.get(s.pc).and_then(|r| r.get(tick)).copied().unwrap_or(true);
                if !ramping && let Some(v) = smoothed(view, s.entity, m.bandwidth, tick, back) {
                    bandwidth.push(s.path, v, limits.bandwidth, false, s.subject);
                }
                if let Some(v) = smoothed(view, s.entity, m.cpu, tick, back)
                    && v >= limits.cpu
                    && let Some(sender) = &s.sender
                {
                    cpu.push(CpuSign { sender: sender.clone(), value: v, inferred: false });
                }
            }
        }
        for (i, pc) in self.pcs.iter().enumerate() {
            if pc.in_outage(now) {
                continue;
            }
            if let Some(v) = smoothed(view, EntityRef::Pc(i), m.pc_rtt, tick, back) {
                let (path, subject) = self.round_trips[i];
                delay.push(path, v, limits.rtt, false, subject);
            }
        }
        for (sender, ticks) in &self.slow_encoders {
            if let Some(Some(v)) = ticks.get(tick) {
                cpu.push(CpuSign { sender: sender.clone(), value: *v, inferred: true });
            }
        }
        // What servers measured of single segments: direct evidence about those hops.
        let since = now.plus_ms(-limits.window_ms);
        for seg in &self.segments {
            let (mut n, mut sum) = (0.0, 0.0);
            for (k, (start, end, v)) in seg.windows.iter().enumerate() {
                if *end > since && *start < now {
                    let w = seg.packets.as_ref().and_then(|p| p.get(k)).copied().unwrap_or(1.0);
                    n += w;
                    sum += v * w;
                }
            }
            let enough = if seg.packets.is_some() { MIN_PACKETS } else { f64::MIN_POSITIVE };
            if n < enough {
                continue;
            }
            let v = sum / n;
            let (out, limit) = match seg.signal {
                Signal::Loss => (&mut *loss, limits.loss),
                Signal::Jitter => (&mut *jitter, limits.jitter),
                Signal::Delay => (&mut *delay, limits.rtt),
                Signal::Bandwidth => continue,
            };
            out.push(seg.path, v, limit, true, seg.subject);
        }
    }
}

/// The segments media servers and relays measured, each with the hops it covers:
/// - what an SFU received from a client: that client's uplink (and relay);
/// - what a client reported back about the SFU's media: the server's egress, the
///   client's relay and downlink;
/// - the server's round trip to the client: the client's network (and relay);
/// - what a relay did not pass on, each way: the relay itself.
fn middlebox_segments(
    conference: &Conference,
    view: &View,
    pcs: &[PcPath],
    hops: &mut HopTable,
    intern: &mut impl FnMut(Vec<usize>) -> usize,
    subjects: &mut Vec<Subject>,
) -> Vec<SegmentSeries> {
    use hopscope_model::middlebox::MiddleboxKind;
    use hopscope_model::middlebox::intervals::{sfu_client_intervals, turn_intervals};
    let mut out = Vec::new();
    let subject = |subjects: &mut Vec<Subject>, observer: &str, who: &str, how: &'static str| {
        subjects.push(Subject {
            observer: observer.to_string(),
            sender: Some(who.to_string()),
            receiver: None,
            kind: None,
            how,
        });
        subjects.len() - 1
    };
    for mb in &conference.middleboxes {
        match mb.kind {
            Some(MiddleboxKind::Sfu) => {
                for client in &mb.clients {
                    let Some(m) = &client.matched else { continue };
                    let who = m.participant.as_str();
                    // The server's clock, moved onto the endpoint's when the join bounded it.
                    let shift_ms = -m.clock_offset.as_ref().map_or(0.0, |o| o.estimate_s()) * 1000.0;
                    let mine = pcs.iter().find(|p| p.participant == who && p.via_sfu);
                    let turn = mine.and_then(|p| p.turn.clone());
                    let server = mine.and_then(|p| p.sfu.as_deref());
                    // Loss the server counts on arrival includes what its own receiving drops.
                    let mut up = vec![hops.id(HopRef::access(who, Direction::Up))];
                    let mut down = vec![hops.id(HopRef::sfu_way(server, Direction::Down))];
                    let mut rtt = vec![hops.id(HopRef::access(who, Direction::Both))];
                    if let Some(t) = &turn {
                        up.push(hops.id(HopRef::turn_way(t, Direction::Up)));
                        down.push(hops.id(HopRef::turn_way(t, Direction::Down)));
                        rtt.push(hops.id(HopRef::turn(t)));
                    }
                    up.push(hops.id(HopRef::sfu_way(server, Direction::Up)));
                    rtt.push(hops.id(HopRef::sfu(server)));
                    down.push(hops.id(HopRef::access(who, Direction::Down)));
                    let (up, down, rtt) = (intern(up), intern(down), intern(rtt));
                    let intervals = sfu_client_intervals(client);
                    let series = |f: &dyn Fn(
                        &hopscope_model::middlebox::intervals::SfuClientInterval,
                    ) -> Option<f64>| {
                        intervals
                            .iter()
                            .filter(|i| !i.reset)
                            .filter_map(|i| Some((i.start.plus_ms(shift_ms), i.end.plus_ms(shift_ms), f(i)?)))
                            .collect::<Vec<_>>()
                    };
                    let server = mb.server.as_str();
                    out.push(SegmentSeries {
                        packets: None,
                        alone: None,
                        signal: Signal::Loss,
                        path: up,
                        subject: subject(subjects, server, who, "measured by the media server on arrival"),
                        windows: series(&|i| {
                            i.upstream_loss_fraction.filter(|_| i.upstream_active).map(|f| f * 100.0)
                        }),
                    });
                    out.push(SegmentSeries {
                        packets: None,
                        alone: None,
                        signal: Signal::Jitter,
                        path: up,
                        subject: subject(subjects, server, who, "measured by the media server on arrival"),
                        windows: series(&|i| i.upstream_jitter_ms.filter(|_| i.upstream_active)),
                    });
                    out.push(SegmentSeries {
                        packets: None,
                        alone: None,
                        signal: Signal::Loss,
                        path: down,
                        subject: subject(
                            subjects,
                            server,
                            who,
                            "what the client reported to the media server",
                        ),
                        windows: series(&|i| {
                            i.downstream_loss_fraction.filter(|_| i.downstream_active).map(|f| f * 100.0)
                        }),
                    });
                    out.push(SegmentSeries {
                        packets: None,
                        alone: None,
                        signal: Signal::Delay,
                        path: rtt,
                        subject: subject(
                            subjects,
                            server,
                            who,
                            "the media server's round trip to the client",
                        ),
                        windows: series(&|i| i.rtt_ms),
                    });
                }
            }
            Some(MiddleboxKind::Turn) => {
                for allocation in &mb.allocations {
                    let Some(m) = &allocation.matched else { continue };
                    let who = m.participant.as_str();
                    let mine = allocation_pc(conference, view, pcs, who, allocation);
                    // The relay as the endpoint's flows name it, else by the server's name.
                    let name = mine
                        .and_then(|i| pcs[i].own_turn.clone())
                        .or_else(|| {
                            pcs.iter().find(|p| p.participant == who && p.turn.is_some())?.turn.clone()
                        })
                        .unwrap_or_else(|| mb.server.clone());
                    let shift_ms = -m.clock_offset.as_ref().map_or(0.0, |o| o.estimate_s()) * 1000.0;
                    let intervals = turn_intervals(allocation);
                    for (direction, how) in [
                        (Direction::Up, "what the relay passed on from the client"),
                        (Direction::Down, "what the relay passed on to the client"),
                    ] {
                        let inside = hops.id(HopRef::turn_way(&name, direction));
                        let path = intern(vec![inside]);
                        let windows = intervals
                            .iter()
                            .filter(|i| !i.reset && i.active)
                            .filter_map(|i| {
                                let f = match direction {
                                    Direction::Up => i.client_to_peers_loss_fraction,
                                    _ => i.peers_to_client_loss_fraction,
                                }?;
                                Some((i.start.plus_ms(shift_ms), i.end.plus_ms(shift_ms), f * 100.0))
                            })
                            .collect();
                        out.push(SegmentSeries {
                            packets: None,
                            alone: Some(inside),
                            signal: Signal::Loss,
                            path,
                            subject: subject(subjects, &mb.server, who, how),
                            windows,
                        });
                    }
                    if let Some(i) = mine {
                        let legs = relay_legs(conference, view, pcs, i, allocation, shift_ms);
                        for (side, windows) in legs {
                            let (path, subject) = leg_path(pcs, i, side, hops, subjects, &mb.server);
                            let packets = Some(windows.iter().map(|w| w.3).collect());
                            let alone = (path.len() == 1).then(|| path[0]);
                            out.push(SegmentSeries {
                                alone,
                                signal: Signal::Loss,
                                path: intern(path),
                                subject,
                                windows: windows.into_iter().map(|(a, b, v, _)| (a, b, v)).collect(),
                                packets,
                            });
                        }
                    }
                }
            }
            None => {}
        }
    }
    out
}

/// The connection (index into `pcs`) whose media an allocation relays: the one with the
/// allocation's relayed address among its candidates, else the participant's only relayed one.
fn allocation_pc(
    conference: &Conference,
    view: &View,
    pcs: &[PcPath],
    who: &str,
    allocation: &hopscope_model::middlebox::TurnAllocation,
) -> Option<usize> {
    let relayed: Vec<usize> =
        (0..pcs.len()).filter(|&i| pcs[i].participant == who && pcs[i].own_turn.is_some()).collect();
    let by_address = allocation.relay_address.as_deref().and_then(|address| {
        relayed.iter().copied().find(|&i| {
            let Some(pc) = model_pc(conference, view, i) else { return false };
            pc.candidates.iter().any(|c| {
                !c.is_remote
                    && c.candidate_type == Some(hopscope_model::stats::CandidateType::Relay)
                    && c.address.as_deref().zip(c.port).is_some_and(|(a, p)| {
                        let a = a.trim_matches(['[', ']']);
                        address == format!("{a}:{p}") || address == format!("[{a}]:{p}")
                    })
            })
        })
    });
    by_address.or_else(|| (relayed.len() == 1).then(|| relayed[0]))
}

/// The model's peer connection behind `pcs[i]`.
fn model_pc<'c>(
    conference: &'c Conference,
    view: &View,
    i: usize,
) -> Option<&'c hopscope_model::PeerConnection> {
    let e = view.pcs.get(i)?;
    conference.participants.get(e.participant)?.peer_connections.get(e.index)
}

/// The far end's connection of peer-to-peer `pcs[i]`, when its data is here.
fn peer_pc(pcs: &[PcPath], i: usize) -> Option<usize> {
    let here = &pcs[i];
    let peer = here.peer.as_deref().filter(|_| !here.via_sfu)?;
    (0..pcs.len()).find(|&j| {
        j != i
            && pcs[j].participant == peer
            && !pcs[j].via_sfu
            && pcs[j].peer.as_deref() == Some(&*here.participant)
    })
}

/// Each side of the relay an allocation serves on connection `pcs[i]`, from the relay's
/// counts against the endpoints' (see `relay.rs`); outages are left to connectivity.
fn relay_legs(
    conference: &Conference,
    view: &View,
    pcs: &[PcPath],
    i: usize,
    allocation: &hopscope_model::middlebox::TurnAllocation,
    shift_ms: f64,
) -> Vec<(relay::Side, relay::Leg)> {
    let Some(client) = model_pc(conference, view, i).map(relay::PcCounts::of) else { return Vec::new() };
    let j = peer_pc(pcs, i);
    let peer = j.and_then(|j| model_pc(conference, view, j)).map(relay::PcCounts::of);
    let down = |p: &PcPath, a: Timestamp, b: Timestamp| p.outages.iter().any(|(x, y)| *x <= b && a <= *y);
    relay::legs(allocation, shift_ms, &client, peer.as_ref(), |a, b| {
        down(&pcs[i], a, b) || j.is_some_and(|j| down(&pcs[j], a, b))
    })
}

/// The hops one relay leg covers, and its subject: the client's uplink or downlink, or on
/// the peer's side its relay (if it has one) and its access network.
fn leg_path(
    pcs: &[PcPath],
    i: usize,
    side: relay::Side,
    hops: &mut HopTable,
    subjects: &mut Vec<Subject>,
    server: &str,
) -> (Vec<usize>, usize) {
    use relay::Side;
    let who = pcs[i].participant.as_str();
    let peer_pc = peer_pc(pcs, i).map(|j| &pcs[j]);
    let peer = peer_pc.map_or("the far end", |p| p.participant.as_str());
    // The far end's own relay, which its packets cross too (not this allocation's relay,
    // which its route also shows).
    let peer_turn = peer_pc.and_then(|p| p.own_turn.as_deref());
    // Whose access network the leg crosses, and which way the packets go on it.
    let (owner, up) = match side {
        Side::ClientUp => (who, true),
        Side::ClientDown => (who, false),
        Side::PeerUp => (peer, true),
        Side::PeerDown => (peer, false),
    };
    let direction = if up { Direction::Up } else { Direction::Down };
    let mut path = vec![hops.id(HopRef::access(owner, direction))];
    if let (Side::PeerUp | Side::PeerDown, Some(t)) = (side, peer_turn) {
        path.push(hops.id(HopRef::turn_way(t, direction)));
    }
    let (sender, receiver, how) = if up {
        (Some(owner), None, "between the sender and the relay, the relay's count against the sender's")
    } else {
        (None, Some(owner), "between the relay and the receiver, the relay's count against the receiver's")
    };
    subjects.push(Subject {
        observer: server.to_string(),
        sender: sender.map(String::from),
        receiver: receiver.map(String::from),
        kind: None,
        how,
    });
    (path, subjects.len() - 1)
}

/// For senders whose browser reports no `qualityLimitationReason` (Firefox, Safari), the
/// CPU's mark read from the encoder itself: encoding a frame takes at least twice as long
/// as it did at its best, while the frame rate or the picture size has come down by a
/// fifth, and the connection shows no trouble that would explain an adaptation (no loss
/// reported back, no bandwidth limit). The value per tick is the slowdown, as a share.
fn slow_encoders(
    conference: &Conference,
    view: &View,
    m: Option<&Metrics>,
) -> Vec<(String, Vec<Option<f64>>)> {
    let Some(m) = m else { return Vec::new() };
    let mut out = Vec::new();
    for (i, st) in view.streams.iter().enumerate() {
        if &*st.attrs.direction != "outbound" || st.attrs.kind.as_deref() != Some("video") {
            continue;
        }
        let entity = EntityRef::Stream(i);
        // Browsers that say why they limit quality are read directly.
        if (0..view.ticks.len()).any(|t| matches!(view.value(entity, m.cpu, t), Val::Num(_))) {
            continue;
        }
        let pce = &view.pcs[st.pc];
        let pc = &conference.participants[pce.participant].peer_connections[pce.index];
        let Some(stream) = pc.outbound.iter().find(|o| o.info.ssrc == st.attrs.ssrc && o.info.ssrc.is_some())
        else {
            continue;
        };
        let intervals: Vec<_> = stream.intervals().iter().filter(|i| i.active).cloned().collect();
        let (mut best_ms, mut best_fps, mut best_height) = (f64::INFINITY, 0.0f64, 0.0f64);
        let mut slow: Vec<(hopscope_model::Timestamp, hopscope_model::Timestamp, f64)> = Vec::new();
        for iv in &intervals {
            let (Some(ms), Some(fps)) = (iv.encode_ms_per_frame, iv.fps) else { continue };
            let height = iv.frame_height.unwrap_or(0.0);
            let slower = ms >= 2.0 * best_ms;
            let fewer = fps <= 0.8 * best_fps || height <= 0.8 * best_height;
            if slower && fewer {
                slow.push((iv.start, iv.end, 100.0 * (1.0 - best_ms / ms)));
            }
            best_ms = best_ms.min(ms);
            best_fps = best_fps.max(fps);
            best_height = best_height.max(height);
        }
        if slow.is_empty() {
            continue;
        }
        let per_tick = (0..view.ticks.len())
            .map(|t| {
                let now = view.ticks[t];
                let reported_loss = matches!(view.value(entity, m.loss, t), Val::Num(l) if l > 1.0);
                let limited = matches!(view.value(entity, m.bandwidth, t), Val::Num(b) if b > 10.0);
                if reported_loss || limited {
                    return None;
                }
                slow.iter().find(|(a, b, _)| *a < now && now <= *b).map(|(_, _, v)| *v)
            })
            .collect();
        out.push((st.attrs.participant.to_string(), per_tick));
    }
    out
}

/// Per connection and tick: is the bandwidth estimate still ramping up after connecting?
/// Early on, yes, unless it has already fallen to half its best (that is congestion).
fn ramp_ups(view: &View, pcs: &[PcPath], m: &Metrics, limits: &Thresholds) -> Vec<Vec<bool>> {
    pcs.iter()
        .enumerate()
        .map(|(i, pc)| {
            let mut best = 0.0f64;
            (0..view.ticks.len())
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
        .collect()
}
