//! Which browser a participant runs: its User-Agent, and which stats it reports.
//!
//! Chrome's shape is the reference (the captured fixtures are Chromium). Firefox and Safari
//! leave out what they leave out in real dumps (see `shared/docs/stats-formats.md` §6), so
//! browser inference and the rules' fallbacks get exercised.

/// Browser family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// Chrome (and Chromium).
    Chrome,
    /// Microsoft Edge: Chrome's stats, its own User-Agent token.
    Edge,
    /// Firefox.
    Firefox,
    /// Safari.
    Safari,
}

/// A browser and its major version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Browser {
    /// Family.
    pub family: Family,
    /// Major version.
    pub version: u32,
}

impl Browser {
    /// Parses `chrome/120`, `firefox/115`, `safari/17`, `edge/120`.
    pub fn parse(text: &str) -> Result<Browser, String> {
        let how = "write family/version: `chrome/120`, `firefox/115`, `safari/17` or `edge/120`";
        let (family, version) =
            text.split_once('/').ok_or_else(|| format!("`{text}` has no version; {how}"))?;
        let family = match family.trim().to_ascii_lowercase().as_str() {
            "chrome" | "chromium" => Family::Chrome,
            "edge" => Family::Edge,
            "firefox" => Family::Firefox,
            "safari" => Family::Safari,
            other => return Err(format!("unknown browser `{other}`; {how}")),
        };
        let version: u32 = version
            .trim()
            .parse()
            .ok()
            .filter(|v| (1..=999).contains(v))
            .ok_or_else(|| format!("`{version}` is not a major version number; {how}"))?;
        Ok(Browser { family, version })
    }

    /// The Chrome milestone current at `epoch_ms`: M100 shipped 2022-03-29, one about every
    /// 31 days since (the cadence `hopscope-rules` uses to judge browser age).
    pub fn current_chrome(epoch_ms: f64) -> Browser {
        const M100_MS: f64 = 1_648_512_000_000.0;
        const CYCLE_MS: f64 = 31.0 * 86_400_000.0;
        let version = 100.0 + ((epoch_ms - M100_MS) / CYCLE_MS).floor();
        Browser { family: Family::Chrome, version: version.clamp(100.0, 999.0) as u32 }
    }

    /// A User-Agent string of the kind this browser sends.
    pub fn user_agent(self) -> String {
        let v = self.version;
        match self.family {
            Family::Chrome => format!(
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36"
            ),
            Family::Edge => format!(
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36 Edg/{v}.0.0.0"
            ),
            // Firefox froze the `rv:` token at 109 for versions 110 to 119.
            Family::Firefox => {
                let rv = if (110..120).contains(&v) { 109 } else { v };
                format!("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{rv}.0) Gecko/20100101 Firefox/{v}.0")
            }
            Family::Safari => format!(
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{v}.0 Safari/605.1.15"
            ),
        }
    }

    /// Which stats this browser reports.
    pub(crate) fn dialect(self) -> Dialect {
        match self.family {
            Family::Chrome | Family::Edge => Dialect::CHROME,
            Family::Firefox => Dialect::FIREFOX,
            Family::Safari => Dialect::SAFARI,
        }
    }
}

/// The stats shape of a browser: which objects and optional fields it reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Dialect {
    /// Chrome/Safari ids (`IT01A123`, `CP…`, `T01`) or Firefox's short hex ids.
    pub libwebrtc_ids: bool,
    /// `transport` stats exist (not in Firefox).
    pub transport: bool,
    /// `transport.iceState` and `selectedCandidatePairChanges` (not in Safari).
    pub transport_ice_state: bool,
    /// `currentRoundTripTime` / `totalRoundTripTime` / `availableOutgoingBitrate` on pairs.
    pub pair_rtt: bool,
    /// Firefox's `selected: true` on the selected pair.
    pub pair_selected_flag: bool,
    /// `networkType` on local candidates (Chrome only).
    pub network_type: bool,
    /// `relayProtocol` on local relay candidates (not in Safari).
    pub relay_protocol: bool,
    /// `qualityLimitationReason` / `qualityLimitationDurations` (Chrome only).
    pub quality_limitation: bool,
    /// `freezeCount`, `totalFreezesDuration`, `pauseCount` (Chrome only).
    pub freezes: bool,
    /// `encoderImplementation` / `decoderImplementation` (not in Safari).
    pub implementation: bool,
    /// `media-playout` stats (Chrome ≥ 11x).
    pub media_playout: bool,
    /// `iceConnectionState` reports `failed` when the path dies (Chrome stays
    /// `disconnected` and only `connectionState` fails).
    pub ice_state_fails: bool,
}

impl Dialect {
    const CHROME: Dialect = Dialect {
        libwebrtc_ids: true,
        transport: true,
        transport_ice_state: true,
        pair_rtt: true,
        pair_selected_flag: false,
        network_type: true,
        relay_protocol: true,
        quality_limitation: true,
        freezes: true,
        implementation: true,
        media_playout: true,
        ice_state_fails: false,
    };
    const FIREFOX: Dialect = Dialect {
        libwebrtc_ids: false,
        transport: false,
        transport_ice_state: false,
        pair_rtt: false,
        pair_selected_flag: true,
        network_type: false,
        relay_protocol: true,
        quality_limitation: false,
        freezes: false,
        implementation: true,
        media_playout: false,
        ice_state_fails: true,
    };
    const SAFARI: Dialect = Dialect {
        libwebrtc_ids: true,
        transport: true,
        transport_ice_state: false,
        pair_rtt: true,
        pair_selected_flag: false,
        network_type: false,
        relay_protocol: false,
        quality_limitation: false,
        freezes: false,
        implementation: false,
        media_playout: false,
        ice_state_fails: true,
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_dates() {
        assert_eq!(Browser::parse("chrome/120"), Ok(Browser { family: Family::Chrome, version: 120 }));
        assert_eq!(Browser::parse("Firefox/115"), Ok(Browser { family: Family::Firefox, version: 115 }));
        assert!(Browser::parse("opera/100").is_err_and(|e| e.contains("unknown browser `opera`")));
        assert!(Browser::parse("chrome").is_err_and(|e| e.contains("no version")));
        // 2026-03-02: M146 (M100 + 46 cycles of 31 days).
        assert_eq!(Browser::current_chrome(1_772_445_600_000.0).version, 146);
        assert!(
            Browser::parse("firefox/115")
                .is_ok_and(|b| b.user_agent().contains("rv:109.0) Gecko/20100101 Firefox/115.0"))
        );
    }
}
