//! Recursive-descent parser with precedence climbing.
//!
//! Precedence, loosest first: `||`/`or`, `&&`/`and`, `!`/`not`, comparisons and `in`,
//! `+ -`, `* /`, unary `-`, primaries.

use super::ast::{BinOp, Expr, Span};
use super::lexer::{LexError, Token, lex};

/// A parse error.
#[derive(Clone, Debug, PartialEq)]
pub struct ParseError {
    /// What.
    pub message: String,
    /// Where.
    pub span: Span,
}

impl From<LexError> for ParseError {
    fn from(e: LexError) -> Self {
        ParseError { message: e.message, span: e.span }
    }
}

/// Deepest nesting accepted: keeps hostile input from exhausting the stack.
const MAX_DEPTH: usize = 64;

/// Parses an expression.
pub fn parse(text: &str) -> Result<Expr, ParseError> {
    let tokens = lex(text)?;
    if tokens.is_empty() {
        return Err(ParseError { message: "empty expression".into(), span: Span::default() });
    }
    let mut p = Parser { tokens, pos: 0, end: text.len(), depth: 0 };
    let e = p.or()?;
    if let Some((t, span)) = p.tokens.get(p.pos) {
        return Err(ParseError {
            message: format!("unexpected {} after a complete expression", describe(t)),
            span: *span,
        });
    }
    Ok(e)
}

fn describe(t: &Token) -> String {
    match t {
        Token::Number(n, _) => format!("number `{n}`"),
        Token::Str(s) => format!("string \"{s}\""),
        Token::Ident(i) => format!("`{i}`"),
        Token::Param(p) => format!("`${p}`"),
        Token::Sym(s) => format!("`{s}`"),
    }
}

struct Parser {
    tokens: Vec<(Token, Span)>,
    pos: usize,
    end: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos).map(|(t, _)| t)
    }

    fn span_here(&self) -> Span {
        self.tokens.get(self.pos).map(|(_, s)| *s).unwrap_or(Span { start: self.end, end: self.end })
    }

    fn eat_sym(&mut self, sym: &str) -> bool {
        if matches!(self.peek(), Some(Token::Sym(s)) if *s == sym) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn eat_word(&mut self, word: &str) -> bool {
        if matches!(self.peek(), Some(Token::Ident(s)) if s == word) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect_sym(&mut self, sym: &str) -> Result<Span, ParseError> {
        let span = self.span_here();
        if self.eat_sym(sym) {
            Ok(span)
        } else {
            let found = self.peek().map(describe).unwrap_or_else(|| "the end".into());
            Err(ParseError { message: format!("expected `{sym}`, found {found}"), span })
        }
    }

    fn deeper(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError {
                message: format!("expression nested deeper than {MAX_DEPTH} levels"),
                span: self.span_here(),
            });
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Expr, ParseError> {
        self.deeper()?;
        let mut left = self.and()?;
        while self.eat_sym("||") || self.eat_word("or") {
            let right = self.and()?;
            let span = left.span().join(right.span());
            left = Expr::Binary(BinOp::Or, Box::new(left), Box::new(right), span);
        }
        self.depth -= 1;
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.not()?;
        while self.eat_sym("&&") || self.eat_word("and") {
            let right = self.not()?;
            let span = left.span().join(right.span());
            left = Expr::Binary(BinOp::And, Box::new(left), Box::new(right), span);
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, ParseError> {
        let start = self.span_here();
        if self.eat_sym("!") || self.eat_word("not") {
            self.deeper()?;
            let inner = self.not()?;
            self.depth -= 1;
            let span = start.join(inner.span());
            return Ok(Expr::Not(Box::new(inner), span));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, ParseError> {
        let left = self.sum()?;
        let op = match self.peek() {
            Some(Token::Sym("==")) => BinOp::Eq,
            Some(Token::Sym("!=")) => BinOp::Ne,
            Some(Token::Sym("<")) => BinOp::Lt,
            Some(Token::Sym("<=")) => BinOp::Le,
            Some(Token::Sym(">")) => BinOp::Gt,
            Some(Token::Sym(">=")) => BinOp::Ge,
            Some(Token::Ident(w)) if w == "in" => {
                self.pos += 1;
                let open = self.span_here();
                let close = if self.eat_sym("(") {
                    ")"
                } else if self.eat_sym("[") {
                    "]"
                } else {
                    return Err(ParseError { message: "expected `(` or `[` after `in`".into(), span: open });
                };
                let mut items = Vec::new();
                loop {
                    items.push(self.sum()?);
                    if !self.eat_sym(",") {
                        break;
                    }
                }
                let end = self.expect_sym(close)?;
                let span = left.span().join(end);
                return Ok(Expr::In(Box::new(left), items, span));
            }
            _ => return Ok(left),
        };
        self.pos += 1;
        let right = self.sum()?;
        if matches!(self.peek(), Some(Token::Sym("==" | "!=" | "<" | "<=" | ">" | ">="))) {
            return Err(ParseError {
                message: "comparisons do not chain; combine them with `&&`".into(),
                span: self.span_here(),
            });
        }
        let span = left.span().join(right.span());
        Ok(Expr::Binary(op, Box::new(left), Box::new(right), span))
    }

    fn sum(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.product()?;
        loop {
            let op = if self.eat_sym("+") {
                BinOp::Add
            } else if self.eat_sym("-") {
                BinOp::Sub
            } else {
                break;
            };
            let right = self.product()?;
            let span = left.span().join(right.span());
            left = Expr::Binary(op, Box::new(left), Box::new(right), span);
        }
        Ok(left)
    }

    fn product(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.unary()?;
        loop {
            let op = if self.eat_sym("*") {
                BinOp::Mul
            } else if self.eat_sym("/") {
                BinOp::Div
            } else {
                break;
            };
            let right = self.unary()?;
            let span = left.span().join(right.span());
            left = Expr::Binary(op, Box::new(left), Box::new(right), span);
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        let start = self.span_here();
        if self.eat_sym("-") {
            self.deeper()?;
            let inner = self.unary()?;
            self.depth -= 1;
            let span = start.join(inner.span());
            return Ok(Expr::Neg(Box::new(inner), span));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        let span = self.span_here();
        let Some((token, _)) = self.tokens.get(self.pos).cloned() else {
            return Err(ParseError { message: "the expression ends too early".into(), span });
        };
        self.pos += 1;
        match token {
            Token::Number(n, u) => Ok(Expr::Number(n, u, span)),
            Token::Str(s) => Ok(Expr::Str(s, span)),
            Token::Param(p) => Ok(Expr::Param(p, span)),
            Token::Ident(name) => match name.as_str() {
                "true" => Ok(Expr::Bool(true, span)),
                "false" => Ok(Expr::Bool(false, span)),
                _ if self.eat_sym("(") => {
                    self.deeper()?;
                    let mut args = Vec::new();
                    if !self.eat_sym(")") {
                        loop {
                            args.push(self.or()?);
                            if !self.eat_sym(",") {
                                break;
                            }
                        }
                        self.expect_sym(")")?;
                    }
                    self.depth -= 1;
                    let end = self.tokens.get(self.pos.saturating_sub(1)).map(|(_, s)| *s).unwrap_or(span);
                    Ok(Expr::Call(name, args, span.join(end)))
                }
                _ => Ok(Expr::Name(name, span)),
            },
            Token::Sym("(") => {
                self.deeper()?;
                let inner = self.or()?;
                self.depth -= 1;
                self.expect_sym(")")?;
                Ok(inner)
            }
            Token::Sym(s) => Err(ParseError { message: format!("unexpected `{s}`"), span }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_and_shapes() {
        let e = parse("a > 1 && b < 2 || !c").expect("parses");
        let Expr::Binary(BinOp::Or, left, right, _) = e else { panic!("or at the top") };
        assert!(matches!(*left, Expr::Binary(BinOp::And, ..)));
        assert!(matches!(*right, Expr::Not(..)));
        let e = parse("avg(rtt_ms, 30s) > 400 and kind in (\"audio\", 'video')").expect("parses");
        assert!(matches!(e, Expr::Binary(BinOp::And, ..)));
        let e = parse("a + b * 2 > 3").expect("parses");
        let Expr::Binary(BinOp::Gt, sum, _, _) = e else { panic!() };
        assert!(matches!(*sum, Expr::Binary(BinOp::Add, ..)));
    }

    #[test]
    fn errors_point_at_the_problem() {
        let e = parse("loss_percent > ").expect_err("incomplete");
        assert!(e.message.contains("ends too early"), "{}", e.message);
        let e = parse("1 < x < 3").expect_err("chained");
        assert!(e.message.contains("do not chain"));
        let e = parse("avg(rtt_ms, 30s").expect_err("unclosed");
        assert!(e.message.contains("expected `)`"), "{}", e.message);
        let deep = format!("{}x{}", "(".repeat(500), ")".repeat(500));
        let e = parse(&deep).expect_err("too deep");
        assert!(e.message.contains("nested deeper"));
    }
}
