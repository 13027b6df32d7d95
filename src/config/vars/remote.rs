//! The sources only AWS can answer: `${ssm:…}`, `${cf:…}`, `${s3:…}` and `${aws:accountId}`.
//!
//! The resolver stays synchronous and free of AWS: a pass that meets a value it has not been
//! given records it as wanted and goes on with a stand-in; [`super::resolve_with`] then asks the
//! [`Fetch`] for every wanted value at once (in parallel, each once) and runs the pass again.
//! Only what a pass actually reaches is asked for, so a fallback after a found value, or a
//! variable in a key nobody reads, costs no call. What AWS answers is turned into values here,
//! as Serverless v3 does: a StringList becomes a list, a SecureString holding JSON a mapping.

use super::grammar::Piece;
use super::{Lookup, Resolver, Site};
use crate::config::yaml::{Node, Value};
use crate::diag::{Problem, Span};

/// One value in AWS, as a variable names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Remote {
    /// An SSM parameter (Secrets Manager secrets too, under `/aws/reference/secretsmanager/`).
    Parameter {
        name: String,
        region: Option<String>,
        decrypt: bool,
    },
    /// An output of a CloudFormation stack.
    Output {
        stack: String,
        output: String,
        region: Option<String>,
    },
    /// An S3 object's body, as text.
    Object { bucket: String, key: String },
    /// The account the command's credentials belong to.
    AccountId,
}

/// AWS's answer for one [`Remote`], before any conversion.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// The parameter, stack, output or object does not exist: fallbacks apply.
    Absent,
    Parameter {
        kind: ParameterKind,
        value: String,
    },
    Text(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParameterKind {
    String,
    StringList,
    SecureString,
}

/// Reads values from AWS for the resolver. `region` is the config's own, for values that name none.
pub trait Fetch {
    /// One answer per key, in order; an `Err` holds the call, AWS's code and message.
    fn fetch(&self, keys: &[Remote], region: &str) -> Vec<Result<Answer, String>>;
}

/// For callers that have no AWS at hand: every value is refused, saying why.
pub struct NoAws;

impl Fetch for NoAws {
    fn fetch(&self, keys: &[Remote], _region: &str) -> Vec<Result<Answer, String>> {
        keys.iter()
            .map(|_| Err("this command does not read AWS values".to_string()))
            .collect()
    }
}

/// How a value is turned into config: v3's `raw`, `json` and the legacy `~split` suffix.
#[derive(Debug, Clone, Copy, Default)]
struct Shape {
    raw: bool,
    json: bool,
    split: bool,
}

impl Resolver<'_> {
    /// The `ssm`, `cf`, `s3` and `aws:accountId` arms of [`Resolver::eval_ref`].
    pub(super) fn eval_remote(
        &mut self,
        source: &str,
        params: &[Vec<Piece>],
        addr: Option<String>,
        site: &Site,
    ) -> Result<Lookup, Problem> {
        let mut texts = Vec::new();
        for p in params {
            texts.push(self.eval_text(p, site)?.trim().to_string());
        }
        let addr = addr.unwrap_or_default();
        let shown = if texts.is_empty() {
            format!("${{{source}:{addr}}}")
        } else {
            format!("${{{source}({}):{addr}}}", texts.join(", "))
        };
        let bad = |why: String| {
            Err(Problem::error(
                format!("`{shown}` at `{}`: {why}", site.path),
                Some(site.span),
            ))
        };
        if addr.is_empty() {
            return bad("the variable needs an address after the colon".into());
        }
        let mut shape = Shape::default();
        let (key, what) = match source {
            "ssm" => {
                let mut decrypt = true;
                let mut region = None;
                for t in &texts {
                    match t.as_str() {
                        "raw" => shape.raw = true,
                        "json" => shape.json = true,
                        "noDecrypt" => decrypt = false,
                        r if region.is_none() && !r.is_empty() => region = Some(r.to_string()),
                        other => {
                            return bad(format!(
                                "unknown parameter `{other}`; known: a region, raw, noDecrypt, json"
                            ));
                        }
                    }
                }
                // Serverless v2's suffixes, still found in public files.
                let name = match addr.rsplit_once('~') {
                    Some((n, "true")) => n.to_string(),
                    Some((n, "false")) => {
                        decrypt = false;
                        n.to_string()
                    }
                    Some((n, "split")) => {
                        shape.split = true;
                        n.to_string()
                    }
                    _ => addr.clone(),
                };
                let what = format!("SSM parameter `{name}`");
                (
                    Remote::Parameter {
                        name,
                        region,
                        decrypt,
                    },
                    what,
                )
            }
            "cf" => {
                let Some((stack, output)) = addr.split_once('.') else {
                    return bad("expected `stack-name.OutputKey`".into());
                };
                if texts.len() > 1 {
                    return bad("`cf(…)` takes one parameter, the region".into());
                }
                let what = format!("output `{output}` of stack `{stack}`");
                (
                    Remote::Output {
                        stack: stack.to_string(),
                        output: output.to_string(),
                        region: texts.first().cloned(),
                    },
                    what,
                )
            }
            "s3" => {
                let Some((bucket, key)) = addr
                    .split_once('/')
                    .filter(|(b, k)| !b.is_empty() && !k.is_empty())
                else {
                    return bad("expected `bucket-name/key`".into());
                };
                let what = format!("object `{key}` in bucket `{bucket}`");
                (
                    Remote::Object {
                        bucket: bucket.to_string(),
                        key: key.to_string(),
                    },
                    what,
                )
            }
            _ => (Remote::AccountId, "the account id".to_string()),
        };
        let Some(answer) = self.answers.get(&key) else {
            if !self.wanted.contains(&key) {
                self.wanted.push(key);
            }
            // A stand-in until the value is fetched; the pass is run again with it.
            return Ok(Lookup::Found(Node::new(
                Value::Str(String::new()),
                site.span,
            )));
        };
        let answer = match answer {
            Ok(a) => a.clone(),
            Err(msg) => {
                return Err(Problem::error(
                    format!("cannot read `{shown}` at `{}`: {msg}", site.path),
                    Some(site.span),
                )
                .label("AWS refused this value")
                .help("check the name, the region and that your credentials may read it"));
            }
        };
        let value = match answer {
            Answer::Absent => {
                return Ok(Lookup::Missing(format!("{what} does not exist")));
            }
            Answer::Text(t) => Value::Str(t),
            Answer::Parameter { kind, value } => {
                let secret = kind == ParameterKind::SecureString;
                let value = match kind {
                    ParameterKind::StringList if !shape.raw => list(&value, site.span),
                    _ if shape.split => list(&value, site.span),
                    ParameterKind::SecureString if !shape.raw && value.starts_with('{') => {
                        json_or_text(&value, false, site.span)
                            .map_err(|m| bad_json(&shown, site, &m))?
                    }
                    ParameterKind::String if shape.json => json_or_text(&value, true, site.span)
                        .map_err(|m| bad_json(&shown, site, &m))?,
                    _ => Value::Str(value),
                };
                if secret {
                    leaves(&value, &mut self.secrets);
                }
                value
            }
        };
        Ok(Lookup::Found(Node::new(value, site.span)))
    }
}

fn list(text: &str, span: Span) -> Value {
    Value::Seq(
        text.split(',')
            .map(|s| Node::new(Value::Str(s.to_string()), span))
            .collect(),
    )
}

/// JSON text as a value; text that is not JSON stays text unless JSON was asked for.
fn json_or_text(text: &str, strict: bool, span: Span) -> Result<Value, String> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v) => Ok(Node::from_json(&v, span).value),
        Err(e) if strict => Err(e.to_string()),
        Err(_) => Ok(Value::Str(text.to_string())),
    }
}

fn bad_json(shown: &str, site: &Site, msg: &str) -> Problem {
    // Never the text itself: it may be a secret.
    Problem::error(
        format!("`{shown}` at `{}` is not JSON: {msg}", site.path),
        Some(site.span),
    )
    .help("drop `json` to take the value as text")
}

/// Every text inside a value: a secret parsed into a mapping is hidden field by field.
fn leaves(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Str(s) => out.push(s.clone()),
        Value::Seq(items) => items.iter().for_each(|n| leaves(&n.value, out)),
        Value::Map(entries) => entries.iter().for_each(|e| leaves(&e.value.value, out)),
        Value::Null | Value::Bool(_) | Value::Int(_) | Value::Float(_) => {}
    }
}
