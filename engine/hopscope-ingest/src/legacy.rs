//! Legacy Chrome callback-getStats reports (`goog*`), mapped onto the same model.
//!
//! All values arrive as strings (the JSON layer already coerces them), `googRtt` and
//! `googJitterReceived` are milliseconds, candidate types are spelled `local`/`stun`, and an
//! `ssrc_<n>_send` report mixes what we send with what the remote reported back over RTCP.

use hopscope_model::Reading;
use hopscope_model::Timestamp;
use hopscope_model::stats::{
    BandwidthSample, CandidatePairSample, CandidateType, IceCandidate, InboundRtpSample, OutboundRtpSample,
    QualityLimitationReason, RemoteInboundRtpSample,
};

use crate::fields::{Num, RawStats, Text};

const MS: f64 = 1000.0;

/// Which way an `ssrc` report points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SsrcDirection {
    /// `ssrc_<n>_recv`.
    Receive,
    /// `ssrc_<n>_send`.
    Send,
}

/// Direction from the id suffix, else from which counters are present.
pub(crate) fn ssrc_direction(stats_id: &str, raw: &RawStats) -> SsrcDirection {
    if stats_id.ends_with("_send") {
        SsrcDirection::Send
    } else if stats_id.ends_with("_recv") {
        SsrcDirection::Receive
    } else if raw.num(Num::PacketsSent).is_some() || raw.num(Num::BytesSent).is_some() {
        SsrcDirection::Send
    } else {
        SsrcDirection::Receive
    }
}

/// `ssrc_<n>_recv` → inbound-rtp.
pub(crate) fn inbound(raw: &RawStats, at: Timestamp) -> InboundRtpSample {
    let fps = raw
        .num(Num::GoogFrameRateOutput)
        .or(raw.num(Num::GoogFrameRateDecoded))
        .or(raw.num(Num::GoogFrameRateReceived));
    InboundRtpSample {
        at,
        packets_received: raw.num(Num::PacketsReceived).into(),
        packets_lost: raw.num(Num::PacketsLost).into(),
        bytes_received: raw.num(Num::BytesReceived).into(),
        jitter_s: Reading::from(raw.num(Num::GoogJitterReceived).map(|ms| ms / MS)),
        frames_decoded: raw.num(Num::FramesDecoded).into(),
        frames_per_second: fps.into(),
        frame_width: raw.num(Num::GoogFrameWidthReceived).into(),
        frame_height: raw.num(Num::GoogFrameHeightReceived).into(),
        nack_count: raw.num(Num::GoogNacksSent).into(),
        pli_count: raw.num(Num::GoogPlisSent).into(),
        fir_count: raw.num(Num::GoogFirsSent).into(),
        // Legacy stats have no cumulative jitter-buffer delay, only the current one.
        current_delay_s: Reading::from(
            raw.num(Num::GoogCurrentDelayMs).or(raw.num(Num::GoogJitterBufferMs)).map(|ms| ms / MS),
        ),
        total_samples_duration_s: raw.num(Num::TotalSamplesDuration).into(),
        total_audio_energy: raw.num(Num::TotalAudioEnergy).into(),
        concealed_samples: raw.num(Num::ConcealedSamples).into(),
        concealment_events: raw.num(Num::ConcealmentEvents).into(),
        total_samples_received: raw.num(Num::TotalSamplesReceived).into(),
        // audioOutputLevel is 0..32767.
        audio_level: Reading::from(raw.num(Num::AudioOutputLevel).map(|l| l / 32767.0)),
        ..InboundRtpSample::default()
    }
}

/// `ssrc_<n>_send` → outbound-rtp.
pub(crate) fn outbound(raw: &RawStats, at: Timestamp) -> OutboundRtpSample {
    let reason = if raw.flag(Num::GoogCpuLimitedResolution) == Some(true) {
        Some(QualityLimitationReason::Cpu)
    } else if raw.flag(Num::GoogBandwidthLimitedResolution) == Some(true) {
        Some(QualityLimitationReason::Bandwidth)
    } else if raw.num(Num::GoogCpuLimitedResolution).is_some() {
        Some(QualityLimitationReason::None)
    } else {
        None
    };
    OutboundRtpSample {
        at,
        packets_sent: raw.num(Num::PacketsSent).into(),
        bytes_sent: raw.num(Num::BytesSent).into(),
        // Legacy simulcast reports every layer under one SSRC and framesEncoded counts
        // them all, so the frame counter would overstate the rate; googFrameRateSent is
        // the browser's own figure for the track.
        frames_encoded: Reading::NONE,
        frames_per_second: raw.num(Num::GoogFrameRateSent).into(),
        frame_width: raw.num(Num::GoogFrameWidthSent).into(),
        frame_height: raw.num(Num::GoogFrameHeightSent).into(),
        nack_count: raw.num(Num::GoogNacksReceived).into(),
        pli_count: raw.num(Num::GoogPlisReceived).into(),
        fir_count: raw.num(Num::GoogFirsReceived).into(),
        quality_limitation_reason: reason,
        encode_usage_percent: raw.num(Num::GoogEncodeUsagePercent).into(),
        ..OutboundRtpSample::default()
    }
}

/// The RTCP half of `ssrc_<n>_send`: `googRtt` and `packetsLost` come from the remote's
/// receiver reports. `None` when the report carries neither.
pub(crate) fn remote_inbound(raw: &RawStats, at: Timestamp) -> Option<RemoteInboundRtpSample> {
    let rtt = raw.num(Num::GoogRtt);
    let lost = raw.num(Num::PacketsLost);
    if rtt.is_none() && lost.is_none() {
        return None;
    }
    Some(RemoteInboundRtpSample {
        at,
        packets_lost: lost.into(),
        // googRtt is 0 until the first RTCP report arrives.
        round_trip_time_s: Reading::from(rtt.filter(|r| *r > 0.0).map(|ms| ms / MS)),
        ..RemoteInboundRtpSample::default()
    })
}

/// `googCandidatePair` → candidate-pair sample.
pub(crate) fn pair(raw: &RawStats, at: Timestamp) -> CandidatePairSample {
    let active = raw.flag(Num::GoogActiveConnection);
    let responses = raw.num(Num::ResponsesReceived);
    CandidatePairSample {
        at,
        selected: active,
        nominated: active,
        current_round_trip_time_s: Reading::from(
            raw.num(Num::GoogRtt)
                .filter(|r| *r > 0.0 && !responses.is_some_and(|n| decaying_default_rtt(*r, n)))
                .map(|ms| ms / MS),
        ),
        responses_received: raw.num(Num::ResponsesReceived).into(),
        requests_sent: raw.num(Num::RequestsSent).into(),
        consent_requests_sent: raw.num(Num::ConsentRequestsSent).into(),
        bytes_sent: raw.num(Num::BytesSent).into(),
        bytes_received: raw.num(Num::BytesReceived).into(),
        packets_sent: raw.num(Num::PacketsSent).into(),
        ..CandidatePairSample::default()
    }
}

/// Old libjingle started a pair's smoothed RTT at 3000 ms and moved it a quarter of the way
/// to each new measurement, so early values (3000, 2250, 1690, … 533 after 7 responses on a
/// loopback call) describe the default, not the network. A value that sits on that decay
/// (within 10 %, plus 50 ms for the real round trip mixed in) is dropped; anything off it,
/// as from browsers whose first response sets the RTT directly, is kept.
fn decaying_default_rtt(rtt_ms: f64, responses: f64) -> bool {
    if responses >= 30.0 {
        return false;
    }
    let residual = 3000.0 * 0.75f64.powf((responses - 1.0).max(0.0));
    (0.9 * residual..=1.1 * residual + 50.0).contains(&rtt_ms)
}

/// The same decay seen as a series, for dumps without `responsesReceived`: leading RTTs that
/// start at a second or more and fall by a steady quarter of the remaining gap (successive
/// drops in a ratio near 0.75, whatever the real RTT they converge to) are the default
/// wearing off. They are cleared; what follows is the measured round trip.
pub(crate) fn clear_default_rtt_decay(samples: &mut [CandidatePairSample]) {
    let rtt_ms = |s: &CandidatePairSample| s.current_round_trip_time_s.map(|r| r * MS);
    // Distinct consecutive values: a sample repeats the RTT until the next response.
    let mut steps: Vec<(usize, f64)> = Vec::new();
    for (i, s) in samples.iter().enumerate() {
        if let Some(v) = rtt_ms(s)
            && steps.last().is_none_or(|(_, last)| *last != v)
        {
            steps.push((i, v));
        }
    }
    let Some(&(_, first)) = steps.first() else { return };
    if first < 1000.0 {
        return;
    }
    // `decaying` counts the leading values that are still on the curve.
    let mut decaying = 1;
    while decaying + 1 < steps.len() {
        let drop = steps[decaying - 1].1 - steps[decaying].1;
        let next = steps[decaying].1 - steps[decaying + 1].1;
        if drop <= 0.0 || !(0.6..=0.9).contains(&(next / drop)) {
            break;
        }
        decaying += 1;
    }
    if decaying + 1 == steps.len() {
        decaying = steps.len(); // the series never settled: all of it is the default
    } else if decaying < 3 {
        return; // too short to call it a decay
    }
    let end = steps.get(decaying).map_or(samples.len(), |(i, _)| *i);
    for s in &mut samples[..end] {
        s.current_round_trip_time_s = Reading::NONE;
    }
}

/// Old legacy pairs (Chrome ≤ 5x) name no candidate objects, only `googLocalAddress` and
/// `googLocalCandidateType`: synthesise the candidates from those.
pub(crate) fn pair_candidates(pair_id: &str, raw: &RawStats) -> (Option<IceCandidate>, Option<IceCandidate>) {
    let make = |remote: bool, address: Text, kind: Text| {
        let addr = raw.nonempty(address)?;
        let (host, port) = match addr.rsplit_once(':') {
            Some((h, p)) => (h.trim_matches(['[', ']']).to_string(), p.parse().ok()),
            None => (addr.to_string(), None),
        };
        Some(IceCandidate {
            stats_id: format!("{pair_id}/{}", if remote { "remote" } else { "local" }),
            is_remote: remote,
            candidate_type: raw.text(kind).and_then(CandidateType::parse),
            protocol: raw.nonempty(Text::GoogTransportType).map(str::to_ascii_lowercase),
            address: Some(host),
            port,
            ..IceCandidate::default()
        })
    };
    (
        make(false, Text::GoogLocalAddress, Text::GoogLocalCandidateType),
        make(true, Text::GoogRemoteAddress, Text::GoogRemoteCandidateType),
    )
}

/// `VideoBwe` → bandwidth-estimation sample.
pub(crate) fn bandwidth(raw: &RawStats, at: Timestamp) -> BandwidthSample {
    BandwidthSample {
        at,
        available_send_bps: raw.num(Num::GoogAvailableSendBandwidth).into(),
        available_receive_bps: raw.num(Num::GoogAvailableReceiveBandwidth).into(),
        target_encode_bps: raw.num(Num::GoogTargetEncBitrate).into(),
        actual_encode_bps: raw.num(Num::GoogActualEncBitrate).into(),
        transmit_bps: raw.num(Num::GoogTransmitBitrate).into(),
        retransmit_bps: raw.num(Num::GoogRetransmitBitrate).into(),
    }
}

/// `googCodecName` (`VP8`, `opus`) → a mimeType-like name.
pub(crate) fn codec_mime(raw: &RawStats, kind: Option<&str>) -> Option<String> {
    let name = raw.nonempty(Text::GoogCodecName)?;
    Some(match kind {
        Some(k) => format!("{k}/{name}"),
        None => name.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_3000_ms_default_decay_is_not_an_rtt() {
        // Chrome 48 loopback: 949 ms after 5 responses, 533 after 7.
        assert!(decaying_default_rtt(949.0, 5.0));
        assert!(decaying_default_rtt(533.0, 7.0));
        // Chrome 86: the first response sets the RTT directly.
        assert!(!decaying_default_rtt(56.0, 1.0));
        assert!(!decaying_default_rtt(217.0, 12.0));
        assert!(decaying_default_rtt(3000.0, 0.0));
    }

    fn series(rtts_ms: &[f64]) -> Vec<CandidatePairSample> {
        rtts_ms
            .iter()
            .map(|ms| CandidatePairSample {
                current_round_trip_time_s: Reading::some(ms / MS),
                ..Default::default()
            })
            .collect()
    }

    fn kept(samples: &[CandidatePairSample]) -> Vec<f64> {
        samples.iter().filter_map(|s| s.current_round_trip_time_s.get()).map(|s| (s * MS).round()).collect()
    }

    #[test]
    fn a_decay_to_a_loopback_rtt_is_cleared_entirely() {
        // Chrome 48, jitsi clienttest: 2250, 1688, … 71 one second apart, real RTT ≈ 0.
        let mut s =
            series(&[2250.0, 2250.0, 1688.0, 1266.0, 949.0, 711.0, 533.0, 400.0, 300.0, 225.0, 168.0]);
        clear_default_rtt_decay(&mut s);
        assert!(kept(&s).is_empty());
    }

    #[test]
    fn a_decay_to_a_real_rtt_keeps_the_settled_values() {
        // Real RTT 100 ms: v = 100 + 2900·0.75ⁿ, then network noise.
        let mut rtts: Vec<f64> = (1..16).map(|n| 100.0 + 2900.0 * 0.75f64.powi(n)).collect();
        rtts.extend([112.0, 98.0, 131.0, 104.0]);
        let mut s = series(&rtts);
        clear_default_rtt_decay(&mut s);
        let kept = kept(&s);
        assert!(!kept.is_empty() && kept.len() <= 6, "{kept:?}");
        assert!(kept.iter().all(|v| *v < 160.0), "{kept:?}");
    }

    #[test]
    fn a_real_high_rtt_is_not_mistaken_for_the_default() {
        let mut s = series(&[1200.0, 1150.0, 1300.0, 1250.0, 1190.0]);
        clear_default_rtt_decay(&mut s);
        assert_eq!(kept(&s).len(), 5);
        let mut s = series(&[56.0, 60.0, 58.0]);
        clear_default_rtt_decay(&mut s);
        assert_eq!(kept(&s).len(), 3);
    }
}
