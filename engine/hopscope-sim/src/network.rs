//! What a link does to packets: bursty loss, and a bottleneck queue that delays and drops
//! when more is offered than it carries.

use fastrand::Rng;

/// Packet loss with bursts: a two-state Gilbert model. In the bad state every packet is
/// lost; the chance of leaving it sets the mean burst length, the chance of entering it is
/// chosen so the long-run loss equals the configured rate.
#[derive(Clone, Debug, Default)]
pub(crate) struct LossChain {
    bad: bool,
}

impl LossChain {
    /// Whether the next packet is lost, at loss rate `p` (0..1) and mean burst `burst`
    /// packets (1 = independent losses).
    pub fn lost(&mut self, rng: &mut Rng, p: f64, burst: f64) -> bool {
        if p <= 0.0 {
            self.bad = false;
            return false;
        }
        if p >= 1.0 {
            return true;
        }
        if burst <= 1.0 {
            return rng.f64() < p;
        }
        let leave = 1.0 / burst;
        let enter = (p * leave / (1.0 - p)).min(1.0);
        self.bad = if self.bad { rng.f64() >= leave } else { rng.f64() < enter };
        self.bad
    }
}

/// Most a bottleneck buffers before dropping (a typical router or `tc tbf latency`).
const MAX_QUEUE_S: f64 = 0.25;

/// A capacity-limited link direction: queues what exceeds its rate, drops what exceeds
/// its buffer.
#[derive(Clone, Debug, Default)]
pub(crate) struct Bottleneck {
    backlog_bits: f64,
}

/// What a bottleneck did over one interval.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct QueueTick {
    /// Mean queueing delay over the interval, seconds.
    pub delay: f64,
    /// How much the queueing delay grew over the interval, seconds (negative: drained).
    pub growth: f64,
    /// Share of the offered packets dropped, 0..1.
    pub drop: f64,
    /// More was offered than the link carries.
    pub overused: bool,
}

impl Bottleneck {
    /// Offers `offered_bps` for `dt` seconds to a link of `capacity_bps` (`None`: no limit).
    pub fn offer(&mut self, offered_bps: f64, capacity_bps: Option<f64>, dt: f64) -> QueueTick {
        let Some(cap) = capacity_bps.filter(|c| *c > 0.0) else {
            self.backlog_bits = 0.0;
            return QueueTick::default();
        };
        let before = self.backlog_bits / cap;
        let mut backlog = self.backlog_bits + (offered_bps - cap) * dt;
        let mut dropped = 0.0;
        let limit = MAX_QUEUE_S * cap;
        if backlog > limit {
            dropped = backlog - limit;
            backlog = limit;
        }
        self.backlog_bits = backlog.max(0.0);
        let after = self.backlog_bits / cap;
        let offered_bits = offered_bps * dt;
        QueueTick {
            delay: (before + after) / 2.0,
            growth: after - before,
            drop: if offered_bits > 0.0 { (dropped / offered_bits).min(1.0) } else { 0.0 },
            overused: offered_bps > cap,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured(p: f64, burst: f64) -> (f64, f64) {
        let mut rng = Rng::with_seed(7);
        let mut chain = LossChain::default();
        let (mut lost, mut bursts, mut prev) = (0u32, 0u32, false);
        let n = 200_000;
        for _ in 0..n {
            let l = chain.lost(&mut rng, p, burst);
            if l {
                lost += 1;
                if !prev {
                    bursts += 1;
                }
            }
            prev = l;
        }
        (f64::from(lost) / f64::from(n), f64::from(lost) / f64::from(bursts.max(1)))
    }

    #[test]
    fn loss_rate_and_burst_length_hold() {
        let (rate, _) = measured(0.08, 1.0);
        assert!((rate - 0.08).abs() < 0.003, "{rate}");
        let (rate, burst) = measured(0.08, 4.0);
        assert!((rate - 0.08).abs() < 0.005, "{rate}");
        assert!((burst - 4.0).abs() < 0.3, "{burst}");
    }

    #[test]
    fn bottleneck_queues_then_drops() {
        let mut b = Bottleneck::default();
        assert_eq!(b.offer(2e6, None, 1.0), QueueTick::default());
        // 1.2 Mbit/s into 1 Mbit/s: 0.2 s of queue after one second, then the buffer is full.
        let t = b.offer(1.2e6, Some(1e6), 1.0);
        assert!((t.delay - 0.1).abs() < 1e-9 && t.drop == 0.0 && t.overused);
        let t = b.offer(1.2e6, Some(1e6), 1.0);
        assert!(t.drop > 0.1 && t.drop < 0.2, "{t:?}");
        // Offered below capacity: the queue drains.
        let t = b.offer(0.5e6, Some(1e6), 1.0);
        assert!(t.growth < 0.0 && t.drop == 0.0 && !t.overused);
    }
}
