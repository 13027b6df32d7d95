//! `.env` files: read for `${env:…}` when `useDotenv: true` (as Serverless v3 does) and, for
//! serverless-dotenv-plugin, put into every function's environment (as that plugin does).
//!
//! The file format is dotenv's: `KEY=value` lines, `export ` allowed before the key, `#` comments
//! (after an unquoted value only when preceded by a space), single quotes taken literally, double
//! quotes with `\n` and `\"` escapes and spanning lines; `${NAME}` and `$NAME` in unquoted and
//! double-quoted values expand from the values read before and then the process environment
//! (dotenv-expand, on by default in both).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The pairs of a dotenv text, in order (a later repeat of a key wins when collected).
pub fn parse(text: &str) -> Vec<(String, String, bool)> {
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, rest)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        if key.is_empty()
            || !key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-')
        {
            continue;
        }
        let rest = rest.trim_start();
        // (value, whether `$` references in it expand)
        let (value, expands) = match rest.chars().next() {
            Some(q @ ('"' | '\'' | '`')) => {
                let mut body = rest[1..].to_string();
                // A quoted value may run over lines until its closing quote.
                while !body.contains(q) {
                    match lines.next() {
                        Some(next) => {
                            body.push('\n');
                            body.push_str(next);
                        }
                        None => break,
                    }
                }
                let inner = body.split(q).next().unwrap_or("").to_string();
                if q == '"' {
                    (
                        inner
                            .replace("\\n", "\n")
                            .replace("\\r", "\r")
                            .replace("\\\"", "\""),
                        true,
                    )
                } else {
                    (inner, q == '`')
                }
            }
            _ => {
                let v = match rest.find(" #") {
                    Some(i) => &rest[..i],
                    None => rest,
                };
                (v.trim_end().to_string(), true)
            }
        };
        out.push((key.to_string(), value, expands));
    }
    out
}

/// `${NAME}`, `${NAME:-default}` and `$NAME` from `known`, then `env`; `\$` is a literal dollar.
fn expand(value: &str, known: &HashMap<String, String>, env: &HashMap<String, String>) -> String {
    let look = |name: &str| known.get(name).or_else(|| env.get(name)).cloned();
    let mut out = String::new();
    let mut rest = value;
    while let Some(i) = rest.find('$') {
        if rest[..i].ends_with('\\') {
            out.push_str(&rest[..i - 1]);
            out.push('$');
            rest = &rest[i + 1..];
            continue;
        }
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(body) = after.strip_prefix('{') {
            match body.find('}') {
                Some(end) => {
                    let inner = &body[..end];
                    let (name, default) = match inner.split_once(":-") {
                        Some((n, d)) => (n, Some(d)),
                        None => (inner, None),
                    };
                    out.push_str(
                        &look(name)
                            .or(default.map(str::to_string))
                            .unwrap_or_default(),
                    );
                    rest = &body[end + 1..];
                }
                None => {
                    out.push('$');
                    rest = after;
                }
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            if end == 0 {
                out.push('$');
            } else {
                out.push_str(&look(&after[..end]).unwrap_or_default());
            }
            rest = &after[end..];
        }
    }
    out.push_str(rest);
    out
}

/// The variables of `files` (those that exist), read in order, a later file's value winning;
/// references expand as each file is read.
pub fn read_files(
    files: &[PathBuf],
    env: &HashMap<String, String>,
) -> Result<Vec<(String, String)>, (PathBuf, std::io::Error)> {
    let mut merged: Vec<(String, String)> = Vec::new();
    for f in files {
        let text = match std::fs::read_to_string(f) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err((f.clone(), e)),
        };
        let mut known: HashMap<String, String> = HashMap::new();
        for (k, v, expands) in parse(&text) {
            let v = if expands { expand(&v, &known, env) } else { v };
            known.insert(k.clone(), v.clone());
            match merged.iter_mut().find(|(have, _)| *have == k) {
                Some(slot) => slot.1 = v,
                None => merged.push((k, v)),
            }
        }
    }
    Ok(merged)
}

/// Serverless v3's `useDotenv: true`: `.env.{stage}` when it exists, else `.env`.
pub fn use_dotenv_file(dir: &Path, stage: &str) -> PathBuf {
    let staged = dir.join(format!(".env.{stage}"));
    if staged.is_file() {
        staged
    } else {
        dir.join(".env")
    }
}

/// serverless-dotenv-plugin's files when `custom.dotenv.path` is not given, for its
/// environment name (`NODE_ENV`, else `--stage`, else `development`), in the order it merges
/// them (a later file's value wins, so `.env` has the last word — as in the plugin).
pub fn plugin_files(dir: &Path, env_name: &str) -> Vec<PathBuf> {
    let mut names = vec![format!(".env.{env_name}.local"), format!(".env.{env_name}")];
    if env_name != "test" {
        names.push(".env.local".into());
    }
    names.push(".env".into());
    names.into_iter().map(|n| dir.join(n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotenv_lines_quotes_comments_and_expansion() {
        let text = "# a comment\nexport A=1\nB = two words # said\nC='$A literal'\nD=\"line\\nnext $A\"\nE=${A}x${MISSING:-dflt}\nF=\"multi\nline\"\nnot a pair\nG=a#b\n";
        let env = HashMap::from([("HOME".to_string(), "/h".to_string())]);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".env"), text).unwrap();
        std::fs::write(dir.path().join(".env.local"), "A=override\nH=$HOME\n").unwrap();
        let got = read_files(
            &[
                dir.path().join(".env"),
                dir.path().join("absent"),
                dir.path().join(".env.local"),
            ],
            &env,
        )
        .unwrap();
        let m: HashMap<_, _> = got.iter().cloned().collect();
        assert_eq!(m["A"], "override", "a later file wins");
        assert_eq!(m["B"], "two words");
        assert_eq!(m["C"], "$A literal");
        assert_eq!(m["D"], "line\nnext 1");
        assert_eq!(m["E"], "1xdflt");
        assert_eq!(m["F"], "multi\nline");
        assert_eq!(m["G"], "a#b");
        assert_eq!(m["H"], "/h");
        assert_eq!(got.len(), 8, "{got:?}");
        assert_eq!(got[0].0, "A", "the first file's order is kept");
    }

    #[test]
    fn which_files() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(use_dotenv_file(dir.path(), "prod"), dir.path().join(".env"));
        std::fs::write(dir.path().join(".env.prod"), "").unwrap();
        assert_eq!(
            use_dotenv_file(dir.path(), "prod"),
            dir.path().join(".env.prod")
        );
        let names: Vec<String> = plugin_files(dir.path(), "test")
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, [".env.test.local", ".env.test", ".env"]);
    }
}
