//! Either side of a TURN relay: the relay counts the packets it got from its client and
//! passed on to the peers, and the other way round; the endpoints count what they sent and
//! received. Compared over the same stretch of time, the shortfall between what a client
//! sent and what reached the relay is lost on the client's uplink, and the shortfall between
//! what the relay passed on and what arrived is lost on the receiver's downlink. That is
//! what tells the two ends of a relayed peer-to-peer flow apart, which the endpoints' own
//! counters cannot (they only see the whole way).
//!
//! Relays count every packet (RTCP and consent checks too), endpoints their RTP: the relay's
//! side runs a percent or two high, which stays under the "bad" threshold.

use hopscope_model::middlebox::TurnAllocation;
use hopscope_model::middlebox::intervals::turn_intervals;
use hopscope_model::{PeerConnection, Timestamp};

/// Packets one connection's RTP streams moved over one stats interval.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Span {
    start: f64,
    end: f64,
    packets: f64,
}

/// What a connection sent and received, interval by interval, in epoch ms.
#[derive(Debug, Default)]
pub(super) struct PcCounts {
    sent: Vec<Span>,
    received: Vec<Span>,
    /// Where a stream's counters start or stop: packets before a stream's first sample or
    /// after its last are counted by the relay but not here, so windows near them are left out.
    edges: Vec<f64>,
    /// The usual gap between two stats samples, ms.
    step_ms: f64,
}

impl PcCounts {
    /// Reads the cumulative counters of every RTP stream of `pc` into per-interval spans. A
    /// counter that goes backwards (a reset) leaves that interval out.
    pub(super) fn of(pc: &PeerConnection) -> PcCounts {
        let mut out = PcCounts::default();
        let mut steps = Vec::new();
        for s in &pc.outbound {
            let counted = s.samples.iter().filter_map(|x| Some((x.at.epoch_ms(), x.packets_sent.get()?)));
            spans(counted, &mut out.sent, &mut out.edges, &mut steps);
        }
        for s in &pc.inbound {
            let counted = s.samples.iter().filter_map(|x| Some((x.at.epoch_ms(), x.packets_received.get()?)));
            spans(counted, &mut out.received, &mut out.edges, &mut steps);
        }
        steps.sort_by(f64::total_cmp);
        out.step_ms = steps.get(steps.len() / 2).copied().unwrap_or(1000.0);
        out
    }

    /// Packets sent (or received) over `[a, b]`, sharing each stats interval out evenly over
    /// its length; `None` unless the counters cover the window without a gap and no stream
    /// starts or stops near it.
    fn between(&self, sent: bool, a: f64, b: f64) -> Option<f64> {
        let spans = if sent { &self.sent } else { &self.received };
        let near = self.step_ms * 1.5;
        if self.edges.iter().any(|&e| e > a - near && e < b + near) {
            return None;
        }
        // The window must be covered end to end.
        let mut inside: Vec<(f64, f64)> =
            spans.iter().filter(|s| s.end > a && s.start < b).map(|s| (s.start, s.end)).collect();
        inside.sort_by(|x, y| x.0.total_cmp(&y.0));
        let mut reach = a;
        for (s, e) in inside {
            if s > reach {
                return None;
            }
            reach = reach.max(e);
        }
        if reach < b {
            return None;
        }
        let total = spans
            .iter()
            .filter(|s| s.end > a && s.start < b)
            .map(|s| s.packets * (s.end.min(b) - s.start.max(a)) / (s.end - s.start))
            .sum();
        Some(total)
    }
}

/// One stream's cumulative counter `(epoch ms, count)` as spans; its first and last sample
/// go to `edges`, each interval's length to `steps`.
fn spans(
    counted: impl Iterator<Item = (f64, f64)>,
    out: &mut Vec<Span>,
    edges: &mut Vec<f64>,
    steps: &mut Vec<f64>,
) {
    let mut last: Option<(f64, f64)> = None;
    let mut first = None;
    for (b, n1) in counted {
        first.get_or_insert(b);
        if let Some((a, n0)) = last
            && b > a
            && n1 >= n0
        {
            steps.push(b - a);
            out.push(Span { start: a, end: b, packets: n1 - n0 });
        }
        last = Some((b, n1));
    }
    edges.extend(first.into_iter().chain(last.map(|l| l.0)));
}

/// One stretch of a relayed path, measured by comparing the relay's count with an
/// endpoint's: `(start, end, loss percent, packets it rests on)` per relay interval.
pub(super) type Leg = Vec<(Timestamp, Timestamp, f64, f64)>;

/// Which way along a relayed path a leg runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Side {
    /// The client's packets on their way into the relay.
    ClientUp,
    /// The relay's packets on their way to the client.
    ClientDown,
    /// The relay's packets on their way to the peer (peer to peer).
    PeerDown,
    /// The peer's packets on their way into the relay.
    PeerUp,
}

/// The four legs of an allocation: its client's two and, when the far end of a
/// peer-to-peer connection is in the data, the peer's two. `shift_ms` moves the relay's
/// clock onto the endpoints'; `skip` says when the path was down (an outage is a
/// connectivity fault, not loss).
pub(super) fn legs(
    allocation: &TurnAllocation,
    shift_ms: f64,
    client: &PcCounts,
    peer: Option<&PcCounts>,
    skip: impl Fn(Timestamp, Timestamp) -> bool,
) -> Vec<(Side, Leg)> {
    let mut out: Vec<(Side, Leg)> = [Side::ClientUp, Side::ClientDown, Side::PeerDown, Side::PeerUp]
        .into_iter()
        .filter(|s| peer.is_some() || matches!(s, Side::ClientUp | Side::ClientDown))
        .map(|s| (s, Vec::new()))
        .collect();
    for iv in turn_intervals(allocation).iter().filter(|i| !i.reset && i.active) {
        let (start, end) = (iv.start.plus_ms(shift_ms), iv.end.plus_ms(shift_ms));
        if skip(start, end) {
            continue;
        }
        let (a, b) = (start.epoch_ms(), end.epoch_ms());
        for (side, leg) in &mut out {
            // (what went in, what came out) of the stretch.
            let counts = match side {
                Side::ClientUp => client.between(true, a, b).zip(iv.packets_from_client),
                Side::ClientDown => iv.packets_to_client.zip(client.between(false, a, b)),
                Side::PeerDown => iv.packets_to_peers.zip(peer.and_then(|p| p.between(false, a, b))),
                Side::PeerUp => peer.and_then(|p| p.between(true, a, b)).zip(iv.packets_from_peers),
            };
            let Some((went_in, came_out)) = counts else { continue };
            if went_in <= 0.0 {
                continue;
            }
            let lost = ((went_in - came_out) / went_in).clamp(0.0, 1.0);
            leg.push((start, end, lost * 100.0, went_in));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use hopscope_model::Reading;
    use hopscope_model::middlebox::TurnAllocationSample;
    use hopscope_model::stats::{InboundRtpSample, OutboundRtpSample, Stream};

    fn t(s: f64) -> Timestamp {
        Timestamp::from_epoch_ms(1_700_000_000_000.0 + s * 1000.0).unwrap_or_else(|| unreachable!())
    }

    /// A connection sending 100 packets a second and receiving 50, sampled every second
    /// half a second off the relay's clock.
    fn pc(seconds: usize) -> PeerConnection {
        let mut pc = PeerConnection::default();
        let out = (0..=seconds)
            .map(|i| OutboundRtpSample {
                at: t(i as f64 + 0.5),
                packets_sent: Reading::some(100.0 * (i as f64 + 0.5)),
                ..OutboundRtpSample::default()
            })
            .collect();
        let inb = (0..=seconds)
            .map(|i| InboundRtpSample {
                at: t(i as f64 + 0.5),
                packets_received: Reading::some(50.0 * (i as f64 + 0.5)),
                ..InboundRtpSample::default()
            })
            .collect();
        pc.outbound.push(Stream { samples: out, ..Stream::default() });
        pc.inbound.push(Stream { samples: inb, ..Stream::default() });
        pc
    }

    #[test]
    fn counts_are_shared_out_over_misaligned_windows() {
        let c = PcCounts::of(&pc(10));
        let a = t(2.0).epoch_ms();
        let b = t(3.0).epoch_ms();
        assert!((c.between(true, a, b).unwrap_or(0.0) - 100.0).abs() < 1e-6);
        assert!((c.between(false, a, b).unwrap_or(0.0) - 50.0).abs() < 1e-6);
        // Outside the counters' reach: nothing.
        assert_eq!(c.between(true, t(20.0).epoch_ms(), t(21.0).epoch_ms()), None);
    }

    #[test]
    fn shortfalls_land_on_the_side_that_lost_them() {
        let client = PcCounts::of(&pc(10));
        // The relay got 90 of every 100 the client sent, and handed it all 50 of its 50.
        let allocation = TurnAllocation {
            samples: (2..=8)
                .map(|i| TurnAllocationSample {
                    at: t(i as f64),
                    packets_from_client: Some(90.0 * i as f64),
                    packets_to_peers: Some(90.0 * i as f64),
                    packets_from_peers: Some(50.0 * i as f64),
                    packets_to_client: Some(50.0 * i as f64),
                    ..TurnAllocationSample::default()
                })
                .collect(),
            ..TurnAllocation::default()
        };
        let legs = legs(&allocation, 0.0, &client, None, |_, _| false);
        let up = &legs.iter().find(|(s, _)| *s == Side::ClientUp).unwrap_or_else(|| unreachable!()).1;
        let down = &legs.iter().find(|(s, _)| *s == Side::ClientDown).unwrap_or_else(|| unreachable!()).1;
        assert!(!up.is_empty() && up.iter().all(|w| (w.2 - 10.0).abs() < 1e-6), "{up:?}");
        assert!(!down.is_empty() && down.iter().all(|w| w.2.abs() < 1e-6), "{down:?}");
    }
}
