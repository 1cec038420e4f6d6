//! The simulation: sets the call up from a scenario, then advances it one stats interval at
//! a time. Each interval, senders encode (within what congestion control allows), access
//! links queue, lose and delay, relays and the media server lose and delay on their own
//! links, receivers count what arrives, RTCP feedback and the congestion controllers react,
//! every browser takes a `getStats()` report and every observed middlebox reports.

mod media;
mod middlebox;
mod report;
mod setup;
mod timeline;

use fastrand::Rng;

use crate::browser::Dialect;
use crate::network::{Bottleneck, QueueTick};
use crate::output::{Line, ParticipantOutput, ServerKind, ServerOutput, Simulation};
use crate::scenario::{LinkSpec, ParticipantSpec, Scenario, Topology, in_any};
use media::{Flow, Kind, Leg, Path, Segments, Sender};
use middlebox::{Allocation, TurnError};
use report::REMOVED_AFTER_S;
use timeline::{Event, Timeline};

/// Chrome's congestion controller starts here before probing.
const START_BITRATE: f64 = 300_000.0;
/// Its initial probes reach up to this.
const PROBE_BITRATE: f64 = 1_800_000.0;
/// What audio needs on the wire, headers included.
const AUDIO_WIRE_BPS: f64 = 45_000.0;
/// Below this a video encoder would rather drop frames than go lower.
const MIN_VIDEO_BPS: f64 = 30_000.0;
/// Video RTCP receiver and sender reports come about every second, audio every five.
const VIDEO_RTCP_S: f64 = 1.0;
const AUDIO_RTCP_S: f64 = 5.0;
/// Consent-freshness checks on a working path.
const CONSENT_EVERY_S: f64 = 2.0;
/// How soon the delay-based controller notices a queue building at a new bottleneck.
const REACT_S: f64 = 0.15;
/// What a CPU-starved media server does: it drops some of what it forwards, forwards the
/// rest late and unevenly, and answers RTCP and ICE late, so every client's RTT grows.
const OVERLOAD_LOSS: f64 = 0.03;
const OVERLOAD_JITTER_S: f64 = 0.04;
const OVERLOAD_RTT_S: f64 = 0.15;

/// Runs a scenario.
pub fn simulate(scenario: &Scenario) -> Simulation {
    let mut world = setup::build(scenario);
    let steps = (scenario.duration / scenario.interval).ceil() as usize;
    for k in 1..=steps {
        let t0 = (k - 1) as f64 * scenario.interval;
        let t1 = (k as f64 * scenario.interval).min(scenario.duration);
        if t1 <= t0 {
            // Rounding can leave an empty last interval.
            break;
        }
        world.step(t0, t1);
        world.take_reports(t1);
        world.observe(t1);
    }
    world.finish()
}

/// The links' jitters squared and summed (independent jitters add in quadrature).
fn squared(links: &[LinkSpec]) -> f64 {
    links.iter().map(|l| l.jitter * l.jitter).sum()
}

/// A participant at run time.
#[derive(Debug)]
struct Endpoint<'s> {
    spec: &'s ParticipantSpec,
    dialect: Dialect,
    /// When this browser's stats timer fires, relative to the interval boundaries.
    phase: f64,
    pc: Option<usize>,
    uplink: Bottleneck,
    downlink: Bottleneck,
    up_queue: QueueTick,
    down_queue: QueueTick,
    up: LinkSpec,
    down: LinkSpec,
    events: Vec<Event>,
    /// The relay its media crosses (index into the scenario's relays).
    relay: Option<usize>,
    /// Its allocation on that relay.
    alloc: Option<usize>,
    /// Jitter its media picks up beyond its access links (relay, media server), squared:
    /// sending and receiving.
    up_extra_j2: f64,
    down_extra_j2: f64,
}

/// An ICE candidate as the stats and the SDP describe it.
#[derive(Clone, Debug)]
struct Candidate {
    id: String,
    address: String,
    port: u16,
    kind: &'static str,
    relay_protocol: Option<&'static str>,
    url: Option<String>,
    network_type: Option<&'static str>,
    priority: u64,
    foundation: u32,
    ufrag: String,
    related: Option<(String, u16)>,
}

/// ICE counters of the selected candidate pair.
#[derive(Clone, Debug, Default)]
struct PairCounters {
    requests_sent: u64,
    responses_received: u64,
    consent_requests: u64,
    total_rtt: f64,
    current_rtt: Option<f64>,
    consent_due: f64,
    retry_budget: f64,
}

/// One peer connection.
#[derive(Debug)]
struct Pc {
    endpoint: usize,
    /// The other endpoint (peer-to-peer); `None` for a media server.
    peer: Option<usize>,
    tl: Timeline,
    controlling: bool,
    ufrag: String,
    /// Gathered local candidates; the last one is used.
    local: Vec<Candidate>,
    remote: Option<Candidate>,
    senders: Vec<usize>,
    flows: Vec<usize>,
    pair: PairCounters,
    /// The congestion controller's estimate (`availableOutgoingBitrate`).
    bwe: f64,
    /// What the encoders get over the current interval (the estimate, or less when a new
    /// bottleneck made the controller back off part-way through).
    tick_bwe: f64,
    probed: bool,
    /// Round-trip time this interval, seconds.
    rtt: f64,
    /// Salt for Firefox-style ids.
    salt: u64,
    reports: Vec<(f64, String)>,
}

impl Pc {
    fn pair_id(&self, dialect: Dialect) -> Option<String> {
        let (local, remote) = (self.local.last()?, self.remote.as_ref()?);
        Some(if dialect.libwebrtc_ids {
            format!("CP{}_{}", &local.id[1..], &remote.id[1..])
        } else {
            report::firefox_id(&format!("pair{}{}", local.id, remote.id), self.salt)
        })
    }
}

/// One observation before it is written out.
struct Observation {
    at_ms: f64,
    pc: bool,
    stats: Option<String>,
    events: Vec<Event>,
}

/// Everything in the call.
struct World<'s> {
    scenario: &'s Scenario,
    rng: Rng,
    endpoints: Vec<Endpoint<'s>>,
    pcs: Vec<Pc>,
    senders: Vec<Sender>,
    flows: Vec<Flow>,
    /// The media server's ingress and egress now, and whether it is starved of CPU.
    sfu_links: (LinkSpec, LinkSpec),
    overloaded: bool,
    /// Each relay's link now.
    relay_links: Vec<LinkSpec>,
    allocations: Vec<Allocation>,
    /// Relays' credential rejections, by relay.
    turn_errors: Vec<TurnError>,
    /// Observation lines of the media server, and of each relay.
    sfu_lines: Vec<Line>,
    turn_lines: Vec<Vec<Line>>,
}

/// `1 - (1 - a)(1 - b)`: two independent chances of loss.
fn compound(a: f64, b: f64) -> f64 {
    1.0 - (1.0 - a) * (1.0 - b)
}

impl World<'_> {
    fn sfu(&self) -> bool {
        self.scenario.topology == Topology::Sfu
    }

    /// What congestion control grants a video sender: the estimate less audio, shared
    /// between video streams by their configured maxima.
    fn allowed(&self, s: &Sender) -> f64 {
        let pc = &self.pcs[s.pc];
        let audio = pc.senders.iter().filter(|&&i| !self.senders[i].kind.is_video()).count() as f64;
        let weight = |i: usize| self.senders[i].encoder.as_ref().map_or(0.0, |e| e.spec.max_bitrate);
        let total: f64 = pc.senders.iter().map(|&i| weight(i)).sum();
        let own = s.encoder.as_ref().map_or(0.0, |e| e.spec.max_bitrate);
        let share = if total > 0.0 { own / total } else { 1.0 };
        ((pc.tick_bwe * 0.95 - audio * AUDIO_WIRE_BPS) * share).max(MIN_VIDEO_BPS)
    }

    /// Advances the call over `[t0, t1)`.
    fn step(&mut self, t0: f64, t1: f64) {
        let dt = t1 - t0;
        let mid = (t0 + t1) / 2.0;
        let sfu = self.sfu();
        for e in &mut self.endpoints {
            (e.up, e.down) = e.spec.network.at(mid);
        }
        if let Some(server) = &self.scenario.sfu {
            self.sfu_links = server.network.at(mid);
            self.overloaded = in_any(&server.overload, mid);
        }
        for (i, relay) in self.scenario.turns.iter().enumerate() {
            self.relay_links[i] = relay.network.at(mid).0;
        }
        self.extra_jitter();
        // A bottleneck below the estimate builds a queue the delay-based controller notices
        // within a fraction of a second: the encoders slow down part-way through.
        for pc in 0..self.pcs.len() {
            let cap = self.send_cap(pc);
            let p = &mut self.pcs[pc];
            p.tick_bwe = p.bwe;
            if let Some(cap) = cap
                && p.bwe > cap * 1.05
            {
                let backed_off = 0.85 * cap;
                p.tick_bwe = (REACT_S.min(dt) * p.bwe + (dt - REACT_S).max(0.0) * backed_off) / dt;
                p.bwe = backed_off;
            }
        }

        // Encoders and packetisers.
        for i in 0..self.senders.len() {
            let s = &self.senders[i];
            let spec = self.endpoints[s.endpoint].spec;
            let muted = s.kind == Kind::Audio && spec.audio.as_ref().is_some_and(|a| in_any(&a.muted, mid));
            let cpu = in_any(&spec.cpu_limited, mid);
            let stopped = in_any(&spec.sending_stopped, mid);
            let window = self.pcs[s.pc].tl.media_window().map(|(a, b)| (a.max(t0), b.min(t1)));
            let allowed = self.allowed(s);
            let s = &mut self.senders[i];
            s.capture(dt, muted);
            match window {
                Some((from, to)) if from < to && !stopped => s.send(from, to, allowed, cpu, muted),
                _ => s.send(t0, t0, allowed, cpu, muted),
            }
        }

        // Bottlenecks: what each access link is offered, in each direction.
        let mut up_bits = vec![0.0; self.endpoints.len()];
        let mut down_bits = vec![0.0; self.endpoints.len()];
        for s in &self.senders {
            up_bits[s.endpoint] += s.wire_bits();
        }
        for f in &self.flows {
            if self.pcs[f.pc].tl.sending(mid) {
                down_bits[f.endpoint] += self.senders[f.sender].wire_bits();
            }
        }
        for (i, e) in self.endpoints.iter_mut().enumerate() {
            e.up_queue = e.uplink.offer(up_bits[i] / dt, e.up.bandwidth, dt);
            e.down_queue = e.downlink.offer(down_bits[i] / dt, e.down.bandwidth, dt);
        }
        for i in 0..self.pcs.len() {
            self.pcs[i].rtt = self.rtt(i);
        }
        let ups: Vec<Segments> = (0..self.endpoints.len()).map(|e| self.up_segments(e)).collect();
        let downs: Vec<Segments> = (0..self.endpoints.len()).map(|e| self.down_segments(e)).collect();

        // The senders' side of the path.
        let mut pc_sent = vec![0u64; self.pcs.len()];
        let mut pc_lost = vec![0u64; self.pcs.len()];
        let mut up_repairs = vec![0u64; self.senders.len()];
        for (i, s) in self.senders.iter_mut().enumerate() {
            let tl = &self.pcs[s.pc].tl;
            let tick = media::uplink(s, ups[s.endpoint], |t| tl.down(t), sfu);
            if let Some(a) = self.endpoints[s.endpoint].alloc {
                self.allocations[a].counters.add(&tick.relay);
            }
            let (sent, lost) = (tick.sent, tick.lost);
            if sfu {
                pc_sent[s.pc] += sent;
                pc_lost[s.pc] += lost;
                if s.kind.is_video() {
                    up_repairs[i] = s.packets.iter().filter(|p| p.lost_up && !p.residual_up).count() as u64;
                    s.tick_nacks = lost;
                }
            }
        }

        // Receivers.
        for f in &mut self.flows {
            let s = &self.senders[f.sender];
            let (tx, rx) = (&self.endpoints[s.endpoint], &self.endpoints[f.endpoint]);
            let rpc = &self.pcs[f.pc];
            let Some((open_from, open_to)) = rpc.tl.media_window() else { continue };
            let base = if s.kind.is_video() { 0.004 } else { 0.0008 };
            let jitter = tx.up.jitter.powi(2) + tx.up_extra_j2 + rx.down.jitter.powi(2) + rx.down_extra_j2;
            let path = Path {
                up_pass: ups[s.endpoint].iter().map(|l| 1.0 - l.loss).product(),
                down: downs[f.endpoint],
                open_from,
                open_to,
                rtt: rpc.rtt,
                jitter: (jitter + base * base).sqrt(),
                queue_growth: tx.up_queue.growth + rx.down_queue.growth,
                sfu,
            };
            let tick = f.receive(s, path, |t| rpc.tl.down(t), t0, t1);
            for (e, counted) in [(f.endpoint, &tick.relay), (s.endpoint, &tick.sender_relay)] {
                if let Some(a) = self.endpoints[e].alloc {
                    self.allocations[a].counters.add(counted);
                }
            }
            if !sfu {
                pc_sent[s.pc] += tick.delivered + tick.lost;
                pc_lost[s.pc] += tick.lost;
                up_repairs[f.sender] += tick.rtx;
            }
            let s = &mut self.senders[f.sender];
            if !sfu {
                s.tick_nacks += tick.nacks;
            }
            // An SFU forwards key-frame requests, at most one per interval.
            s.tick_plis = if sfu { s.tick_plis.max(tick.plis.min(1)) } else { s.tick_plis + tick.plis };
        }

        // RTCP feedback reaches the senders.
        for (i, s) in self.senders.iter_mut().enumerate() {
            s.out.nacks += std::mem::take(&mut s.tick_nacks);
            let plis = std::mem::take(&mut s.tick_plis);
            s.out.plis += plis;
            if let Some(enc) = &mut s.encoder
                && plis > 0
            {
                enc.key_pending = true;
            }
            s.retransmit(up_repairs[i]);
        }
        self.rtcp(t0, t1);
        for i in 0..self.pcs.len() {
            self.ice_checks(i, t0, t1);
            self.congestion_control(i, pc_sent[i], pc_lost[i], mid, dt);
        }
    }

    /// Round-trip time of a connection now: the access links' delays both ways, plus what
    /// their queues hold.
    fn rtt(&mut self, pc: usize) -> f64 {
        let p = &self.pcs[pc];
        let a = &self.endpoints[p.endpoint];
        let relay_a = self.relay_link(p.endpoint);
        let (ingress, egress) = self.sfu_links;
        let mut jitter = a.up.jitter.max(a.down.jitter).max(relay_a.jitter);
        let path = match p.peer {
            Some(peer) => {
                let b = &self.endpoints[peer];
                let relay_b = self.relay_link(peer);
                jitter = jitter.max(relay_b.jitter);
                a.up.delay
                    + b.down.delay
                    + b.up.delay
                    + a.down.delay
                    + a.up_queue.delay
                    + b.down_queue.delay
                    + b.up_queue.delay
                    + a.down_queue.delay
                    + 2.0 * (relay_a.delay + relay_b.delay)
            }
            None => {
                jitter = jitter.max(ingress.jitter).max(egress.jitter);
                let overload = if self.overloaded { OVERLOAD_RTT_S } else { 0.0 };
                a.up.delay
                    + a.down.delay
                    + a.up_queue.delay
                    + a.down_queue.delay
                    + 0.002
                    + 2.0 * relay_a.delay
                    + ingress.delay
                    + egress.delay
                    + overload
            }
        };
        path * (0.97 + 0.06 * self.rng.f64()) + jitter * self.rng.f64()
    }

    /// RTCP receiver reports (to senders) and sender reports (to receivers) due this interval.
    fn rtcp(&mut self, t0: f64, t1: f64) {
        let sfu = self.sfu();
        for (i, s) in self.senders.iter_mut().enumerate() {
            let period = if s.kind.is_video() { VIDEO_RTCP_S } else { AUDIO_RTCP_S };
            let tl = &self.pcs[s.pc].tl;
            let e = &self.endpoints[s.endpoint];
            // Who reports: the media server about the uplink, or the single peer.
            let view = if sfu {
                let base: f64 = if s.kind.is_video() { 0.004 } else { 0.0008 };
                s.up_jitter = (e.up.jitter.powi(2) + e.up_extra_j2 + base * base).sqrt();
                (s.up_seq.received > 0).then_some((s.up_seq, s.up_jitter))
            } else {
                self.flows.iter().find(|f| f.sender == i && f.started.is_some()).map(|f| (f.seq, f.jitter))
            };
            if s.rr.next_at == 0.0 {
                s.rr.next_at = tl.media_from.map_or(f64::INFINITY, |m| m + period * 0.5);
            }
            while s.rr.next_at < t1 {
                let at = s.rr.next_at.max(t0);
                s.rr.next_at += period;
                if let Some((seq, jitter)) = view
                    && tl.sending(at)
                    && !tl.down(at)
                {
                    let rtt = self.pcs[s.pc].rtt;
                    s.rr.report(at, seq, jitter, rtt);
                }
            }
        }
        for f in &mut self.flows {
            let s = &self.senders[f.sender];
            let period = if s.kind.is_video() { VIDEO_RTCP_S } else { AUDIO_RTCP_S };
            let tl = &self.pcs[f.pc].tl;
            let Some(started) = f.started else { continue };
            if f.sr.next_at == 0.0 {
                f.sr.next_at = started + period * 0.7;
            }
            while f.sr.next_at < t1 {
                let at = f.sr.next_at.max(t0);
                f.sr.next_at += period;
                if tl.sending(at) && !tl.down(at) {
                    let oneway = self.pcs[f.pc].rtt / 2.0;
                    f.sr.at = Some(at);
                    f.sr.packets = f.forwarded_packets;
                    f.sr.bytes = f.forwarded_bytes;
                    f.sr.remote_timestamp = at - oneway;
                    f.sr.reports += 1;
                }
            }
            if !sfu {
                continue;
            }
            // The receiver's reports to the media server about what it forwarded.
            if f.down_rr.next_at == 0.0 {
                f.down_rr.next_at = started + period * 0.6;
            }
            while f.down_rr.next_at < t1 {
                let at = f.down_rr.next_at.max(t0);
                f.down_rr.next_at += period;
                if tl.sending(at) && !tl.down(at) {
                    f.down_rr.report(at, f.down_seq, f.jitter, self.pcs[f.pc].rtt);
                }
            }
        }
    }
}

impl World<'_> {
    /// The link of the relay endpoint `e`'s media crosses, or one that adds nothing.
    fn relay_link(&self, e: usize) -> LinkSpec {
        self.endpoints[e].relay.and_then(|r| self.relay_links.get(r).copied()).unwrap_or(LinkSpec::QUIET)
    }

    /// The media server's egress now, with what overload adds.
    fn egress(&self) -> LinkSpec {
        let mut egress = self.sfu_links.1;
        if self.overloaded {
            egress.loss = compound(egress.loss, OVERLOAD_LOSS);
            egress.jitter = egress.jitter.hypot(OVERLOAD_JITTER_S);
        }
        egress
    }

    /// Jitter beyond the access links, for each endpoint's media each way.
    fn extra_jitter(&mut self) {
        let sfu = self.sfu();
        let (ingress, egress) = (self.sfu_links.0, self.egress());
        let overload = if self.overloaded { OVERLOAD_JITTER_S } else { 0.0 };
        for e in 0..self.endpoints.len() {
            let relay = self.relay_link(e);
            let (up, down) = if sfu {
                // Overload delays the server's own receiving as well as its forwarding.
                (squared(&[relay, ingress]) + overload * overload, squared(&[egress, relay]))
            } else {
                (squared(&[relay]), squared(&[relay]))
            };
            self.endpoints[e].up_extra_j2 = up;
            self.endpoints[e].down_extra_j2 = down;
        }
    }

    /// What a sender's media crosses before the middle of its path: its access link, its
    /// relay, the media server's ingress.
    fn up_segments(&self, e: usize) -> Segments {
        let a = &self.endpoints[e];
        let relay = self.relay_link(e);
        let ingress = if self.sfu() { self.sfu_links.0 } else { LinkSpec::QUIET };
        [
            Leg { loss: compound(a.up.loss, a.up_queue.drop), burst: a.up.burst },
            Leg { loss: relay.loss, burst: relay.burst },
            Leg { loss: ingress.loss, burst: ingress.burst },
        ]
    }

    /// What a receiver's media crosses after the middle: the media server's egress, the
    /// receiver's relay, its access link.
    fn down_segments(&self, e: usize) -> Segments {
        let a = &self.endpoints[e];
        let relay = self.relay_link(e);
        let egress = if self.sfu() { self.egress() } else { LinkSpec::QUIET };
        [
            Leg { loss: egress.loss, burst: egress.burst },
            Leg { loss: relay.loss, burst: relay.burst },
            Leg { loss: compound(a.down.loss, a.down_queue.drop), burst: a.down.burst },
        ]
    }

    /// ICE connectivity checks: consent freshness on a working path, retries on a dead
    /// one, and the checks before the first success.
    fn ice_checks(&mut self, pc: usize, t0: f64, t1: f64) {
        let p = &mut self.pcs[pc];
        let Some(checking) = p.tl.checking else { return };
        let end = t1.min(p.tl.closed).min(p.tl.failed_at.unwrap_or(f64::INFINITY));
        if end <= checking.max(t0) {
            return;
        }
        let rtt = p.rtt;
        match p.tl.connected {
            Some(connected) if connected < end => {
                if connected >= t0 {
                    // The check that succeeded, after the ones sent while checking.
                    p.pair.requests_sent += 1 + ((connected - checking) * 4.0) as u64;
                    p.pair.responses_received += 1;
                    p.pair.total_rtt += rtt;
                    p.pair.current_rtt = Some(rtt);
                    p.pair.consent_due = connected + CONSENT_EVERY_S;
                }
                while p.pair.consent_due < end {
                    let at = p.pair.consent_due;
                    p.pair.consent_due += CONSENT_EVERY_S;
                    p.pair.requests_sent += 1;
                    p.pair.consent_requests += 1;
                    if !p.tl.down(at) {
                        p.pair.responses_received += 1;
                        p.pair.total_rtt += rtt;
                        p.pair.current_rtt = Some(rtt);
                    }
                }
                // Chrome retries fast once consent responses stop coming.
                if p.tl.down((t0 + end) / 2.0) {
                    p.pair.retry_budget += 15.0 * (end - t0);
                }
            }
            _ => p.pair.retry_budget += 4.0 * (end - t0.max(checking)),
        }
        let whole = p.pair.retry_budget.floor();
        p.pair.requests_sent += whole as u64;
        p.pair.retry_budget -= whole;
    }

    /// Chrome's congestion controller, reduced to its reactions: probe at the start, back
    /// off hard when a bottleneck queue builds, hold under moderate loss, shrink under heavy
    /// loss, otherwise grow about 8 % a second. While the path is dead no feedback arrives:
    /// the estimate decays, and it probes again once the path is back.
    fn congestion_control(&mut self, pc: usize, sent: u64, lost: u64, mid: f64, dt: f64) {
        if sent == 0 {
            return;
        }
        if self.pcs[pc].tl.down(mid) {
            let p = &mut self.pcs[pc];
            p.bwe = (p.bwe * 0.8f64.powf(dt)).max(START_BITRATE.min(p.bwe));
            p.probed = false;
            return;
        }
        let p = &self.pcs[pc];
        let a = &self.endpoints[p.endpoint];
        let cap = self.send_cap(pc);
        let overused = a.up_queue.overused || p.peer.is_some_and(|b| self.endpoints[b].down_queue.overused);
        let wanted: f64 = p
            .senders
            .iter()
            .map(|&s| self.senders[s].encoder.as_ref().map_or(AUDIO_WIRE_BPS, |e| e.spec.max_bitrate))
            .sum();
        let mut ceiling = (2.0 * wanted).max(1_000_000.0);
        if let Some(c) = cap {
            ceiling = ceiling.min(c * 1.05);
        }
        let loss = lost as f64 / sent as f64;
        let mut estimate = p.bwe;
        if !p.probed {
            estimate = estimate.max(PROBE_BITRATE.min(ceiling));
        } else if overused {
            estimate = 0.85 * cap.unwrap_or(estimate).min(estimate);
        } else if loss > 0.10 {
            estimate *= (1.0 - 0.5 * loss).powf(dt);
        } else if loss < 0.02 {
            estimate = estimate * 1.08f64.powf(dt) + 40_000.0 * dt;
        }
        let p = &mut self.pcs[pc];
        p.probed = true;
        p.bwe = estimate.clamp(50_000.0, ceiling);
    }

    /// The narrowest capacity on what a connection sends: the sender's uplink, and for a
    /// peer-to-peer call the peer's downlink (a media server's downlinks are its own business).
    fn send_cap(&self, pc: usize) -> Option<f64> {
        let p = &self.pcs[pc];
        let up = self.endpoints[p.endpoint].up.bandwidth;
        let down = p.peer.and_then(|b| self.endpoints[b].down.bandwidth);
        match (up, down) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, y) => x.or(y),
        }
    }

    /// Every browser whose stats timer fires after `t1` takes a `getStats()` report.
    fn take_reports(&mut self, t1: f64) {
        for e in 0..self.endpoints.len() {
            let Some(pc) = self.endpoints[e].pc else { continue };
            let at = t1 + self.endpoints[e].phase;
            let tl = &self.pcs[pc].tl;
            if at <= tl.created || at >= tl.closed {
                continue;
            }
            let stats = self.report(pc, at);
            self.pcs[pc].reports.push((at, stats));
        }
    }

    fn epoch_ms(&self, t: f64) -> f64 {
        self.scenario.start_ms + t * 1000.0
    }

    /// Wraps everything recorded into native observation envelopes.
    fn finish(mut self) -> Simulation {
        let mut participants = Vec::with_capacity(self.endpoints.len());
        for e in 0..self.endpoints.len() {
            let mut lines: Vec<Observation> = Vec::new();
            for ev in std::mem::take(&mut self.endpoints[e].events) {
                lines.push(Observation {
                    at_ms: self.epoch_ms(ev.at).round(),
                    pc: false,
                    stats: None,
                    events: vec![ev],
                });
            }
            if let Some(pc) = self.endpoints[e].pc {
                let mut events = std::mem::take(&mut self.pcs[pc].tl.events);
                events.sort_by(|a, b| a.at.total_cmp(&b.at));
                events.push(Event { at: self.pcs[pc].tl.closed, kind: "close", value: "null".into() });
                let mut pending = events.into_iter().peekable();
                for (at, stats) in std::mem::take(&mut self.pcs[pc].reports) {
                    // PC events ride on the next stats line, as the capture collector sends them.
                    let mut riding = Vec::new();
                    while let Some(ev) = pending.next_if(|ev| ev.at <= at) {
                        riding.push(ev);
                    }
                    lines.push(Observation {
                        at_ms: self.epoch_ms(at).ceil(),
                        pc: true,
                        stats: Some(stats),
                        events: riding,
                    });
                }
                for ev in pending {
                    lines.push(Observation {
                        at_ms: self.epoch_ms(ev.at).round(),
                        pc: true,
                        stats: None,
                        events: vec![ev],
                    });
                }
            }
            lines.sort_by(|a, b| a.at_ms.total_cmp(&b.at_ms));
            let rendered = lines
                .iter()
                .enumerate()
                .map(|(i, l)| Line { at_ms: l.at_ms, json: self.envelope(e, l, i == 0) })
                .collect();
            participants.push(ParticipantOutput::new(self.endpoints[e].spec.name.clone(), rendered));
        }
        let mut servers = Vec::new();
        if let Some(server) = self.scenario.sfu.as_ref().filter(|s| s.observe) {
            servers.push(ServerOutput::new(
                server.name.clone(),
                ServerKind::Sfu,
                std::mem::take(&mut self.sfu_lines),
            ));
        }
        for (relay, lines) in self.scenario.turns.iter().zip(std::mem::take(&mut self.turn_lines)) {
            if relay.observe {
                servers.push(ServerOutput::new(relay.name.clone(), ServerKind::Turn, lines));
            }
        }
        Simulation { participants, servers, truth: self.scenario.truth() }
    }

    /// One native observation envelope; the collector describes itself on its first one.
    fn envelope(&self, e: usize, line: &Observation, first: bool) -> String {
        let spec = self.endpoints[e].spec;
        let mut out = String::with_capacity(line.stats.as_ref().map_or(256, |s| s.len() + 256));
        let mut o = crate::json::Obj::open(&mut out);
        o.int("v", 1);
        o.str("conference", &self.scenario.conference).str("participant", &spec.name);
        if let Some(u) = &spec.user {
            o.str("user", u);
        }
        o.str("source", "endpoint").num("timestamp", line.at_ms);
        if first {
            o.obj("client", |c| {
                c.str("userAgent", &spec.browser.user_agent());
                c.str("sdk", concat!("hopscope-sim/", env!("CARGO_PKG_VERSION")));
            });
        }
        if line.pc {
            o.str("pc", "pc-1");
        }
        if let Some(stats) = &line.stats {
            o.raw("stats", stats);
        }
        let events = &line.events;
        if !events.is_empty() {
            let mut list = String::from("[");
            for (i, ev) in events.iter().enumerate() {
                if i > 0 {
                    list.push(',');
                }
                let mut item = crate::json::Obj::open(&mut list);
                item.num("timestamp", self.epoch_ms(ev.at).round())
                    .str("type", ev.kind)
                    .raw("value", &ev.value);
                item.close();
            }
            list.push(']');
            o.raw("events", &list);
        }
        o.close();
        out
    }
}
