//! WebRTC audio adapter: one window of receive-side statistics → one E-model score
//! (doc §4.1).
//!
//! The input is a plain struct of per-window deltas, not tied to any stats parser. The
//! adapter sets the G.107 parameters as the doc recommends:
//!
//! - **Ta** = RTT/2 + jitter-buffer delay + codec delay + device latency, with `T = Ta`
//!   and `Tr = 2·Ta` (echo assumed handled by AEC at the default TELR/WEPL).
//! - **Ppl** from the first available of: non-silent concealed samples / samples received
//!   (what the listener hears), packet loss, remote `fractionLost`.
//! - **BurstR** from the mean concealment-event length, clamped to [1, 4]; 1 when the loss
//!   figure is not concealment-based (burstiness then is unknown and random is assumed).
//! - **Ie, Bpl** from [`crate::codecs`]; **A** = 0.
//!
//! A window is one of three things: [`AudioWindowScore::Scored`]; `Excluded` when nobody
//! was talking (DTX, muted, silence, no playout), which is neither good nor bad; or
//! `Unknown` when an input the model needs is missing. The adapter never fills a missing
//! input with an optimistic default.
//!
//! **RTT missing but loss known:** the window is `Unknown` (the delay term can be large,
//! so no R is claimed), and `partial` keeps the loss figure, the BurstR, the CQD rules that
//! already fire, and an upper bound on R computed with the missing delay terms set to 0.

use serde::Serialize;
use std::borrow::Cow;

use crate::codecs::AudioCodec;
use crate::emodel::{Category, EModelParams, mos_from_r, r_factor};
use crate::outcome::{AudioBands, ExclusionReason, Label, ModelWarning};

/// Default capture + playout latency when the browser does not expose it (doc §4.1.1:
/// "suggest 40 ms and document it"). An engineering constant, not a measurement.
pub const DEFAULT_DEVICE_LATENCY_MS: f64 = 40.0;

/// One window of receive-side audio statistics. Counters are deltas over the window.
///
/// Build with [`AudioWindowInputs::new`] and set what is known; every `None` is treated as
/// unknown, never as zero.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioWindowInputs {
    /// Window length, seconds (> 0).
    pub duration_s: f64,
    /// Codec in use (see [`crate::codecs::audio_codec_from_webrtc`]).
    pub codec: AudioCodec,
    /// Round-trip time, seconds: remote-inbound-rtp `roundTripTime`, else
    /// remote-outbound-rtp `roundTripTime`, else candidate-pair `currentRoundTripTime`.
    pub rtt_s: Option<f64>,
    /// Mean jitter-buffer delay per emitted sample over the window, seconds:
    /// Δ`jitterBufferDelay` / Δ`jitterBufferEmittedCount`.
    pub jitter_buffer_delay_s: Option<f64>,
    /// Measured capture + playout latency, seconds, where the browser exposes it. `None`
    /// uses [`AudioAdapterConfig::device_latency_ms`].
    pub device_latency_s: Option<f64>,
    /// Interarrival jitter (inbound-rtp `jitter`), seconds. Used only by the CQD rule.
    pub jitter_s: Option<f64>,
    /// Δ`concealedSamples`.
    pub concealed_samples: Option<u64>,
    /// Δ`silentConcealedSamples`.
    pub silent_concealed_samples: Option<u64>,
    /// Δ`totalSamplesReceived`.
    pub total_samples_received: Option<u64>,
    /// Δ`concealmentEvents`.
    pub concealment_events: Option<u64>,
    /// Δ`packetsReceived`.
    pub packets_received: Option<u64>,
    /// Δ`packetsLost` (may be negative when duplicates arrive).
    pub packets_lost: Option<i64>,
    /// remote-inbound-rtp `fractionLost`, 0–1.
    pub remote_fraction_lost: Option<f64>,
    /// Rate the concealed-sample counters run at, Hz. `None` uses the codec's decoded rate
    /// (48 kHz for Opus, 8 kHz for G.711).
    pub sample_rate_hz: Option<u32>,
    /// Packet time, ms. `None` uses the codec's usual ptime (20 ms for Opus and G.711).
    pub packet_time_ms: Option<f64>,
    /// Mean played-out audio level over the window, linear 0–1 (1 = 0 dBov), e.g. from
    /// √(Δ`totalAudioEnergy`/Δ`totalSamplesDuration`).
    pub audio_level: Option<f64>,
    /// Caller's hint that the remote sender was active (talking, unmuted). `Some(false)`
    /// excludes the window.
    pub sender_active: Option<bool>,
}

impl AudioWindowInputs {
    /// A window of `duration_s` seconds with `codec` and every statistic unknown.
    pub fn new(duration_s: f64, codec: AudioCodec) -> Self {
        Self {
            duration_s,
            codec,
            rtt_s: None,
            jitter_buffer_delay_s: None,
            device_latency_s: None,
            jitter_s: None,
            concealed_samples: None,
            silent_concealed_samples: None,
            total_samples_received: None,
            concealment_events: None,
            packets_received: None,
            packets_lost: None,
            remote_fraction_lost: None,
            sample_rate_hz: None,
            packet_time_ms: None,
            audio_level: None,
            sender_active: None,
        }
    }
}

/// Codec delay per codec family, ms, added to Ta.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CodecDelays {
    /// Opus (with or without FEC). Default 26.5 (20 ms frame + 6.5 ms look-ahead).
    pub opus_ms: f64,
    /// G.711. Default 20 (packetisation time).
    pub g711_ms: f64,
    /// G.729A. Default 25 (unverified; see the codec table).
    pub g729_ms: f64,
    /// G.723.1. Default 37.5 (unverified; see the codec table).
    pub g723_ms: f64,
}

impl Default for CodecDelays {
    fn default() -> Self {
        Self {
            opus_ms: AudioCodec::Opus.params().default_delay_ms,
            g711_ms: AudioCodec::G711Plc.params().default_delay_ms,
            g729_ms: AudioCodec::G729a.params().default_delay_ms,
            g723_ms: AudioCodec::G723.params().default_delay_ms,
        }
    }
}

impl CodecDelays {
    /// Delay for `codec`, ms.
    pub fn for_codec(&self, codec: AudioCodec) -> f64 {
        match codec {
            AudioCodec::Opus | AudioCodec::OpusFec => self.opus_ms,
            AudioCodec::G711Plc | AudioCodec::G711 => self.g711_ms,
            AudioCodec::G729a => self.g729_ms,
            AudioCodec::G723 => self.g723_ms,
        }
    }
}

/// Microsoft Teams CQD "poor audio stream" thresholds (doc §3, §4.1.6). A window above any
/// of them is labelled poor whatever its R.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CqdAudioThresholds {
    /// RTT, ms. Default 500.
    pub rtt_ms: f64,
    /// Network packet loss, percent. Default 10.
    pub loss_percent: f64,
    /// Interarrival jitter, ms. Default 30.
    pub jitter_ms: f64,
    /// Non-silent concealed-sample ratio, percent. Default 7.
    pub concealed_percent: f64,
}

impl Default for CqdAudioThresholds {
    fn default() -> Self {
        Self { rtt_ms: 500.0, loss_percent: 10.0, jitter_ms: 30.0, concealed_percent: 7.0 }
    }
}

/// Adapter settings. [`Default`] is the doc's recommendation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AudioAdapterConfig {
    /// Capture + playout latency when not measured, ms. Default
    /// [`DEFAULT_DEVICE_LATENCY_MS`] (40).
    pub device_latency_ms: f64,
    /// Codec delay per codec.
    pub codec_delays: CodecDelays,
    /// Label band edges.
    pub bands: AudioBands,
    /// CQD poor-override thresholds.
    pub cqd: CqdAudioThresholds,
    /// E-model advantage factor A. Default 0 (doc §4.1.5).
    pub advantage: f64,
    /// Upper clamp on BurstR. Default 4 (doc §4.1.3).
    pub burst_r_max: f64,
    /// Jitter-buffer delay to assume when it is not reported, ms. Default `None`: the
    /// window is `Unknown` instead. Setting it attaches a warning to every window using it.
    pub jitter_buffer_fallback_ms: Option<f64>,
    /// Audio level (linear) at or below which a loss-free window counts as silence.
    /// Default 0.001 (−60 dBov), a heuristic.
    pub silence_audio_level: f64,
    /// Share of samples that are silent concealment at or above which a loss-free window
    /// counts as DTX. Default 0.5, a heuristic.
    pub dtx_silent_ratio: f64,
    /// Network loss, percent, above which a silent-looking window is scored anyway (it may
    /// be an outage, not DTX). Default 2.
    pub silence_max_network_loss_percent: f64,
}

impl Default for AudioAdapterConfig {
    fn default() -> Self {
        Self {
            device_latency_ms: DEFAULT_DEVICE_LATENCY_MS,
            codec_delays: CodecDelays::default(),
            bands: AudioBands::default(),
            cqd: CqdAudioThresholds::default(),
            advantage: 0.0,
            burst_r_max: 4.0,
            jitter_buffer_fallback_ms: None,
            silence_audio_level: 0.001,
            dtx_silent_ratio: 0.5,
            silence_max_network_loss_percent: 2.0,
        }
    }
}

/// Which input the effective loss Ppl came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LossSource {
    /// Non-silent concealed samples / samples received (preferred).
    Concealment,
    /// Δ packetsLost / (Δ packetsLost + Δ packetsReceived).
    PacketLoss,
    /// remote-inbound-rtp `fractionLost`.
    RemoteFractionLost,
}

/// Whether a delay component was measured or is a configured constant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DelaySource {
    /// From the window's statistics.
    Measured,
    /// From [`AudioAdapterConfig`].
    Configured,
}

/// The parts of Ta, ms.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DelayBreakdown {
    /// RTT / 2.
    pub rtt_half_ms: f64,
    /// Jitter-buffer delay.
    pub jitter_buffer_ms: f64,
    /// Codec delay (always configured).
    pub codec_ms: f64,
    /// Capture + playout latency.
    pub device_ms: f64,
    /// Where the jitter-buffer delay came from.
    pub jitter_buffer_source: DelaySource,
    /// Where the device latency came from.
    pub device_source: DelaySource,
}

/// A CQD audio rule that forced the label to poor (doc §4.1.6).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum PoorOverride {
    /// RTT above the threshold.
    Rtt {
        /// Measured RTT, ms.
        rtt_ms: f64,
        /// Threshold, ms.
        threshold_ms: f64,
    },
    /// Network packet loss above the threshold.
    PacketLoss {
        /// Measured loss, percent.
        loss_percent: f64,
        /// Threshold, percent.
        threshold_percent: f64,
    },
    /// Interarrival jitter above the threshold.
    Jitter {
        /// Measured jitter, ms.
        jitter_ms: f64,
        /// Threshold, ms.
        threshold_ms: f64,
    },
    /// Concealed-sample ratio above the threshold.
    ConcealedRatio {
        /// Measured non-silent concealed ratio, percent.
        concealed_percent: f64,
        /// Threshold, percent.
        threshold_percent: f64,
    },
}

/// A scored audio window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoredAudio {
    /// Window length, seconds.
    pub duration_s: f64,
    /// Narrowband R.
    pub r: f64,
    /// MOS (G.107 Annex B) of `r`.
    pub mos: f64,
    /// G.109 category of `r`.
    pub category: Category,
    /// Final label: the R band, forced to poor if any override fired.
    pub label: Label,
    /// Label from the R band alone.
    pub r_label: Label,
    /// One-way mouth-to-ear delay used, ms.
    pub ta_ms: f64,
    /// How Ta was made up.
    pub delay: DelayBreakdown,
    /// Effective loss used, percent.
    pub ppl_percent: f64,
    /// Burst ratio used.
    pub burst_r: f64,
    /// Where Ppl came from.
    pub loss_source: LossSource,
    /// Codec.
    pub codec: AudioCodec,
    /// Ie used.
    pub ie: f64,
    /// Bpl used (depends on the loss source for Opus with FEC).
    pub bpl: f64,
    /// CQD rules that fired.
    pub overrides: Vec<PoorOverride>,
    /// Caveats.
    pub warnings: Vec<ModelWarning>,
}

/// What is known about a window that could not be scored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PartialAudio {
    /// Effective loss, percent, if it could be computed.
    pub ppl_percent: Option<f64>,
    /// Where it came from.
    pub loss_source: Option<LossSource>,
    /// Burst ratio, if loss is known.
    pub burst_r: Option<f64>,
    /// R with every missing delay component taken as 0. R does not increase with delay
    /// above 1 ms, so the true R is at most this.
    pub r_upper_bound: Option<f64>,
    /// CQD rules that already fire on the known inputs.
    pub overrides: Vec<PoorOverride>,
}

/// The result for one audio window.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum AudioWindowScore {
    /// Scored.
    Scored(ScoredAudio),
    /// Nothing to judge (nobody talking, muted, DTX, no playout).
    Excluded {
        /// Window length, seconds.
        duration_s: f64,
        /// Why.
        reason: ExclusionReason,
    },
    /// An input the model needs is missing or invalid.
    Unknown {
        /// Window length, seconds.
        duration_s: f64,
        /// Names the missing or invalid input(s). Contains no measured numbers, so equal
        /// reasons group together.
        reason: Cow<'static, str>,
        /// What could still be computed.
        partial: Option<PartialAudio>,
    },
}

impl AudioWindowScore {
    /// Window length, seconds.
    pub fn duration_s(&self) -> f64 {
        match self {
            Self::Scored(s) => s.duration_s,
            Self::Excluded { duration_s, .. } | Self::Unknown { duration_s, .. } => *duration_s,
        }
    }

    /// The scored data, if any.
    pub fn scored(&self) -> Option<&ScoredAudio> {
        match self {
            Self::Scored(s) => Some(s),
            _ => None,
        }
    }
}

/// Reason text when no RTT is available.
pub const REASON_NO_RTT: &str = "no RTT: remote-inbound-rtp roundTripTime, remote-outbound-rtp \
    roundTripTime and candidate-pair currentRoundTripTime all missing (typical of Firefox \
    without remote-inbound)";
/// Reason text when no jitter-buffer delay is available.
pub const REASON_NO_JITTER_BUFFER: &str = "no jitter-buffer delay: inbound-rtp \
    jitterBufferDelay/jitterBufferEmittedCount missing and no fallback configured";
/// Reason text when no loss figure is available.
pub const REASON_NO_LOSS: &str = "no loss input: concealedSamples/totalSamplesReceived, \
    packetsLost/packetsReceived and remote-inbound fractionLost all missing";

/// The reason for a combination of missing inputs (RTT, jitter-buffer delay, loss), the
/// texts above joined once: a Firefox call without RTT has a window like this every second.
fn missing_reason(missing: [bool; 3]) -> &'static str {
    static JOINED: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
        (0..8usize)
            .map(|mask| {
                [REASON_NO_RTT, REASON_NO_JITTER_BUFFER, REASON_NO_LOSS]
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| mask & (1 << i) != 0)
                    .map(|(_, r)| *r)
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .collect()
    });
    let mask = missing.iter().enumerate().fold(0, |m, (i, &b)| m | (usize::from(b) << i));
    JOINED.get(mask).map_or("", String::as_str)
}

/// Scores one audio window (doc §4.1).
pub fn score_audio_window(inputs: &AudioWindowInputs, config: &AudioAdapterConfig) -> AudioWindowScore {
    let duration_s = inputs.duration_s;
    if let Err(reason) = validate(inputs) {
        return AudioWindowScore::Unknown { duration_s, reason: Cow::Owned(reason), partial: None };
    }
    let network_loss_percent = network_loss_percent(inputs);
    if let Some(reason) = exclusion(inputs, config, network_loss_percent) {
        return AudioWindowScore::Excluded { duration_s, reason };
    }

    let mut warnings = Vec::new();
    let loss = effective_loss(inputs, config, &mut warnings);
    let overrides = cqd_overrides(inputs, config, network_loss_percent);

    let codec = inputs.codec;
    let codec_ms = config.codec_delays.for_codec(codec);
    let (device_ms, device_source) = match inputs.device_latency_s {
        Some(s) => (s * 1000.0, DelaySource::Measured),
        None => (config.device_latency_ms, DelaySource::Configured),
    };
    let jitter_buffer = match (inputs.jitter_buffer_delay_s, config.jitter_buffer_fallback_ms) {
        (Some(s), _) => Some((s * 1000.0, DelaySource::Measured)),
        (None, Some(ms)) => {
            warnings.push(ModelWarning::JitterBufferDelayAssumed { assumed_ms: ms });
            Some((ms, DelaySource::Configured))
        }
        (None, None) => None,
    };
    let rtt_half_ms = inputs.rtt_s.map(|s| s * 500.0);

    let missing = [rtt_half_ms.is_none(), jitter_buffer.is_none(), loss.is_none()];

    let (Some(rtt_half_ms), Some((jitter_buffer_ms, jitter_buffer_source)), Some(loss)) =
        (rtt_half_ms, jitter_buffer, loss)
    else {
        // Keep what is known; bound R from above with missing delay parts at 0.
        let partial = loss.map(|loss| {
            let floor_ta =
                rtt_half_ms.unwrap_or(0.0) + jitter_buffer.map_or(0.0, |(ms, _)| ms) + codec_ms + device_ms;
            PartialAudio {
                ppl_percent: Some(loss.ppl_percent),
                loss_source: Some(loss.source),
                burst_r: Some(loss.burst_r),
                r_upper_bound: Some(emodel_r(codec, &loss, floor_ta, config.advantage)),
                overrides: overrides.clone(),
            }
        });
        let partial = partial.or_else(|| {
            (!overrides.is_empty()).then(|| PartialAudio {
                ppl_percent: None,
                loss_source: None,
                burst_r: None,
                r_upper_bound: None,
                overrides: overrides.clone(),
            })
        });
        return AudioWindowScore::Unknown {
            duration_s,
            reason: Cow::Borrowed(missing_reason(missing)),
            partial,
        };
    };

    let ta_ms = rtt_half_ms + jitter_buffer_ms + codec_ms + device_ms;
    if loss.ppl_percent > 20.0 {
        warnings.push(ModelWarning::LossBeyondG107Validity { ppl_percent: loss.ppl_percent });
    }
    let r = emodel_r(codec, &loss, ta_ms, config.advantage);
    let r_label = config.bands.label(r);
    let label = if overrides.is_empty() { r_label } else { Label::Poor };
    let row = codec.params();
    AudioWindowScore::Scored(ScoredAudio {
        duration_s,
        r,
        mos: mos_from_r(r),
        category: Category::from_r(r),
        label,
        r_label,
        ta_ms,
        delay: DelayBreakdown {
            rtt_half_ms,
            jitter_buffer_ms,
            codec_ms,
            device_ms,
            jitter_buffer_source,
            device_source,
        },
        ppl_percent: loss.ppl_percent,
        burst_r: loss.burst_r,
        loss_source: loss.source,
        codec,
        ie: row.ie,
        bpl: bpl_for(codec, loss.source),
        overrides,
        warnings,
    })
}

/// Effective loss and its provenance.
#[derive(Debug, Clone, Copy)]
struct Loss {
    ppl_percent: f64,
    burst_r: f64,
    source: LossSource,
}

fn bpl_for(codec: AudioCodec, source: LossSource) -> f64 {
    let row = codec.params();
    match source {
        LossSource::Concealment => row.bpl_concealment,
        LossSource::PacketLoss | LossSource::RemoteFractionLost => row.bpl,
    }
}

fn emodel_r(codec: AudioCodec, loss: &Loss, ta_ms: f64, advantage: f64) -> f64 {
    let params = EModelParams {
        a: advantage,
        ..EModelParams::default().with_one_way_delay(ta_ms).with_loss(
            codec.params().ie,
            bpl_for(codec, loss.source),
            loss.ppl_percent,
            loss.burst_r,
        )
    };
    r_factor(&params).r
}

/// Rejects inputs no statistic can produce (negative delays, NaN, fractions above 1).
fn validate(i: &AudioWindowInputs) -> Result<(), String> {
    fn check(field: &str, value: Option<f64>, ok: fn(f64) -> bool, rule: &str) -> Result<(), String> {
        match value {
            Some(v) if !(v.is_finite() && ok(v)) => Err(format!("invalid {field}: must be {rule}")),
            _ => Ok(()),
        }
    }
    let non_negative: fn(f64) -> bool = |v| v >= 0.0;
    let unit: fn(f64) -> bool = |v| (0.0..=1.0).contains(&v);
    check("duration_s", Some(i.duration_s), |v| v > 0.0, "a finite number > 0")?;
    check("rtt_s", i.rtt_s, non_negative, "a finite number ≥ 0")?;
    check("jitter_buffer_delay_s", i.jitter_buffer_delay_s, non_negative, "a finite number ≥ 0")?;
    check("device_latency_s", i.device_latency_s, non_negative, "a finite number ≥ 0")?;
    check("jitter_s", i.jitter_s, non_negative, "a finite number ≥ 0")?;
    check("remote_fraction_lost", i.remote_fraction_lost, unit, "in [0, 1]")?;
    check("audio_level", i.audio_level, unit, "in [0, 1]")?;
    check("packet_time_ms", i.packet_time_ms, |v| v > 0.0, "a finite number > 0")?;
    if i.sample_rate_hz == Some(0) {
        return Err("invalid sample_rate_hz: must be > 0".to_owned());
    }
    Ok(())
}

/// Network-side loss, percent: packet counters first, then the remote report.
fn network_loss_percent(i: &AudioWindowInputs) -> Option<f64> {
    let from_packets = match (i.packets_received, i.packets_lost) {
        (Some(received), Some(lost)) => {
            // Duplicates can make the delta negative; that is no loss, not negative loss.
            let lost = lost.max(0) as f64;
            let total = received as f64 + lost;
            (total > 0.0).then(|| 100.0 * lost / total)
        }
        _ => None,
    };
    from_packets.or(i.remote_fraction_lost.map(|f| 100.0 * f))
}

/// Non-silent concealed samples and their share of samples received, percent.
fn audible_concealment(i: &AudioWindowInputs) -> Option<(u64, f64)> {
    match (i.concealed_samples, i.total_samples_received) {
        (Some(concealed), Some(total)) if total > 0 => {
            let audible = concealed.saturating_sub(i.silent_concealed_samples.unwrap_or(0));
            Some((audible, (100.0 * audible as f64 / total as f64).min(100.0)))
        }
        _ => None,
    }
}

fn exclusion(
    i: &AudioWindowInputs,
    config: &AudioAdapterConfig,
    network_loss_percent: Option<f64>,
) -> Option<ExclusionReason> {
    if i.sender_active == Some(false) {
        return Some(ExclusionReason::SenderInactive);
    }
    if i.packets_received == Some(0) {
        // Nothing arrived: an outage if packets were lost, otherwise nobody sent.
        return (i.packets_lost.unwrap_or(0) <= 0).then_some(ExclusionReason::NoPacketsReceived);
    }
    if i.total_samples_received == Some(0) {
        return Some(ExclusionReason::NoSamplesPlayedOut);
    }
    // Silence only counts as silence when the network shows no loss; a long outage also
    // ends in silent concealment and must not be excused as DTX.
    let quiet_network = network_loss_percent.is_none_or(|l| l <= config.silence_max_network_loss_percent);
    if !quiet_network {
        return None;
    }
    if let (Some(silent), Some(total)) = (i.silent_concealed_samples, i.total_samples_received)
        && total > 0
        && silent as f64 / total as f64 >= config.dtx_silent_ratio
    {
        return Some(ExclusionReason::Dtx);
    }
    if i.audio_level.is_some_and(|l| l <= config.silence_audio_level) {
        return Some(ExclusionReason::Silence);
    }
    None
}

/// Ppl in the doc's order: concealment → packet loss → remote fractionLost; BurstR from
/// concealment events (doc §4.1.2, §4.1.3).
fn effective_loss(
    i: &AudioWindowInputs,
    config: &AudioAdapterConfig,
    warnings: &mut Vec<ModelWarning>,
) -> Option<Loss> {
    if let Some((audible, ppl_percent)) = audible_concealment(i) {
        if i.silent_concealed_samples.is_none() {
            warnings.push(ModelWarning::SilentConcealedSamplesMissing);
        }
        let row = i.codec.params();
        let rate = f64::from(i.sample_rate_hz.unwrap_or(row.decoded_sample_rate_hz));
        let ptime_ms = i.packet_time_ms.unwrap_or(row.default_ptime_ms);
        let samples_per_packet = rate * ptime_ms / 1000.0;
        let burst_r = match i.concealment_events {
            Some(events) if events > 0 && audible > 0 => {
                // Mean burst length in packets, over the mean expected for random loss.
                let mean_burst = audible as f64 / samples_per_packet / events as f64;
                (mean_burst * (1.0 - ppl_percent / 100.0)).clamp(1.0, config.burst_r_max.max(1.0))
            }
            _ => 1.0,
        };
        return Some(Loss { ppl_percent, burst_r, source: LossSource::Concealment });
    }
    let from_packets = match (i.packets_received, i.packets_lost) {
        (Some(received), Some(lost)) => {
            let lost = lost.max(0) as f64;
            let total = received as f64 + lost;
            (total > 0.0).then(|| (100.0 * lost / total, LossSource::PacketLoss))
        }
        _ => None,
    };
    from_packets
        .or(i.remote_fraction_lost.map(|f| (100.0 * f, LossSource::RemoteFractionLost)))
        .map(|(ppl_percent, source)| Loss { ppl_percent, burst_r: 1.0, source })
}

fn cqd_overrides(
    i: &AudioWindowInputs,
    config: &AudioAdapterConfig,
    network_loss_percent: Option<f64>,
) -> Vec<PoorOverride> {
    let t = &config.cqd;
    let mut out = Vec::new();
    if let Some(rtt_ms) = i.rtt_s.map(|s| s * 1000.0)
        && rtt_ms > t.rtt_ms
    {
        out.push(PoorOverride::Rtt { rtt_ms, threshold_ms: t.rtt_ms });
    }
    if let Some(loss_percent) = network_loss_percent
        && loss_percent > t.loss_percent
    {
        out.push(PoorOverride::PacketLoss { loss_percent, threshold_percent: t.loss_percent });
    }
    if let Some(jitter_ms) = i.jitter_s.map(|s| s * 1000.0)
        && jitter_ms > t.jitter_ms
    {
        out.push(PoorOverride::Jitter { jitter_ms, threshold_ms: t.jitter_ms });
    }
    if let Some((_, concealed_percent)) = audible_concealment(i)
        && concealed_percent > t.concealed_percent
    {
        out.push(PoorOverride::ConcealedRatio { concealed_percent, threshold_percent: t.concealed_percent });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(actual: f64, expected: f64, tol: f64) {
        assert!((actual - expected).abs() <= tol, "expected {expected} ± {tol}, got {actual}");
    }

    /// A clean 5 s Opus window at 48 kHz: 100 ms RTT, 40 ms jitter buffer, no loss.
    fn clean_opus() -> AudioWindowInputs {
        AudioWindowInputs {
            rtt_s: Some(0.100),
            jitter_buffer_delay_s: Some(0.040),
            jitter_s: Some(0.005),
            concealed_samples: Some(0),
            silent_concealed_samples: Some(0),
            total_samples_received: Some(240_000),
            concealment_events: Some(0),
            packets_received: Some(250),
            packets_lost: Some(0),
            audio_level: Some(0.05),
            ..AudioWindowInputs::new(5.0, AudioCodec::Opus)
        }
    }

    fn scored(s: AudioWindowScore) -> ScoredAudio {
        match s {
            AudioWindowScore::Scored(s) => s,
            other => panic!("expected Scored, got {other:?}"),
        }
    }

    #[test]
    fn clean_window_matches_emodel_at_computed_ta() {
        let s = scored(score_audio_window(&clean_opus(), &AudioAdapterConfig::default()));
        // Ta = 50 + 40 + 26.5 + 40 = 156.5 ms.
        close(s.ta_ms, 156.5, 1e-9);
        let expected = r_factor(&EModelParams::default().with_one_way_delay(156.5)).r;
        close(s.r, expected, 1e-12);
        // Independent Python transcription of G.107 (T = Ta, Tr = 2·Ta): R(156.5) = 89.29262.
        close(s.r, 89.29262, 1e-4);
        assert_eq!(s.label, Label::Good);
        assert_eq!(s.category, Category::High);
        assert_eq!(s.loss_source, LossSource::Concealment);
        assert_eq!(s.delay.device_source, DelaySource::Configured);
        assert!(s.overrides.is_empty());
    }

    #[test]
    fn missing_rtt_is_unknown_with_partial_loss() {
        let inputs = AudioWindowInputs { rtt_s: None, concealed_samples: Some(4_800), ..clean_opus() };
        match score_audio_window(&inputs, &AudioAdapterConfig::default()) {
            AudioWindowScore::Unknown { reason, partial, .. } => {
                assert!(reason.contains("no RTT"), "{reason}");
                assert!(reason.contains("currentRoundTripTime"), "{reason}");
                assert!(reason.contains("remote-inbound"), "{reason}");
                let partial = partial.expect("loss is known");
                close(partial.ppl_percent.expect("ppl"), 2.0, 1e-9);
                assert_eq!(partial.loss_source, Some(LossSource::Concealment));
                // Bound uses Ta = 0 + 40 + 26.5 + 40 = 106.5 ms.
                let bound = partial.r_upper_bound.expect("bound");
                let with_rtt = scored(score_audio_window(
                    &AudioWindowInputs { rtt_s: Some(0.2), ..inputs.clone() },
                    &AudioAdapterConfig::default(),
                ));
                assert!(bound > with_rtt.r);
            }
            other => panic!("expected Unknown, got {other:?}"),
        }
    }

    #[test]
    fn missing_everything_names_every_input() {
        let inputs = AudioWindowInputs::new(5.0, AudioCodec::Opus);
        match score_audio_window(&inputs, &AudioAdapterConfig::default()) {
            AudioWindowScore::Unknown { reason, partial, .. } => {
                assert!(reason.contains(REASON_NO_RTT));
                assert!(reason.contains(REASON_NO_JITTER_BUFFER));
                assert!(reason.contains(REASON_NO_LOSS));
                assert!(partial.is_none());
            }
            other => panic!("expected Unknown, got {other:?}"),
        }
    }

    #[test]
    fn jitter_buffer_fallback_is_opt_in_and_flagged() {
        let inputs = AudioWindowInputs { jitter_buffer_delay_s: None, ..clean_opus() };
        assert!(matches!(
            score_audio_window(&inputs, &AudioAdapterConfig::default()),
            AudioWindowScore::Unknown { .. }
        ));
        let config =
            AudioAdapterConfig { jitter_buffer_fallback_ms: Some(60.0), ..AudioAdapterConfig::default() };
        let s = scored(score_audio_window(&inputs, &config));
        assert_eq!(s.delay.jitter_buffer_source, DelaySource::Configured);
        close(s.ta_ms, 50.0 + 60.0 + 26.5 + 40.0, 1e-9);
        assert!(s.warnings.contains(&ModelWarning::JitterBufferDelayAssumed { assumed_ms: 60.0 }));
    }

    #[test]
    fn dtx_and_silent_windows_are_excluded() {
        let config = AudioAdapterConfig::default();
        // No samples played out at all.
        let none = AudioWindowInputs { total_samples_received: Some(0), ..clean_opus() };
        assert_eq!(
            score_audio_window(&none, &config),
            AudioWindowScore::Excluded { duration_s: 5.0, reason: ExclusionReason::NoSamplesPlayedOut }
        );
        // Opus DTX: a trickle of packets, most output is silent concealment.
        let dtx = AudioWindowInputs {
            packets_received: Some(13),
            concealed_samples: Some(200_000),
            silent_concealed_samples: Some(199_000),
            ..clean_opus()
        };
        assert!(matches!(
            score_audio_window(&dtx, &config),
            AudioWindowScore::Excluded { reason: ExclusionReason::Dtx, .. }
        ));
        // Muted sender: level zero.
        let muted = AudioWindowInputs { audio_level: Some(0.0), ..clean_opus() };
        assert!(matches!(
            score_audio_window(&muted, &config),
            AudioWindowScore::Excluded { reason: ExclusionReason::Silence, .. }
        ));
        // No packets, none lost.
        let idle = AudioWindowInputs { packets_received: Some(0), packets_lost: Some(0), ..clean_opus() };
        assert!(matches!(
            score_audio_window(&idle, &config),
            AudioWindowScore::Excluded { reason: ExclusionReason::NoPacketsReceived, .. }
        ));
        let hinted = AudioWindowInputs { sender_active: Some(false), ..clean_opus() };
        assert!(matches!(
            score_audio_window(&hinted, &config),
            AudioWindowScore::Excluded { reason: ExclusionReason::SenderInactive, .. }
        ));
    }

    #[test]
    fn outage_is_not_mistaken_for_dtx() {
        // Silent concealment and a silent level, but 40 % of packets lost: score it.
        let outage = AudioWindowInputs {
            packets_received: Some(150),
            packets_lost: Some(100),
            concealed_samples: Some(100_000),
            silent_concealed_samples: Some(60_000),
            audio_level: Some(0.0),
            ..clean_opus()
        };
        let s = scored(score_audio_window(&outage, &AudioAdapterConfig::default()));
        assert_eq!(s.label, Label::Poor);
        // Zero packets but losses reported: also scored.
        let dead = AudioWindowInputs {
            packets_received: Some(0),
            packets_lost: Some(250),
            concealed_samples: Some(240_000),
            silent_concealed_samples: Some(0),
            ..clean_opus()
        };
        let s = scored(score_audio_window(&dead, &AudioAdapterConfig::default()));
        close(s.ppl_percent, 100.0, 1e-9);
        assert_eq!(s.label, Label::Poor);
    }

    #[test]
    fn concealment_preferred_over_packet_loss_then_remote() {
        let config = AudioAdapterConfig::default();
        // 1 % concealed vs 10 % packet loss (e.g. NACK/RED recovered most of it).
        let both = AudioWindowInputs {
            concealed_samples: Some(2_400),
            packets_lost: Some(25),
            packets_received: Some(225),
            remote_fraction_lost: Some(0.5),
            ..clean_opus()
        };
        let s = scored(score_audio_window(&both, &config));
        assert_eq!(s.loss_source, LossSource::Concealment);
        close(s.ppl_percent, 1.0, 1e-9);
        let packets = AudioWindowInputs { concealed_samples: None, ..both.clone() };
        let s = scored(score_audio_window(&packets, &config));
        assert_eq!(s.loss_source, LossSource::PacketLoss);
        close(s.ppl_percent, 10.0, 1e-9);
        let remote = AudioWindowInputs { packets_lost: None, ..packets };
        let s = scored(score_audio_window(&remote, &config));
        assert_eq!(s.loss_source, LossSource::RemoteFractionLost);
        close(s.ppl_percent, 50.0, 1e-9);
    }

    #[test]
    fn opus_fec_bpl_depends_on_loss_source() {
        let config = AudioAdapterConfig::default();
        let conceal =
            AudioWindowInputs { codec: AudioCodec::OpusFec, concealed_samples: Some(4_800), ..clean_opus() };
        assert_eq!(scored(score_audio_window(&conceal, &config)).bpl, 10.0);
        let packets = AudioWindowInputs {
            concealed_samples: None,
            packets_lost: Some(5),
            packets_received: Some(245),
            ..conceal
        };
        assert_eq!(scored(score_audio_window(&packets, &config)).bpl, 20.0);
    }

    #[test]
    fn burst_ratio_from_concealment_events() {
        let config = AudioAdapterConfig::default();
        // 5 % audible concealment = 12 000 samples = 12.5 packets of 960 samples.
        // One event → mean burst 12.5 packets; ×(1 − 0.05) = 11.875 → clamped to 4.
        let bursty = AudioWindowInputs {
            concealed_samples: Some(12_000),
            concealment_events: Some(1),
            ..clean_opus()
        };
        close(scored(score_audio_window(&bursty, &config)).burst_r, 4.0, 0.0);
        // Five events → 2.5 packets each; ×0.95 = 2.375.
        let medium = AudioWindowInputs { concealment_events: Some(5), ..bursty.clone() };
        close(scored(score_audio_window(&medium, &config)).burst_r, 2.375, 1e-9);
        // One packet per event is random loss: 1 × 0.95 → max(1, ·) = 1.
        let random = AudioWindowInputs { concealment_events: Some(12), ..bursty };
        close(scored(score_audio_window(&random, &config)).burst_r, 1.0, 1e-9);
    }

    #[test]
    fn cqd_overrides_fire() {
        let config = AudioAdapterConfig::default();
        let cases = [
            AudioWindowInputs { rtt_s: Some(0.6), ..clean_opus() },
            AudioWindowInputs { jitter_s: Some(0.035), ..clean_opus() },
            AudioWindowInputs {
                concealed_samples: Some(19_200), // 8 %
                ..clean_opus()
            },
            AudioWindowInputs {
                concealed_samples: None,
                packets_lost: Some(30),
                packets_received: Some(220), // 12 %
                ..clean_opus()
            },
        ];
        for (i, inputs) in cases.iter().enumerate() {
            let s = scored(score_audio_window(inputs, &config));
            assert_eq!(s.overrides.len(), 1, "case {i}: {:?}", s.overrides);
            assert_eq!(s.label, Label::Poor, "case {i}");
        }
        // Jitter alone does not move R, so R's own label stays good.
        let s = scored(score_audio_window(&cases[1], &config));
        assert_eq!(s.r_label, Label::Good);
        assert!(matches!(s.overrides[0], PoorOverride::Jitter { .. }));
    }

    #[test]
    fn invalid_inputs_are_unknown() {
        let bad = AudioWindowInputs { rtt_s: Some(-0.1), ..clean_opus() };
        match score_audio_window(&bad, &AudioAdapterConfig::default()) {
            AudioWindowScore::Unknown { reason, .. } => assert!(reason.contains("rtt_s")),
            other => panic!("expected Unknown, got {other:?}"),
        }
        let bad = AudioWindowInputs { duration_s: 0.0, ..clean_opus() };
        assert!(matches!(
            score_audio_window(&bad, &AudioAdapterConfig::default()),
            AudioWindowScore::Unknown { .. }
        ));
    }

    #[test]
    fn serialises_with_status_tag() {
        let s = score_audio_window(&clean_opus(), &AudioAdapterConfig::default());
        let json = serde_json::to_value(&s).expect("serialise");
        assert_eq!(json["status"], "scored");
        assert_eq!(json["codec"], "opus");
        assert_eq!(json["loss_source"], "concealment");
    }
}
