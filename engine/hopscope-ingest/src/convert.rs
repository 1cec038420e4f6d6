//! W3C stats objects (in slots) → typed model samples, with units normalised.
//!
//! Spec stats already use seconds for every delay, so most fields copy across. The one
//! wrinkle is the obsolete `track` object (Chrome < 110, Safari ≤ 14), which carries the
//! video frame counters and jitter-buffer figures that later moved into `inbound-rtp`:
//! its values fill the gaps of the inbound stream that references it.

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
        packets_received: raw.num(Num::PacketsReceived),
        packets_lost: raw.num(Num::PacketsLost),
        packets_discarded: raw.num(Num::PacketsDiscarded),
        retransmitted_packets_received: raw.num(Num::RetransmittedPacketsReceived),
        fec_packets_received: raw.num(Num::FecPacketsReceived),
        bytes_received: raw.num(Num::BytesReceived),
        header_bytes_received: raw.num(Num::HeaderBytesReceived),
        jitter_s: raw.num(Num::Jitter),
        frames_received: n(Num::FramesReceived),
        frames_decoded: n(Num::FramesDecoded),
        frames_dropped: n(Num::FramesDropped),
        key_frames_decoded: raw.num(Num::KeyFramesDecoded),
        frames_per_second: raw.num(Num::FramesPerSecond),
        frame_width: n(Num::FrameWidth),
        frame_height: n(Num::FrameHeight),
        freeze_count: n(Num::FreezeCount),
        total_freezes_duration_s: n(Num::TotalFreezesDuration),
        pause_count: n(Num::PauseCount),
        total_pauses_duration_s: n(Num::TotalPausesDuration),
        total_inter_frame_delay_s: raw.num(Num::TotalInterFrameDelay),
        total_squared_inter_frame_delay_s: raw.num(Num::TotalSquaredInterFrameDelay),
        total_decode_time_s: raw.num(Num::TotalDecodeTime),
        nack_count: raw.num(Num::NackCount),
        pli_count: raw.num(Num::PliCount),
        fir_count: raw.num(Num::FirCount),
        jitter_buffer_delay_s: n(Num::JitterBufferDelay),
        jitter_buffer_emitted_count: n(Num::JitterBufferEmittedCount),
        jitter_buffer_target_delay_s: n(Num::JitterBufferTargetDelay),
        current_delay_s: None,
        concealed_samples: n(Num::ConcealedSamples),
        silent_concealed_samples: n(Num::SilentConcealedSamples),
        concealment_events: n(Num::ConcealmentEvents),
        total_samples_received: n(Num::TotalSamplesReceived),
        inserted_samples_for_deceleration: n(Num::InsertedSamplesForDeceleration),
        removed_samples_for_acceleration: n(Num::RemovedSamplesForAcceleration),
        audio_level: n(Num::AudioLevel),
        total_audio_energy: n(Num::TotalAudioEnergy),
        total_samples_duration_s: n(Num::TotalSamplesDuration),
        bitrate_mean_bps: raw.num(Num::BitrateMean),
        framerate_mean: raw.num(Num::FramerateMean),
    }
}

/// `outbound-rtp`.
pub(crate) fn outbound(raw: &RawStats, at: Timestamp) -> OutboundRtpSample {
    OutboundRtpSample {
        at,
        packets_sent: raw.num(Num::PacketsSent),
        bytes_sent: raw.num(Num::BytesSent),
        header_bytes_sent: raw.num(Num::HeaderBytesSent),
        retransmitted_packets_sent: raw.num(Num::RetransmittedPacketsSent),
        retransmitted_bytes_sent: raw.num(Num::RetransmittedBytesSent),
        target_bitrate_bps: raw.num(Num::TargetBitrate),
        frames_encoded: raw.num(Num::FramesEncoded),
        frames_sent: raw.num(Num::FramesSent),
        frames_per_second: raw.num(Num::FramesPerSecond),
        frame_width: raw.num(Num::FrameWidth),
        frame_height: raw.num(Num::FrameHeight),
        total_encode_time_s: raw.num(Num::TotalEncodeTime),
        total_packet_send_delay_s: raw.num(Num::TotalPacketSendDelay),
        nack_count: raw.num(Num::NackCount),
        pli_count: raw.num(Num::PliCount),
        fir_count: raw.num(Num::FirCount),
        huge_frames_sent: raw.num(Num::HugeFramesSent),
        quality_limitation_reason: raw
            .text(Text::QualityLimitationReason)
            .and_then(QualityLimitationReason::parse),
        quality_limitation_durations: raw.quality_limitation_durations,
        quality_limitation_resolution_changes: raw.num(Num::QualityLimitationResolutionChanges),
        active: raw.flag(Num::Active),
        scalability_mode: raw.nonempty(Text::ScalabilityMode).map(String::from),
        encode_usage_percent: None,
        bitrate_mean_bps: raw.num(Num::BitrateMean),
        framerate_mean: raw.num(Num::FramerateMean),
    }
}

/// `remote-inbound-rtp` (and old Firefox `inbound-rtp` with `isRemote: true`).
pub(crate) fn remote_inbound(raw: &RawStats, at: Timestamp) -> RemoteInboundRtpSample {
    RemoteInboundRtpSample {
        at,
        packets_lost: raw.num(Num::PacketsLost),
        packets_received: raw.num(Num::PacketsReceived),
        fraction_lost: raw.num(Num::FractionLost),
        jitter_s: raw.num(Num::Jitter),
        // Old Firefox reported `roundTripTime` in ms on isRemote stats; values above
        // 60 s cannot be seconds.
        round_trip_time_s: raw.num(Num::RoundTripTime).map(|r| if r > 60.0 { r / 1000.0 } else { r }),
        total_round_trip_time_s: raw.num(Num::TotalRoundTripTime),
        round_trip_time_measurements: raw.num(Num::RoundTripTimeMeasurements),
    }
}

/// `remote-outbound-rtp`.
pub(crate) fn remote_outbound(raw: &RawStats, at: Timestamp) -> RemoteOutboundRtpSample {
    RemoteOutboundRtpSample {
        at,
        packets_sent: raw.num(Num::PacketsSent),
        bytes_sent: raw.num(Num::BytesSent),
        remote_timestamp_ms: raw.num(Num::RemoteTimestamp),
        reports_sent: raw.num(Num::ReportsSent),
        round_trip_time_s: raw.num(Num::RoundTripTime),
    }
}

/// `candidate-pair`.
pub(crate) fn pair(raw: &RawStats, at: Timestamp) -> CandidatePairSample {
    CandidatePairSample {
        at,
        state: raw.text(Text::State).and_then(PairState::parse),
        nominated: raw.flag(Num::Nominated),
        selected: raw.flag(Num::Selected),
        current_round_trip_time_s: raw.num(Num::CurrentRoundTripTime),
        total_round_trip_time_s: raw.num(Num::TotalRoundTripTime),
        responses_received: raw.num(Num::ResponsesReceived),
        requests_sent: raw.num(Num::RequestsSent),
        consent_requests_sent: raw.num(Num::ConsentRequestsSent),
        available_outgoing_bitrate_bps: raw.num(Num::AvailableOutgoingBitrate),
        available_incoming_bitrate_bps: raw.num(Num::AvailableIncomingBitrate),
        bytes_sent: raw.num(Num::BytesSent),
        bytes_received: raw.num(Num::BytesReceived),
        packets_sent: raw.num(Num::PacketsSent),
        packets_received: raw.num(Num::PacketsReceived),
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
        selected_candidate_pair_changes: raw.num(Num::SelectedCandidatePairChanges),
        bytes_sent: raw.num(Num::BytesSent),
        bytes_received: raw.num(Num::BytesReceived),
    }
}

/// `media-source`.
pub(crate) fn media_source(raw: &RawStats, at: Timestamp) -> MediaSourceSample {
    MediaSourceSample {
        at,
        audio_level: raw.num(Num::AudioLevel),
        width: raw.num(Num::Width),
        height: raw.num(Num::Height),
        frames_per_second: raw.num(Num::FramesPerSecond),
        frames: raw.num(Num::Frames),
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
