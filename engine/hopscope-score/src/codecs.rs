//! The one table of audio codec parameters for the E-model (doc §1.5, §4.1.4).
//!
//! Every row carries its Ie, its Bpl and a citation. Ids are stable, lower-case and safe to
//! type on a command line; they are also what the codec serialises to.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

use crate::error::UnknownCodecError;

/// An audio codec (and loss-concealment set-up) the E-model has parameters for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AudioCodec {
    /// G.711 (PCMU/PCMA) with packet-loss concealment. Id `g711-plc`.
    G711Plc,
    /// G.711 without packet-loss concealment. Id `g711`.
    G711,
    /// G.729 Annex A with VAD. Id `g729a`.
    G729a,
    /// G.723.1 at 6.3 kbit/s with VAD. Id `g723`.
    G723,
    /// Opus without in-band FEC. Id `opus`.
    Opus,
    /// Opus with in-band FEC (`useinbandfec=1`). Id `opus-fec`.
    OpusFec,
}

/// One row of the codec table.
#[derive(Debug, Clone, PartialEq)]
pub struct CodecParams {
    /// The codec this row describes.
    pub codec: AudioCodec,
    /// Stable id, e.g. `opus-fec`.
    pub id: &'static str,
    /// Human-readable name.
    pub name: &'static str,
    /// Equipment impairment factor Ie on the narrowband R scale.
    pub ie: f64,
    /// Packet-loss robustness Bpl when Ppl is network (packet) loss.
    pub bpl: f64,
    /// Bpl when Ppl is measured as concealed samples at the decoder. It differs from
    /// [`Self::bpl`] only for Opus with FEC: FEC-recovered packets are never concealed, so
    /// what is left is plain PLC (doc §4.1.4).
    pub bpl_concealment: f64,
    /// Sample rate the decoder (and so WebRTC's `concealedSamples`) runs at, Hz.
    pub decoded_sample_rate_hz: u32,
    /// Usual WebRTC packet time, ms.
    pub default_ptime_ms: f64,
    /// Default codec delay in ms (frame/packetisation plus look-ahead) for Ta.
    pub default_delay_ms: f64,
    /// Where Ie and Bpl come from.
    pub citation: &'static str,
    /// Where the codec delay comes from.
    pub delay_citation: &'static str,
}

/// The codec table. Order is the order ids are listed in error messages.
pub const AUDIO_CODECS: [CodecParams; 6] = [
    CodecParams {
        codec: AudioCodec::G711Plc,
        id: "g711-plc",
        name: "G.711 (PCMU/PCMA) with PLC",
        ie: 0.0,
        bpl: 25.1,
        bpl_concealment: 25.1,
        decoded_sample_rate_hz: 8_000,
        default_ptime_ms: 20.0,
        default_delay_ms: 20.0,
        citation: "ITU-T G.113 Appendix I: Ie = 0; G.113 Table I.3: Bpl = 25.1 for G.711 with \
                   Appendix-I PLC (via amplet2 mos.h, sipmon, sipnab, loom; doc §1.5) [S]",
        delay_citation: "packetisation time, 20 ms (doc §4.1.1)",
    },
    CodecParams {
        codec: AudioCodec::G711,
        id: "g711",
        name: "G.711 without PLC",
        ie: 0.0,
        bpl: 4.3,
        bpl_concealment: 4.3,
        decoded_sample_rate_hz: 8_000,
        default_ptime_ms: 20.0,
        default_delay_ms: 20.0,
        citation: "ITU-T G.113 Appendix I: Ie = 0; G.113 Table I.3: Bpl = 4.3 for G.711 without \
                   PLC (doc §1.5) [S]",
        delay_citation: "packetisation time, 20 ms (doc §4.1.1)",
    },
    CodecParams {
        codec: AudioCodec::G729a,
        id: "g729a",
        name: "G.729A + VAD",
        ie: 11.0,
        bpl: 19.0,
        bpl_concealment: 19.0,
        decoded_sample_rate_hz: 8_000,
        default_ptime_ms: 20.0,
        default_delay_ms: 25.0,
        citation: "ITU-T G.113 Appendix I: Ie = 11 for G.729A(+VAD); G.113 Table I.3: Bpl = 19.0 \
                   for G.729A + VAD (doc §1.5) [S]",
        delay_citation: "20 ms packet (2 × 10 ms frames) + 5 ms look-ahead; not in the doc, \
                         unverified",
    },
    CodecParams {
        codec: AudioCodec::G723,
        id: "g723",
        name: "G.723.1 6.3 kbit/s + VAD",
        ie: 15.0,
        bpl: 16.1,
        bpl_concealment: 16.1,
        decoded_sample_rate_hz: 8_000,
        default_ptime_ms: 30.0,
        default_delay_ms: 37.5,
        citation: "ITU-T G.113 Appendix I: Ie = 15 for G.723.1 at 6.3 kbit/s; G.113 Table I.3: \
                   Bpl = 16.1 for G.723.1 + VAD (doc §1.5) [S]",
        delay_citation: "30 ms frame + 7.5 ms look-ahead; not in the doc, unverified",
    },
    CodecParams {
        codec: AudioCodec::Opus,
        id: "opus",
        name: "Opus (no FEC)",
        ie: 0.0,
        bpl: 10.0,
        bpl_concealment: 10.0,
        decoded_sample_rate_hz: 48_000,
        default_ptime_ms: 20.0,
        default_delay_ms: 26.5,
        citation: "Not in any ITU table checked. Ie = 0 on the NB scale for WB/FB Opus at \
                   ≥ 24 kbit/s (engineering choice, doc §4.1.4); Bpl = 10 (rtcscore; Alahmadi, \
                   Počta & Melvin 2021 SWB VBR random 9.8–11.8; doc §1.5)",
        delay_citation: "20 ms frame + 6.5 ms look-ahead (RFC 6716 [R]; doc §4.1.1)",
    },
    CodecParams {
        codec: AudioCodec::OpusFec,
        id: "opus-fec",
        name: "Opus with in-band FEC",
        ie: 0.0,
        bpl: 20.0,
        bpl_concealment: 10.0,
        decoded_sample_rate_hz: 48_000,
        default_ptime_ms: 20.0,
        default_delay_ms: 26.5,
        citation: "Ie = 0 as for opus. Bpl = 20 when Ppl is network loss with useinbandfec=1 \
                   (rtcscore; LiveKit's slope implies ≈ 17.8); Bpl = 10 when Ppl is \
                   concealment-based, since FEC-recovered packets are not concealed \
                   (doc §1.5, §4.1.4)",
        delay_citation: "20 ms frame + 6.5 ms look-ahead (RFC 6716 [R]; doc §4.1.1); FEC adds \
                         no algorithmic delay",
    },
];

impl AudioCodec {
    /// Every codec, in table order.
    pub const ALL: [AudioCodec; 6] =
        [Self::G711Plc, Self::G711, Self::G729a, Self::G723, Self::Opus, Self::OpusFec];

    /// This codec's table row.
    pub fn params(self) -> &'static CodecParams {
        let index = match self {
            Self::G711Plc => 0,
            Self::G711 => 1,
            Self::G729a => 2,
            Self::G723 => 3,
            Self::Opus => 4,
            Self::OpusFec => 5,
        };
        &AUDIO_CODECS[index]
    }

    /// Stable id, e.g. `g711-plc`.
    pub fn id(self) -> &'static str {
        self.params().id
    }

    /// Looks a codec up by its stable id (case-insensitive).
    pub fn from_id(id: &str) -> Result<Self, UnknownCodecError> {
        Self::ALL
            .into_iter()
            .find(|c| c.id().eq_ignore_ascii_case(id.trim()))
            .ok_or_else(|| unknown_audio(id))
    }

    /// Comma-separated list of valid ids, for error messages.
    pub fn valid_ids() -> String {
        Self::ALL.map(Self::id).join(", ")
    }
}

fn unknown_audio(given: &str) -> UnknownCodecError {
    UnknownCodecError { kind: "audio", given: given.to_owned(), valid: AudioCodec::valid_ids() }
}

impl fmt::Display for AudioCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl FromStr for AudioCodec {
    type Err = UnknownCodecError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_id(s)
    }
}

impl Serialize for AudioCodec {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.id())
    }
}

/// Maps a WebRTC codec (`RTCCodecStats.mimeType` and `sdpFmtpLine`) to a table row.
///
/// - `audio/opus` → `opus-fec` when the fmtp line has `useinbandfec=1`, else `opus`.
/// - `audio/PCMU`, `audio/PCMA` → `g711-plc`: WebRTC's NetEQ always conceals loss.
/// - `audio/G729` → `g729a`, the decoder WebRTC stacks ship.
/// - `audio/G723` → `g723`.
///
/// Anything else (RED, telephone-event, CN, G.722, …) has no narrowband Ie/Bpl here.
pub fn audio_codec_from_webrtc(
    mime_type: &str,
    sdp_fmtp_line: Option<&str>,
) -> Result<AudioCodec, UnknownCodecError> {
    let subtype = mime_type
        .trim()
        .split_once('/')
        .filter(|(kind, _)| kind.eq_ignore_ascii_case("audio"))
        .map(|(_, sub)| sub.to_ascii_lowercase())
        .ok_or_else(|| unknown_audio(mime_type))?;
    match subtype.as_str() {
        "opus" if fmtp_flag(sdp_fmtp_line, "useinbandfec") => Ok(AudioCodec::OpusFec),
        "opus" => Ok(AudioCodec::Opus),
        "pcmu" | "pcma" => Ok(AudioCodec::G711Plc),
        "g729" => Ok(AudioCodec::G729a),
        "g723" => Ok(AudioCodec::G723),
        _ => Err(unknown_audio(mime_type)),
    }
}

/// True when `key=1` appears in an SDP fmtp parameter list such as
/// `minptime=10;useinbandfec=1`.
fn fmtp_flag(fmtp: Option<&str>, key: &str) -> bool {
    fmtp.into_iter()
        .flat_map(|line| line.split(';'))
        .filter_map(|param| param.split_once('='))
        .any(|(k, v)| k.trim().eq_ignore_ascii_case(key) && v.trim() == "1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_rows_match_their_codec() {
        for codec in AudioCodec::ALL {
            assert_eq!(codec.params().codec, codec);
            assert_eq!(AudioCodec::from_id(codec.id()), Ok(codec));
            assert!(!codec.params().citation.is_empty());
        }
    }

    #[test]
    fn doc_values() {
        // Doc §4.1.4 and §1.5.
        assert_eq!(AudioCodec::G711Plc.params().bpl, 25.1);
        assert_eq!(AudioCodec::G711.params().bpl, 4.3);
        assert_eq!(AudioCodec::G729a.params().ie, 11.0);
        assert_eq!(AudioCodec::G729a.params().bpl, 19.0);
        assert_eq!(AudioCodec::Opus.params().bpl, 10.0);
        assert_eq!(AudioCodec::OpusFec.params().bpl, 20.0);
        assert_eq!(AudioCodec::OpusFec.params().bpl_concealment, 10.0);
        assert_eq!(AudioCodec::Opus.params().default_delay_ms, 26.5);
    }

    #[test]
    fn lookup_by_id() {
        assert_eq!("OPUS-FEC".parse::<AudioCodec>(), Ok(AudioCodec::OpusFec));
        let err = AudioCodec::from_id("speex").expect_err("unknown");
        assert_eq!(err.given, "speex");
        assert!(err.to_string().contains("g711-plc, g711, g729a, g723, opus, opus-fec"));
    }

    #[test]
    fn webrtc_mapping() {
        let m = audio_codec_from_webrtc;
        assert_eq!(m("audio/opus", Some("minptime=10;useinbandfec=1")), Ok(AudioCodec::OpusFec));
        assert_eq!(m("audio/opus", Some("minptime=10; useinbandfec = 1")), Ok(AudioCodec::OpusFec));
        assert_eq!(m("audio/opus", Some("useinbandfec=0")), Ok(AudioCodec::Opus));
        assert_eq!(m("audio/opus", None), Ok(AudioCodec::Opus));
        assert_eq!(m("audio/PCMU", None), Ok(AudioCodec::G711Plc));
        assert_eq!(m("audio/PCMA", None), Ok(AudioCodec::G711Plc));
        assert_eq!(m("audio/G729", Some("annexb=yes")), Ok(AudioCodec::G729a));
        assert!(m("audio/red", None).is_err());
        assert!(m("video/opus", None).is_err());
        assert!(m("opus", None).is_err());
    }

    #[test]
    fn serialises_as_id() {
        let json = serde_json::to_string(&AudioCodec::OpusFec).expect("serialise");
        assert_eq!(json, "\"opus-fec\"");
    }
}
