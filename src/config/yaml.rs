//! YAML (and JSON, which we read as YAML) → a tree of [`Node`]s that remember their spans.
//!
//! We build our own tree from `saphyr-parser` events instead of using a serde YAML crate because
//! every later stage (variables, validation) must point at a line and column, and because the
//! Serverless dialect needs rules a generic loader does not apply: duplicate keys are errors,
//! `<<` merge keys work, and CloudFormation's short tags (`!Ref X`, `!GetAtt A.B`, `!Sub …`) are
//! read into their long forms (`{Ref: X}`, `{Fn::GetAtt: [A, B]}`, `{Fn::Sub: …}`) as Serverless
//! reads them, the tag's span kept on the function's key.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Tag};

use crate::diag::{FileId, Pos, Problem, Sources, Span};

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: String,
    pub key_span: Span,
    pub value: Node,
}

impl Node {
    pub fn new(value: Value, span: Span) -> Node {
        Node { value, span }
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|e| e.key == key).map(|e| &e.value),
            Value::Seq(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        }
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        match &mut self.value {
            Value::Map(entries) => entries
                .iter_mut()
                .find(|e| e.key == key)
                .map(|e| &mut e.value),
            Value::Seq(items) => key.parse::<usize>().ok().and_then(|i| items.get_mut(i)),
            _ => None,
        }
    }

    pub fn entry(&self, key: &str) -> Option<&Entry> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|e| e.key == key),
            _ => None,
        }
    }

    pub fn at_path<S: AsRef<str>>(&self, path: &[S]) -> Option<&Node> {
        path.iter().try_fold(self, |n, k| n.get(k.as_ref()))
    }

    pub fn at_path_mut<S: AsRef<str>>(&mut self, path: &[S]) -> Option<&mut Node> {
        path.iter().try_fold(self, |n, k| n.get_mut(k.as_ref()))
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A scalar as text, the way it would be interpolated into a string.
    pub fn scalar_text(&self) -> Option<String> {
        match &self.value {
            Value::Null => Some("null".into()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(format_float(*f)),
            Value::Str(s) => Some(s.clone()),
            Value::Seq(_) | Value::Map(_) => None,
        }
    }

    /// What kind of value this is, in the words error messages use.
    pub fn kind(&self) -> &'static str {
        match &self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    /// A JSON value as a tree, every node at `span` (where the text it came from is).
    pub fn from_json(v: &serde_json::Value, span: Span) -> Node {
        use serde_json::Value as J;
        let value = match v {
            J::Null => Value::Null,
            J::Bool(b) => Value::Bool(*b),
            J::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            J::String(s) => Value::Str(s.clone()),
            J::Array(items) => Value::Seq(items.iter().map(|i| Node::from_json(i, span)).collect()),
            J::Object(m) => Value::Map(
                m.iter()
                    .map(|(k, v)| Entry {
                        key: k.clone(),
                        key_span: span,
                        value: Node::from_json(v, span),
                    })
                    .collect(),
            ),
        };
        Node::new(value, span)
    }

    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|e| (e.key.clone(), e.value.to_json()))
                    .collect(),
            ),
        }
    }
}

pub fn format_float(f: f64) -> String {
    if f.is_nan() {
        ".nan".into()
    } else if f.is_infinite() {
        if f > 0.0 {
            ".inf".into()
        } else {
            "-.inf".into()
        }
    } else {
        format!("{f:?}")
    }
}

/// Parses one file of `sources` into a tree. The document must be a single mapping.
pub fn parse(sources: &Sources, file: FileId) -> Result<Node, Problem> {
    let text = &sources.get(file).text;
    if text.contains('\0') {
        let (line, col) = position_of(text, text.find('\0').unwrap_or(0));
        return Err(Problem::error(
            "this is not a text file (it contains NUL bytes)",
            Some(Span::point(file, line, col)),
        )
        .help("point --config at a serverless.yml, serverless.yaml or serverless.json"));
    }
    let root = run_lenient(file, text)?;
    match root {
        None => Err(
            Problem::error("the config file is empty", Some(Span::point(file, 1, 1)))
                .help("a service needs at least `service:`, `provider:` and `functions:`"),
        ),
        Some(n) => Ok(n),
    }
}

/// Parses a whole file as any YAML value (used for `${file(…)}`, whose files need not be maps).
pub fn parse_any(sources: &Sources, file: FileId) -> Result<Option<Node>, Problem> {
    run_lenient(file, &sources.get(file).text)
}

/// Closing brackets a parse may re-indent before giving up (each costs one more parse).
const MAX_REINDENTS: usize = 64;

/// Parses `text`; a flow collection's closing `]` or `}` on a line of its own, indented less
/// than the block around it, is valid YAML (PyYAML and js-yaml read it; indentation does not
/// count inside flow collections) that saphyr-parser refuses as "invalid indentation"
/// (saphyr-rs/saphyr#101, #108). Such a line is indented like the line before it and the text
/// parsed again: lines stay where they were, so every span but that bracket's is exact.
fn run_lenient(file: FileId, text: &str) -> Result<Option<Node>, Problem> {
    let mut patched = std::borrow::Cow::Borrowed(text);
    for _ in 0..MAX_REINDENTS {
        match Builder::new(file).run(&patched) {
            Err(p) if p.message.contains("invalid indentation") => {
                let Some(line) = p.location.map(|s| s.start.line as usize) else {
                    return Err(p);
                };
                match reindent_closing(&patched, line) {
                    Some(t) => patched = std::borrow::Cow::Owned(t),
                    None => return Err(p),
                }
            }
            other => return other,
        }
    }
    Builder::new(file).run(&patched)
}

/// `text` with line `line` (1-based) indented like the nearest non-blank line above it, when that
/// line holds only closing brackets; None otherwise.
fn reindent_closing(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.split('\n').collect();
    let here = *lines.get(line.checked_sub(1)?)?;
    let body = here.trim_start();
    if !body.starts_with([']', '}']) {
        return None;
    }
    let above = lines[..line - 1]
        .iter()
        .rev()
        .find(|l| !l.trim().is_empty())?;
    let want = above.len() - above.trim_start().len();
    let have = here.len() - body.len();
    if want <= have {
        return None;
    }
    let mut out = String::with_capacity(text.len() + want);
    for (i, l) in lines.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if i == line - 1 {
            out.push_str(&" ".repeat(want));
            out.push_str(body);
        } else {
            out.push_str(l);
        }
    }
    Some(out)
}

fn position_of(text: &str, byte: usize) -> (u32, u32) {
    let before = &text[..byte];
    let line = before.matches('\n').count() as u32 + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u32 + 1;
    (line, col)
}

enum Frame {
    Seq {
        items: Vec<Node>,
        start: Pos,
        anchor: usize,
        /// A CloudFormation short tag on the list: its long form's key, and where it was written.
        cfn: Option<(&'static str, Span)>,
    },
    Map {
        entries: Vec<Entry>,
        /// Merge (`<<`) sources, applied when the mapping ends so explicit keys win.
        merges: Vec<Node>,
        key: Option<(String, Span)>,
        start: Pos,
        anchor: usize,
        cfn: Option<(&'static str, Span)>,
    },
}

/// The long form's key of a CloudFormation short tag (`!Ref` → `Ref`, `!GetAtt` → `Fn::GetAtt`).
fn cfn_function(tag: &Tag) -> Option<&'static str> {
    if tag.handle != "!" {
        return None;
    }
    Some(match tag.suffix.as_str() {
        "Ref" => "Ref",
        "Condition" => "Condition",
        "GetAtt" => "Fn::GetAtt",
        "Sub" => "Fn::Sub",
        "Join" => "Fn::Join",
        "Select" => "Fn::Select",
        "Split" => "Fn::Split",
        "If" => "Fn::If",
        "Equals" => "Fn::Equals",
        "Not" => "Fn::Not",
        "And" => "Fn::And",
        "Or" => "Fn::Or",
        "FindInMap" => "Fn::FindInMap",
        "ImportValue" => "Fn::ImportValue",
        "Base64" => "Fn::Base64",
        "Cidr" => "Fn::Cidr",
        "GetAZs" => "Fn::GetAZs",
        "Transform" => "Fn::Transform",
        _ => return None,
    })
}

/// `{key: node}`: a short tag's long form, spanning the tag and its value.
fn long_form(key: &str, tag_span: Span, node: Node) -> Node {
    let span = Span {
        file: node.span.file,
        start: tag_span.start,
        end: node.span.end,
    };
    Node::new(
        Value::Map(vec![Entry {
            key: key.to_string(),
            key_span: tag_span,
            value: node,
        }]),
        span,
    )
}

struct Builder {
    file: FileId,
    stack: Vec<Frame>,
    /// Each anchored node with its size in nodes.
    anchors: HashMap<usize, (Node, usize)>,
    /// Nodes copied in by aliases so far: bounded, or nine anchors of nine aliases each (an
    /// "alias bomb") would build hundreds of millions of nodes.
    copied: usize,
    root: Option<Node>,
    documents: u32,
}

/// The most nodes aliases may copy into one config: far beyond any real service's use of
/// anchors, far below what takes a noticeable time to build.
const MOST_COPIED: usize = 100_000;

/// How many nodes a tree holds.
fn size(node: &Node) -> usize {
    1 + match &node.value {
        Value::Seq(items) => items.iter().map(size).sum(),
        Value::Map(entries) => entries.iter().map(|e| size(&e.value)).sum(),
        _ => 0,
    }
}

impl Builder {
    fn new(file: FileId) -> Self {
        Builder {
            file,
            stack: Vec::new(),
            anchors: HashMap::new(),
            copied: 0,
            root: None,
            documents: 0,
        }
    }

    fn span(&self, s: saphyr_parser::Span) -> Span {
        Span {
            file: self.file,
            start: pos(s.start),
            end: pos(s.end),
        }
    }

    fn run(mut self, text: &str) -> Result<Option<Node>, Problem> {
        let mut parser = Parser::new_from_str(text);
        while let Some(ev) = parser.next_event() {
            let (ev, s) = ev.map_err(|e| self.scan_error(text, &e))?;
            let span = self.span(s);
            match ev {
                Event::DocumentStart(_) => {
                    self.documents += 1;
                    if self.documents > 1 {
                        return Err(Problem::error(
                            "a config file must hold one YAML document, this is a second one",
                            Some(span),
                        )
                        .help("remove the `---` separator and everything after it, or merge the documents"));
                    }
                }
                Event::Scalar(value, style, anchor, tag) => {
                    let node = match tag.as_deref().and_then(cfn_function) {
                        Some(key) => {
                            let text = Node::new(Value::Str(value.to_string()), span);
                            // `!GetAtt Table.Arn` is `Fn::GetAtt: [Table, Arn]`.
                            let inner = match (key, value.split_once('.')) {
                                ("Fn::GetAtt", Some((res, attr))) => Node::new(
                                    Value::Seq(vec![
                                        Node::new(Value::Str(res.to_string()), span),
                                        Node::new(Value::Str(attr.to_string()), span),
                                    ]),
                                    span,
                                ),
                                _ => text,
                            };
                            long_form(key, span, inner)
                        }
                        None => Node::new(self.scalar(&value, style, tag.as_deref(), span)?, span),
                    };
                    self.finish(node, anchor)?;
                }
                Event::Alias(id) => {
                    let (node, n) = self.anchors.get(&id).cloned().ok_or_else(|| {
                        Problem::error("this alias refers to an unknown anchor", Some(span))
                    })?;
                    self.copied += n;
                    if self.copied > MOST_COPIED {
                        return Err(Problem::error(
                            format!("the aliases up to here copy more than {MOST_COPIED} values into the config"),
                            Some(span),
                        )
                        .help("anchors that alias other anchors multiply: write the values out, or reference them with ${self:…}"));
                    }
                    self.finish(node, 0)?;
                }
                Event::SequenceStart(anchor, tag) => {
                    let cfn = self.collection_tag(tag.as_deref(), span)?;
                    self.stack.push(Frame::Seq {
                        items: Vec::new(),
                        start: span.start,
                        anchor,
                        cfn,
                    });
                }
                Event::MappingStart(anchor, tag) => {
                    let cfn = self.collection_tag(tag.as_deref(), span)?;
                    self.stack.push(Frame::Map {
                        entries: Vec::new(),
                        merges: Vec::new(),
                        key: None,
                        start: span.start,
                        anchor,
                        cfn,
                    });
                }
                Event::SequenceEnd => {
                    if let Some(Frame::Seq {
                        items,
                        start,
                        anchor,
                        cfn,
                    }) = self.stack.pop()
                    {
                        let span = Span {
                            file: self.file,
                            start,
                            end: span.end,
                        };
                        let node = Node::new(Value::Seq(items), span);
                        let node = match cfn {
                            Some((key, at)) => long_form(key, at, node),
                            None => node,
                        };
                        self.finish(node, anchor)?;
                    }
                }
                Event::MappingEnd => {
                    if let Some(Frame::Map {
                        mut entries,
                        merges,
                        start,
                        anchor,
                        cfn,
                        ..
                    }) = self.stack.pop()
                    {
                        apply_merges(&mut entries, merges)?;
                        let span = Span {
                            file: self.file,
                            start,
                            end: span.end,
                        };
                        let node = Node::new(Value::Map(entries), span);
                        let node = match cfn {
                            Some((key, at)) => long_form(key, at, node),
                            None => node,
                        };
                        self.finish(node, anchor)?;
                    }
                }
                Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => {}
            }
        }
        Ok(self.root)
    }

    fn scan_error(&self, text: &str, e: &saphyr_parser::ScanError) -> Problem {
        let m = e.marker();
        let span = Span::point(self.file, m.line() as u32, m.col() as u32 + 1);
        let line = text
            .split('\n')
            .nth(m.line().saturating_sub(1))
            .unwrap_or("");
        let info = e.info();
        let indent_tab = line
            .chars()
            .take_while(|c| c.is_whitespace())
            .any(|c| c == '\t');
        let p = Problem::error(format!("invalid YAML: {info}"), Some(span));
        if indent_tab || info.contains("tab") {
            p.help("YAML does not allow tabs for indentation; indent with spaces")
        } else {
            p.help("check the indentation and quoting on this line and the one before it")
        }
    }

    /// A tag on a list or mapping: a CloudFormation short tag (its long form's key), a core
    /// schema tag (nothing to do), or an error.
    fn collection_tag(
        &self,
        tag: Option<&Tag>,
        span: Span,
    ) -> Result<Option<(&'static str, Span)>, Problem> {
        match tag {
            Some(t) => match cfn_function(t) {
                Some(key) => Ok(Some((key, span))),
                None if t.is_yaml_core_schema() => Ok(None),
                None => Err(unknown_tag_problem(t, span)),
            },
            None => Ok(None),
        }
    }

    fn scalar(
        &self,
        text: &str,
        style: ScalarStyle,
        tag: Option<&Tag>,
        span: Span,
    ) -> Result<Value, Problem> {
        if let Some(t) = tag {
            if !t.is_yaml_core_schema() {
                return Err(unknown_tag_problem(t, span));
            }
            let bad = || {
                Problem::error(
                    format!("`{text}` is not a valid value for tag !!{}", t.suffix),
                    Some(span),
                )
            };
            return match t.suffix.as_str() {
                "str" => Ok(Value::Str(text.to_string())),
                "null" => Ok(Value::Null),
                "bool" => match plain_scalar(text) {
                    v @ Value::Bool(_) => Ok(v),
                    _ => Err(bad()),
                },
                "int" => match plain_scalar(text) {
                    v @ Value::Int(_) => Ok(v),
                    _ => Err(bad()),
                },
                "float" => match plain_scalar(text) {
                    Value::Int(i) => Ok(Value::Float(i as f64)),
                    v @ Value::Float(_) => Ok(v),
                    _ => Err(bad()),
                },
                other => Err(Problem::error(
                    format!("the YAML tag !!{other} is not supported here"),
                    Some(span),
                )),
            };
        }
        Ok(match style {
            ScalarStyle::Plain => plain_scalar(text),
            _ => Value::Str(text.to_string()),
        })
    }

    fn finish(&mut self, node: Node, anchor: usize) -> Result<(), Problem> {
        if anchor != 0 {
            self.anchors.insert(anchor, (node.clone(), size(&node)));
        }
        match self.stack.last_mut() {
            None => {
                self.root = Some(node);
                Ok(())
            }
            Some(Frame::Seq { items, .. }) => {
                items.push(node);
                Ok(())
            }
            Some(Frame::Map {
                entries,
                merges,
                key,
                ..
            }) => match key.take() {
                None => {
                    let k = match &node.value {
                        Value::Map(_) | Value::Seq(_) => {
                            return Err(Problem::error(
                                "a mapping key must be a plain value, not a list or mapping",
                                Some(node.span),
                            ));
                        }
                        _ => node.scalar_text().unwrap_or_default(),
                    };
                    *key = Some((k, node.span));
                    Ok(())
                }
                Some((k, key_span)) => {
                    if k == "<<" {
                        merges.push(node);
                        return Ok(());
                    }
                    if let Some(first) = entries.iter().find(|e| e.key == k) {
                        return Err(
                            Problem::error(format!("duplicate key `{k}`"), Some(key_span))
                                .label("defined again here")
                                .note(format!(
                                    "`{k}` was first defined on line {}",
                                    first.key_span.start.line
                                ))
                                .help("YAML keeps only one of them; remove or rename one"),
                        );
                    }
                    entries.push(Entry {
                        key: k,
                        key_span,
                        value: node,
                    });
                    Ok(())
                }
            },
        }
    }
}

/// `<<: *defaults` (or a list of them): keys the mapping does not set itself are copied in.
fn apply_merges(entries: &mut Vec<Entry>, merges: Vec<Node>) -> Result<(), Problem> {
    for m in merges {
        let sources = match m.value {
            Value::Map(_) => vec![m],
            Value::Seq(items) => items,
            _ => {
                return Err(Problem::error(
                    "a merge key (`<<`) needs a mapping or a list of mappings",
                    Some(m.span),
                ));
            }
        };
        for src in sources {
            let Value::Map(src_entries) = src.value else {
                return Err(Problem::error(
                    "a merge key (`<<`) needs a mapping or a list of mappings",
                    Some(src.span),
                ));
            };
            for e in src_entries {
                if !entries.iter().any(|x| x.key == e.key) {
                    entries.push(e);
                }
            }
        }
    }
    Ok(())
}

fn unknown_tag_problem(tag: &Tag, span: Span) -> Problem {
    Problem::error(
        format!("the YAML tag `{tag}` is not supported"),
        Some(span),
    )
    .note("CloudFormation's short tags are read (!Ref, !GetAtt, !Sub, !Join, !Select, !Split, !If, !Equals, !Not, !And, !Or, !FindInMap, !ImportValue, !Base64, !Cidr, !GetAZs, !Condition, !Transform); other tags are not")
    .help("write the value itself, or the function's long form, e.g. `Fn::GetAtt: [Table, Arn]`")
}

fn pos(m: saphyr_parser::Marker) -> Pos {
    Pos {
        line: m.line() as u32,
        col: m.col() as u32 + 1,
    }
}

/// Types a plain (unquoted) scalar with the YAML 1.2 core schema, as js-yaml does for Serverless.
pub fn plain_scalar(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(i) = text.parse::<i64>() {
            return Value::Int(i);
        }
    }
    if let Some(hex) = text.strip_prefix("0x") {
        if let Ok(i) = i64::from_str_radix(hex, 16) {
            return Value::Int(i);
        }
    }
    if let Some(oct) = text.strip_prefix("0o") {
        if let Ok(i) = i64::from_str_radix(oct, 8) {
            return Value::Int(i);
        }
    }
    let looks_numeric = digits.bytes().any(|b| b.is_ascii_digit())
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'));
    if looks_numeric {
        if let Ok(f) = text.parse::<f64>() {
            return Value::Float(f);
        }
    }
    Value::Str(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Node, Problem> {
        let mut s = Sources::default();
        let f = s.add("t.yml", text);
        parse(&s, f)
    }

    #[test]
    fn types_plain_scalars_but_not_quoted_ones() {
        let n = load("a: 1\nb: '1'\nc: true\nd: 1.5\ne: ~\nf: x y\ng: 0x10\nh: 1e3\ni: 1.2.3\n")
            .unwrap();
        assert_eq!(n.get("a").unwrap().value, Value::Int(1));
        assert_eq!(n.get("b").unwrap().value, Value::Str("1".into()));
        assert_eq!(n.get("c").unwrap().value, Value::Bool(true));
        assert_eq!(n.get("d").unwrap().value, Value::Float(1.5));
        assert_eq!(n.get("e").unwrap().value, Value::Null);
        assert_eq!(n.get("f").unwrap().value, Value::Str("x y".into()));
        assert_eq!(n.get("g").unwrap().value, Value::Int(16));
        assert_eq!(n.get("h").unwrap().value, Value::Float(1000.0));
        assert_eq!(n.get("i").unwrap().value, Value::Str("1.2.3".into()));
    }

    #[test]
    fn spans_are_one_based() {
        let n = load("top:\n  key: value\n").unwrap();
        let e = n.get("top").unwrap().entry("key").unwrap();
        assert_eq!((e.key_span.start.line, e.key_span.start.col), (2, 3));
        assert_eq!((e.value.span.start.line, e.value.span.start.col), (2, 8));
        assert_eq!(e.value.span.end.col, 13);
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let p = load("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(p.message, "duplicate key `a`");
        assert_eq!(p.location.unwrap().start.line, 3);
    }

    #[test]
    fn merge_keys_do_not_override_explicit_keys() {
        let n = load("base: &b\n  x: 1\n  y: 2\nother:\n  y: 3\n  <<: *b\n").unwrap();
        let o = n.get("other").unwrap();
        assert_eq!(o.get("x").unwrap().value, Value::Int(1));
        assert_eq!(o.get("y").unwrap().value, Value::Int(3));
    }

    #[test]
    fn closing_brackets_indented_less_than_their_items_are_read() {
        for text in [
            "custom:\n  list: [a,\n    b\n ]\n  next: 1\n",
            "custom:\n  list: [a,\n    b\n]\n",
            "custom:\n  m: {a: 1,\n    b: [x,\n      y\n  ]\n }\n",
        ] {
            let n = load(text).unwrap_or_else(|p| panic!("{text}: {}", p.message));
            let Value::Map(entries) = &n.get("custom").unwrap().value else {
                panic!("{text}")
            };
            assert!(
                matches!(entries[0].value.value, Value::Seq(_) | Value::Map(_)),
                "{text}"
            );
        }
        // Other indentation mistakes are still reported where they are.
        let p = load("a:\n  b: 1\n c: 2\n").unwrap_err();
        assert_eq!(p.location.unwrap().start.line, 3);
    }

    #[test]
    fn cloudformation_short_tags_are_read_into_their_long_forms() {
        let n = load(
            "a: !GetAtt Table.Arn\nb: !Ref Bucket\nc: !Sub\n  - '${A}-x'\n  - {A: !Ref B}\nd: !Join ['', [a, !GetAtt [T, Arn]]]\ne: !If [Cond, {x: 1}, !Ref AWS::NoValue]\n",
        )
        .unwrap();
        let a = n.get("a").unwrap();
        let ga = a.get("Fn::GetAtt").unwrap();
        let Value::Seq(parts) = &ga.value else {
            panic!("{ga:?}")
        };
        assert_eq!(parts[0].value, Value::Str("Table".into()));
        assert_eq!(parts[1].value, Value::Str("Arn".into()));
        // The function's key points at the tag, the node spans tag and value.
        let e = a.entry("Fn::GetAtt").unwrap();
        assert_eq!((e.key_span.start.line, e.key_span.start.col), (1, 4));
        assert_eq!(
            n.get("b").unwrap().get("Ref").unwrap().value,
            Value::Str("Bucket".into())
        );
        let sub = n.get("c").unwrap().get("Fn::Sub").unwrap();
        let Value::Seq(items) = &sub.value else {
            panic!("{sub:?}")
        };
        assert_eq!(
            items[1].get("A").unwrap().get("Ref").unwrap().value,
            Value::Str("B".into())
        );
        let join = n.get("d").unwrap().get("Fn::Join").unwrap();
        let Value::Seq(items) = &join.value else {
            panic!("{join:?}")
        };
        let Value::Seq(inner) = &items[1].value else {
            panic!("{join:?}")
        };
        assert!(inner[1].get("Fn::GetAtt").is_some());
        assert!(n.get("e").unwrap().get("Fn::If").is_some());
        let p = load("a: !Frobnicate x\n").unwrap_err();
        assert!(p.message.contains("!Frobnicate"), "{}", p.message);
    }

    #[test]
    fn empty_and_comment_only_files_are_empty() {
        assert_eq!(load("").unwrap_err().message, "the config file is empty");
        assert_eq!(
            load("# nothing\n").unwrap_err().message,
            "the config file is empty"
        );
    }

    #[test]
    fn json_parses_with_spans() {
        let n = load("{\n  \"service\": \"x\",\n  \"n\": 3\n}\n").unwrap();
        assert_eq!(n.get("n").unwrap().value, Value::Int(3));
        assert_eq!(n.entry("n").unwrap().key_span.start.line, 3);
    }
}
