//! Interval metrics of middlebox observations, by the same rules as the endpoint ones
//! ([`crate::intervals`]): a counter that goes backwards is a reset (never negative
//! traffic), repeated timestamps never divide, long gaps are not bridged, and an interval
//! without packets is inactive with no rates.
//!
//! Per SFU client transport this gives what the attribution stage splits a path with:
//! upstream loss and jitter (client → server, measured by the server), downstream loss
//! (server → client, from the client's receiver reports) and the server's RTT to the client;
//! per TURN allocation, the loss inside the relay each way.

use std::collections::BTreeMap;

use super::{
    MiddleboxClient, SfuInboundSample, SfuInboundStream, SfuOutboundSample, SfuOutboundStream,
    TurnAllocation, TurnAllocationSample,
};
use crate::intervals::{increase, ratio, steps, went_backwards};
use crate::time::Timestamp;

/// Lost over a pair of samples, clamped: `packetsLost` dips when late packets arrive.
fn lost_increase(prev: Option<f64>, cur: Option<f64>) -> Option<f64> {
    Some((cur? - prev?).max(0.0))
}

/// What the server received from a client between two samples of one inbound stream.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SfuInboundInterval {
    /// Start of the interval.
    pub start: Timestamp,
    /// End of the interval.
    pub end: Timestamp,
    /// Packets arrived in the interval.
    pub active: bool,
    /// A counter went backwards: the stream was reset; rates are not computed.
    pub reset: bool,
    /// Packets received in the interval.
    pub packets_received: Option<f64>,
    /// Packets lost in the interval (never negative).
    pub packets_lost: Option<f64>,
    /// Lost / (lost + received), 0..1.
    pub loss_fraction: Option<f64>,
    /// Interarrival jitter at the end of the interval, milliseconds.
    pub jitter_ms: Option<f64>,
    /// Bitrate received, bits per second.
    pub bitrate_bps: Option<f64>,
    /// NACKs the server sent in the interval.
    pub nacks: Option<f64>,
    /// PLIs the server sent in the interval.
    pub plis: Option<f64>,
}

/// Interval metrics of what an SFU receives on one stream.
pub fn sfu_inbound_intervals(stream: &SfuInboundStream) -> Vec<SfuInboundInterval> {
    steps(&stream.samples, |s| s.at).map(|(p, c, dt)| inbound_interval(p, c, dt)).collect()
}

fn inbound_interval(p: &SfuInboundSample, c: &SfuInboundSample, dt: f64) -> SfuInboundInterval {
    let reset = went_backwards(p.packets_received, c.packets_received)
        || went_backwards(p.bytes_received, c.bytes_received);
    let mut iv = SfuInboundInterval {
        start: p.at,
        end: c.at,
        reset,
        jitter_ms: c.jitter_s.map(|j| j * 1000.0),
        ..SfuInboundInterval::default()
    };
    if reset {
        return iv;
    }
    let received = increase(p.packets_received, c.packets_received);
    let bytes = increase(p.bytes_received, c.bytes_received);
    iv.packets_received = received;
    iv.active = match received {
        Some(n) => n > 0.0,
        None => bytes.is_some_and(|b| b > 0.0),
    };
    if !iv.active {
        return iv;
    }
    let lost = lost_increase(p.packets_lost, c.packets_lost);
    iv.packets_lost = lost;
    iv.loss_fraction = match (lost, received) {
        (Some(l), Some(r)) if l + r > 0.0 => Some(l / (l + r)),
        _ => None,
    };
    iv.bitrate_bps = bytes.map(|b| b * 8.0 / dt);
    iv.nacks = increase(p.nack_count, c.nack_count);
    iv.plis = increase(p.pli_count, c.pli_count);
    iv
}

/// What the server sent to a client, and what the client reported, between two samples of
/// one outbound stream.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SfuOutboundInterval {
    /// Start of the interval.
    pub start: Timestamp,
    /// End of the interval.
    pub end: Timestamp,
    /// Packets left (or were reported) in the interval.
    pub active: bool,
    /// A counter went backwards: the stream was reset; rates are not computed.
    pub reset: bool,
    /// Packets sent in the interval.
    pub packets_sent: Option<f64>,
    /// Packets the client reported lost in the interval (never negative).
    pub packets_lost: Option<f64>,
    /// Loss the client reported: from counters (lost over lost + received when the server
    /// has the received count, else over sent), else the last report's fraction. RRs lag
    /// the send counter by up to one report interval, so single intervals are approximate.
    pub loss_fraction: Option<f64>,
    /// RTT from the receiver reports at the end of the interval, milliseconds.
    pub rtt_ms: Option<f64>,
    /// Bitrate sent, bits per second.
    pub bitrate_bps: Option<f64>,
    /// NACKs the client sent in the interval.
    pub nacks: Option<f64>,
    /// PLIs the client sent in the interval.
    pub plis: Option<f64>,
    /// Packets the loss fraction is over, to weigh streams when adding them up.
    volume: Option<f64>,
}

/// Interval metrics of what an SFU sends on one stream.
pub fn sfu_outbound_intervals(stream: &SfuOutboundStream) -> Vec<SfuOutboundInterval> {
    steps(&stream.samples, |s| s.at).map(|(p, c, dt)| outbound_interval(p, c, dt)).collect()
}

fn outbound_interval(p: &SfuOutboundSample, c: &SfuOutboundSample, dt: f64) -> SfuOutboundInterval {
    let reset = went_backwards(p.packets_sent, c.packets_sent)
        || went_backwards(p.bytes_sent, c.bytes_sent)
        || went_backwards(p.packets_received, c.packets_received);
    let mut iv = SfuOutboundInterval {
        start: p.at,
        end: c.at,
        reset,
        rtt_ms: c.rtt_s.map(|s| s * 1000.0),
        ..SfuOutboundInterval::default()
    };
    if reset {
        return iv;
    }
    let sent = increase(p.packets_sent, c.packets_sent);
    let bytes = increase(p.bytes_sent, c.bytes_sent);
    let lost = lost_increase(p.packets_lost, c.packets_lost);
    let received = increase(p.packets_received, c.packets_received);
    iv.packets_sent = sent;
    iv.active = match (sent, received) {
        (Some(n), _) => n > 0.0,
        (None, Some(r)) => r + lost.unwrap_or(0.0) > 0.0,
        (None, None) => bytes.is_some_and(|b| b > 0.0),
    };
    if !iv.active {
        return iv;
    }
    iv.packets_lost = lost;
    let counted = match (lost, received, sent) {
        (Some(l), Some(r), _) if l + r > 0.0 => Some((l / (l + r), l + r)),
        (Some(l), None, Some(s)) if s > 0.0 => Some(((l / s).min(1.0), s)),
        _ => None,
    };
    iv.loss_fraction = counted.map(|(f, _)| f).or(c.fraction_lost.map(|f| f.clamp(0.0, 1.0)));
    iv.volume = counted.map(|(_, v)| v).or(sent);
    iv.bitrate_bps = bytes.map(|b| b * 8.0 / dt);
    iv.nacks = increase(p.nack_count, c.nack_count);
    iv.plis = increase(p.pli_count, c.pli_count);
    iv
}

/// One SFU client transport between two observations: its streams added up each way.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SfuClientInterval {
    /// Start of the interval.
    pub start: Timestamp,
    /// End of the interval.
    pub end: Timestamp,
    /// Some stream was reset in the interval; its counts are left out.
    pub reset: bool,
    /// Packets arrived from the client.
    pub upstream_active: bool,
    /// Packets the server received from the client.
    pub upstream_packets_received: Option<f64>,
    /// Packets lost between the client and the server.
    pub upstream_packets_lost: Option<f64>,
    /// Upstream loss, 0..1, over all streams from the client.
    pub upstream_loss_fraction: Option<f64>,
    /// The worst stream's jitter at the server at the end, milliseconds.
    pub upstream_jitter_ms: Option<f64>,
    /// Bitrate received from the client, bits per second.
    pub upstream_bitrate_bps: Option<f64>,
    /// Packets left for the client.
    pub downstream_active: bool,
    /// Packets the server sent to the client.
    pub downstream_packets_sent: Option<f64>,
    /// Packets the client reported lost.
    pub downstream_packets_lost: Option<f64>,
    /// Downstream loss the client reported, 0..1, weighted by each stream's packets.
    pub downstream_loss_fraction: Option<f64>,
    /// Bitrate sent to the client, bits per second.
    pub downstream_bitrate_bps: Option<f64>,
    /// The server's RTT to the client at the end (its transport figure, else the mean of
    /// the receiver reports'), milliseconds.
    pub rtt_ms: Option<f64>,
}

impl SfuClientInterval {
    /// Duration in seconds.
    pub fn duration_s(&self) -> f64 {
        self.end.seconds_since(self.start)
    }
}

fn add(acc: &mut Option<f64>, v: Option<f64>) {
    if let Some(v) = v {
        *acc = Some(acc.unwrap_or(0.0) + v);
    }
}

/// Samples of a stream by time, for looking up the two ends of a client interval.
fn by_time<S>(samples: &[S], at: impl Fn(&S) -> Timestamp) -> BTreeMap<Timestamp, &S> {
    samples.iter().map(|s| (at(s), s)).collect()
}

/// Interval metrics of an SFU client transport: every time the server reported on it, its
/// streams added up (a stream missing at either end of an interval is left out of it).
pub fn sfu_client_intervals(client: &MiddleboxClient) -> Vec<SfuClientInterval> {
    let mut times: Vec<Timestamp> = client
        .samples
        .iter()
        .map(|s| s.at)
        .chain(client.inbound.iter().flat_map(|s| s.samples.iter().map(|x| x.at)))
        .chain(client.outbound.iter().flat_map(|s| s.samples.iter().map(|x| x.at)))
        .collect();
    times.sort();
    times.dedup();
    let inbound: Vec<_> = client.inbound.iter().map(|s| by_time(&s.samples, |x| x.at)).collect();
    let outbound: Vec<_> = client.outbound.iter().map(|s| by_time(&s.samples, |x| x.at)).collect();
    let transport = by_time(&client.samples, |x| x.at);
    steps(&times, |t| *t)
        .map(|(&start, &end, dt)| {
            let mut iv = SfuClientInterval { start, end, ..SfuClientInterval::default() };
            let (mut up_bytes, mut down_bytes) = (None, None);
            let mut weighted_loss: Option<(f64, f64)> = None;
            for s in &inbound {
                let (Some(p), Some(c)) = (s.get(&start), s.get(&end)) else { continue };
                let one = inbound_interval(p, c, dt);
                iv.reset |= one.reset;
                if !one.active {
                    continue;
                }
                iv.upstream_active = true;
                add(&mut iv.upstream_packets_received, one.packets_received);
                add(&mut iv.upstream_packets_lost, one.packets_lost);
                add(&mut up_bytes, increase(p.bytes_received, c.bytes_received));
                if let Some(j) = one.jitter_ms {
                    iv.upstream_jitter_ms = Some(iv.upstream_jitter_ms.map_or(j, |m: f64| m.max(j)));
                }
            }
            for s in &outbound {
                let (Some(p), Some(c)) = (s.get(&start), s.get(&end)) else { continue };
                let one = outbound_interval(p, c, dt);
                iv.reset |= one.reset;
                if !one.active {
                    continue;
                }
                iv.downstream_active = true;
                add(&mut iv.downstream_packets_sent, one.packets_sent);
                add(&mut iv.downstream_packets_lost, one.packets_lost);
                add(&mut down_bytes, increase(p.bytes_sent, c.bytes_sent));
                if let (Some(f), Some(v)) = (one.loss_fraction, one.volume) {
                    let (sf, sv) = weighted_loss.unwrap_or((0.0, 0.0));
                    weighted_loss = Some((sf + f * v, sv + v));
                }
            }
            if iv.upstream_active {
                iv.upstream_loss_fraction = match (iv.upstream_packets_lost, iv.upstream_packets_received) {
                    (Some(l), Some(r)) if l + r > 0.0 => Some(l / (l + r)),
                    _ => None,
                };
                iv.upstream_bitrate_bps = up_bytes.map(|b| b * 8.0 / dt);
            } else {
                iv.upstream_jitter_ms = None;
            }
            if iv.downstream_active {
                iv.downstream_loss_fraction = weighted_loss.and_then(|(f, v)| ratio(Some(f), Some(v)));
                iv.downstream_bitrate_bps = down_bytes.map(|b| b * 8.0 / dt);
            }
            let rr_rtts: Vec<f64> =
                outbound.iter().filter_map(|s| s.get(&end)).filter_map(|s| s.rtt_s).collect();
            let rr_mean = (!rr_rtts.is_empty()).then(|| rr_rtts.iter().sum::<f64>() / rr_rtts.len() as f64);
            iv.rtt_ms = transport.get(&end).and_then(|s| s.rtt_s).or(rr_mean).map(|s| s * 1000.0);
            iv
        })
        .collect()
}

/// One TURN allocation between two samples.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TurnInterval {
    /// Start of the interval.
    pub start: Timestamp,
    /// End of the interval.
    pub end: Timestamp,
    /// Packets moved either way.
    pub active: bool,
    /// A counter went backwards (a new allocation under the same id); nothing is computed.
    pub reset: bool,
    /// Packets received from the client.
    pub packets_from_client: Option<f64>,
    /// Packets relayed to the peers.
    pub packets_to_peers: Option<f64>,
    /// Packets received from the peers.
    pub packets_from_peers: Option<f64>,
    /// Packets sent to the client.
    pub packets_to_client: Option<f64>,
    /// Share of the client's packets the relay did not pass on to the peers, 0..1.
    pub client_to_peers_loss_fraction: Option<f64>,
    /// Share of the peers' packets the relay did not pass on to the client, 0..1.
    pub peers_to_client_loss_fraction: Option<f64>,
    /// Bitrate from the client, bits per second.
    pub from_client_bitrate_bps: Option<f64>,
    /// Bitrate to the client, bits per second.
    pub to_client_bitrate_bps: Option<f64>,
}

/// Interval metrics of a TURN allocation: traffic each way and loss inside the relay.
/// Packets in flight when the relay took its snapshot make single intervals noisy (a
/// relay's counters are not read atomically); shortfalls are clamped at zero.
pub fn turn_intervals(allocation: &TurnAllocation) -> Vec<TurnInterval> {
    steps(&allocation.samples, |s| s.at).map(|(p, c, dt)| turn_interval(p, c, dt)).collect()
}

fn turn_interval(p: &TurnAllocationSample, c: &TurnAllocationSample, dt: f64) -> TurnInterval {
    type Field = fn(&TurnAllocationSample) -> Option<f64>;
    let fields: [Field; 6] = [
        |s| s.packets_from_client,
        |s| s.packets_to_client,
        |s| s.bytes_from_client,
        |s| s.bytes_to_client,
        |s| s.packets_to_peers,
        |s| s.packets_from_peers,
    ];
    let reset = fields.iter().any(|f| went_backwards(f(p), f(c)));
    let mut iv = TurnInterval { start: p.at, end: c.at, reset, ..TurnInterval::default() };
    if reset {
        return iv;
    }
    iv.packets_from_client = increase(p.packets_from_client, c.packets_from_client);
    iv.packets_to_peers = increase(p.packets_to_peers, c.packets_to_peers);
    iv.packets_from_peers = increase(p.packets_from_peers, c.packets_from_peers);
    iv.packets_to_client = increase(p.packets_to_client, c.packets_to_client);
    let bytes_from = increase(p.bytes_from_client, c.bytes_from_client);
    let bytes_to = increase(p.bytes_to_client, c.bytes_to_client);
    iv.active = [iv.packets_from_client, iv.packets_to_peers, iv.packets_from_peers, iv.packets_to_client]
        .iter()
        .any(|n| n.is_some_and(|n| n > 0.0))
        || bytes_from.is_some_and(|b| b > 0.0)
        || bytes_to.is_some_and(|b| b > 0.0);
    if !iv.active {
        return iv;
    }
    let shortfall = |input: Option<f64>, output: Option<f64>| -> Option<f64> {
        let input = input.filter(|n| *n > 0.0)?;
        Some(((input - output?) / input).clamp(0.0, 1.0))
    };
    iv.client_to_peers_loss_fraction = shortfall(iv.packets_from_client, iv.packets_to_peers);
    iv.peers_to_client_loss_fraction = shortfall(iv.packets_from_peers, iv.packets_to_client);
    iv.from_client_bitrate_bps = bytes_from.map(|b| b * 8.0 / dt);
    iv.to_client_bitrate_bps = bytes_to.map(|b| b * 8.0 / dt);
    iv
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::middlebox::MiddleboxClientSample;

    fn t(s: f64) -> Timestamp {
        Timestamp::from_epoch_ms(1_700_000_000_000.0 + s * 1000.0).expect("finite")
    }

    fn up(at: f64, received: f64, lost: f64, jitter_s: f64) -> SfuInboundSample {
        SfuInboundSample {
            at: t(at),
            packets_received: Some(received),
            packets_lost: Some(lost),
            jitter_s: Some(jitter_s),
            bytes_received: Some(received * 1000.0),
            ..SfuInboundSample::default()
        }
    }

    fn down(at: f64, sent: f64, lost: f64, fraction: f64, rtt_s: f64) -> SfuOutboundSample {
        SfuOutboundSample {
            at: t(at),
            packets_sent: Some(sent),
            bytes_sent: Some(sent * 1000.0),
            packets_lost: Some(lost),
            fraction_lost: Some(fraction),
            rtt_s: Some(rtt_s),
            ..SfuOutboundSample::default()
        }
    }

    fn client(inbound: Vec<Vec<SfuInboundSample>>, outbound: Vec<Vec<SfuOutboundSample>>) -> MiddleboxClient {
        let mut times: Vec<Timestamp> = inbound.iter().flat_map(|s| s.iter().map(|x| x.at)).collect();
        times.sort();
        times.dedup();
        MiddleboxClient {
            id: "t-1".into(),
            samples: times
                .into_iter()
                .map(|at| MiddleboxClientSample { at, rtt_s: Some(0.04), ..MiddleboxClientSample::default() })
                .collect(),
            inbound: inbound
                .into_iter()
                .enumerate()
                .map(|(i, samples)| SfuInboundStream { ssrc: Some(i as u32 + 1), kind: None, samples })
                .collect(),
            outbound: outbound
                .into_iter()
                .enumerate()
                .map(|(i, samples)| SfuOutboundStream {
                    ssrc: Some(100 + i as u32),
                    kind: None,
                    sender: None,
                    samples,
                })
                .collect(),
            ..MiddleboxClient::default()
        }
    }

    #[test]
    fn upstream_loss_adds_streams_up_and_jitter_is_the_worst() {
        // Audio 50 pkt/s, video 200 pkt/s, both losing 8 %.
        let audio = vec![up(0.0, 0.0, 0.0, 0.002), up(1.0, 46.0, 4.0, 0.003)];
        let video = vec![up(0.0, 0.0, 0.0, 0.004), up(1.0, 184.0, 16.0, 0.009)];
        let iv = sfu_client_intervals(&client(vec![audio, video], vec![]));
        assert_eq!(iv.len(), 1);
        assert_eq!(iv[0].upstream_packets_received, Some(230.0));
        assert_eq!(iv[0].upstream_packets_lost, Some(20.0));
        assert_eq!(iv[0].upstream_loss_fraction, Some(0.08));
        assert_eq!(iv[0].upstream_jitter_ms, Some(9.0));
        assert_eq!(iv[0].upstream_bitrate_bps, Some(230.0 * 8000.0));
        assert_eq!(iv[0].rtt_ms, Some(40.0));
        assert!(!iv[0].downstream_active);
        assert_eq!(iv[0].downstream_loss_fraction, None);
    }

    #[test]
    fn a_reset_stream_is_left_out_not_negative() {
        let a = vec![up(0.0, 5000.0, 10.0, 0.0), up(1.0, 40.0, 0.0, 0.0), up(2.0, 90.0, 1.0, 0.0)];
        let iv = sfu_inbound_intervals(&SfuInboundStream { ssrc: Some(1), kind: None, samples: a.clone() });
        assert!(iv[0].reset && iv[0].loss_fraction.is_none());
        assert_eq!(iv[1].loss_fraction, Some(1.0 / 51.0));
        let c = sfu_client_intervals(&client(vec![a], vec![]));
        assert!(c[0].reset && !c[0].upstream_active && c[0].upstream_loss_fraction.is_none());
        assert_eq!(c[1].upstream_packets_lost, Some(1.0));
    }

    #[test]
    fn repeated_timestamps_and_gaps() {
        let a = vec![
            up(0.0, 0.0, 0.0, 0.0),
            up(0.0, 0.0, 0.0, 0.0),
            up(1.0, 100.0, 0.0, 0.0),
            up(2.0, 200.0, 0.0, 0.0),
            up(60.0, 300.0, 50.0, 0.0),
            up(61.0, 400.0, 50.0, 0.0),
        ];
        let iv = sfu_inbound_intervals(&SfuInboundStream { ssrc: Some(1), kind: None, samples: a.clone() });
        assert_eq!(iv.len(), 3, "dt = 0 skipped, the 58 s gap not bridged");
        assert!(iv.iter().all(|i| i.loss_fraction == Some(0.0)));
        let c = sfu_client_intervals(&client(vec![a], vec![]));
        assert_eq!(c.len(), 3);
    }

    #[test]
    fn downstream_loss_from_counters_else_fraction_weighted_by_packets() {
        // Stream A: 10 of 200 lost by counters (5 %); stream B: no lost counter, RR says 25 %.
        let a = vec![down(0.0, 0.0, 0.0, 0.0, 0.05), down(1.0, 200.0, 10.0, 0.9, 0.05)];
        let mut b = vec![down(0.0, 0.0, 0.0, 0.0, 0.07), down(1.0, 50.0, 0.0, 0.25, 0.07)];
        for s in &mut b {
            s.packets_lost = None;
        }
        let o =
            sfu_outbound_intervals(&SfuOutboundStream { samples: a.clone(), ..SfuOutboundStream::default() });
        assert_eq!(o[0].loss_fraction, Some(0.05));
        let mut c = client(vec![], vec![a, b]);
        c.samples = vec![
            MiddleboxClientSample { at: t(0.0), ..MiddleboxClientSample::default() },
            MiddleboxClientSample { at: t(1.0), ..MiddleboxClientSample::default() },
        ];
        let iv = sfu_client_intervals(&c);
        assert_eq!(iv.len(), 1);
        assert_eq!(iv[0].downstream_packets_sent, Some(250.0));
        let expected = (0.05 * 200.0 + 0.25 * 50.0) / 250.0;
        assert!((iv[0].downstream_loss_fraction.unwrap_or(0.0) - expected).abs() < 1e-12);
        // No transport RTT: the mean of the receiver reports'.
        assert!((iv[0].rtt_ms.unwrap_or(0.0) - 60.0).abs() < 1e-9);
    }

    #[test]
    fn totals_only_streams_use_reported_received() {
        // A server that knows what the client received (from the RRs' highest sequence).
        let s = |at: f64, received: f64, lost: f64| SfuOutboundSample {
            at: t(at),
            packets_received: Some(received),
            packets_lost: Some(lost),
            ..SfuOutboundSample::default()
        };
        let o = sfu_outbound_intervals(&SfuOutboundStream {
            samples: vec![s(0.0, 100.0, 0.0), s(2.0, 290.0, 10.0)],
            ..SfuOutboundStream::default()
        });
        assert!(o[0].active);
        assert_eq!(o[0].loss_fraction, Some(0.05));
    }

    #[test]
    fn turn_relay_loss_each_way() {
        let s = |at: f64, from_client: f64, to_peers: f64, from_peers: f64, to_client: f64| {
            TurnAllocationSample {
                at: t(at),
                packets_from_client: Some(from_client),
                packets_to_peers: Some(to_peers),
                packets_from_peers: Some(from_peers),
                packets_to_client: Some(to_client),
                bytes_from_client: Some(from_client * 100.0),
                bytes_to_client: Some(to_client * 100.0),
            }
        };
        let a = TurnAllocation {
            samples: vec![
                s(0.0, 0.0, 0.0, 0.0, 0.0),
                s(1.0, 100.0, 98.0, 200.0, 200.0),
                s(1.0, 100.0, 98.0, 200.0, 200.0),
                s(2.0, 10.0, 9.0, 5.0, 5.0),
            ],
            ..TurnAllocation::default()
        };
        let iv = turn_intervals(&a);
        assert_eq!(iv.len(), 2);
        assert_eq!(iv[0].client_to_peers_loss_fraction, Some(0.02));
        assert_eq!(iv[0].peers_to_client_loss_fraction, Some(0.0));
        assert_eq!(iv[0].from_client_bitrate_bps, Some(80_000.0));
        assert!(iv[1].reset && iv[1].client_to_peers_loss_fraction.is_none());
    }
}
