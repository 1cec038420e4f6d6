//! Pure, deterministic call-quality models for hopscope.
//!
//! The specification is `shared/docs/quality-models.md` ("the doc" in comments below);
//! section numbers such as §4.1.3 refer to it.
//!
//! - [`emodel`]: ITU-T G.107 (06/2015) narrowband E-model, full form, plus R↔MOS and the
//!   G.109 categories.
//! - [`codecs`]: the single table of audio codec parameters (Ie, Bpl) with citations.
//! - [`audio`]: turns one window of WebRTC audio statistics into an E-model score.
//! - [`video`]: ITU-T P.1203.1 mode 0 plus the freeze and frame-rate guards.
//! - [`aggregate`]: per-stream, per-participant and per-conference summaries.
//! - [`params`]: validated explicit-parameter entry points for a command line.
//! - [`outcome`]: labels, band edges, exclusion reasons and warnings shared by the above.
//! - [`webrtc`]: scores a whole conference from the model, stream by stream and window by
//!   window, then per participant and per conference.
//!
//! Nothing here does IO, reads a clock or spawns tasks: the same inputs always give the
//! same outputs.

#![deny(missing_docs)]

pub mod aggregate;
pub mod audio;
pub mod codecs;
pub mod emodel;
pub mod error;
pub mod outcome;
pub mod params;
pub mod video;
pub mod webrtc;

pub use aggregate::{
    AggregateConfig, ConferenceSummary, ParticipantSummary, StreamSummary, summarize_audio,
    summarize_audio_streams, summarize_conference, summarize_participant, summarize_video,
    summarize_video_streams,
};
pub use audio::{AudioAdapterConfig, AudioWindowInputs, AudioWindowScore, score_audio_window};
pub use codecs::{AudioCodec, CodecParams, audio_codec_from_webrtc};
pub use emodel::{Category, EModelParams, RFactorBreakdown, mos_from_r, r_factor, r_from_mos};
pub use error::{ModelError, ParamError, UnknownCodecError};
pub use outcome::{AudioBands, ExclusionReason, Label, ModelWarning, VideoBands};
pub use params::{
    AudioModelParams, AudioModelReport, VideoModelParams, VideoModelReport, evaluate_audio, evaluate_video,
};
pub use video::{VideoAdapterConfig, VideoCodec, VideoWindowInputs, VideoWindowScore, score_video_window};
pub use webrtc::{ConferenceQuality, ParticipantQuality, QualityConfig, StreamQuality, score_conference};
