//! A small JSON object writer.
//!
//! Stats objects are written field by field in the order Chrome uses, straight into the
//! output string: a 50-participant call produces hundreds of thousands of objects, and
//! building a `serde_json::Value` for each would cost more than the whole simulation.

use std::fmt::Write as _;

/// Writes one JSON object into a string. Non-finite numbers are left out (JSON has none,
/// and a browser would not report them).
pub(crate) struct Obj<'a> {
    out: &'a mut String,
    empty: bool,
}

impl<'a> Obj<'a> {
    /// Opens an object at the end of `out`.
    pub fn open(out: &'a mut String) -> Obj<'a> {
        out.push('{');
        Obj { out, empty: true }
    }

    fn key(&mut self, key: &str) {
        if !self.empty {
            self.out.push(',');
        }
        self.empty = false;
        self.out.push('"');
        self.out.push_str(key);
        self.out.push_str("\":");
    }

    /// A string field.
    pub fn str(&mut self, key: &str, value: &str) -> &mut Self {
        self.key(key);
        push_string(self.out, value);
        self
    }

    /// An integer field.
    pub fn int(&mut self, key: &str, value: u64) -> &mut Self {
        self.key(key);
        // Writing into a String cannot fail.
        let _ = write!(self.out, "{value}");
        self
    }

    /// A signed integer field (`packetsLost` can be negative).
    pub fn signed(&mut self, key: &str, value: i64) -> &mut Self {
        self.key(key);
        let _ = write!(self.out, "{value}");
        self
    }

    /// A number field (see [`push_number`]).
    pub fn num(&mut self, key: &str, value: f64) -> &mut Self {
        if value.is_finite() {
            self.key(key);
            push_number(self.out, value);
        }
        self
    }

    /// A boolean field.
    pub fn bool(&mut self, key: &str, value: bool) -> &mut Self {
        self.key(key);
        self.out.push_str(if value { "true" } else { "false" });
        self
    }

    /// A field whose value is already JSON.
    pub fn raw(&mut self, key: &str, json: &str) -> &mut Self {
        self.key(key);
        self.out.push_str(json);
        self
    }

    /// A nested object.
    pub fn obj(&mut self, key: &str, fill: impl FnOnce(&mut Obj)) -> &mut Self {
        self.key(key);
        let mut inner = Obj::open(self.out);
        fill(&mut inner);
        inner.close();
        self
    }

    /// Closes the object.
    pub fn close(self) {
        self.out.push('}');
    }
}

/// A number as JSON: integers without a fraction, others with at most 6 decimals (3 for
/// epoch-millisecond magnitudes, where 6 would exceed f64's precision).
pub(crate) fn push_number(out: &mut String, value: f64) {
    let scale = if value.abs() < 1e9 { 1e6 } else { 1e3 };
    let rounded = (value * scale).round() / scale;
    if rounded == rounded.trunc() && rounded.abs() < 9e15 {
        let _ = write!(out, "{}", rounded as i64);
    } else {
        let _ = write!(out, "{rounded}");
    }
}

/// A string as a JSON string literal.
pub(crate) fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    push_string(&mut out, s);
    out
}

/// A string as JSON, escaped.
pub(crate) fn push_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_valid_json() {
        let mut s = String::new();
        let mut o = Obj::open(&mut s);
        o.str("id", "a\"b\n")
            .int("n", 3)
            .num("x", 0.1 + 0.2)
            .num("nan", f64::NAN)
            .num("t", 1795476717359.129);
        o.obj("d", |d| {
            d.num("none", 10.0).bool("ok", true);
        });
        o.close();
        assert_eq!(s, r#"{"id":"a\"b\n","n":3,"x":0.3,"t":1795476717359.129,"d":{"none":10,"ok":true}}"#);
        let parsed: serde_json::Value = serde_json::from_str(&s).expect("valid JSON");
        assert_eq!(parsed["d"]["none"], 10);
    }
}
