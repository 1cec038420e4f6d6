//! Labels, band edges, exclusion reasons and warnings shared by the audio and video
//! adapters, the aggregator and the command-line entry points (doc §4.1.6, §4.2.4, §4.3).

use serde::Serialize;

/// The three-level quality label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Label {
    /// Good quality.
    Good,
    /// Fair quality.
    Fair,
    /// Poor quality.
    Poor,
}

impl Label {
    /// Stable lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Good => "good",
            Self::Fair => "fair",
            Self::Poor => "poor",
        }
    }

    /// The worse of two labels (Poor is worst).
    pub fn worst(self, other: Self) -> Self {
        self.max(other)
    }
}

/// Audio label band edges on the narrowband R scale (doc §4.1.6, from G.109 / G.107
/// Table B.1): good = R ≥ 80 (MOS ≥ 4.03), fair = 60 ≤ R < 80, poor = R < 60 (MOS < 3.10).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AudioBands {
    /// Lowest R labelled good. Default 80.
    pub good_min_r: f64,
    /// Lowest R labelled fair. Default 60.
    pub fair_min_r: f64,
}

impl Default for AudioBands {
    fn default() -> Self {
        Self { good_min_r: 80.0, fair_min_r: 60.0 }
    }
}

impl AudioBands {
    /// Label for an R value.
    pub fn label(&self, r: f64) -> Label {
        if r >= self.good_min_r {
            Label::Good
        } else if r >= self.fair_min_r {
            Label::Fair
        } else {
            Label::Poor
        }
    }
}

/// Video label band edges on the 1–5 quality scale (doc §4.2.4): good = Q ≥ 4.0 and
/// freeze ratio < 1 %, fair = 3.0 ≤ Q (and not good), poor = Q < 3.0.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct VideoBands {
    /// Lowest Q labelled good. Default 4.0.
    pub good_min_q: f64,
    /// Lowest Q labelled fair. Default 3.0.
    pub fair_min_q: f64,
    /// A window is good only if its freeze ratio is below this. Default 0.01.
    pub good_max_freeze_ratio: f64,
}

impl Default for VideoBands {
    fn default() -> Self {
        Self { good_min_q: 4.0, fair_min_q: 3.0, good_max_freeze_ratio: 0.01 }
    }
}

impl VideoBands {
    /// Label for a Q value alone (used for means, where no single freeze ratio applies).
    pub fn label(&self, q: f64) -> Label {
        if q >= self.good_min_q {
            Label::Good
        } else if q >= self.fair_min_q {
            Label::Fair
        } else {
            Label::Poor
        }
    }

    /// Label for one window: Q bands plus the freeze condition for good.
    pub fn window_label(&self, q: f64, freeze_ratio: f64) -> Label {
        match self.label(q) {
            Label::Good if freeze_ratio >= self.good_max_freeze_ratio => Label::Fair,
            label => label,
        }
    }
}

/// Why a window was left out of scoring. Excluded windows are neither perfect nor broken:
/// nobody was talking or sending, so there was nothing to judge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExclusionReason {
    /// The caller says the sender was muted, inactive or not talking.
    SenderInactive,
    /// No packets arrived and none were reported lost.
    NoPacketsReceived,
    /// Audio: the receiver played out no samples in the window.
    NoSamplesPlayedOut,
    /// Audio: the window is dominated by silent concealment (DTX comfort noise), with no
    /// sign of network loss.
    Dtx,
    /// Audio: the played-out level is at or below the silence threshold, with no sign of
    /// network loss.
    Silence,
    /// Video: no bytes and no frames arrived (camera off or track stopped).
    NoVideo,
}

impl ExclusionReason {
    /// Stable human-readable description.
    pub fn description(self) -> &'static str {
        match self {
            Self::SenderInactive => "sender inactive (muted or not talking, per caller hint)",
            Self::NoPacketsReceived => "no packets received and none reported lost",
            Self::NoSamplesPlayedOut => "no audio samples played out",
            Self::Dtx => "DTX: mostly silent concealment and no network loss",
            Self::Silence => "silence: audio level at or below threshold and no network loss",
            Self::NoVideo => "no video bytes and no frames (camera off or track stopped)",
        }
    }
}

/// A caveat attached to a score. The score stands; the warning says how far to trust it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ModelWarning {
    /// G.107 states validity of the loss term only up to about 20 % Ppl.
    LossBeyondG107Validity {
        /// The Ppl used, percent.
        ppl_percent: f64,
    },
    /// One-way delay above 400 ms: G.114 calls this unacceptable for network planning.
    DelayAboveG114Limit {
        /// The Ta used, ms.
        ta_ms: f64,
    },
    /// BurstR above the range the WebRTC adapter trusts (it clamps to 4).
    BurstRAboveAdapterRange {
        /// The BurstR given.
        burst_r: f64,
    },
    /// `silentConcealedSamples` was missing, so all concealment counted as loss.
    SilentConcealedSamplesMissing,
    /// The jitter-buffer delay was the configured fallback, not a measurement.
    JitterBufferDelayAssumed {
        /// The fallback used, ms.
        assumed_ms: f64,
    },
    /// VP9 / H.265: TU Ilmenau's cubic correction was applied; not ITU-T P.1203 compliant.
    NonStandardCodecCorrection,
    /// VP8 / AV1: no published mapping, scored as if H.264.
    CodecTreatedAsH264,
    /// Screen content: P.1203 was calibrated on camera-like video.
    ScreenContentNotCalibrated,
    /// Freeze statistics were missing, so no freeze penalty was applied.
    FreezeStatsMissing,
    /// The reported freeze time exceeded the window (a freeze that began earlier); the
    /// freeze ratio was clamped to 1.
    FreezeRatioClamped {
        /// The unclamped ratio.
        raw_ratio: f64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_band_edges() {
        let b = AudioBands::default();
        assert_eq!(b.label(80.0), Label::Good);
        assert_eq!(b.label(79.99), Label::Fair);
        assert_eq!(b.label(60.0), Label::Fair);
        assert_eq!(b.label(59.99), Label::Poor);
    }

    #[test]
    fn video_band_edges_and_freeze_condition() {
        let b = VideoBands::default();
        assert_eq!(b.window_label(4.2, 0.0), Label::Good);
        assert_eq!(b.window_label(4.2, 0.01), Label::Fair);
        assert_eq!(b.window_label(3.0, 0.0), Label::Fair);
        assert_eq!(b.window_label(2.99, 0.0), Label::Poor);
    }

    #[test]
    fn worst_label() {
        assert_eq!(Label::Good.worst(Label::Poor), Label::Poor);
        assert_eq!(Label::Fair.worst(Label::Good), Label::Fair);
    }
}
