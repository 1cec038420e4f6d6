//! The condition language: `loss_percent > 5 && kind == "audio"`,
//! `avg(rtt_ms, 30s) > 400ms`, `count(streams, loss_percent > $threshold) >= 3`.
//!
//! Parsing gives an untyped [`ast::Expr`]; [`check`] resolves names against a scope's
//! metric catalogue, converts literal units and types every node, so a rule that loads
//! cannot fail at evaluation for a type or unit reason.

pub mod ast;
pub mod check;
pub mod lexer;
pub mod parser;
