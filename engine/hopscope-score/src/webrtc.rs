//! Scores a whole conference from the model: every received stream, window by window, then
//! per participant (what they heard and saw, and what others received from them) and per
//! conference.
//!
//! A window is one sampling interval of the stream (`hopscope_model::intervals`). Inputs
//! come from the model the way the doc's §4 asks: RTT is the latest RTCP round trip of the
//! connection (remote-inbound, then remote-outbound, then the ICE pair); the jitter-buffer
//! delay is Δdelay/Δemitted; loss prefers concealment. What we assume (an unknown codec
//! taken as Opus, say) is written down next to the scores.

use hopscope_model::intervals::InboundInterval;
use hopscope_model::stats::{InboundRtpStream, MediaKind};
use hopscope_model::{Conference, Participant, PeerConnection, Timestamp};
use serde::Serialize;

use crate::aggregate::{
    AggregateConfig, ConferenceSummary, ParticipantSummary, StreamSummary, summarize_audio,
    summarize_audio_streams, summarize_conference, summarize_participant, summarize_video,
    summarize_video_streams,
};
use crate::audio::{AudioAdapterConfig, AudioWindowInputs, AudioWindowScore, score_audio_window};
use crate::codecs::{AudioCodec, audio_codec_from_webrtc};
use crate::video::{VideoAdapterConfig, VideoCodec, VideoWindowInputs, VideoWindowScore, score_video_window};

/// An RTT measurement older than this does not describe the current window.
const MAX_RTT_AGE_S: f64 = 30.0;

/// How to score.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QualityConfig {
    /// Audio adapter settings.
    pub audio: AudioAdapterConfig,
    /// Video adapter settings.
    pub video: VideoAdapterConfig,
    /// Aggregation settings.
    pub aggregate: AggregateConfig,
}

/// The windows of one received stream.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "media", rename_all = "snake_case")]
pub enum StreamWindows {
    /// Audio windows.
    Audio {
        /// One score per window.
        windows: Vec<AudioWindowScore>,
    },
    /// Video windows.
    Video {
        /// One score per window.
        windows: Vec<VideoWindowScore>,
    },
}

/// Quality of one received stream.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StreamQuality {
    /// The receiving participant.
    pub participant: String,
    /// Their peer connection.
    pub peer_connection: String,
    /// Stats id of the inbound stream (evidence).
    pub stats_id: String,
    /// SSRC, which names the sender.
    pub ssrc: Option<u32>,
    /// Who sent it, when the conference includes the sender's data.
    pub sender: Option<String>,
    /// Window scores.
    pub windows: StreamWindows,
    /// Over the stream.
    pub summary: StreamSummary,
    /// What was assumed for lack of data.
    pub assumptions: Vec<String>,
}

impl StreamQuality {
    /// The window scores, if this is an audio stream.
    pub fn audio_windows(&self) -> Option<&[AudioWindowScore]> {
        match &self.windows {
            StreamWindows::Audio { windows } => Some(windows),
            StreamWindows::Video { .. } => None,
        }
    }

    /// The window scores, if this is a video stream.
    pub fn video_windows(&self) -> Option<&[VideoWindowScore]> {
        match &self.windows {
            StreamWindows::Video { windows } => Some(windows),
            StreamWindows::Audio { .. } => None,
        }
    }
}

/// Quality for one participant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParticipantQuality {
    /// What they heard and saw.
    pub received: ParticipantSummary,
    /// What others received from them (audio), when the receivers' data is in the conference.
    pub sent_audio: Option<StreamSummary>,
    /// What others received from them (video).
    pub sent_video: Option<StreamSummary>,
}

/// Quality of a whole conference.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConferenceQuality {
    /// Every received stream that carried media.
    pub streams: Vec<StreamQuality>,
    /// Per participant, in the conference's order.
    pub participants: Vec<ParticipantQuality>,
    /// The conference view.
    pub conference: ConferenceSummary,
}

/// Scores every received stream of a conference and aggregates.
pub fn score_conference(conference: &Conference, config: &QualityConfig) -> ConferenceQuality {
    // Who sends each SSRC, found once: (ssrc, participant index), sorted by SSRC.
    let mut senders: Vec<(u32, usize)> = conference
        .participants
        .iter()
        .enumerate()
        .flat_map(|(i, q)| {
            q.peer_connections.iter().flat_map(|pc| &pc.outbound).filter_map(move |o| Some((o.info.ssrc?, i)))
        })
        .collect();
    senders.sort_unstable();
    senders.dedup();
    // Every scored stream with the indices of its receiver and sender, so the roll-ups
    // below compare numbers, not names.
    let mut scored: Vec<(usize, Option<usize>, StreamQuality)> = Vec::new();
    for (receiver, p) in conference.participants.iter().enumerate() {
        for pc in &p.peer_connections {
            let rtt = RttTimeline::of(pc);
            for s in &pc.inbound {
                let sender = s.info.ssrc.and_then(|ssrc| sender_of(&senders, receiver, ssrc));
                let name = sender.map(|i| conference.participants[i].id.to_string());
                if let Some(q) = score_stream(p, pc, s, name, &rtt, config) {
                    scored.push((receiver, sender, q));
                }
            }
        }
    }
    let participants: Vec<ParticipantQuality> = conference
        .participants
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mine = || scored.iter().filter(|s| s.0 == i);
            let audio: Vec<&[AudioWindowScore]> = mine().filter_map(|s| s.2.audio_windows()).collect();
            let video: Vec<&[VideoWindowScore]> = mine().filter_map(|s| s.2.video_windows()).collect();
            let received = summarize_participant(p.id.as_str(), &audio, &video, &config.aggregate);
            // What the others received from this participant.
            let from_me = || scored.iter().filter(|s| s.1 == Some(i));
            let sent_audio: Vec<&[AudioWindowScore]> =
                from_me().filter_map(|s| s.2.audio_windows()).collect();
            let sent_video: Vec<&[VideoWindowScore]> =
                from_me().filter_map(|s| s.2.video_windows()).collect();
            ParticipantQuality {
                received,
                sent_audio: (!sent_audio.is_empty())
                    .then(|| summarize_audio_streams(&sent_audio, &config.aggregate)),
                sent_video: (!sent_video.is_empty())
                    .then(|| summarize_video_streams(&sent_video, &config.aggregate)),
            }
        })
        .collect();
    let streams: Vec<StreamQuality> = scored.into_iter().map(|(_, _, q)| q).collect();
    let summaries: Vec<ParticipantSummary> = participants.iter().map(|p| p.received.clone()).collect();
    ConferenceQuality { streams, conference: summarize_conference(&summaries), participants }
}

fn score_stream(
    p: &Participant,
    pc: &PeerConnection,
    s: &InboundRtpStream,
    sender: Option<String>,
    rtt: &RttTimeline<'_>,
    config: &QualityConfig,
) -> Option<StreamQuality> {
    let intervals = s.intervals();
    // A stream that never carried a packet is not part of anyone's experience.
    if !intervals.iter().any(|i| i.active) {
        return None;
    }
    let mut assumptions = Vec::new();
    let kind = s.info.kind.or_else(|| {
        let video_like = intervals.iter().any(|i| i.fps.is_some() || i.frame_width.is_some());
        let audio_like =
            intervals.iter().any(|i| i.samples_received.is_some() || i.concealed_samples.is_some());
        match (audio_like, video_like) {
            (true, false) => Some(MediaKind::Audio),
            (false, true) => Some(MediaKind::Video),
            _ => None,
        }
    })?;
    let windows =
        match kind {
            MediaKind::Audio => {
                let codec = match s
                    .info
                    .codec
                    .as_deref()
                    .map(|m| audio_codec_from_webrtc(m, s.info.codec_parameters.as_deref()))
                {
                    Some(Ok(c)) => c,
                    Some(Err(_)) => {
                        assumptions.push(format!(
                            "audio codec {} is not in the codec table; scored as Opus",
                            s.info.codec.as_deref().unwrap_or_default()
                        ));
                        AudioCodec::Opus
                    }
                    None => {
                        assumptions.push("audio codec not reported; scored as Opus, WebRTC's default".into());
                        AudioCodec::Opus
                    }
                };
                let mut rtt = rtt.cursor();
                let mut windows = Vec::with_capacity(intervals.len());
                windows.extend(
                    intervals
                        .iter()
                        .filter(|i| !i.reset)
                        .map(|i| score_audio_window(&audio_inputs(i, codec, &mut rtt), &config.audio)),
                );
                StreamWindows::Audio { windows }
            }
            MediaKind::Video => {
                let codec = match s.info.codec.as_deref().map(VideoCodec::from_mime_type) {
                    Some(Ok(c)) => c,
                    _ => {
                        assumptions
                            .push("video codec not reported; scored as H.264 (P.1203's calibration)".into());
                        VideoCodec::H264
                    }
                };
                let mut windows = Vec::with_capacity(intervals.len());
                windows.extend(intervals.iter().filter(|i| !i.reset).map(|i| {
                    score_video_window(&video_inputs(i, codec, s.info.is_screenshare), &config.video)
                }));
                StreamWindows::Video { windows }
            }
        };
    let summary = match &windows {
        StreamWindows::Audio { windows } => summarize_audio(windows, &config.aggregate),
        StreamWindows::Video { windows } => summarize_video(windows, &config.aggregate),
    };
    Some(StreamQuality {
        participant: p.id.to_string(),
        peer_connection: pc.id.to_string(),
        stats_id: s.info.stats_id.clone(),
        ssrc: s.info.ssrc,
        sender,
        windows,
        summary,
        assumptions,
    })
}

/// The participant (other than the receiver) who sends `ssrc`, from the sorted
/// (ssrc, participant) list; the first such participant when several claim it.
fn sender_of(senders: &[(u32, usize)], receiver: usize, ssrc: u32) -> Option<usize> {
    let from = senders.partition_point(|&(s, _)| s < ssrc);
    senders[from..].iter().take_while(|&&(s, _)| s == ssrc).map(|&(_, i)| i).find(|&i| i != receiver)
}

/// `x` rounded to the nearest whole number. Counter deltas are whole already: a cast
/// checks that without `round`'s libm call on every window.
fn rounded(x: f64) -> f64 {
    if (x as i64) as f64 == x { x } else { x.round() }
}

fn as_count(v: Option<f64>) -> Option<u64> {
    v.filter(|x| *x >= 0.0).map(|x| rounded(x) as u64)
}

fn audio_inputs(i: &InboundInterval, codec: AudioCodec, rtt: &mut RttCursor<'_, '_>) -> AudioWindowInputs {
    let mut w = AudioWindowInputs::new(i.duration_s(), codec);
    w.rtt_s = rtt.at(i.end);
    w.jitter_buffer_delay_s = i.jitter_buffer_delay_ms.map(|ms| ms / 1000.0);
    w.jitter_s = i.jitter_ms.map(|ms| ms / 1000.0);
    let silent = i.silent_concealed_samples;
    w.concealed_samples = as_count(i.concealed_samples.map(|c| c + silent.unwrap_or(0.0)));
    w.silent_concealed_samples = as_count(silent);
    w.total_samples_received = as_count(i.samples_received);
    w.concealment_events = as_count(i.concealment_events);
    w.packets_received = as_count(i.packets_received);
    w.packets_lost = i.packets_lost.map(|l| rounded(l) as i64);
    w.audio_level = i.mean_audio_level.or(i.audio_level);
    w
}

fn video_inputs(i: &InboundInterval, codec: VideoCodec, screenshare: bool) -> VideoWindowInputs {
    let mut w = VideoWindowInputs::new(i.duration_s(), codec);
    w.bitrate_kbps = i.bitrate_bps.map(|b| b / 1000.0);
    w.width = i.frame_width.map(|v| v as u32);
    w.height = i.frame_height.map(|v| v as u32);
    w.fps = i.fps;
    w.freeze_count = as_count(i.freezes);
    w.freeze_duration_s = i.freeze_duration_s;
    w.frames_dropped = as_count(i.frames_dropped);
    w.frames_received = as_count(i.frames_received);
    w.loss_fraction = i.media_loss_fraction;
    w.is_screenshare = screenshare;
    if !i.active {
        w.bitrate_kbps = Some(0.0);
        w.fps = Some(0.0);
    }
    w
}

/// Round-trip measurements of one peer connection over time, best source first.
struct RttTimeline<'a> {
    /// (time, rtt seconds), sorted by time, from RTCP where available.
    rtcp: Vec<(Timestamp, f64)>,
    /// From the ICE candidate pairs, gathered the first time RTCP has no answer: most
    /// calls report RTCP throughout, and their pairs' intervals need not be worked out.
    ice: std::cell::OnceCell<Vec<(Timestamp, f64)>>,
    pc: Option<&'a PeerConnection>,
}

impl<'a> RttTimeline<'a> {
    fn of(pc: &'a PeerConnection) -> RttTimeline<'a> {
        let mut rtcp = Runs::with_capacity(
            pc.remote_inbound.iter().map(|s| s.samples.len()).sum::<usize>()
                + pc.remote_outbound.iter().map(|s| s.samples.len()).sum::<usize>(),
        );
        rtcp.measured_then_first(
            &pc.remote_inbound,
            |s| s.intervals().iter().filter_map(|i| Some((i.end, i.rtt_ms? / 1000.0))),
            |s| s.samples.first().and_then(|x| Some((x.at, x.round_trip_time_s.get()?))),
        );
        for s in &pc.remote_outbound {
            rtcp.run(s.samples.iter().filter_map(|x| Some((x.at, x.round_trip_time_s.get()?))));
        }
        RttTimeline { rtcp: rtcp.merged(), ice: std::cell::OnceCell::new(), pc: Some(pc) }
    }

    /// The ICE series, gathered on first use.
    fn ice(&self) -> &[(Timestamp, f64)] {
        self.ice.get_or_init(|| {
            let Some(pc) = self.pc else { return Vec::new() };
            let mut ice = Runs::with_capacity(pc.candidate_pairs.iter().map(|p| p.samples.len()).sum());
            ice.measured_then_first(
                &pc.candidate_pairs,
                |p| p.intervals().iter().filter_map(|i| Some((i.end, i.rtt_ms? / 1000.0))),
                |p| p.samples.first().and_then(|x| Some((x.at, x.current_round_trip_time_s.get()?))),
            );
            ice.merged()
        })
    }

    /// A reader for windows taken in time order.
    fn cursor(&self) -> RttCursor<'_, 'a> {
        RttCursor { timeline: self, next: [0, 0] }
    }
}

/// Measurements gathered as runs (one stream's, in its own time order) and put in time
/// order by stable merges: equal times keep the order the runs were gathered in, exactly
/// as a stable sort of everything would. Most runs follow each other or are a single first
/// report, so this is mostly copying, where the sort it replaces was 8 % of scoring a short
/// call. A run out of time order (a dump with clock jumps) makes it sort instead.
struct Runs {
    entries: Vec<(Timestamp, f64)>,
    /// Where each run ends in `entries`.
    ends: Vec<usize>,
    sorted: bool,
}

impl Runs {
    fn with_capacity(n: usize) -> Runs {
        Runs { entries: Vec::with_capacity(n), ends: Vec::new(), sorted: true }
    }

    fn run(&mut self, run: impl IntoIterator<Item = (Timestamp, f64)>) {
        let from = self.entries.len();
        self.entries.extend(run);
        if self.entries.len() > from {
            self.sorted &= self.entries[from..].is_sorted_by_key(|e| e.0);
            self.ends.push(self.entries.len());
        }
    }

    /// Each source's round trips over its intervals as a run, then each source's first
    /// report as a run of its own: a single report still counts.
    fn measured_then_first<'s, S, I>(
        &mut self,
        sources: &'s [S],
        measured: impl Fn(&'s S) -> I,
        first: impl Fn(&'s S) -> Option<(Timestamp, f64)>,
    ) where
        I: IntoIterator<Item = (Timestamp, f64)>,
    {
        for s in sources {
            self.run(measured(s));
        }
        for s in sources {
            self.run(first(s));
        }
    }

    fn merged(mut self) -> Vec<(Timestamp, f64)> {
        if !self.sorted {
            self.entries.sort_by_key(|e| e.0);
            return self.entries;
        }
        if self.ends.len() <= 1 {
            return self.entries;
        }
        // Each run joins what came before it, which wins ties: a run that starts no
        // earlier is appended, a single entry is inserted after its equals, and only
        // overlapping runs are merged.
        let mut out: Vec<(Timestamp, f64)> = Vec::with_capacity(self.entries.len());
        let mut from = 0;
        for &end in &self.ends {
            let run = &self.entries[from..end];
            from = end;
            match (out.last(), run) {
                (Some(last), [first, ..]) if last.0 > first.0 => {
                    if let [single] = run {
                        let at = out.partition_point(|e| e.0 <= single.0);
                        out.insert(at, *single);
                    } else {
                        out = merge_two(&out, run);
                    }
                }
                _ => out.extend_from_slice(run),
            }
        }
        out
    }
}

/// The stable merge of two time-ordered lists, `earlier`'s entries first on equal times.
fn merge_two(earlier: &[(Timestamp, f64)], later: &[(Timestamp, f64)]) -> Vec<(Timestamp, f64)> {
    let mut out = Vec::with_capacity(earlier.len() + later.len());
    let (mut i, mut j) = (0, 0);
    while i < earlier.len() && j < later.len() {
        if later[j].0 < earlier[i].0 {
            out.push(later[j]);
            j += 1;
        } else {
            out.push(earlier[i]);
            i += 1;
        }
    }
    out.extend_from_slice(&earlier[i..]);
    out.extend_from_slice(&later[j..]);
    out
}

/// Reads an [`RttTimeline`] for windows in time order: each series remembers where the
/// last lookup landed and walks on from there, so a stream's windows cost O(1) each
/// instead of two binary searches. Out-of-order times fall back to a search; the answer
/// is the same either way.
struct RttCursor<'t, 'a> {
    timeline: &'t RttTimeline<'a>,
    /// Per series (RTCP, ICE): the index of the first entry after the last time asked.
    next: [usize; 2],
}

impl RttCursor<'_, '_> {
    /// The latest measurement at or before `t` (or just after it, for the first windows),
    /// RTCP first, ICE otherwise; `None` when nothing recent exists.
    fn at(&mut self, t: Timestamp) -> Option<f64> {
        let [rtcp, ice] = &mut self.next;
        pick(&self.timeline.rtcp, t, rtcp).or_else(|| pick(self.timeline.ice(), t, ice))
    }
}

/// The entry of `series` nearest to `t` within [`MAX_RTT_AGE_S`] (the earlier on a tie),
/// searching from `next`, the index of the first entry after the previous `t`.
fn pick(series: &[(Timestamp, f64)], t: Timestamp, next: &mut usize) -> Option<f64> {
    let mut i = (*next).min(series.len());
    if i > 0 && series[i - 1].0 > t {
        i = series.partition_point(|(at, _)| *at <= t);
    } else {
        while i < series.len() && series[i].0 <= t {
            i += 1;
        }
    }
    *next = i;
    // (age, rtt) of entry j, when recent enough.
    let recent = |j: usize| {
        series.get(j).map(|&(at, r)| (t.seconds_since(at).abs(), r)).filter(|(age, _)| *age <= MAX_RTT_AGE_S)
    };
    match (i.checked_sub(1).and_then(recent), recent(i)) {
        // The nearer one; the earlier on a tie.
        (Some(before), Some(after)) => Some(if after.0 < before.0 { after.1 } else { before.1 }),
        (before, after) => before.or(after).map(|(_, r)| r),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(ms: f64) -> Timestamp {
        Timestamp::from_epoch_ms(ms).expect("finite")
    }

    /// The merge of runs equals a stable sort of their concatenation: ties keep the runs'
    /// order, and a run out of order falls back to the sort.
    #[test]
    fn runs_merge_like_a_stable_sort() {
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for case in 0..500 {
            let mut runs = Runs::with_capacity(0);
            let mut all = Vec::new();
            for r in 0..(next() % 6) {
                let len = next() % 12;
                let mut t = (next() % 8) as f64 * 1000.0;
                let mut run = Vec::new();
                for i in 0..len {
                    // Steps of 0–2 s on a 1 s grid: runs share times; now and then a step back.
                    let back = case % 7 == 0 && next() % 10 == 0;
                    t += if back { -1000.0 } else { (next() % 3) as f64 * 1000.0 };
                    run.push((ts(t), (r * 100 + i) as f64));
                }
                all.extend(run.iter().copied());
                runs.run(run);
            }
            all.sort_by_key(|e| e.0);
            assert_eq!(runs.merged(), all, "case {case}");
        }
    }

    /// The cursor answers exactly as a fresh binary search does, for times in order, times
    /// that jump back, and times beyond either end and beyond the age limit.
    #[test]
    fn cursor_matches_a_fresh_search() {
        let rtcp: Vec<(Timestamp, f64)> = [1_000.0, 2_000.0, 2_000.0, 5_000.0, 80_000.0]
            .iter()
            .enumerate()
            .map(|(i, &ms)| (ts(ms), 0.01 * (i + 1) as f64))
            .collect();
        let ice: Vec<(Timestamp, f64)> =
            (0..50).map(|i| (ts(500.0 * f64::from(i)), 0.001 * f64::from(i))).collect();
        let timeline = RttTimeline { rtcp, ice: ice.into(), pc: None };
        let reference = |t: Timestamp| {
            let fresh = |series: &[(Timestamp, f64)]| {
                pick(series, t, &mut series.partition_point(|(at, _)| *at <= t))
            };
            fresh(&timeline.rtcp).or_else(|| fresh(timeline.ice()))
        };
        let mut times: Vec<f64> = (0..200).map(|i| -1_000.0 + 500.0 * f64::from(i)).collect();
        times.extend([3_000.0, 1_500.0, 2_000.0, 90_000.0, 0.0, 36_000.0, 35_000.0]);
        let mut cursor = timeline.cursor();
        for ms in times {
            assert_eq!(cursor.at(ts(ms)), reference(ts(ms)), "at {ms} ms");
        }
        // Far from any RTCP report the ICE series answers; beyond both, nothing does.
        assert_eq!(timeline.cursor().at(ts(40_000.0)), Some(0.049));
        assert_eq!(timeline.cursor().at(ts(200_000.0)), None);
    }
}
