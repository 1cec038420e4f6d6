//! Builds the call before the first interval: media requests, peer connections, tracks
//! and their SSRCs, ICE candidates, and every connection's negotiation and ICE timeline.

use std::collections::BTreeSet;

use fastrand::Rng;

use super::media::{Codec, Encoder, Flow, Kind, RelayCounters, Sender};
use super::middlebox::{Allocation, SFU_PORT, TurnError};
use super::timeline::{self, Event, Side, Timeline};
use super::{Candidate, Endpoint, PairCounters, Pc, START_BITRATE, World};
use crate::json::{Obj, push_string};
use crate::network::{Bottleneck, QueueTick};
use crate::scenario::{
    CandidateKind, LinkSpec, NetworkType, ParticipantSpec, RelayProtocol, Scenario, Topology, TurnSpec,
};

/// The media server's ICE-lite candidate.
pub(super) const SFU_ADDRESS: &str = "203.0.113.10";
const STUN_URL: &str = "stun:stun.example.com:3478";
/// The application keeps the connection a moment after its last stats, then closes it.
const CLOSE_DELAY_S: f64 = 0.04;

/// Random identifiers, unique SSRCs.
struct Ids {
    rng: Rng,
    ssrcs: BTreeSet<u32>,
}

impl Ids {
    /// Chrome's stats-id alphabet (base64).
    fn token(&mut self, n: usize) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        (0..n).map(|_| char::from(ALPHABET[self.rng.usize(..ALPHABET.len())])).collect()
    }

    fn hex(&mut self, n: usize) -> String {
        (0..n).map(|_| char::from_digit(self.rng.u32(..16), 16).unwrap_or('0')).collect()
    }

    fn uuid(&mut self) -> String {
        format!("{}-{}-4{}-a{}-{}", self.hex(8), self.hex(4), self.hex(3), self.hex(3), self.hex(12))
    }

    fn ssrc(&mut self) -> u32 {
        loop {
            let s = self.rng.u32(1..);
            if self.ssrcs.insert(s) {
                return s;
            }
        }
    }
}

/// What an endpoint got from `getUserMedia` and when its connection is created.
struct Plan {
    created: Option<f64>,
    stream: String,
    audio_track: String,
    video_track: String,
    screen_track: String,
}

fn ev(at: f64, kind: &'static str, value: impl Into<String>) -> Event {
    Event { at, kind, value: value.into() }
}

fn quoted(s: &str) -> String {
    let mut out = String::new();
    push_string(&mut out, s);
    out
}

fn object(fill: impl FnOnce(&mut Obj)) -> String {
    let mut out = String::new();
    let mut o = Obj::open(&mut out);
    fill(&mut o);
    o.close();
    out
}

pub(super) fn build(scenario: &Scenario) -> World<'_> {
    let mut rng = Rng::with_seed(scenario.seed);
    let mut ids = Ids { rng: rng.fork(), ssrcs: BTreeSet::new() };
    let mut endpoints = Vec::with_capacity(scenario.participants.len());
    let mut plans = Vec::with_capacity(scenario.participants.len());
    for spec in &scenario.participants {
        let (endpoint, plan) = media_requests(spec, &mut rng, &mut ids);
        endpoints.push(endpoint);
        plans.push(plan);
    }
    let mut world = World {
        scenario,
        rng,
        endpoints,
        pcs: Vec::new(),
        senders: Vec::new(),
        flows: Vec::new(),
        sfu_links: (LinkSpec::QUIET, LinkSpec::QUIET),
        overloaded: false,
        relay_links: vec![LinkSpec::QUIET; scenario.turns.len()],
        allocations: Vec::new(),
        turn_errors: Vec::new(),
        sfu_lines: Vec::new(),
        turn_lines: vec![Vec::new(); scenario.turns.len()],
    };
    for (i, plan) in plans.iter().enumerate() {
        if let Some(created) = plan.created {
            let spec = scenario.participants[i].clone();
            let salt = world.rng.u64(..);
            world.endpoints[i].pc = Some(world.pcs.len());
            world.pcs.push(Pc {
                endpoint: i,
                peer: None,
                tl: Timeline::new(created, spec.leave + CLOSE_DELAY_S),
                controlling: true,
                ufrag: ids.token(4),
                local: Vec::new(),
                remote: None,
                senders: Vec::new(),
                flows: Vec::new(),
                pair: PairCounters::default(),
                bwe: START_BITRATE,
                tick_bwe: START_BITRATE,
                probed: false,
                rtt: 0.05,
                salt,
                reports: Vec::new(),
            });
        }
    }
    if scenario.topology == Topology::P2p
        && let (Some(a), Some(b)) =
            (world.endpoints.first().and_then(|e| e.pc), world.endpoints.get(1).and_then(|e| e.pc))
    {
        // Whoever hangs up first ends the call for both.
        let (la, lb) = (world.pcs[a].tl.closed, world.pcs[b].tl.closed);
        world.pcs[a].peer = Some(1);
        world.pcs[b].peer = Some(0);
        world.pcs[a].tl.closed = la.min(lb + 0.05);
        world.pcs[b].tl.closed = lb.min(la + 0.05);
        world.pcs[b].controlling = false;
    }
    tracks(&mut world, &plans, &mut ids);
    for pc in 0..world.pcs.len() {
        candidates(&mut world, pc, &mut ids);
    }
    for pc in 0..world.pcs.len() {
        let remote = match world.pcs[pc].peer {
            Some(peer) => world.endpoints[peer].pc.and_then(|p| world.pcs[p].local.last().cloned()),
            None => Some(Candidate {
                id: String::new(),
                address: SFU_ADDRESS.into(),
                port: SFU_PORT,
                kind: "host",
                relay_protocol: None,
                url: None,
                network_type: None,
                priority: 2_130_706_431,
                foundation: 1,
                ufrag: ids.token(8),
                related: None,
            }),
        };
        let libwebrtc = world.endpoints[world.pcs[pc].endpoint].dialect.libwebrtc_ids;
        world.pcs[pc].remote = remote.map(|mut c| {
            // The same candidate has another id on the receiving side.
            c.id = if libwebrtc { format!("I{}", ids.token(8)) } else { ids.hex(8) };
            c.network_type = None;
            c
        });
    }
    negotiate(&mut world, &plans, &mut ids);
    allocations(&mut world);
    world
}

/// An allocation for every client whose media crosses a relay, from its gathering until
/// its connection closes.
fn allocations(world: &mut World) {
    for e in 0..world.endpoints.len() {
        let (Some(relay), Some(pc)) = (world.endpoints[e].relay, world.endpoints[e].pc) else { continue };
        let p = &world.pcs[pc];
        let Some(local) = p.local.last().filter(|c| c.kind == "relay") else { continue };
        let spec = world.endpoints[e].spec;
        let client_address = match &local.related {
            Some((address, port)) => format!("{address}:{port}"),
            None => format!("{}:{}", public_address(e), client_port(e)),
        };
        let peers = match (&p.remote, p.peer) {
            (Some(remote), Some(_)) => vec![format!("{}:{}", remote.address, remote.port)],
            _ => vec![format!("{SFU_ADDRESS}:{SFU_PORT}")],
        };
        let allocation = Allocation {
            endpoint: e,
            relay,
            id: format!("a-{}", world.allocations.len() + 1),
            username: username(spec).to_string(),
            protocol: protocol_name(spec.ice.relay_protocol),
            client_address,
            relay_address: format!("{}:{}", local.address, local.port),
            peers,
            from: p.tl.created + 0.04,
            to: p.tl.closed,
            counters: RelayCounters::default(),
        };
        world.endpoints[e].alloc = Some(world.allocations.len());
        world.allocations.push(allocation);
    }
}

fn protocol_name(p: RelayProtocol) -> &'static str {
    match p {
        RelayProtocol::Udp => "udp",
        RelayProtocol::Tcp => "tcp",
        RelayProtocol::Tls => "tls",
    }
}

/// The name a client authenticates with at its relay.
fn username(spec: &ParticipantSpec) -> &str {
    spec.user.as_deref().unwrap_or(&spec.name)
}

/// A participant's public (NAT) address.
fn public_address(e: usize) -> String {
    format!("198.51.{}.{}", 100 + e / 250, 1 + e % 250)
}

/// The NAT port a client's requests come from when it has no server-reflexive candidate
/// to show it (relay-only clients whose relay refused them).
fn client_port(e: usize) -> u16 {
    40000 + ((e * 7919) % 25000) as u16
}

/// The relay a participant configured, or the one standing in for legacy scenarios.
fn relay_of<'s>(scenario: &'s Scenario, spec: &ParticipantSpec) -> std::borrow::Cow<'s, TurnSpec> {
    match spec.ice.turn.and_then(|i| scenario.turns.get(i)) {
        Some(t) => std::borrow::Cow::Borrowed(t),
        None => std::borrow::Cow::Owned(TurnSpec::implicit()),
    }
}

/// `getUserMedia` (and `getDisplayMedia`) and its outcome; the connection follows success.
fn media_requests<'s>(spec: &'s ParticipantSpec, rng: &mut Rng, ids: &mut Ids) -> (Endpoint<'s>, Plan) {
    let mut events = Vec::new();
    let mut plan = Plan {
        created: None,
        stream: ids.uuid(),
        audio_track: ids.uuid(),
        video_track: ids.uuid(),
        screen_track: ids.uuid(),
    };
    let mut ready = Some(spec.join);
    if spec.audio.is_some() || spec.video.is_some() {
        let constraints = object(|o| {
            o.bool("audio", spec.audio.is_some());
            match &spec.video {
                Some(v) => o.obj("video", |c| {
                    c.int("width", u64::from(v.width))
                        .int("height", u64::from(v.height))
                        .num("frameRate", v.fps);
                }),
                None => o.bool("video", false),
            };
        });
        events.push(ev(spec.join, "getUserMedia", constraints));
        let done = spec.join + 0.06 + 0.3 * rng.f64();
        match &spec.gum_error {
            Some((name, message)) => {
                events.push(ev(
                    done,
                    "getUserMediaOnFailure",
                    object(|o| {
                        o.str("name", name).str("message", message);
                    }),
                ));
                ready = None;
            }
            None => {
                let track = |id: &str, kind: &str, label: &str| {
                    object(|t| {
                        t.str("id", id).str("kind", kind).str("label", label);
                        t.bool("enabled", true).bool("muted", false).str("readyState", "live");
                    })
                };
                let mut tracks = Vec::new();
                if spec.audio.is_some() {
                    tracks.push(track(&plan.audio_track, "audio", "Default - Microphone"));
                }
                if spec.video.is_some() {
                    tracks.push(track(&plan.video_track, "video", "HD Webcam"));
                }
                let value = object(|o| {
                    o.str("id", &plan.stream).raw("tracks", &format!("[{}]", tracks.join(",")));
                });
                events.push(ev(done, "getUserMediaOnSuccess", value));
                ready = Some(done);
            }
        }
    }
    if let (Some(at), Some(_)) = (ready, &spec.screenshare) {
        events.push(ev(
            at + 0.01,
            "getDisplayMedia",
            object(|o| {
                o.bool("video", true).bool("audio", false);
            }),
        ));
        let track = object(|t| {
            t.str("id", &plan.screen_track).str("kind", "video").str("label", "screen:0:0");
            t.bool("enabled", true).bool("muted", false).str("readyState", "live");
        });
        let done = at + 0.6 + 0.6 * rng.f64();
        events.push(ev(
            done,
            "getDisplayMediaOnSuccess",
            object(|o| {
                o.str("id", &plan.stream).raw("tracks", &format!("[{track}]"));
            }),
        ));
        ready = Some(done);
    }
    if let Some(f) = &spec.feedback {
        events.push(ev(
            f.at,
            "feedback",
            object(|o| {
                o.int("rating", u64::from(f.rating));
                if let Some(c) = &f.comment {
                    o.str("comment", c);
                }
            }),
        ));
    }
    plan.created = ready.map(|r| r + 0.004).filter(|c| *c < spec.leave);
    let endpoint = Endpoint {
        spec,
        dialect: spec.browser.dialect(),
        phase: 0.001 + 0.018 * rng.f64(),
        pc: None,
        uplink: Bottleneck::default(),
        downlink: Bottleneck::default(),
        up_queue: QueueTick::default(),
        down_queue: QueueTick::default(),
        up: spec.network.uplink,
        down: spec.network.downlink,
        events,
        relay: spec.ice.turn.filter(|_| {
            spec.ice.candidate == CandidateKind::Relay
                && !(spec.ice.never_connects && spec.ice.candidate_error.is_some())
        }),
        alloc: None,
        up_extra_j2: 0.0,
        down_extra_j2: 0.0,
    };
    (endpoint, plan)
}

/// Senders for each endpoint's tracks, and a flow for every sender a connection receives.
fn tracks(world: &mut World, plans: &[Plan], ids: &mut Ids) {
    for pc in 0..world.pcs.len() {
        let e = world.pcs[pc].endpoint;
        let spec = world.endpoints[e].spec;
        let plan = &plans[e];
        let mut add = |kind: Kind, codec: Codec, track: &str, mid: &str, source: &str, world: &mut World| {
            let mut s = Sender::new(e, pc, kind, codec, world.rng.fork());
            s.ssrc = ids.ssrc();
            s.rtx_ssrc = if kind.is_video() { ids.ssrc() } else { 0 };
            s.mid = mid.into();
            s.source_id = source.into();
            s.track_id = track.into();
            world.pcs[pc].senders.push(world.senders.len());
            world.senders.push(s);
        };
        if let Some(a) = &spec.audio {
            let mut codec = Codec::audio(a.codec, a.dtx);
            if world.endpoints[e].dialect.libwebrtc_ids {
                codec.implementation = "";
            }
            add(Kind::Audio, codec, &plan.audio_track, "0", "SA1", world);
            if let Some(s) = world.senders.last_mut() {
                s.audio = Some(a.clone());
            }
        }
        for (kind, video, track, mid, source) in [
            (Kind::Camera, spec.video, &plan.video_track, "1", "SV2"),
            (Kind::Screen, spec.screenshare, &plan.screen_track, "2", "SV3"),
        ] {
            if let Some(v) = video {
                add(kind, Codec::video(v.codec), track, mid, source, world);
                if let Some(s) = world.senders.last_mut() {
                    s.encoder = Some(Encoder::new(v));
                }
            }
        }
    }
    let sfu = world.scenario.topology == Topology::Sfu;
    for rpc in 0..world.pcs.len() {
        let receiver = world.pcs[rpc].endpoint;
        let mut next_mid = world.pcs[rpc].senders.len().max(3);
        for s in 0..world.senders.len() {
            let sender = &world.senders[s];
            let receives =
                if sfu { sender.endpoint != receiver } else { world.pcs[sender.pc].peer == Some(receiver) };
            if !receives {
                continue;
            }
            let mid = if sfu {
                next_mid += 1;
                (next_mid - 1).to_string()
            } else {
                sender.mid.clone()
            };
            let flow = Flow::new(s, rpc, receiver, mid, ids.uuid(), world.rng.fork());
            world.pcs[rpc].flows.push(world.flows.len());
            world.flows.push(flow);
        }
    }
}

/// Local candidates: host, and the server-reflexive or relayed one the call uses.
fn candidates(world: &mut World, pc: usize, ids: &mut Ids) {
    let e = world.pcs[pc].endpoint;
    let spec = world.endpoints[e].spec;
    let dialect = world.endpoints[e].dialect;
    let ice = &spec.ice;
    if ice.never_connects && ice.candidate_error.is_some() {
        // Relay-only, and the TURN server refuses: nothing is gathered.
        world.pcs[pc].tl.gathered = false;
        return;
    }
    let ufrag = world.pcs[pc].ufrag.clone();
    let mut id = || if dialect.libwebrtc_ids { format!("I{}", ids.token(8)) } else { ids.hex(8) };
    let private = match ice.network_type {
        NetworkType::Cellular => format!("10.{}.{}.2", 64 + e / 250, e % 250),
        _ => format!("192.168.{}.{}", 1 + e / 200, 10 + e % 200),
    };
    let public = public_address(e);
    let network_type = dialect.network_type.then_some(ice.network_type.as_str());
    let host_port = world.rng.u16(40000..65000);
    let host = Candidate {
        id: id(),
        address: private.clone(),
        port: host_port,
        kind: "host",
        relay_protocol: None,
        url: None,
        network_type,
        priority: 2_122_260_223,
        foundation: world.rng.u32(..),
        ufrag: ufrag.clone(),
        related: None,
    };
    let used = match ice.candidate {
        CandidateKind::Host => None,
        CandidateKind::Srflx => Some(Candidate {
            id: id(),
            address: public,
            port: world.rng.u16(40000..65000),
            kind: "srflx",
            url: Some(STUN_URL.into()),
            priority: 1_686_052_607,
            foundation: world.rng.u32(..),
            related: Some((private, host_port)),
            ..host.clone()
        }),
        CandidateKind::Relay => {
            let priority = match ice.relay_protocol {
                RelayProtocol::Udp => 41_885_439,
                RelayProtocol::Tcp => 25_108_223,
                RelayProtocol::Tls => 8_331_263,
            };
            let relay = relay_of(world.scenario, spec);
            Some(Candidate {
                id: id(),
                address: relay.address.clone(),
                port: world.rng.u16(49152..65535),
                kind: "relay",
                relay_protocol: dialect.relay_protocol.then_some(protocol_name(ice.relay_protocol)),
                url: Some(relay.url(ice.relay_protocol)),
                priority,
                foundation: world.rng.u32(..),
                related: Some((public, world.rng.u16(40000..65000))),
                ..host.clone()
            })
        }
    };
    world.pcs[pc].local = std::iter::once(host).chain(used).collect();
}

impl Candidate {
    /// The `a=candidate` line.
    fn sdp(&self) -> String {
        let mut line = format!(
            "candidate:{} 1 udp {} {} {} typ {}",
            self.foundation, self.priority, self.address, self.port, self.kind
        );
        if let Some((addr, port)) = &self.related {
            line.push_str(&format!(" raddr {addr} rport {port}"));
        }
        line.push_str(&format!(" generation 0 ufrag {} network-id 1", self.ufrag));
        line
    }

    fn event_value(&self) -> String {
        object(|o| {
            o.str("candidate", &self.sdp())
                .str("sdpMid", "0")
                .int("sdpMLineIndex", 0)
                .str("usernameFragment", &self.ufrag);
        })
    }
}

/// A compact but well-formed session description for `pc`'s tracks.
fn sdp(world: &World, pc: usize, kind: &str, ids: &mut Ids) -> String {
    let p = &world.pcs[pc];
    let session: u64 = ids.rng.u64(1_000_000_000_000_000..9_000_000_000_000_000);
    let fingerprint: Vec<String> = (0..32).map(|_| ids.hex(2).to_uppercase()).collect();
    let mids: Vec<&str> = p.senders.iter().map(|&s| world.senders[s].mid.as_str()).collect();
    let mut text = format!(
        "v=0\r\no=- {session} 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE {}\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS\r\n",
        mids.join(" ")
    );
    let pwd = ids.token(22);
    for &s in &p.senders {
        let s = &world.senders[s];
        let c = &s.codec;
        let name = c.mime.split('/').nth(1).unwrap_or("opus");
        let channels = c.channels.filter(|n| *n > 1).map(|n| format!("/{n}")).unwrap_or_default();
        text.push_str(&format!(
            "m={} 9 UDP/TLS/RTP/SAVPF {pt}\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\na=ice-ufrag:{}\r\na=ice-pwd:{pwd}\r\na=ice-options:trickle\r\na=fingerprint:sha-256 {}\r\na=setup:{}\r\na=mid:{}\r\na=sendrecv\r\na=rtcp-mux\r\na=rtpmap:{pt} {name}/{}{channels}\r\n",
            s.kind.kind(),
            p.ufrag,
            fingerprint.join(":"),
            if kind == "offer" { "actpass" } else { "active" },
            s.mid,
            c.clock_rate,
            pt = c.payload_type,
        ));
        if let Some(f) = &c.fmtp {
            text.push_str(&format!("a=fmtp:{} {f}\r\n", c.payload_type));
        }
        text.push_str(&format!("a=ssrc:{} cname:{}\r\n", s.ssrc, p.ufrag));
    }
    object(|o| {
        o.str("type", kind).str("sdp", &text);
    })
}

/// The RTCConfiguration passed to the constructor (credentials as the page passed them).
fn configuration(scenario: &Scenario, spec: &ParticipantSpec) -> String {
    let ice = &spec.ice;
    let relay_only = ice.never_connects && ice.candidate_error.is_some();
    let relay = relay_of(scenario, spec);
    let server = match ice.candidate {
        CandidateKind::Relay => object(|s| {
            s.str("urls", &relay.url(ice.relay_protocol));
            s.str("username", username(spec)).str("credential", "s3cret");
        }),
        _ if relay_only => object(|s| {
            s.str("urls", &relay.url(RelayProtocol::Udp))
                .str("username", &spec.name)
                .str("credential", "s3cret");
        }),
        _ if ice.turn.is_some() => object(|s| {
            s.str("urls", &relay.url(ice.relay_protocol));
            s.str("username", username(spec)).str("credential", "s3cret");
        }),
        _ => object(|s| {
            s.str("urls", STUN_URL);
        }),
    };
    object(|o| {
        o.raw("iceServers", &format!("[{server}]"));
        o.str("iceTransportPolicy", if relay_only { "relay" } else { "all" })
            .str("bundlePolicy", "max-bundle");
    })
}

/// The offer/answer exchange, candidate gathering and trickling, then ICE and DTLS.
fn negotiate(world: &mut World, plans: &[Plan], ids: &mut Ids) {
    let sfu = world.scenario.topology == Topology::Sfu;
    let mut answered: Vec<Option<f64>> = vec![None; world.pcs.len()];
    let connections: Vec<(usize, Option<usize>)> = if sfu {
        (0..world.pcs.len()).map(|p| (p, None)).collect()
    } else {
        let a = world.endpoints.first().and_then(|e| e.pc);
        let b = world.endpoints.get(1).and_then(|e| e.pc);
        match (a, b) {
            (Some(a), b) => vec![(a, b)],
            (None, Some(b)) => vec![(b, None)],
            (None, None) => Vec::new(),
        }
    };
    for (a, b) in connections {
        let offered = offer(world, a, plans, ids);
        let spec_a = world.endpoints[world.pcs[a].endpoint].spec;
        let (up, down) = spec_a.network.at(world.pcs[a].tl.created);
        let signalling = 0.03 + 0.05 * world.rng.f64();
        match b {
            None if !sfu => {
                // The other side never got as far as a connection: nobody answers.
            }
            None => {
                // The media server answers over the signalling channel.
                let rtt = 2.0 * (up.delay + down.delay) + 0.002;
                let rx = offered.ready + rtt + 0.02;
                let lite = object(|o| {
                    o.str("type", "answer")
                        .str("sdp", "v=0\r\no=- 1 2 IN IP4 203.0.113.10\r\ns=-\r\nt=0 0\r\na=ice-lite\r\n");
                });
                answer_received(world, a, rx, lite, plans);
                answered[a] = Some(rx);
                if spec_a.negotiation_error.is_none() {
                    let side = side(world, a);
                    let check = rx + 0.002;
                    let (rng, tl) = (&mut world.rng, &mut world.pcs[a].tl);
                    timeline::connect(rng, side.into_side(tl), None, (check, check), rtt);
                }
            }
            Some(b) => {
                let eb = world.pcs[b].endpoint;
                let spec_b = world.endpoints[eb].spec;
                let offer_rx = (offered.ready + signalling).max(world.pcs[b].tl.created + 0.002);
                let Some((answer_done, answer_sdp)) = answer(world, b, offer_rx, &offered.sdp, ids, plans)
                else {
                    continue;
                };
                trickle(world, a, b, offer_rx.max(offered.gathered) + 0.01);
                let answer_rx = answer_done + signalling;
                answer_received(world, a, answer_rx, answer_sdp, plans);
                trickle(world, b, a, answer_rx + 0.005);
                let (up_b, down_b) = spec_b.network.at(world.pcs[b].tl.created);
                let rtt = up.delay + down.delay + up_b.delay + down_b.delay;
                let (sa, sb) = (side(world, a), side(world, b));
                let (low, high) = world.pcs.split_at_mut(b.max(a));
                let (tl_a, tl_b) =
                    if a < b { (&mut low[a].tl, &mut high[0].tl) } else { (&mut high[0].tl, &mut low[b].tl) };
                let checks = (answer_rx + 0.003, answer_done + 0.012);
                timeline::connect(&mut world.rng, sa.into_side(tl_a), Some(sb.into_side(tl_b)), checks, rtt);
            }
        }
    }
    if sfu {
        // Remote tracks arrive when both ends are up (renegotiation when someone joins).
        for f in 0..world.flows.len() {
            let (rpc, spc) = (world.flows[f].pc, world.senders[world.flows[f].sender].pc);
            let (Some(rx), Some(from)) = (answered[rpc], world.pcs[spc].tl.media_from) else { continue };
            let at = rx.max(from + 0.25);
            if at < world.pcs[rpc].tl.closed {
                let value = track_value(world, f, plans);
                world.pcs[rpc].tl.push(at, "track", value);
            }
        }
    }
}

/// The parts of a [`Side`] that come from the scenario (the timeline is borrowed later).
struct SideSpec<'s> {
    setup: f64,
    never_connects: bool,
    ice_error: bool,
    negotiation_error: Option<&'s str>,
    disconnect: &'s [crate::scenario::Window],
    fail_at: Option<f64>,
    ice_state_fails: bool,
}

fn side<'s>(world: &World<'s>, pc: usize) -> SideSpec<'s> {
    let e = &world.endpoints[world.pcs[pc].endpoint];
    let ice = &e.spec.ice;
    SideSpec {
        setup: ice.setup,
        never_connects: ice.never_connects,
        ice_error: ice.candidate_error.is_some(),
        negotiation_error: e.spec.negotiation_error.as_deref(),
        disconnect: &ice.disconnect,
        fail_at: ice.fail_at,
        ice_state_fails: e.dialect.ice_state_fails,
    }
}

/// An offer made: when it was ready to send, when gathering finished, the description.
struct Offer {
    ready: f64,
    gathered: f64,
    sdp: String,
}

/// Creation, tracks, offer, local description, gathering.
fn offer(world: &mut World, pc: usize, plans: &[Plan], ids: &mut Ids) -> Offer {
    let c = world.pcs[pc].tl.created;
    let spec = world.endpoints[world.pcs[pc].endpoint].spec;
    create(world, pc, plans);
    let description = sdp(world, pc, "offer", ids);
    let tl = &mut world.pcs[pc].tl;
    tl.push(c + 0.002, "createOffer", "null");
    tl.push(c + 0.004, "createOfferOnSuccess", description.clone());
    tl.push(c + 0.005, "setLocalDescription", description.clone());
    tl.push(c + 0.007, "signalingstatechange", quoted("have-local-offer"));
    tl.push(c + 0.007, "setLocalDescriptionOnSuccess", "null");
    let gathered = gather(world, pc, c + 0.009, spec);
    Offer { ready: c + 0.007, gathered, sdp: description }
}

/// `create`, `addTrack` and `negotiationneeded`.
fn create(world: &mut World, pc: usize, plans: &[Plan]) {
    let e = world.pcs[pc].endpoint;
    let spec = world.endpoints[e].spec;
    let c = world.pcs[pc].tl.created;
    let added: Vec<String> = world.pcs[pc]
        .senders
        .iter()
        .map(|&s| {
            quoted(&format!(
                "{}:{} stream:{}",
                world.senders[s].kind.kind(),
                world.senders[s].track_id,
                plans[e].stream
            ))
        })
        .collect();
    let tl = &mut world.pcs[pc].tl;
    tl.push(c, "create", configuration(world.scenario, spec));
    for a in added {
        tl.push(c, "addTrack", a);
    }
    tl.push(c + 0.001, "negotiationneeded", "null");
}

/// ICE gathering from `at`; returns when it completed.
fn gather(world: &mut World, pc: usize, at: f64, spec: &ParticipantSpec) -> f64 {
    let e = world.pcs[pc].endpoint;
    let refused = spec.ice.turn.filter(|&r| world.scenario.turns.get(r).is_some_and(|t| t.auth_failure));
    let p = &mut world.pcs[pc];
    p.tl.push(at, "icegatheringstatechange", quoted("gathering"));
    let mut t = at;
    for c in &p.local {
        t += if c.kind == "host" { 0.002 } else { 0.03 };
        let value = c.event_value();
        p.tl.push(t, "icecandidate", value);
    }
    if let Some(err) = &spec.ice.candidate_error {
        let host_port = p.local.first().map_or(9, |c| c.port);
        let url = err.url.clone().unwrap_or_else(|| TurnSpec::implicit().url(spec.ice.relay_protocol));
        let value = object(|o| {
            // Chrome masks the last octet of the local address.
            o.str("address", "192.168.1.x").int("port", u64::from(host_port)).str("url", &url);
            o.int("errorCode", u64::from(err.code)).str("errorText", &err.text);
        });
        t += 0.06;
        p.tl.push(t, "icecandidateerror", value);
        if let Some(relay) = refused {
            let client_address = match p.local.iter().find(|c| c.kind == "srflx") {
                Some(c) => format!("{}:{}", c.address, c.port),
                None => format!("{}:{}", public_address(e), client_port(e)),
            };
            let username = username(spec).to_string();
            // The relay logs the refusal just before the browser reports it.
            world.turn_errors.push(TurnError { relay, at: t - 0.005, client_address, username, sent: false });
        }
    }
    t += 0.05;
    p.tl.push(t, "icegatheringstatechange", quoted("complete"));
    p.tl.push(t, "icecandidate", "null");
    t
}

/// The answerer's side: remote offer, answer, gathering. Returns when the answer was set
/// and the answer; `None` when it rejects the offer.
fn answer(
    world: &mut World,
    pc: usize,
    at: f64,
    remote: &str,
    ids: &mut Ids,
    plans: &[Plan],
) -> Option<(f64, String)> {
    let spec = world.endpoints[world.pcs[pc].endpoint].spec;
    create(world, pc, plans);
    let tracks: Vec<String> = world.pcs[pc].flows.iter().map(|&f| track_value(world, f, plans)).collect();
    let description = sdp(world, pc, "answer", ids);
    let tl = &mut world.pcs[pc].tl;
    tl.push(at, "setRemoteDescription", remote);
    if let Some(message) = &spec.negotiation_error {
        tl.push(at + 0.001, "setRemoteDescriptionOnFailure", failure(message));
        return None;
    }
    tl.push(at + 0.004, "signalingstatechange", quoted("have-remote-offer"));
    for t in tracks {
        tl.push(at + 0.004, "track", t);
    }
    tl.push(at + 0.005, "setRemoteDescriptionOnSuccess", "null");
    tl.push(at + 0.005, "createAnswer", "null");
    tl.push(at + 0.008, "createAnswerOnSuccess", description.clone());
    tl.push(at + 0.008, "setLocalDescription", description.clone());
    tl.push(at + 0.011, "signalingstatechange", quoted("stable"));
    tl.push(at + 0.012, "setLocalDescriptionOnSuccess", "null");
    gather(world, pc, at + 0.013, spec);
    Some((at + 0.008, description))
}

/// The offerer receives the answer.
fn answer_received(world: &mut World, pc: usize, at: f64, remote: String, plans: &[Plan]) {
    let spec = world.endpoints[world.pcs[pc].endpoint].spec;
    let sfu = world.scenario.topology == Topology::Sfu;
    let tracks: Vec<String> = if sfu {
        Vec::new()
    } else {
        world.pcs[pc].flows.iter().map(|&f| track_value(world, f, plans)).collect()
    };
    let tl = &mut world.pcs[pc].tl;
    tl.push(at, "setRemoteDescription", remote);
    if let Some(message) = &spec.negotiation_error {
        tl.push(at + 0.001, "setRemoteDescriptionOnFailure", failure(message));
        return;
    }
    tl.push(at + 0.003, "signalingstatechange", quoted("stable"));
    for t in tracks {
        tl.push(at + 0.003, "track", t);
    }
    tl.push(at + 0.004, "setRemoteDescriptionOnSuccess", "null");
}

/// `from`'s candidates reach `to` over signalling; `to` adds them from `added` on.
fn trickle(world: &mut World, from: usize, to: usize, added: f64) {
    let candidates: Vec<String> = world.pcs[from].local.iter().map(Candidate::event_value).collect();
    let tl = &mut world.pcs[to].tl;
    for (i, c) in candidates.into_iter().enumerate() {
        let at = added + 0.002 * i as f64;
        tl.push(at, "addIceCandidate", c);
        tl.push(at + 0.001, "addIceCandidateOnSuccess", "null");
    }
}

fn failure(message: &str) -> String {
    object(|o| {
        o.str("name", "OperationError").str("message", message);
    })
}

/// An `ontrack` value as the collector writes it: `video:<track> stream:<stream>`.
fn track_value(world: &World, flow: usize, plans: &[Plan]) -> String {
    let f = &world.flows[flow];
    let s = &world.senders[f.sender];
    quoted(&format!("{}:{} stream:{}", s.kind.kind(), f.track_id, plans[s.endpoint].stream))
}

impl<'s> SideSpec<'s> {
    fn into_side<'t>(self, tl: &'t mut Timeline) -> Side<'t>
    where
        's: 't,
    {
        Side {
            tl,
            setup: self.setup,
            never_connects: self.never_connects,
            ice_error: self.ice_error,
            negotiation_error: self.negotiation_error,
            disconnect: self.disconnect,
            fail_at: self.fail_at,
            ice_state_fails: self.ice_state_fails,
        }
    }
}
