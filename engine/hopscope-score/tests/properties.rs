//! Property tests over the public API: monotonicity, bounds and round trips.
//!
//! Delay properties start at 1 ms: below ~0.85 ms G.107's talker-echo term is slightly
//! negative and R rises by ≤ 0.06 (a property of the standard, pinned by a unit test in
//! `emodel`).

use hopscope_score::audio::{AudioAdapterConfig, AudioWindowInputs, score_audio_window};
use hopscope_score::codecs::AudioCodec;
use hopscope_score::emodel::{mos_from_r, r_from_mos};
use hopscope_score::params::{AudioModelParams, VideoModelParams, evaluate_audio, evaluate_video};
use hopscope_score::video::{VideoAdapterConfig, VideoCodec, VideoWindowInputs, score_video_window};
use proptest::prelude::*;

const EPS: f64 = 1e-9;

fn audio_codec() -> impl Strategy<Value = AudioCodec> {
    proptest::sample::select(AudioCodec::ALL.to_vec())
}

fn video_codec() -> impl Strategy<Value = VideoCodec> {
    proptest::sample::select(VideoCodec::ALL.to_vec())
}

fn audio_mos(codec: AudioCodec, loss: f64, delay: f64, burst_r: f64, a: f64) -> f64 {
    let report = evaluate_audio(&AudioModelParams {
        codec: codec.id().to_owned(),
        loss_percent: loss,
        delay_ms: delay,
        burst_r: Some(burst_r),
        advantage: Some(a),
    });
    match report {
        Ok(r) => r.mos,
        Err(e) => panic!("valid parameters rejected: {e}"),
    }
}

fn video_score(
    codec: VideoCodec,
    (width, height): (u32, u32),
    bitrate_kbps: f64,
    fps: f64,
    display: (u32, u32),
) -> f64 {
    let report = evaluate_video(&VideoModelParams {
        codec: codec.id().to_owned(),
        width,
        height,
        bitrate_kbps,
        fps,
        display_width: Some(display.0),
        display_height: Some(display.1),
    });
    match report {
        Ok(r) => r.score,
        Err(e) => panic!("valid parameters rejected: {e}"),
    }
}

proptest! {
    #[test]
    fn audio_mos_non_increasing_in_loss(
        codec in audio_codec(),
        l1 in 0.0..=100.0f64,
        l2 in 0.0..=100.0f64,
        delay in 1.0..=2000.0f64,
        burst_r in 1.0..=4.0f64,
    ) {
        let (lo, hi) = if l1 <= l2 { (l1, l2) } else { (l2, l1) };
        let better = audio_mos(codec, lo, delay, burst_r, 0.0);
        let worse = audio_mos(codec, hi, delay, burst_r, 0.0);
        prop_assert!(worse <= better + EPS, "{codec}: MOS {worse} at {hi} % > {better} at {lo} %");
    }

    #[test]
    fn audio_mos_non_increasing_in_delay(
        codec in audio_codec(),
        d1 in 1.0..=10_000.0f64,
        d2 in 1.0..=10_000.0f64,
        loss in 0.0..=100.0f64,
    ) {
        let (lo, hi) = if d1 <= d2 { (d1, d2) } else { (d2, d1) };
        let better = audio_mos(codec, loss, lo, 1.0, 0.0);
        let worse = audio_mos(codec, loss, hi, 1.0, 0.0);
        prop_assert!(worse <= better + EPS, "{codec}: MOS {worse} at {hi} ms > {better} at {lo} ms");
    }

    #[test]
    fn audio_mos_bounded(
        codec in audio_codec(),
        loss in 0.0..=100.0f64,
        delay in 0.0..=10_000.0f64,
        burst_r in 1.0..=50.0f64,
        a in 0.0..=20.0f64,
    ) {
        let mos = audio_mos(codec, loss, delay, burst_r, a);
        prop_assert!((1.0..=4.5).contains(&mos), "MOS {mos}");
    }

    #[test]
    fn mos_from_r_bounded_everywhere(r in -1.0e6..1.0e6f64) {
        let mos = mos_from_r(r);
        prop_assert!((1.0..=4.5).contains(&mos));
    }

    #[test]
    fn r_mos_round_trip(r in 6.52..=100.0f64) {
        // Below 80 − √5400 ≈ 6.5153 Annex B is clamped to 1, so no inverse exists there.
        let back = r_from_mos(mos_from_r(r));
        prop_assert!(matches!(back, Ok(b) if (b - r).abs() < 1e-6), "{r} → {back:?}");
    }

    #[test]
    fn video_score_bounded(
        codec in video_codec(),
        width in 16u32..=3840,
        height in 16u32..=2160,
        bitrate in 1.0..=50_000.0f64,
        fps in 0.5..=120.0f64,
        display_scale in 0.25..=4.0f64,
    ) {
        let display = (
            ((f64::from(width) * display_scale) as u32).max(1),
            ((f64::from(height) * display_scale) as u32).max(1),
        );
        let q = video_score(codec, (width, height), bitrate, fps, display);
        prop_assert!((1.0..=5.0).contains(&q), "Q {q}");
    }

    #[test]
    fn video_score_non_decreasing_in_bitrate(
        codec in video_codec(),
        width in 16u32..=3840,
        height in 16u32..=2160,
        b1 in 1.0..=50_000.0f64,
        b2 in 1.0..=50_000.0f64,
        fps in 0.5..=120.0f64,
        display_scale in 0.25..=4.0f64,
    ) {
        let (lo, hi) = if b1 <= b2 { (b1, b2) } else { (b2, b1) };
        let display = (
            ((f64::from(width) * display_scale) as u32).max(1),
            ((f64::from(height) * display_scale) as u32).max(1),
        );
        let worse = video_score(codec, (width, height), lo, fps, display);
        let better = video_score(codec, (width, height), hi, fps, display);
        prop_assert!(better + EPS >= worse, "{codec:?}: {better} at {hi} < {worse} at {lo}");
    }

    #[test]
    fn adapter_r_non_increasing_in_rtt(
        codec in audio_codec(),
        rtt1 in 0.0..=3.0f64,
        rtt2 in 0.0..=3.0f64,
        concealed in 0u64..=48_000,
    ) {
        let (lo, hi) = if rtt1 <= rtt2 { (rtt1, rtt2) } else { (rtt2, rtt1) };
        let window = |rtt: f64| AudioWindowInputs {
            rtt_s: Some(rtt),
            jitter_buffer_delay_s: Some(0.03),
            concealed_samples: Some(concealed),
            silent_concealed_samples: Some(0),
            total_samples_received: Some(48_000),
            packets_received: Some(50),
            packets_lost: Some(0),
            ..AudioWindowInputs::new(1.0, codec)
        };
        let config = AudioAdapterConfig::default();
        let r = |rtt| score_audio_window(&window(rtt), &config).scored().map(|s| s.r);
        match (r(lo), r(hi)) {
            (Some(better), Some(worse)) => prop_assert!(worse <= better + EPS),
            other => prop_assert!(false, "not scored: {other:?}"),
        }
    }

    #[test]
    fn adapter_video_q_bounded(
        codec in video_codec(),
        bitrate in 1.0..=20_000.0f64,
        fps in 0.0..=60.0f64,
        freeze in 0.0..=10.0f64,
        freezes in 0u64..=5,
    ) {
        let inputs = VideoWindowInputs {
            bitrate_kbps: Some(bitrate),
            width: Some(1280),
            height: Some(720),
            fps: Some(fps),
            freeze_count: Some(freezes),
            freeze_duration_s: Some(freeze),
            ..VideoWindowInputs::new(5.0, codec)
        };
        let scored = score_video_window(&inputs, &VideoAdapterConfig::default());
        let q = scored.scored().map(|s| s.q);
        prop_assert!(matches!(q, Some(q) if (1.0..=5.0).contains(&q)), "{scored:?}");
    }
}
