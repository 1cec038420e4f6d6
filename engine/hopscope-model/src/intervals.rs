//! Interval metrics: what happened between two consecutive samples of a stream.
//!
//! Browsers report cumulative counters; what people care about is per-interval loss,
//! bitrate, frame rate and so on. The rules, all taken from real dumps:
//! - a counter that goes backwards is a reset (a recycled receiver, a re-enabled simulcast
//!   layer), never negative traffic: that interval is marked `reset` and its rates are not
//!   computed (`packetsLost` is the exception: it legitimately decreases when late packets
//!   arrive, so it is clamped, not treated as a reset);
//! - samples with the same timestamp carry no new information (remote-* stats repeat their
//!   timestamp until the next RTCP report), so dt = 0 never divides;
//! - a gap much longer than the usual sampling interval (a stats object that vanished and
//!   came back, a throttled tab) is not one long interval: no metrics are computed across it;
//! - an interval without packets is `active: false` and its rates stay `None`, so inactive
//!   streams are never averaged in as zeros.

use crate::stats::{
    CandidatePairSample, InboundRtpSample, OutboundRtpSample, QualityLimitationReason, RemoteInboundRtpSample,
};
use crate::time::Timestamp;

/// Gaps longer than this many typical sampling intervals are not bridged.
const GAP_FACTOR: f64 = 3.0;
/// ... and never shorter than this, so jittery 1 s polling is not split needlessly.
const MIN_GAP_S: f64 = 5.0;

/// Increase of a cumulative counter; `None` when unknown or when the counter went
/// backwards (a reset).
pub(crate) fn increase(prev: impl Into<Option<f64>>, cur: impl Into<Option<f64>>) -> Option<f64> {
    let d = cur.into()? - prev.into()?;
    (d >= 0.0).then_some(d)
}

/// Whether a counter went backwards.
pub(crate) fn went_backwards(prev: impl Into<Option<f64>>, cur: impl Into<Option<f64>>) -> bool {
    matches!((prev.into(), cur.into()), (Some(p), Some(c)) if c < p)
}

/// Safe ratio: `None` when the denominator is not positive.
pub(crate) fn ratio(num: impl Into<Option<f64>>, den: impl Into<Option<f64>>) -> Option<f64> {
    let den = den.into()?;
    (den > 0.0).then(|| num.into().map(|n| n / den)).flatten()
}

/// The typical spacing of samples: the median positive step.
pub fn typical_interval_s(times: impl Iterator<Item = Timestamp>) -> Option<f64> {
    let mut times = times.peekable();
    let mut steps: Vec<f64> = Vec::with_capacity(times.size_hint().0);
    while let (Some(a), Some(&b)) = (times.next(), times.peek()) {
        let d = b.seconds_since(a);
        if d > 0.0 {
            steps.push(d);
        }
    }
    if steps.is_empty() {
        return None;
    }
    // The middle element as a full sort would place it, without sorting the rest.
    let middle = steps.len() / 2;
    Some(*steps.select_nth_unstable_by(middle, f64::total_cmp).1)
}

/// Pairs consecutive samples with a positive time step, skipping repeated timestamps and
/// refusing to bridge long gaps. Yields `(previous, current, dt_seconds)`.
pub(crate) fn steps<'a, S>(
    samples: &'a [S],
    at: impl Fn(&S) -> Timestamp + Copy + 'a,
) -> impl Iterator<Item = (&'a S, &'a S, f64)> + 'a {
    let typical = typical_interval_s(samples.iter().map(at)).unwrap_or(1.0);
    let max_step = (typical * GAP_FACTOR).max(MIN_GAP_S);
    let mut prev: Option<&'a S> = None;
    samples.iter().filter_map(move |cur| {
        let Some(p) = prev else {
            prev = Some(cur);
            return None;
        };
        let dt = at(cur).seconds_since(at(p));
        if dt <= 0.0 {
            // Same report time: nothing new happened; keep the earlier baseline.
            return None;
        }
        prev = Some(cur);
        (dt <= max_step).then_some((p, cur, dt))
    })
}

/// One interval per step of [`steps`], into a vector sized for them all at once (the
/// steps are a filtered iterator, which would otherwise grow the vector by doubling).
fn each_step<S, T>(
    samples: &[S],
    at: impl Fn(&S) -> Timestamp + Copy,
    mut interval: impl FnMut(&S, &S, f64) -> T,
) -> Vec<T> {
    let mut out = Vec::with_capacity(samples.len().saturating_sub(1));
    out.extend(steps(samples, at).map(|(p, c, dt)| interval(p, c, dt)));
    out
}

/// Total of a cumulative counter over a whole series, counting from zero (counters start
/// at zero when the stream starts, so what happened before the first sample counts too):
/// the sum of each segment's last value, where a segment ends when the counter resets.
pub fn cumulative_total(values: impl IntoIterator<Item = Option<f64>>) -> Option<f64> {
    let mut total = None;
    let mut segment_last: Option<f64> = None;
    for v in values.into_iter().flatten() {
        if let Some(last) = segment_last
            && v < last
        {
            total = Some(total.unwrap_or(0.0) + last);
        }
        segment_last = Some(v);
    }
    segment_last.map(|last| total.unwrap_or(0.0) + last)
}

/// Packets received and lost over a whole inbound stream, from its cumulative counters.
/// `packetsLost` is read at the end of each reset segment (it may dip within one when late
/// packets arrive; a negative value counts as zero).
pub fn inbound_totals(samples: &[InboundRtpSample]) -> (Option<f64>, Option<f64>) {
    let mut received = None;
    let mut lost = None;
    let mut seg: Option<(f64, Option<f64>)> = None;
    let close = |seg: Option<(f64, Option<f64>)>, received: &mut Option<f64>, lost: &mut Option<f64>| {
        if let Some((r, l)) = seg {
            *received = Some(received.unwrap_or(0.0) + r);
            if let Some(l) = l {
                *lost = Some(lost.unwrap_or(0.0) + l.max(0.0));
            }
        }
    };
    for s in samples {
        let Some(r) = s.packets_received.get() else { continue };
        if let Some((prev, _)) = seg
            && r < prev
        {
            close(seg.take(), &mut received, &mut lost);
        }
        seg = Some((r, s.packets_lost.get().or(seg.and_then(|(_, l)| l))));
    }
    close(seg, &mut received, &mut lost);
    (received, lost)
}

/// What a receiver saw between two `inbound-rtp` samples.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InboundInterval {
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
    /// Lost / (lost + received), 0..1. For video this is diluted by retransmissions.
    pub loss_fraction: Option<f64>,
    /// Loss among media packets only: retransmissions removed from the received count.
    pub media_loss_fraction: Option<f64>,
    /// Interarrival jitter at the end of the interval, milliseconds.
    pub jitter_ms: Option<f64>,
    /// Payload bitrate, bits per second.
    pub bitrate_bps: Option<f64>,
    /// Packets per second.
    pub packet_rate: Option<f64>,
    /// Decoded frames per second.
    pub fps: Option<f64>,
    /// Frame width at the end, pixels.
    pub frame_width: Option<f64>,
    /// Frame height at the end, pixels.
    pub frame_height: Option<f64>,
    /// Frames dropped in the interval.
    pub frames_dropped: Option<f64>,
    /// Frames received in the interval.
    pub frames_received: Option<f64>,
    /// Freezes that ended in the interval.
    pub freezes: Option<f64>,
    /// Seconds frozen in the interval.
    pub freeze_duration_s: Option<f64>,
    /// Pauses in the interval.
    pub pauses: Option<f64>,
    /// Seconds paused in the interval.
    pub pause_duration_s: Option<f64>,
    /// Audio samples received in the interval.
    pub samples_received: Option<f64>,
    /// Concealed samples in the interval, excluding concealment during silence.
    pub concealed_samples: Option<f64>,
    /// Concealed samples in the interval that were concealment during silence (DTX/CNG).
    pub silent_concealed_samples: Option<f64>,
    /// Concealed share of received audio samples (silent concealment excluded), 0..1.
    pub concealment_ratio: Option<f64>,
    /// Concealment events in the interval.
    pub concealment_events: Option<f64>,
    /// Mean jitter-buffer delay per emitted sample, milliseconds.
    pub jitter_buffer_delay_ms: Option<f64>,
    /// NACKs sent in the interval.
    pub nacks: Option<f64>,
    /// PLIs sent in the interval.
    pub plis: Option<f64>,
    /// Audio level at the end, 0..1.
    pub audio_level: Option<f64>,
    /// Mean played-out level over the interval, linear 0..1: √(Δenergy / Δduration).
    pub mean_audio_level: Option<f64>,
}

impl InboundInterval {
    /// Duration in seconds.
    pub fn duration_s(&self) -> f64 {
        self.end.seconds_since(self.start)
    }
}

/// Interval metrics of an `inbound-rtp` stream.
pub fn inbound_intervals(samples: &[InboundRtpSample]) -> Vec<InboundInterval> {
    each_step(samples, |s| s.at, inbound_interval)
}

fn inbound_interval(p: &InboundRtpSample, c: &InboundRtpSample, dt: f64) -> InboundInterval {
    let reset = went_backwards(p.packets_received, c.packets_received)
        || went_backwards(p.bytes_received, c.bytes_received)
        || went_backwards(p.frames_decoded, c.frames_decoded);
    let received = increase(p.packets_received, c.packets_received);
    let mut iv = InboundInterval {
        start: p.at,
        end: c.at,
        reset,
        packets_received: received,
        jitter_ms: c.jitter_s.map(|j| j * 1000.0),
        frame_width: c.frame_width.filter(|w| *w > 0.0),
        frame_height: c.frame_height.filter(|h| *h > 0.0),
        audio_level: c.audio_level.get(),
        ..InboundInterval::default()
    };
    if reset {
        return iv;
    }
    // Firefox ≤ 9x has no packetsReceived on some streams but a bitrate mean.
    let bytes = increase(p.bytes_received, c.bytes_received);
    iv.active = match received {
        Some(n) => n > 0.0,
        None => bytes.is_some_and(|b| b > 0.0),
    };
    if !iv.active {
        return iv;
    }
    // packetsLost may fall when late packets arrive: clamp instead of calling it a reset.
    let lost = match (p.packets_lost.get(), c.packets_lost.get()) {
        (Some(a), Some(b)) => Some((b - a).max(0.0)),
        _ => None,
    };
    iv.packets_lost = lost;
    iv.loss_fraction = match (lost, received) {
        (Some(l), Some(r)) if l + r > 0.0 => Some(l / (l + r)),
        _ => None,
    };
    let rtx = increase(p.retransmitted_packets_received, c.retransmitted_packets_received);
    iv.media_loss_fraction = match (lost, received, rtx) {
        (Some(l), Some(r), Some(x)) if l + (r - x).max(0.0) > 0.0 => Some(l / (l + (r - x).max(0.0))),
        _ => iv.loss_fraction,
    };
    iv.bitrate_bps = bytes.map(|b| b * 8.0 / dt).or(c.bitrate_mean_bps.get());
    iv.packet_rate = received.map(|n| n / dt);
    iv.fps = increase(p.frames_decoded, c.frames_decoded)
        .map(|f| f / dt)
        .or(c.frames_per_second.get())
        .or(c.framerate_mean.get());
    iv.frames_dropped = increase(p.frames_dropped, c.frames_dropped);
    iv.frames_received = increase(p.frames_received, c.frames_received);
    iv.freezes = increase(p.freeze_count, c.freeze_count);
    iv.freeze_duration_s = increase(p.total_freezes_duration_s, c.total_freezes_duration_s);
    iv.pauses = increase(p.pause_count, c.pause_count);
    iv.pause_duration_s = increase(p.total_pauses_duration_s, c.total_pauses_duration_s);
    iv.samples_received = increase(p.total_samples_received, c.total_samples_received);
    let concealed = increase(p.concealed_samples, c.concealed_samples);
    iv.silent_concealed_samples = increase(p.silent_concealed_samples, c.silent_concealed_samples);
    let silent = iv.silent_concealed_samples.unwrap_or(0.0);
    iv.concealed_samples = concealed.map(|n| (n - silent).max(0.0));
    iv.mean_audio_level = ratio(
        increase(p.total_audio_energy, c.total_audio_energy),
        increase(p.total_samples_duration_s, c.total_samples_duration_s),
    )
    .map(f64::sqrt);
    iv.concealment_ratio = ratio(iv.concealed_samples, iv.samples_received).map(|r| r.min(1.0));
    iv.concealment_events = increase(p.concealment_events, c.concealment_events);
    iv.jitter_buffer_delay_ms = ratio(
        increase(p.jitter_buffer_delay_s, c.jitter_buffer_delay_s),
        increase(p.jitter_buffer_emitted_count, c.jitter_buffer_emitted_count),
    )
    .map(|s| s * 1000.0)
    .or(c.current_delay_s.map(|s| s * 1000.0));
    iv.nacks = increase(p.nack_count, c.nack_count);
    iv.plis = increase(p.pli_count, c.pli_count);
    iv
}

/// What a sender did between two `outbound-rtp` samples.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OutboundInterval {
    /// Start of the interval.
    pub start: Timestamp,
    /// End of the interval.
    pub end: Timestamp,
    /// Packets left in the interval.
    pub active: bool,
    /// A counter went backwards (layer re-enabled, sender recycled).
    pub reset: bool,
    /// Payload bitrate, bits per second.
    pub bitrate_bps: Option<f64>,
    /// Packets per second.
    pub packet_rate: Option<f64>,
    /// Share of sent packets that were retransmissions, 0..1.
    pub retransmit_fraction: Option<f64>,
    /// Encoded frames per second.
    pub fps: Option<f64>,
    /// Encoded width at the end, pixels.
    pub frame_width: Option<f64>,
    /// Encoded height at the end, pixels.
    pub frame_height: Option<f64>,
    /// Encoder target bitrate at the end, bits per second.
    pub target_bitrate_bps: Option<f64>,
    /// Limitation reason at the end of the interval.
    pub quality_limitation: Option<QualityLimitationReason>,
    /// Share of the interval spent CPU-limited, 0..1.
    pub cpu_limited_share: Option<f64>,
    /// Share of the interval spent bandwidth-limited, 0..1.
    pub bandwidth_limited_share: Option<f64>,
    /// Mean encode time per frame, milliseconds.
    pub encode_ms_per_frame: Option<f64>,
    /// NACKs received in the interval.
    pub nacks: Option<f64>,
    /// PLIs received in the interval.
    pub plis: Option<f64>,
}

/// Interval metrics of an `outbound-rtp` stream.
pub fn outbound_intervals(samples: &[OutboundRtpSample]) -> Vec<OutboundInterval> {
    each_step(samples, |s| s.at, outbound_interval)
}

fn outbound_interval(p: &OutboundRtpSample, c: &OutboundRtpSample, dt: f64) -> OutboundInterval {
    let reset = went_backwards(p.packets_sent, c.packets_sent)
        || went_backwards(p.bytes_sent, c.bytes_sent)
        || went_backwards(p.frames_encoded, c.frames_encoded);
    let mut iv = OutboundInterval {
        start: p.at,
        end: c.at,
        reset,
        frame_width: c.frame_width.filter(|w| *w > 0.0),
        frame_height: c.frame_height.filter(|h| *h > 0.0),
        target_bitrate_bps: c.target_bitrate_bps.get(),
        quality_limitation: c.quality_limitation_reason,
        ..OutboundInterval::default()
    };
    if reset {
        return iv;
    }
    let packets = increase(p.packets_sent, c.packets_sent);
    let bytes = increase(p.bytes_sent, c.bytes_sent);
    iv.active = c.active != Some(false)
        && match packets {
            Some(n) => n > 0.0,
            None => bytes.is_some_and(|b| b > 0.0),
        };
    if !iv.active {
        return iv;
    }
    iv.bitrate_bps = bytes.map(|b| b * 8.0 / dt).or(c.bitrate_mean_bps.get());
    iv.packet_rate = packets.map(|n| n / dt);
    iv.retransmit_fraction =
        ratio(increase(p.retransmitted_packets_sent, c.retransmitted_packets_sent), packets);
    let frames = increase(p.frames_encoded, c.frames_encoded);
    // With spatial SVC (L2T3, L3T3_KEY) framesEncoded counts every layer's frame and the
    // number of active layers changes with bandwidth: the browser's own rate is the truth.
    let svc = c.spatial_layers().is_some_and(|n| n > 1);
    iv.fps = if svc {
        c.frames_per_second.get().or(frames.map(|f| f / dt))
    } else {
        frames.map(|f| f / dt).or(c.frames_per_second.get()).or(c.framerate_mean.get())
    };
    iv.encode_ms_per_frame =
        ratio(increase(p.total_encode_time_s, c.total_encode_time_s), frames).map(|s| s * 1000.0);
    if let (Some(a), Some(b)) = (p.quality_limitation_durations, c.quality_limitation_durations) {
        let cpu = (b.cpu_s - a.cpu_s).max(0.0);
        let bw = (b.bandwidth_s - a.bandwidth_s).max(0.0);
        let total = cpu + bw + (b.none_s - a.none_s).max(0.0) + (b.other_s - a.other_s).max(0.0);
        if total > 0.0 {
            iv.cpu_limited_share = Some(cpu / total);
            iv.bandwidth_limited_share = Some(bw / total);
        }
    }
    if iv.cpu_limited_share.is_none() {
        // Without durations (Safari, legacy), the reason at the end stands for the interval.
        match c.quality_limitation_reason {
            Some(QualityLimitationReason::Cpu) => {
                iv.cpu_limited_share = Some(1.0);
                iv.bandwidth_limited_share = Some(0.0);
            }
            Some(QualityLimitationReason::Bandwidth) => {
                iv.cpu_limited_share = Some(0.0);
                iv.bandwidth_limited_share = Some(1.0);
            }
            Some(QualityLimitationReason::None | QualityLimitationReason::Other) => {
                iv.cpu_limited_share = Some(0.0);
                iv.bandwidth_limited_share = Some(0.0);
            }
            None => {}
        }
    }
    iv.nacks = increase(p.nack_count, c.nack_count);
    iv.plis = increase(p.pli_count, c.pli_count);
    iv
}

/// What the far end reported (RTCP RR) about what we send, between two reports.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RemoteInboundInterval {
    /// Start of the interval.
    pub start: Timestamp,
    /// End of the interval.
    pub end: Timestamp,
    /// Packets the receiver reported lost in the interval.
    pub packets_lost: Option<f64>,
    /// Loss over the interval from counters (Firefox), else the last report's fractionLost.
    pub loss_fraction: Option<f64>,
    /// Round-trip time, milliseconds.
    pub rtt_ms: Option<f64>,
    /// Jitter at the receiver, milliseconds.
    pub jitter_ms: Option<f64>,
}

/// Interval metrics of a `remote-inbound-rtp` stream.
pub fn remote_inbound_intervals(samples: &[RemoteInboundRtpSample]) -> Vec<RemoteInboundInterval> {
    each_step(
        samples,
        |s| s.at,
        |p, c, _dt| {
            let lost = match (p.packets_lost.get(), c.packets_lost.get()) {
                (Some(a), Some(b)) => Some((b - a).max(0.0)),
                _ => None,
            };
            let received = increase(p.packets_received, c.packets_received);
            let counted = match (lost, received) {
                (Some(l), Some(r)) if l + r > 0.0 => Some(l / (l + r)),
                _ => None,
            };
            let mean_rtt = ratio(
                increase(p.total_round_trip_time_s, c.total_round_trip_time_s),
                increase(p.round_trip_time_measurements, c.round_trip_time_measurements),
            );
            RemoteInboundInterval {
                start: p.at,
                end: c.at,
                packets_lost: lost,
                loss_fraction: counted.or(c.fraction_lost.map(|f| f.clamp(0.0, 1.0))),
                rtt_ms: mean_rtt.or(c.round_trip_time_s.get()).map(|s| s * 1000.0),
                jitter_ms: c.jitter_s.map(|j| j * 1000.0),
            }
        },
    )
}

/// The ICE path between two `candidate-pair` samples.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PairInterval {
    /// Start of the interval.
    pub start: Timestamp,
    /// End of the interval.
    pub end: Timestamp,
    /// ICE round-trip time, milliseconds (mean over the interval's consent checks where
    /// cumulative figures exist, else the last measurement).
    pub rtt_ms: Option<f64>,
    /// Bandwidth estimate at the end, bits per second.
    pub available_outgoing_bitrate_bps: Option<f64>,
    /// Bitrate sent over the pair, bits per second.
    pub send_bitrate_bps: Option<f64>,
    /// Bitrate received over the pair, bits per second.
    pub receive_bitrate_bps: Option<f64>,
}

/// Interval metrics of a `candidate-pair`.
pub fn pair_intervals(samples: &[CandidatePairSample]) -> Vec<PairInterval> {
    each_step(
        samples,
        |s| s.at,
        |p, c, dt| {
            let mean_rtt = ratio(
                increase(p.total_round_trip_time_s, c.total_round_trip_time_s),
                increase(p.responses_received, c.responses_received),
            );
            PairInterval {
                start: p.at,
                end: c.at,
                rtt_ms: mean_rtt.or(c.current_round_trip_time_s.get()).map(|s| s * 1000.0),
                available_outgoing_bitrate_bps: c.available_outgoing_bitrate_bps.get(),
                send_bitrate_bps: increase(p.bytes_sent, c.bytes_sent).map(|b| b * 8.0 / dt),
                receive_bitrate_bps: increase(p.bytes_received, c.bytes_received).map(|b| b * 8.0 / dt),
            }
        },
    )
}

impl crate::stats::Stream<InboundRtpSample> {
    /// [`inbound_intervals`] of this stream, worked out once.
    pub fn intervals(&self) -> &[InboundInterval] {
        self.memo.get_or_init(|| inbound_intervals(&self.samples))
    }
}

impl crate::stats::Stream<OutboundRtpSample> {
    /// [`outbound_intervals`] of this stream, worked out once.
    pub fn intervals(&self) -> &[OutboundInterval] {
        self.memo.get_or_init(|| outbound_intervals(&self.samples))
    }
}

impl crate::stats::Stream<RemoteInboundRtpSample> {
    /// [`remote_inbound_intervals`] of this stream, worked out once.
    pub fn intervals(&self) -> &[RemoteInboundInterval] {
        self.memo.get_or_init(|| remote_inbound_intervals(&self.samples))
    }
}

impl crate::stats::CandidatePair {
    /// [`pair_intervals`] of this pair, worked out once.
    pub fn intervals(&self) -> &[PairInterval] {
        self.memo.get_or_init(|| pair_intervals(&self.samples))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reading::Reading;

    fn t(s: f64) -> Timestamp {
        Timestamp::from_epoch_ms(1_700_000_000_000.0 + s * 1000.0).expect("finite")
    }

    fn inbound(at: f64, received: f64, lost: f64, bytes: f64) -> InboundRtpSample {
        InboundRtpSample {
            at: t(at),
            packets_received: Reading::some(received),
            packets_lost: Reading::some(lost),
            bytes_received: Reading::some(bytes),
            ..InboundRtpSample::default()
        }
    }

    #[test]
    fn loss_and_bitrate_from_counters() {
        let s = [inbound(0.0, 100.0, 0.0, 10_000.0), inbound(2.0, 290.0, 10.0, 60_000.0)];
        let iv = inbound_intervals(&s);
        assert_eq!(iv.len(), 1);
        // 10 lost of 200 sent in the interval = 5 %; 50 000 bytes in 2 s = 200 kbit/s.
        assert_eq!(iv[0].loss_fraction, Some(10.0 / 200.0));
        assert_eq!(iv[0].bitrate_bps, Some(200_000.0));
        assert_eq!(iv[0].packet_rate, Some(95.0));
        assert!(iv[0].active && !iv[0].reset);
    }

    #[test]
    fn counter_reset_is_not_negative_loss() {
        // Meet dumps: packetsReceived 3772 → 43 under the same stats id.
        let s = [inbound(0.0, 3772.0, 5.0, 4e6), inbound(1.0, 43.0, 0.0, 4e4), inbound(2.0, 143.0, 1.0, 8e4)];
        let iv = inbound_intervals(&s);
        assert_eq!(iv.len(), 2);
        assert!(iv[0].reset);
        assert_eq!(iv[0].loss_fraction, None);
        assert_eq!(iv[0].bitrate_bps, None);
        assert!(!iv[1].reset);
        assert_eq!(iv[1].loss_fraction, Some(1.0 / 101.0));
    }

    #[test]
    fn late_packets_lower_loss_without_a_reset() {
        // packetsLost 234 → 160 while packets keep arriving: loss 0, not negative.
        let s = [inbound(0.0, 1000.0, 234.0, 1e5), inbound(1.0, 1100.0, 160.0, 2e5)];
        let iv = inbound_intervals(&s);
        assert!(!iv[0].reset);
        assert_eq!(iv[0].packets_lost, Some(0.0));
        assert_eq!(iv[0].loss_fraction, Some(0.0));
    }

    #[test]
    fn repeated_timestamps_do_not_divide_by_zero() {
        let r = |at: f64, lost: f64, rtt: f64| RemoteInboundRtpSample {
            at: t(at),
            packets_lost: Reading::some(lost),
            fraction_lost: Reading::some(0.02),
            round_trip_time_s: Reading::some(rtt),
            ..RemoteInboundRtpSample::default()
        };
        let s = [r(0.0, 1.0, 0.05), r(0.0, 1.0, 0.05), r(0.0, 1.0, 0.05), r(5.0, 4.0, 0.08)];
        let iv = remote_inbound_intervals(&s);
        assert_eq!(iv.len(), 1);
        assert_eq!(iv[0].packets_lost, Some(3.0));
        assert_eq!(iv[0].rtt_ms, Some(80.0));
        assert_eq!(iv[0].loss_fraction, Some(0.02));
    }

    #[test]
    fn totals_count_from_zero_and_across_resets() {
        assert_eq!(cumulative_total([Some(10.0), Some(30.0), Some(5.0), Some(8.0)]), Some(38.0));
        assert_eq!(cumulative_total([None, None]), None);
        // Firefox dump whose first sample already had 47 lost: the call lost 47, not 0.
        let s = [inbound(0.0, 426.0, 47.0, 1e5), inbound(10.0, 900.0, 47.0, 2e5)];
        assert_eq!(inbound_totals(&s), (Some(900.0), Some(47.0)));
        let s = [inbound(0.0, 3772.0, 5.0, 4e6), inbound(1.0, 43.0, 1.0, 4e4), inbound(2.0, 143.0, 2.0, 8e4)];
        assert_eq!(inbound_totals(&s), (Some(3915.0), Some(7.0)));
    }

    #[test]
    fn gaps_are_not_bridged() {
        let s = [
            inbound(0.0, 0.0, 0.0, 0.0),
            inbound(1.0, 50.0, 0.0, 5e3),
            inbound(2.0, 100.0, 0.0, 1e4),
            inbound(3.0, 150.0, 0.0, 1.5e4),
            inbound(90.0, 160.0, 0.0, 1.6e4),
            inbound(91.0, 210.0, 0.0, 2.1e4),
        ];
        let iv = inbound_intervals(&s);
        assert_eq!(iv.len(), 4);
        assert!(iv.iter().all(|i| i.duration_s() <= 1.0));
    }

    #[test]
    fn inactive_streams_have_no_rates() {
        let s = [inbound(0.0, 0.0, 0.0, 0.0), inbound(1.0, 0.0, 0.0, 0.0)];
        let iv = inbound_intervals(&s);
        assert!(!iv[0].active);
        assert_eq!(iv[0].bitrate_bps, None);
        assert_eq!(iv[0].loss_fraction, None);
    }

    #[test]
    fn quality_limitation_share_from_durations() {
        use crate::stats::QualityLimitationDurations as D;
        let o = |at: f64, bytes: f64, d: D| OutboundRtpSample {
            at: t(at),
            packets_sent: Reading::some(bytes / 1000.0),
            bytes_sent: Reading::some(bytes),
            quality_limitation_durations: Some(d),
            ..OutboundRtpSample::default()
        };
        let s = [
            o(0.0, 1000.0, D { none_s: 10.0, ..D::default() }),
            o(4.0, 9000.0, D { none_s: 11.0, bandwidth_s: 3.0, ..D::default() }),
        ];
        let iv = outbound_intervals(&s);
        assert_eq!(iv[0].bandwidth_limited_share, Some(0.75));
        assert_eq!(iv[0].cpu_limited_share, Some(0.0));
        assert_eq!(iv[0].bitrate_bps, Some(16_000.0));
    }

    #[test]
    fn pair_rtt_prefers_cumulative_mean() {
        let p = |at: f64, total: f64, responses: f64, current: f64| CandidatePairSample {
            at: t(at),
            total_round_trip_time_s: Reading::some(total),
            responses_received: Reading::some(responses),
            current_round_trip_time_s: Reading::some(current),
            ..CandidatePairSample::default()
        };
        let iv = pair_intervals(&[p(0.0, 1.0, 10.0, 0.1), p(5.0, 1.5, 12.0, 0.3)]);
        assert_eq!(iv[0].rtt_ms, Some(250.0));
        let iv = pair_intervals(&[p(0.0, 1.0, 10.0, 0.1), p(5.0, 1.0, 10.0, 0.3)]);
        assert_eq!(iv[0].rtt_ms, Some(300.0));
    }
}
