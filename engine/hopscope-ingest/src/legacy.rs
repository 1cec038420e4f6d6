//! Legacy Chrome callback-getStats reports (`goog*`), mapped onto the same model.
//!
//! All values arrive as strings (the JSON layer already coerces them), `googRtt` and
//! `googJitterReceived` are milliseconds, candidate types are spelled `local`/`stun`, and an
//! `ssrc_<n>_send` report mixes what we send with what the remote reported back over RTCP.

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
        packets_received: raw.num(Num::PacketsReceived),
        packets_lost: raw.num(Num::PacketsLost),
        bytes_received: raw.num(Num::BytesReceived),
        jitter_s: raw.num(Num::GoogJitterReceived).map(|ms| ms / MS),
        frames_decoded: raw.num(Num::FramesDecoded),
        frames_per_second: fps,
        frame_width: raw.num(Num::GoogFrameWidthReceived),
        frame_height: raw.num(Num::GoogFrameHeightReceived),
        nack_count: raw.num(Num::GoogNacksSent),
        pli_count: raw.num(Num::GoogPlisSent),
        fir_count: raw.num(Num::GoogFirsSent),
        // Legacy stats have no cumulative jitter-buffer delay, only the current one.
        current_delay_s: raw
            .num(Num::GoogCurrentDelayMs)
            .or(raw.num(Num::GoogJitterBufferMs))
            .map(|ms| ms / MS),
        total_samples_duration_s: raw.num(Num::TotalSamplesDuration),
        total_audio_energy: raw.num(Num::TotalAudioEnergy),
        concealed_samples: raw.num(Num::ConcealedSamples),
        concealment_events: raw.num(Num::ConcealmentEvents),
        total_samples_received: raw.num(Num::TotalSamplesReceived),
        // audioOutputLevel is 0..32767.
        audio_level: raw.num(Num::AudioOutputLevel).map(|l| l / 32767.0),
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
        packets_sent: raw.num(Num::PacketsSent),
        bytes_sent: raw.num(Num::BytesSent),
        // Legacy simulcast reports every layer under one SSRC and framesEncoded counts
        // them all, so the frame counter would overstate the rate; googFrameRateSent is
        // the browser's own figure for the track.
        frames_encoded: None,
        frames_per_second: raw.num(Num::GoogFrameRateSent),
        frame_width: raw.num(Num::GoogFrameWidthSent),
        frame_height: raw.num(Num::GoogFrameHeightSent),
        nack_count: raw.num(Num::GoogNacksReceived),
        pli_count: raw.num(Num::GoogPlisReceived),
        fir_count: raw.num(Num::GoogFirsReceived),
        quality_limitation_reason: reason,
        encode_usage_percent: raw.num(Num::GoogEncodeUsagePercent),
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
        packets_lost: lost,
        // googRtt is 0 until the first RTCP report arrives.
        round_trip_time_s: rtt.filter(|r| *r > 0.0).map(|ms| ms / MS),
        ..RemoteInboundRtpSample::default()
    })
}

/// `googCandidatePair` → candidate-pair sample.
pub(crate) fn pair(raw: &RawStats, at: Timestamp) -> CandidatePairSample {
    let active = raw.flag(Num::GoogActiveConnection);
    CandidatePairSample {
        at,
        selected: active,
        nominated: active,
        current_round_trip_time_s: raw.num(Num::GoogRtt).filter(|r| *r > 0.0).map(|ms| ms / MS),
        responses_received: raw.num(Num::ResponsesReceived),
        requests_sent: raw.num(Num::RequestsSent),
        consent_requests_sent: raw.num(Num::ConsentRequestsSent),
        bytes_sent: raw.num(Num::BytesSent),
        bytes_received: raw.num(Num::BytesReceived),
        packets_sent: raw.num(Num::PacketsSent),
        ..CandidatePairSample::default()
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
        available_send_bps: raw.num(Num::GoogAvailableSendBandwidth),
        available_receive_bps: raw.num(Num::GoogAvailableReceiveBandwidth),
        target_encode_bps: raw.num(Num::GoogTargetEncBitrate),
        actual_encode_bps: raw.num(Num::GoogActualEncBitrate),
        transmit_bps: raw.num(Num::GoogTransmitBitrate),
        retransmit_bps: raw.num(Num::GoogRetransmitBitrate),
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
