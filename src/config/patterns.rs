//! `package.patterns` as Serverless v3 applies them: every file starts included (its glob is
//! `**`), then each pattern in order sets the state of the files it matches — included, or
//! excluded when written `!pattern` — so a later pattern wins over an earlier one.
//!
//! Matching follows micromatch with `dot: true`: `*` stays inside one path segment and matches
//! dotfiles, `**` spans segments, and a pattern without `/` matches only at the top level.

use globset::{Candidate, GlobBuilder, GlobSet, GlobSetBuilder};

/// A pattern that cannot be used, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("pattern `{pattern}` {reason}")]
pub struct PatternError {
    pub pattern: String,
    pub reason: String,
}

/// An ordered list of include/exclude globs, compiled into one matcher.
#[derive(Debug, Clone)]
pub struct Patterns {
    set: GlobSet,
    /// For each glob in `set`, whether it includes (true) or excludes (false).
    include: Vec<bool>,
    source: Vec<String>,
}

impl Patterns {
    /// Compiles `patterns`, each optionally prefixed with `!`, in the order given.
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<Patterns, PatternError> {
        let mut builder = GlobSetBuilder::new();
        let mut include = Vec::with_capacity(patterns.len());
        let mut source = Vec::with_capacity(patterns.len());
        for p in patterns {
            let p = p.as_ref();
            let (inc, glob) = split(p);
            builder.add(compile(p, glob)?);
            include.push(inc);
            source.push(p.to_string());
        }
        let set = builder.build().map_err(|e| PatternError {
            pattern: patterns
                .iter()
                .map(AsRef::as_ref)
                .collect::<Vec<_>>()
                .join(", "),
            reason: e.to_string(),
        })?;
        Ok(Patterns {
            set,
            include,
            source,
        })
    }

    /// Whether `path` (relative, `/`-separated) ends up included.
    pub fn includes(&self, path: &str) -> bool {
        self.state(&Candidate::new(path), &mut Vec::new())
    }

    /// Like [`Patterns::includes`], reusing `scratch` between calls to avoid allocations.
    pub fn state(&self, path: &Candidate<'_>, scratch: &mut Vec<usize>) -> bool {
        self.set.matches_candidate_into(path, scratch);
        scratch.iter().max().is_none_or(|&i| self.include[i])
    }

    /// Whether nothing below directory `dir` (relative, no trailing `/`) can be included, so the
    /// walk need not enter it. Conservative: true only when a later exclude covers the whole
    /// tree (`**`, or `some/literal/path/**` above or at `dir`) and no include after it has a
    /// literal start that could lead into `dir`.
    pub fn excludes_tree(&self, dir: &str) -> bool {
        let below = format!("{dir}/");
        let Some(k) = self.source.iter().rposition(|p| {
            let (inc, g) = split(p);
            let g = g.strip_prefix("./").unwrap_or(g);
            !inc && (g == "**"
                || g.strip_suffix("/**").is_some_and(|lit| {
                    literal_prefix(lit) == lit && below.starts_with(&format!("{lit}/"))
                }))
        }) else {
            return false;
        };
        self.source[k + 1..].iter().all(|p| {
            let (inc, g) = split(p);
            let g = g.strip_prefix("./").unwrap_or(g);
            let lit = literal_prefix(g);
            !inc || !(below.starts_with(lit) || lit.starts_with(&below))
        })
    }

    /// The patterns as written, in order.
    pub fn source(&self) -> &[String] {
        &self.source
    }
}

/// Splits a leading `!` off: `(true, glob)` for an include, `(false, glob)` for an exclude.
pub fn split(p: &str) -> (bool, &str) {
    match p.strip_prefix('!') {
        Some(rest) => (false, rest),
        None => (true, p),
    }
}

/// The part of a glob before its first special character.
fn literal_prefix(g: &str) -> &str {
    &g[..g.find(['*', '?', '[', '{', '\\']).unwrap_or(g.len())]
}

/// Checks one pattern as written (with or without `!`) without building a matcher set.
pub fn check(p: &str) -> Result<(), PatternError> {
    compile(p, split(p).1).map(drop)
}

fn compile(written: &str, glob: &str) -> Result<globset::Glob, PatternError> {
    let err = |reason: &str| PatternError {
        pattern: written.to_string(),
        reason: reason.to_string(),
    };
    let glob = glob.strip_prefix("./").unwrap_or(glob);
    if glob.is_empty() {
        return Err(err("is empty"));
    }
    if glob.starts_with('/') || glob.contains('\\') || glob.get(1..2) == Some(":") {
        return Err(err(
            "must be relative to the service directory, with `/` separators",
        ));
    }
    if glob.split('/').any(|seg| seg == "..") {
        return Err(err(
            "reaches outside the service directory (`..`); only files inside it are packaged",
        ));
    }
    GlobBuilder::new(glob)
        .literal_separator(true)
        .backslash_escape(true)
        .empty_alternates(true)
        .build()
        .map_err(|e| err(&format!("is not a valid glob: {}", e.kind())))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (patterns, path, included?) — each row is what Serverless v3 decides for that file; the
    /// table was checked against micromatch 4.0.8 (Serverless v3's matcher) with `dot: true`.
    const CASES: &[(&[&str], &str, bool)] = &[
        // No pattern: everything is in.
        (&[], "handler.js", true),
        (&[], ".env", true),
        // Exclude a tree, then re-include part of it: later wins.
        (&["!node_modules/**"], "node_modules/a/index.js", false),
        (&["!node_modules/**"], "handler.js", true),
        (
            &["!node_modules/**", "node_modules/a/**"],
            "node_modules/a/index.js",
            true,
        ),
        (
            &["!node_modules/**", "node_modules/a/**"],
            "node_modules/b/index.js",
            false,
        ),
        (
            &["node_modules/a/**", "!node_modules/**"],
            "node_modules/a/index.js",
            false,
        ),
        // Exclude all, then include a folder (the example's pattern).
        (&["!**", "src/**"], "src/a/b.js", true),
        (&["!**", "src/**"], "package.json", false),
        (&["!**", "src/**"], ".git/config", false),
        // `*` stays in one segment; no basename matching.
        (&["!*.md"], "README.md", false),
        (&["!*.md"], "docs/guide.md", true),
        (&["!**/*.md"], "docs/guide.md", false),
        (&["!**/*.md"], "README.md", false),
        (&["!src/*.test.js"], "src/a.test.js", false),
        (&["!src/*.test.js"], "src/deep/a.test.js", true),
        // dot: true — `*` and `**` match dotfiles and dot directories.
        (&["!*"], ".env", false),
        (&["!**"], ".github/workflows/ci.yml", false),
        (&["!.*"], ".eslintrc", false),
        (&["!.*"], "src/.eslintrc", true),
        // A bare folder name matches only a file of that name, not its contents.
        (&["!tests"], "tests/a.js", true),
        (&["!tests/**"], "tests/a.js", false),
        // `./` prefix is ignored, as micromatch does.
        (&["!./secret.txt"], "secret.txt", false),
        // Braces, classes and `?`.
        (&["!**/*.{ts,map}"], "dist/a.map", false),
        (&["!**/*.{ts,map}"], "dist/a.js", true),
        (&["!file[0-9].txt"], "file7.txt", false),
        (&["!file?.txt"], "fileA.txt", false),
        (&["!file?.txt"], "file10.txt", true),
        // Including what is already included changes nothing.
        (&["handler.js"], "other.js", true),
    ];

    #[test]
    fn matches_serverless_v3_semantics() {
        for (patterns, path, want) in CASES {
            let p = Patterns::new(patterns).unwrap();
            assert_eq!(p.includes(path), *want, "{patterns:?} on {path}");
        }
    }

    #[test]
    fn excluded_trees_are_pruned_only_when_nothing_can_come_back() {
        let p = |pats: &[&str], dir: &str| Patterns::new(pats).unwrap().excludes_tree(dir);
        assert!(p(&["!**"], "target"));
        assert!(p(&["!**", "example/**"], "target"));
        assert!(!p(&["!**", "example/**"], "example"));
        assert!(!p(&["!**", "ex*/**"], "example"));
        assert!(!p(&["!**", "**/*.js"], "target"));
        assert!(p(&["!node_modules/**"], "node_modules"));
        assert!(p(&["!node_modules/**"], "node_modules/a/b"));
        assert!(!p(
            &["!node_modules/**", "node_modules/a/**"],
            "node_modules"
        ));
        assert!(p(
            &["!node_modules/**", "node_modules/a/**"],
            "node_modules/b"
        ));
        assert!(!p(
            &["!node_modules/**", "node_modules/a/**"],
            "node_modules/a"
        ));
        assert!(!p(&["!node_modules/a/**"], "node_modules"));
        assert!(!p(&["!node_modules/*/**"], "node_modules/a"));
        assert!(!p(&["!*.js"], "src"));
        assert!(!p(&[], "src"));
        // An exclude that is itself overridden by a later one does not matter.
        assert!(p(&["src/**", "!**"], "src"));
    }

    #[test]
    fn refuses_patterns_outside_the_service() {
        for bad in ["../shared/**", "!/etc/passwd", "a/../../b", "C:/x", "", "!"] {
            let e = check(bad).unwrap_err();
            assert_eq!(e.pattern, bad);
        }
        assert!(
            check("src/[")
                .unwrap_err()
                .reason
                .contains("not a valid glob")
        );
        assert!(check("!src/**").is_ok());
    }
}
