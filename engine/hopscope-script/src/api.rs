//! What a script can read: the conference as entities (the conference, participants, peer
//! connections, streams, hops of the path graph), each metric of the catalogue by name at
//! each tick of the shared time grid, and the findings of the rules run before.
//!
//! | call | gives |
//! |------|-------|
//! | `conf.participants()`, `.peer_connections()`, `.streams()`, `.hops()` | entities (on a participant or peer connection: its own), as an [`Entities`] list |
//! | `conf.streams("inbound")`, `conf.streams("inbound", "audio")` | streams one way, of one kind |
//! | `e.value("loss_percent", tick)` | the metric at a tick: a number, `true`/`false`, text, or `()` when missing |
//! | `e.series("loss_percent")` | the metric at every tick (`()` where missing) |
//! | `e.summary("loss_percent")`, `e.summary(name, from, to)` | `.samples`, `.avg`, `.min`, `.max`, `.min_at`, `.max_at` over the ticks |
//! | `list.above("loss_percent", 5)`, `list.below(name, x)` | the entities of `list` whose metric goes past `x` at some tick (a native scan) |
//! | `e.ticks_above("loss_percent", 5)`, `e.ticks_below(name, x)` | the ticks at which the metric is past `x` |
//! | `e.attr("kind")` | an attribute fixed for the entity's life (direction, kind, browser, ...) |
//! | `e.scope`, `e.id`, `e.name` | `"stream"`..., its id, a description (`alice/PC_0 inbound audio`) |
//! | `conf.ticks`, `conf.step_ms`, `conf.time(tick)` | the grid: tick count, step, a tick's time (RFC 3339) |
//! | `conf.findings()` | earlier findings as maps (rule, severity, category, message, participant, ..., raised, cleared) |
//!
//! The view is reachable only while a script runs: the host lends it through a scoped
//! thread-local, so nothing a script holds can outlive it or write to it.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use hopscope_model::stats::MediaKind;
use hopscope_rules::catalogue::{MetricId, Scope};
use hopscope_rules::diagnostic::did_you_mean;
use hopscope_rules::eval::scope_of;
use hopscope_rules::finding::Finding;
use hopscope_rules::view::{EntityRef, Val, View};
use rhai::{Array, Dynamic, Engine, EvalAltResult, FnPtr, INT, ImmutableString, Map, NativeCallContext};

scoped_tls::scoped_thread_local!(static VIEW: View);
scoped_tls::scoped_thread_local!(static EARLIER: Array);
scoped_tls::scoped_thread_local!(static LISTS: RefCell<Lists>);

/// Lists of entities already given out during one run of the scripts, by what was asked
/// (parent, scope, direction, kind): the scripts of a set mostly ask the same questions
/// (`conf.streams("inbound")`), and on a 5000-stream call each answer is a pass over
/// every stream. A list is read-only, so the scripts share one copy.
type Lists = HashMap<(EntityRef, Scope, Option<bool>, Option<MediaKind>), Entities>;

type Fallible<T> = Result<T, Box<EvalAltResult>>;

/// One entity of the conference, as scripts hold it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entity(pub EntityRef);

impl Entity {
    /// Its scope.
    pub fn scope(self) -> Scope {
        match self.0 {
            EntityRef::Stream(_) => Scope::Stream,
            EntityRef::Pc(_) => Scope::PeerConnection,
            EntityRef::Participant(_) => Scope::Participant,
            EntityRef::Hop(_) => Scope::Hop,
            EntityRef::Conference => Scope::Conference,
        }
    }

    /// Whether it exists in `view` (an entity cannot come from elsewhere, but the view's
    /// accessors index without checking, so check once here).
    pub(crate) fn valid_in(self, view: &View) -> bool {
        match self.0 {
            EntityRef::Stream(i) => i < view.streams.len(),
            EntityRef::Pc(i) => i < view.pcs.len(),
            EntityRef::Participant(i) => i < view.participants.len(),
            EntityRef::Hop(i) => i < view.hops.len(),
            EntityRef::Conference => true,
        }
    }
}

/// A list of entities as scripts hold it (`conf.streams()`, `conf.participants()`, ...):
/// one shared slice of indices rather than an array of boxed values, because building
/// and dropping 5000 boxed streams costs more than a native scan over them. It reads like
/// an array (`for`, `len`, `l[i]`, `filter`, `map`, `+`) and `to_array()` gives a real one.
#[derive(Clone, Debug, Default)]
pub struct Entities(Arc<[EntityRef]>);

impl Entities {
    fn from_refs(refs: impl IntoIterator<Item = EntityRef>) -> Entities {
        Entities(refs.into_iter().collect())
    }

    /// The entity at `i`, counting from the end when negative, as arrays do.
    fn get(&self, i: INT) -> Fallible<Entity> {
        let len = self.0.len() as INT;
        let at = if i < 0 { i + len } else { i };
        usize::try_from(at)
            .ok()
            .and_then(|k| self.0.get(k))
            .map(|r| Entity(*r))
            .ok_or_else(|| format!("index {i} is outside the list ({len} entities)").into())
    }
}

impl IntoIterator for Entities {
    type Item = Entity;
    type IntoIter = EntitiesIter;

    fn into_iter(self) -> EntitiesIter {
        EntitiesIter { list: self.0, next: 0 }
    }
}

/// Walks an [`Entities`] for a script's `for` loop.
#[derive(Debug)]
pub struct EntitiesIter {
    list: Arc<[EntityRef]>,
    next: usize,
}

impl Iterator for EntitiesIter {
    type Item = Entity;

    fn next(&mut self) -> Option<Entity> {
        let e = self.list.get(self.next).copied()?;
        self.next += 1;
        Some(Entity(e))
    }
}

/// Runs `f` with `view` and `earlier` readable by scripts on this thread.
pub(crate) fn lend<R>(view: &View, earlier: &Array, f: impl FnOnce() -> R) -> R {
    let lists = RefCell::new(Lists::new());
    VIEW.set(view, || EARLIER.set(earlier, || LISTS.set(&lists, f)))
}

/// The list asked for by `key`, from an earlier ask of this run or from `make`.
fn list(
    key: (EntityRef, Scope, Option<bool>, Option<MediaKind>),
    make: impl FnOnce() -> Entities,
) -> Entities {
    if !LISTS.is_set() {
        return make();
    }
    LISTS.with(|lists| {
        if let Some(known) = lists.borrow().get(&key) {
            return known.clone();
        }
        let made = make();
        lists.borrow_mut().insert(key, made.clone());
        made
    })
}

/// The view, while a script runs.
fn with_view<T>(e: Entity, f: impl FnOnce(&View) -> Fallible<T>) -> Fallible<T> {
    if !VIEW.is_set() {
        return Err("the conference can only be read while a rule is evaluated".into());
    }
    VIEW.with(|view| {
        if !e.valid_in(view) {
            return Err("this entity belongs to another conference".into());
        }
        f(view)
    })
}

/// Metric ids by name per scope: scripts look names up millions of times on a big call.
static METRICS: std::sync::LazyLock<Vec<HashMap<&'static str, MetricId>>> = std::sync::LazyLock::new(|| {
    Scope::ALL
        .iter()
        .map(|s| s.metrics().iter().enumerate().map(|(i, m)| (m.name, MetricId(i as u16))).collect())
        .collect()
});

fn metric(scope: Scope, name: &str) -> Fallible<MetricId> {
    let index = Scope::ALL.iter().position(|s| *s == scope).and_then(|i| METRICS.get(i));
    if let Some(id) = index.and_then(|m| m.get(name)) {
        return Ok(*id);
    }
    Err(format!(
        "unknown metric `{}` for a {}{} (`hopscope rules metrics {}` lists them)",
        clip_name(name),
        scope.as_str(),
        suggest(name, scope),
        scope.as_str()
    )
    .into())
}

/// Longest name worth a suggestion: edit distance is quadratic, and a script may pass a
/// 64 KiB string.
const MAX_NAME: usize = 64;

/// `; did you mean `x`?`, or nothing.
pub(crate) fn suggest(name: &str, scope: Scope) -> String {
    if name.len() > MAX_NAME {
        return String::new();
    }
    did_you_mean(name, scope.metrics().iter().map(|m| m.name))
        .map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_default()
}

/// A name cut short for an error message.
pub(crate) fn clip_name(name: &str) -> String {
    match name.char_indices().nth(MAX_NAME) {
        Some((i, _)) => format!("{}…", &name[..i]),
        None => name.to_string(),
    }
}

fn tick(view: &View, t: INT) -> Fallible<usize> {
    usize::try_from(t).ok().filter(|t| *t < view.ticks.len()).ok_or_else(|| {
        format!("tick {t} is outside the call (ticks 0 to {})", view.ticks.len().saturating_sub(1)).into()
    })
}

pub(crate) fn to_dynamic(v: Val) -> Dynamic {
    match v {
        Val::Num(n) => Dynamic::from_float(n),
        Val::Bool(b) => Dynamic::from_bool(b),
        Val::Text(t) => Dynamic::from(ImmutableString::from(&*t)),
        Val::Missing => Dynamic::UNIT,
    }
}

fn children(e: Entity, scope: Scope) -> Fallible<Entities> {
    with_view(e, |view| Ok(list((e.0, scope, None, None), || Entities::from_refs(view.children(e.0, scope)))))
}

/// Streams of an entity going one way (`inbound`/`outbound`), of one kind (`audio`/`video`)
/// when given: the filter runs natively, a big call has thousands of streams.
fn streams_of(e: Entity, direction: &str, kind: Option<&str>) -> Fallible<Entities> {
    let inbound = match direction {
        "inbound" => true,
        "outbound" => false,
        _ => return Err(format!("direction `{direction}`: one of inbound, outbound").into()),
    };
    let media = match kind {
        None => None,
        Some("audio") => Some(MediaKind::Audio),
        Some("video") => Some(MediaKind::Video),
        Some(k) => return Err(format!("kind `{k}`: one of audio, video").into()),
    };
    with_view(e, |view| {
        Ok(list((e.0, Scope::Stream, Some(inbound), media), || {
            Entities::from_refs(view.streams_flowing(e.0, inbound, media).into_iter().map(EntityRef::Stream))
        }))
    })
}

fn value(e: &mut Entity, name: &str, t: INT) -> Fallible<Dynamic> {
    let e = *e;
    with_view(e, |view| {
        let m = metric(e.scope(), name)?;
        Ok(to_dynamic(view.value(e.0, m, tick(view, t)?)))
    })
}

fn series(e: &mut Entity, name: &str) -> Fallible<Array> {
    let e = *e;
    with_view(e, |view| {
        let m = metric(e.scope(), name)?;
        Ok((0..view.ticks.len()).map(|t| to_dynamic(view.value(e.0, m, t))).collect())
    })
}

/// What `summary` gives, read like a map (`s.max`) without building one per call: scans of
/// thousands of streams call it once each.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Summary {
    samples: usize,
    sum: f64,
    lo: Option<(f64, usize)>,
    hi: Option<(f64, usize)>,
}

impl Summary {
    fn avg(&self) -> Dynamic {
        if self.samples == 0 { Dynamic::UNIT } else { Dynamic::from_float(self.sum / self.samples as f64) }
    }
}

fn num(x: Option<(f64, usize)>) -> Dynamic {
    x.map_or(Dynamic::UNIT, |(v, _)| Dynamic::from_float(v))
}

fn at(x: Option<(f64, usize)>) -> Dynamic {
    x.map_or(Dynamic::UNIT, |(_, t)| Dynamic::from_int(t as INT))
}

fn summary_between(e: &mut Entity, name: &str, from: INT, to: INT) -> Fallible<Summary> {
    let e = *e;
    with_view(e, |view| {
        let m = metric(e.scope(), name)?;
        let (from, to) = (tick(view, from)?, tick(view, to)?);
        let mut s = Summary::default();
        if from <= to {
            view.each_number_at(e.0, m, from, to, |t, v| {
                s.samples += 1;
                s.sum += v;
                if s.lo.is_none_or(|(x, _)| v < x) {
                    s.lo = Some((v, t));
                }
                if s.hi.is_none_or(|(x, _)| v > x) {
                    s.hi = Some((v, t));
                }
            });
        }
        Ok(s)
    })
}

/// Which side of a threshold a scan keeps.
#[derive(Clone, Copy)]
enum Side {
    Above,
    Below,
}

impl Side {
    fn keeps(self, v: f64, x: f64) -> bool {
        match self {
            Side::Above => v > x,
            Side::Below => v < x,
        }
    }
}

/// Whether `e`'s metric goes past `x` at some tick. `resolved` keeps the metric id found
/// for the last scope, so a list of one scope looks the name up once.
fn goes_past(
    view: &View,
    e: Entity,
    name: &str,
    x: f64,
    side: Side,
    resolved: &mut Option<(Scope, MetricId)>,
) -> Fallible<bool> {
    if !e.valid_in(view) {
        return Err("this entity belongs to another conference".into());
    }
    let m = match *resolved {
        Some((scope, m)) if scope == e.scope() => m,
        _ => {
            let m = metric(e.scope(), name)?;
            *resolved = Some((e.scope(), m));
            m
        }
    };
    // Past `x` at some tick: the highest value above it, or the lowest below.
    let extreme = view.extreme(e.0, m, matches!(side, Side::Above));
    Ok(extreme.is_some_and(|v| side.keeps(v, x)))
}

/// The entities of `list` whose metric goes past `x` at some tick, scanned natively: the
/// same check written as a script loop costs about a microsecond per entity, and a
/// 50-person SFU call has 5000 streams.
fn past(list: &mut Entities, name: &str, x: f64, side: Side) -> Fallible<Entities> {
    if !VIEW.is_set() {
        return Err("the conference can only be read while a rule is evaluated".into());
    }
    VIEW.with(|view| {
        // A list of streams (what `streams(...)` gives) is scanned by the view in one go.
        let streams: Option<Vec<usize>> = list
            .0
            .iter()
            .map(|r| match *r {
                EntityRef::Stream(i) if i < view.streams.len() => Some(i),
                _ => None,
            })
            .collect();
        if let Some(streams) = streams.filter(|s| !s.is_empty()) {
            let m = metric(Scope::Stream, name)?;
            let mut out = Vec::new();
            view.each_stream_extreme(streams, m, matches!(side, Side::Above), |i, v| {
                if v.is_some_and(|v| side.keeps(v, x)) {
                    out.push(EntityRef::Stream(i));
                }
            });
            return Ok(Entities(out.into()));
        }
        let mut resolved = None;
        let mut out = Vec::new();
        for &r in list.0.iter() {
            if goes_past(view, Entity(r), name, x, side, &mut resolved)? {
                out.push(r);
            }
        }
        Ok(Entities(out.into()))
    })
}

/// [`past`] over an array a script built, which must hold entities only.
fn past_in_array(list: &mut Array, name: &str, x: f64, side: Side) -> Fallible<Array> {
    if !VIEW.is_set() {
        return Err("the conference can only be read while a rule is evaluated".into());
    }
    VIEW.with(|view| {
        let mut resolved = None;
        let mut out = Array::new();
        for (i, item) in list.iter().enumerate() {
            let Some(e) = item.read_lock::<Entity>().map(|e| *e) else {
                return Err(format!("item {i} of the list is a {}, not an entity", item.type_name()).into());
            };
            if goes_past(view, e, name, x, side, &mut resolved)? {
                out.push(item.clone());
            }
        }
        Ok(out)
    })
}

/// The entities of `list` for which `keep` returns true.
fn filter(ctx: NativeCallContext, list: &mut Entities, keep: FnPtr) -> Fallible<Entities> {
    let mut out = Vec::new();
    for &r in list.0.iter() {
        let verdict: Dynamic = keep.call_within_context(&ctx, (Entity(r),))?;
        match verdict.as_bool() {
            Ok(true) => out.push(r),
            Ok(false) => {}
            Err(t) => return Err(format!("filter: the function returned a {t}, not true or false").into()),
        }
    }
    Ok(Entities(out.into()))
}

/// What `f` returns for each entity of `list`, as an array.
fn map(ctx: NativeCallContext, list: &mut Entities, f: FnPtr) -> Fallible<Array> {
    list.0.iter().map(|&r| f.call_within_context(&ctx, (Entity(r),))).collect()
}

/// The ticks at which an entity's metric is past `x`, in order.
fn ticks_past(e: Entity, name: &str, x: f64, side: Side) -> Fallible<Array> {
    with_view(e, |view| {
        let m = metric(e.scope(), name)?;
        let mut out = Array::new();
        if !view.ticks.is_empty() {
            view.each_number_at(e.0, m, 0, view.ticks.len() - 1, |t, v| {
                if side.keeps(v, x) {
                    out.push(Dynamic::from_int(t as INT));
                }
            });
        }
        Ok(out)
    })
}

fn summary(e: &mut Entity, name: &str) -> Fallible<Summary> {
    let last = with_view(*e, |view| Ok(view.ticks.len().saturating_sub(1) as INT))?;
    summary_between(e, name, 0, last)
}

fn attr(e: &mut Entity, name: &str) -> Fallible<Dynamic> {
    let e = *e;
    with_view(e, |view| {
        let m = metric(e.scope(), name)?;
        if !e.scope().is_fixed(m) {
            return Err(format!(
                "`{name}` changes over the call: read it with value(name, tick) or series(name)"
            )
            .into());
        }
        Ok(to_dynamic(view.value(e.0, m, 0)))
    })
}

fn id(e: &mut Entity) -> Fallible<ImmutableString> {
    let e = *e;
    with_view(e, |view| {
        Ok(match e.0 {
            EntityRef::Stream(i) => view.streams[i].attrs.stats_id.as_str().into(),
            EntityRef::Pc(i) => (&*view.pcs[i].id).into(),
            EntityRef::Participant(i) => (&*view.participants[i].id).into(),
            EntityRef::Hop(i) => (&*view.hops[i].label).into(),
            EntityRef::Conference => (&*view.conference).into(),
        })
    })
}

fn name(e: &mut Entity) -> Fallible<ImmutableString> {
    let e = *e;
    with_view(e, |view| Ok(scope_of(view, e.0, e.scope()).describe().into()))
}

fn ticks(e: &mut Entity) -> Fallible<INT> {
    with_view(*e, |view| Ok(view.ticks.len() as INT))
}

fn step_ms(e: &mut Entity) -> Fallible<f64> {
    with_view(*e, |view| Ok(view.step_ms))
}

fn time(e: &mut Entity, t: INT) -> Fallible<ImmutableString> {
    with_view(*e, |view| Ok(view.tick_time(tick(view, t)?).into()))
}

fn findings(_: &mut Entity) -> Fallible<Array> {
    if !EARLIER.is_set() {
        return Err("findings can only be read while a rule is evaluated".into());
    }
    Ok(EARLIER.with(Clone::clone))
}

/// Registers the API on an engine.
pub(crate) fn register(engine: &mut Engine) {
    engine.register_type_with_name::<Entity>("Entity");
    engine.register_get("scope", |e: &mut Entity| -> ImmutableString { e.scope().as_str().into() });
    engine.register_get("id", id);
    engine.register_get("name", name);
    engine.register_get("ticks", ticks);
    engine.register_get("step_ms", step_ms);
    engine.register_fn("time", time);
    engine.register_fn("participants", |e: &mut Entity| children(*e, Scope::Participant));
    engine.register_fn("peer_connections", |e: &mut Entity| children(*e, Scope::PeerConnection));
    engine.register_fn("streams", |e: &mut Entity| children(*e, Scope::Stream));
    engine.register_fn("streams", |e: &mut Entity, direction: &str| streams_of(*e, direction, None));
    engine.register_fn("streams", |e: &mut Entity, direction: &str, kind: &str| {
        streams_of(*e, direction, Some(kind))
    });
    engine.register_fn("hops", |e: &mut Entity| children(*e, Scope::Hop));
    engine.register_fn("value", value);
    engine.register_fn("series", series);
    engine.register_fn("summary", summary);
    engine.register_fn("summary", summary_between);
    engine.register_type_with_name::<Summary>("Summary");
    engine.register_get("samples", |s: &mut Summary| s.samples as INT);
    engine.register_get("avg", |s: &mut Summary| s.avg());
    engine.register_get("min", |s: &mut Summary| num(s.lo));
    engine.register_get("max", |s: &mut Summary| num(s.hi));
    engine.register_get("min_at", |s: &mut Summary| at(s.lo));
    engine.register_get("max_at", |s: &mut Summary| at(s.hi));
    engine.register_fn("to_string", |s: &mut Summary| -> String {
        format!("#{{samples: {}, avg: {}, min: {}, max: {}}}", s.samples, s.avg(), num(s.lo), num(s.hi))
    });
    engine.register_type_with_name::<Entities>("Entities");
    engine.register_iterator::<Entities>();
    engine.register_fn("len", |l: &mut Entities| l.0.len() as INT);
    engine.register_get("len", |l: &mut Entities| l.0.len() as INT);
    engine.register_fn("is_empty", |l: &mut Entities| l.0.is_empty());
    engine.register_indexer_get(|l: &mut Entities, i: INT| l.get(i));
    engine.register_fn("to_array", |l: &mut Entities| -> Array {
        l.0.iter().map(|&r| Dynamic::from(Entity(r))).collect()
    });
    engine.register_fn("contains", |l: &mut Entities, e: Entity| l.0.contains(&e.0));
    engine.register_fn("+", |a: Entities, b: Entities| {
        Entities(a.0.iter().chain(b.0.iter()).copied().collect())
    });
    engine.register_fn("filter", filter);
    engine.register_fn("map", map);
    engine.register_fn("to_string", |l: &mut Entities| -> String { format!("{:?}", l.0) });
    engine.register_fn("above", |l: &mut Entities, name: &str, x: f64| past(l, name, x, Side::Above));
    engine.register_fn("above", |l: &mut Entities, name: &str, x: INT| past(l, name, x as f64, Side::Above));
    engine.register_fn("below", |l: &mut Entities, name: &str, x: f64| past(l, name, x, Side::Below));
    engine.register_fn("below", |l: &mut Entities, name: &str, x: INT| past(l, name, x as f64, Side::Below));
    engine.register_fn("above", |l: &mut Array, name: &str, x: f64| past_in_array(l, name, x, Side::Above));
    engine.register_fn("above", |l: &mut Array, name: &str, x: INT| {
        past_in_array(l, name, x as f64, Side::Above)
    });
    engine.register_fn("below", |l: &mut Array, name: &str, x: f64| past_in_array(l, name, x, Side::Below));
    engine.register_fn("below", |l: &mut Array, name: &str, x: INT| {
        past_in_array(l, name, x as f64, Side::Below)
    });
    engine.register_fn("ticks_above", |e: &mut Entity, name: &str, x: f64| {
        ticks_past(*e, name, x, Side::Above)
    });
    engine.register_fn("ticks_above", |e: &mut Entity, name: &str, x: INT| {
        ticks_past(*e, name, x as f64, Side::Above)
    });
    engine.register_fn("ticks_below", |e: &mut Entity, name: &str, x: f64| {
        ticks_past(*e, name, x, Side::Below)
    });
    engine.register_fn("ticks_below", |e: &mut Entity, name: &str, x: INT| {
        ticks_past(*e, name, x as f64, Side::Below)
    });
    engine.register_fn("attr", attr);
    engine.register_fn("findings", findings);
    engine.register_fn("==", |a: Entity, b: Entity| a == b);
    engine.register_fn("!=", |a: Entity, b: Entity| a != b);
    engine.register_fn("to_string", |e: &mut Entity| -> String { format!("{:?}", e.0) });
}

/// Earlier findings as scripts see them, with ticks on the view's grid.
pub(crate) fn earlier_findings(view: &View, earlier: &[Finding]) -> Array {
    let tick_of = |ms: f64| -> INT {
        let t = view.ticks.partition_point(|t| t.epoch_ms() < ms);
        t.min(view.ticks.len().saturating_sub(1)) as INT
    };
    let text = |s: &str| Dynamic::from(ImmutableString::from(s));
    let opt = |s: &Option<String>| s.as_deref().map_or(Dynamic::UNIT, text);
    earlier
        .iter()
        .map(|f| {
            let mut m = Map::new();
            m.insert("rule".into(), text(&f.rule));
            m.insert("severity".into(), text(f.severity.as_str()));
            m.insert("category".into(), text(f.category.as_str()));
            m.insert("scope".into(), text(f.scope.scope.as_str()));
            m.insert("message".into(), text(&f.message));
            m.insert("participant".into(), opt(&f.scope.participant));
            m.insert("peer_connection".into(), opt(&f.scope.peer_connection));
            m.insert("direction".into(), opt(&f.scope.direction));
            m.insert("kind".into(), opt(&f.scope.kind));
            m.insert("hop".into(), opt(&f.scope.hop));
            m.insert("raised".into(), Dynamic::from_int(tick_of(f.raised_ms)));
            m.insert(
                "cleared".into(),
                if f.open_at_end { Dynamic::UNIT } else { Dynamic::from_int(tick_of(f.ended_ms)) },
            );
            m.insert("raised_at".into(), text(&f.raised_at));
            Dynamic::from_map(m)
        })
        .collect()
}
