//! Explicit-parameter entry points for a command line.
//!
//! Unlike the WebRTC adapters, these take the model parameters directly: the audio delay
//! is G.107's one-way absolute delay Ta, with **no** adapter constants (codec delay,
//! device latency, jitter buffer) added. Each function validates every parameter and
//! returns either a serialisable report or a [`ParamError`] naming the parameter, its valid
//! range and the value given. Values that are valid but outside a model's stated validity
//! produce warnings in the report, not errors.

use serde::Serialize;

use crate::codecs::AudioCodec;
use crate::emodel::{Category, EModelParams, r_factor};
use crate::error::ParamError;
use crate::outcome::{AudioBands, Label, ModelWarning, VideoBands};
use crate::video::{CodecCorrection, P1203Inputs, VideoCodec, codec_adjusted, p1203_mode0};

/// Largest accepted one-way delay, ms: a sanity bound (ten seconds is not a call), not a
/// model limit.
pub const MAX_DELAY_MS: f64 = 10_000.0;

/// Explicit E-model parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioModelParams {
    /// Codec id from [`crate::codecs`], e.g. `opus`.
    pub codec: String,
    /// Random packet loss Ppl, percent, 0–100.
    pub loss_percent: f64,
    /// One-way absolute delay Ta, ms, as G.107 defines it. The echo paths are set to
    /// `T = Ta`, `Tr = 2·Ta` (doc §4.1.1).
    pub delay_ms: f64,
    /// Burst ratio (≥ 1). Default 1 (random loss).
    pub burst_r: Option<f64>,
    /// Advantage factor A, 0–20. Default 0.
    pub advantage: Option<f64>,
}

/// The E-model's sub-terms, for reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EModelComponents {
    /// Ro.
    pub ro: f64,
    /// Is.
    pub is: f64,
    /// Id.
    pub id: f64,
    /// Idte.
    pub idte: f64,
    /// Idle.
    pub idle: f64,
    /// Idd.
    pub idd: f64,
    /// Ie,eff.
    pub ie_eff: f64,
}

/// Result of [`evaluate_audio`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AudioModelReport {
    /// Model name.
    pub model: &'static str,
    /// Codec id.
    pub codec: AudioCodec,
    /// Ie used.
    pub ie: f64,
    /// Bpl used.
    pub bpl: f64,
    /// Where Ie and Bpl come from.
    pub codec_citation: &'static str,
    /// Ppl, percent.
    pub loss_percent: f64,
    /// Ta, ms.
    pub delay_ms: f64,
    /// BurstR.
    pub burst_r: f64,
    /// A.
    pub advantage: f64,
    /// How the echo-path delays were set.
    pub echo_assumption: &'static str,
    /// Sub-terms.
    pub components: EModelComponents,
    /// R.
    pub r: f64,
    /// MOS (G.107 Annex B).
    pub mos: f64,
    /// G.109 category.
    pub category: Category,
    /// G.109 user satisfaction.
    pub user_satisfaction: &'static str,
    /// Label with the default bands (good ≥ 80, fair ≥ 60).
    pub label: Label,
    /// Caveats.
    pub warnings: Vec<ModelWarning>,
}

fn out_of_range(param: &'static str, range: &'static str, value: f64) -> ParamError {
    ParamError::OutOfRange { param, range, value }
}

/// Evaluates the G.107 E-model for explicit parameters.
pub fn evaluate_audio(p: &AudioModelParams) -> Result<AudioModelReport, ParamError> {
    let codec = AudioCodec::from_id(&p.codec)?;
    if !(p.loss_percent.is_finite() && (0.0..=100.0).contains(&p.loss_percent)) {
        return Err(out_of_range("loss", "0–100 %", p.loss_percent));
    }
    if !(p.delay_ms.is_finite() && (0.0..=MAX_DELAY_MS).contains(&p.delay_ms)) {
        return Err(out_of_range("delay", "0–10000 ms", p.delay_ms));
    }
    let burst_r = p.burst_r.unwrap_or(1.0);
    if !(burst_r.is_finite() && burst_r >= 1.0) {
        return Err(out_of_range("burst-r", "a finite number ≥ 1", burst_r));
    }
    let advantage = p.advantage.unwrap_or(0.0);
    if !(advantage.is_finite() && (0.0..=20.0).contains(&advantage)) {
        return Err(out_of_range("advantage", "0–20 (G.107 Table 2)", advantage));
    }

    let mut warnings = Vec::new();
    if p.loss_percent > 20.0 {
        warnings.push(ModelWarning::LossBeyondG107Validity { ppl_percent: p.loss_percent });
    }
    if p.delay_ms > 400.0 {
        warnings.push(ModelWarning::DelayAboveG114Limit { ta_ms: p.delay_ms });
    }
    if burst_r > 4.0 {
        warnings.push(ModelWarning::BurstRAboveAdapterRange { burst_r });
    }

    let row = codec.params();
    let params = EModelParams {
        a: advantage,
        ..EModelParams::default().with_one_way_delay(p.delay_ms).with_loss(
            row.ie,
            row.bpl,
            p.loss_percent,
            burst_r,
        )
    };
    let b = r_factor(&params);
    let category = Category::from_r(b.r);
    Ok(AudioModelReport {
        model: "ITU-T G.107 (06/2015) E-model, narrowband",
        codec,
        ie: row.ie,
        bpl: row.bpl,
        codec_citation: row.citation,
        loss_percent: p.loss_percent,
        delay_ms: p.delay_ms,
        burst_r,
        advantage,
        echo_assumption: "T = Ta, Tr = 2·Ta, TELR 65 dB, WEPL 110 dB (echo handled by AEC)",
        components: EModelComponents {
            ro: b.ro,
            is: b.is,
            id: b.id,
            idte: b.idte,
            idle: b.idle,
            idd: b.idd,
            ie_eff: b.ie_eff,
        },
        r: b.r,
        mos: b.mos(),
        category,
        user_satisfaction: category.user_satisfaction(),
        label: AudioBands::default().label(b.r),
        warnings,
    })
}

/// Explicit P.1203.1 mode 0 parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoModelParams {
    /// Codec id: `h264`, `h265`, `vp9`, `vp8`, `av1`.
    pub codec: String,
    /// Coded width, pixels (> 0).
    pub width: u32,
    /// Coded height, pixels (> 0).
    pub height: u32,
    /// Bitrate, kbit/s (> 0).
    pub bitrate_kbps: f64,
    /// Frame rate (> 0).
    pub fps: f64,
    /// Display width; defaults to `width`. Must come with `display_height`.
    pub display_width: Option<u32>,
    /// Display height; defaults to `height`. Must come with `display_width`.
    pub display_height: Option<u32>,
}

/// Result of [`evaluate_video`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VideoModelReport {
    /// Model name.
    pub model: &'static str,
    /// Codec.
    pub codec: VideoCodec,
    /// How the codec was handled.
    pub codec_correction: CodecCorrection,
    /// Coded width.
    pub width: u32,
    /// Coded height.
    pub height: u32,
    /// Display width used.
    pub display_width: u32,
    /// Display height used.
    pub display_height: u32,
    /// Bitrate, kbit/s.
    pub bitrate_kbps: f64,
    /// Frame rate.
    pub fps: f64,
    /// Quantisation estimate.
    pub quant: f64,
    /// Coding-only MOS.
    pub mos_q: f64,
    /// Coding degradation.
    pub d_q: f64,
    /// Upscaling degradation.
    pub d_u: f64,
    /// Frame-rate degradation.
    pub d_t: f64,
    /// O22 as calibrated for H.264.
    pub o22_h264: f64,
    /// Final score (O22 after codec correction), 1–5.
    pub score: f64,
    /// Label with the default bands (good ≥ 4.0, fair ≥ 3.0); no freezes assumed.
    pub label: Label,
    /// Caveats.
    pub warnings: Vec<ModelWarning>,
}

/// Evaluates P.1203.1 mode 0 (plus the codec correction) for explicit parameters.
pub fn evaluate_video(p: &VideoModelParams) -> Result<VideoModelReport, ParamError> {
    let codec = VideoCodec::from_id(&p.codec)?;
    for (param, v) in [("width", p.width), ("height", p.height)] {
        if v == 0 {
            return Err(out_of_range(param, "> 0 pixels", 0.0));
        }
    }
    if !(p.bitrate_kbps.is_finite() && p.bitrate_kbps > 0.0) {
        return Err(out_of_range("bitrate", "> 0 kbit/s", p.bitrate_kbps));
    }
    if !(p.fps.is_finite() && p.fps > 0.0) {
        return Err(out_of_range("fps", "> 0 frames/s", p.fps));
    }
    let (display_width, display_height) = match (p.display_width, p.display_height) {
        (None, None) => (p.width, p.height),
        (Some(w), Some(h)) => (w, h),
        (Some(_), None) => {
            return Err(ParamError::Incomplete { param: "display-width", requires: "display-height" });
        }
        (None, Some(_)) => {
            return Err(ParamError::Incomplete { param: "display-height", requires: "display-width" });
        }
    };
    for (param, v) in [("display-width", display_width), ("display-height", display_height)] {
        if v == 0 {
            return Err(out_of_range(param, "> 0 pixels", 0.0));
        }
    }

    let mut warnings = Vec::new();
    match codec.correction() {
        CodecCorrection::None => {}
        CodecCorrection::NonStandardCubic => warnings.push(ModelWarning::NonStandardCodecCorrection),
        CodecCorrection::TreatedAsH264 => warnings.push(ModelWarning::CodecTreatedAsH264),
    }
    let b = p1203_mode0(&P1203Inputs {
        bitrate_kbps: p.bitrate_kbps,
        fps: p.fps,
        coded_pixels: f64::from(p.width) * f64::from(p.height),
        display_pixels: f64::from(display_width) * f64::from(display_height),
    });
    let score = codec_adjusted(codec, b.o22);
    Ok(VideoModelReport {
        model: "ITU-T P.1203.1 mode 0 (O22)",
        codec,
        codec_correction: codec.correction(),
        width: p.width,
        height: p.height,
        display_width,
        display_height,
        bitrate_kbps: p.bitrate_kbps,
        fps: p.fps,
        quant: b.quant,
        mos_q: b.mos_q,
        d_q: b.d_q,
        d_u: b.d_u,
        d_t: b.d_t,
        o22_h264: b.o22,
        score,
        label: VideoBands::default().label(score),
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(actual: f64, expected: f64, tol: f64) {
        assert!((actual - expected).abs() <= tol, "expected {expected} ± {tol}, got {actual}");
    }

    fn audio(codec: &str, loss: f64, delay: f64) -> AudioModelParams {
        AudioModelParams {
            codec: codec.to_owned(),
            loss_percent: loss,
            delay_ms: delay,
            burst_r: None,
            advantage: None,
        }
    }

    #[test]
    fn audio_defaults_reproduce_g107() {
        // Ta = 0, no loss, G.711: R = 93.206 (doc §1.1), MOS 4.409 (doc §1.2).
        let r = evaluate_audio(&audio("g711-plc", 0.0, 0.0)).expect("valid");
        close(r.r, 93.206, 5e-4);
        close(r.mos, 4.409, 5e-4);
        assert_eq!(r.category, Category::Best);
        assert_eq!(r.label, Label::Good);
        assert!(r.warnings.is_empty());
    }

    #[test]
    fn audio_delay_is_used_as_given() {
        // No codec or device latency is added: Ta = 150 ms → Idd = 0.16353 (by hand, see
        // emodel tests) and R equals the core model at T = Ta = 150, Tr = 300.
        let r = evaluate_audio(&audio("opus", 0.0, 150.0)).expect("valid");
        close(r.components.idd, 0.16353, 5e-5);
        let core = r_factor(&EModelParams::default().with_one_way_delay(150.0));
        close(r.r, core.r, 1e-12);
    }

    #[test]
    fn audio_g729a_two_percent() {
        // Doc §1.5: G.729A + VAD at 2 % random loss → Ie,eff = 19.00.
        let r = evaluate_audio(&audio("g729a", 2.0, 0.0)).expect("valid");
        close(r.components.ie_eff, 19.0, 1e-9);
        close(r.r, 93.206_208 - 19.0, 1e-3);
    }

    #[test]
    fn audio_errors_name_parameter_range_and_value() {
        let err = evaluate_audio(&audio("opus", 120.0, 0.0)).expect_err("invalid");
        assert_eq!(err, ParamError::OutOfRange { param: "loss", range: "0–100 %", value: 120.0 });
        assert_eq!(err.to_string(), "loss must be 0–100 %, got 120");
        let err = evaluate_audio(&audio("opus", 1.0, -5.0)).expect_err("invalid");
        assert!(err.to_string().starts_with("delay must be"));
        let err = evaluate_audio(&audio("opus", f64::NAN, 0.0)).expect_err("invalid");
        assert!(matches!(err, ParamError::OutOfRange { param: "loss", .. }));
        let err = evaluate_audio(&AudioModelParams { burst_r: Some(0.5), ..audio("opus", 1.0, 0.0) })
            .expect_err("invalid");
        assert!(matches!(err, ParamError::OutOfRange { param: "burst-r", .. }));
        let err = evaluate_audio(&AudioModelParams { advantage: Some(25.0), ..audio("opus", 1.0, 0.0) })
            .expect_err("invalid");
        assert!(matches!(err, ParamError::OutOfRange { param: "advantage", .. }));
        let err = evaluate_audio(&audio("amr", 1.0, 0.0)).expect_err("invalid");
        assert!(err.to_string().contains("opus-fec"));
    }

    #[test]
    fn audio_validity_warnings() {
        let r = evaluate_audio(&AudioModelParams { burst_r: Some(5.0), ..audio("opus", 25.0, 450.0) })
            .expect("valid");
        assert_eq!(r.warnings.len(), 3);
        assert!(r.warnings.contains(&ModelWarning::LossBeyondG107Validity { ppl_percent: 25.0 }));
    }

    fn video(codec: &str) -> VideoModelParams {
        VideoModelParams {
            codec: codec.to_owned(),
            width: 1920,
            height: 1080,
            bitrate_kbps: 2_801.275_876_23,
            fps: 30.0,
            display_width: None,
            display_height: None,
        }
    }

    #[test]
    fn video_reference_vector_and_display_default() {
        // itu-p1203 test/test.py mode-0 vector 1: 1080p, 2801.28 kbit/s, 30 fps → 4.311.
        let r = evaluate_video(&video("h264")).expect("valid");
        close(r.score, 4.311, 5e-4);
        assert_eq!((r.display_width, r.display_height), (1920, 1080));
        assert_eq!(r.label, Label::Good);
        // Vector 2: 852×480 shown at 1080p, 629.2 kbit/s → 2.664.
        let r = evaluate_video(&VideoModelParams {
            width: 852,
            height: 480,
            bitrate_kbps: 629.203_792_838,
            display_width: Some(1920),
            display_height: Some(1080),
            ..video("h264")
        })
        .expect("valid");
        close(r.score, 2.664, 5e-4);
    }

    #[test]
    fn video_errors() {
        let err = evaluate_video(&VideoModelParams { fps: 0.0, ..video("h264") }).expect_err("invalid");
        assert_eq!(err.to_string(), "fps must be > 0 frames/s, got 0");
        let err =
            evaluate_video(&VideoModelParams { bitrate_kbps: -1.0, ..video("h264") }).expect_err("invalid");
        assert!(matches!(err, ParamError::OutOfRange { param: "bitrate", .. }));
        let err = evaluate_video(&VideoModelParams { width: 0, ..video("h264") }).expect_err("invalid");
        assert!(matches!(err, ParamError::OutOfRange { param: "width", .. }));
        let err = evaluate_video(&VideoModelParams { display_width: Some(1280), ..video("h264") })
            .expect_err("invalid");
        assert!(matches!(err, ParamError::Incomplete { .. }));
        assert!(evaluate_video(&video("theora")).is_err());
    }

    #[test]
    fn video_codec_warnings_and_json() {
        let r = evaluate_video(&video("vp9")).expect("valid");
        assert_eq!(r.warnings, vec![ModelWarning::NonStandardCodecCorrection]);
        assert!(r.score > r.o22_h264);
        let json = serde_json::to_value(&r).expect("serialise");
        assert_eq!(json["codec"], "vp9");
        assert_eq!(json["codec_correction"], "non_standard_cubic");
        assert_eq!(json["warnings"][0]["kind"], "non_standard_codec_correction");
        // Opus + FEC (Bpl 20), 1 % loss, Ta 100 ms: R = 86.1399 by the Python transcription.
        let r = evaluate_audio(&audio("opus-fec", 1.0, 100.0)).expect("valid");
        close(r.r, 86.1399, 1e-4);
        let json = serde_json::to_value(&r).expect("serialise");
        assert_eq!(json["codec"], "opus-fec");
        assert_eq!(json["category"], "high");
    }
}
