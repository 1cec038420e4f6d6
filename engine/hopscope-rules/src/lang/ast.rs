//! Untyped syntax tree, straight from the parser.

/// Byte range in the expression text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Span {
    /// Start byte.
    pub start: usize,
    /// End byte (exclusive).
    pub end: usize,
}

impl Span {
    /// The smallest span covering both.
    pub fn join(self, other: Span) -> Span {
        Span { start: self.start.min(other.start), end: self.end.max(other.end) }
    }
}

/// A literal unit written after a number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LiteralUnit {
    /// `ms`
    Millis,
    /// `s`
    Seconds,
    /// `min`
    Minutes,
    /// `h`
    Hours,
    /// `d` (days)
    Days,
    /// `%`
    Percent,
    /// `bps`
    Bps,
    /// `kbps`
    Kbps,
    /// `Mbps`
    Mbps,
    /// `fps`
    Fps,
    /// `pps` (packets per second)
    Pps,
}

impl LiteralUnit {
    /// Parses a unit suffix.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "ms" => Self::Millis,
            "s" => Self::Seconds,
            "min" => Self::Minutes,
            "h" => Self::Hours,
            "d" => Self::Days,
            "%" => Self::Percent,
            "bps" => Self::Bps,
            "kbps" => Self::Kbps,
            "Mbps" | "mbps" => Self::Mbps,
            "fps" => Self::Fps,
            "pps" => Self::Pps,
            _ => return None,
        })
    }

    /// How it is written.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Millis => "ms",
            Self::Seconds => "s",
            Self::Minutes => "min",
            Self::Hours => "h",
            Self::Days => "d",
            Self::Percent => "%",
            Self::Bps => "bps",
            Self::Kbps => "kbps",
            Self::Mbps => "Mbps",
            Self::Fps => "fps",
            Self::Pps => "pps",
        }
    }
}

/// Binary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    /// `&&`, `and`
    And,
    /// `||`, `or`
    Or,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
}

impl BinOp {
    /// How it is written.
    pub fn as_str(self) -> &'static str {
        match self {
            BinOp::And => "&&",
            BinOp::Or => "||",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
        }
    }

    /// Whether it compares.
    pub fn is_comparison(self) -> bool {
        matches!(self, BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge)
    }
}

/// An expression as written.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// A number, with its unit if one was written.
    Number(f64, Option<LiteralUnit>, Span),
    /// A string.
    Str(String, Span),
    /// `true` / `false`.
    Bool(bool, Span),
    /// A metric or attribute name.
    Name(String, Span),
    /// `$param`.
    Param(String, Span),
    /// `!x`, `not x`.
    Not(Box<Expr>, Span),
    /// `-x`.
    Neg(Box<Expr>, Span),
    /// `a op b`.
    Binary(BinOp, Box<Expr>, Box<Expr>, Span),
    /// `x in ("a", "b")`.
    In(Box<Expr>, Vec<Expr>, Span),
    /// `f(args)`.
    Call(String, Vec<Expr>, Span),
}

impl Expr {
    /// Where it is.
    pub fn span(&self) -> Span {
        match self {
            Expr::Number(_, _, s)
            | Expr::Str(_, s)
            | Expr::Bool(_, s)
            | Expr::Name(_, s)
            | Expr::Param(_, s)
            | Expr::Not(_, s)
            | Expr::Neg(_, s)
            | Expr::Binary(_, _, _, s)
            | Expr::In(_, _, s)
            | Expr::Call(_, _, s) => *s,
        }
    }
}
