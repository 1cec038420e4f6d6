//! Streaming JSON → [`RawStats`]: field names are classified without allocating, unknown
//! fields are skipped without being built, and values are coerced the way real dumps need
//! (legacy stats send numbers as strings, booleans as `"true"`).

use rustc_hash::FxHashMap as HashMap;
use std::fmt;

use hopscope_model::stats::QualityLimitationDurations;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::fields::{RawStats, Slot, StatsKind, Traits, slot_for};

/// What a key of a stats object means.
enum Key {
    Slot(Slot),
    Id,
    Type,
    Timestamp,
    QualityLimitationDurations,
    Other,
}

/// A field name read through its visitor, which classifies the borrowed text: no key is
/// allocated.
struct FieldName<V>(V);

impl<'de, V: Visitor<'de>> DeserializeSeed<'de> for FieldName<V> {
    type Value = V::Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        d.deserialize_str(self.0)
    }
}

struct KeyVisitor;

impl Visitor<'_> for KeyVisitor {
    type Value = Key;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
        Ok(match v {
            "id" => Key::Id,
            "type" => Key::Type,
            "timestamp" => Key::Timestamp,
            "qualityLimitationDurations" => Key::QualityLimitationDurations,
            _ => slot_for(v).map_or(Key::Other, Key::Slot),
        })
    }
}

/// A JSON value read as a number: numbers, numeric strings, booleans; anything else is
/// `None` (and consumed).
pub(crate) struct NumValue;

impl<'de> DeserializeSeed<'de> for NumValue {
    type Value = Option<f64>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<f64>, D::Error> {
        d.deserialize_any(NumVisitor)
    }
}

struct NumVisitor;

/// Parses a number the way legacy stats write them: `"12"`, `"3.68826e-09"`, `"true"`.
pub(crate) fn coerce_number(v: &str) -> Option<f64> {
    match v.trim() {
        "true" => Some(1.0),
        "false" => Some(0.0),
        t => t.parse::<f64>().ok().filter(|x| x.is_finite()),
    }
}

impl<'de> Visitor<'de> for NumVisitor {
    type Value = Option<f64>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number")
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(v.is_finite().then_some(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v as f64))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(v as f64))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(if v { 1.0 } else { 0.0 }))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(coerce_number(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

/// A JSON value read as text: strings as they are, numbers and booleans rendered.
pub(crate) struct TextValue;

impl<'de> DeserializeSeed<'de> for TextValue {
    type Value = Option<Box<str>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(TextVisitor)
    }
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Option<Box<str>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string().into()))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string().into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string().into()))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(if v { "true" } else { "false" }.into()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

/// `qualityLimitationDurations`: an object, or (in some dumps) that object JSON-encoded.
struct DurationsValue;

impl<'de> DeserializeSeed<'de> for DurationsValue {
    type Value = Option<QualityLimitationDurations>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(DurationsVisitor)
    }
}

struct DurationsVisitor;

impl<'de> Visitor<'de> for DurationsVisitor {
    type Value = Option<QualityLimitationDurations>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of durations")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut d = QualityLimitationDurations::default();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            let v = map.next_value_seed(NumValue)?.unwrap_or(0.0);
            match key.as_ref() {
                "none" => d.none_s = v,
                "cpu" => d.cpu_s = v,
                "bandwidth" => d.bandwidth_s = v,
                "other" => d.other_s = v,
                _ => {}
            }
        }
        Ok(Some(d))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        let mut de = serde_json::Deserializer::from_str(v);
        Ok(DurationsValue.deserialize(&mut de).ok().flatten())
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

/// How the keys of a stats object are spelled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum KeyMode {
    /// W3C / legacy names.
    #[default]
    Plain,
    /// rtcstats v4: numeric keys from its static property table, `t` for timestamp,
    /// numeric `type` values.
    Rtcstats4,
}

/// Reads a stats object's JSON map into `target`, overwriting the fields it carries (so a
/// delta-compressed update merges). Returns the object's `id` field, if it has one.
pub(crate) struct ObjectSeed<'a> {
    pub target: &'a mut RawStats,
    pub keys: KeyMode,
}

impl<'de> DeserializeSeed<'de> for ObjectSeed<'_> {
    type Value = Option<String>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(ObjectVisitor { target: self.target, keys: self.keys })
    }
}

struct ObjectVisitor<'a> {
    target: &'a mut RawStats,
    keys: KeyMode,
}

/// Classifies an rtcstats-v4 key: numbers go through the static property table.
struct V4KeyVisitor;

impl Visitor<'_> for V4KeyVisitor {
    type Value = Key;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a compressed field name")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
        if v == "t" {
            return Ok(Key::Timestamp);
        }
        let name = v.parse::<u16>().ok().and_then(crate::formats::rtcstats::v4_property).unwrap_or(v);
        KeyVisitor.visit_str(name)
    }
}

/// Reads the value of one field of a stats object, whose key is `key`, into `target` (or
/// `id`).
fn read_field<'de, A: MapAccess<'de>>(
    map: &mut A,
    key: Key,
    target: &mut RawStats,
    id: &mut Option<String>,
    keys: KeyMode,
) -> Result<(), A::Error> {
    match key {
        Key::Slot(slot) => {
            target.note_field(slot);
            match slot {
                Slot::Num(n) => {
                    let v = map.next_value_seed(NumValue)?;
                    target.set_num(n, v);
                }
                Slot::Text(t) => {
                    let v = map.next_value_seed(TextValue)?;
                    target.set_text(t, v);
                }
            }
        }
        Key::Id => *id = map.next_value_seed(TextValue)?.map(String::from),
        Key::Type => {
            if let Some(t) = map.next_value_seed(TextValue)? {
                let t = match keys {
                    KeyMode::Rtcstats4 => t
                        .parse::<u16>()
                        .ok()
                        .and_then(crate::formats::rtcstats::v4_stats_type)
                        .map_or(t, Box::from),
                    KeyMode::Plain => t,
                };
                target.kind = Some(StatsKind::parse(&t));
            }
        }
        Key::Timestamp => target.timestamp = map.next_value_seed(NumValue)?,
        Key::QualityLimitationDurations => {
            target.quality_limitation_durations = map.next_value_seed(DurationsValue)?
        }
        Key::Other => {
            map.next_value::<IgnoredAny>()?;
        }
    }
    Ok(())
}

/// What is noted about a stats object once all its fields are read.
fn finish_object(target: &mut RawStats) {
    if target.text(crate::fields::Text::Kind) == Some("") {
        target.traits.insert(Traits::EMPTY_KIND);
    }
}

impl<'de> Visitor<'de> for ObjectVisitor<'_> {
    type Value = Option<String>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a stats object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut id = None;
        loop {
            let key = match self.keys {
                KeyMode::Plain => map.next_key_seed(FieldName(KeyVisitor))?,
                KeyMode::Rtcstats4 => map.next_key_seed(FieldName(V4KeyVisitor))?,
            };
            let Some(key) = key else { break };
            read_field(&mut map, key, self.target, &mut id, self.keys)?;
        }
        finish_object(self.target);
        Ok(id)
    }
    // A stats "object" that is something else entirely is skipped, not an error: real
    // snapshots carry foreign entries.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// The state of one peer connection's stats under rtcstats delta compression: the last full
/// view of every object, in order of first appearance (so output order is deterministic).
#[derive(Debug, Default)]
pub(crate) struct DeltaState {
    objects: Vec<(String, RawStats)>,
    index: HashMap<String, usize>,
}

impl DeltaState {
    /// The objects that currently exist, in order of first appearance.
    pub fn objects(&self) -> impl Iterator<Item = (&str, &RawStats)> + Clone {
        self.objects.iter().map(|(id, raw)| (id.as_str(), raw))
    }

    /// Number of live objects.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    fn slot(&mut self, id: &str) -> &mut RawStats {
        let i = match self.index.get(id) {
            Some(&i) => i,
            None => {
                self.objects.push((id.to_string(), RawStats::default()));
                self.index.insert(id.to_string(), self.objects.len() - 1);
                self.objects.len() - 1
            }
        };
        &mut self.objects[i].1
    }

    fn retain_present(&mut self, present: &[String]) {
        let keep: std::collections::HashSet<&str> = present.iter().map(String::as_str).collect();
        self.objects.retain(|(id, _)| keep.contains(id.as_str()));
        self.index = self.objects.iter().enumerate().map(|(i, (id, _))| (id.clone(), i)).collect();
    }
}

/// Applies one delta-compressed `getstats` value (`{id: {changed fields}, ..., "timestamp": t}`)
/// to `state`: merges the changed fields, drops ids that are absent (removed objects).
/// Returns the report's top-level timestamp, if present.
pub(crate) struct DeltaSeed<'a> {
    pub state: &'a mut DeltaState,
    /// Reused scratch: ids present on this line.
    pub present: &'a mut Vec<String>,
}

impl<'de> DeserializeSeed<'de> for DeltaSeed<'_> {
    type Value = Option<f64>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(DeltaVisitor { state: self.state, present: self.present })
    }
}

struct DeltaVisitor<'a> {
    state: &'a mut DeltaState,
    present: &'a mut Vec<String>,
}

impl<'de> Visitor<'de> for DeltaVisitor<'_> {
    type Value = Option<f64>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a getstats object keyed by stats id")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        self.present.clear();
        let mut report_time = None;
        while let Some(id) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if id == "timestamp" {
                report_time = map.next_value_seed(NumValue)?;
                continue;
            }
            let target = self.state.slot(id.as_ref());
            map.next_value_seed(ObjectSeed { target, keys: KeyMode::Plain })?;
            self.present.push(id.into_owned());
        }
        // An id missing from a line means the object was removed.
        if self.state.len() != self.present.len() {
            self.state.retain_present(self.present);
        }
        Ok(report_time)
    }
}

/// Applies one rtcstats-v4 `getStats` delta: ids absent are unchanged, `null` removes an
/// id, keys are compressed. Returns the top-level timestamp (`t`).
pub(crate) struct V4DeltaSeed<'a> {
    pub state: &'a mut DeltaState,
}

impl<'de> DeserializeSeed<'de> for V4DeltaSeed<'_> {
    type Value = Option<f64>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(V4DeltaVisitor { state: self.state })
    }
}

struct V4DeltaVisitor<'a> {
    state: &'a mut DeltaState,
}

impl<'de> Visitor<'de> for V4DeltaVisitor<'_> {
    type Value = Option<f64>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an rtcstats v4 getStats delta")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut report_time = None;
        let mut removed = Vec::new();
        // Objects without their own timestamp take the line's `t`.
        for (_, raw) in &mut self.state.objects {
            raw.timestamp = None;
        }
        while let Some(id) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if id == "t" {
                report_time = map.next_value_seed(NumValue)?;
                continue;
            }
            let value: Option<&serde_json::value::RawValue> = map.next_value()?;
            match value {
                None => removed.push(id.into_owned()),
                Some(raw) if raw.get() == "null" => removed.push(id.into_owned()),
                Some(raw) => {
                    let target = self.state.slot(id.as_ref());
                    let mut de = serde_json::Deserializer::from_str(raw.get());
                    ObjectSeed { target, keys: KeyMode::Rtcstats4 }
                        .deserialize(&mut de)
                        .map_err(de::Error::custom)?;
                }
            }
        }
        if !removed.is_empty() {
            let present: Vec<String> = self
                .state
                .objects
                .iter()
                .map(|(id, _)| id.clone())
                .filter(|id| !removed.contains(id))
                .collect();
            self.state.retain_present(&present);
        }
        Ok(report_time)
    }
}

/// Reads a full (not delta) report in any of the four shapes seen in the wild:
/// `[stat, ...]`, `[[id, stat], ...]`, `[{key, value}, ...]`, `{id: stat, ...}`.
/// Objects without an id get a positional one; objects without a `type` are kept for the
/// caller to skip.
pub(crate) struct ReportSeed<'a> {
    pub out: &'a mut Vec<(String, RawStats)>,
}

impl<'de> DeserializeSeed<'de> for ReportSeed<'_> {
    type Value = Option<f64>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(ReportVisitor { out: self.out })
    }
}

struct ReportVisitor<'a> {
    out: &'a mut Vec<(String, RawStats)>,
}

impl<'de> Visitor<'de> for ReportVisitor<'_> {
    type Value = Option<f64>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a getStats report (array of stats, of [id, stats] pairs, of {key, value}, or an object keyed by id)")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut report_time = None;
        while let Some(id) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if id == "timestamp" {
                report_time = map.next_value_seed(NumValue)?;
                continue;
            }
            let mut raw = RawStats::default();
            let inner = map.next_value_seed(ObjectSeed { target: &mut raw, keys: KeyMode::Plain })?;
            self.out.push((inner.unwrap_or_else(|| id.into_owned()), raw));
        }
        Ok(report_time)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut index = 0usize;
        // Each entry is read in place, into the slot it will keep: a `RawStats` is over a
        // kilobyte, and moving it out through return values cost more than reading it.
        loop {
            let at = self.out.len();
            self.out.push((String::new(), RawStats::default()));
            let slot = &mut self.out[at];
            let entry = seq.next_element_seed(EntrySeed { slot: &mut slot.1 })?;
            match entry {
                Some(Some(id)) => slot.0 = id.unwrap_or_else(|| format!("#{index}")),
                Some(None) => {
                    self.out.pop();
                }
                None => {
                    self.out.pop();
                    break;
                }
            }
            index += 1;
        }
        Ok(None)
    }
}

/// One element of an array-shaped report: a stat, an `[id, stat]` pair or `{key, value}`,
/// read into `slot`. Yields `None` for anything else (skipped), else the id it names.
struct EntrySeed<'a> {
    slot: &'a mut RawStats,
}

impl<'de> DeserializeSeed<'de> for EntrySeed<'_> {
    type Value = Option<Option<String>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(EntryVisitor { slot: self.slot })
    }
}

struct EntryVisitor<'a> {
    slot: &'a mut RawStats,
}

/// A key of an array entry's object: a stat's field, or `key` / `value` of the
/// `{key, value}` shape.
enum EntryKey {
    Field(Key),
    KeyField,
    ValueField,
}

struct EntryKeyVisitor;

impl Visitor<'_> for EntryKeyVisitor {
    type Value = EntryKey;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<EntryKey, E> {
        Ok(match v {
            "key" => EntryKey::KeyField,
            "value" => EntryKey::ValueField,
            other => EntryKey::Field(KeyVisitor.visit_str(other)?),
        })
    }
}

impl<'de> Visitor<'de> for EntryVisitor<'_> {
    type Value = Option<Option<String>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a stats entry")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        // [id, stat]
        let id = seq.next_element_seed(TextValue)?.flatten().map(String::from);
        let inner = seq.next_element_seed(ObjectSeed { target: self.slot, keys: KeyMode::Plain })?.flatten();
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Some(inner.or(id)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        // Either a stat, or {key, value}. A stat never has both `key` and `value` keys, so
        // buffer nothing: read fields as a stat, and if `value` turns up, read it as the stat.
        let mut id = None;
        let mut key_field = None;
        let mut value: Option<(Option<String>, RawStats)> = None;
        while let Some(key) = map.next_key_seed(FieldName(EntryKeyVisitor))? {
            match key {
                EntryKey::KeyField => key_field = map.next_value_seed(TextValue)?.map(String::from),
                EntryKey::ValueField => {
                    let mut inner = RawStats::default();
                    let inner_id =
                        map.next_value_seed(ObjectSeed { target: &mut inner, keys: KeyMode::Plain })?;
                    value = Some((inner_id, inner));
                }
                EntryKey::Field(key) => read_field(&mut map, key, self.slot, &mut id, KeyMode::Plain)?,
            }
        }
        if let Some((inner_id, inner)) = value {
            *self.slot = inner;
            return Ok(Some(inner_id.or(key_field)));
        }
        finish_object(self.slot);
        Ok(Some(id.or(key_field)))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::{Num, Text};

    fn report(json: &str) -> Vec<(String, RawStats)> {
        let mut out = Vec::new();
        let mut de = serde_json::Deserializer::from_str(json);
        ReportSeed { out: &mut out }.deserialize(&mut de).expect("parses");
        out
    }

    #[test]
    fn four_report_shapes_agree() {
        let stat = r#"{"id":"IT01A1","type":"inbound-rtp","timestamp":5,"packetsLost":"3","kind":"audio"}"#;
        let shapes = [
            format!("[{stat}]"),
            format!(r#"[["IT01A1",{stat}]]"#),
            format!(r#"[{{"key":"IT01A1","value":{stat}}}]"#),
            format!(r#"{{"IT01A1":{stat}}}"#),
        ];
        for shape in shapes {
            let r = report(&shape);
            assert_eq!(r.len(), 1, "{shape}");
            assert_eq!(r[0].0, "IT01A1");
            assert_eq!(r[0].1.kind, Some(StatsKind::InboundRtp));
            assert_eq!(r[0].1.num(Num::PacketsLost), Some(3.0));
            assert_eq!(r[0].1.text(Text::Kind), Some("audio"));
            assert_eq!(r[0].1.timestamp, Some(5.0));
        }
    }

    /// Safari's `kind: ""` is noted whatever shape the report has (a bare array of stats
    /// once skipped it), and entries that are not stats leave nothing behind.
    #[test]
    fn every_shape_notes_an_empty_kind_and_skips_what_is_not_a_stat() {
        let stat = r#"{"id":"RTCInboundRTPVideoStream_1","type":"inbound-rtp","kind":""}"#;
        let shapes = [
            format!(r#"[{stat}, 7, "text", null]"#),
            format!(r#"[["RTCInboundRTPVideoStream_1",{stat}], true]"#),
            format!(r#"[{{"key":"RTCInboundRTPVideoStream_1","value":{stat}}}]"#),
            format!(r#"{{"RTCInboundRTPVideoStream_1":{stat}}}"#),
        ];
        for shape in shapes {
            let r = report(&shape);
            assert_eq!(r.len(), 1, "{shape}");
            assert_eq!(r[0].0, "RTCInboundRTPVideoStream_1", "{shape}");
            assert!(r[0].1.traits.contains(Traits::EMPTY_KIND), "{shape}");
        }
        let unnamed = report(r#"[{"type":"codec"}, 1, {"type":"transport"}]"#);
        let ids: Vec<&str> = unnamed.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["#0", "#2"], "positional ids count every element");
    }

    #[test]
    fn delta_merges_and_removes() {
        let mut state = DeltaState::default();
        let mut present = Vec::new();
        let lines = [
            r#"{"A":{"type":"inbound-rtp","packetsReceived":10,"jitter":0.01},"B":{"type":"codec","mimeType":"audio/opus"},"timestamp":1000}"#,
            r#"{"A":{"timestamp":0,"packetsReceived":20},"timestamp":2000}"#,
        ];
        let mut times = Vec::new();
        for l in lines {
            let mut de = serde_json::Deserializer::from_str(l);
            times.push(
                DeltaSeed { state: &mut state, present: &mut present }.deserialize(&mut de).expect("ok"),
            );
        }
        assert_eq!(times, vec![Some(1000.0), Some(2000.0)]);
        let a = state.objects().find(|(id, _)| *id == "A").expect("A exists").1;
        assert_eq!(a.kind, Some(StatsKind::InboundRtp), "type carried over");
        assert_eq!(a.num(Num::PacketsReceived), Some(20.0));
        assert_eq!(a.num(Num::Jitter), Some(0.01), "unchanged field kept");
        assert!(state.objects().all(|(id, _)| id != "B"), "absent id means removed");
    }

    #[test]
    fn foreign_entries_are_skipped_not_fatal() {
        let r = report(r#"[{"id":"x","audio":{"a":1},"video":[1,2]}, 5, "text", null]"#);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].1.kind, None);
    }
}
