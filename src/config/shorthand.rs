//! Serverless' short forms, expanded into the long forms the typed model reads:
//! `- httpApi: 'GET /x'` → `{method, path}`, `- sqs: arn:…` → `{arn}`, `cors: true` → `{}`,
//! `Action: s3:GetObject` → `[s3:GetObject]`, and so on. New nodes keep the span of the text they
//! came from, so later errors still point at what the user wrote.

use crate::diag::{Problem, Span};

use super::yaml::{Entry, Node, Value};

pub fn expand(root: &mut Node) -> Result<(), Problem> {
    if let Some(provider) = root.get_mut("provider") {
        if let Some(iam) = provider.get_mut("iam") {
            if let Some(role) = iam.get_mut("role") {
                wrap_str(role, "arn");
                if let Some(st) = role.get_mut("statements") {
                    statements(st);
                }
            }
        }
        if let Some(st) = provider.get_mut("iamRoleStatements") {
            statements(st);
        }
        if let Some(b) = provider.get_mut("deploymentBucket") {
            wrap_str(b, "name");
        }
        if let Some(h) = provider.get_mut("httpApi") {
            bool_to_map(h, "cors");
        }
    }
    if let Some(Value::Map(functions)) = root.get_mut("functions").map(|f| &mut f.value) {
        for f in functions {
            function(&mut f.value)?;
        }
    }
    Ok(())
}

fn function(f: &mut Node) -> Result<(), Problem> {
    if let Some(st) = f.get_mut("iamRoleStatements") {
        statements(st);
    }
    if let Some(st) = f
        .get_mut("iam")
        .and_then(|i| i.get_mut("role"))
        .and_then(|r| r.get_mut("statements"))
    {
        statements(st);
    }
    bool_to_map(f, "url");
    if let Some(url) = f.get_mut("url") {
        bool_to_map(url, "cors");
    }
    if let Some(Value::Seq(events)) = f.get_mut("events").map(|e| &mut e.value) {
        for ev in events {
            // `- alexaSkill` alone: Serverless v3's old form, a skill without an `appId`.
            if let Some(kind @ ("alexaSkill" | "alexaSmartHome")) = ev.as_str() {
                let kind = kind.to_string();
                ev.value = Value::Map(vec![Entry {
                    key: kind,
                    key_span: ev.span,
                    value: Node::new(Value::Map(Vec::new()), ev.span),
                }]);
            }
            let Value::Map(entries) = &mut ev.value else {
                continue;
            };
            let [entry] = entries.as_mut_slice() else {
                continue;
            };
            event(entry)?;
        }
    }
    Ok(())
}

fn event(e: &mut Entry) -> Result<(), Problem> {
    let v = &mut e.value;
    match e.key.as_str() {
        "httpApi" => {
            if let Some(s) = v.as_str() {
                let s = s.trim().to_string();
                let (method, path) = if s == "*" {
                    ("*".to_string(), "*".to_string())
                } else {
                    split_route(&s, v.span, "httpApi", "GET /users/{id}")?
                };
                *v = map_of(v.span, &[("method", method), ("path", path)]);
            }
        }
        "http" => {
            if let Some(s) = v.as_str() {
                let (method, path) = split_route(s.trim(), v.span, "http", "GET users/{id}")?;
                *v = map_of(v.span, &[("method", method), ("path", path)]);
            }
            bool_to_map(v, "cors");
        }
        "schedule" => {
            wrap_str(v, "rate");
            if let Some(rate) = v.get_mut("rate") {
                str_to_seq(rate);
            }
        }
        "sqs" | "stream" => wrap_str(v, "arn"),
        "s3" => wrap_str(v, "bucket"),
        "cloudwatchLog" => wrap_str(v, "logGroup"),
        "alexaSkill" | "alexaSmartHome" => wrap_str(v, "appId"),
        "websocket" => wrap_str(v, "route"),
        "kafka" => {
            if let Some(Value::Map(entries)) =
                v.get_mut("accessConfigurations").map(|a| &mut a.value)
            {
                for e in entries {
                    str_to_seq(&mut e.value);
                }
            }
            if let Some(b) = v.get_mut("bootstrapServers") {
                str_to_seq(b);
            }
        }
        "alb" => {
            if let Some(c) = v.get_mut("conditions") {
                for k in ["path", "host", "method", "ip"] {
                    if let Some(x) = c.get_mut(k) {
                        str_to_seq(x);
                    }
                }
            }
        }
        "sns" => {
            let key = if v.as_str().is_some_and(|s| s.starts_with("arn:")) {
                "arn"
            } else {
                "topicName"
            };
            wrap_str(v, key);
        }
        _ => {}
    }
    Ok(())
}

fn split_route(
    s: &str,
    span: Span,
    kind: &str,
    example: &str,
) -> Result<(String, String), Problem> {
    match s.split_once(char::is_whitespace) {
        Some((m, p)) if !p.trim().is_empty() => Ok((m.to_string(), p.trim().to_string())),
        _ => Err(Problem::error(
            format!("a `{kind}` event written as text must be `METHOD path`, got `{s}`"),
            Some(span),
        )
        .help(format!("for example: - {kind}: '{example}'"))),
    }
}

fn map_of(span: Span, pairs: &[(&str, String)]) -> Node {
    let entries = pairs
        .iter()
        .map(|(k, v)| Entry {
            key: k.to_string(),
            key_span: span,
            value: Node::new(Value::Str(v.clone()), span),
        })
        .collect();
    Node::new(Value::Map(entries), span)
}

/// `key: text` → `key: {field: text}`.
fn wrap_str(node: &mut Node, field: &str) {
    if let Value::Str(_) = node.value {
        let span = node.span;
        let inner = std::mem::replace(node, Node::new(Value::Null, span));
        *node = Node::new(
            Value::Map(vec![Entry {
                key: field.to_string(),
                key_span: span,
                value: inner,
            }]),
            span,
        );
    }
}

fn str_to_seq(node: &mut Node) {
    if let Value::Str(_) = node.value {
        let span = node.span;
        let inner = std::mem::replace(node, Node::new(Value::Null, span));
        *node = Node::new(Value::Seq(vec![inner]), span);
    }
}

/// `key: true` → `key: {}`; `key: false` → no key.
fn bool_to_map(parent: &mut Node, key: &str) {
    let Value::Map(entries) = &mut parent.value else {
        return;
    };
    let Some(i) = entries.iter().position(|e| e.key == key) else {
        return;
    };
    match entries[i].value.value {
        Value::Bool(true) => entries[i].value.value = Value::Map(Vec::new()),
        Value::Bool(false) => {
            entries.remove(i);
        }
        _ => {}
    }
}

fn statements(list: &mut Node) {
    if let Value::Seq(items) = &mut list.value {
        for st in items {
            for k in ["Action", "NotAction", "Resource", "NotResource"] {
                if let Some(v) = st.get_mut(k) {
                    str_to_seq(v);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::yaml;
    use crate::diag::Sources;

    fn expanded(text: &str) -> Result<Node, Problem> {
        let mut s = Sources::default();
        let f = s.add("t.yml", text);
        let mut n = yaml::parse(&s, f).unwrap();
        expand(&mut n).map(|_| n)
    }

    #[test]
    fn expands_event_short_forms() {
        let n = expanded("functions:\n  f:\n    url: true\n    events:\n      - httpApi: 'GET /a'\n      - httpApi: '*'\n      - http: POST b\n      - schedule: rate(1 hour)\n      - sqs: arn:aws:sqs:us-east-1:1:q\n      - sns: topic\n").unwrap();
        let ev = n.at_path(&["functions", "f", "events"]).unwrap();
        assert_eq!(
            ev.at_path(&["0", "httpApi", "path"]).unwrap().as_str(),
            Some("/a")
        );
        assert_eq!(
            ev.at_path(&["1", "httpApi", "method"]).unwrap().as_str(),
            Some("*")
        );
        assert_eq!(
            ev.at_path(&["2", "http", "method"]).unwrap().as_str(),
            Some("POST")
        );
        assert_eq!(
            ev.at_path(&["3", "schedule", "rate", "0"])
                .unwrap()
                .as_str(),
            Some("rate(1 hour)")
        );
        assert!(ev.at_path(&["4", "sqs", "arn"]).is_some());
        assert!(ev.at_path(&["5", "sns", "topicName"]).is_some());
        assert!(matches!(
            n.at_path(&["functions", "f", "url"]).unwrap().value,
            Value::Map(_)
        ));
    }

    #[test]
    fn route_without_path_is_an_error() {
        let p = expanded("functions:\n  f:\n    events:\n      - httpApi: GET\n").unwrap_err();
        assert!(p.message.contains("METHOD path"), "{}", p.message);
        assert_eq!(p.location.unwrap().start.line, 4);
    }
}
