//! Video quality: ITU-T P.1203.1 mode 0 per window, plus freeze and frame-rate guards
//! (doc §1.6a, §4.2).
//!
//! Mode 0 needs only bitrate, coded and display resolution and frame rate, all of which
//! `getStats()` has. It is a short-term *coding* quality (O22) calibrated for H.264; VP9 and
//! H.265 get TU Ilmenau's non-standard cubic correction, VP8 and AV1 are scored as H.264,
//! and both cases are flagged. Residual network damage shows up as freezes and dropped
//! frames, which the guards handle:
//!
//! - freeze penalty `Q = 1 + (O22 − 1)·(1 − freezeRatio)` (an engineering choice, §4.2.3);
//! - labels good (Q ≥ 4 and freezeRatio < 1 %), fair (Q ≥ 3), poor;
//! - overrides to poor: fps < 7 (screen share < 2), freezeRatio > 30 %, mean freeze > 1 s,
//!   post-FEC loss > 15 %, dropped frames > 50 %.
//!
//! The P.1203 formulas are re-implemented from the doc; the reference code's licence is
//! research-only.

use serde::Serialize;
use std::borrow::Cow;

use crate::error::UnknownCodecError;
use crate::outcome::{ExclusionReason, Label, ModelWarning, VideoBands};

/// Video codec of the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VideoCodec {
    /// H.264/AVC: what P.1203 is calibrated for. Id `h264`.
    H264,
    /// H.265/HEVC: non-standard correction applied. Id `h265`.
    H265,
    /// VP9: non-standard correction applied. Id `vp9`.
    Vp9,
    /// VP8: no published mapping; scored as H.264 and flagged. Id `vp8`.
    Vp8,
    /// AV1: no published mapping; scored as H.264 and flagged. Id `av1`.
    Av1,
}

impl VideoCodec {
    /// Every codec.
    pub const ALL: [VideoCodec; 5] = [Self::H264, Self::H265, Self::Vp9, Self::Vp8, Self::Av1];

    /// Stable id.
    pub fn id(self) -> &'static str {
        match self {
            Self::H264 => "h264",
            Self::H265 => "h265",
            Self::Vp9 => "vp9",
            Self::Vp8 => "vp8",
            Self::Av1 => "av1",
        }
    }

    /// Looks a codec up by id (case-insensitive; `hevc` and `avc` accepted as aliases).
    pub fn from_id(id: &str) -> Result<Self, UnknownCodecError> {
        let id = id.trim().to_ascii_lowercase();
        let alias = match id.as_str() {
            "hevc" => "h265",
            "avc" => "h264",
            other => other,
        };
        Self::ALL.into_iter().find(|c| c.id() == alias).ok_or_else(|| UnknownCodecError {
            kind: "video",
            given: id.clone(),
            valid: Self::ALL.map(Self::id).join(", "),
        })
    }

    /// Maps a WebRTC `mimeType` (`video/VP8`, `video/H264`, `video/H265`, `video/VP9`,
    /// `video/AV1`) to a codec.
    pub fn from_mime_type(mime_type: &str) -> Result<Self, UnknownCodecError> {
        match mime_type.trim().split_once('/') {
            Some((kind, sub)) if kind.eq_ignore_ascii_case("video") => Self::from_id(sub),
            _ => Err(UnknownCodecError {
                kind: "video",
                given: mime_type.to_owned(),
                valid: Self::ALL.map(Self::id).join(", "),
            }),
        }
    }

    /// The correction applied to O22 for this codec.
    pub fn correction(self) -> CodecCorrection {
        match self {
            Self::H264 => CodecCorrection::None,
            Self::H265 | Self::Vp9 => CodecCorrection::NonStandardCubic,
            Self::Vp8 | Self::Av1 => CodecCorrection::TreatedAsH264,
        }
    }
}

/// How the codec was handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CodecCorrection {
    /// H.264: standard P.1203 output.
    None,
    /// VP9/H.265: TU Ilmenau cubic mapping (not P.1203 compliant).
    NonStandardCubic,
    /// VP8/AV1: no mapping exists; the H.264 score is used as is.
    TreatedAsH264,
}

/// P.1203.1 mode 0 coefficients (doc §1.6a).
mod coeff {
    pub const A1: f64 = 11.998_351_9;
    pub const A2: f64 = -2.999_918_47;
    pub const A3: f64 = 41.247_507_400_1;
    pub const A4: f64 = 0.131_831_659_61;
    pub const Q1: f64 = 4.66;
    pub const Q2: f64 = -0.07;
    pub const Q3: f64 = 4.06;
    pub const U1: f64 = 72.61;
    pub const U2: f64 = 0.32;
    pub const T1: f64 = 30.98;
    pub const T2: f64 = 1.29;
    pub const T3: f64 = 64.65;
    /// TU Ilmenau codec extension, (a, b, c, d) of a·x³ + b·x² + c·x + d.
    pub const VP9: [f64; 4] = [-0.041_290_14, 0.309_538_36, 0.323_143_99, 0.528_435_8];
    pub const H265: [f64; 4] = [-0.051_960_39, 0.394_300_46, 0.174_862_21, 0.500_080_18];
}

/// Lowest MOS of P.1203's own R↔MOS mapping.
pub const P1203_MOS_MIN: f64 = 1.05;
/// Highest MOS of P.1203's own R↔MOS mapping.
pub const P1203_MOS_MAX: f64 = 4.9;

/// P.1203 quality Q (0–100) → MOS in [1.05, 4.9].
pub fn p1203_mos_from_r(q: f64) -> f64 {
    let mos =
        P1203_MOS_MIN + (P1203_MOS_MAX - P1203_MOS_MIN) * q / 100.0 + q * (q - 60.0) * (100.0 - q) * 7.0e-6;
    mos.clamp(P1203_MOS_MIN, P1203_MOS_MAX)
}

/// P.1203 MOS → quality Q (0–100): the inverse of [`p1203_mos_from_r`], in closed form.
///
/// The forward polynomial is increasing on [80 − √5900, 100] = [3.19, 100], which covers
/// MOS (1.05, 4.9]; MOS at or below 1.05 maps to 0, as the first entry of the reference
/// implementation's table does. Solving the cubic `Q³ − 160Q² + 500Q + (MOS − 1.05)/7·10⁻⁶
/// = 0` by the trigonometric method, the middle of its three real roots is the one in that
/// range (the way G.107 Appendix I inverts the E-model's cubic); one Newton step then
/// removes the rounding of `acos`/`cos`.
pub fn p1203_r_from_mos(mos: f64) -> f64 {
    let mos = mos.clamp(P1203_MOS_MIN, P1203_MOS_MAX);
    if mos <= P1203_MOS_MIN {
        return 0.0;
    }
    let (lo, hi) = (80.0 - 5900f64.sqrt(), 100.0);
    // Depressed cubic t³ + pt + q with Q = t + 160/3.
    let (b, c, d) = (-160.0, 500.0, (mos - P1203_MOS_MIN) / 7e-6);
    let p = c - b * b / 3.0;
    let q = 2.0 * b * b * b / 27.0 - b * c / 3.0 + d;
    let m = 2.0 * (-p / 3.0).sqrt();
    let theta = ((3.0 * q / (2.0 * p)) * (-3.0 / p).sqrt()).clamp(-1.0, 1.0).acos() / 3.0;
    let root = m * (theta - 2.0 * std::f64::consts::PI / 3.0).cos() - b / 3.0;
    let slope = 0.0385 + 7e-6 * (-3.0 * root * root + 320.0 * root - 6000.0);
    let polished = if slope > 0.0 { root - (p1203_mos_from_r(root) - mos) / slope } else { root };
    polished.clamp(lo, hi)
}

/// Inputs to one mode-0 evaluation. All must be finite and > 0; callers validate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct P1203Inputs {
    /// Bitrate, kbit/s.
    pub bitrate_kbps: f64,
    /// Frame rate, frames/s.
    pub fps: f64,
    /// Coded pixels (width·height).
    pub coded_pixels: f64,
    /// Display pixels (width·height).
    pub display_pixels: f64,
}

/// Every intermediate of one mode-0 evaluation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct P1203Breakdown {
    /// Quantisation estimate.
    pub quant: f64,
    /// Coding-only MOS, clamped to [1, 5].
    pub mos_q: f64,
    /// Coding degradation D_q.
    pub d_q: f64,
    /// Upscaling degradation D_u.
    pub d_u: f64,
    /// Frame-rate degradation D_t.
    pub d_t: f64,
    /// O22, H.264 calibration.
    pub o22: f64,
}

fn clamp100(x: f64) -> f64 {
    x.clamp(0.0, 100.0)
}

/// ITU-T P.1203.1 mode 0 short-term video quality O22 (doc §1.6a, steps 1–6).
pub fn p1203_mode0(i: &P1203Inputs) -> P1203Breakdown {
    use coeff::*;
    let br = i.bitrate_kbps;
    // ln(br) + ln(br²/(pixels·fps) + A4) as one logarithm of the product.
    let quant = A1 + A2 * (A3 + (br * (br * br / (i.coded_pixels * i.fps) + A4)).ln()).ln();
    let mos_q = (Q1 + Q2 * (Q3 * quant).exp()).clamp(1.0, 5.0);
    let d_q = clamp100(100.0 - p1203_r_from_mos(mos_q));
    let scale = (i.display_pixels / i.coded_pixels).max(1.0);
    // Shown at the coded size (the usual case) there is no upscaling: log10(1) = 0.
    let d_u = if scale > 1.0 { clamp100(U1 * (U2 * (scale - 1.0) + 1.0).log10()) } else { 0.0 };
    let d_t =
        if i.fps < 24.0 { clamp100((100.0 - d_q - d_u) * (T1 - T2 * i.fps) / (T3 + i.fps)) } else { 0.0 };
    let o22 = p1203_mos_from_r(100.0 - clamp100(d_q + d_u + d_t));
    P1203Breakdown { quant, mos_q, d_q, d_u, d_t, o22 }
}

/// O22 after the codec correction, in [1, 5].
pub fn codec_adjusted(codec: VideoCodec, o22: f64) -> f64 {
    let cubic = |[a, b, c, d]: [f64; 4]| (((a * o22 + b) * o22 + c) * o22 + d).clamp(1.0, 5.0);
    match codec {
        VideoCodec::Vp9 => cubic(coeff::VP9),
        VideoCodec::H265 => cubic(coeff::H265),
        VideoCodec::H264 | VideoCodec::Vp8 | VideoCodec::Av1 => o22,
    }
}

/// Freeze penalty `Q = 1 + (score − 1)·(1 − freezeRatio)` (doc §4.2.3; not published,
/// an engineering choice to validate against user feedback).
pub fn freeze_penalty(score: f64, freeze_ratio: f64) -> f64 {
    1.0 + (score - 1.0) * (1.0 - freeze_ratio.clamp(0.0, 1.0))
}

/// One window of receive-side video statistics. Counters are deltas over the window.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoWindowInputs {
    /// Window length, seconds (> 0).
    pub duration_s: f64,
    /// Codec in use.
    pub codec: VideoCodec,
    /// Payload bitrate, kbit/s: Δ`bytesReceived`·8/Δt/1000 (optionally minus headers).
    pub bitrate_kbps: Option<f64>,
    /// Coded width (`frameWidth`).
    pub width: Option<u32>,
    /// Coded height (`frameHeight`).
    pub height: Option<u32>,
    /// Rendered width; `None` uses the coded size.
    pub display_width: Option<u32>,
    /// Rendered height; `None` uses the coded size.
    pub display_height: Option<u32>,
    /// Frame rate: Δ`framesDecoded`/Δt (or `framesPerSecond`).
    pub fps: Option<f64>,
    /// Δ`freezeCount`.
    pub freeze_count: Option<u64>,
    /// Δ`totalFreezesDuration`, seconds.
    pub freeze_duration_s: Option<f64>,
    /// Δ`framesDropped`.
    pub frames_dropped: Option<u64>,
    /// Δ`framesReceived`.
    pub frames_received: Option<u64>,
    /// Post-FEC/NACK packet loss fraction, 0–1.
    pub loss_fraction: Option<f64>,
    /// Screen-share track (relaxes the fps rule to < 2).
    pub is_screenshare: bool,
    /// Caller's hint that the sender was sending video. `Some(false)` excludes the window.
    pub sender_active: Option<bool>,
}

impl VideoWindowInputs {
    /// A window of `duration_s` seconds with `codec` and every statistic unknown.
    pub fn new(duration_s: f64, codec: VideoCodec) -> Self {
        Self {
            duration_s,
            codec,
            bitrate_kbps: None,
            width: None,
            height: None,
            display_width: None,
            display_height: None,
            fps: None,
            freeze_count: None,
            freeze_duration_s: None,
            frames_dropped: None,
            frames_received: None,
            loss_fraction: None,
            is_screenshare: false,
            sender_active: None,
        }
    }
}

/// Poor-override thresholds (doc §4.2.4: CQD and webrtc-issue-detector).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct VideoGuards {
    /// Camera video below this fps is poor. Default 7.
    pub min_fps: f64,
    /// Screen share below this fps is poor. Default 2.
    pub min_fps_screenshare: f64,
    /// Freeze ratio above this is poor. Default 0.30.
    pub max_freeze_ratio: f64,
    /// Mean freeze above this is poor, seconds. Default 1.
    pub max_mean_freeze_s: f64,
    /// Post-FEC loss fraction above this is poor. Default 0.15.
    pub max_loss_fraction: f64,
    /// Dropped / received frames above this is poor. Default 0.5.
    pub max_dropped_fraction: f64,
}

impl Default for VideoGuards {
    fn default() -> Self {
        Self {
            min_fps: 7.0,
            min_fps_screenshare: 2.0,
            max_freeze_ratio: 0.30,
            max_mean_freeze_s: 1.0,
            max_loss_fraction: 0.15,
            max_dropped_fraction: 0.5,
        }
    }
}

/// Adapter settings.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct VideoAdapterConfig {
    /// Label band edges.
    pub bands: VideoBands,
    /// Poor-override thresholds.
    pub guards: VideoGuards,
}

/// A guard that forced the label to poor.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum VideoPoorOverride {
    /// Frame rate below the minimum.
    LowFrameRate {
        /// Measured fps.
        fps: f64,
        /// Threshold.
        threshold: f64,
    },
    /// Too much of the window frozen.
    FreezeRatio {
        /// Measured ratio.
        ratio: f64,
        /// Threshold.
        threshold: f64,
    },
    /// Freezes too long on average.
    MeanFreeze {
        /// Mean freeze, seconds.
        mean_s: f64,
        /// Threshold, seconds.
        threshold_s: f64,
    },
    /// Post-FEC loss too high.
    PacketLoss {
        /// Measured fraction.
        fraction: f64,
        /// Threshold.
        threshold: f64,
    },
    /// Too many frames dropped.
    DroppedFrames {
        /// Measured dropped / received.
        fraction: f64,
        /// Threshold.
        threshold: f64,
    },
    /// Bytes arrived but no frame was decoded.
    NoFramesDecoded,
}

/// A scored video window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoredVideo {
    /// Window length, seconds.
    pub duration_s: f64,
    /// Final quality Q on the 1–5 scale (after codec correction and freeze penalty).
    pub q: f64,
    /// Final label.
    pub label: Label,
    /// Label from Q and the freeze condition alone.
    pub q_label: Label,
    /// P.1203 O22 as calibrated for H.264; `None` when no frame was decoded.
    pub o22_h264: Option<f64>,
    /// O22 after the codec correction.
    pub o22: Option<f64>,
    /// How the codec was handled.
    pub codec: VideoCodec,
    /// The correction applied.
    pub codec_correction: CodecCorrection,
    /// Freeze ratio used (0–1).
    pub freeze_ratio: f64,
    /// Guards that fired.
    pub overrides: Vec<VideoPoorOverride>,
    /// Caveats.
    pub warnings: Vec<ModelWarning>,
}

/// The result for one video window.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum VideoWindowScore {
    /// Scored.
    Scored(ScoredVideo),
    /// Nothing to judge (video off, sender inactive).
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
        /// Names the missing or invalid input(s).
        reason: Cow<'static, str>,
    },
}

impl VideoWindowScore {
    /// Window length, seconds.
    pub fn duration_s(&self) -> f64 {
        match self {
            Self::Scored(s) => s.duration_s,
            Self::Excluded { duration_s, .. } | Self::Unknown { duration_s, .. } => *duration_s,
        }
    }

    /// The scored data, if any.
    pub fn scored(&self) -> Option<&ScoredVideo> {
        match self {
            Self::Scored(s) => Some(s),
            _ => None,
        }
    }
}

/// Reason text when the bitrate is missing.
pub const REASON_NO_BITRATE: &str = "no bitrate: inbound-rtp bytesReceived delta missing";
/// Reason text when the coded resolution is missing.
pub const REASON_NO_RESOLUTION: &str = "no coded resolution: inbound-rtp frameWidth/frameHeight \
    missing";
/// Reason text when the frame rate is missing.
pub const REASON_NO_FPS: &str = "no frame rate: inbound-rtp framesDecoded delta and \
    framesPerSecond missing";

/// Scores one video window (doc §4.2).
pub fn score_video_window(inputs: &VideoWindowInputs, config: &VideoAdapterConfig) -> VideoWindowScore {
    let duration_s = inputs.duration_s;
    let unknown = |reason: Cow<'static, str>| VideoWindowScore::Unknown { duration_s, reason };
    if let Err(reason) = validate(inputs) {
        return unknown(Cow::Owned(reason));
    }
    if inputs.sender_active == Some(false) {
        return VideoWindowScore::Excluded { duration_s, reason: ExclusionReason::SenderInactive };
    }
    let no_bytes = inputs.bitrate_kbps == Some(0.0);
    let no_frames = inputs.fps == Some(0.0) || inputs.frames_received == Some(0);
    if no_bytes && (no_frames || inputs.fps.is_none()) {
        return VideoWindowScore::Excluded { duration_s, reason: ExclusionReason::NoVideo };
    }

    let (Some(bitrate_kbps), Some(width), Some(height), Some(fps)) =
        (inputs.bitrate_kbps, inputs.width, inputs.height, inputs.fps)
    else {
        let missing: Vec<&str> = [
            (inputs.bitrate_kbps.is_none(), REASON_NO_BITRATE),
            (inputs.width.is_none() || inputs.height.is_none(), REASON_NO_RESOLUTION),
            (inputs.fps.is_none(), REASON_NO_FPS),
        ]
        .into_iter()
        .filter_map(|(is_missing, reason)| is_missing.then_some(reason))
        .collect();
        return unknown(Cow::Owned(missing.join("; ")));
    };
    if bitrate_kbps == 0.0 {
        return unknown(Cow::Borrowed("inconsistent: frames decoded but bitrate is 0"));
    }

    let mut warnings = Vec::new();
    let codec = inputs.codec;
    match codec.correction() {
        CodecCorrection::None => {}
        CodecCorrection::NonStandardCubic => warnings.push(ModelWarning::NonStandardCodecCorrection),
        CodecCorrection::TreatedAsH264 => warnings.push(ModelWarning::CodecTreatedAsH264),
    }
    if inputs.is_screenshare {
        warnings.push(ModelWarning::ScreenContentNotCalibrated);
    }

    let freeze_ratio = match inputs.freeze_duration_s {
        Some(frozen) => {
            let raw = frozen / duration_s;
            if raw > 1.0 {
                warnings.push(ModelWarning::FreezeRatioClamped { raw_ratio: raw });
            }
            raw.min(1.0)
        }
        None => {
            warnings.push(ModelWarning::FreezeStatsMissing);
            0.0
        }
    };

    let g = &config.guards;
    let mut overrides = Vec::new();
    let min_fps = if inputs.is_screenshare { g.min_fps_screenshare } else { g.min_fps };
    if fps < min_fps {
        overrides.push(VideoPoorOverride::LowFrameRate { fps, threshold: min_fps });
    }
    if freeze_ratio > g.max_freeze_ratio {
        overrides.push(VideoPoorOverride::FreezeRatio { ratio: freeze_ratio, threshold: g.max_freeze_ratio });
    }
    if let (Some(count), Some(frozen)) = (inputs.freeze_count, inputs.freeze_duration_s)
        && count > 0
        && frozen / count as f64 > g.max_mean_freeze_s
    {
        overrides.push(VideoPoorOverride::MeanFreeze {
            mean_s: frozen / count as f64,
            threshold_s: g.max_mean_freeze_s,
        });
    }
    if let Some(fraction) = inputs.loss_fraction
        && fraction > g.max_loss_fraction
    {
        overrides.push(VideoPoorOverride::PacketLoss { fraction, threshold: g.max_loss_fraction });
    }
    if let (Some(dropped), Some(received)) = (inputs.frames_dropped, inputs.frames_received)
        && received > 0
        && dropped as f64 / received as f64 > g.max_dropped_fraction
    {
        overrides.push(VideoPoorOverride::DroppedFrames {
            fraction: dropped as f64 / received as f64,
            threshold: g.max_dropped_fraction,
        });
    }

    let (o22_h264, o22, q) = if fps == 0.0 {
        // Media arrives but nothing is decoded: the viewer sees a frozen picture. That is
        // measured breakage, so it scores the floor of the scale rather than Unknown.
        overrides.push(VideoPoorOverride::NoFramesDecoded);
        (None, None, 1.0)
    } else {
        let coded = f64::from(width) * f64::from(height);
        let display = match (inputs.display_width, inputs.display_height) {
            (Some(w), Some(h)) => f64::from(w) * f64::from(h),
            _ => coded,
        };
        let b = p1203_mode0(&P1203Inputs { bitrate_kbps, fps, coded_pixels: coded, display_pixels: display });
        let adjusted = codec_adjusted(codec, b.o22);
        (Some(b.o22), Some(adjusted), freeze_penalty(adjusted, freeze_ratio))
    };

    let q_label = config.bands.window_label(q, freeze_ratio);
    let label = if overrides.is_empty() { q_label } else { Label::Poor };
    VideoWindowScore::Scored(ScoredVideo {
        duration_s,
        q,
        label,
        q_label,
        o22_h264,
        o22,
        codec,
        codec_correction: codec.correction(),
        freeze_ratio,
        overrides,
        warnings,
    })
}

fn validate(i: &VideoWindowInputs) -> Result<(), String> {
    fn bad(field: &str, rule: &str) -> Result<(), String> {
        Err(format!("invalid {field}: must be {rule}"))
    }
    let finite_at_least = |v: Option<f64>, min: f64| v.is_some_and(|v| !(v.is_finite() && v >= min));
    if !(i.duration_s.is_finite() && i.duration_s > 0.0) {
        return bad("duration_s", "a finite number > 0");
    }
    if finite_at_least(i.bitrate_kbps, 0.0) {
        return bad("bitrate_kbps", "a finite number ≥ 0");
    }
    if finite_at_least(i.fps, 0.0) {
        return bad("fps", "a finite number ≥ 0");
    }
    if finite_at_least(i.freeze_duration_s, 0.0) {
        return bad("freeze_duration_s", "a finite number ≥ 0");
    }
    if i.loss_fraction.is_some_and(|f| !(0.0..=1.0).contains(&f)) {
        return bad("loss_fraction", "in [0, 1]");
    }
    for (field, v) in [
        ("width", i.width),
        ("height", i.height),
        ("display_width", i.display_width),
        ("display_height", i.display_height),
    ] {
        if v == Some(0) {
            return bad(field, "> 0");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(actual: f64, expected: f64, tol: f64) {
        assert!((actual - expected).abs() <= tol, "expected {expected} ± {tol}, got {actual}");
    }

    fn mode0(cres: f64, dres: f64, br: f64, fps: f64) -> P1203Breakdown {
        p1203_mode0(&P1203Inputs { bitrate_kbps: br, fps, coded_pixels: cres, display_pixels: dres })
    }

    #[test]
    fn published_mode0_reference_vectors() {
        // itu-p1203/itu-p1203 test/test.py, "mode0" cases (the only mode-0 vectors that
        // suite publishes; its other 4 model-function vectors are mode 1, which needs frame
        // sizes). Args (coded px, display px, kbit/s, fps) → expected O22, rounded to 3 dp;
        // the suite itself accepts ±0.01.
        let fhd = 1920.0 * 1080.0;
        close(mode0(fhd, fhd, 2_801.275_876_23, 30.0).o22, 4.311, 5e-4);
        close(mode0(852.0 * 480.0, fhd, 629.203_792_838, 30.0).o22, 2.664, 5e-4);
        close(mode0(426.0 * 240.0, fhd, 224.771_246_112, 30.0).o22, 1.085, 5e-4);
    }

    /// Literal, slow, line-by-line transcription of doc §1.6a, kept apart from the
    /// production code (no shared helpers), for a differential test. Its inverse R↔MOS is
    /// a linear scan on a 1e-4 grid instead of bisection.
    // Manual clamps kept on purpose: the point is to share nothing with the fast path.
    #[allow(clippy::manual_clamp)]
    fn slow_mode0(cres: f64, dres: f64, br: f64, fps: f64) -> f64 {
        let mos_from_r = |q: f64| -> f64 {
            let m = 1.05 + 3.85 * q / 100.0 + q * (q - 60.0) * (100.0 - q) * 0.000007;
            if m < 1.05 {
                1.05
            } else if m > 4.9 {
                4.9
            } else {
                m
            }
        };
        let r_from_mos = |mos: f64| -> f64 {
            if mos <= 1.05 {
                return 0.0;
            }
            // Smallest q on a 1e-4 grid above the dip whose MOS reaches `mos`.
            let mut q = 3.1;
            while q < 100.0 && mos_from_r(q) < mos {
                q += 1e-4;
            }
            q.min(100.0)
        };
        let clamp = |x: f64, lo: f64, hi: f64| {
            if x < lo {
                lo
            } else if x > hi {
                hi
            } else {
                x
            }
        };
        let quant = 11.9983519
            + -2.99991847
                * f64::ln(41.2475074001 + f64::ln(br) + f64::ln(br * br / (cres * fps) + 0.13183165961));
        let mos_q = clamp(4.66 + -0.07 * f64::exp(4.06 * quant), 1.0, 5.0);
        let d_q = clamp(100.0 - r_from_mos(mos_q), 0.0, 100.0);
        let mut s = dres / cres;
        if s < 1.0 {
            s = 1.0;
        }
        let d_u = clamp(72.61 * f64::log10(0.32 * (s - 1.0) + 1.0), 0.0, 100.0);
        let mut d_t = 0.0;
        if fps < 24.0 {
            d_t = clamp((100.0 - d_q - d_u) * (30.98 - 1.29 * fps) / (64.65 + fps), 0.0, 100.0);
        }
        mos_from_r(100.0 - clamp(d_q + d_u + d_t, 0.0, 100.0))
    }

    #[test]
    fn differential_against_literal_transcription() {
        // Differential test, not an external oracle: both sides come from doc §1.6a.
        for (w, h, dw, dh, br, fps) in [
            (1280.0, 720.0, 1280.0, 720.0, 1500.0, 30.0),
            (640.0, 360.0, 1280.0, 720.0, 500.0, 15.0),
            (320.0, 180.0, 1280.0, 720.0, 150.0, 7.5),
            (1920.0, 1080.0, 1920.0, 1080.0, 4000.0, 60.0),
            (640.0, 480.0, 640.0, 480.0, 300.0, 10.0),
            (1280.0, 720.0, 640.0, 360.0, 800.0, 24.0),
        ] {
            let fast = mode0(w * h, dw * dh, br, fps).o22;
            let slow = slow_mode0(w * h, dw * dh, br, fps);
            close(fast, slow, 1e-4);
        }
        // Spot values from an independent Python transcription made for this crate.
        close(mode0(1280.0 * 720.0, 1280.0 * 720.0, 1500.0, 30.0).o22, 4.22977, 1e-4);
        close(mode0(640.0 * 360.0, 1280.0 * 720.0, 500.0, 15.0).o22, 2.51870, 1e-4);
        close(mode0(640.0 * 480.0, 640.0 * 480.0, 300.0, 10.0).o22, 3.02130, 1e-4);
    }

    #[test]
    fn p1203_mos_scale_round_trip() {
        // The closed form against the forward polynomial over the whole invertible range,
        // every 0.01 of Q from 3.2 to 100.
        for step in 320..=10_000 {
            let q = f64::from(step) / 100.0;
            close(p1203_r_from_mos(p1203_mos_from_r(q)), q, 1e-9);
        }
        close(p1203_mos_from_r(100.0), 4.9, 1e-12);
        close(p1203_mos_from_r(0.0), 1.05, 0.0);
        close(p1203_r_from_mos(1.0), 0.0, 0.0);
        close(p1203_r_from_mos(5.0), 100.0, 1e-9);
    }

    #[test]
    fn codec_corrections() {
        // By hand from the TU Ilmenau coefficients: x = 4.311.
        // VP9: −0.04129014x³ + 0.30953836x² + 0.32314399x + 0.5284358 = 4.36608.
        close(codec_adjusted(VideoCodec::Vp9, 4.311), 4.36608, 1e-4);
        close(codec_adjusted(VideoCodec::H265, 4.311), 4.41887, 1e-4);
        close(codec_adjusted(VideoCodec::Vp8, 4.311), 4.311, 0.0);
        close(codec_adjusted(VideoCodec::Vp9, 1.0), 1.11983, 1e-4);
    }

    fn good_window() -> VideoWindowInputs {
        VideoWindowInputs {
            bitrate_kbps: Some(1500.0),
            width: Some(1280),
            height: Some(720),
            fps: Some(30.0),
            freeze_count: Some(0),
            freeze_duration_s: Some(0.0),
            frames_dropped: Some(0),
            frames_received: Some(150),
            loss_fraction: Some(0.0),
            ..VideoWindowInputs::new(5.0, VideoCodec::H264)
        }
    }

    fn scored(s: VideoWindowScore) -> ScoredVideo {
        match s {
            VideoWindowScore::Scored(s) => s,
            other => panic!("expected Scored, got {other:?}"),
        }
    }

    #[test]
    fn good_window_scores_good() {
        let s = scored(score_video_window(&good_window(), &VideoAdapterConfig::default()));
        close(s.q, 4.22977, 1e-4);
        assert_eq!(s.label, Label::Good);
        assert!(s.overrides.is_empty());
        assert!(s.warnings.is_empty());
    }

    #[test]
    fn freeze_penalty_and_label() {
        // 0.5 s frozen of 5 s: Q = 1 + (4.22977 − 1)·0.9 = 3.90679.
        let inputs =
            VideoWindowInputs { freeze_count: Some(1), freeze_duration_s: Some(0.5), ..good_window() };
        let s = scored(score_video_window(&inputs, &VideoAdapterConfig::default()));
        close(s.q, 3.90679, 1e-4);
        assert_eq!(s.label, Label::Fair);
    }

    #[test]
    fn guards_fire() {
        let config = VideoAdapterConfig::default();
        type Case = (VideoWindowInputs, fn(&VideoPoorOverride) -> bool);
        let cases: [Case; 5] = [
            (VideoWindowInputs { fps: Some(6.0), ..good_window() }, |o| {
                matches!(o, VideoPoorOverride::LowFrameRate { .. })
            }),
            (
                VideoWindowInputs { freeze_count: Some(4), freeze_duration_s: Some(1.6), ..good_window() },
                |o| matches!(o, VideoPoorOverride::FreezeRatio { .. }),
            ),
            (
                VideoWindowInputs { freeze_count: Some(1), freeze_duration_s: Some(1.2), ..good_window() },
                |o| matches!(o, VideoPoorOverride::MeanFreeze { .. }),
            ),
            (VideoWindowInputs { loss_fraction: Some(0.2), ..good_window() }, |o| {
                matches!(o, VideoPoorOverride::PacketLoss { .. })
            }),
            (VideoWindowInputs { frames_dropped: Some(80), ..good_window() }, |o| {
                matches!(o, VideoPoorOverride::DroppedFrames { .. })
            }),
        ];
        for (i, (inputs, is_rule)) in cases.iter().enumerate() {
            let s = scored(score_video_window(inputs, &config));
            assert_eq!(s.label, Label::Poor, "case {i}");
            assert_eq!(s.overrides.len(), 1, "case {i}: {:?}", s.overrides);
            assert!(is_rule(&s.overrides[0]), "case {i}: {:?}", s.overrides);
        }
        // Screen share: 3 fps is fine, 1.5 fps is not.
        let share = VideoWindowInputs { fps: Some(3.0), is_screenshare: true, ..good_window() };
        let s = scored(score_video_window(&share, &config));
        assert!(s.overrides.is_empty());
        assert!(s.warnings.contains(&ModelWarning::ScreenContentNotCalibrated));
        let share = VideoWindowInputs { fps: Some(1.5), ..share };
        assert_eq!(scored(score_video_window(&share, &config)).label, Label::Poor);
    }

    #[test]
    fn missing_and_inactive() {
        let config = VideoAdapterConfig::default();
        let off = VideoWindowInputs {
            bitrate_kbps: Some(0.0),
            fps: Some(0.0),
            frames_received: Some(0),
            ..good_window()
        };
        assert!(matches!(
            score_video_window(&off, &config),
            VideoWindowScore::Excluded { reason: ExclusionReason::NoVideo, .. }
        ));
        let no_res = VideoWindowInputs { width: None, ..good_window() };
        match score_video_window(&no_res, &config) {
            VideoWindowScore::Unknown { reason, .. } => assert!(reason.contains("frameWidth")),
            other => panic!("expected Unknown, got {other:?}"),
        }
        // Bytes but no frames: measured outage, poor.
        let stuck = VideoWindowInputs { fps: Some(0.0), frames_received: Some(0), ..good_window() };
        let s = scored(score_video_window(&stuck, &config));
        assert_eq!(s.label, Label::Poor);
        assert!(s.overrides.contains(&VideoPoorOverride::NoFramesDecoded));
    }

    #[test]
    fn codec_flags_and_mime_mapping() {
        let config = VideoAdapterConfig::default();
        let vp8 = VideoWindowInputs { codec: VideoCodec::Vp8, ..good_window() };
        let s = scored(score_video_window(&vp8, &config));
        assert!(s.warnings.contains(&ModelWarning::CodecTreatedAsH264));
        assert_eq!(s.codec_correction, CodecCorrection::TreatedAsH264);
        assert_eq!(VideoCodec::from_mime_type("video/VP9"), Ok(VideoCodec::Vp9));
        assert_eq!(VideoCodec::from_mime_type("video/H264"), Ok(VideoCodec::H264));
        assert_eq!(VideoCodec::from_id("hevc"), Ok(VideoCodec::H265));
        assert!(VideoCodec::from_mime_type("audio/opus").is_err());
    }

    #[test]
    fn upscaling_penalised() {
        let native = mode0(1280.0 * 720.0, 1280.0 * 720.0, 1500.0, 30.0).o22;
        let upscaled = mode0(1280.0 * 720.0, 1920.0 * 1080.0, 1500.0, 30.0).o22;
        let downscaled = mode0(1280.0 * 720.0, 640.0 * 360.0, 1500.0, 30.0).o22;
        assert!(upscaled < native);
        close(downscaled, native, 0.0);
    }
}
