//! Variable resolution, Serverless v3 style, on the span-carrying tree.
//!
//! Sources: `self:`, `opt:`, `env:`, `file(…)`, `sls:`, `param:`, `aws:region`, `strToBool(…)`,
//! and those AWS answers (`ssm:`, `cf:`, `s3:`, `aws:accountId`; see `remote`).
//! A string that is exactly one variable takes the variable's value with its type (a number stays
//! a number, a mapping stays a mapping); variables inside longer strings are interpolated as text.
//! Fallbacks (`${env:X, 'dflt'}`, `${opt:stage, self:provider.stage}`) are tried left to right;
//! null and "not found" fall through. Variables may nest (`${env:${sls:stage}_URL}`).
//!
//! Resolution is lazy and memoised in place: a `self:` reference resolves its target first and
//! stores the result back into the tree, so each site is evaluated once. A stack of the sites
//! being evaluated detects cycles and names them.
//!
//! Three rooms: `grammar` (the `${…}` syntax), this module (the resolver: walking the tree,
//! fallbacks, memoising, cycles) and `sources` (what each source reads).

use std::collections::HashMap;
use std::path::PathBuf;

use crate::diag::{Problem, Sources, Span};

use super::yaml::{Node, Value};
use grammar::{Alt, Piece, Var, parse_template};
pub use remote::{Answer, Fetch, NoAws, ParameterKind, Remote};

mod grammar;
mod javascript;
mod remote;
mod sources;

/// Everything outside the config that variables can read. The environment is passed in rather
/// than read here, so tests (and `--json` snapshots) control it.
#[derive(Debug, Clone, Default)]
pub struct VarOptions {
    pub stage: Option<String>,
    pub region: Option<String>,
    pub profile: Option<String>,
    pub config: Option<String>,
    /// `--param key=value`, in command-line order (later wins).
    pub params: Vec<(String, String)>,
    pub env: HashMap<String, String>,
    /// Directory `${file(…)}` paths are relative to: the config file's directory.
    pub base_dir: PathBuf,
    /// The same directory as the user named it (relative to where sls runs), for messages.
    pub display_dir: PathBuf,
}

pub const DEFAULT_STAGE: &str = "dev";
pub const DEFAULT_REGION: &str = "us-east-1";

const SOURCES: &[&str] = &[
    "self",
    "opt",
    "env",
    "file",
    "sls",
    "param",
    "aws",
    "strToBool",
    "ssm",
    "cf",
    "s3",
];
const MAX_DEPTH: u32 = 64;

/// Resolves every variable in `root`; values only AWS has are refused.
pub fn resolve(root: Node, sources: &mut Sources, opts: &VarOptions) -> Result<Node, Problem> {
    resolve_with(root, sources, opts, &NoAws).map(|r| r.root)
}

/// A resolved tree and the SecureString values in it, which output must not show.
pub struct Resolved {
    pub root: Node,
    pub secrets: Vec<String>,
}

/// Passes over a tree before every AWS value it needs is known: a nested variable whose address
/// is itself fetched needs one pass per level.
const MAX_PASSES: usize = 8;

/// Resolves every variable in `root`, reading AWS's values through `fetch`.
pub fn resolve_with(
    root: Node,
    sources: &mut Sources,
    opts: &VarOptions,
    fetch: &dyn Fetch,
) -> Result<Resolved, Problem> {
    let mut answers = HashMap::new();
    let mut files = HashMap::new();
    let mut scripts = HashMap::new();
    for _ in 0..MAX_PASSES {
        let mut r = Resolver {
            root: root.clone(),
            sources: &mut *sources,
            opts,
            in_progress: Vec::new(),
            files: std::mem::take(&mut files),
            depth: 0,
            answers: &answers,
            wanted: Vec::new(),
            secrets: Vec::new(),
            scripts: std::mem::take(&mut scripts),
        };
        let result = r.resolve_deep(&mut Vec::new());
        let Resolver {
            root: resolved,
            files: read,
            scripts: ran,
            wanted,
            mut secrets,
            ..
        } = r;
        files = read;
        scripts = ran;
        if wanted.is_empty() {
            result?;
            secrets.sort();
            secrets.dedup();
            return Ok(Resolved {
                root: resolved,
                secrets,
            });
        }
        // An error in a pass with stand-ins may come from a stand-in: fetch, then look again.
        let region = opts.region.clone().unwrap_or_else(|| {
            resolved
                .at_path(&["provider", "region"])
                .and_then(Node::as_str)
                .filter(|r| !r.is_empty() && !has_variable(r))
                .unwrap_or(DEFAULT_REGION)
                .to_string()
        });
        let got = fetch.fetch(&wanted, &region);
        answers.extend(wanted.into_iter().zip(got));
    }
    Err(Problem::error(
        format!("variables that read AWS nest more than {MAX_PASSES} levels deep"),
        Some(root.span),
    ))
}

/// True when a string holds something that looks like a variable.
pub fn has_variable(s: &str) -> bool {
    s.contains("${")
}

// ---------------------------------------------------------------------------------------------
// Evaluation.

/// Where the variable being evaluated stands in the config.
#[derive(Clone)]
struct Site {
    path: String,
    span: Span,
}

enum Lookup {
    Found(Node),
    /// Not found, and why (shown if no fallback helps).
    Missing(String),
}

struct Resolver<'a> {
    root: Node,
    sources: &'a mut Sources,
    opts: &'a VarOptions,
    in_progress: Vec<String>,
    files: HashMap<PathBuf, Option<Node>>,
    depth: u32,
    /// AWS's answers so far; a value not among them is added to `wanted`.
    answers: &'a HashMap<Remote, Result<Answer, String>>,
    wanted: Vec<Remote>,
    /// SecureString values met.
    secrets: Vec<String>,
    /// JavaScript variable files run, by path and address: each once per pass.
    scripts: HashMap<String, Result<Option<serde_json::Value>, String>>,
}

fn dotted(path: &[String]) -> String {
    if path.is_empty() {
        "(top level)".into()
    } else {
        path.join(".")
    }
}

impl Resolver<'_> {
    fn resolve_deep(&mut self, path: &mut Vec<String>) -> Result<(), Problem> {
        let Some(node) = self.root.at_path(path) else {
            return Ok(());
        };
        if node.as_str().is_some_and(has_variable) {
            self.resolve_site(path)?;
        }
        let keys: Vec<String> = match self.root.at_path(path).map(|n| &n.value) {
            Some(Value::Map(entries)) => entries.iter().map(|e| e.key.clone()).collect(),
            Some(Value::Seq(items)) => (0..items.len()).map(|i| i.to_string()).collect(),
            _ => return Ok(()),
        };
        for k in keys {
            path.push(k);
            self.resolve_deep(path)?;
            path.pop();
        }
        Ok(())
    }

    /// Evaluates the string at `path` and stores the result in its place.
    fn resolve_site(&mut self, path: &[String]) -> Result<(), Problem> {
        let here = dotted(path);
        let Some(node) = self.root.at_path(path) else {
            return Ok(());
        };
        let Some(text) = node.as_str() else {
            return Ok(());
        };
        let span = node.span;
        let site = Site {
            path: here.clone(),
            span,
        };
        if let Some(i) = self.in_progress.iter().position(|p| *p == here) {
            let mut chain = self.in_progress[i..].to_vec();
            chain.push(here.clone());
            return Err(Problem::error(
                format!("variable cycle: the value of `{here}` depends on itself"),
                Some(span),
            )
            .label("this value is needed to compute itself")
            .note(format!("the chain is {}", chain.join(" → ")))
            .help("break the cycle by giving one of these keys a literal value"));
        }
        let pieces = parse_template(text).map_err(|m| {
            Problem::error(
                format!("invalid variable syntax at `{here}`: {m}"),
                Some(span),
            )
            .help("variables look like ${source:address, 'fallback'}, e.g. ${opt:stage, 'dev'}")
        })?;
        if !pieces.iter().any(|p| matches!(p, Piece::Var(_))) {
            return Ok(());
        }
        self.in_progress.push(here);
        let result = self.eval_pieces(&pieces, &site);
        self.in_progress.pop();
        let value = result?;
        if let Some(slot) = self.root.at_path_mut(path) {
            *slot = value;
        }
        Ok(())
    }

    /// The fully resolved value at a `self:` path, or None when the path does not exist.
    fn resolve_path(&mut self, path: &[String]) -> Result<Option<Node>, Problem> {
        for i in 0..=path.len() {
            match self.root.at_path(&path[..i]) {
                None => return Ok(self.default_for(path)),
                Some(n) if n.as_str().is_some_and(has_variable) => self.resolve_site(&path[..i])?,
                Some(_) => {}
            }
        }
        self.resolve_deep(&mut path.to_vec())?;
        Ok(self.root.at_path(path).cloned())
    }

    /// `provider.stage` and `provider.region` have defaults even when not written.
    fn default_for(&self, path: &[String]) -> Option<Node> {
        let span = self.root.span;
        match path {
            [p, s] if p == "provider" && s == "stage" => {
                Some(Node::new(Value::Str(DEFAULT_STAGE.into()), span))
            }
            [p, r] if p == "provider" && r == "region" => {
                Some(Node::new(Value::Str(DEFAULT_REGION.into()), span))
            }
            _ => None,
        }
    }

    fn eval_pieces(&mut self, pieces: &[Piece], site: &Site) -> Result<Node, Problem> {
        if let [Piece::Var(v)] = pieces {
            let mut node = self.eval_required(v, site)?;
            if !matches!(node.value, Value::Map(_) | Value::Seq(_)) {
                node.span = site.span;
            }
            return Ok(node);
        }
        let mut out = String::new();
        for p in pieces {
            match p {
                Piece::Lit(s) => out.push_str(s),
                Piece::Var(v) => {
                    let node = self.eval_required(v, site)?;
                    match (&node.value, node.scalar_text()) {
                        (Value::Null, _) | (_, None) => {
                            return Err(Problem::error(
                                format!(
                                    "`{}` at `{}` resolves to {}, which cannot be part of a string",
                                    v.raw,
                                    site.path,
                                    node.kind()
                                ),
                                Some(self.refine(site.span, &v.raw)),
                            )
                            .help(
                                "use the variable as the whole value, or point it at a plain value",
                            ));
                        }
                        (_, Some(t)) => out.push_str(&t),
                    }
                }
            }
        }
        Ok(Node::new(Value::Str(out), site.span))
    }

    fn eval_required(&mut self, v: &Var, site: &Site) -> Result<Node, Problem> {
        match self.eval_var(v, site)? {
            Lookup::Found(n) => Ok(n),
            Lookup::Missing(why) => {
                let mut p = Problem::error(
                    format!("cannot resolve `{}` at `{}`: {why}", v.raw, site.path),
                    Some(self.refine(site.span, &v.raw)),
                )
                .label("not resolvable");
                if v.alts.len() == 1 {
                    let inner = v.raw.trim_start_matches("${").trim_end_matches('}');
                    p = p.help(format!(
                        "provide it, or add a fallback: ${{{inner}, 'default'}}"
                    ));
                }
                Err(p)
            }
        }
    }

    /// Narrows a site's span to the variable's own text when it is on the site's line.
    fn refine(&self, span: Span, raw: &str) -> Span {
        let Some(line) = self.sources.line(span.file, span.start.line) else {
            return span;
        };
        let skip: usize = line
            .chars()
            .take(span.start.col.saturating_sub(1) as usize)
            .map(char::len_utf8)
            .sum();
        match line.get(skip..).and_then(|rest| rest.find(raw)) {
            Some(off) => {
                let col = line[..skip + off].chars().count() as u32 + 1;
                let mut s = span;
                s.start.col = col;
                s.end = s.start;
                s.end.col = col + raw.chars().count() as u32;
                s
            }
            None => span,
        }
    }

    fn eval_var(&mut self, v: &Var, site: &Site) -> Result<Lookup, Problem> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.depth = 0;
            return Err(Problem::error(
                format!(
                    "variables at `{}` nest more than {MAX_DEPTH} levels deep; is a file including itself?",
                    site.path
                ),
                Some(site.span),
            ));
        }
        let result = self.eval_alts(v, site);
        self.depth = self.depth.saturating_sub(1);
        result
    }

    fn eval_alts(&mut self, v: &Var, site: &Site) -> Result<Lookup, Problem> {
        let mut reasons = Vec::new();
        let mut null = None;
        for alt in &v.alts {
            let found = match alt {
                Alt::Lit(value) => Lookup::Found(Node::new(value.clone(), site.span)),
                Alt::Nested(inner) => self.eval_var(inner, site)?,
                Alt::Ref {
                    source,
                    params,
                    address,
                } => self.eval_ref(source, params, address.as_deref(), site)?,
            };
            match found {
                Lookup::Found(n) if n.value == Value::Null => null = Some(n),
                Lookup::Found(n) => return Ok(Lookup::Found(n)),
                Lookup::Missing(why) => reasons.push(why),
            }
        }
        Ok(match null {
            Some(n) => Lookup::Found(n),
            None => Lookup::Missing(reasons.join("; ")),
        })
    }

    fn eval_text(&mut self, pieces: &[Piece], site: &Site) -> Result<String, Problem> {
        let node = self.eval_pieces(pieces, site)?;
        node.scalar_text().ok_or_else(|| {
            Problem::error(
                format!(
                    "a variable address at `{}` resolves to {}, expected text",
                    site.path,
                    node.kind()
                ),
                Some(site.span),
            )
        })
    }

    /// A value read from outside the tree may itself hold variables (a file's strings do).
    fn finish_value(&mut self, node: Node, site: &Site) -> Result<Node, Problem> {
        match node.as_str() {
            Some(s) if has_variable(s) => {
                let pieces = parse_template(s).map_err(|m| {
                    Problem::error(format!("invalid variable syntax: {m}"), Some(node.span))
                })?;
                self.eval_pieces(&pieces, site)
            }
            _ => Ok(node),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::yaml;
    use super::*;

    fn run(text: &str, opts: VarOptions) -> Result<Node, Problem> {
        let mut s = Sources::default();
        let f = s.add("serverless.yml", text);
        let root = yaml::parse(&s, f).unwrap();
        resolve(root, &mut s, &opts)
    }

    fn ok(text: &str) -> Node {
        run(text, VarOptions::default()).unwrap()
    }

    fn val<'a>(n: &'a Node, path: &str) -> &'a Value {
        let p: Vec<&str> = path.split('.').collect();
        &n.at_path(&p).unwrap().value
    }

    #[test]
    fn self_references_keep_types() {
        let n = ok(
            "custom:\n  mem: 512\n  list: [a, b]\nprovider:\n  memorySize: ${self:custom.mem}\n  x: ${self:custom.list}\n",
        );
        assert_eq!(val(&n, "provider.memorySize"), &Value::Int(512));
        assert!(matches!(val(&n, "provider.x"), Value::Seq(v) if v.len() == 2));
    }

    #[test]
    fn interpolation_and_nesting() {
        let mut o = VarOptions::default();
        o.env.insert("prod_URL".into(), "https://p".into());
        o.stage = Some("prod".into());
        let n = run(
            "a: svc-${sls:stage}-${self:custom.n}\nb: ${env:${opt:stage}_URL}\ncustom:\n  n: 3\n",
            o,
        )
        .unwrap();
        assert_eq!(val(&n, "a"), &Value::Str("svc-prod-3".into()));
        assert_eq!(val(&n, "b"), &Value::Str("https://p".into()));
    }

    #[test]
    fn fallbacks_in_order() {
        let n = ok(
            "provider:\n  stage: qa\na: ${opt:stage, self:provider.stage}\nb: ${env:NOPE, 'dflt'}\nc: ${env:NOPE, 10}\nd: ${env:NOPE, self:custom.nope, \"x,y\"}\n",
        );
        assert_eq!(val(&n, "a"), &Value::Str("qa".into()));
        assert_eq!(val(&n, "b"), &Value::Str("dflt".into()));
        assert_eq!(val(&n, "c"), &Value::Int(10));
        assert_eq!(val(&n, "d"), &Value::Str("x,y".into()));
    }

    #[test]
    fn sls_stage_prefers_option_then_provider_then_dev() {
        assert_eq!(
            val(&ok("a: ${sls:stage}\n"), "a"),
            &Value::Str("dev".into())
        );
        assert_eq!(
            val(
                &ok("provider:\n  stage: ${opt:stage, 'qa'}\na: ${sls:stage}\n"),
                "a"
            ),
            &Value::Str("qa".into())
        );
    }

    #[test]
    fn params_by_stage_then_default_then_cli() {
        let text = "params:\n  default:\n    d: 1\n    t: def\n  prod:\n    t: prodval\na: ${param:t}\nb: ${param:d}\n";
        let o = VarOptions {
            stage: Some("prod".into()),
            ..Default::default()
        };
        let n = run(text, o.clone()).unwrap();
        assert_eq!(val(&n, "a"), &Value::Str("prodval".into()));
        assert_eq!(val(&n, "b"), &Value::Int(1));
        let o2 = VarOptions {
            params: vec![("t".into(), "cli".into())],
            ..o
        };
        assert_eq!(val(&run(text, o2).unwrap(), "a"), &Value::Str("cli".into()));
    }

    #[test]
    fn cycles_are_named() {
        let p = run("a: ${self:b}\nb: ${self:a}\n", VarOptions::default()).unwrap_err();
        assert!(p.message.contains("cycle"), "{}", p.message);
        assert!(p.notes[0].contains("a → b → a"), "{:?}", p.notes);
    }

    #[test]
    fn missing_values_name_variable_and_column() {
        let p = run("x:\n  y: pre-${env:SLS_TEST_NOPE}\n", VarOptions::default()).unwrap_err();
        assert!(p.message.contains("${env:SLS_TEST_NOPE}"), "{}", p.message);
        assert!(p.message.contains("`x.y`"), "{}", p.message);
        let s = p.location.unwrap();
        assert_eq!((s.start.line, s.start.col, s.end.col), (2, 10, 30));
    }

    #[test]
    fn non_variables_stay_literal() {
        let n = ok("a: ${AWS::Region}\nb: ${foo}\nc: $notvar\n");
        assert_eq!(val(&n, "a"), &Value::Str("${AWS::Region}".into()));
        assert_eq!(val(&n, "b"), &Value::Str("${foo}".into()));
    }

    #[test]
    fn str_to_bool() {
        let n = ok("a: ${strToBool(true)}\nb: ${strToBool(0)}\n");
        assert_eq!(val(&n, "a"), &Value::Bool(true));
        assert_eq!(val(&n, "b"), &Value::Bool(false));
    }

    #[test]
    fn files_yaml_and_json_with_addresses() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("c.yml"),
            "db:\n  host: h\n  port: 5432\nstage: ${sls:stage}\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("c.json"), "{\"a\": {\"b\": [1, 2]}}").unwrap();
        let o = VarOptions {
            base_dir: dir.path().to_path_buf(),
            ..Default::default()
        };
        let n = run("a: ${file(./c.yml):db.port}\nb: ${file(./c.json):a.b}\nc: ${file(./c.yml)}\nd: ${file(./nope.yml), 'none'}\n", o).unwrap();
        assert_eq!(val(&n, "a"), &Value::Int(5432));
        assert!(matches!(val(&n, "b"), Value::Seq(v) if v.len() == 2));
        assert_eq!(val(&n, "c.stage"), &Value::Str("dev".into()));
        assert_eq!(val(&n, "d"), &Value::Str("none".into()));
    }

    /// AWS's answers for the resolver's tests; counts what it was asked.
    struct Canned(std::cell::RefCell<Vec<Remote>>);

    impl Fetch for Canned {
        fn fetch(&self, keys: &[Remote], region: &str) -> Vec<Result<Answer, String>> {
            self.0.borrow_mut().extend(keys.iter().cloned());
            keys.iter()
                .map(|k| match k {
                    Remote::Parameter { name, .. } => Ok(match name.as_str() {
                        "/dev/db" => Answer::Parameter {
                            kind: ParameterKind::String,
                            value: format!("db-in-{region}"),
                        },
                        "/list" => Answer::Parameter {
                            kind: ParameterKind::StringList,
                            value: "a,b,c".into(),
                        },
                        "/secret" => Answer::Parameter {
                            kind: ParameterKind::SecureString,
                            value: "{\"user\":\"u\",\"pass\":\"hunter2\"}".into(),
                        },
                        "/which" => Answer::Parameter {
                            kind: ParameterKind::String,
                            value: "blue".into(),
                        },
                        "/denied" => return Err("ssm:GetParameter: AccessDeniedException".into()),
                        _ => Answer::Absent,
                    }),
                    Remote::Output { stack, output, .. } if stack == "net" && output == "Vpc" => {
                        Ok(Answer::Text("vpc-1".into()))
                    }
                    Remote::AccountId => Ok(Answer::Text("123456789012".into())),
                    _ => Ok(Answer::Absent),
                })
                .collect()
        }
    }

    fn with_aws(text: &str) -> (Result<Resolved, Problem>, Vec<Remote>) {
        let mut s = Sources::default();
        let f = s.add("serverless.yml", text);
        let root = yaml::parse(&s, f).unwrap();
        let canned = Canned(Default::default());
        let r = resolve_with(root, &mut s, &VarOptions::default(), &canned);
        (r, canned.0.into_inner())
    }

    #[test]
    fn aws_values_are_read_once_each_and_shaped_as_v3() {
        let (r, asked) = with_aws(
            "provider:\n  region: eu-west-1\ncustom:\n  blue: sky\na: ${ssm:/${sls:stage}/db}\nb: ${ssm:/list}\nc: ${ssm:/secret}\nd: ${ssm(raw):/list}\ne: ${ssm:/nope, 'dflt'}\nf: ${cf:net.Vpc}\ng: arn:${aws:accountId}:x\nh: ${self:custom.${ssm:/which}}\ni: ${ssm:/dev/db}\nj: ${ssm:/list~split}\n",
        );
        let r = r.unwrap();
        let n = &r.root;
        assert_eq!(val(n, "a"), &Value::Str("db-in-eu-west-1".into()));
        assert!(matches!(val(n, "b"), Value::Seq(v) if v.len() == 3));
        assert_eq!(val(n, "c.pass"), &Value::Str("hunter2".into()));
        assert_eq!(val(n, "d"), &Value::Str("a,b,c".into()));
        assert_eq!(val(n, "e"), &Value::Str("dflt".into()));
        assert_eq!(val(n, "f"), &Value::Str("vpc-1".into()));
        assert_eq!(val(n, "g"), &Value::Str("arn:123456789012:x".into()));
        assert_eq!(val(n, "h"), &Value::Str("sky".into()));
        assert!(matches!(val(n, "j"), Value::Seq(v) if v.len() == 3));
        assert!(
            r.secrets.contains(&"hunter2".to_string()),
            "{:?}",
            r.secrets
        );
        // `/dev/db` is used twice and `/list` three times (raw and split are one parameter).
        let mut names: Vec<String> = asked
            .iter()
            .filter_map(|k| match k {
                Remote::Parameter { name, .. } => Some(name.clone()),
                _ => None,
            })
            .collect();
        let total = names.len();
        names.sort();
        names.dedup();
        assert_eq!(total, names.len(), "asked twice: {asked:?}");
    }

    #[test]
    fn aws_refusals_and_absences_are_located() {
        let (r, _) = with_aws("x:\n  y: ${ssm:/denied}\n");
        let p = r.err().unwrap();
        assert!(
            p.message.contains("cannot read `${ssm:/denied}` at `x.y`"),
            "{}",
            p.message
        );
        assert!(p.message.contains("AccessDenied"), "{}", p.message);
        assert_eq!(p.location.unwrap().start.line, 2);
        let (r, _) = with_aws("x: ${cf:other.Out}\n");
        let p = r.err().unwrap();
        assert!(
            p.message
                .contains("output `Out` of stack `other` does not exist"),
            "{}",
            p.message
        );
        let (r, _) = with_aws("x: ${s3:nobucketkey}\n");
        assert!(r.err().unwrap().message.contains("bucket-name/key"));
        // Without AWS at hand the value is refused, not guessed.
        let p = run("x: ${aws:accountId}\n", VarOptions::default()).unwrap_err();
        assert!(
            p.message.contains("does not read AWS values"),
            "{}",
            p.message
        );
    }

    #[test]
    fn javascript_files_run_with_node() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("c.js"),
            "module.exports = { port: 5432, nested: { a: [1, 2] }, name: ({ options }) => `svc-${options.stage}`, later: async () => ({ ok: true }) };\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("f.js"),
            "module.exports = async ({ options }) => ({ region: options.region });\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("e.mjs"), "export default { esm: 'yes' };\n").unwrap();
        std::fs::write(dir.path().join("bad.js"), "throw new Error('boom');\n").unwrap();
        let mut o = VarOptions {
            base_dir: dir.path().to_path_buf(),
            stage: Some("qa".into()),
            ..Default::default()
        };
        o.env
            .insert("PATH".into(), std::env::var("PATH").unwrap_or_default());
        let n = run(
            "a: ${file(./c.js):port}\nb: ${file(./c.js):nested.a}\nc: ${file(./c.js):name}\nd: ${file(./c.js):later.ok}\ne: ${file(./f.js):region}\nf: ${file(./e.mjs):esm}\ng: ${file(./c.js):nope, 'dflt'}\n",
            o.clone(),
        )
        .unwrap();
        assert_eq!(val(&n, "a"), &Value::Int(5432));
        assert!(matches!(val(&n, "b"), Value::Seq(v) if v.len() == 2));
        assert_eq!(val(&n, "c"), &Value::Str("svc-qa".into()));
        assert_eq!(val(&n, "d"), &Value::Bool(true));
        assert_eq!(val(&n, "e"), &Value::Str("us-east-1".into()));
        assert_eq!(val(&n, "f"), &Value::Str("yes".into()));
        assert_eq!(val(&n, "g"), &Value::Str("dflt".into()));
        let p = run("a: ${file(./bad.js):x}\n", o.clone()).unwrap_err();
        assert!(p.message.contains("boom"), "{}", p.message);
        o.env.remove("PATH");
        let p = run("a: ${file(./c.js):port}\n", o).unwrap_err();
        assert!(p.message.contains("node is not on PATH"), "{}", p.message);
    }

    #[test]
    fn parses_fallback_lists_and_unknown_sources() {
        assert!(
            parse_template("${opt:stage, dev}")
                .unwrap_err()
                .contains("quote literal fallbacks")
        );
        assert!(
            parse_template("${foo:bar}")
                .unwrap_err()
                .contains("unknown variable source `foo`")
        );
        assert!(
            parse_template("${opt:stage")
                .unwrap_err()
                .contains("never closed")
        );
        let p = parse_template("${self:custom.${opt:stage}.x, 'a'}").unwrap();
        let [Piece::Var(v)] = p.as_slice() else {
            panic!("{p:?}")
        };
        assert_eq!(v.alts.len(), 2);
    }
}
