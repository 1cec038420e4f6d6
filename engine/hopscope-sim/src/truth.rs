//! Ground truth: the faults a scenario injects, each with where (the hop), when, how large,
//! and which other hops the data that call produces cannot tell it from.
//!
//! Faults are derived from the scenario itself, so a hand-written scenario carries its
//! truth as surely as a generated one. Everything beyond a healthy baseline is a fault:
//!
//! | scenario says | fault | hop |
//! | --- | --- | --- |
//! | a link's `loss` above 1 % | `loss` (fraction) | `access` up/down, `sfu` up (ingress) / down (egress), `turn` both |
//! | `jitter` above 30 ms | `jitter` (s) | as for loss |
//! | one-way `delay` above 150 ms (G.114) | `delay` (s) | as for loss |
//! | `bandwidth` below what the link must carry at full quality | `bandwidth` (bit/s) | `access` up/down |
//! | `cpu_limited` | `cpu` | `endpoint` |
//! | `disconnect`, `fail_at`, `never_connects` (other than a refused relay) | `connectivity` | `access` both |
//! | a relay's `auth_failure`, or a 401/431/438 `candidate_error` | `turn-auth` | `turn` |
//! | `sfu.overload` | `sfu-overload` | `sfu` |
//!
//! A fault's window is where its condition holds, within the time the hop is in the call
//! (a participant's join to leave; a relay's users'). Benign conditions (DTX mutes, screen
//! shares, joins and leaves, old browsers, `sending_stopped`, getUserMedia and negotiation
//! errors) are not hop faults and are not listed.
//!
//! `equivalent` lists the (hop, direction) pairs that would leave the same marks in the
//! data: every flow's path is cut at the points that report counters of their own (the
//! endpoints, the media server through its RTCP reports whether or not it is observed, an
//! observed relay on both of its sides), and two hops are equivalent when they touch the
//! same flows between the same points. Delay is measured only as round trips (endpoint
//! clocks are not synchronised), so every hop on a round trip is equivalent for delay.
//! Jitter is timing too: a relay counts packets and bytes but reports no interarrival
//! jitter, so an observed relay does not cut a flow for jitter (the media server does: its
//! RTCP receiver reports carry the jitter it measured).

use serde::{Deserialize, Serialize};

use crate::scenario::{
    CandidateKind, IMPLICIT_RELAY, LinkSpec, NetworkSpec, ParticipantSpec, Scenario, Topology, Window,
};

/// Loss on a link above this is a fault.
pub const LOSS_ABOVE: f64 = 0.01;
/// Jitter on a link above this (seconds) is a fault.
pub const JITTER_ABOVE_S: f64 = 0.030;
/// One-way delay on a link above this (seconds) is a fault: ITU-T G.114's 150 ms.
pub const DELAY_ABOVE_S: f64 = 0.150;
/// What audio needs on the wire, for a link's full-quality demand.
const AUDIO_WIRE_BPS: f64 = 45_000.0;

/// What went wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// Packet loss on a link.
    Loss,
    /// Interarrival jitter on a link.
    Jitter,
    /// One-way delay on a link.
    Delay,
    /// A capacity limit below what the link must carry.
    Bandwidth,
    /// A CPU-starved encoder.
    Cpu,
    /// The path is down (for a while, for good, or never up).
    Connectivity,
    /// A relay refuses the client's credentials.
    TurnAuth,
    /// A CPU-starved media server.
    SfuOverload,
}

impl FaultKind {
    /// Every kind, in a fixed order.
    pub const ALL: [FaultKind; 8] = [
        FaultKind::Loss,
        FaultKind::Jitter,
        FaultKind::Delay,
        FaultKind::Bandwidth,
        FaultKind::Cpu,
        FaultKind::Connectivity,
        FaultKind::TurnAuth,
        FaultKind::SfuOverload,
    ];

    /// The name used in truth files.
    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::Loss => "loss",
            FaultKind::Jitter => "jitter",
            FaultKind::Delay => "delay",
            FaultKind::Bandwidth => "bandwidth",
            FaultKind::Cpu => "cpu",
            FaultKind::Connectivity => "connectivity",
            FaultKind::TurnAuth => "turn-auth",
            FaultKind::SfuOverload => "sfu-overload",
        }
    }
}

/// The class of a hop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HopKind {
    /// A participant's device (CPU, camera, browser).
    Endpoint,
    /// A participant's access network.
    Access,
    /// The media server.
    Sfu,
    /// A TURN relay.
    Turn,
}

impl HopKind {
    /// The name used in truth files.
    pub fn as_str(self) -> &'static str {
        match self {
            HopKind::Endpoint => "endpoint",
            HopKind::Access => "access",
            HopKind::Sfu => "sfu",
            HopKind::Turn => "turn",
        }
    }
}

/// Where a fault is: a participant's device or access network, or a server.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Hop {
    /// Its class.
    pub kind: HopKind,
    /// The participant (endpoint and access hops).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participant: Option<String>,
    /// The server (sfu and turn hops).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
}

impl Hop {
    fn participant(kind: HopKind, name: &str) -> Hop {
        Hop { kind, participant: Some(name.to_string()), server: None }
    }

    fn server(kind: HopKind, name: &str) -> Hop {
        Hop { kind, participant: None, server: Some(name.to_string()) }
    }
}

/// Which way a link fault acts. Access links: `up` is what the participant sends. The
/// media server: `up` its ingress (media from clients), `down` its egress. A relay's link
/// is crossed both ways.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Towards the middle of the call.
    Up,
    /// Towards the participant.
    Down,
    /// Both ways.
    Both,
}

/// The unit of a fault's magnitude.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Unit {
    /// A share, 0..1 (loss).
    #[serde(rename = "fraction")]
    Fraction,
    /// Seconds (jitter, delay).
    #[serde(rename = "s")]
    Seconds,
    /// Bits per second (bandwidth).
    #[serde(rename = "bps")]
    BitsPerSecond,
}

/// A hop and the direction a fault acts in.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct HopRef {
    /// The hop.
    #[serde(flatten)]
    pub hop: Hop,
    /// The direction, where it matters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
}

/// One injected fault.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fault {
    /// What.
    pub kind: FaultKind,
    /// Where.
    pub hop: Hop,
    /// Which way (link faults).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    /// From, seconds after the call's start.
    pub from_s: f64,
    /// To, seconds after the call's start.
    pub to_s: f64,
    /// How much (the worst over the window), in `unit`; none for on/off faults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub magnitude: Option<f64>,
    /// The unit of `magnitude`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<Unit>,
    /// Other hops (with direction) the call's data cannot tell this one from.
    #[serde(default)]
    pub equivalent: Vec<HopRef>,
}

/// A middlebox in the call, and whether its observations are part of the data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerTruth {
    /// `sfu` or `turn`.
    pub kind: HopKind,
    /// Its name.
    pub name: String,
    /// It emits observations.
    pub observed: bool,
}

/// Everything a scenario injected: what a diagnosis of its simulated call is scored against.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    /// The scenario's name.
    pub scenario: String,
    /// The conference id in the data.
    pub conference: String,
    /// The scenario's seed.
    pub seed: u64,
    /// `p2p` or `sfu`.
    pub topology: Topology,
    /// Seconds simulated.
    pub duration_s: f64,
    /// The participants, in scenario order.
    pub participants: Vec<String>,
    /// The media server and relays carrying media (or refusing to).
    pub servers: Vec<ServerTruth>,
    /// The faults, by start time.
    pub faults: Vec<Fault>,
}

impl Truth {
    /// No fault was injected.
    pub fn is_healthy(&self) -> bool {
        self.faults.is_empty()
    }
}

/// A link metric and when it is a fault.
#[derive(Clone, Copy)]
enum Metric {
    Loss,
    Jitter,
    Delay,
    /// Below this demand (bit/s).
    Bandwidth(f64),
}

impl Metric {
    fn kind(self) -> FaultKind {
        match self {
            Metric::Loss => FaultKind::Loss,
            Metric::Jitter => FaultKind::Jitter,
            Metric::Delay => FaultKind::Delay,
            Metric::Bandwidth(_) => FaultKind::Bandwidth,
        }
    }

    fn unit(self) -> Unit {
        match self {
            Metric::Loss => Unit::Fraction,
            Metric::Jitter | Metric::Delay => Unit::Seconds,
            Metric::Bandwidth(_) => Unit::BitsPerSecond,
        }
    }

    /// The link's value, if it is a fault.
    fn faulty(self, l: &LinkSpec) -> Option<f64> {
        match self {
            Metric::Loss => (l.loss > LOSS_ABOVE).then_some(l.loss),
            Metric::Jitter => (l.jitter > JITTER_ABOVE_S).then_some(l.jitter),
            Metric::Delay => (l.delay > DELAY_ABOVE_S).then_some(l.delay),
            Metric::Bandwidth(demand) => l.bandwidth.filter(|b| *b < demand),
        }
    }

    /// The worse of two values.
    fn worse(self, a: f64, b: f64) -> f64 {
        match self {
            Metric::Bandwidth(_) => a.min(b),
            _ => a.max(b),
        }
    }
}

/// Where a network's links change, as pieces `[from, to)` covering `[0, duration)`.
fn pieces(net: &NetworkSpec, duration: f64) -> Vec<(f64, f64)> {
    let mut cuts: Vec<f64> = vec![0.0, duration];
    for (w, _, _) in &net.segments {
        cuts.extend([w.from, w.to].into_iter().filter(|t| (0.0..duration).contains(t)));
    }
    cuts.sort_by(f64::total_cmp);
    cuts.dedup();
    cuts.windows(2).map(|w| (w[0], w[1])).collect()
}

/// Where a link's faults are: the hop, the way, and when it is in the call.
struct Place<'a> {
    hop: &'a Hop,
    direction: Direction,
    clip: Window,
}

/// Faults of one link (`side` 0: uplink, 1: downlink) of `net`, clipped to the place's time.
fn link_faults(
    net: &NetworkSpec,
    side: usize,
    metrics: &[Metric],
    place: Place,
    duration: f64,
    out: &mut Vec<Fault>,
) {
    let Place { hop, direction, clip } = place;
    let pieces = pieces(net, duration);
    for &metric in metrics {
        let mut run: Option<(f64, f64, f64)> = None;
        let close = |run: &mut Option<(f64, f64, f64)>, out: &mut Vec<Fault>| {
            if let Some((from, to, worst)) = run.take() {
                let (from, to) = (from.max(clip.from), to.min(clip.to));
                if from < to {
                    out.push(Fault {
                        kind: metric.kind(),
                        hop: hop.clone(),
                        direction: Some(direction),
                        from_s: from,
                        to_s: to,
                        magnitude: Some(worst),
                        unit: Some(metric.unit()),
                        equivalent: Vec::new(),
                    });
                }
            }
        };
        for &(a, b) in &pieces {
            let links = net.at((a + b) / 2.0);
            let link = if side == 0 { links.0 } else { links.1 };
            match (metric.faulty(&link), &mut run) {
                (Some(v), Some((_, to, worst))) => {
                    *to = b;
                    *worst = metric.worse(*worst, v);
                }
                (Some(v), None) => run = Some((a, b, v)),
                (None, _) => close(&mut run, out),
            }
        }
        close(&mut run, out);
    }
}

/// What a participant sends at full quality, bit/s.
fn send_demand(p: &ParticipantSpec) -> f64 {
    let audio = if p.audio.is_some() { AUDIO_WIRE_BPS } else { 0.0 };
    audio + p.video.iter().chain(p.screenshare.iter()).map(|v| v.max_bitrate).sum::<f64>()
}

/// Whether a participant gets a connection at all.
fn has_connection(p: &ParticipantSpec) -> bool {
    p.gum_error.is_none()
}

/// The relay a participant's media crosses.
fn relay_of(p: &ParticipantSpec) -> Option<usize> {
    p.ice.turn.filter(|_| {
        p.ice.candidate == CandidateKind::Relay && !(p.ice.never_connects && p.ice.candidate_error.is_some())
    })
}

/// A refused credential's error codes: Unauthorized, Integrity Check Failure, Stale Nonce.
fn is_auth_error(code: u16) -> bool {
    matches!(code, 401 | 431 | 438)
}

/// `turn:host:3478?transport=udp` → `host`.
fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once(':')?.1;
    let host = rest.split([':', '?']).next()?;
    (!host.is_empty()).then_some(host)
}

pub(crate) fn derive(s: &Scenario) -> Truth {
    let mut faults = Vec::new();
    let all = Window { from: 0.0, to: s.duration };
    let demand: Vec<f64> = s.participants.iter().map(send_demand).collect();
    let total: f64 = demand.iter().sum();
    for (i, p) in s.participants.iter().enumerate() {
        let clip = Window { from: p.join, to: p.leave };
        let access = Hop::participant(HopKind::Access, &p.name);
        // Peer-to-peer: the peer's media; through a media server: everyone else's.
        let receives = total - demand[i];
        for (side, direction, need) in [(0, Direction::Up, demand[i]), (1, Direction::Down, receives)] {
            let metrics = [Metric::Loss, Metric::Jitter, Metric::Delay, Metric::Bandwidth(need)];
            let place = Place { hop: &access, direction, clip };
            link_faults(&p.network, side, &metrics, place, s.duration, &mut faults);
        }
        let endpoint = Hop::participant(HopKind::Endpoint, &p.name);
        for w in &p.cpu_limited {
            on_off(&mut faults, FaultKind::Cpu, &endpoint, None, *w, clip);
        }
        let ice = &p.ice;
        for w in &ice.disconnect {
            on_off(&mut faults, FaultKind::Connectivity, &access, Some(Direction::Both), *w, clip);
        }
        if let Some(f) = ice.fail_at {
            let w = Window { from: f, to: p.leave };
            on_off(&mut faults, FaultKind::Connectivity, &access, Some(Direction::Both), w, clip);
        }
        match &ice.candidate_error {
            Some(e) if is_auth_error(e.code) => {
                // A declared relay's refusal is listed once, with the relay, below.
                let declared = ice.turn.and_then(|t| s.turns.get(t)).is_some_and(|t| t.auth_failure);
                if !declared {
                    let host = e.url.as_deref().and_then(url_host).unwrap_or(IMPLICIT_RELAY);
                    let hop = Hop::server(HopKind::Turn, host);
                    on_off(&mut faults, FaultKind::TurnAuth, &hop, None, clip, clip);
                }
            }
            _ if ice.never_connects => {
                on_off(&mut faults, FaultKind::Connectivity, &access, Some(Direction::Both), clip, clip);
            }
            _ => {}
        }
    }
    if let Some(server) = &s.sfu {
        let hop = Hop::server(HopKind::Sfu, &server.name);
        let metrics = [Metric::Loss, Metric::Jitter, Metric::Delay];
        for (side, direction) in [(0, Direction::Up), (1, Direction::Down)] {
            let place = Place { hop: &hop, direction, clip: all };
            link_faults(&server.network, side, &metrics, place, s.duration, &mut faults);
        }
        for w in &server.overload {
            on_off(&mut faults, FaultKind::SfuOverload, &hop, None, *w, all);
        }
    }
    for (r, relay) in s.turns.iter().enumerate() {
        let hop = Hop::server(HopKind::Turn, &relay.name);
        let users = |configured: bool| {
            s.participants
                .iter()
                .filter(move |p| if configured { p.ice.turn == Some(r) } else { relay_of(p) == Some(r) })
                .map(|p| Window { from: p.join, to: p.leave })
                .reduce(|a, b| Window { from: a.from.min(b.from), to: a.to.max(b.to) })
        };
        if let Some(span) = users(false) {
            let metrics = [Metric::Loss, Metric::Jitter, Metric::Delay];
            let place = Place { hop: &hop, direction: Direction::Both, clip: span };
            link_faults(&relay.network, 0, &metrics, place, s.duration, &mut faults);
        }
        if relay.auth_failure
            && let Some(span) = users(true)
        {
            on_off(&mut faults, FaultKind::TurnAuth, &hop, None, span, span);
        }
    }
    let paths = Paths::new(s);
    for f in &mut faults {
        f.equivalent = paths.equivalent(f);
    }
    faults.sort_by(|a, b| {
        a.from_s
            .total_cmp(&b.from_s)
            .then(a.kind.cmp(&b.kind))
            .then(a.hop.cmp(&b.hop))
            .then(a.direction.cmp(&b.direction))
    });
    let mut servers = Vec::new();
    if let Some(server) = &s.sfu {
        servers.push(ServerTruth { kind: HopKind::Sfu, name: server.name.clone(), observed: server.observe });
    }
    for relay in &s.turns {
        servers.push(ServerTruth { kind: HopKind::Turn, name: relay.name.clone(), observed: relay.observe });
    }
    Truth {
        scenario: s.name.clone(),
        conference: s.conference.clone(),
        seed: s.seed,
        topology: s.topology,
        duration_s: s.duration,
        participants: s.participants.iter().map(|p| p.name.clone()).collect(),
        servers,
        faults,
    }
}

/// An on/off fault over `w` clipped to `clip`.
fn on_off(
    out: &mut Vec<Fault>,
    kind: FaultKind,
    hop: &Hop,
    direction: Option<Direction>,
    w: Window,
    clip: Window,
) {
    let (from, to) = (w.from.max(clip.from), w.to.min(clip.to));
    if from < to {
        out.push(Fault {
            kind,
            hop: hop.clone(),
            direction,
            from_s: from,
            to_s: to,
            magnitude: None,
            unit: None,
            equivalent: Vec::new(),
        });
    }
}

/// A stretch of a flow's path: a hop crossed one way, and between which reporting points.
#[derive(Clone, Debug)]
struct Stretch {
    hop: Hop,
    /// `Up` when crossed from the participant or client towards the middle.
    way: Direction,
    /// Which of the path's stretches between reporting points it is in.
    part: usize,
    /// The same between the points that report timing (jitter): not a relay.
    timing_part: usize,
}

/// Where a path is cut so far: (by counters, by timing).
type Cuts = (usize, usize);

/// Appends a stretch; a relay that reports counters on both sides (`isolated`) stands alone
/// for counters, not for timing.
fn push(path: &mut Vec<Stretch>, cuts: &mut Cuts, hop: Hop, way: Direction, isolated: bool) {
    if isolated {
        cuts.0 += 1;
        path.push(Stretch { hop, way, part: cuts.0, timing_part: cuts.1 });
        cuts.0 += 1;
    } else {
        path.push(Stretch { hop, way, part: cuts.0, timing_part: cuts.1 });
    }
}

/// Every flow's path, and every round trip measured, for telling hops apart.
struct Paths {
    flows: Vec<Vec<Stretch>>,
    /// Round trips someone measures, as the hops they cross.
    round_trips: Vec<Vec<Hop>>,
    candidates: Vec<HopRef>,
}

impl Paths {
    fn new(s: &Scenario) -> Paths {
        let connected: Vec<usize> =
            (0..s.participants.len()).filter(|&i| has_connection(&s.participants[i])).collect();
        let relay = |i: usize| -> Option<(Hop, bool)> {
            let r = relay_of(&s.participants[i])?;
            let spec = s.turns.get(r)?;
            Some((Hop::server(HopKind::Turn, &spec.name), spec.observe))
        };
        let access = |i: usize| Hop::participant(HopKind::Access, &s.participants[i].name);
        let sends = |i: usize| {
            let p = &s.participants[i];
            p.audio.is_some() || p.video.is_some() || p.screenshare.is_some()
        };
        let sfu = s.sfu.as_ref().map(|x| Hop::server(HopKind::Sfu, &x.name));
        let mut flows = Vec::new();
        let pairs: Vec<(usize, usize)> = match s.topology {
            Topology::P2p if connected.len() == 2 => {
                vec![(connected[0], connected[1]), (connected[1], connected[0])]
            }
            Topology::P2p => Vec::new(),
            Topology::Sfu => connected
                .iter()
                .flat_map(|&a| connected.iter().map(move |&b| (a, b)))
                .filter(|(a, b)| a != b)
                .collect(),
        };
        for (from, to) in pairs {
            if !sends(from) {
                continue;
            }
            let mut path = Vec::new();
            let mut part: Cuts = (0, 0);
            push(&mut path, &mut part, access(from), Direction::Up, false);
            if let Some((hop, observed)) = relay(from) {
                push(&mut path, &mut part, hop, Direction::Up, observed);
            }
            if let Some(server) = &sfu {
                push(&mut path, &mut part, server.clone(), Direction::Up, false);
                // The server reports what reached it to the sender (RTCP), observed or not.
                part.0 += 1;
                part.1 += 1;
                push(&mut path, &mut part, server.clone(), Direction::Down, false);
            }
            if let Some((hop, observed)) = relay(to) {
                push(&mut path, &mut part, hop, Direction::Down, observed);
            }
            push(&mut path, &mut part, access(to), Direction::Down, false);
            flows.push(path);
        }
        let mut round_trips = Vec::new();
        let with_relay = |i: usize| std::iter::once(access(i)).chain(relay(i).map(|r| r.0));
        match (s.topology, &sfu) {
            (Topology::Sfu, Some(server)) => {
                for &i in &connected {
                    round_trips.push(with_relay(i).chain(std::iter::once(server.clone())).collect());
                }
            }
            _ if connected.len() == 2 => {
                round_trips.push(with_relay(connected[0]).chain(with_relay(connected[1])).collect());
            }
            _ => {}
        }
        let mut hops: Vec<Hop> = connected.iter().map(|&i| access(i)).collect();
        hops.extend(sfu);
        for &i in &connected {
            if let Some((hop, _)) = relay(i)
                && !hops.contains(&hop)
            {
                hops.push(hop);
            }
        }
        let candidates = hops
            .into_iter()
            .flat_map(|hop| {
                [Direction::Up, Direction::Down, Direction::Both]
                    .map(|d| HopRef { hop: hop.clone(), direction: Some(d) })
            })
            .collect();
        Paths { flows, round_trips, candidates }
    }

    /// The marks a fault of `kind` on `at` leaves: which flows, between which points (or,
    /// for delay, which round trips).
    fn marks(&self, kind: FaultKind, at: &HopRef) -> Vec<(usize, usize)> {
        let mut marks = Vec::new();
        if kind == FaultKind::Delay {
            for (i, trip) in self.round_trips.iter().enumerate() {
                if trip.contains(&at.hop) {
                    marks.push((i, 0));
                }
            }
            return marks;
        }
        for (i, path) in self.flows.iter().enumerate() {
            for st in path {
                let way = at.direction.unwrap_or(Direction::Both);
                if st.hop == at.hop && (way == Direction::Both || way == st.way) {
                    marks.push((i, if kind == FaultKind::Jitter { st.timing_part } else { st.part }));
                }
            }
        }
        marks.sort_unstable();
        marks.dedup();
        marks
    }

    fn equivalent(&self, f: &Fault) -> Vec<HopRef> {
        let link_fault = matches!(
            f.kind,
            FaultKind::Loss
                | FaultKind::Jitter
                | FaultKind::Delay
                | FaultKind::Bandwidth
                | FaultKind::Connectivity
        );
        if !link_fault {
            return Vec::new();
        }
        let own = HopRef { hop: f.hop.clone(), direction: f.direction };
        let marks = self.marks(f.kind, &own);
        if marks.is_empty() {
            return Vec::new();
        }
        self.candidates.iter().filter(|c| **c != own && self.marks(f.kind, c) == marks).cloned().collect()
    }
}
