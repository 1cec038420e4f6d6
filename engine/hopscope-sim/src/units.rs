//! Quantities as people write them in scenarios: `20ms`, `1.5s`, `8%`, `1500kbps`.
//!
//! Bare numbers are refused (except 0): `delay: 20` could mean seconds or milliseconds, and
//! a scenario that silently means the wrong one is worse than one that does not load.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

/// A duration or point in time, in seconds: `250ms`, `1.5s`, `2m`.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Default)]
pub struct Seconds(pub f64);

/// A share, 0..1, written as a percentage: `8%`, `0.5%`.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Default)]
pub struct Fraction(pub f64);

/// A bitrate in bits per second: `32kbps`, `1.5Mbps`, `250kbit`, `64000bps`.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Default)]
pub struct Bitrate(pub f64);

/// Splits `1.5Mbps` into `1.5` and `Mbps`.
fn split_number(text: &str) -> Option<(f64, &str)> {
    let text = text.trim();
    let end = text
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_digit() || *c == '.' || *c == '-' || *c == '+'))
        .map_or(text.len(), |(i, _)| i);
    let number: f64 = text[..end].parse().ok()?;
    number.is_finite().then_some((number, text[end..].trim()))
}

/// Parses `20ms`, `1.5s`, `2m`, `1h` into seconds.
pub fn parse_seconds(text: &str) -> Result<f64, String> {
    let how = "write a number with a unit: `250ms`, `1.5s` or `2m`";
    let (n, unit) = split_number(text).ok_or_else(|| format!("`{text}` is not a duration; {how}"))?;
    let scale = match unit {
        "ms" => 0.001,
        "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        "" if n == 0.0 => 1.0,
        "" => return Err(format!("`{text}` has no unit; {how}")),
        other => return Err(format!("unknown duration unit `{other}` in `{text}`; {how}")),
    };
    if n < 0.0 {
        return Err(format!("`{text}` is negative; durations and times are 0 or more"));
    }
    Ok(n * scale)
}

/// Parses `8%` into 0.08.
pub fn parse_fraction(text: &str) -> Result<f64, String> {
    let how = "write a percentage: `8%` or `0.5%`";
    let (n, unit) = split_number(text).ok_or_else(|| format!("`{text}` is not a percentage; {how}"))?;
    let share = match unit {
        "%" => n / 100.0,
        "" if n == 0.0 => 0.0,
        "" => return Err(format!("`{text}` has no `%`; {how}")),
        other => return Err(format!("unknown unit `{other}` in `{text}`; {how}")),
    };
    if !(0.0..=1.0).contains(&share) {
        return Err(format!("`{text}` is outside 0%..100%"));
    }
    Ok(share)
}

/// Parses `1500kbps`, `5Mbps`, `250kbit`, `64000bps` into bits per second.
pub fn parse_bitrate(text: &str) -> Result<f64, String> {
    let how = "write a bitrate: `800kbps`, `5Mbps` or `64000bps`";
    let (n, unit) = split_number(text).ok_or_else(|| format!("`{text}` is not a bitrate; {how}"))?;
    let scale = match unit.to_ascii_lowercase().as_str() {
        "bps" | "bit" | "bit/s" => 1.0,
        "kbps" | "kbit" | "kbit/s" | "kb/s" => 1e3,
        "mbps" | "mbit" | "mbit/s" | "mb/s" => 1e6,
        "gbps" | "gbit" | "gbit/s" => 1e9,
        "" => return Err(format!("`{text}` has no unit; {how}")),
        _ => return Err(format!("unknown bitrate unit `{unit}` in `{text}`; {how}")),
    };
    if n <= 0.0 {
        return Err(format!("`{text}` must be above 0"));
    }
    Ok(n * scale)
}

/// Accepts a YAML string, or a number that is written without quotes (`0`, `1.5s` is a
/// string to YAML but `0` is an integer).
struct UnitVisitor {
    expecting: &'static str,
    parse: fn(&str) -> Result<f64, String>,
}

impl Visitor<'_> for UnitVisitor {
    type Value = f64;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
        (self.parse)(v).map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
        self.visit_str(&v.to_string())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
        self.visit_str(&v.to_string())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
        self.visit_str(&v.to_string())
    }
}

macro_rules! unit_deserialize {
    ($ty:ident, $expecting:literal, $parse:path) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_any(UnitVisitor { expecting: $expecting, parse: $parse }).map($ty)
            }
        }
    };
}

unit_deserialize!(Seconds, "a duration such as `250ms` or `1.5s`", parse_seconds);
unit_deserialize!(Fraction, "a percentage such as `8%`", parse_fraction);
unit_deserialize!(Bitrate, "a bitrate such as `800kbps` or `5Mbps`", parse_bitrate);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_seconds("20ms"), Ok(0.02));
        assert_eq!(parse_seconds("1.5s"), Ok(1.5));
        assert_eq!(parse_seconds("2m"), Ok(120.0));
        assert_eq!(parse_seconds("0"), Ok(0.0));
        assert!(parse_seconds("20").is_err_and(|e| e.contains("no unit")));
        assert!(parse_seconds("20 parsecs").is_err_and(|e| e.contains("unknown duration unit `parsecs`")));
        assert!(parse_seconds("-1s").is_err_and(|e| e.contains("negative")));
    }

    #[test]
    fn fractions_and_bitrates() {
        assert_eq!(parse_fraction("8%"), Ok(0.08));
        assert!(parse_fraction("0.08").is_err_and(|e| e.contains("no `%`")));
        assert!(parse_fraction("120%").is_err());
        assert_eq!(parse_bitrate("1500kbps"), Ok(1_500_000.0));
        assert_eq!(parse_bitrate("5Mbps"), Ok(5_000_000.0));
        assert_eq!(parse_bitrate("250kbit"), Ok(250_000.0));
        assert!(parse_bitrate("5").is_err_and(|e| e.contains("no unit")));
        assert!(parse_bitrate("0kbps").is_err());
    }
}
