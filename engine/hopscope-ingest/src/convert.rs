//! W3C stats objects (in slots) → typed model samples, with units normalised.
//!
//! Spec stats already use seconds for every delay, so most fields copy across. The one
//! wrinkle is the obsolete `track` object (Chrome < 110, Safari ≤ 14), which carries the
//! video frame counters and jitter-buffer figures that later moved into `inbound-rtp`:
//! its values fill the gaps of the inbound stream that references it.

use hopscope_model::Reading;
use hopscope_model::Timestamp;
use hopscope_model::stats::{
    CandidatePairSample, CandidateType, Codec, IceCandidate, InboundRtpSample, MediaSourceSample,
    NetworkType, OutboundRtpSample, PairState, QualityLimitationReason, RelayProtocol,
    RemoteInboundRtpSample, RemoteOutboundRtpSample, TransportSample,
};

use crate::fields::{Num, RawStats, Text};

/// `inbound-rtp`, gaps filled from its `track` object when there is one.
pub(crate) fn inbound(raw: &RawStats, track: Option<&RawStats>, at: Timestamp) -> InboundRtpSample {
    let n = |f: Num| raw.num(f).or_else(|| track.and_then(|t| t.num(f)));
    InboundRtpSample {
        at,
        packets_received: raw.num(Num::PacketsReceived).into(),
        packets_lost: raw.num(Num::PacketsLost).into(),
        packets_discarded: raw.num(Num::PacketsDiscarded).into(),
        retransmitted_packets_received: raw.num(Num::RetransmittedPacketsReceived).into(),
        fec_packets_received: raw.num(Num::FecPacketsReceived).into(),
        bytes_received: raw.num(Num::BytesReceived).into(),
        header_bytes_received: raw.num(Num::HeaderBytesReceived).into(),
        jitter_s: raw.num(Num::Jitter).into(),
        frames_received: n(Num::FramesReceived).into(),
        frames_decoded: n(Num::FramesDecoded).into(),
        frames_dropped: n(Num::FramesDropped).into(),
        key_frames_decoded: raw.num(Num::KeyFramesDecoded).into(),
        frames_per_second: raw.num(Num::FramesPerSecond).into(),
        frame_width: n(Num::FrameWidth).into(),
        frame_height: n(Num::FrameHeight).into(),
        freeze_count: n(Num::FreezeCount).into(),
        total_freezes_duration_s: n(Num::TotalFreezesDuration).into(),
        pause_count: n(Num::PauseCount).into(),
        total_pauses_duration_s: n(Num::TotalPausesDuration).into(),
        total_inter_frame_delay_s: raw.num(Num::TotalInterFrameDelay).into(),
        total_squared_inter_frame_delay_s: raw.num(Num::TotalSquaredInterFrameDelay).into(),
        total_decode_time_s: raw.num(Num::TotalDecodeTime).into(),
        nack_count: raw.num(Num::NackCount).into(),
        pli_count: raw.num(Num::PliCount).into(),
        fir_count: raw.num(Num::FirCount).into(),
        jitter_buffer_delay_s: n(Num::JitterBufferDelay).into(),
        jitter_buffer_emitted_count: n(Num::JitterBufferEmittedCount).into(),
        jitter_buffer_target_delay_s: n(Num::JitterBufferTargetDelay).into(),
        current_delay_s: Reading::NONE,
        concealed_samples: n(Num::ConcealedSamples).into(),
        silent_concealed_samples: n(Num::SilentConcealedSamples).into(),
        concealment_events: n(Num::ConcealmentEvents).into(),
        total_samples_received: n(Num::TotalSamplesReceived).into(),
        inserted_samples_for_deceleration: n(Num::InsertedSamplesForDeceleration).into(),
        removed_samples_for_acceleration: n(Num::RemovedSamplesForAcceleration).into(),
        audio_level: n(Num::AudioLevel).into(),
        total_audio_energy: n(Num::TotalAudioEnergy).into(),
        total_samples_duration_s: n(Num::TotalSamplesDuration).into(),
        bitrate_mean_bps: raw.num(Num::BitrateMean).into(),
        framerate_mean: raw.num(Num::FramerateMean).into(),
    }
}

/// `outbound-rtp`.
pub(crate) fn outbound(raw: &RawStats, at: Timestamp) -> OutboundRtpSample {
    OutboundRtpSample {
        at,
        packets_sent: raw.num(Num::PacketsSent).into(),
        bytes_sent: raw.num(Num::BytesSent).into(),
        header_bytes_sent: raw.num(Num::HeaderBytesSent).into(),
        retransmitted_packets_sent: raw.num(Num::RetransmittedPacketsSent).into(),
        retransmitted_bytes_sent: raw.num(Num::RetransmittedBytesSent).into(),
        target_bitrate_bps: raw.num(Num::TargetBitrate).into(),
        frames_encoded: raw.num(Num::FramesEncoded).into(),
        frames_sent: raw.num(Num::FramesSent).into(),
        frames_per_second: raw.num(Num::FramesPerSecond).into(),
        frame_width: raw.num(Num::FrameWidth).into(),
        frame_height: raw.num(Num::FrameHeight).into(),
        total_encode_time_s: raw.num(Num::TotalEncodeTime).into(),
        total_packet_send_delay_s: raw.num(Num::TotalPacketSendDelay).into(),
        nack_count: raw.num(Num::NackCount).into(),
        pli_count: raw.num(Num::PliCount).into(),
        fir_count: raw.num(Num::FirCount).into(),
        huge_frames_sent: raw.num(Num::HugeFramesSent).into(),
        quality_limitation_reason: raw
            .text(Text::QualityLimitationReason)
            .and_then(QualityLimitationReason::parse),
        quality_limitation_durations: raw.quality_limitation_durations,
        quality_limitation_resolution_changes: raw.num(Num::QualityLimitationResolutionChanges).into(),
        active: raw.flag(Num::Active),
        scalability_mode: raw.nonempty(Text::ScalabilityMode).map(String::from),
        encode_usage_percent: Reading::NONE,
        bitrate_mean_bps: raw.num(Num::BitrateMean).into(),
        framerate_mean: raw.num(Num::FramerateMean).into(),
    }
}

/// `remote-inbound-rtp` (and old Firefox `inbound-rtp` with `isRemote: true`).
pub(crate) fn remote_inbound(raw: &RawStats, at: Timestamp) -> RemoteInboundRtpSample {
    RemoteInboundRtpSample {
        at,
        packets_lost: raw.num(Num::PacketsLost).into(),
        packets_received: raw.num(Num::PacketsReceived).into(),
        fraction_lost: raw.num(Num::FractionLost).into(),
        jitter_s: raw.num(Num::Jitter).into(),
        // Old Firefox reported `roundTripTime` in ms on isRemote stats; values above
        // 60 s cannot be seconds.
        round_trip_time_s: Reading::from(
            raw.num(Num::RoundTripTime).map(|r| if r > 60.0 { r / 1000.0 } else { r }),
        ),
        total_round_trip_time_s: raw.num(Num::TotalRoundTripTime).into(),
        round_trip_time_measurements: raw.num(Num::RoundTripTimeMeasurements).into(),
    }
}

/// `remote-outbound-rtp`.
pub(crate) fn remote_outbound(raw: &RawStats, at: Timestamp) -> RemoteOutboundRtpSample {
    RemoteOutboundRtpSample {
        at,
        packets_sent: raw.num(Num::PacketsSent).into(),
        bytes_sent: raw.num(Num::BytesSent).into(),
        remote_timestamp_ms: raw.num(Num::RemoteTimestamp).into(),
        reports_sent: raw.num(Num::ReportsSent).into(),
        round_trip_time_s: raw.num(Num::RoundTripTime).into(),
    }
}

/// `candidate-pair`.
pub(crate) fn pair(raw: &RawStats, at: Timestamp) -> CandidatePairSample {
    CandidatePairSample {
        at,
        state: raw.text(Text::State).and_then(PairState::parse),
        nominated: raw.flag(Num::Nominated),
        selected: raw.flag(Num::Selected),
        current_round_trip_time_s: raw.num(Num::CurrentRoundTripTime).into(),
        total_round_trip_time_s: raw.num(Num::TotalRoundTripTime).into(),
        responses_received: raw.num(Num::ResponsesReceived).into(),
        requests_sent: raw.num(Num::RequestsSent).into(),
        consent_requests_sent: raw.num(Num::ConsentRequestsSent).into(),
        available_outgoing_bitrate_bps: raw.num(Num::AvailableOutgoingBitrate).into(),
        available_incoming_bitrate_bps: raw.num(Num::AvailableIncomingBitrate).into(),
        bytes_sent: raw.num(Num::BytesSent).into(),
        bytes_received: raw.num(Num::BytesReceived).into(),
        packets_sent: raw.num(Num::PacketsSent).into(),
        packets_received: raw.num(Num::PacketsReceived).into(),
    }
}

/// `local-candidate` / `remote-candidate` (W3C, old W3C and legacy spellings share slots).
pub(crate) fn candidate(stats_id: &str, raw: &RawStats, is_remote: bool) -> IceCandidate {
    let network_raw = raw.nonempty(Text::NetworkType).map(String::from);
    IceCandidate {
        stats_id: stats_id.to_string(),
        is_remote,
        candidate_type: raw.text(Text::CandidateType).and_then(CandidateType::parse),
        protocol: raw.nonempty(Text::Protocol).map(str::to_ascii_lowercase),
        address: raw.nonempty(Text::Address).map(String::from),
        port: raw.num(Num::Port).and_then(|p| u16::try_from(p as i64).ok()),
        relay_protocol: raw.text(Text::RelayProtocol).and_then(RelayProtocol::parse),
        url: raw.nonempty(Text::Url).map(String::from),
        network_type: network_raw.as_deref().and_then(NetworkType::parse),
        network_type_raw: network_raw,
        tcp_type: raw.nonempty(Text::TcpType).map(String::from),
        priority: raw.num(Num::Priority),
    }
}

/// `transport`.
pub(crate) fn transport(raw: &RawStats, at: Timestamp) -> TransportSample {
    TransportSample {
        at,
        selected_candidate_pair_id: raw.nonempty(Text::SelectedCandidatePairId).map(String::from),
        ice_state: raw.nonempty(Text::IceState).map(String::from),
        dtls_state: raw.nonempty(Text::DtlsState).map(String::from),
        selected_candidate_pair_changes: raw.num(Num::SelectedCandidatePairChanges).into(),
        bytes_sent: raw.num(Num::BytesSent).into(),
        bytes_received: raw.num(Num::BytesReceived).into(),
    }
}

/// `media-source`.
pub(crate) fn media_source(raw: &RawStats, at: Timestamp) -> MediaSourceSample {
    MediaSourceSample {
        at,
        audio_level: raw.num(Num::AudioLevel).into(),
        width: raw.num(Num::Width).into(),
        height: raw.num(Num::Height).into(),
        frames_per_second: raw.num(Num::FramesPerSecond).into(),
        frames: raw.num(Num::Frames).into(),
    }
}

/// `codec`.
pub(crate) fn codec(stats_id: &str, raw: &RawStats) -> Codec {
    let int = |f: Num| raw.num(f).and_then(|v| u32::try_from(v as i64).ok());
    Codec {
        stats_id: stats_id.to_string(),
        mime_type: raw.nonempty(Text::MimeType).map(String::from),
        payload_type: int(Num::PayloadType),
        clock_rate: int(Num::ClockRate),
        channels: int(Num::Channels),
        sdp_fmtp_line: raw.nonempty(Text::SdpFmtpLine).map(String::from),
    }
}
