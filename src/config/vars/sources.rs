//! The variable sources: what `${self:…}`, `${opt:…}`, `${env:…}`, `${sls:…}`, `${aws:…}`,
//! `${param:…}`, `${strToBool(…)}` and `${file(…)}` read, and the stage and region they see.
//! A new source is one more arm in [`Resolver::eval_ref`] and, if it reads something, a method here.

use std::path::Path;

use super::grammar::Piece;
use super::{DEFAULT_REGION, DEFAULT_STAGE, Lookup, Resolver, Site};
use crate::config::yaml::{self, Node, Value};
use crate::diag::Problem;

impl Resolver<'_> {
    pub(super) fn eval_ref(
        &mut self,
        source: &str,
        params: &[Vec<Piece>],
        address: Option<&[Piece]>,
        site: &Site,
    ) -> Result<Lookup, Problem> {
        let addr = match address {
            Some(a) => Some(self.eval_text(a, site)?),
            None => None,
        };
        let str_node = |s: &str| Lookup::Found(Node::new(Value::Str(s.to_string()), site.span));
        let need_addr = |addr: Option<String>| -> Result<String, Problem> {
            addr.filter(|a| !a.is_empty()).ok_or_else(|| {
                Problem::error(
                    format!(
                        "`${{{source}:…}}` at `{}` needs an address after the colon",
                        site.path
                    ),
                    Some(site.span),
                )
            })
        };
        match source {
            "self" => {
                let addr = addr.unwrap_or_default();
                let path: Vec<String> = if addr.is_empty() {
                    Vec::new()
                } else {
                    addr.split('.').map(str::to_string).collect()
                };
                Ok(match self.resolve_path(&path)? {
                    Some(n) => Lookup::Found(n),
                    None => {
                        Lookup::Missing(format!("`{addr}` does not exist in the configuration"))
                    }
                })
            }
            "opt" => {
                let name = need_addr(addr)?;
                let o = self.opts;
                let v = match name.as_str() {
                    "stage" | "s" => o.stage.as_deref(),
                    "region" | "r" => o.region.as_deref(),
                    "aws-profile" | "profile" => o.profile.as_deref(),
                    "config" | "c" => o.config.as_deref(),
                    _ => None,
                };
                Ok(match v {
                    Some(v) => str_node(v),
                    None => Lookup::Missing(format!("no --{name} option was given")),
                })
            }
            "env" => {
                let name = need_addr(addr)?;
                Ok(match self.opts.env.get(&name) {
                    Some(v) => str_node(v),
                    None => Lookup::Missing(format!("environment variable `{name}` is not set")),
                })
            }
            "sls" => match need_addr(addr)?.as_str() {
                "stage" => {
                    let stage = self.stage()?;
                    Ok(str_node(&stage))
                }
                "instanceId" => Ok(str_node(&instance_id())),
                other => Err(Problem::error(
                    format!(
                        "unknown `sls` variable `{other}` at `{}`; known: stage, instanceId",
                        site.path
                    ),
                    Some(site.span),
                )),
            },
            "aws" => match need_addr(addr)?.as_str() {
                "region" => {
                    let region = self.region()?;
                    Ok(str_node(&region))
                }
                "accountId" => self.eval_remote(source, params, Some("accountId".into()), site),
                other => Err(Problem::error(
                    format!(
                        "unknown `aws` variable `{other}` at `{}`; known: region, accountId",
                        site.path
                    ),
                    Some(site.span),
                )),
            },
            "ssm" | "cf" | "s3" => self.eval_remote(source, params, addr, site),
            "param" => {
                let name = need_addr(addr)?;
                self.param(&name)
            }
            "strToBool" => {
                let text = match params.first() {
                    Some(p) => self.eval_text(p, site)?,
                    None => String::new(),
                };
                match text.trim() {
                    "true" | "1" => Ok(Lookup::Found(Node::new(Value::Bool(true), site.span))),
                    "false" | "0" => Ok(Lookup::Found(Node::new(Value::Bool(false), site.span))),
                    other => Err(Problem::error(
                        format!(
                            "strToBool at `{}` got `{other}`, expected true, false, 1 or 0",
                            site.path
                        ),
                        Some(site.span),
                    )),
                }
            }
            "file" => {
                let Some(p) = params.first() else {
                    return Err(Problem::error(
                        format!(
                            "`file()` at `{}` needs a path, e.g. ${{file(./config.yml):key}}",
                            site.path
                        ),
                        Some(site.span),
                    ));
                };
                let rel = self.eval_text(p, site)?;
                self.file(&rel, addr.as_deref(), site)
            }
            other => Err(Problem::error(
                format!("unknown variable source `{other}` at `{}`", site.path),
                Some(site.span),
            )),
        }
    }

    pub(super) fn lookup_str(&mut self, path: &[&str]) -> Result<Option<String>, Problem> {
        let path: Vec<String> = path.iter().map(|s| s.to_string()).collect();
        Ok(self
            .resolve_path(&path)?
            .filter(|n| n.value != Value::Null)
            .and_then(|n| n.scalar_text()))
    }

    /// The stage in force: `--stage`, else `provider.stage`, else `dev`.
    pub(super) fn stage(&mut self) -> Result<String, Problem> {
        if let Some(s) = &self.opts.stage {
            return Ok(s.clone());
        }
        Ok(self
            .lookup_str(&["provider", "stage"])?
            .unwrap_or_else(|| DEFAULT_STAGE.into()))
    }

    pub(super) fn region(&mut self) -> Result<String, Problem> {
        if let Some(r) = &self.opts.region {
            return Ok(r.clone());
        }
        Ok(self
            .lookup_str(&["provider", "region"])?
            .unwrap_or_else(|| DEFAULT_REGION.into()))
    }

    /// `--param` first, then `params.<stage>`, then `params.default`.
    pub(super) fn param(&mut self, name: &str) -> Result<Lookup, Problem> {
        if let Some((_, v)) = self.opts.params.iter().rev().find(|(k, _)| k == name) {
            return Ok(Lookup::Found(Node::new(
                Value::Str(v.clone()),
                self.root.span,
            )));
        }
        let stage = self.stage()?;
        for group in [stage.as_str(), "default"] {
            let path = vec!["params".to_string(), group.to_string(), name.to_string()];
            if let Some(n) = self.resolve_path(&path)? {
                if n.value != Value::Null {
                    return Ok(Lookup::Found(n));
                }
            }
        }
        Ok(Lookup::Missing(format!(
            "no parameter `{name}` (looked in --param, params.{stage} and params.default)"
        )))
    }

    pub(super) fn file(
        &mut self,
        rel: &str,
        addr: Option<&str>,
        site: &Site,
    ) -> Result<Lookup, Problem> {
        let rel = rel.trim();
        let full = self.opts.base_dir.join(rel);
        let shown = display_path(&self.opts.display_dir, rel);
        let ext = Path::new(rel)
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        if ext == "ts" {
            return Err(Problem::error(
                format!(
                    "`{shown}` at `{}`: TypeScript variable files are not run by sls",
                    site.path
                ),
                Some(site.span),
            )
            .help("compile it to .js (or .mjs), or export the values to a .yml or .json file"));
        }
        if !full.is_file() {
            return Ok(Lookup::Missing(format!("file `{shown}` does not exist")));
        }
        if matches!(ext.as_str(), "js" | "cjs" | "mjs") {
            return self.javascript(&full, &shown, addr, site);
        }
        let root = match self.files.get(&full) {
            Some(r) => r.clone(),
            None => {
                let bytes = std::fs::read(&full).map_err(|e| {
                    Problem::error(
                        format!("cannot read `{shown}` (used at `{}`): {e}", site.path),
                        Some(site.span),
                    )
                })?;
                let text = String::from_utf8(bytes).map_err(|_| {
                    Problem::error(
                        format!("`{shown}` (used at `{}`) is not UTF-8 text", site.path),
                        Some(site.span),
                    )
                })?;
                let parsed = if matches!(ext.as_str(), "yml" | "yaml" | "json") {
                    let id = self.sources.add(shown.clone(), text);
                    yaml::parse_any(self.sources, id)?
                } else {
                    Some(Node::new(Value::Str(text), site.span))
                };
                self.files.insert(full.clone(), parsed.clone());
                parsed
            }
        };
        let Some(mut node) = root else {
            return Ok(Lookup::Missing(format!("file `{shown}` is empty")));
        };
        if let Some(addr) = addr.filter(|a| !a.is_empty()) {
            for seg in addr.split('.') {
                node = self.finish_value(node, site)?;
                match node.get(seg) {
                    Some(child) => node = child.clone(),
                    None => {
                        return Ok(Lookup::Missing(format!(
                            "`{addr}` does not exist in `{shown}`"
                        )));
                    }
                }
            }
        }
        Ok(Lookup::Found(self.finish_value(node, site)?))
    }
}

impl Resolver<'_> {
    /// A JavaScript variables file, run with node (see `javascript`).
    fn javascript(
        &mut self,
        full: &Path,
        shown: &str,
        addr: Option<&str>,
        site: &Site,
    ) -> Result<Lookup, Problem> {
        let full = full.canonicalize().unwrap_or_else(|_| full.to_path_buf());
        let mut options = serde_json::Map::new();
        options.insert("stage".into(), self.stage()?.into());
        options.insert("region".into(), self.region()?.into());
        let key = format!("{}\n{}", full.display(), addr.unwrap_or(""));
        let outcome = match self.scripts.get(&key) {
            Some(o) => o.clone(),
            None => {
                let o = super::javascript::run(
                    &full,
                    addr.filter(|a| !a.is_empty()),
                    &serde_json::Value::Object(options),
                    &self.opts.env,
                );
                self.scripts.insert(key, o.clone());
                o
            }
        };
        match outcome {
            Ok(Some(v)) => {
                let node = Node::from_json(&v, site.span);
                Ok(Lookup::Found(self.finish_value(node, site)?))
            }
            Ok(None) => Ok(Lookup::Missing(match addr {
                Some(a) if !a.is_empty() => format!("`{a}` does not exist in `{shown}`"),
                _ => format!("`{shown}` exports nothing"),
            })),
            Err(why) => Err(Problem::error(
                format!("cannot use `{shown}` at `{}`: {why}", site.path),
                Some(site.span),
            )),
        }
    }
}

fn display_path(base: &Path, rel: &str) -> String {
    let rel = rel.trim_start_matches("./");
    if base.as_os_str().is_empty() || base == Path::new(".") {
        rel.to_string()
    } else {
        format!("{}/{rel}", base.display())
    }
}

/// `${sls:instanceId}`: unique per run, as in Serverless.
fn instance_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{:x}", nanos ^ u128::from(std::process::id()))
}
