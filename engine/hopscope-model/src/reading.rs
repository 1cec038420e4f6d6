//! [`Reading`]: one numeric stats field that a report may leave out, in 8 bytes.

/// A numeric stats field as one sample reported it, or nothing when the report left it out.
///
/// It means exactly what `Option<f64>` means, in half the room: `Option<f64>` takes 16 bytes
/// because an `f64` has no spare bit pattern for `None`. Samples hold dozens of these and a
/// live conference keeps every sample of the call, so the size is most of a call's memory (an
/// inbound RTP sample is 328 bytes instead of 648).
///
/// NaN stands for "not reported". JSON has no NaN, so no value a browser sends is lost; a
/// NaN that ingest computes (0/0) is stored as not reported, which is what it means. Reading
/// one back always goes through [`Reading::get`] or the `Option`-like helpers, so a NaN
/// never reaches arithmetic.
#[derive(Clone, Copy)]
pub struct Reading(f64);

impl Reading {
    /// Not reported.
    pub const NONE: Reading = Reading(f64::NAN);

    /// A reported value (NaN counts as not reported).
    pub const fn some(value: f64) -> Reading {
        Reading(value)
    }

    /// The value, if reported.
    #[inline]
    pub fn get(self) -> Option<f64> {
        if self.0.is_nan() { None } else { Some(self.0) }
    }

    /// Whether the report had it.
    #[inline]
    pub fn is_some(self) -> bool {
        !self.0.is_nan()
    }

    /// Whether the report left it out.
    #[inline]
    pub fn is_none(self) -> bool {
        self.0.is_nan()
    }

    /// Whether it was reported and passes `test`.
    #[inline]
    pub fn is_some_and(self, test: impl FnOnce(f64) -> bool) -> bool {
        self.get().is_some_and(test)
    }

    /// Whether it was left out, or passes `test`.
    #[inline]
    pub fn is_none_or(self, test: impl FnOnce(f64) -> bool) -> bool {
        self.get().is_none_or(test)
    }

    /// [`Option::map`] on the value.
    #[inline]
    pub fn map<U>(self, f: impl FnOnce(f64) -> U) -> Option<U> {
        self.get().map(f)
    }

    /// [`Option::filter`] on the value.
    #[inline]
    pub fn filter(self, keep: impl FnOnce(&f64) -> bool) -> Option<f64> {
        self.get().filter(keep)
    }

    /// The value, or `default` when not reported.
    #[inline]
    pub fn unwrap_or(self, default: f64) -> f64 {
        self.get().unwrap_or(default)
    }
}

impl Default for Reading {
    fn default() -> Self {
        Reading::NONE
    }
}

/// Two readings are equal when both say the same value or both say nothing (unlike NaN).
impl PartialEq for Reading {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl std::fmt::Debug for Reading {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.get().fmt(f)
    }
}

impl From<Option<f64>> for Reading {
    #[inline]
    fn from(value: Option<f64>) -> Self {
        value.map_or(Reading::NONE, Reading::some)
    }
}

impl From<Reading> for Option<f64> {
    #[inline]
    fn from(value: Reading) -> Self {
        value.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reading_is_half_an_option_and_means_the_same() {
        assert_eq!(std::mem::size_of::<Reading>(), 8);
        assert_eq!(std::mem::size_of::<Option<f64>>(), 16);
        for value in [None, Some(0.0), Some(-0.0), Some(-3.5), Some(1e300), Some(f64::INFINITY)] {
            let reading = Reading::from(value);
            assert_eq!(reading.get(), value);
            assert_eq!(reading.is_some(), value.is_some());
            assert_eq!(Option::<f64>::from(reading), value);
            assert_eq!(reading, Reading::from(value));
        }
        // A computed NaN is "not reported", never a value.
        assert_eq!(Reading::some((-1.0f64).sqrt()).get(), None);
        assert_eq!(Reading::default(), Reading::NONE);
        assert_ne!(Reading::some(1.0), Reading::NONE);
        assert_eq!(Reading::NONE.unwrap_or(7.0), 7.0);
        assert_eq!(format!("{:?}", Reading::some(1.5)), "Some(1.5)");
    }
}
