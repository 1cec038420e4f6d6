//! Per-stream and per-route summaries over interval metrics.

use hopscope_model::graph::PathWindow;
use hopscope_model::intervals::{
    InboundInterval, OutboundInterval, RemoteInboundInterval, cumulative_total, inbound_totals,
};
use hopscope_model::stats::{InboundRtpStream, OutboundRtpStream, RemoteInboundRtpStream, StreamInfo};
use serde::Serialize;

/// Min / mean / max of a series.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Range {
    /// Smallest value.
    pub min: f64,
    /// Time-weighted mean.
    pub mean: f64,
    /// Largest value.
    pub max: f64,
}

/// Accumulates a time-weighted mean and extremes.
#[derive(Default)]
struct Acc {
    weighted: f64,
    weight: f64,
    min: Option<f64>,
    max: Option<f64>,
}

impl Acc {
    fn add(&mut self, v: Option<f64>, w: f64) {
        let Some(v) = v.filter(|v| v.is_finite()) else { return };
        self.weighted += v * w;
        self.weight += w;
        self.min = Some(self.min.map_or(v, |m| m.min(v)));
        self.max = Some(self.max.map_or(v, |m| m.max(v)));
    }
    fn range(&self) -> Option<Range> {
        (self.weight > 0.0).then(|| Range {
            min: self.min.unwrap_or(0.0),
            mean: self.weighted / self.weight,
            max: self.max.unwrap_or(0.0),
        })
    }
}

fn sum(values: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    values.flatten().fold(None, |acc, v| Some(acc.unwrap_or(0.0) + v))
}

/// A stream as a report shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StreamSummary {
    /// `inbound`, `outbound` or `remote-inbound` (the receiver's RTCP view of what we send).
    pub direction: &'static str,
    /// `audio`, `video` or null.
    pub kind: Option<&'static str>,
    /// RTP SSRC.
    pub ssrc: Option<u32>,
    /// Simulcast layer.
    pub rid: Option<String>,
    /// Codec mime type.
    pub codec: Option<String>,
    /// Screen share.
    pub screenshare: bool,
    /// Stats id (evidence).
    pub stats_id: String,
    /// Samples in the dump.
    pub samples: usize,
    /// Seconds with packets flowing.
    pub active_s: f64,
    /// Packets received (inbound) or sent (outbound) over the call.
    pub packets: Option<f64>,
    /// Packets lost over the call.
    pub packets_lost: Option<f64>,
    /// Lost / (lost + received) over the call, percent.
    pub loss_percent: Option<f64>,
    /// Worst interval loss, percent.
    pub worst_loss_percent: Option<f64>,
    /// Bitrate over active intervals, kbit/s.
    pub bitrate_kbps: Option<Range>,
    /// Frames per second over active intervals.
    pub fps: Option<Range>,
    /// Last frame size seen, `W×H`.
    pub resolution: Option<String>,
    /// Jitter, milliseconds.
    pub jitter_ms: Option<Range>,
    /// Round-trip time from RTCP, milliseconds (remote-inbound).
    pub rtt_ms: Option<Range>,
    /// Freezes over the call.
    pub freezes: Option<f64>,
    /// Seconds frozen.
    pub freeze_s: Option<f64>,
    /// Concealed share of audio samples over the call, percent.
    pub concealment_percent: Option<f64>,
    /// Jitter-buffer delay, milliseconds.
    pub jitter_buffer_ms: Option<Range>,
    /// Share of active time the encoder was CPU-limited, percent.
    pub cpu_limited_percent: Option<f64>,
    /// Share of active time the encoder was bandwidth-limited, percent.
    pub bandwidth_limited_percent: Option<f64>,
    /// Intervals in which counters reset.
    pub resets: usize,
    /// Perceived quality of a received stream (E-model for audio, P.1203 for video).
    pub quality: Option<QualityBrief>,
}

/// The quality of one received stream in a few numbers.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QualityBrief {
    /// `audio` (R scale) or `video` (Q on 1–5).
    pub media: &'static str,
    /// Time-weighted mean R (audio) or Q (video) over scored time.
    pub mean: Option<f64>,
    /// MOS of the mean (audio), or the mean Q (video).
    pub mos: Option<f64>,
    /// good / fair / poor.
    pub label: Option<&'static str>,
    /// Share of scored time labelled poor, percent.
    pub poor_percent: Option<f64>,
    /// Seconds scored.
    pub scored_s: f64,
    /// Why windows could not be scored (the most common reason), when some could not.
    pub unknown_reason: Option<String>,
    /// Why windows were left out (muted, DTX, ...), the most common reason.
    pub excluded_reason: Option<String>,
    /// What was assumed for lack of data.
    pub assumptions: Vec<String>,
}

impl QualityBrief {
    /// From a scored stream.
    pub fn of(q: &hopscope_score::StreamQuality) -> QualityBrief {
        let s = &q.summary;
        let top = |reasons: &[hopscope_score::aggregate::ReasonCount]| {
            reasons.iter().max_by(|a, b| a.duration_s.total_cmp(&b.duration_s)).map(|r| r.reason.clone())
        };
        QualityBrief {
            media: match s.media {
                hopscope_score::aggregate::Media::Audio => "audio",
                hopscope_score::aggregate::Media::Video => "video",
            },
            mean: s.mean,
            mos: s.mean_mos,
            label: s.label.map(|l| l.as_str()),
            poor_percent: s.poor_share.map(|p| p * 100.0),
            scored_s: s.scored_s,
            unknown_reason: top(&s.unknown_reasons),
            excluded_reason: top(&s.excluded_reasons),
            assumptions: q.assumptions.clone(),
        }
    }
}

impl StreamSummary {
    fn empty(direction: &'static str, info: &StreamInfo, samples: usize) -> StreamSummary {
        StreamSummary {
            direction,
            kind: info.kind.map(|k| k.as_str()),
            ssrc: info.ssrc,
            rid: info.rid.clone(),
            codec: info.codec.clone(),
            screenshare: info.is_screenshare,
            stats_id: info.stats_id.clone(),
            samples,
            active_s: 0.0,
            packets: None,
            packets_lost: None,
            loss_percent: None,
            worst_loss_percent: None,
            bitrate_kbps: None,
            fps: None,
            resolution: None,
            jitter_ms: None,
            rtt_ms: None,
            freezes: None,
            freeze_s: None,
            concealment_percent: None,
            jitter_buffer_ms: None,
            cpu_limited_percent: None,
            bandwidth_limited_percent: None,
            resets: 0,
            quality: None,
        }
    }

    /// Whether any packet flowed.
    pub fn is_active(&self) -> bool {
        self.active_s > 0.0 || self.packets.is_some_and(|p| p > 0.0)
    }
}

/// Summary of an inbound stream.
pub fn inbound(stream: &InboundRtpStream) -> StreamSummary {
    let ivs = stream.intervals();
    let mut s = StreamSummary::empty("inbound", &stream.info, stream.samples.len());
    summarize_inbound(&mut s, ivs);
    // Whole-call totals come from the cumulative counters (they include what happened
    // before the first sample); per-interval figures from the intervals.
    let (received, lost) = inbound_totals(&stream.samples);
    s.packets = received.or(s.packets);
    s.packets_lost = lost.or(s.packets_lost);
    s.loss_percent = match (s.packets_lost, s.packets) {
        (Some(l), Some(r)) if l + r > 0.0 => Some(100.0 * l / (l + r)),
        _ => None,
    };
    s
}

fn summarize_inbound(s: &mut StreamSummary, ivs: &[InboundInterval]) {
    let active: Vec<&InboundInterval> = ivs.iter().filter(|i| i.active).collect();
    s.resets = ivs.iter().filter(|i| i.reset).count();
    s.active_s = active.iter().map(|i| i.duration_s()).sum();
    s.packets = sum(ivs.iter().map(|i| i.packets_received));
    s.packets_lost = sum(active.iter().map(|i| i.packets_lost));
    s.worst_loss_percent = active.iter().filter_map(|i| i.loss_fraction).map(|f| f * 100.0).reduce(f64::max);
    let (mut br, mut fps, mut jit, mut jb) = (Acc::default(), Acc::default(), Acc::default(), Acc::default());
    for i in &active {
        let w = i.duration_s();
        br.add(i.bitrate_bps.map(|b| b / 1000.0), w);
        fps.add(i.fps, w);
        jit.add(i.jitter_ms, w);
        jb.add(i.jitter_buffer_delay_ms, w);
    }
    s.bitrate_kbps = br.range();
    s.fps = fps.range();
    s.jitter_ms = jit.range();
    s.jitter_buffer_ms = jb.range();
    s.resolution =
        ivs.iter().rev().find_map(|i| Some(format!("{}×{}", i.frame_width? as u32, i.frame_height? as u32)));
    s.freezes = sum(active.iter().map(|i| i.freezes));
    s.freeze_s = sum(active.iter().map(|i| i.freeze_duration_s));
    let concealed = sum(active.iter().map(|i| i.concealed_samples));
    let received = sum(active.iter().map(|i| i.samples_received));
    if let (Some(c), Some(r)) = (concealed, received)
        && r > 0.0
    {
        s.concealment_percent = Some(100.0 * c / r);
    }
}

/// Summary of an outbound stream (one simulcast layer).
pub fn outbound(stream: &OutboundRtpStream) -> StreamSummary {
    let ivs = stream.intervals();
    let mut s = StreamSummary::empty("outbound", &stream.info, stream.samples.len());
    summarize_outbound(&mut s, ivs);
    s.packets = cumulative_total(stream.samples.iter().map(|x| x.packets_sent.get()));
    s
}

fn summarize_outbound(s: &mut StreamSummary, ivs: &[OutboundInterval]) {
    let active: Vec<&OutboundInterval> = ivs.iter().filter(|i| i.active).collect();
    s.resets = ivs.iter().filter(|i| i.reset).count();
    s.active_s = active.iter().map(|i| i.end.seconds_since(i.start)).sum();
    let (mut br, mut fps, mut cpu, mut bw) = (Acc::default(), Acc::default(), Acc::default(), Acc::default());
    for i in &active {
        let w = i.end.seconds_since(i.start);
        br.add(i.bitrate_bps.map(|b| b / 1000.0), w);
        fps.add(i.fps, w);
        cpu.add(i.cpu_limited_share, w);
        bw.add(i.bandwidth_limited_share, w);
    }
    s.bitrate_kbps = br.range();
    s.fps = fps.range();
    s.cpu_limited_percent = cpu.range().map(|r| r.mean * 100.0);
    s.bandwidth_limited_percent = bw.range().map(|r| r.mean * 100.0);
    s.resolution =
        ivs.iter().rev().find_map(|i| Some(format!("{}×{}", i.frame_width? as u32, i.frame_height? as u32)));
}

/// Summary of what a receiver reported back about one of our streams. `sent` is the
/// matching outbound stream (same SSRC), which turns the reported loss count into a rate.
pub fn remote_inbound(stream: &RemoteInboundRtpStream, sent: Option<&OutboundRtpStream>) -> StreamSummary {
    let ivs = stream.intervals();
    let mut s = StreamSummary::empty("remote-inbound", &stream.info, stream.samples.len());
    summarize_remote(&mut s, ivs);
    // A single report (a snapshot) still tells the last RTT and jitter.
    let last = stream.samples.last();
    let point = |v: Option<f64>| v.map(|v| Range { min: v, mean: v, max: v });
    if s.rtt_ms.is_none() {
        s.rtt_ms = point(last.and_then(|x| x.round_trip_time_s.get()).map(|v| v * 1000.0));
    }
    if s.jitter_ms.is_none() {
        s.jitter_ms = point(last.and_then(|x| x.jitter_s.get()).map(|v| v * 1000.0));
    }
    // The receiver's cumulative count, from the start of the stream.
    let lost = stream.samples.iter().rev().find_map(|x| x.packets_lost.get()).map(|l| l.max(0.0));
    s.packets_lost = lost.or(s.packets_lost);
    let sent_total = sent.and_then(|o| cumulative_total(o.samples.iter().map(|x| x.packets_sent.get())));
    if let (Some(l), Some(n)) = (s.packets_lost, sent_total)
        && n > 0.0
    {
        s.loss_percent = Some(100.0 * (l / n).min(1.0));
    }
    s
}

fn summarize_remote(s: &mut StreamSummary, ivs: &[RemoteInboundInterval]) {
    let (mut rtt, mut jit, mut loss) = (Acc::default(), Acc::default(), Acc::default());
    for i in ivs {
        let w = i.end.seconds_since(i.start);
        rtt.add(i.rtt_ms, w);
        jit.add(i.jitter_ms, w);
        loss.add(i.loss_fraction.map(|f| f * 100.0), w);
    }
    s.rtt_ms = rtt.range();
    s.jitter_ms = jit.range();
    s.loss_percent = loss.range().map(|r| r.mean);
    s.worst_loss_percent = loss.range().map(|r| r.max);
}

/// Summary of one direction of a route.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FlowSummary {
    /// Seconds covered by windows with data.
    pub covered_s: f64,
    /// Loss, percent.
    pub loss_percent: Option<Range>,
    /// Jitter, milliseconds.
    pub jitter_ms: Option<Range>,
    /// Round-trip time, milliseconds.
    pub rtt_ms: Option<Range>,
    /// Media bitrate, kbit/s.
    pub bitrate_kbps: Option<Range>,
    /// Bandwidth estimate, kbit/s.
    pub available_kbps: Option<Range>,
}

/// Summary of route windows.
pub fn flow(windows: &[PathWindow]) -> FlowSummary {
    let (mut loss, mut jit, mut rtt, mut br, mut avail) =
        (Acc::default(), Acc::default(), Acc::default(), Acc::default(), Acc::default());
    let mut covered = 0.0;
    for w in windows {
        let d = w.end.seconds_since(w.start);
        if w.active_streams > 0 || w.rtt_ms.is_some() {
            covered += d;
        }
        loss.add(w.loss_fraction.map(|f| f * 100.0), d);
        jit.add(w.jitter_ms, d);
        rtt.add(w.rtt_ms, d);
        br.add(w.bitrate_bps.map(|b| b / 1000.0), d);
        avail.add(w.available_bitrate_bps.map(|b| b / 1000.0), d);
    }
    FlowSummary {
        covered_s: covered,
        loss_percent: loss.range(),
        jitter_ms: jit.range(),
        rtt_ms: rtt.range(),
        bitrate_kbps: br.range(),
        available_kbps: avail.range(),
    }
}

/// Range of plain values (unweighted).
pub fn range_of(values: impl Iterator<Item = f64>) -> Option<Range> {
    let mut acc = Acc::default();
    for v in values {
        acc.add(Some(v), 1.0);
    }
    acc.range()
}
