//! What the media server and the relays observe, as their own monitoring would report it
//! (`docs/middlebox-observations.md`): per client transport, the media the server received
//! and forwarded; per relay allocation, the packets each way.
//!
//! The counters come from the same packets the endpoints count, split where each stretch
//! of the path lost them, so the two views agree: a server's inbound loss is what was lost
//! upstream of it, its outbound loss (from the receivers' reports) what was lost downstream.

use super::media::RelayCounters;
use super::setup::SFU_ADDRESS;
use super::{Timeline, World};
use crate::json::Obj;
use crate::output::Line;

/// The media server's own port for every client (one transport per client, bundled).
pub(super) const SFU_PORT: u16 = 10000;
/// Servers export a moment after the interval boundary.
const EXPORT_LAG_MS: f64 = 3.0;

/// A client's allocation on a relay.
#[derive(Debug)]
pub(crate) struct Allocation {
    pub endpoint: usize,
    pub relay: usize,
    pub id: String,
    pub username: String,
    pub protocol: &'static str,
    pub client_address: String,
    pub relay_address: String,
    pub peers: Vec<String>,
    /// Allocated (during gathering) and released (when the connection closes).
    pub from: f64,
    pub to: f64,
    pub counters: RelayCounters,
}

/// A relay refusing a client's credentials.
#[derive(Debug)]
pub(crate) struct TurnError {
    pub relay: usize,
    pub at: f64,
    pub client_address: String,
    pub username: String,
    /// Already reported.
    pub sent: bool,
}

/// The media server's view of a client's ICE state: an ICE-lite server has no `checking`,
/// and sees a failed client only as gone quiet.
fn sfu_ice_state(tl: &Timeline, t: f64) -> &'static str {
    match Timeline::state_at(&tl.ice_states, t) {
        "connected" | "completed" => "connected",
        "disconnected" | "failed" => "disconnected",
        _ => "new",
    }
}

impl World<'_> {
    /// Every observing middlebox reports at `t`.
    pub(super) fn observe(&mut self, t: f64) {
        if let Some(server) = &self.scenario.sfu
            && server.observe
        {
            let json = self.sfu_observation(t);
            self.sfu_lines.push(Line { at_ms: self.epoch_ms(t).round() + EXPORT_LAG_MS, json });
        }
        for relay in 0..self.scenario.turns.len() {
            if !self.scenario.turns[relay].observe {
                continue;
            }
            if let Some(json) = self.turn_observation(relay, t) {
                let at_ms = self.epoch_ms(t).round() + EXPORT_LAG_MS;
                self.turn_lines[relay].push(Line { at_ms, json });
            }
        }
    }

    fn sfu_observation(&self, t: f64) -> String {
        let Some(server) = &self.scenario.sfu else { return String::new() };
        let mut out = String::with_capacity(1024);
        let mut o = Obj::open(&mut out);
        o.int("v", 1).str("conference", &self.scenario.conference).str("source", "sfu");
        o.str("server", &server.name).str("software", &server.software);
        o.num("timestamp", self.epoch_ms(t).round() + EXPORT_LAG_MS);
        let mut list = String::from("[");
        let mut first = true;
        for (pc, p) in self.pcs.iter().enumerate() {
            // The server has a transport from the client's offer until the client closes.
            if t < p.tl.created || t >= p.tl.closed {
                continue;
            }
            if !first {
                list.push(',');
            }
            first = false;
            self.sfu_transport(&mut list, pc, t);
        }
        list.push(']');
        o.raw("transports", &list);
        o.close();
        out
    }

    fn sfu_transport(&self, out: &mut String, pc: usize, t: f64) {
        let p = &self.pcs[pc];
        let e = &self.endpoints[p.endpoint];
        let state = sfu_ice_state(&p.tl, t);
        let mut o = Obj::open(out);
        o.str("participant", &e.spec.name).str("transport", &format!("t-{}-1", e.spec.name));
        o.str("iceState", state);
        if state == "connected" {
            o.num("rttMs", (p.rtt * 1e4).round() / 10.0);
        }
        o.str("localAddress", &format!("{SFU_ADDRESS}:{SFU_PORT}"));
        if let Some(c) = p.local.last() {
            o.str("remoteAddress", &format!("{}:{}", c.address, c.port));
            o.str("protocol", "udp").bool("relayed", c.kind == "relay");
        }
        let mut inbound = String::from("[");
        for &s in &p.senders {
            let s = &self.senders[s];
            if s.up_seq.received + s.up_seq.lost == 0 {
                continue;
            }
            if inbound.len() > 1 {
                inbound.push(',');
            }
            let mut i = Obj::open(&mut inbound);
            i.int("ssrc", u64::from(s.ssrc)).str("kind", s.kind.kind());
            i.int("packetsReceived", s.up_seq.received).int("packetsLost", s.up_seq.lost);
            i.num("jitterMs", (s.up_jitter * 1e4).round() / 10.0).int("bytesReceived", s.up_bytes);
            if s.kind.is_video() {
                i.int("nackCount", s.out.nacks).int("pliCount", s.out.plis);
            }
            i.close();
        }
        inbound.push(']');
        o.raw("inbound", &inbound);
        let mut outbound = String::from("[");
        for &f in &p.flows {
            let f = &self.flows[f];
            let s = &self.senders[f.sender];
            // A sender that left is dropped from the client's streams once renegotiated.
            if f.forwarded_packets == 0 || self.pcs[s.pc].tl.closed + super::REMOVED_AFTER_S <= t {
                continue;
            }
            if outbound.len() > 1 {
                outbound.push(',');
            }
            let mut x = Obj::open(&mut outbound);
            x.int("ssrc", u64::from(s.ssrc)).str("kind", s.kind.kind());
            x.str("sender", &self.endpoints[s.endpoint].spec.name);
            x.int("packetsSent", f.forwarded_packets + f.rtx_sent).int("bytesSent", f.forwarded_bytes);
            if f.down_rr.at.is_some() {
                let rr = &f.down_rr;
                x.int("packetsLost", rr.lost).num("fractionLost", rr.fraction);
                x.num("rttMs", (rr.rtt * 1e4).round() / 10.0);
            }
            if s.kind.is_video() {
                x.int("nackCount", f.c.nacks).int("pliCount", f.c.plis);
            }
            x.close();
        }
        outbound.push(']');
        o.raw("outbound", &outbound);
        o.close();
    }

    /// A relay's report at `t`, if it has anything to say: live allocations, new errors.
    fn turn_observation(&mut self, relay: usize, t: f64) -> Option<String> {
        let live: Vec<&Allocation> =
            self.allocations.iter().filter(|a| a.relay == relay && a.from <= t && t < a.to).collect();
        let fresh: Vec<usize> = (0..self.turn_errors.len())
            .filter(|&i| {
                self.turn_errors[i].relay == relay && !self.turn_errors[i].sent && self.turn_errors[i].at <= t
            })
            .collect();
        if live.is_empty() && fresh.is_empty() {
            return None;
        }
        let spec = &self.scenario.turns[relay];
        let mut out = String::with_capacity(512);
        let mut o = Obj::open(&mut out);
        // Relays rarely know the conference: allocations join by participant and address.
        o.int("v", 1).str("source", "turn").str("server", &spec.name).str("software", &spec.software);
        o.num("timestamp", self.epoch_ms(t).round() + EXPORT_LAG_MS);
        let mut list = String::from("[");
        for (i, a) in live.iter().enumerate() {
            if i > 0 {
                list.push(',');
            }
            let c = &a.counters;
            let mut x = Obj::open(&mut list);
            x.str("id", &a.id).str("participant", &self.endpoints[a.endpoint].spec.name);
            x.str("username", &a.username).str("clientAddress", &a.client_address);
            x.str("relayAddress", &a.relay_address).str("protocol", a.protocol);
            let peers: Vec<String> = a.peers.iter().map(|p| crate::json::string(p)).collect();
            x.raw("peers", &format!("[{}]", peers.join(",")));
            x.int("packetsFromClient", c.packets[RelayCounters::FROM_CLIENT])
                .int("packetsToClient", c.packets[RelayCounters::TO_CLIENT]);
            x.int("bytesFromClient", c.bytes[RelayCounters::FROM_CLIENT])
                .int("bytesToClient", c.bytes[RelayCounters::TO_CLIENT]);
            x.int("packetsToPeers", c.packets[RelayCounters::TO_PEERS])
                .int("packetsFromPeers", c.packets[RelayCounters::FROM_PEERS]);
            x.close();
        }
        list.push(']');
        o.raw("allocations", &list);
        if !fresh.is_empty() {
            let mut errors = String::from("[");
            for (n, &i) in fresh.iter().enumerate() {
                if n > 0 {
                    errors.push(',');
                }
                let err = &self.turn_errors[i];
                let mut x = Obj::open(&mut errors);
                x.num("timestamp", self.epoch_ms(err.at).round()).str("clientAddress", &err.client_address);
                x.int("code", 401).str("reason", "Unauthorized").str("username", &err.username);
                x.close();
            }
            errors.push(']');
            o.raw("errors", &errors);
        }
        o.close();
        for i in fresh {
            self.turn_errors[i].sent = true;
        }
        Some(out)
    }
}
