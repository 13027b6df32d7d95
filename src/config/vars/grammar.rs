//! The `${…}` grammar: a string becomes literal pieces and variables; a variable is a list of
//! alternatives (fallbacks), each a literal, a nested variable, or a reference to a source with
//! its parameters and address. Syntax only: what a source means is the resolver's business.

use super::SOURCES;
use crate::config::yaml::{self, Value};

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Piece {
    Lit(String),
    Var(Var),
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Var {
    pub(super) raw: String,
    pub(super) alts: Vec<Alt>,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Alt {
    Lit(Value),
    Nested(Var),
    Ref {
        source: String,
        params: Vec<Vec<Piece>>,
        address: Option<Vec<Piece>>,
    },
}

pub(super) fn parse_template(s: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut lit = String::new();
    let mut i = 0;
    while i < s.len() {
        if s[i..].starts_with("${") {
            let end = find_close(s, i + 2, '}')?;
            let inner = &s[i + 2..end];
            if is_variable(inner) {
                if !lit.is_empty() {
                    pieces.push(Piece::Lit(std::mem::take(&mut lit)));
                }
                pieces.push(Piece::Var(parse_var(inner, &s[i..=end])?));
            } else {
                lit.push_str(&s[i..=end]);
            }
            i = end + 1;
        } else {
            let c = s[i..].chars().next().unwrap_or(' ');
            lit.push(c);
            i += c.len_utf8();
        }
    }
    if !lit.is_empty() {
        pieces.push(Piece::Lit(lit));
    }
    Ok(pieces)
}

/// Index of the `close` that ends the group starting at `from`, skipping nested `${…}`, `(…)`
/// and quoted text.
pub(super) fn find_close(s: &str, from: usize, close: char) -> Result<usize, String> {
    let bytes = s.as_bytes();
    let mut stack = vec![close];
    let mut i = from;
    let mut quote: Option<u8> = None;
    while i < bytes.len() {
        let b = bytes[i];
        if let Some(q) = quote {
            if b == q {
                quote = None;
            }
        } else if b == b'$' && bytes.get(i + 1) == Some(&b'{') {
            stack.push('}');
            i += 1;
        } else if b == b'(' {
            stack.push(')');
        } else if (b == b'\'' || b == b'"') && is_quote_start(bytes, i, from) {
            quote = Some(b);
        } else if (b == b'}' || b == b')') && stack.last() == Some(&(b as char)) {
            stack.pop();
            if stack.is_empty() {
                return Ok(i);
            }
        }
        i += 1;
    }
    Err(if close == '}' {
        "`${` is never closed with `}`".into()
    } else {
        "`(` is never closed with `)`".into()
    })
}

/// A quote only opens a literal at the start of a fallback or parameter, so that an apostrophe
/// inside an address (rare, but legal in file names) does not swallow the rest.
pub(super) fn is_quote_start(bytes: &[u8], i: usize, from: usize) -> bool {
    let prev = bytes[from..i]
        .iter()
        .rev()
        .find(|b| !b.is_ascii_whitespace())
        .copied();
    matches!(prev, None | Some(b',') | Some(b'('))
}

/// Serverless treats `${…}` as a variable only when it starts with `source:` or `source(`;
/// anything else (`${foo}`, CloudFormation's `${AWS::Region}`) stays literal text.
pub(super) fn is_variable(inner: &str) -> bool {
    let t = inner.trim_start();
    if t.starts_with("${") {
        return true;
    }
    let ident_len = t.bytes().take_while(|b| b.is_ascii_alphanumeric()).count();
    if ident_len == 0 {
        return false;
    }
    let rest = &t[ident_len..];
    (rest.starts_with(':') && !rest.starts_with("::")) || rest.starts_with('(')
}

pub(super) fn split_top_level(s: &str) -> Result<Vec<&str>, String> {
    let mut parts = Vec::new();
    let bytes = s.as_bytes();
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if let Some(q) = quote {
            if b == q {
                quote = None;
            }
        } else if b == b'$' && bytes.get(i + 1) == Some(&b'{') {
            depth += 1;
            i += 1;
        } else if b == b'(' {
            depth += 1;
        } else if (b == b'}' || b == b')') && depth > 0 {
            depth -= 1;
        } else if (b == b'\'' || b == b'"') && is_quote_start(bytes, i, start) {
            quote = Some(b);
        } else if b == b',' && depth == 0 {
            parts.push(&s[start..i]);
            start = i + 1;
        }
        i += 1;
    }
    if quote.is_some() {
        return Err("a quoted string is never closed".into());
    }
    parts.push(&s[start..]);
    Ok(parts)
}

pub(super) fn parse_var(inner: &str, raw: &str) -> Result<Var, String> {
    let mut alts = Vec::new();
    for part in split_top_level(inner)? {
        alts.push(parse_alt(part.trim())?);
    }
    Ok(Var {
        raw: raw.to_string(),
        alts,
    })
}

pub(super) fn unquote(s: &str) -> Option<&str> {
    for q in ['\'', '"'] {
        if s.len() >= 2 && s.starts_with(q) && s.ends_with(q) {
            return Some(&s[1..s.len() - 1]);
        }
    }
    None
}

pub(super) fn parse_alt(t: &str) -> Result<Alt, String> {
    if t.is_empty() {
        return Err("an empty value between commas".into());
    }
    if let Some(inner) = unquote(t) {
        return Ok(Alt::Lit(Value::Str(inner.to_string())));
    }
    if t.starts_with(['\'', '"']) {
        return Err(format!("the quoted string {t} is never closed"));
    }
    if t.starts_with("${") {
        let end = find_close(t, 2, '}')?;
        if end != t.len() - 1 {
            return Err(format!("unexpected text after `{}`", &t[..=end]));
        }
        return Ok(Alt::Nested(parse_var(&t[2..end], t)?));
    }
    if let v @ (Value::Int(_) | Value::Float(_) | Value::Bool(_) | Value::Null) =
        yaml::plain_scalar(t)
    {
        return Ok(Alt::Lit(v));
    }
    let ident_len = t.bytes().take_while(|b| b.is_ascii_alphanumeric()).count();
    let source = &t[..ident_len];
    let mut rest = &t[ident_len..];
    if source.is_empty() || !SOURCES.contains(&source) {
        let shown = if source.is_empty() { t } else { source };
        return Err(if rest.is_empty() {
            format!(
                "`{shown}` is neither a variable source nor a quoted string; quote literal fallbacks: '{shown}'"
            )
        } else {
            format!(
                "unknown variable source `{shown}`; known sources are {}",
                SOURCES
                    .iter()
                    .map(|s| format!("`{s}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        });
    }
    let mut params = Vec::new();
    if rest.starts_with('(') {
        let end = find_close(rest, 1, ')')?;
        for p in split_top_level(&rest[1..end])? {
            let p = p.trim();
            let p = unquote(p).unwrap_or(p);
            params.push(parse_template(p)?);
        }
        rest = &rest[end + 1..];
    }
    let address = if let Some(a) = rest.strip_prefix(':') {
        Some(parse_template(a.trim())?)
    } else if rest.trim().is_empty() {
        None
    } else {
        return Err(format!("expected `:` after `{source}`, found `{rest}`"));
    };
    Ok(Alt::Ref {
        source: source.to_string(),
        params,
        address,
    })
}
