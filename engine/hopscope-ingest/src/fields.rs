//! The stats fields hopscope reads, and `RawStats`: one stats object with its fields in
//! fixed slots.
//!
//! Every format ends up producing W3C-shaped stats objects. Instead of a map of field name
//! to JSON value per object, known fields go into fixed numeric or string slots (unknown
//! fields are skipped without being materialised). That makes rtcstats delta compression a
//! slot overwrite, lookups O(1), and keeps ingest near the cost of tokenising the JSON.

use hopscope_model::stats::QualityLimitationDurations;

macro_rules! field_table {
    (
        num { $($num:ident = $($num_name:literal)|+,)* }
        text { $($text:ident = $($text_name:literal)|+,)* }
    ) => {
        /// A numeric (or boolean, or numeric-string) field.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(usize)]
        #[allow(non_camel_case_types, reason = "variants are the fields' own spellings")]
        pub enum Num { $($num,)* }

        /// A text field.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(usize)]
        #[allow(non_camel_case_types, reason = "variants are the fields' own spellings")]
        pub enum Text { $($text,)* }

        /// How many numeric slots there are.
        pub const NUM_SLOTS: usize = [$(Num::$num),*].len();
        /// How many text slots there are.
        pub const TEXT_SLOTS: usize = [$(Text::$text),*].len();

        /// Where a field name goes.
        pub fn slot_for(name: &str) -> Option<Slot> {
            match name {
                $($($num_name)|+ => Some(Slot::Num(Num::$num)),)*
                $($($text_name)|+ => Some(Slot::Text(Text::$text)),)*
                _ => None,
            }
        }
    };
}

/// A field's slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// Numeric slot.
    Num(Num),
    /// Text slot.
    Text(Text),
}

field_table! {
    num {
        // RTP, receiving side.
        PacketsReceived = "packetsReceived",
        PacketsLost = "packetsLost",
        PacketsDiscarded = "packetsDiscarded" | "discardedPackets",
        RetransmittedPacketsReceived = "retransmittedPacketsReceived",
        FecPacketsReceived = "fecPacketsReceived",
        BytesReceived = "bytesReceived",
        HeaderBytesReceived = "headerBytesReceived",
        Jitter = "jitter",
        FramesReceived = "framesReceived",
        FramesDecoded = "framesDecoded",
        FramesDropped = "framesDropped",
        KeyFramesDecoded = "keyFramesDecoded",
        FramesPerSecond = "framesPerSecond",
        FrameWidth = "frameWidth",
        FrameHeight = "frameHeight",
        FreezeCount = "freezeCount",
        TotalFreezesDuration = "totalFreezesDuration",
        PauseCount = "pauseCount",
        TotalPausesDuration = "totalPausesDuration",
        TotalInterFrameDelay = "totalInterFrameDelay",
        TotalSquaredInterFrameDelay = "totalSquaredInterFrameDelay",
        TotalDecodeTime = "totalDecodeTime",
        NackCount = "nackCount",
        PliCount = "pliCount",
        FirCount = "firCount",
        JitterBufferDelay = "jitterBufferDelay",
        JitterBufferEmittedCount = "jitterBufferEmittedCount",
        JitterBufferTargetDelay = "jitterBufferTargetDelay",
        ConcealedSamples = "concealedSamples",
        SilentConcealedSamples = "silentConcealedSamples",
        ConcealmentEvents = "concealmentEvents",
        TotalSamplesReceived = "totalSamplesReceived",
        InsertedSamplesForDeceleration = "insertedSamplesForDeceleration",
        RemovedSamplesForAcceleration = "removedSamplesForAcceleration",
        AudioLevel = "audioLevel",
        TotalAudioEnergy = "totalAudioEnergy",
        TotalSamplesDuration = "totalSamplesDuration",
        BitrateMean = "bitrateMean",
        FramerateMean = "framerateMean",
        // RTP, sending side.
        PacketsSent = "packetsSent",
        BytesSent = "bytesSent",
        HeaderBytesSent = "headerBytesSent",
        RetransmittedPacketsSent = "retransmittedPacketsSent",
        RetransmittedBytesSent = "retransmittedBytesSent",
        TargetBitrate = "targetBitrate",
        FramesEncoded = "framesEncoded",
        FramesSent = "framesSent",
        TotalEncodeTime = "totalEncodeTime",
        TotalPacketSendDelay = "totalPacketSendDelay",
        HugeFramesSent = "hugeFramesSent",
        QualityLimitationResolutionChanges = "qualityLimitationResolutionChanges",
        EncodingIndex = "encodingIndex",
        Active = "active",
        // RTCP views.
        FractionLost = "fractionLost",
        RoundTripTime = "roundTripTime",
        TotalRoundTripTime = "totalRoundTripTime",
        RoundTripTimeMeasurements = "roundTripTimeMeasurements",
        RemoteTimestamp = "remoteTimestamp",
        ReportsSent = "reportsSent",
        // ICE.
        CurrentRoundTripTime = "currentRoundTripTime",
        ResponsesReceived = "responsesReceived",
        RequestsSent = "requestsSent",
        ConsentRequestsSent = "consentRequestsSent",
        AvailableOutgoingBitrate = "availableOutgoingBitrate",
        AvailableIncomingBitrate = "availableIncomingBitrate",
        SelectedCandidatePairChanges = "selectedCandidatePairChanges",
        Nominated = "nominated",
        Selected = "selected",
        IsRemote = "isRemote",
        Port = "port" | "portNumber",
        Priority = "priority",
        // Misc.
        Ssrc = "ssrc",
        Width = "width",
        Height = "height",
        Frames = "frames",
        PayloadType = "payloadType",
        ClockRate = "clockRate",
        Channels = "channels",
        RemoteSource = "remoteSource",
        // Legacy Chrome goog* (values are strings; units differ, see legacy.rs).
        GoogRtt = "googRtt",
        GoogJitterReceived = "googJitterReceived",
        GoogJitterBufferMs = "googJitterBufferMs",
        GoogCurrentDelayMs = "googCurrentDelayMs",
        GoogFrameRateReceived = "googFrameRateReceived",
        GoogFrameRateDecoded = "googFrameRateDecoded",
        GoogFrameRateOutput = "googFrameRateOutput",
        GoogFrameRateSent = "googFrameRateSent",
        GoogFrameRateInput = "googFrameRateInput",
        GoogFrameWidthReceived = "googFrameWidthReceived",
        GoogFrameHeightReceived = "googFrameHeightReceived",
        GoogFrameWidthSent = "googFrameWidthSent",
        GoogFrameHeightSent = "googFrameHeightSent",
        GoogNacksSent = "googNacksSent",
        GoogNacksReceived = "googNacksReceived",
        GoogPlisSent = "googPlisSent",
        GoogPlisReceived = "googPlisReceived",
        GoogFirsSent = "googFirsSent",
        GoogFirsReceived = "googFirsReceived",
        GoogEncodeUsagePercent = "googEncodeUsagePercent",
        GoogCpuLimitedResolution = "googCpuLimitedResolution",
        GoogBandwidthLimitedResolution = "googBandwidthLimitedResolution",
        GoogActiveConnection = "googActiveConnection",
        GoogAvailableSendBandwidth = "googAvailableSendBandwidth",
        GoogAvailableReceiveBandwidth = "googAvailableReceiveBandwidth",
        GoogTargetEncBitrate = "googTargetEncBitrate",
        GoogActualEncBitrate = "googActualEncBitrate",
        GoogTransmitBitrate = "googTransmitBitrate",
        GoogRetransmitBitrate = "googRetransmitBitrate",
        GoogExpandRate = "googExpandRate",
        AudioOutputLevel = "audioOutputLevel",
        DataChannelsOpened = "dataChannelsOpened",
        DataChannelsClosed = "dataChannelsClosed",
    }
    text {
        Kind = "kind",
        MediaType = "mediaType",
        CodecId = "codecId",
        MimeType = "mimeType",
        SdpFmtpLine = "sdpFmtpLine",
        State = "state",
        CandidateType = "candidateType",
        Protocol = "protocol" | "transport",
        Address = "address" | "ip" | "ipAddress",
        RelayProtocol = "relayProtocol",
        Url = "url",
        NetworkType = "networkType",
        TcpType = "tcpType",
        LocalCandidateId = "localCandidateId",
        RemoteCandidateId = "remoteCandidateId",
        TransportId = "transportId" | "googChannelId",
        SelectedCandidatePairId = "selectedCandidatePairId",
        RemoteId = "remoteId",
        LocalId = "localId",
        Mid = "mid",
        Rid = "rid",
        TrackIdentifier = "trackIdentifier" | "googTrackId",
        TrackId = "trackId",
        MediaSourceId = "mediaSourceId",
        EncoderImplementation = "encoderImplementation",
        DecoderImplementation = "decoderImplementation",
        CodecImplementationName = "codecImplementationName",
        QualityLimitationReason = "qualityLimitationReason",
        DtlsState = "dtlsState",
        IceState = "iceState",
        IceRole = "iceRole",
        ContentType = "contentType" | "googContentType",
        GoogCodecName = "googCodecName",
        GoogLocalCandidateType = "googLocalCandidateType",
        GoogRemoteCandidateType = "googRemoteCandidateType",
        GoogLocalAddress = "googLocalAddress",
        GoogRemoteAddress = "googRemoteAddress",
        GoogTransportType = "googTransportType",
        DataChannelIdentifier = "dataChannelIdentifier" | "datachannelid",
        ScalabilityMode = "scalabilityMode",
    }
}

/// The `type` of a stats object, W3C and legacy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StatsKind {
    /// `inbound-rtp` (and old `inboundrtp`).
    InboundRtp,
    /// `outbound-rtp` (and old `outboundrtp`).
    OutboundRtp,
    /// `remote-inbound-rtp`.
    RemoteInboundRtp,
    /// `remote-outbound-rtp`.
    RemoteOutboundRtp,
    /// `candidate-pair` (and old `candidatepair`).
    CandidatePair,
    /// `local-candidate` (and old/legacy `localcandidate`).
    LocalCandidate,
    /// `remote-candidate` (and old/legacy `remotecandidate`).
    RemoteCandidate,
    /// `transport`.
    Transport,
    /// `media-source`.
    MediaSource,
    /// `codec`.
    Codec,
    /// Obsolete `track` stats (Chrome < 110, Safari ≤ 14): carries video frame fields.
    Track,
    /// Legacy `ssrc` report (callback getStats).
    LegacySsrc,
    /// Legacy `googCandidatePair`.
    LegacyCandidatePair,
    /// Legacy `VideoBwe`.
    LegacyBandwidth,
    /// Legacy `googComponent` (carries `selectedCandidatePairId`).
    LegacyComponent,
    /// Any other type we recognise and do not model (certificates, data channels, ...).
    Ignored,
}

impl StatsKind {
    /// Classifies a `type` value.
    pub fn parse(text: &str) -> StatsKind {
        match text {
            "inbound-rtp" | "inboundrtp" => StatsKind::InboundRtp,
            "outbound-rtp" | "outboundrtp" => StatsKind::OutboundRtp,
            "remote-inbound-rtp" => StatsKind::RemoteInboundRtp,
            "remote-outbound-rtp" => StatsKind::RemoteOutboundRtp,
            "candidate-pair" | "candidatepair" => StatsKind::CandidatePair,
            "local-candidate" | "localcandidate" => StatsKind::LocalCandidate,
            "remote-candidate" | "remotecandidate" => StatsKind::RemoteCandidate,
            "transport" => StatsKind::Transport,
            "media-source" => StatsKind::MediaSource,
            "codec" => StatsKind::Codec,
            "track" => StatsKind::Track,
            "ssrc" => StatsKind::LegacySsrc,
            "googCandidatePair" => StatsKind::LegacyCandidatePair,
            "VideoBwe" => StatsKind::LegacyBandwidth,
            "googComponent" => StatsKind::LegacyComponent,
            _ => StatsKind::Ignored,
        }
    }

    /// Whether this is a callback-getStats (goog*) report.
    pub fn is_legacy(self) -> bool {
        matches!(
            self,
            StatsKind::LegacySsrc
                | StatsKind::LegacyCandidatePair
                | StatsKind::LegacyBandwidth
                | StatsKind::LegacyComponent
        )
    }
}

/// Which optional fields a stats object carried, for inferring the browser.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Traits(u32);

impl Traits {
    /// `bitrateMean` / `framerateMean` (Firefox ≤ 9x).
    pub const FIREFOX_MEANS: Traits = Traits(1);
    /// `isRemote` on RTP stats (old Firefox and old Chrome).
    pub const IS_REMOTE: Traits = Traits(1 << 1);
    /// `selected` on a candidate pair (Firefox).
    pub const PAIR_SELECTED_FLAG: Traits = Traits(1 << 2);
    /// `networkType` on a candidate (Chrome).
    pub const NETWORK_TYPE: Traits = Traits(1 << 3);
    /// `qualityLimitationReason` (Chrome, Firefox ≥ 11x).
    pub const QUALITY_LIMITATION: Traits = Traits(1 << 4);
    /// `freezeCount`.
    pub const FREEZE_COUNT: Traits = Traits(1 << 6);
    /// `datachannelid` spelling (Safari).
    pub const DATACHANNELID: Traits = Traits(1 << 7);
    /// `kind: ""` (Safari 14 remote-inbound).
    pub const EMPTY_KIND: Traits = Traits(1 << 8);

    /// Union.
    pub fn insert(&mut self, other: Traits) {
        self.0 |= other.0;
    }

    /// Whether all of `other` are present.
    pub fn contains(self, other: Traits) -> bool {
        self.0 & other.0 == other.0
    }
}

/// One stats object with its fields in slots.
#[derive(Clone, Debug)]
pub struct RawStats {
    /// `type`, once known (delta-compressed formats send it once).
    pub kind: Option<StatsKind>,
    /// The object's own timestamp, epoch ms; `None` or 0 means "the report time".
    pub timestamp: Option<f64>,
    nums: [f64; NUM_SLOTS],
    texts: [Option<Box<str>>; TEXT_SLOTS],
    /// `qualityLimitationDurations`.
    pub quality_limitation_durations: Option<QualityLimitationDurations>,
    /// Optional fields seen, for browser inference.
    pub traits: Traits,
}

impl Default for RawStats {
    fn default() -> Self {
        RawStats {
            kind: None,
            timestamp: None,
            nums: [f64::NAN; NUM_SLOTS],
            texts: std::array::from_fn(|_| None),
            quality_limitation_durations: None,
            traits: Traits::default(),
        }
    }
}

impl RawStats {
    /// A numeric field; `None` when absent.
    pub fn num(&self, field: Num) -> Option<f64> {
        let v = self.nums[field as usize];
        (!v.is_nan()).then_some(v)
    }

    /// A boolean field (numeric 1/0, `"true"`/`"false"`).
    pub fn flag(&self, field: Num) -> Option<bool> {
        self.num(field).map(|v| v != 0.0)
    }

    /// A text field; `None` when absent.
    pub fn text(&self, field: Text) -> Option<&str> {
        self.texts[field as usize].as_deref()
    }

    /// A text field that is not empty (`kind: ""` occurs).
    pub fn nonempty(&self, field: Text) -> Option<&str> {
        self.text(field).filter(|s| !s.is_empty())
    }

    /// Sets a numeric field (`None` clears it).
    pub fn set_num(&mut self, field: Num, value: Option<f64>) {
        self.nums[field as usize] = value.filter(|v| v.is_finite()).unwrap_or(f64::NAN);
    }

    /// Sets a text field (`None` clears it).
    pub fn set_text(&mut self, field: Text, value: Option<Box<str>>) {
        self.texts[field as usize] = value;
    }

    /// Records the optional-field traits a field name implies.
    pub fn note_field(&mut self, slot: Slot) {
        let t = match slot {
            Slot::Num(Num::BitrateMean | Num::FramerateMean) => Traits::FIREFOX_MEANS,
            Slot::Num(Num::IsRemote) => Traits::IS_REMOTE,
            Slot::Num(Num::Selected) => Traits::PAIR_SELECTED_FLAG,
            Slot::Num(Num::FreezeCount) => Traits::FREEZE_COUNT,
            Slot::Text(Text::NetworkType) => Traits::NETWORK_TYPE,
            Slot::Text(Text::QualityLimitationReason) => Traits::QUALITY_LIMITATION,
            Slot::Text(Text::DataChannelIdentifier) => Traits::DATACHANNELID,
            _ => return,
        };
        self.traits.insert(t);
    }

    /// The SSRC as an integer.
    pub fn ssrc(&self) -> Option<u32> {
        self.num(Num::Ssrc).filter(|v| *v >= 0.0 && *v <= f64::from(u32::MAX)).map(|v| v as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_share_a_slot() {
        assert_eq!(slot_for("ipAddress"), slot_for("address"));
        assert_eq!(slot_for("portNumber"), Some(Slot::Num(Num::Port)));
        assert_eq!(slot_for("discardedPackets"), Some(Slot::Num(Num::PacketsDiscarded)));
        assert_eq!(slot_for("noSuchField"), None);
    }

    #[test]
    fn absent_is_none_not_zero() {
        let mut r = RawStats::default();
        assert_eq!(r.num(Num::PacketsLost), None);
        r.set_num(Num::PacketsLost, Some(0.0));
        assert_eq!(r.num(Num::PacketsLost), Some(0.0));
        r.set_num(Num::PacketsLost, Some(f64::INFINITY));
        assert_eq!(r.num(Num::PacketsLost), None);
    }
}
