//! A corpus of simulated conferences with known faults, for backtesting fault attribution.
//!
//! Each conference is a scenario (written as YAML, then read back like any scenario file, so
//! the corpus is exactly what its `scenario.yaml` files say) and its [`Truth`]. About 30 %
//! are healthy, with the variety of normal calls (DTX mutes, screen shares, Firefox, Safari
//! and Edge, late joiners and early leavers, modest delay and jitter); the rest carry one
//! fault each, cycling through every kind at every hop it applies to, in peer-to-peer,
//! SFU (with and without the server's observations) and relayed calls, with magnitudes a
//! monitoring product would clearly alert on.
//!
//! Conference `i` depends only on the corpus seed and `i`: a longer corpus starts with the
//! shorter one.

use std::fmt::Write as _;

use fastrand::Rng;
use hopscope_model::Timestamp;

use crate::error::SimError;
use crate::scenario::Scenario;
use crate::truth::{Direction, FaultKind, HopKind, Truth};

/// How a corpus conference is connected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layout {
    /// Two people, direct (host or server-reflexive candidates).
    P2p,
    /// Two people, one or both through a TURN relay.
    P2pRelay,
    /// Three to eight people through a media server that reports its observations.
    SfuObserved,
    /// The same, without the server's observations (endpoint data only).
    SfuBlind,
    /// Through a media server, some participants through a relay.
    SfuRelay,
}

impl Layout {
    /// Every layout.
    pub const ALL: [Layout; 5] =
        [Layout::P2p, Layout::P2pRelay, Layout::SfuObserved, Layout::SfuBlind, Layout::SfuRelay];

    /// A short name: `p2p`, `p2p-relay`, `sfu-observed`, `sfu-blind`, `sfu-relay`.
    pub fn as_str(self) -> &'static str {
        match self {
            Layout::P2p => "p2p",
            Layout::P2pRelay => "p2p-relay",
            Layout::SfuObserved => "sfu-observed",
            Layout::SfuBlind => "sfu-blind",
            Layout::SfuRelay => "sfu-relay",
        }
    }

    fn sfu(self) -> bool {
        matches!(self, Layout::SfuObserved | Layout::SfuBlind | Layout::SfuRelay)
    }

    fn relayed(self) -> bool {
        matches!(self, Layout::P2pRelay | Layout::SfuRelay)
    }
}

/// The fault a corpus conference was built around.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Planned {
    /// What.
    pub kind: FaultKind,
    /// At which class of hop.
    pub hop: HopKind,
    /// Which way (link faults).
    pub direction: Option<Direction>,
}

/// One conference of a corpus.
#[derive(Clone, Debug)]
pub struct CorpusEntry {
    /// `c-0001`, `c-0002`, ...: also the scenario's name and conference id.
    pub id: String,
    /// How it is connected.
    pub layout: Layout,
    /// The fault it was built around; `None` for a healthy call.
    pub planned: Option<Planned>,
    /// The scenario as a file.
    pub yaml: String,
    /// The scenario, read back from `yaml`.
    pub scenario: Scenario,
    /// What it injects.
    pub truth: Truth,
}

/// `n` conferences generated from `seed`. Every entry is a valid scenario by construction;
/// one that is not would be a generator bug, and comes out as that entry's error rather
/// than a panic.
pub fn corpus(n: usize, seed: u64) -> impl Iterator<Item = Result<CorpusEntry, SimError>> {
    let plan = Plan::new(seed);
    let width = n.to_string().len().max(4);
    (0..n).map(move |i| plan.entry(i, width))
}

/// Share of healthy calls: 3 in every 10.
const HEALTHY_SLOTS: [usize; 3] = [0, 3, 6];
const NAMES: [&str; 8] = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"];
const RELAY_CITIES: [&str; 5] = ["fra", "ams", "iad", "sin", "gru"];
const SFU_REGIONS: [&str; 4] = ["eu", "us", "ap", "sa"];

/// The fault schedule: every (kind, hop, direction, layout) that applies, weighted so
/// every kind gets a fair share, in an order shuffled by the seed.
struct Plan {
    seed: u64,
    slots: Vec<(Planned, Layout)>,
}

impl Plan {
    fn new(seed: u64) -> Plan {
        let mut slots = Vec::new();
        let mut add = |kind, hop, direction, layout, weight: usize| {
            for _ in 0..weight {
                slots.push((Planned { kind, hop, direction }, layout));
            }
        };
        for layout in Layout::ALL {
            for kind in [FaultKind::Loss, FaultKind::Jitter, FaultKind::Delay, FaultKind::Bandwidth] {
                for d in [Direction::Up, Direction::Down] {
                    add(kind, HopKind::Access, Some(d), layout, 1);
                }
            }
            add(FaultKind::Connectivity, HopKind::Access, Some(Direction::Both), layout, 2);
            add(FaultKind::Cpu, HopKind::Endpoint, None, layout, 2);
        }
        for layout in [Layout::SfuObserved, Layout::SfuBlind, Layout::SfuRelay] {
            for kind in [FaultKind::Loss, FaultKind::Jitter, FaultKind::Delay] {
                for d in [Direction::Up, Direction::Down] {
                    add(kind, HopKind::Sfu, Some(d), layout, 1);
                }
            }
            add(FaultKind::SfuOverload, HopKind::Sfu, None, layout, 3);
        }
        for layout in [Layout::P2pRelay, Layout::SfuRelay] {
            for kind in [FaultKind::Loss, FaultKind::Jitter, FaultKind::Delay] {
                add(kind, HopKind::Turn, Some(Direction::Both), layout, 2);
            }
            add(FaultKind::TurnAuth, HopKind::Turn, None, layout, 4);
        }
        Rng::with_seed(seed ^ 0x5eed_c0de_0fc0_ffee).shuffle(&mut slots);
        Plan { seed, slots }
    }

    fn entry(&self, i: usize, width: usize) -> Result<CorpusEntry, SimError> {
        let mut rng = Rng::with_seed(mix(self.seed, i as u64));
        let id = format!("c-{:0width$}", i + 1);
        let healthy_before = 3 * (i / 10) + HEALTHY_SLOTS.iter().filter(|&&s| s < i % 10).count();
        let (planned, layout) = if HEALTHY_SLOTS.contains(&(i % 10)) {
            let layout = pick(
                &mut rng,
                &[
                    (Layout::P2p, 30),
                    (Layout::SfuObserved, 25),
                    (Layout::SfuBlind, 25),
                    (Layout::P2pRelay, 10),
                    (Layout::SfuRelay, 10),
                ],
            );
            (None, layout)
        } else {
            let (p, layout) = self.slots[(i - healthy_before) % self.slots.len()];
            (Some(p), layout)
        };
        let yaml = Draft::generate(&id, layout, planned, &mut rng).render();
        let scenario = Scenario::from_yaml(&yaml).map_err(|e| SimError::Invalid {
            field: id.clone(),
            problem: format!("the corpus generator wrote a scenario that does not load ({e})"),
            fix: "report this as a bug, with the corpus seed and size".into(),
        })?;
        let truth = scenario.truth();
        Ok(CorpusEntry { id, layout, planned, yaml, scenario, truth })
    }
}

/// SplitMix64 of the seed and the index: independent streams per conference.
fn mix(seed: u64, i: u64) -> u64 {
    let mut z = seed ^ i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// One of `options` by weight.
fn pick<T: Copy>(rng: &mut Rng, options: &[(T, u32)]) -> T {
    let total: u32 = options.iter().map(|(_, w)| w).sum();
    let mut roll = rng.u32(0..total.max(1));
    for &(v, w) in options {
        if roll < w {
            return v;
        }
        roll -= w;
    }
    options[0].0
}

/// A uniform value in `[lo, hi]`, rounded to `step`.
fn between(rng: &mut Rng, lo: f64, hi: f64, step: f64) -> f64 {
    ((lo + (hi - lo) * rng.f64()) / step).round() * step
}

/// Whole seconds in `[lo, hi]` (`hi` below `lo` gives `lo`).
fn secs(rng: &mut Rng, lo: u32, hi: u32) -> u32 {
    if hi <= lo { lo } else { rng.u32(lo..=hi) }
}

/// A number as a YAML quantity without float noise: `8.5`, `120`.
fn q(v: f64) -> String {
    let r = (v * 1000.0).round() / 1000.0;
    if r == r.trunc() { format!("{}", r as i64) } else { format!("{r}") }
}

/// A participant being written.
#[derive(Default)]
struct Person {
    name: &'static str,
    browser: Option<String>,
    join: Option<u32>,
    leave: Option<u32>,
    audio: Option<String>,
    video: Option<String>,
    screenshare: bool,
    cpu_limited: Option<(u32, u32)>,
    uplink: String,
    downlink: String,
    segments: Vec<String>,
    ice: Vec<String>,
}

/// A relay being written.
struct Relay {
    name: String,
    protocol: &'static str,
    observe: bool,
    auth_failure: bool,
    segments: Vec<String>,
}

/// A scenario being written.
struct Draft {
    id: String,
    comment: String,
    seed: u64,
    start: String,
    duration: u32,
    layout: Layout,
    sfu_name: String,
    sfu_observe: bool,
    sfu_segments: Vec<String>,
    overload: Option<(u32, u32)>,
    relays: Vec<Relay>,
    people: Vec<Person>,
}

impl Draft {
    fn generate(id: &str, layout: Layout, planned: Option<Planned>, rng: &mut Rng) -> Draft {
        let duration = secs(rng, 30, 60);
        // Spread over a season, so the default browser version moves too.
        let start_ms = 1_767_571_200_000.0
            + f64::from(rng.u32(0..120)) * 86_400_000.0
            + f64::from(rng.u32(8..19)) * 3_600_000.0;
        let start = Timestamp::from_epoch_ms(start_ms).map(Timestamp::to_rfc3339).unwrap_or_default();
        let count =
            if layout.sfu() { pick(rng, &[(3, 3), (4, 3), (5, 2), (6, 1), (7, 1), (8, 1)]) } else { 2 };
        let mut d = Draft {
            id: id.to_string(),
            comment: String::new(),
            // Below 2^53, so JSON readers keep it exact.
            seed: u64::from(rng.u32(..)),
            start,
            duration,
            layout,
            sfu_name: format!("sfu-{}-{}", SFU_REGIONS[rng.usize(..SFU_REGIONS.len())], rng.u32(1..=4)),
            sfu_observe: match layout {
                Layout::SfuObserved => true,
                Layout::SfuRelay => rng.bool(),
                _ => false,
            },
            sfu_segments: Vec::new(),
            overload: None,
            relays: Vec::new(),
            people: (0..count).map(|i| Person::healthy(NAMES[i], rng)).collect(),
        };
        if layout.relayed() {
            let protocol = pick(rng, &[("udp", 6), ("tcp", 3), ("tls", 2)]);
            d.relays.push(Relay {
                name: format!("turn-{}-1", RELAY_CITIES[rng.usize(..RELAY_CITIES.len())]),
                protocol,
                observe: rng.bool(),
                auth_failure: false,
                segments: Vec::new(),
            });
            // One or two relayed participants (both, now and then, in a two-person call).
            let relayed = if count == 2 { if rng.u32(0..4) == 0 { 2 } else { 1 } } else { rng.usize(1..=2) };
            let mut order: Vec<usize> = (0..count).collect();
            rng.shuffle(&mut order);
            for &p in order.iter().take(relayed) {
                d.relay(p);
            }
        }
        let mut description = format!("healthy {} call", layout.as_str());
        if let Some(p) = planned {
            description = d.inject(p, rng);
        } else {
            d.benign(rng);
        }
        d.comment = format!("{}: {description}; {} participants, {} s", d.id, count, duration);
        d
    }

    /// Participant `p` relays through the first relay.
    fn relay(&mut self, p: usize) {
        let relay = self.relays.first().map(|r| r.name.clone()).unwrap_or_default();
        let person = &mut self.people[p];
        person.ice.retain(|k| !k.starts_with("candidate:"));
        person.ice.push("candidate: relay".into());
        person.ice.push(format!("turn: {relay}"));
    }

    fn relayed(&self) -> Vec<usize> {
        (0..self.people.len())
            .filter(|&p| self.people[p].ice.iter().any(|k| k == "candidate: relay"))
            .collect()
    }

    /// Benign variety for a healthy call: mutes, a screen share, late joiners, early leavers.
    fn benign(&mut self, rng: &mut Rng) {
        let n = self.people.len();
        if rng.u32(0..10) < 3 {
            let p = rng.usize(..n);
            self.people[p].screenshare = true;
        }
        if self.layout.sfu() {
            // Somebody other than the first joins late or leaves early (the first stays).
            for p in 1..n {
                if rng.u32(0..5) == 0 {
                    self.people[p].join = Some(secs(rng, 2, 10));
                }
                if rng.u32(0..6) == 0 {
                    let join = self.people[p].join.unwrap_or(0);
                    let leave = self.duration.saturating_sub(secs(rng, 5, 15)).max(join + 10);
                    if leave < self.duration {
                        self.people[p].leave = Some(leave);
                    }
                }
            }
        }
    }

    /// A window for a fault: starts 5 s in or later, lasts at least `min` seconds (or to
    /// the end of the call, a quarter of the time: `None` as the end).
    fn window(&self, rng: &mut Rng, min: u32) -> (u32, Option<u32>) {
        let from = secs(rng, 5, self.duration.saturating_sub(min + 5).max(5));
        if rng.u32(0..4) == 0 {
            return (from, None);
        }
        let to = secs(rng, from + min, self.duration);
        (from, (to < self.duration).then_some(to))
    }

    /// `from: 12s, to: 40s` (no `to` when it runs to the end).
    fn span((from, to): (u32, Option<u32>)) -> String {
        match to {
            Some(to) => format!("from: {from}s, to: {to}s"),
            None => format!("from: {from}s"),
        }
    }

    /// A participant for a fault at an access link or device: anyone, or one of the relayed.
    fn victim(&self, rng: &mut Rng) -> usize {
        let relayed = self.relayed();
        if !relayed.is_empty() && rng.bool() {
            relayed[rng.usize(..relayed.len())]
        } else {
            rng.usize(..self.people.len())
        }
    }

    /// The link setting a fault kind changes, at a clear magnitude, and a description.
    fn setting(kind: FaultKind, rng: &mut Rng) -> (String, String) {
        match kind {
            FaultKind::Loss => {
                let v = between(rng, 5.0, 20.0, 0.5);
                (format!("loss: {}%", q(v)), format!("{}% loss", q(v)))
            }
            FaultKind::Jitter => {
                let v = between(rng, 40.0, 150.0, 5.0);
                (format!("jitter: {}ms", q(v)), format!("{} ms jitter", q(v)))
            }
            FaultKind::Delay => {
                let v = between(rng, 250.0, 600.0, 10.0);
                (format!("delay: {}ms", q(v)), format!("{} ms one-way delay", q(v)))
            }
            _ => {
                let v = between(rng, 100.0, 400.0, 10.0);
                (format!("bandwidth: {}kbps", q(v)), format!("a {} kbit/s cap", q(v)))
            }
        }
    }

    /// Puts the planned fault into the call; returns what it is, for the file's comment.
    fn inject(&mut self, p: Planned, rng: &mut Rng) -> String {
        let layout = self.layout.as_str();
        let way = |d: Option<Direction>| match d {
            Some(Direction::Up) => "up",
            Some(Direction::Down) => "down",
            _ => "both ways",
        };
        match (p.kind, p.hop) {
            (FaultKind::Cpu, _) => {
                let v = self.victim(rng);
                let (from, to) = self.window(rng, 15);
                let to = to.unwrap_or(self.duration);
                let person = &mut self.people[v];
                person.ensure_camera(rng);
                person.cpu_limited = Some((from, to));
                format!("{}'s encoder CPU-limited {from}-{to} s ({layout})", person.name)
            }
            (FaultKind::Connectivity, _) => {
                let v = self.victim(rng);
                let name = self.people[v].name;
                if rng.u32(0..10) < 3 {
                    let at = secs(rng, self.duration / 3, self.duration.saturating_sub(10));
                    self.people[v].ice.push(format!("fail_at: {at}s"));
                    format!("{name}'s path dies at {at} s ({layout})")
                } else {
                    let len = secs(rng, 5, 15);
                    let from = secs(rng, 5, self.duration.saturating_sub(len + 5).max(5));
                    self.people[v].ice.push(format!("disconnect: [[{from}s, {}s]]", from + len));
                    format!("{name}'s path down {from}-{} s ({layout})", from + len)
                }
            }
            (kind, HopKind::Access) => {
                let v = self.victim(rng);
                let up = p.direction == Some(Direction::Up);
                if kind == FaultKind::Bandwidth {
                    // The capped link must carry video for the cap to bite.
                    if up {
                        self.people[v].ensure_camera(rng);
                    } else if let Some(other) = (0..self.people.len()).find(|&o| o != v) {
                        self.people[other].ensure_camera(rng);
                    }
                }
                let (setting, what) = Draft::setting(kind, rng);
                let window = self.window(rng, 10);
                let link = if up { "uplink" } else { "downlink" };
                let person = &mut self.people[v];
                person.segments.push(format!("{{{}, {link}: {{{setting}}}}}", Draft::span(window)));
                format!("{what} on {}'s {link} ({layout})", person.name)
            }
            (FaultKind::SfuOverload, _) => {
                let (from, to) = self.window(rng, 10);
                let to = to.unwrap_or(self.duration);
                self.overload = Some((from, to));
                format!("media server overloaded {from}-{to} s ({layout})")
            }
            (kind, HopKind::Sfu) => {
                let (setting, what) = Draft::setting(kind, rng);
                let window = self.window(rng, 10);
                let side = if p.direction == Some(Direction::Up) { "ingress" } else { "egress" };
                self.sfu_segments.push(format!("{{{}, {side}: {{{setting}}}}}", Draft::span(window)));
                format!("{what} on the media server's {side} ({layout})")
            }
            (FaultKind::TurnAuth, _) => {
                let relayed = self.relayed();
                if let Some(relay) = self.relays.first_mut() {
                    relay.auth_failure = true;
                }
                // Now and then the refused client may also connect directly.
                let fallback = rng.u32(0..10) < 3;
                if fallback {
                    for &v in &relayed {
                        let person = &mut self.people[v];
                        person.ice.retain(|k| k != "candidate: relay");
                        person.ice.push("candidate: srflx".into());
                    }
                }
                let names: Vec<&str> = relayed.iter().map(|&v| self.people[v].name).collect();
                let how = if fallback { "connect directly instead" } else { "may only relay: never connect" };
                format!("the relay refuses {}'s credentials; they {how} ({layout})", names.join(" and "))
            }
            (kind, _) => {
                let (setting, what) = Draft::setting(kind, rng);
                let window = self.window(rng, 10);
                if let Some(relay) = self.relays.first_mut() {
                    relay.segments.push(format!("{{{}, {setting}}}", Draft::span(window)));
                }
                format!("{what} inside the relay, {} ({layout})", way(p.direction))
            }
        }
    }

    fn render(&self) -> String {
        let mut y = String::with_capacity(2048);
        let _ = writeln!(y, "# {}", self.comment);
        let _ = writeln!(
            y,
            "name: {}\nseed: {}\nstart: {}\nduration: {}s",
            self.id, self.seed, self.start, self.duration
        );
        let topology = if self.layout.sfu() { "sfu" } else { "p2p" };
        let _ = writeln!(y, "topology: {topology}");
        if self.layout.sfu() {
            let _ = writeln!(y, "sfu:\n  name: {}\n  observe: {}", self.sfu_name, self.sfu_observe);
            if !self.sfu_segments.is_empty() {
                let _ = writeln!(y, "  network:\n    segments: [{}]", self.sfu_segments.join(", "));
            }
            if let Some((from, to)) = self.overload {
                let _ = writeln!(y, "  overload: [[{from}s, {to}s]]");
            }
        }
        if !self.relays.is_empty() {
            let _ = writeln!(y, "turn:");
            for r in &self.relays {
                let _ = writeln!(
                    y,
                    "  - name: {}\n    protocol: {}\n    observe: {}",
                    r.name, r.protocol, r.observe
                );
                if r.auth_failure {
                    let _ = writeln!(y, "    auth_failure: true");
                }
                if !r.segments.is_empty() {
                    let _ = writeln!(y, "    network:\n      segments: [{}]", r.segments.join(", "));
                }
            }
        }
        let _ = writeln!(y, "participants:");
        for p in &self.people {
            p.render(&mut y);
        }
        y
    }
}

impl Person {
    /// A participant of a healthy call: a browser, media, and an access network within
    /// what no monitoring product would flag.
    fn healthy(name: &'static str, rng: &mut Rng) -> Person {
        let browser = match rng.u32(0..100) {
            0..70 => None,
            70..82 => Some(format!("firefox/{}", rng.u32(128..=146))),
            82..92 => Some(format!("safari/{}", pick(rng, &[(17, 1), (18, 2), (26, 2)]))),
            _ => Some(format!("edge/{}", rng.u32(138..=146))),
        };
        let audio = match rng.u32(0..10) {
            0 | 1 => {
                let from = secs(rng, 3, 20);
                Some(format!("{{dtx: true, muted: [[{from}s, {}s]]}}", from + secs(rng, 5, 15)))
            }
            2 => Some("{dtx: true}".into()),
            _ => None,
        };
        let video = if rng.u32(0..100) < 12 { Some("false".into()) } else { Some(Person::camera(rng)) };
        let link = |rng: &mut Rng| {
            let mut l =
                format!("delay: {}ms, jitter: {}ms", secs(rng, 5, 60), q(between(rng, 0.5, 8.0, 0.5)));
            if rng.u32(0..10) < 3 {
                let _ = write!(l, ", loss: {}%", q(between(rng, 0.1, 0.5, 0.1)));
            }
            format!("{{{l}}}")
        };
        let (uplink, downlink) = (link(rng), link(rng));
        let network_type = pick(rng, &[("wifi", 50), ("ethernet", 30), ("cellular", 15), ("vpn", 5)]);
        let candidate = if rng.u32(0..100) < 15 { "host" } else { "srflx" };
        Person {
            name,
            browser,
            audio,
            video,
            uplink,
            downlink,
            ice: vec![format!("candidate: {candidate}"), format!("network_type: {network_type}")],
            ..Person::default()
        }
    }

    /// Sends video, whatever it did before.
    fn ensure_camera(&mut self, rng: &mut Rng) {
        if self.video.as_deref().is_none_or(|v| v == "false") {
            self.video = Some(Person::camera(rng));
        }
    }

    /// Camera settings, as a YAML map.
    fn camera(rng: &mut Rng) -> String {
        let codec = pick(rng, &[("vp8", 75), ("vp9", 15), ("h264", 10)]);
        let (w, h, fps, kbps) =
            pick(rng, &[((640, 360, 30, 800), 50), ((1280, 720, 30, 1500), 35), ((960, 540, 24, 1200), 15)]);
        format!("{{codec: {codec}, width: {w}, height: {h}, fps: {fps}, max_bitrate: {kbps}kbps}}")
    }

    fn render(&self, y: &mut String) {
        let _ = writeln!(y, "  - name: {}", self.name);
        if let Some(b) = &self.browser {
            let _ = writeln!(y, "    browser: {b}");
        }
        if let Some(j) = self.join {
            let _ = writeln!(y, "    join: {j}s");
        }
        if let Some(l) = self.leave {
            let _ = writeln!(y, "    leave: {l}s");
        }
        if let Some(a) = &self.audio {
            let _ = writeln!(y, "    audio: {a}");
        }
        if let Some(v) = &self.video {
            let _ = writeln!(y, "    video: {v}");
        }
        if self.screenshare {
            let _ = writeln!(y, "    screenshare: true");
        }
        if let Some((from, to)) = self.cpu_limited {
            let _ = writeln!(y, "    cpu_limited: [[{from}s, {to}s]]");
        }
        let _ = writeln!(y, "    network:\n      uplink: {}\n      downlink: {}", self.uplink, self.downlink);
        if !self.segments.is_empty() {
            let _ = writeln!(y, "      segments: [{}]", self.segments.join(", "));
        }
        let _ = writeln!(y, "    ice: {{{}}}", self.ice.join(", "));
    }
}
