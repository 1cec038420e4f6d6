//! When browser versions came out, to judge how outdated a browser was at the time of a
//! call (a version is only "old" relative to the call's date).
//!
//! Estimates from the vendors' published cadences, accurate to a few weeks:
//! - Chrome: M100 shipped 2022-03-29; since then a milestone about every 31 days (4-week
//!   cycles plus the year-end gaps: M130 landed 2024-10-15); every 6 weeks before M94
//!   (chromiumdash.appspot.com/schedule).
//! - Firefox: Firefox 100 shipped 2022-05-03; since then about every 28 days (Firefox 130:
//!   2024-09-03); about every 30 days back to Firefox 71, 6 weeks before
//!   (whattrainisitnow.com).
//! - Safari: one major release a year in September; Safari 15–18 in 2021–2024, then
//!   year-based numbering from Safari 26 (2025).

use hopscope_model::{BrowserFamily, Timestamp};

const DAY_MS: f64 = 86_400_000.0;

fn date(y: i64, m: i64, d: i64) -> Option<Timestamp> {
    Timestamp::parse_rfc3339(&format!("{y:04}-{m:02}-{d:02}T00:00:00Z"))
}

/// Estimated release date of a browser's major version.
pub fn release(family: BrowserFamily, major: u32) -> Option<Timestamp> {
    let m = f64::from(major);
    match family {
        BrowserFamily::Chromium => {
            let m100 = date(2022, 3, 29)?;
            Some(if major >= 94 {
                m100.plus_ms((m - 100.0) * 31.0 * DAY_MS)
            } else {
                m100.plus_ms(-6.0 * 31.0 * DAY_MS - (94.0 - m) * 42.0 * DAY_MS)
            })
        }
        BrowserFamily::Firefox => {
            let f100 = date(2022, 5, 3)?;
            Some(if major >= 100 {
                f100.plus_ms((m - 100.0) * 28.0 * DAY_MS)
            } else if major >= 71 {
                f100.plus_ms(-(100.0 - m) * 30.4 * DAY_MS)
            } else {
                f100.plus_ms(-29.0 * 30.4 * DAY_MS - (71.0 - m) * 42.0 * DAY_MS)
            })
        }
        BrowserFamily::Safari => {
            let year = if major >= 26 { 1999 + i64::from(major) } else { 2006 + i64::from(major) };
            if major < 3 {
                return None;
            }
            date(year, 9, 15)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cadences_match_known_releases() {
        // Firefox 100: 2022-05-03 (4-week cadence from 71 lands within a week).
        let ff100 = release(BrowserFamily::Firefox, 100).expect("date");
        let real = date(2022, 5, 3).expect("date");
        assert!(ff100.seconds_since(real).abs() < 8.0 * 86_400.0, "{ff100}");
        // Chrome 117: 2023-09-12; Chrome 80: 2020-02-04; Firefox 118: 2023-09-26.
        let c117 = release(BrowserFamily::Chromium, 117).expect("date");
        assert!(c117.seconds_since(date(2023, 9, 12).expect("d")).abs() < 14.0 * 86_400.0, "{c117}");
        let c80 = release(BrowserFamily::Chromium, 80).expect("date");
        assert!(c80.seconds_since(date(2020, 2, 4).expect("d")).abs() < 21.0 * 86_400.0, "{c80}");
        let f118 = release(BrowserFamily::Firefox, 118).expect("date");
        assert!(f118.seconds_since(date(2023, 9, 26).expect("d")).abs() < 14.0 * 86_400.0, "{f118}");
        assert_eq!(release(BrowserFamily::Safari, 17), date(2023, 9, 15));
        assert_eq!(release(BrowserFamily::Safari, 26), date(2025, 9, 15));
    }
}
