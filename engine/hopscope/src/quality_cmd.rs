//! `hopscope quality`: the models from explicit parameters, to check them by hand.

use std::process::ExitCode;

use hopscope_score::params::{AudioModelParams, VideoModelParams, evaluate_audio, evaluate_video};

use crate::cli::{OutputFormat, QualityArgs, QualityModel};

pub fn run(args: &QualityArgs) -> anyhow::Result<ExitCode> {
    match &args.model {
        QualityModel::Audio { codec, loss, delay, burst_r, advantage } => {
            let params = AudioModelParams {
                codec: codec.clone(),
                loss_percent: *loss,
                delay_ms: *delay,
                burst_r: *burst_r,
                advantage: *advantage,
            };
            let report = match evaluate_audio(&params) {
                Ok(r) => r,
                Err(e) => return invalid(&e.to_string()),
            };
            match args.format {
                OutputFormat::Json => outln!("{}", serde_json::to_string_pretty(&report)?),
                OutputFormat::Text => {
                    let c = &report.components;
                    outln!(
                        "{} — codec {} (Ie {}, Bpl {})",
                        report.model,
                        report.codec,
                        report.ie,
                        report.bpl
                    );
                    outln!(
                        "  inputs: Ppl {} %, Ta {} ms, BurstR {}, A {}",
                        report.loss_percent,
                        report.delay_ms,
                        report.burst_r,
                        report.advantage
                    );
                    outln!(
                        "  Ro {:.3}  Is {:.3}  Id {:.3} (Idte {:.3}, Idle {:.3}, Idd {:.3})  Ie,eff {:.3}",
                        c.ro,
                        c.is,
                        c.id,
                        c.idte,
                        c.idle,
                        c.idd,
                        c.ie_eff
                    );
                    outln!("  R    {:.2}", report.r);
                    outln!("  MOS  {:.2}", report.mos);
                    outln!(
                        "  category: {} ({}); label {}",
                        report.category.as_str(),
                        report.user_satisfaction,
                        report.label.as_str()
                    );
                    outln!("  codec parameters: {}", report.codec_citation);
                    outln!("  {}", report.echo_assumption);
                    for w in &report.warnings {
                        outln!("  warning: {}", serde_json::to_string(w)?);
                    }
                }
            }
        }
        QualityModel::Video { codec, width, height, bitrate, fps, display_width, display_height } => {
            let params = VideoModelParams {
                codec: codec.clone(),
                width: *width,
                height: *height,
                bitrate_kbps: *bitrate,
                fps: *fps,
                display_width: *display_width,
                display_height: *display_height,
            };
            let report = match evaluate_video(&params) {
                Ok(r) => r,
                Err(e) => return invalid(&e.to_string()),
            };
            match args.format {
                OutputFormat::Json => outln!("{}", serde_json::to_string_pretty(&report)?),
                OutputFormat::Text => {
                    outln!("{} — codec {:?}", report.model, report.codec);
                    outln!(
                        "  inputs: {}×{} coded, {}×{} displayed, {} kbit/s, {} fps",
                        report.width,
                        report.height,
                        report.display_width,
                        report.display_height,
                        report.bitrate_kbps,
                        report.fps
                    );
                    outln!(
                        "  quant {:.4}  MOSq {:.3}  Dq {:.2}  Du {:.2}  Dt {:.2}",
                        report.quant,
                        report.mos_q,
                        report.d_q,
                        report.d_u,
                        report.d_t
                    );
                    outln!("  O22 (H.264 calibration) {:.3}", report.o22_h264);
                    outln!(
                        "  score {:.2} ({:?}); label {}",
                        report.score,
                        report.codec_correction,
                        report.label.as_str()
                    );
                    for w in &report.warnings {
                        outln!("  warning: {}", serde_json::to_string(w)?);
                    }
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn invalid(message: &str) -> anyhow::Result<ExitCode> {
    eprintln!("error: {message}");
    Ok(ExitCode::from(2))
}
