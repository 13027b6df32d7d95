//! A small YAML writer for JSON-shaped documents (`sls print`), in the style js-yaml gives
//! Serverless users: block style, two-space indents, lists indented under their key, and quotes
//! only where a plain scalar would read back as something else.

use serde_json::Value;

use crate::config::yaml::{Value as Y, plain_scalar};

pub fn to_string(v: &Value) -> String {
    let mut out = String::new();
    match v {
        Value::Object(m) if !m.is_empty() => write_map(&mut out, m, 0),
        Value::Array(a) if !a.is_empty() => write_seq(&mut out, a, 0),
        other => {
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
    out
}

fn write_map(out: &mut String, m: &serde_json::Map<String, Value>, indent: usize) {
    for (k, v) in m {
        out.push_str(&" ".repeat(indent));
        out.push_str(&string(k));
        out.push(':');
        write_value_after_key(out, v, indent);
    }
}

fn write_value_after_key(out: &mut String, v: &Value, indent: usize) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            write_map(out, m, indent + 2);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            write_seq(out, a, indent + 2);
        }
        other => {
            out.push(' ');
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
}

fn write_seq(out: &mut String, a: &[Value], indent: usize) {
    for v in a {
        out.push_str(&" ".repeat(indent));
        out.push('-');
        match v {
            Value::Object(m) if !m.is_empty() => {
                // First key on the dash line, the rest aligned under it.
                let mut first = true;
                for (k, val) in m {
                    if first {
                        out.push(' ');
                        first = false;
                    } else {
                        out.push_str(&" ".repeat(indent + 2));
                    }
                    out.push_str(&string(k));
                    out.push(':');
                    write_value_after_key(out, val, indent + 2);
                }
            }
            Value::Array(inner) if !inner.is_empty() => {
                out.push('\n');
                write_seq(out, inner, indent + 2);
            }
            other => {
                out.push(' ');
                out.push_str(&scalar(other));
                out.push('\n');
            }
        }
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s),
        Value::Array(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
    }
}

/// A string as a plain scalar when that reads back as the same string, else quoted.
fn string(s: &str) -> String {
    if is_plain_safe(s) {
        s.to_string()
    } else if s.chars().any(|c| c.is_control()) {
        // JSON's double-quoted form is valid YAML and escapes control characters.
        serde_json::to_string(s).unwrap_or_default()
    } else {
        format!("'{}'", s.replace('\'', "''"))
    }
}

fn is_plain_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if s.trim() != s || "-?:,[]{}#&*!|>'\"%@`".contains(first) {
        return false;
    }
    if s.contains(": ") || s.contains(" #") || s.ends_with(':') || s.chars().any(|c| c.is_control())
    {
        return false;
    }
    // YAML 1.1 readers would take these as booleans.
    let lower = s.to_ascii_lowercase();
    if matches!(lower.as_str(), "yes" | "no" | "on" | "off") {
        return false;
    }
    matches!(plain_scalar(s), Y::Str(_))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn writes_block_yaml_with_careful_quoting() {
        let v = json!({
            "service": "svc",
            "n": 3,
            "list": ["a", {"k": "v", "k2": "1"}],
            "q": "GET /x",
            "t": "true",
            "c": "a: b",
            "e": {},
            "ml": "a\nb"
        });
        let expected = "service: svc\nn: 3\nlist:\n  - a\n  - k: v\n    k2: '1'\nq: GET /x\nt: 'true'\nc: 'a: b'\ne: {}\nml: \"a\\nb\"\n";
        assert_eq!(to_string(&v), expected);
    }

    #[test]
    fn output_reads_back_identically() {
        let v =
            json!({"a": ["x", "*", "-1", "", "it's", {"b": [1, 2.5, null, false]}], "c": "${x}"});
        let text = to_string(&v);
        let mut s = crate::diag::Sources::default();
        let f = s.add("t", text.clone());
        let back = crate::config::yaml::parse(&s, f).unwrap().to_json();
        assert_eq!(back, v, "{text}");
    }
}
