//! Type checking: names resolve to metrics of the rule's scope, literal units convert to
//! the metric's unit, every node gets a type. The output [`TExpr`] evaluates without any
//! further checks.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::ast::{BinOp, Expr, LiteralUnit, Span};
use crate::catalogue::{Dimension, MetricId, Scope, ValueType};
use crate::diagnostic::{Code, did_you_mean};

/// Functions over one entity's recent history.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowFn {
    /// Mean of the values present.
    Avg,
    /// Smallest.
    Min,
    /// Largest.
    Max,
    /// Sum.
    Sum,
}

/// Functions over a collection of entities.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CollectFn {
    /// How many satisfy a condition.
    Count,
    /// Whether any does.
    Any,
    /// Whether all do (and there is at least one).
    All,
    /// Largest value.
    Max,
    /// Smallest value.
    Min,
    /// Mean value.
    Avg,
    /// Sum of values.
    Sum,
}

/// A typed expression, ready to evaluate.
#[derive(Clone, Debug, PartialEq)]
pub enum TExpr {
    /// A number in the canonical unit of its dimension.
    Num(f64),
    /// Yes/no.
    Bool(bool),
    /// Text.
    Text(Arc<str>),
    /// A metric's value now.
    Metric(MetricId),
    /// A metric over the last `duration_ms`.
    Window {
        /// Which aggregate.
        func: WindowFn,
        /// Of what.
        metric: MetricId,
        /// How far back.
        duration_ms: f64,
    },
    /// Whether a metric has a value now.
    Present(MetricId),
    /// The first operand, or the second when the first is missing.
    Coalesce(Box<TExpr>, Box<TExpr>),
    /// Logical not.
    Not(Box<TExpr>),
    /// Negation.
    Neg(Box<TExpr>),
    /// Absolute value.
    Abs(Box<TExpr>),
    /// Binary operation.
    Bin(BinOp, Box<TExpr>, Box<TExpr>),
    /// Membership in a list of constants.
    In(Box<TExpr>, Vec<TExpr>),
    /// An aggregate over a collection of child entities.
    Collect {
        /// Which aggregate.
        func: CollectFn,
        /// The collection's scope.
        scope: Scope,
        /// Evaluated per member, in that scope.
        inner: Box<TExpr>,
    },
}

/// A checking error.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckError {
    /// Stable code.
    pub code: Code,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
    /// Where.
    pub span: Span,
}

fn err(code: Code, span: Span, message: impl Into<String>) -> CheckError {
    CheckError { code, message: message.into(), help: None, span }
}

/// Parameters a rule's expressions may use as `$name`.
pub type Params = BTreeMap<String, Expr>;

/// The result type of a checked expression: a value, or a number literal whose unit is
/// still to be matched against what it meets.
#[derive(Clone, Debug)]
enum Typed {
    Value(TExpr, ValueType),
    Literal(f64, Option<LiteralUnit>),
}

/// Checks `expr` in `scope`; `params` resolve `$name`.
pub fn check(expr: &Expr, scope: Scope, params: &Params) -> Result<(TExpr, ValueType), CheckError> {
    let checker = Checker { params };
    match checker.check(expr, scope)? {
        Typed::Value(t, ty) => Ok((t, ty)),
        Typed::Literal(v, _) => Ok((TExpr::Num(v), ValueType::Number(Dimension::Plain))),
    }
}

struct Checker<'a> {
    params: &'a Params,
}

/// Converts a literal to a dimension's canonical unit.
fn convert(value: f64, unit: Option<LiteralUnit>, dim: Dimension) -> Result<f64, String> {
    use LiteralUnit as U;
    let Some(unit) = unit else { return Ok(value) };
    Ok(match (dim, unit) {
        (Dimension::Time, U::Millis) => value,
        (Dimension::Time, U::Seconds) => value * 1000.0,
        (Dimension::Time, U::Minutes) => value * 60_000.0,
        (Dimension::Time, U::Hours) => value * 3_600_000.0,
        (Dimension::Time, U::Days) => value * 86_400_000.0,
        (Dimension::Percent, U::Percent) => value,
        (Dimension::Ratio, U::Percent) => value / 100.0,
        (Dimension::Bitrate, U::Bps) => value / 1000.0,
        (Dimension::Bitrate, U::Kbps) => value,
        (Dimension::Bitrate, U::Mbps) => value * 1000.0,
        (Dimension::FrameRate, U::Fps) => value,
        (Dimension::PacketRate, U::Pps) => value,
        _ => return Err(format!("`{value}{}` is not {}", unit.as_str(), dim.describe())),
    })
}

fn unit_dimension(unit: LiteralUnit) -> Dimension {
    match unit {
        LiteralUnit::Millis
        | LiteralUnit::Seconds
        | LiteralUnit::Minutes
        | LiteralUnit::Hours
        | LiteralUnit::Days => Dimension::Time,
        LiteralUnit::Percent => Dimension::Percent,
        LiteralUnit::Bps | LiteralUnit::Kbps | LiteralUnit::Mbps => Dimension::Bitrate,
        LiteralUnit::Fps => Dimension::FrameRate,
        LiteralUnit::Pps => Dimension::PacketRate,
    }
}

/// Parses a duration literal (`30s`, `500ms`, `2min`) to milliseconds.
pub fn duration_ms(expr: &Expr) -> Option<f64> {
    match expr {
        Expr::Number(v, Some(u), _) if unit_dimension(*u) == Dimension::Time => {
            convert(*v, Some(*u), Dimension::Time).ok()
        }
        _ => None,
    }
}

impl Checker<'_> {
    fn value(&self, expr: &Expr, scope: Scope) -> Result<(TExpr, ValueType), CheckError> {
        match self.check(expr, scope)? {
            Typed::Value(t, ty) => Ok((t, ty)),
            Typed::Literal(v, None) => Ok((TExpr::Num(v), ValueType::Number(Dimension::Plain))),
            Typed::Literal(v, Some(u)) => {
                let dim = unit_dimension(u);
                let v = convert(v, Some(u), dim).map_err(|m| err(Code::H303, expr.span(), m))?;
                Ok((TExpr::Num(v), ValueType::Number(dim)))
            }
        }
    }

    fn boolean(&self, expr: &Expr, scope: Scope) -> Result<TExpr, CheckError> {
        let (t, ty) = self.value(expr, scope)?;
        if ty != ValueType::Bool {
            return Err(CheckError {
                code: Code::H302,
                message: format!("expected a yes/no condition, found {}", ty.describe()),
                help: Some("compare it with something, e.g. `> 5`".into()),
                span: expr.span(),
            });
        }
        Ok(t)
    }

    fn check(&self, expr: &Expr, scope: Scope) -> Result<Typed, CheckError> {
        match expr {
            Expr::Number(v, u, _) => Ok(Typed::Literal(*v, *u)),
            Expr::Str(s, _) => Ok(Typed::Value(TExpr::Text(s.as_str().into()), ValueType::Text)),
            Expr::Bool(b, _) => Ok(Typed::Value(TExpr::Bool(*b), ValueType::Bool)),
            Expr::Param(name, span) => match self.params.get(name) {
                Some(value) => self.check(value, scope),
                None => Err(CheckError {
                    code: Code::H306,
                    message: format!("unknown parameter `${name}`"),
                    help: did_you_mean(name, self.params.keys().map(String::as_str))
                        .map(|s| format!("did you mean `${s}`?"))
                        .or_else(|| Some("declare it under the rule's `params:`".into())),
                    span: *span,
                }),
            },
            Expr::Name(name, span) => {
                let (id, def) = scope.metric(name).ok_or_else(|| unknown_metric(name, scope, *span))?;
                Ok(Typed::Value(TExpr::Metric(id), def.ty))
            }
            Expr::Not(inner, _) => {
                Ok(Typed::Value(TExpr::Not(Box::new(self.boolean(inner, scope)?)), ValueType::Bool))
            }
            Expr::Neg(inner, span) => match self.check(inner, scope)? {
                Typed::Literal(v, u) => Ok(Typed::Literal(-v, u)),
                Typed::Value(t, ValueType::Number(d)) => {
                    Ok(Typed::Value(TExpr::Neg(Box::new(t)), ValueType::Number(d)))
                }
                Typed::Value(_, ty) => {
                    Err(err(Code::H302, *span, format!("cannot negate {}", ty.describe())))
                }
            },
            Expr::Binary(op, l, r, span) => self.binary(*op, l, r, *span, scope),
            Expr::In(value, items, span) => {
                let (t, ty) = self.value(value, scope)?;
                let mut list = Vec::new();
                for item in items {
                    let c = match (self.check(item, scope)?, ty) {
                        (Typed::Literal(v, u), ValueType::Number(d)) => {
                            TExpr::Num(convert(v, u, d).map_err(|m| err(Code::H303, item.span(), m))?)
                        }
                        (Typed::Value(c @ TExpr::Text(_), ValueType::Text), ValueType::Text) => c,
                        (Typed::Value(c @ TExpr::Bool(_), ValueType::Bool), ValueType::Bool) => c,
                        _ => {
                            return Err(err(
                                Code::H302,
                                item.span(),
                                format!(
                                    "`in` lists must hold constants of the same type as the value ({})",
                                    ty.describe()
                                ),
                            ));
                        }
                    };
                    list.push(c);
                }
                if list.is_empty() {
                    return Err(err(Code::H302, *span, "`in` needs at least one value"));
                }
                Ok(Typed::Value(TExpr::In(Box::new(t), list), ValueType::Bool))
            }
            Expr::Call(name, args, span) => self.call(name, args, *span, scope),
        }
    }

    fn binary(&self, op: BinOp, l: &Expr, r: &Expr, span: Span, scope: Scope) -> Result<Typed, CheckError> {
        if matches!(op, BinOp::And | BinOp::Or) {
            let (a, b) = (self.boolean(l, scope)?, self.boolean(r, scope)?);
            return Ok(Typed::Value(TExpr::Bin(op, Box::new(a), Box::new(b)), ValueType::Bool));
        }
        let (lt, rt) = (self.check(l, scope)?, self.check(r, scope)?);
        // Give literals the dimension of what they meet.
        let (a, at, b, bt) = match (lt, rt) {
            (Typed::Literal(x, xu), Typed::Literal(y, yu)) => {
                if op.is_comparison() || matches!(op, BinOp::Add | BinOp::Sub) {
                    let dim = xu.or(yu).map(unit_dimension).unwrap_or(Dimension::Plain);
                    let x = convert(x, xu, dim).map_err(|m| err(Code::H303, l.span(), m))?;
                    let y = convert(y, yu, dim).map_err(|m| err(Code::H303, r.span(), m))?;
                    (TExpr::Num(x), ValueType::Number(dim), TExpr::Num(y), ValueType::Number(dim))
                } else {
                    let (a, at) = self.value(l, scope)?;
                    let (b, bt) = self.value(r, scope)?;
                    (a, at, b, bt)
                }
            }
            (Typed::Value(a, at), Typed::Literal(y, yu)) => {
                let b = literal_for(at, y, yu, op, r.span())?;
                let bt = if matches!(op, BinOp::Mul | BinOp::Div) {
                    ValueType::Number(Dimension::Plain)
                } else {
                    at
                };
                (a, at, b, bt)
            }
            (Typed::Literal(x, xu), Typed::Value(b, bt)) => {
                let a = literal_for(bt, x, xu, op, l.span())?;
                let at = if matches!(op, BinOp::Mul | BinOp::Div) {
                    ValueType::Number(Dimension::Plain)
                } else {
                    bt
                };
                (a, at, b, bt)
            }
            (Typed::Value(a, at), Typed::Value(b, bt)) => (a, at, b, bt),
        };
        let bin = |a, b| TExpr::Bin(op, Box::new(a), Box::new(b));
        match op {
            BinOp::Eq | BinOp::Ne => {
                let compatible = match (at, bt) {
                    (ValueType::Number(x), ValueType::Number(y)) => {
                        x == y || x == Dimension::Plain || y == Dimension::Plain
                    }
                    (x, y) => x == y,
                };
                if !compatible {
                    return Err(mismatch(op, at, bt, span));
                }
                Ok(Typed::Value(bin(a, b), ValueType::Bool))
            }
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => match (at, bt) {
                (ValueType::Number(x), ValueType::Number(y))
                    if x == y || x == Dimension::Plain || y == Dimension::Plain =>
                {
                    Ok(Typed::Value(bin(a, b), ValueType::Bool))
                }
                _ => Err(mismatch(op, at, bt, span)),
            },
            BinOp::Add | BinOp::Sub => match (at, bt) {
                (ValueType::Number(x), ValueType::Number(y))
                    if x == y || y == Dimension::Plain || x == Dimension::Plain =>
                {
                    let d = if x == Dimension::Plain { y } else { x };
                    Ok(Typed::Value(bin(a, b), ValueType::Number(d)))
                }
                _ => Err(mismatch(op, at, bt, span)),
            },
            BinOp::Mul | BinOp::Div => match (at, bt) {
                (ValueType::Number(x), ValueType::Number(Dimension::Plain)) => {
                    Ok(Typed::Value(bin(a, b), ValueType::Number(x)))
                }
                (ValueType::Number(Dimension::Plain), ValueType::Number(y)) if op == BinOp::Mul => {
                    Ok(Typed::Value(bin(a, b), ValueType::Number(y)))
                }
                (ValueType::Number(x), ValueType::Number(y)) if op == BinOp::Div && x == y => {
                    Ok(Typed::Value(bin(a, b), ValueType::Number(Dimension::Plain)))
                }
                _ => Err(mismatch(op, at, bt, span)),
            },
            BinOp::And | BinOp::Or => unreachable_ok(),
        }
    }

    fn call(&self, name: &str, args: &[Expr], span: Span, scope: Scope) -> Result<Typed, CheckError> {
        let arity = |n: usize| -> Result<(), CheckError> {
            if args.len() == n {
                Ok(())
            } else {
                Err(err(
                    Code::H304,
                    span,
                    format!(
                        "`{name}` takes {n} argument{}, got {}",
                        if n == 1 { "" } else { "s" },
                        args.len()
                    ),
                ))
            }
        };
        let metric_arg = |e: &Expr| -> Result<(MetricId, ValueType), CheckError> {
            match e {
                Expr::Name(n, s) => {
                    scope.metric(n).map(|(id, d)| (id, d.ty)).ok_or_else(|| unknown_metric(n, scope, *s))
                }
                other => Err(err(Code::H304, other.span(), format!("`{name}` takes a metric name here"))),
            }
        };
        // A collection as the first argument makes it an aggregate over children.
        let collection = args.first().and_then(|a| match a {
            Expr::Name(n, _) => scope.collections().iter().find(|(c, _)| c == n).map(|(_, s)| *s),
            _ => None,
        });
        match (name, collection) {
            ("count" | "any" | "all", Some(child)) => {
                arity(2)?;
                let inner = self.boolean(&args[1], child)?;
                let func = match name {
                    "count" => CollectFn::Count,
                    "any" => CollectFn::Any,
                    _ => CollectFn::All,
                };
                let ty = if func == CollectFn::Count {
                    ValueType::Number(Dimension::Count)
                } else {
                    ValueType::Bool
                };
                Ok(Typed::Value(TExpr::Collect { func, scope: child, inner: Box::new(inner) }, ty))
            }
            ("max" | "min" | "avg" | "sum", Some(child)) => {
                arity(2)?;
                let (inner, ty) = self.value(&args[1], child)?;
                let ValueType::Number(_) = ty else {
                    return Err(err(
                        Code::H302,
                        args[1].span(),
                        format!("`{name}` needs a number, found {}", ty.describe()),
                    ));
                };
                let func = match name {
                    "max" => CollectFn::Max,
                    "min" => CollectFn::Min,
                    "avg" => CollectFn::Avg,
                    _ => CollectFn::Sum,
                };
                Ok(Typed::Value(TExpr::Collect { func, scope: child, inner: Box::new(inner) }, ty))
            }
            ("max" | "min" | "avg" | "sum", None) => {
                arity(2)?;
                let (metric, ty) = metric_arg(&args[0])?;
                let ValueType::Number(_) = ty else {
                    return Err(err(
                        Code::H302,
                        args[0].span(),
                        format!("`{name}` needs a numeric metric, found {}", ty.describe()),
                    ));
                };
                let duration_ms = duration_ms(&args[1]).ok_or_else(|| CheckError {
                    code: Code::H304,
                    message: format!("`{name}` needs a time window as its second argument"),
                    help: Some(format!("e.g. `{name}(rtt_ms, 30s)`")),
                    span: args[1].span(),
                })?;
                if duration_ms <= 0.0 {
                    return Err(err(Code::H304, args[1].span(), "the window must be longer than zero"));
                }
                let func = match name {
                    "max" => WindowFn::Max,
                    "min" => WindowFn::Min,
                    "avg" => WindowFn::Avg,
                    _ => WindowFn::Sum,
                };
                Ok(Typed::Value(TExpr::Window { func, metric, duration_ms }, ty))
            }
            ("present" | "missing", _) => {
                arity(1)?;
                let (metric, _) = metric_arg(&args[0])?;
                let t = TExpr::Present(metric);
                Ok(Typed::Value(if name == "missing" { TExpr::Not(Box::new(t)) } else { t }, ValueType::Bool))
            }
            ("coalesce", _) => {
                arity(2)?;
                let (a, at) = self.value(&args[0], scope)?;
                let b = match (self.check(&args[1], scope)?, at) {
                    (Typed::Literal(v, u), ValueType::Number(d)) => {
                        TExpr::Num(convert(v, u, d).map_err(|m| err(Code::H303, args[1].span(), m))?)
                    }
                    (Typed::Value(b, bt), _) if bt == at => b,
                    _ => {
                        return Err(err(
                            Code::H302,
                            args[1].span(),
                            format!("the fallback must be {}", at.describe()),
                        ));
                    }
                };
                Ok(Typed::Value(TExpr::Coalesce(Box::new(a), Box::new(b)), at))
            }
            ("abs", _) => {
                arity(1)?;
                match self.check(&args[0], scope)? {
                    Typed::Literal(v, u) => Ok(Typed::Literal(v.abs(), u)),
                    Typed::Value(t, ValueType::Number(d)) => {
                        Ok(Typed::Value(TExpr::Abs(Box::new(t)), ValueType::Number(d)))
                    }
                    Typed::Value(_, ty) => Err(err(
                        Code::H302,
                        args[0].span(),
                        format!("`abs` needs a number, found {}", ty.describe()),
                    )),
                }
            }
            ("count" | "any" | "all", None) => Err(CheckError {
                code: Code::H304,
                message: format!("`{name}` needs a collection as its first argument"),
                help: Some(if scope.collections().is_empty() {
                    format!(
                        "the {} scope has no collections; use a participant or conference rule",
                        scope.as_str()
                    )
                } else {
                    format!(
                        "collections here: {}",
                        scope.collections().iter().map(|(c, _)| *c).collect::<Vec<_>>().join(", ")
                    )
                }),
                span,
            }),
            _ => Err(CheckError {
                code: Code::H304,
                message: format!("unknown function `{name}`"),
                help: did_you_mean(
                    name,
                    [
                        "avg", "max", "min", "sum", "count", "any", "all", "present", "missing", "coalesce",
                        "abs",
                    ]
                    .into_iter(),
                )
                .map(|s| format!("did you mean `{s}`?")),
                span,
            }),
        }
    }
}

fn unreachable_ok() -> Result<Typed, CheckError> {
    Err(err(Code::H302, Span::default(), "internal: logical operator reached arithmetic"))
}

fn literal_for(
    ty: ValueType,
    v: f64,
    u: Option<LiteralUnit>,
    op: BinOp,
    span: Span,
) -> Result<TExpr, CheckError> {
    match ty {
        ValueType::Number(d) if matches!(op, BinOp::Mul | BinOp::Div) => {
            if u.is_some() {
                return Err(err(Code::H303, span, "scale by a plain number (no unit)"));
            }
            let _ = d;
            Ok(TExpr::Num(v))
        }
        ValueType::Number(d) => convert(v, u, d).map(TExpr::Num).map_err(|m| err(Code::H303, span, m)),
        other => Err(err(Code::H302, span, format!("a number cannot meet {}", other.describe()))),
    }
}

fn mismatch(op: BinOp, a: ValueType, b: ValueType, span: Span) -> CheckError {
    let code = match (a, b) {
        (ValueType::Number(_), ValueType::Number(_)) => Code::H303,
        _ => Code::H302,
    };
    err(code, span, format!("`{}` cannot combine {} with {}", op.as_str(), a.describe(), b.describe()))
}

fn unknown_metric(name: &str, scope: Scope, span: Span) -> CheckError {
    let suggestion = did_you_mean(name, scope.metrics().iter().map(|m| m.name));
    let elsewhere: Vec<&str> =
        Scope::ALL.iter().filter(|s| **s != scope && s.metric(name).is_some()).map(|s| s.as_str()).collect();
    let help = match (suggestion, elsewhere.is_empty()) {
        (Some(s), _) => Some(format!("did you mean `{s}`?")),
        (None, false) => {
            Some(format!("`{name}` exists in the {} scope, not in {}", elsewhere.join(", "), scope.as_str()))
        }
        (None, true) => Some("`hopscope rules metrics` lists every metric".into()),
    };
    CheckError {
        code: Code::H301,
        message: format!("unknown metric `{name}` in the {} scope", scope.as_str()),
        help,
        span,
    }
}

/// What a boolean expression is known to evaluate to regardless of data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Constness {
    /// Always true.
    AlwaysTrue,
    /// Never true.
    NeverTrue,
    /// Depends on the data.
    Depends,
}

/// Finds conditions that can never (or always) hold, from constants and metric ranges.
pub fn constness(expr: &TExpr, scope: Scope) -> Constness {
    use Constness::*;
    match expr {
        TExpr::Bool(true) => AlwaysTrue,
        TExpr::Bool(false) => NeverTrue,
        TExpr::Not(inner) => match constness(inner, scope) {
            AlwaysTrue => NeverTrue,
            NeverTrue => AlwaysTrue,
            Depends => Depends,
        },
        TExpr::Bin(BinOp::And, a, b) => match (constness(a, scope), constness(b, scope)) {
            (NeverTrue, _) | (_, NeverTrue) => NeverTrue,
            (AlwaysTrue, AlwaysTrue) => AlwaysTrue,
            _ => Depends,
        },
        TExpr::Bin(BinOp::Or, a, b) => match (constness(a, scope), constness(b, scope)) {
            (AlwaysTrue, _) | (_, AlwaysTrue) => AlwaysTrue,
            (NeverTrue, NeverTrue) => NeverTrue,
            _ => Depends,
        },
        TExpr::Bin(op, a, b) if op.is_comparison() => {
            let range = |e: &TExpr| -> Option<(f64, f64)> {
                match e {
                    TExpr::Num(v) => Some((*v, *v)),
                    TExpr::Metric(id) | TExpr::Window { metric: id, .. } => {
                        scope.metrics().get(usize::from(id.0)).and_then(|m| match m.ty {
                            ValueType::Number(_) => Some(m.range),
                            _ => None,
                        })
                    }
                    _ => None,
                }
            };
            let (Some((alo, ahi)), Some((blo, bhi))) = (range(a), range(b)) else { return Depends };
            // For constants on both sides this folds exactly; for metric ranges it finds
            // comparisons outside what the metric can ever be.
            let always = match op {
                BinOp::Lt => ahi < blo,
                BinOp::Le => ahi <= blo,
                BinOp::Gt => alo > bhi,
                BinOp::Ge => alo >= bhi,
                BinOp::Eq => alo == ahi && blo == bhi && alo == blo,
                BinOp::Ne => ahi < blo || alo > bhi,
                _ => false,
            };
            let never = match op {
                BinOp::Lt => alo >= bhi,
                BinOp::Le => alo > bhi,
                BinOp::Gt => ahi <= blo,
                BinOp::Ge => ahi < blo,
                BinOp::Eq => ahi < blo || alo > bhi,
                BinOp::Ne => alo == ahi && blo == bhi && alo == blo,
                _ => false,
            };
            if always {
                AlwaysTrue
            } else if never {
                NeverTrue
            } else {
                Depends
            }
        }
        _ => Depends,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::parser::parse;

    fn ok(text: &str, scope: Scope) -> TExpr {
        let e = parse(text).expect("parses");
        check(&e, scope, &Params::new()).unwrap_or_else(|e| panic!("{text}: {}", e.message)).0
    }

    fn fails(text: &str, scope: Scope) -> CheckError {
        let e = parse(text).expect("parses");
        check(&e, scope, &Params::new()).expect_err(text)
    }

    #[test]
    fn units_convert_to_the_metric_unit() {
        let t = ok("rtt_ms > 0.4s", Scope::Stream);
        assert!(matches!(t, TExpr::Bin(BinOp::Gt, _, ref b) if **b == TExpr::Num(400.0)));
        let t = ok("bitrate_kbps < 2Mbps", Scope::Stream);
        assert!(matches!(t, TExpr::Bin(BinOp::Lt, _, ref b) if **b == TExpr::Num(2000.0)));
        let t = ok("audio_level < 5%", Scope::Stream);
        assert!(matches!(t, TExpr::Bin(BinOp::Lt, _, ref b) if **b == TExpr::Num(0.05)));
    }

    #[test]
    fn mistakes_are_caught_with_codes_and_help() {
        let e = fails("los_percent > 5", Scope::Stream);
        assert_eq!(e.code, Code::H301);
        assert_eq!(e.help.as_deref(), Some("did you mean `loss_percent`?"));
        let e = fails("rtt_ms > 400kbps", Scope::Stream);
        assert_eq!(e.code, Code::H303);
        let e = fails("kind > 3", Scope::Stream);
        assert_eq!(e.code, Code::H302);
        let e = fails("ice_state == \"failed\"", Scope::Stream);
        assert!(e.help.as_deref().is_some_and(|h| h.contains("peer_connection")), "{:?}", e.help);
        let e = fails("avg(rtt_ms, 5) > 3", Scope::Stream);
        assert_eq!(e.code, Code::H304);
        let e = fails("count(streams, loss_percent > 5) > 1", Scope::Stream);
        assert!(e.help.as_deref().is_some_and(|h| h.contains("no collections")));
    }

    #[test]
    fn collections_check_inner_expressions_in_the_child_scope() {
        let t = ok("count(participants, heard_mos < 3.1) >= 2", Scope::Conference);
        assert!(
            matches!(t, TExpr::Bin(BinOp::Ge, ref a, _) if matches!(**a, TExpr::Collect { func: CollectFn::Count, scope: Scope::Participant, .. }))
        );
        let e = fails("any(streams, ice_state == \"failed\")", Scope::Participant);
        assert_eq!(e.code, Code::H301);
    }

    #[test]
    fn impossible_and_trivial_conditions_are_spotted() {
        let never = ok("loss_percent > 150", Scope::Stream);
        assert_eq!(constness(&never, Scope::Stream), Constness::NeverTrue);
        let always = ok("loss_percent >= 0 || jitter_ms > 30", Scope::Stream);
        assert_eq!(constness(&always, Scope::Stream), Constness::AlwaysTrue);
        let fine = ok("loss_percent > 5 && !(kind == \"video\")", Scope::Stream);
        assert_eq!(constness(&fine, Scope::Stream), Constness::Depends);
        let folded = ok("1 > 2 || mos < 1", Scope::Stream);
        assert_eq!(constness(&folded, Scope::Stream), Constness::NeverTrue);
    }
}
