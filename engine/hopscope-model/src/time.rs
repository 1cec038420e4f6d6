//! Points in time and durations as the stats carry them.
//!
//! Every WebRTC stats format stamps samples with milliseconds since the Unix epoch, often
//! with a fraction (`DOMHighResTimeStamp`). We keep that representation instead of
//! converting to `SystemTime` so that values survive round trips bit for bit and sorting
//! is cheap; all conversions to relative formats happen at ingest.

use std::cmp::Ordering;
use std::fmt;

/// Milliseconds since the Unix epoch, as `DOMHighResTimeStamp`.
///
/// INVARIANT: finite (constructors reject NaN and infinities), so the total order is the
/// numeric order.
#[derive(Clone, Copy, PartialEq, Default)]
pub struct Timestamp(f64);

impl Timestamp {
    /// A timestamp from epoch milliseconds; `None` when the value is not finite.
    pub fn from_epoch_ms(ms: f64) -> Option<Timestamp> {
        ms.is_finite().then_some(Timestamp(ms))
    }

    /// Milliseconds since the Unix epoch.
    pub fn epoch_ms(self) -> f64 {
        self.0
    }

    /// Seconds elapsed from `earlier` to `self` (negative when `earlier` is later).
    pub fn seconds_since(self, earlier: Timestamp) -> f64 {
        (self.0 - earlier.0) / 1000.0
    }

    /// This timestamp moved by `ms` milliseconds.
    pub fn plus_ms(self, ms: f64) -> Timestamp {
        let moved = self.0 + ms;
        if moved.is_finite() { Timestamp(moved) } else { self }
    }

    /// The later of two timestamps.
    pub fn max(self, other: Timestamp) -> Timestamp {
        if other > self { other } else { self }
    }

    /// The earlier of two timestamps.
    pub fn min(self, other: Timestamp) -> Timestamp {
        if other < self { other } else { self }
    }

    /// Calendar form, UTC, with milliseconds: `2023-10-19T08:55:22.151Z`.
    pub fn to_rfc3339(self) -> String {
        let total_ms = self.0.round() as i64;
        let ms = total_ms.rem_euclid(1000);
        let secs = total_ms.div_euclid(1000);
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z", sod / 3600, (sod % 3600) / 60, sod % 60)
    }

    /// Parses the ISO-8601 / RFC 3339 UTC forms found in dumps
    /// (`2016-01-28T18:24:21.237Z`, `2023-10-19T08:55:22Z`, `+00:00` offsets).
    pub fn parse_rfc3339(text: &str) -> Option<Timestamp> {
        let text = text.trim();
        let bytes = text.as_bytes();
        if bytes.len() < 19 || bytes.get(4) != Some(&b'-') || bytes.get(7) != Some(&b'-') {
            return None;
        }
        let num = |range: std::ops::Range<usize>| -> Option<i64> { text.get(range)?.parse().ok() };
        let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        if !matches!(bytes.get(10), Some(b'T') | Some(b't') | Some(b' ')) {
            return None;
        }
        let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
            return None;
        }
        let mut rest = &text[19..];
        let mut frac_ms = 0.0;
        if let Some(after_dot) = rest.strip_prefix('.') {
            let digits = after_dot.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return None;
            }
            let frac: f64 = format!("0.{}", &after_dot[..digits]).parse().ok()?;
            frac_ms = frac * 1000.0;
            rest = &after_dot[digits..];
        }
        let offset_min = match rest {
            "" | "Z" | "z" => 0,
            _ => {
                let sign = match rest.as_bytes().first()? {
                    b'+' => 1,
                    b'-' => -1,
                    _ => return None,
                };
                let oh: i64 = rest.get(1..3)?.parse().ok()?;
                let om: i64 = rest.get(4..6).or_else(|| rest.get(3..5))?.parse().ok()?;
                sign * (oh * 60 + om)
            }
        };
        let days = days_from_civil(y, mo, d);
        let secs = days * 86_400 + h * 3600 + mi * 60 + s - offset_min * 60;
        Timestamp::from_epoch_ms(secs as f64 * 1000.0 + frac_ms)
    }
}

impl Eq for Timestamp {}

impl PartialOrd for Timestamp {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Timestamp {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({})", self.to_rfc3339())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

// Howard Hinnant's days-from-civil algorithms (public domain), valid for the proleptic
// Gregorian calendar; they keep us free of a date crate for two conversions.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trip_matches_known_epoch() {
        // 2016-01-28T18:24:21.237Z is 1454005461237 ms (date -d ... +%s%3N).
        let t = Timestamp::parse_rfc3339("2016-01-28T18:24:21.237Z").expect("valid");
        assert_eq!(t.epoch_ms(), 1_454_005_461_237.0);
        assert_eq!(t.to_rfc3339(), "2016-01-28T18:24:21.237Z");
    }

    #[test]
    fn rfc3339_offsets_and_bad_input() {
        let a = Timestamp::parse_rfc3339("2023-10-19T10:55:22+02:00").expect("valid");
        let b = Timestamp::parse_rfc3339("2023-10-19T08:55:22Z").expect("valid");
        assert_eq!(a, b);
        assert!(Timestamp::parse_rfc3339("yesterday").is_none());
        assert!(Timestamp::parse_rfc3339("2023-13-19T08:55:22Z").is_none());
        assert!(Timestamp::parse_rfc3339("2023-10-19T08:55:22.Z").is_none());
    }

    #[test]
    fn non_finite_is_rejected() {
        assert!(Timestamp::from_epoch_ms(f64::NAN).is_none());
        assert!(Timestamp::from_epoch_ms(f64::INFINITY).is_none());
    }
}
