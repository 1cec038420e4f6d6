//! Aggregation over windows, streams, participants and a conference (doc §4.3).
//!
//! - Means are time-weighted over *scored* time and taken on the linear scale: R for audio
//!   (then the MOS of the mean R, never the mean of MOS, which is non-linear), Q for video.
//! - Excluded windows (DTX, muted, video off) carry no weight; unknown windows carry none
//!   either, and both are counted with their reasons so gaps stay visible.
//! - Next to the mean: the share of scored time labelled poor and a time-weighted p10,
//!   because a linear mean hides bad stretches.
//! - A stream or participant is poor if ≥ 10 % of its scored time is poor or the label of
//!   its mean is poor (doc §4.3); otherwise it takes the label of its mean.

use serde::Serialize;

use crate::audio::AudioWindowScore;
use crate::emodel::mos_from_r;
use crate::outcome::{AudioBands, ExclusionReason, Label, VideoBands};
use crate::video::VideoWindowScore;

/// Aggregation settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AggregateConfig {
    /// Audio band edges, applied to the mean R.
    pub audio_bands: AudioBands,
    /// Video band edges, applied to the mean Q.
    pub video_bands: VideoBands,
    /// Share of scored time labelled poor at or above which the whole is poor. Default 0.10.
    pub poor_share_threshold: f64,
}

impl Default for AggregateConfig {
    fn default() -> Self {
        Self {
            audio_bands: AudioBands::default(),
            video_bands: VideoBands::default(),
            poor_share_threshold: 0.10,
        }
    }
}

/// Which medium a summary is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Media {
    /// Audio: values are narrowband R.
    Audio,
    /// Video: values are Q on 1–5.
    Video,
}

/// How many windows (and how much time) share one exclusion or unknown reason.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReasonCount {
    /// The reason.
    pub reason: String,
    /// Number of windows.
    pub windows: usize,
    /// Their total duration, seconds.
    pub duration_s: f64,
}

/// Summary of one stream, or of several streams pooled together.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StreamSummary {
    /// Audio (R) or video (Q).
    pub media: Media,
    /// All windows.
    pub windows: usize,
    /// Scored windows.
    pub scored_windows: usize,
    /// Excluded windows.
    pub excluded_windows: usize,
    /// Unknown windows.
    pub unknown_windows: usize,
    /// Scored time, seconds.
    pub scored_s: f64,
    /// Excluded time, seconds.
    pub excluded_s: f64,
    /// Unknown time, seconds.
    pub unknown_s: f64,
    /// Time-weighted mean R (audio) or Q (video) over scored time.
    pub mean: Option<f64>,
    /// Audio: MOS of the mean R. Video: the mean Q (already on the MOS scale).
    pub mean_mos: Option<f64>,
    /// Time-weighted 10th percentile of R or Q: the lowest value v such that windows
    /// scoring ≤ v cover at least 10 % of scored time.
    pub p10: Option<f64>,
    /// Share (0–1) of scored time whose window label is poor.
    pub poor_share: Option<f64>,
    /// Label of the mean alone.
    pub mean_label: Option<Label>,
    /// Final label: poor if `poor_share` ≥ the threshold or the mean label is poor.
    pub label: Option<Label>,
    /// Excluded windows by reason.
    pub excluded_reasons: Vec<ReasonCount>,
    /// Unknown windows by reason.
    pub unknown_reasons: Vec<ReasonCount>,
}

/// What the aggregator needs from a window.
enum Status<'a> {
    Scored { value: f64, label: Label },
    Excluded(ExclusionReason),
    Unknown(&'a str),
}

trait Window {
    fn duration_s(&self) -> f64;
    fn status(&self) -> Status<'_>;
}

impl Window for AudioWindowScore {
    fn duration_s(&self) -> f64 {
        AudioWindowScore::duration_s(self)
    }
    fn status(&self) -> Status<'_> {
        match self {
            Self::Scored(s) => Status::Scored { value: s.r, label: s.label },
            Self::Excluded { reason, .. } => Status::Excluded(*reason),
            Self::Unknown { reason, .. } => Status::Unknown(reason),
        }
    }
}

impl Window for VideoWindowScore {
    fn duration_s(&self) -> f64 {
        VideoWindowScore::duration_s(self)
    }
    fn status(&self) -> Status<'_> {
        match self {
            Self::Scored(s) => Status::Scored { value: s.q, label: s.label },
            Self::Excluded { reason, .. } => Status::Excluded(*reason),
            Self::Unknown { reason, .. } => Status::Unknown(reason),
        }
    }
}

/// Invalid durations (only possible in `Unknown` windows) weigh nothing.
fn weight(duration_s: f64) -> f64 {
    if duration_s.is_finite() && duration_s > 0.0 { duration_s } else { 0.0 }
}

/// Windows and time per reason. A handful of distinct reasons repeat for every window,
/// mostly the same `&'static str`, so a short list found by pointer first beats a map.
type Reasons<'a> = Vec<(&'a str, usize, f64)>;

fn add_reason<'a>(reasons: &mut Reasons<'a>, reason: &'a str, w: f64) {
    match reasons.iter_mut().find(|(r, _, _)| std::ptr::eq(*r, reason) || *r == reason) {
        Some(entry) => {
            entry.1 += 1;
            entry.2 += w;
        }
        None => reasons.push((reason, 1, w)),
    }
}

/// The reasons in alphabetical order.
fn into_counts(mut reasons: Reasons<'_>) -> Vec<ReasonCount> {
    reasons.sort_unstable_by(|a, b| a.0.cmp(b.0));
    reasons
        .into_iter()
        .map(|(reason, windows, duration_s)| ReasonCount { reason: reason.to_owned(), windows, duration_s })
        .collect()
}

fn summarize<'a, W: Window + 'a>(
    media: Media,
    windows: impl IntoIterator<Item = &'a W>,
    count: usize,
    config: &AggregateConfig,
) -> StreamSummary {
    let mut s = StreamSummary {
        media,
        windows: 0,
        scored_windows: 0,
        excluded_windows: 0,
        unknown_windows: 0,
        scored_s: 0.0,
        excluded_s: 0.0,
        unknown_s: 0.0,
        mean: None,
        mean_mos: None,
        p10: None,
        poor_share: None,
        mean_label: None,
        label: None,
        excluded_reasons: Vec::new(),
        unknown_reasons: Vec::new(),
    };
    let mut scored: Vec<(f64, f64)> = Vec::with_capacity(count);
    let mut weighted_sum = 0.0;
    let mut poor_s = 0.0;
    let mut excluded = Reasons::new();
    let mut unknown = Reasons::new();
    for window in windows {
        s.windows += 1;
        let w = weight(window.duration_s());
        match window.status() {
            Status::Scored { value, label } => {
                s.scored_windows += 1;
                s.scored_s += w;
                weighted_sum += value * w;
                if label == Label::Poor {
                    poor_s += w;
                }
                scored.push((value, w));
            }
            Status::Excluded(reason) => {
                s.excluded_windows += 1;
                s.excluded_s += w;
                add_reason(&mut excluded, reason.description(), w);
            }
            Status::Unknown(reason) => {
                s.unknown_windows += 1;
                s.unknown_s += w;
                add_reason(&mut unknown, reason, w);
            }
        }
    }
    s.excluded_reasons = into_counts(excluded);
    s.unknown_reasons = into_counts(unknown);
    if s.scored_s <= 0.0 {
        return s;
    }

    let mean = weighted_sum / s.scored_s;
    let poor_share = poor_s / s.scored_s;
    s.p10 = weighted_lower_quantile(&mut scored, 0.1 * s.scored_s);
    let (mean_mos, mean_label) = match media {
        Media::Audio => (mos_from_r(mean), config.audio_bands.label(mean)),
        Media::Video => (mean, config.video_bands.label(mean)),
    };
    s.mean = Some(mean);
    s.mean_mos = Some(mean_mos);
    s.poor_share = Some(poor_share);
    s.mean_label = Some(mean_label);
    s.label = Some(if poor_share >= config.poor_share_threshold { Label::Poor } else { mean_label });
    s
}

/// The lowest value whose (value, weight) pairs up to and including it, in ascending order
/// of value, weigh at least `target`: the time-weighted lower quantile. Found by
/// selection rather than a full sort, since only the low tail matters: a pooled
/// participant's few thousand windows cost O(n) instead of O(n log n). The answer is the
/// sort-and-scan answer (equal values are interchangeable) up to the rounding of the
/// weights' partial sums, which are added in another order; tested against the scan.
fn weighted_lower_quantile(mut values: &mut [(f64, f64)], mut target: f64) -> Option<f64> {
    let by_value = |a: &(f64, f64), b: &(f64, f64)| a.0.total_cmp(&b.0);
    loop {
        if values.len() <= 32 {
            values.sort_unstable_by(by_value);
            let mut cumulative = 0.0;
            return values
                .iter()
                .find(|(_, w)| {
                    cumulative += w;
                    cumulative >= target
                })
                .map(|(v, _)| *v);
        }
        let middle = values.len() / 2;
        let (lower, pivot, upper) = values.select_nth_unstable_by(middle, by_value);
        let below: f64 = lower.iter().map(|(_, w)| w).sum();
        if below >= target {
            values = lower;
        } else if below + pivot.1 >= target {
            return Some(pivot.0);
        } else {
            target -= below + pivot.1;
            values = upper;
        }
    }
}

/// Summarises one audio stream.
pub fn summarize_audio(windows: &[AudioWindowScore], config: &AggregateConfig) -> StreamSummary {
    summarize(Media::Audio, windows, windows.len(), config)
}

/// Pools several audio streams (e.g. everything one participant heard) into one summary.
pub fn summarize_audio_streams(streams: &[&[AudioWindowScore]], config: &AggregateConfig) -> StreamSummary {
    let count = streams.iter().map(|s| s.len()).sum();
    summarize(Media::Audio, streams.iter().flat_map(|s| s.iter()), count, config)
}

/// Summarises one video stream.
pub fn summarize_video(windows: &[VideoWindowScore], config: &AggregateConfig) -> StreamSummary {
    summarize(Media::Video, windows, windows.len(), config)
}

/// Pools several video streams (e.g. everything one participant saw) into one summary.
pub fn summarize_video_streams(streams: &[&[VideoWindowScore]], config: &AggregateConfig) -> StreamSummary {
    let count = streams.iter().map(|s| s.len()).sum();
    summarize(Media::Video, streams.iter().flat_map(|s| s.iter()), count, config)
}

/// What one participant heard and saw.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParticipantSummary {
    /// Caller's participant id.
    pub id: String,
    /// Every audio stream they received, pooled.
    pub audio: StreamSummary,
    /// Every video stream they received, pooled.
    pub video: StreamSummary,
    /// The worse of the audio and video labels; `None` if neither was scored.
    pub label: Option<Label>,
}

/// Summarises what one participant heard (`audio_streams`) and saw (`video_streams`).
pub fn summarize_participant(
    id: &str,
    audio_streams: &[&[AudioWindowScore]],
    video_streams: &[&[VideoWindowScore]],
    config: &AggregateConfig,
) -> ParticipantSummary {
    let audio = summarize_audio_streams(audio_streams, config);
    let video = summarize_video_streams(video_streams, config);
    let label = match (audio.label, video.label) {
        (Some(a), Some(v)) => Some(a.worst(v)),
        (a, v) => a.or(v),
    };
    ParticipantSummary { id: id.to_owned(), audio, video, label }
}

/// Number of participants per label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct LabelCounts {
    /// Labelled good.
    pub good: usize,
    /// Labelled fair.
    pub fair: usize,
    /// Labelled poor.
    pub poor: usize,
    /// Nothing scored.
    pub unscored: usize,
}

/// The participant with the lowest mean for one medium.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorstStream {
    /// Participant id.
    pub id: String,
    /// Their mean R (audio) or Q (video).
    pub mean: f64,
    /// Their final label for this medium.
    pub label: Option<Label>,
}

/// The conference view: distribution plus the worst participant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConferenceSummary {
    /// Number of participants.
    pub participants: usize,
    /// Participants per overall label.
    pub labels: LabelCounts,
    /// Worst participant overall: worst label first, then the largest poor share of time
    /// (audio or video), then the id for a stable tie-break.
    pub worst: Option<String>,
    /// Participant with the lowest mean R heard.
    pub worst_audio: Option<WorstStream>,
    /// Participant with the lowest mean Q seen.
    pub worst_video: Option<WorstStream>,
}

/// Builds the conference view from participant summaries.
pub fn summarize_conference(participants: &[ParticipantSummary]) -> ConferenceSummary {
    let mut labels = LabelCounts::default();
    for p in participants {
        match p.label {
            Some(Label::Good) => labels.good += 1,
            Some(Label::Fair) => labels.fair += 1,
            Some(Label::Poor) => labels.poor += 1,
            None => labels.unscored += 1,
        }
    }
    let poor_share =
        |p: &ParticipantSummary| p.audio.poor_share.unwrap_or(0.0).max(p.video.poor_share.unwrap_or(0.0));
    let worst = participants
        .iter()
        .filter_map(|p| p.label.map(|l| (l, poor_share(p), p)))
        .max_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)).then(b.2.id.cmp(&a.2.id)))
        .map(|(_, _, p)| p.id.clone());
    let lowest = |pick: fn(&ParticipantSummary) -> &StreamSummary| {
        participants
            .iter()
            .filter_map(|p| pick(p).mean.map(|m| (m, p)))
            .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.id.cmp(&b.1.id)))
            .map(|(mean, p)| WorstStream { id: p.id.clone(), mean, label: pick(p).label })
    };
    ConferenceSummary {
        participants: participants.len(),
        labels,
        worst,
        worst_audio: lowest(|p| &p.audio),
        worst_video: lowest(|p| &p.video),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::{DelayBreakdown, DelaySource, LossSource, ScoredAudio};
    use crate::codecs::AudioCodec;
    use crate::emodel::Category;

    /// The definition: sort by value, then scan until the weight reaches the target.
    fn sorted_scan(values: &[(f64, f64)], target: f64) -> Option<f64> {
        let mut sorted = values.to_vec();
        sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut cumulative = 0.0;
        sorted
            .iter()
            .find(|(_, w)| {
                cumulative += w;
                cumulative >= target
            })
            .map(|(v, _)| *v)
    }

    proptest::proptest! {
        // Weights are multiples of ¼ s (window lengths as collectors send them), whose sums
        // are exact in any order, so selection and the scan must agree exactly.
        #[test]
        fn weighted_quantile_by_selection_equals_the_sorted_scan(
            values in proptest::collection::vec((0.0f64..100.0, 1u32..12), 0..400),
            share in 0.0f64..1.0,
            repeat_value in proptest::bool::ANY,
        ) {
            let mut values: Vec<(f64, f64)> = values
                .into_iter()
                .map(|(v, quarters)| (if repeat_value { v.round() } else { v }, f64::from(quarters) / 4.0))
                .collect();
            let target = share * values.iter().map(|(_, w)| w).sum::<f64>();
            let expected = sorted_scan(&values, target);
            proptest::prop_assert_eq!(weighted_lower_quantile(&mut values, target), expected);
        }
    }

    fn close(actual: f64, expected: f64, tol: f64) {
        assert!((actual - expected).abs() <= tol, "expected {expected} ± {tol}, got {actual}");
    }

    fn audio(duration_s: f64, r: f64) -> AudioWindowScore {
        let bands = AudioBands::default();
        AudioWindowScore::Scored(ScoredAudio {
            duration_s,
            r,
            mos: mos_from_r(r),
            category: Category::from_r(r),
            label: bands.label(r),
            r_label: bands.label(r),
            ta_ms: 100.0,
            delay: DelayBreakdown {
                rtt_half_ms: 0.0,
                jitter_buffer_ms: 0.0,
                codec_ms: 0.0,
                device_ms: 0.0,
                jitter_buffer_source: DelaySource::Measured,
                device_source: DelaySource::Configured,
            },
            ppl_percent: 0.0,
            burst_r: 1.0,
            loss_source: LossSource::Concealment,
            codec: AudioCodec::Opus,
            ie: 0.0,
            bpl: 10.0,
            overrides: Vec::new(),
            warnings: Vec::new(),
        })
    }

    #[test]
    fn averages_r_not_mos() {
        // Two equal windows at R 90 and R 40: mean R 65 → MOS(65) = 3.354625 (by hand:
        // 1 + 0.035·65 + 65·5·35·7e-6). The mean of the MOS values would be
        // (4.339 + 2.064)/2 = 3.2015, which this must not return.
        let windows = [audio(5.0, 90.0), audio(5.0, 40.0)];
        let s = summarize_audio(&windows, &AggregateConfig::default());
        close(s.mean.expect("mean"), 65.0, 1e-12);
        close(s.mean_mos.expect("mos"), 3.354625, 1e-9);
        let mean_of_mos = (mos_from_r(90.0) + mos_from_r(40.0)) / 2.0;
        assert!((s.mean_mos.expect("mos") - mean_of_mos).abs() > 0.1);
    }

    #[test]
    fn time_weighting_and_poor_share() {
        // 9 s at R 85 and 1 s at R 50 (poor): mean R = (765 + 50)/10 = 81.5;
        // poor share by time = 1/10 = 10 % → participant rule makes it poor.
        let windows = [
            audio(3.0, 85.0),
            audio(1.0, 50.0),
            audio(6.0, 85.0),
            AudioWindowScore::Excluded { duration_s: 20.0, reason: ExclusionReason::Dtx },
        ];
        let s = summarize_audio(&windows, &AggregateConfig::default());
        close(s.mean.expect("mean"), 81.5, 1e-12);
        close(s.poor_share.expect("share"), 0.1, 1e-12);
        assert_eq!(s.mean_label, Some(Label::Good));
        assert_eq!(s.label, Some(Label::Poor));
        close(s.scored_s, 10.0, 0.0);
        close(s.excluded_s, 20.0, 0.0);
        assert_eq!(s.excluded_reasons.len(), 1);
        assert_eq!(s.excluded_reasons[0].windows, 1);
        // p10: the R-50 window covers exactly 10 % of scored time.
        close(s.p10.expect("p10"), 50.0, 0.0);

        // Same counts but the poor window is short: 0.5 of 10.5 s < 10 % → good.
        let windows = [audio(10.0, 85.0), audio(0.5, 50.0)];
        let s = summarize_audio(&windows, &AggregateConfig::default());
        assert_eq!(s.label, Some(Label::Good));
        close(s.p10.expect("p10"), 85.0, 0.0);
    }

    #[test]
    fn unknown_and_empty() {
        let windows = [
            AudioWindowScore::Unknown { duration_s: 5.0, reason: "no RTT".into(), partial: None },
            AudioWindowScore::Unknown { duration_s: 5.0, reason: "no RTT".into(), partial: None },
        ];
        let s = summarize_audio(&windows, &AggregateConfig::default());
        assert_eq!(s.mean, None);
        assert_eq!(s.label, None);
        assert_eq!(s.unknown_windows, 2);
        assert_eq!(
            s.unknown_reasons,
            vec![ReasonCount { reason: "no RTT".to_owned(), windows: 2, duration_s: 10.0 }]
        );
    }

    #[test]
    fn participant_and_conference() {
        let config = AggregateConfig::default();
        let good_a = [audio(10.0, 90.0)];
        let good_b = [audio(10.0, 85.0)];
        let bad = [audio(10.0, 55.0)];
        let alice = summarize_participant("alice", &[&good_a, &good_b], &[], &config);
        close(alice.audio.mean.expect("mean"), 87.5, 1e-12);
        assert_eq!(alice.label, Some(Label::Good));
        let bob = summarize_participant("bob", &[&good_a, &bad], &[], &config);
        assert_eq!(bob.label, Some(Label::Poor));
        let carol = summarize_participant("carol", &[], &[], &config);
        assert_eq!(carol.label, None);
        let conf = summarize_conference(&[alice, bob, carol]);
        assert_eq!(conf.labels, LabelCounts { good: 1, fair: 0, poor: 1, unscored: 1 });
        assert_eq!(conf.worst.as_deref(), Some("bob"));
        let worst_audio = conf.worst_audio.expect("worst");
        assert_eq!(worst_audio.id, "bob");
        close(worst_audio.mean, 72.5, 1e-12);
        assert_eq!(conf.worst_video, None);
    }
}
