//! Tokens of the condition language.

use super::ast::{LiteralUnit, Span};

/// A token.
#[derive(Clone, Debug, PartialEq)]
pub enum Token {
    /// A number with an optional unit.
    Number(f64, Option<LiteralUnit>),
    /// A quoted string.
    Str(String),
    /// An identifier (metric, function, keyword).
    Ident(String),
    /// `$name`.
    Param(String),
    /// Punctuation and operators.
    Sym(&'static str),
}

/// A lexing error.
#[derive(Clone, Debug, PartialEq)]
pub struct LexError {
    /// What.
    pub message: String,
    /// Where.
    pub span: Span,
}

const SYMBOLS: [&str; 18] =
    ["&&", "||", "==", "!=", "<=", ">=", "<", ">", "!", "(", ")", ",", "+", "-", "*", "/", "[", "]"];

/// Splits an expression into tokens with their spans.
pub fn lex(text: &str) -> Result<Vec<(Token, Span)>, LexError> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        if c.is_ascii_digit() || (c == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.' || bytes[i] == b'_') {
                i += 1;
            }
            // Exponent.
            if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
                let save = i;
                i += 1;
                if i < bytes.len() && (bytes[i] == b'+' || bytes[i] == b'-') {
                    i += 1;
                }
                if i < bytes.len() && bytes[i].is_ascii_digit() {
                    while i < bytes.len() && bytes[i].is_ascii_digit() {
                        i += 1;
                    }
                } else {
                    i = save;
                }
            }
            let digits: String = text[start..i].chars().filter(|c| *c != '_').collect();
            let value: f64 = digits.parse().map_err(|_| LexError {
                message: format!("`{}` is not a number", &text[start..i]),
                span: Span { start, end: i },
            })?;
            // Unit suffix.
            let unit_start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphabetic() || bytes[i] == b'%') {
                i += 1;
            }
            let unit = if unit_start == i {
                None
            } else {
                let suffix = &text[unit_start..i];
                Some(LiteralUnit::parse(suffix).ok_or_else(|| LexError {
                    message: format!("unknown unit `{suffix}`"),
                    span: Span { start: unit_start, end: i },
                })?)
            };
            out.push((Token::Number(value, unit), Span { start, end: i }));
            continue;
        }
        if c == b'"' || c == b'\'' {
            let quote = c;
            i += 1;
            let mut s = String::new();
            loop {
                let Some(&b) = bytes.get(i) else {
                    return Err(LexError {
                        message: "unterminated string".into(),
                        span: Span { start, end: bytes.len() },
                    });
                };
                if b == quote {
                    i += 1;
                    break;
                }
                if b == b'\\' && i + 1 < bytes.len() {
                    i += 1;
                }
                let ch = text[i..].chars().next().unwrap_or('\u{fffd}');
                s.push(ch);
                i += ch.len_utf8();
            }
            out.push((Token::Str(s), Span { start, end: i }));
            continue;
        }
        if c == b'$' || c.is_ascii_alphabetic() || c == b'_' {
            let name_start = if c == b'$' { i + 1 } else { i };
            i = name_start;
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'.')
            {
                i += 1;
            }
            let name = text[name_start..i].to_string();
            if c == b'$' {
                if name.is_empty() {
                    return Err(LexError {
                        message: "`$` must be followed by a parameter name".into(),
                        span: Span { start, end: i },
                    });
                }
                out.push((Token::Param(name), Span { start, end: i }));
            } else {
                out.push((Token::Ident(name), Span { start, end: i }));
            }
            continue;
        }
        match SYMBOLS.iter().find(|s| text[i..].starts_with(**s)) {
            Some(sym) => {
                i += sym.len();
                out.push((Token::Sym(sym), Span { start, end: i }));
            }
            None => {
                let ch = text[i..].chars().next().unwrap_or('?');
                let hint = match ch {
                    '=' => " (did you mean `==`?)",
                    '&' => " (did you mean `&&`?)",
                    '|' => " (did you mean `||`?)",
                    _ => "",
                };
                return Err(LexError {
                    message: format!("unexpected character `{ch}`{hint}"),
                    span: Span { start, end: i + ch.len_utf8() },
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_with_units() {
        let t = lex("rtt_ms > 0.4s && loss_percent >= 5% || x < 2_500kbps").expect("lexes");
        let nums: Vec<&Token> = t.iter().map(|(t, _)| t).filter(|t| matches!(t, Token::Number(..))).collect();
        assert_eq!(
            nums,
            vec![
                &Token::Number(0.4, Some(LiteralUnit::Seconds)),
                &Token::Number(5.0, Some(LiteralUnit::Percent)),
                &Token::Number(2500.0, Some(LiteralUnit::Kbps)),
            ]
        );
    }

    #[test]
    fn helpful_errors() {
        let e = lex("loss_percent = 5").expect_err("single =");
        assert!(e.message.contains("`==`"));
        assert_eq!(e.span.start, 13);
        let e = lex("rtt_ms > 5parsecs").expect_err("unit");
        assert!(e.message.contains("unknown unit `parsecs`"));
        assert!(lex("kind == \"audio").is_err());
    }
}
