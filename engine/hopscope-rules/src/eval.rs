//! Evaluation: every rule over every entity of its scope, tick by tick, through the
//! anti-flap state machine, into findings with their lifecycle.
//!
//! Three-valued logic: a comparison with a missing value is *unknown*; unknown never raises
//! a finding and never clears one (data that vanished is not good news).

use std::collections::VecDeque;

use crate::catalogue::{MetricId, Scope, ValueType};
use crate::finding::{Evidence, EvidenceValue, Finding, FindingScope, stable_id};
use crate::lang::ast::BinOp;
use crate::lang::check::{CollectFn, TExpr, WindowFn};
use crate::rule::Rule;
use crate::template::{Part, Pick, format_duration, format_number};
use crate::view::{EntityRef, Val, View};

/// Evaluates `expr` for `entity` at `tick`.
pub fn eval(view: &View, expr: &TExpr, entity: EntityRef, tick: usize) -> Val {
    eval_with(view, expr, entity, tick, None)
}

/// Values of windowed aggregates (`avg(x, 15s)`) kept from tick to tick for one rule on one
/// entity, so each tick reads one new value instead of the whole window again. Keyed by
/// the aggregate's node in the rule (its address: rules outlive their evaluator) and the
/// entity it reads (a collection's members each have their own).
#[derive(Clone, Debug, Default)]
struct WindowCache {
    slots: Vec<((usize, EntityRef), Ring)>,
}

/// One metric's values over consecutive ticks `first..first + values.len()`.
#[derive(Clone, Debug, Default)]
struct Ring {
    first: usize,
    values: VecDeque<Option<f64>>,
}

impl Ring {
    /// Makes the ring hold exactly ticks `from..=to`, reading only ticks it lacks.
    fn cover(&mut self, view: &View, entity: EntityRef, metric: MetricId, from: usize, to: usize) {
        let next = self.first + self.values.len();
        if self.values.is_empty() || from < self.first || next > to + 1 {
            self.values.clear();
            self.first = from;
        }
        while self.first < from && !self.values.is_empty() {
            self.values.pop_front();
            self.first += 1;
        }
        if self.values.is_empty() {
            self.first = from;
        }
        for t in self.first + self.values.len()..=to {
            self.values.push_back(match view.value(entity, metric, t) {
                Val::Num(v) => Some(v),
                _ => None,
            });
        }
    }
}

impl WindowCache {
    fn ring(&mut self, node: &TExpr, entity: EntityRef) -> &mut Ring {
        let key = (node as *const TExpr as usize, entity);
        let i = match self.slots.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                self.slots.push((key, Ring::default()));
                self.slots.len() - 1
            }
        };
        &mut self.slots[i].1
    }
}

fn eval_with(
    view: &View,
    expr: &TExpr,
    entity: EntityRef,
    tick: usize,
    mut cache: Option<&mut WindowCache>,
) -> Val {
    // Sub-expressions of the same entity share its cache; collection members have none.
    let eval = |e: &TExpr, cache: &mut Option<&mut WindowCache>| {
        eval_with(view, e, entity, tick, cache.as_deref_mut())
    };
    match expr {
        TExpr::Num(v) => Val::Num(*v),
        TExpr::Bool(b) => Val::Bool(*b),
        TExpr::Text(t) => Val::Text(t.clone()),
        TExpr::Metric(m) => view.value(entity, *m, tick),
        TExpr::Window { func, metric, duration_ms } => {
            let back = (duration_ms / view.step_ms).ceil() as usize;
            let first = tick.saturating_sub(back);
            let (mut n, mut sum, mut min, mut max) = (0usize, 0.0, f64::INFINITY, f64::NEG_INFINITY);
            let mut add = |v: f64| {
                n += 1;
                sum += v;
                min = min.min(v);
                max = max.max(v);
            };
            match cache {
                Some(cache) => {
                    let ring = cache.ring(expr, entity);
                    ring.cover(view, entity, *metric, first, tick);
                    ring.values.iter().flatten().for_each(|v| add(*v));
                }
                None => view.each_number(entity, *metric, first, tick, add),
            }
            if n == 0 {
                return Val::Missing;
            }
            Val::Num(match func {
                WindowFn::Avg => sum / n as f64,
                WindowFn::Sum => sum,
                WindowFn::Min => min,
                WindowFn::Max => max,
            })
        }
        TExpr::Present(m) => Val::Bool(view.value(entity, *m, tick) != Val::Missing),
        TExpr::Coalesce(a, b) => match eval(a, &mut cache) {
            Val::Missing => eval(b, &mut cache),
            v => v,
        },
        TExpr::Not(a) => match eval(a, &mut cache) {
            Val::Bool(b) => Val::Bool(!b),
            _ => Val::Missing,
        },
        TExpr::Neg(a) => match eval(a, &mut cache) {
            Val::Num(v) => Val::Num(-v),
            _ => Val::Missing,
        },
        TExpr::Abs(a) => match eval(a, &mut cache) {
            Val::Num(v) => Val::Num(v.abs()),
            _ => Val::Missing,
        },
        TExpr::Bin(BinOp::And, a, b) => match eval(a, &mut cache) {
            Val::Bool(false) => Val::Bool(false),
            left => match (left, eval(b, &mut cache)) {
                (_, Val::Bool(false)) => Val::Bool(false),
                (Val::Bool(true), Val::Bool(true)) => Val::Bool(true),
                _ => Val::Missing,
            },
        },
        TExpr::Bin(BinOp::Or, a, b) => match eval(a, &mut cache) {
            Val::Bool(true) => Val::Bool(true),
            left => match (left, eval(b, &mut cache)) {
                (_, Val::Bool(true)) => Val::Bool(true),
                (Val::Bool(false), Val::Bool(false)) => Val::Bool(false),
                _ => Val::Missing,
            },
        },
        TExpr::Bin(op, a, b) => binary(*op, eval(a, &mut cache), eval(b, &mut cache)),
        TExpr::In(a, list) => {
            let v = eval(a, &mut cache);
            if v == Val::Missing {
                return Val::Missing;
            }
            Val::Bool(list.iter().any(|c| eval(c, &mut cache) == v))
        }
        TExpr::Collect { func, scope: child, inner } => {
            let children = view.children(entity, *child);
            let values = children.iter().map(|c| eval_with(view, inner, *c, tick, cache.as_deref_mut()));
            match func {
                CollectFn::Count => Val::Num(values.filter(|v| *v == Val::Bool(true)).count() as f64),
                CollectFn::Any => Val::Bool(values.into_iter().any(|v| v == Val::Bool(true))),
                CollectFn::All => {
                    let all: Vec<Val> = values.collect();
                    Val::Bool(!all.is_empty() && all.iter().all(|v| *v == Val::Bool(true)))
                }
                CollectFn::Max | CollectFn::Min | CollectFn::Avg | CollectFn::Sum => {
                    let nums: Vec<f64> =
                        values.filter_map(|v| if let Val::Num(n) = v { Some(n) } else { None }).collect();
                    if nums.is_empty() {
                        return Val::Missing;
                    }
                    Val::Num(match func {
                        CollectFn::Max => nums.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                        CollectFn::Min => nums.iter().copied().fold(f64::INFINITY, f64::min),
                        CollectFn::Avg => nums.iter().sum::<f64>() / nums.len() as f64,
                        _ => nums.iter().sum(),
                    })
                }
            }
        }
    }
}

fn binary(op: BinOp, a: Val, b: Val) -> Val {
    match (a, b) {
        (Val::Num(x), Val::Num(y)) => match op {
            BinOp::Eq => Val::Bool(x == y),
            BinOp::Ne => Val::Bool(x != y),
            BinOp::Lt => Val::Bool(x < y),
            BinOp::Le => Val::Bool(x <= y),
            BinOp::Gt => Val::Bool(x > y),
            BinOp::Ge => Val::Bool(x >= y),
            BinOp::Add => Val::Num(x + y),
            BinOp::Sub => Val::Num(x - y),
            BinOp::Mul => Val::Num(x * y),
            BinOp::Div if y != 0.0 => Val::Num(x / y),
            _ => Val::Missing,
        },
        (Val::Text(x), Val::Text(y)) => match op {
            BinOp::Eq => Val::Bool(x == y),
            BinOp::Ne => Val::Bool(x != y),
            _ => Val::Missing,
        },
        (Val::Bool(x), Val::Bool(y)) => match op {
            BinOp::Eq => Val::Bool(x == y),
            BinOp::Ne => Val::Bool(x != y),
            _ => Val::Missing,
        },
        _ => Val::Missing,
    }
}

/// Per (rule, entity) state.
#[derive(Clone, Copy, Debug, PartialEq)]
enum State {
    Idle,
    Pending { since: usize },
    Firing { since: usize, raised: usize, held: usize },
    Cooling { since: usize, raised: usize, held: usize, stopped: usize },
}

/// One rule on one entity, carried from tick to tick.
#[derive(Clone, Debug)]
struct Track {
    entity: EntityRef,
    state: State,
    /// The last M raw outcomes, for `samples: N of M` (empty otherwise).
    recent: VecDeque<bool>,
    windows: WindowCache,
}

/// One rule, with the entities its fixed attributes admit.
#[derive(Clone, Debug)]
struct Plan {
    /// The conjuncts of `where:` that can change over time; the fixed ones (direction,
    /// kind, browser, ...) were decided per entity when the plan was made.
    dynamic_filter: Vec<TExpr>,
    tracks: Vec<Track>,
}

/// Evaluates rules tick by tick, keeping each (rule, entity)'s state between ticks. A live
/// conference steps it as ticks arrive; [`evaluate`] steps it over a whole call.
#[derive(Clone, Debug)]
pub struct Evaluator<'r> {
    rules: &'r [Rule],
    plans: Vec<Plan>,
}

impl<'r> Evaluator<'r> {
    /// Plans `rules` over the entities of `view`. Entities a rule's fixed `where:` parts
    /// rule out (an outbound stream for a rule on received audio) get no track at all, which
    /// is what keeps a step cheap in a large conference.
    pub fn new(rules: &'r [Rule], view: &View) -> Evaluator<'r> {
        let plans = rules
            .iter()
            .map(|rule| {
                let mut fixed = Vec::new();
                let mut dynamic_filter = Vec::new();
                if let Some(filter) = &rule.filter {
                    for part in conjuncts(filter) {
                        if is_fixed(part, rule.scope) {
                            fixed.push(part);
                        } else {
                            dynamic_filter.push(part.clone());
                        }
                    }
                }
                let samples = rule.timing.samples.map_or(0, |(_, m)| m as usize);
                let tracks = view
                    .entities(rule.scope)
                    .into_iter()
                    // Fixed parts do not depend on the tick; anything but `true` (including
                    // unknown) means the rule can never fire here.
                    .filter(|e| fixed.iter().all(|f| eval(view, f, *e, 0) == Val::Bool(true)))
                    .map(|entity| Track {
                        entity,
                        state: State::Idle,
                        recent: VecDeque::with_capacity(samples),
                        windows: WindowCache::default(),
                    })
                    .collect();
                Plan { dynamic_filter, tracks }
            })
            .collect();
        Evaluator { rules, plans }
    }

    /// How many (rule, entity) pairs are tracked.
    pub fn tracked(&self) -> usize {
        self.plans.iter().map(|p| p.tracks.len()).sum()
    }

    /// Evaluates every rule at `tick` (ticks must be stepped in order); findings that clear
    /// at this tick are pushed to `out`.
    pub fn step(&mut self, view: &View, tick: usize, out: &mut Vec<Finding>) {
        for (rule, plan) in self.rules.iter().zip(&mut self.plans) {
            for track in &mut plan.tracks {
                step_track(rule, &plan.dynamic_filter, view, tick, track, out);
            }
        }
    }

    /// The findings still open after the last tick stepped (`last`): firing ones stay
    /// open, cooling ones end where their condition stopped.
    pub fn open(&self, view: &View, last: usize) -> Vec<Finding> {
        let mut out = Vec::new();
        for (rule, plan) in self.rules.iter().zip(&self.plans) {
            for track in &plan.tracks {
                match track.state {
                    State::Firing { since, raised, held } => out.push(finish(
                        rule,
                        view,
                        track.entity,
                        Episode { since, raised, held, cleared: None },
                        last,
                    )),
                    State::Cooling { since, raised, held, stopped } => out.push(finish(
                        rule,
                        view,
                        track.entity,
                        Episode { since, raised, held, cleared: Some(stopped) },
                        last,
                    )),
                    State::Idle | State::Pending { .. } => {}
                }
            }
        }
        out
    }
}

/// Evaluates rules over a whole view. Deterministic: the same view gives the same
/// findings, sorted by time, then rule, then id.
pub fn evaluate(rules: &[Rule], view: &View) -> Vec<Finding> {
    let mut findings = Vec::new();
    let Some(last) = view.ticks.len().checked_sub(1) else { return findings };
    let mut evaluator = Evaluator::new(rules, view);
    for tick in 0..=last {
        evaluator.step(view, tick, &mut findings);
    }
    findings.extend(evaluator.open(view, last));
    findings.sort_by(|a, b| {
        a.raised_ms.total_cmp(&b.raised_ms).then_with(|| a.rule.cmp(&b.rule)).then_with(|| a.id.cmp(&b.id))
    });
    findings
}

/// The parts of an `a && b && c` expression.
fn conjuncts(e: &TExpr) -> Vec<&TExpr> {
    match e {
        TExpr::Bin(BinOp::And, a, b) => {
            let mut v = conjuncts(a);
            v.extend(conjuncts(b));
            v
        }
        other => vec![other],
    }
}

/// Whether an expression reads only attributes fixed for an entity's life.
fn is_fixed(e: &TExpr, scope: Scope) -> bool {
    match e {
        TExpr::Num(_) | TExpr::Bool(_) | TExpr::Text(_) => true,
        TExpr::Metric(m) | TExpr::Present(m) => scope.is_fixed(*m),
        TExpr::Window { .. } | TExpr::Collect { .. } => false,
        TExpr::Coalesce(a, b) | TExpr::Bin(_, a, b) => is_fixed(a, scope) && is_fixed(b, scope),
        TExpr::Not(a) | TExpr::Neg(a) | TExpr::Abs(a) => is_fixed(a, scope),
        TExpr::In(a, list) => is_fixed(a, scope) && list.iter().all(|x| is_fixed(x, scope)),
    }
}

fn holds(view: &View, rule: &Rule, filter: &[TExpr], track: &mut Track, tick: usize) -> Val {
    for part in filter {
        match eval_with(view, part, track.entity, tick, Some(&mut track.windows)) {
            Val::Bool(true) => {}
            Val::Bool(false) => return Val::Bool(false),
            _ => return Val::Missing,
        }
    }
    eval_with(view, &rule.condition, track.entity, tick, Some(&mut track.windows))
}

fn step_track(
    rule: &Rule,
    filter: &[TExpr],
    view: &View,
    tick: usize,
    track: &mut Track,
    out: &mut Vec<Finding>,
) {
    let ticks = &view.ticks;
    let entity = track.entity;
    let elapsed_ms = |from: usize, to: usize| ticks[to].seconds_since(ticks[from]) * 1000.0;
    let raw = holds(view, rule, filter, track, tick);
    // N of M: the window of the last M samples decides.
    let now = match rule.timing.samples {
        Some((n, m)) => {
            // Make room first, so a full window never grows (nor allocates).
            while track.recent.len() >= m as usize {
                track.recent.pop_front();
            }
            track.recent.push_back(raw == Val::Bool(true));
            let hits = track.recent.iter().filter(|h| **h).count();
            if hits >= n as usize {
                Val::Bool(true)
            } else if raw == Val::Missing {
                Val::Missing
            } else {
                Val::Bool(false)
            }
        }
        None => raw,
    };
    let on = now == Val::Bool(true);
    // Clearing: the `clear` condition when given (hysteresis), else the condition no
    // longer holding. Unknown never clears.
    let windows = &mut track.windows;
    let mut clears = || match &rule.clear {
        Some(c) => eval_with(view, c, entity, tick, Some(windows)) == Val::Bool(true),
        None => now == Val::Bool(false),
    };
    let last = ticks.len() - 1;
    track.state = match track.state {
        State::Idle if on => {
            if rule.timing.for_ms <= 0.0 {
                State::Firing { since: tick, raised: tick, held: 1 }
            } else {
                State::Pending { since: tick }
            }
        }
        State::Idle => State::Idle,
        State::Pending { since } if on => {
            if elapsed_ms(since, tick) >= rule.timing.for_ms {
                State::Firing { since, raised: tick, held: 1 }
            } else {
                State::Pending { since }
            }
        }
        State::Pending { .. } => State::Idle,
        State::Firing { since, raised, held } => {
            if on {
                State::Firing { since, raised, held: held + 1 }
            } else if clears() {
                if rule.timing.keep_firing_for_ms > 0.0 {
                    State::Cooling { since, raised, held, stopped: tick }
                } else {
                    out.push(finish(
                        rule,
                        view,
                        entity,
                        Episode { since, raised, held, cleared: Some(tick) },
                        last,
                    ));
                    State::Idle
                }
            } else {
                State::Firing { since, raised, held }
            }
        }
        State::Cooling { since, raised, held, stopped } => {
            if on || (rule.clear.is_some() && !clears()) {
                State::Firing { since, raised, held: held + usize::from(on) }
            } else if elapsed_ms(stopped, tick) >= rule.timing.keep_firing_for_ms {
                out.push(finish(
                    rule,
                    view,
                    entity,
                    Episode { since, raised, held, cleared: Some(stopped) },
                    last,
                ));
                State::Idle
            } else {
                State::Cooling { since, raised, held, stopped }
            }
        }
    };
}

/// What a finding about `entity` is about.
pub fn scope_of(view: &View, entity: EntityRef, scope: Scope) -> FindingScope {
    let mut s = FindingScope {
        scope,
        participant: None,
        peer_connection: None,
        direction: None,
        kind: None,
        ssrc: None,
        hop: None,
        hop_keys: None,
    };
    match entity {
        EntityRef::Stream(i) => {
            let a = &view.streams[i].attrs;
            s.participant = Some(a.participant.to_string());
            s.peer_connection = Some(a.peer_connection.to_string());
            s.direction = Some(a.direction.to_string());
            s.kind = a.kind.as_deref().map(String::from);
            s.ssrc = a.ssrc;
        }
        EntityRef::Pc(i) => {
            s.participant = Some(view.pcs[i].participant_id.to_string());
            s.peer_connection = Some(view.pcs[i].id.to_string());
        }
        EntityRef::Participant(i) => s.participant = Some(view.participants[i].id.to_string()),
        EntityRef::Hop(i) => {
            s.hop = Some(view.hops[i].label.to_string());
            s.hop_keys = Some(view.hops[i].keys.clone());
        }
        EntityRef::Conference => {}
    }
    s
}

/// A key naming `entity` stably across runs, for finding ids.
pub fn entity_key(view: &View, entity: EntityRef) -> String {
    match entity {
        EntityRef::Stream(i) => {
            let a = &view.streams[i].attrs;
            format!("stream:{}:{}:{}", a.participant, a.peer_connection, a.stats_id)
        }
        EntityRef::Pc(i) => format!("pc:{}:{}", view.pcs[i].participant_id, view.pcs[i].id),
        EntityRef::Participant(i) => format!("participant:{}", view.participants[i].id),
        EntityRef::Hop(i) => format!("hop:{}:{}", view.hops[i].keys.0, view.hops[i].keys.1),
        EntityRef::Conference => format!("conference:{}", view.conference),
    }
}

fn evidence_value(v: &Val) -> Option<EvidenceValue> {
    Some(match v {
        Val::Num(n) => EvidenceValue::Num(*n),
        Val::Bool(b) => EvidenceValue::Bool(*b),
        Val::Text(t) => EvidenceValue::Text(t.to_string()),
        Val::Missing => return None,
    })
}

/// The extreme of a numeric metric over ticks `from..=to`, and where.
fn extreme(
    view: &View,
    entity: EntityRef,
    metric: MetricId,
    from: usize,
    to: usize,
    pick: Pick,
) -> Option<(f64, usize)> {
    let mut best: Option<(f64, usize)> = None;
    for t in from..=to {
        if let Val::Num(v) = view.value(entity, metric, t) {
            let better = match (best, pick) {
                (None, _) => true,
                (Some((b, _)), Pick::Min) => v < b,
                (Some((b, _)), _) => v > b,
            };
            if better {
                best = Some((v, t));
            }
        }
    }
    best
}

/// Ticks of one firing episode: the condition held `since`, the finding was raised at
/// `raised` (after `for:`), it was on for `held` ticks and stopped at `cleared`, if it did.
#[derive(Clone, Copy, Debug)]
struct Episode {
    since: usize,
    raised: usize,
    held: usize,
    cleared: Option<usize>,
}

fn finish(rule: &Rule, view: &View, entity: EntityRef, episode: Episode, last: usize) -> Finding {
    let Episode { since, raised, held, cleared } = episode;
    let ticks = &view.ticks;
    let end = cleared.unwrap_or(last);
    let metrics = rule.scope.metrics();
    let at = |t: usize| view.tick_time(t).to_string();
    let evidence: Vec<Evidence> = rule
        .evidence
        .iter()
        .filter_map(|m| {
            let def = metrics.get(usize::from(m.0))?;
            let value = evidence_value(&view.value(entity, *m, raised))?;
            Some(Evidence { metric: def.name.to_string(), value, unit: def.unit.to_string(), at: at(raised) })
        })
        .collect();
    let peak: Vec<Evidence> = rule
        .evidence
        .iter()
        .filter_map(|m| {
            let def = metrics.get(usize::from(m.0))?;
            if !matches!(def.ty, ValueType::Number(_)) {
                return None;
            }
            // "Worst" depends on the comparison's direction; report the largest for
            // metrics compared with `>`, else the smallest.
            let pick = if greater_is_worse(&rule.condition, *m) { Pick::Max } else { Pick::Min };
            let (v, t) = extreme(view, entity, *m, raised, end, pick)?;
            Some(Evidence {
                metric: def.name.to_string(),
                value: EvidenceValue::Num(v),
                unit: def.unit.to_string(),
                at: at(t),
            })
        })
        .collect();
    let duration_s = ticks[end].seconds_since(ticks[since]);
    let scope = scope_of(view, entity, rule.scope);
    let message = render(rule, view, entity, raised, end, duration_s);
    let raised_at = at(raised);
    Finding {
        id: stable_id(&[&rule.id, &rule.version.to_string(), &entity_key(view, entity), &raised_at]),
        rule: rule.id.clone(),
        rule_version: rule.version,
        severity: rule.severity,
        category: rule.category,
        scope,
        condition_since: at(since),
        raised_at,
        cleared_at: cleared.map(at),
        open_at_end: cleared.is_none(),
        duration_s,
        samples: held,
        evidence,
        peak,
        message,
        actions: rule.actions.clone(),
        raised_ms: ticks[raised].epoch_ms(),
        ended_ms: ticks[end].epoch_ms(),
    }
}

/// Whether the condition fires on large values of `metric` (`metric > x`).
fn greater_is_worse(e: &TExpr, metric: MetricId) -> bool {
    match e {
        TExpr::Bin(op, a, b) if op.is_comparison() => {
            let is =
                |x: &TExpr| matches!(x, TExpr::Metric(m) | TExpr::Window { metric: m, .. } if *m == metric);
            if is(a) {
                matches!(op, BinOp::Gt | BinOp::Ge)
            } else if is(b) {
                matches!(op, BinOp::Lt | BinOp::Le)
            } else {
                false
            }
        }
        TExpr::Bin(_, a, b) => greater_is_worse(a, metric) || greater_is_worse(b, metric),
        TExpr::Not(a) => !greater_is_worse(a, metric),
        _ => true,
    }
}

fn render(rule: &Rule, view: &View, entity: EntityRef, raised: usize, end: usize, duration_s: f64) -> String {
    let metrics = rule.scope.metrics();
    let mut out = String::new();
    for part in &rule.message.parts {
        match part {
            Part::Text(t) => out.push_str(t),
            Part::Duration => out.push_str(&format_duration(duration_s)),
            Part::Since => out.push_str(view.tick_time(raised).get(11..19).unwrap_or_default()),
            Part::Rule => out.push_str(&rule.id),
            Part::Severity => out.push_str(rule.severity.as_str()),
            Part::Metric(m, pick, format, fallback) => {
                let Some(def) = metrics.get(usize::from(m.0)) else { continue };
                let value = match pick {
                    Pick::AtRaise => view.value(entity, *m, raised),
                    Pick::Max | Pick::Min => extreme(view, entity, *m, raised, end, *pick)
                        .map_or(Val::Missing, |(v, _)| Val::Num(v)),
                };
                out.push_str(&match value {
                    Val::Num(v) => format_number(v, def.unit, *format),
                    Val::Bool(b) => if b { "yes" } else { "no" }.to_string(),
                    Val::Text(t) => t.to_string(),
                    Val::Missing => fallback.clone().unwrap_or_else(|| "unknown".to_string()),
                });
            }
        }
    }
    out
}
