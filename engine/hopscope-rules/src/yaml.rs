//! YAML with positions: every node knows its line and column, so a rule that is valid YAML
//! but wrong in meaning can be reported at the exact place.
//!
//! Anchors and aliases are refused outright: rule files gain nothing from them, and they
//! are how YAML bombs expand.

use std::sync::Arc;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::diagnostic::{Code, Diagnostic, Position};

/// Largest rule file accepted.
pub const MAX_FILE_BYTES: usize = 1024 * 1024;
/// Deepest nesting accepted.
const MAX_DEPTH: usize = 32;

/// A YAML node with where it starts.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// Where the node starts.
    pub pos: Position,
    /// What it is.
    pub kind: NodeKind,
}

/// Node contents.
#[derive(Clone, Debug, PartialEq)]
pub enum NodeKind {
    /// A scalar as written, and whether it was quoted (quoted scalars are always strings).
    Scalar(String, bool),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in document order (duplicate keys are reported by the reader).
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The scalar text, if a scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar(s, _) => Some(s),
            _ => None,
        }
    }

    /// Whether it is a plain `null` / `~` / empty scalar.
    pub fn is_null(&self) -> bool {
        matches!(&self.kind, NodeKind::Scalar(s, false) if s.is_empty() || s == "~" || s == "null")
    }

    /// A short name of the node's shape, for messages.
    pub fn shape(&self) -> &'static str {
        match &self.kind {
            NodeKind::Scalar(..) => "a single value",
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a mapping",
        }
    }
}

struct Builder {
    stack: Vec<(Node, Option<Node>)>,
    docs: Vec<Node>,
    error: Option<(Position, String)>,
}

fn pos(m: Marker) -> Position {
    Position { line: m.line(), column: m.col() + 1 }
}

impl Builder {
    fn push_value(&mut self, node: Node) {
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some((parent, pending_key)) => match &mut parent.kind {
                NodeKind::Seq(items) => items.push(node),
                NodeKind::Map(entries) => match pending_key.take() {
                    None => *pending_key = Some(node),
                    Some(key) => entries.push((key, node)),
                },
                NodeKind::Scalar(..) => {}
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        match ev {
            Event::Alias(_) => {
                self.error = Some((pos(mark), "aliases (`*name`) are not allowed in rule files".into()));
            }
            Event::Scalar(value, style, anchor, _) => {
                if anchor != 0 {
                    self.error = Some((pos(mark), "anchors (`&name`) are not allowed in rule files".into()));
                    return;
                }
                let quoted = !matches!(style, TScalarStyle::Plain);
                self.push_value(Node { pos: pos(mark), kind: NodeKind::Scalar(value, quoted) });
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if anchor != 0 {
                    self.error = Some((pos(mark), "anchors (`&name`) are not allowed in rule files".into()));
                    return;
                }
                if self.stack.len() >= MAX_DEPTH {
                    self.error = Some((pos(mark), format!("nested deeper than {MAX_DEPTH} levels")));
                    return;
                }
                let kind = if matches!(ev, Event::SequenceStart(..)) {
                    NodeKind::Seq(Vec::new())
                } else {
                    NodeKind::Map(Vec::new())
                };
                self.stack.push((Node { pos: pos(mark), kind }, None));
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((node, _)) = self.stack.pop() {
                    self.push_value(node);
                }
            }
            _ => {}
        }
    }
}

/// Parses one YAML document with positions.
pub fn parse(file: &Arc<str>, text: &str) -> Result<Node, Diagnostic> {
    if text.len() > MAX_FILE_BYTES {
        return Err(Diagnostic::error(
            Code::H206,
            file,
            Position { line: 1, column: 1 },
            format!("the file is {} bytes, over the {MAX_FILE_BYTES}-byte limit for rule files", text.len()),
        )
        .with_help("split the rules over several files"));
    }
    let mut builder = Builder { stack: Vec::new(), docs: Vec::new(), error: None };
    let mut parser = Parser::new_from_str(text);
    if let Err(e) = parser.load(&mut builder, false) {
        let m = e.marker();
        return Err(Diagnostic::error(
            Code::H201,
            file,
            pos(*m),
            format!("this is not valid YAML: {}", e.info()),
        ));
    }
    if let Some((p, message)) = builder.error {
        return Err(Diagnostic::error(Code::H205, file, p, message).with_help("repeat the value instead"));
    }
    builder.docs.into_iter().next().ok_or_else(|| {
        Diagnostic::error(
            Code::H203,
            file,
            Position { line: 1, column: 1 },
            "the file is empty; expected `rules:` with a list of rules",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f() -> Arc<str> {
        Arc::from("t.yaml")
    }

    #[test]
    fn positions_are_one_based() {
        let n = parse(&f(), "rules:\n  - id: x\n    condition: loss_percent > 5\n").expect("parses");
        let NodeKind::Map(top) = &n.kind else { panic!("map") };
        let NodeKind::Seq(rules) = &top[0].1.kind else { panic!("seq") };
        let NodeKind::Map(rule) = &rules[0].kind else { panic!("map") };
        let (k, v) = &rule[1];
        assert_eq!(k.as_str(), Some("condition"));
        assert_eq!(v.pos, Position { line: 3, column: 16 });
    }

    #[test]
    fn bombs_and_broken_yaml_are_refused() {
        let bomb = "a: &a [x, x, x]\nb: &b [*a, *a, *a]\nc: [*b, *b, *b]\n";
        let e = parse(&f(), bomb).expect_err("aliases refused");
        assert_eq!(e.code, Code::H205);
        let e = parse(&f(), "rules: [\n  - id: x\n").expect_err("broken");
        assert_eq!(e.code, Code::H201);
        assert!(e.position.line >= 2);
        let deep = format!("{}x{}", "[".repeat(100), "]".repeat(100));
        assert!(parse(&f(), &deep).is_err());
    }
}
