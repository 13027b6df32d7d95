//! `sls create`: new services from templates embedded in the binary (the `templates/`
//! directory, read at build time) or from a directory of the user's own. Every template is a
//! runnable service named `my-service`; that name is replaced wherever it appears.

use std::path::{Path, PathBuf};

use include_dir::{Dir, include_dir};

static EMBEDDED: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/templates");

/// The name every template uses for its service, replaced by the chosen one.
pub const PLACEHOLDER: &str = "my-service";

pub struct Template {
    pub name: &'static str,
    pub description: &'static str,
}

pub const TEMPLATES: &[Template] = &[
    Template {
        name: "aws-nodejs",
        description: "Node.js 22 function behind an HTTP API",
    },
    Template {
        name: "aws-python3",
        description: "Python 3.12 function behind an HTTP API",
    },
    Template {
        name: "aws-rust",
        description: "Rust function (lambda_runtime, provided.al2023) behind an HTTP API",
    },
    Template {
        name: "aws-nodejs-schedule",
        description: "Node.js 22 job that runs on a schedule (every 10 minutes)",
    },
    Template {
        name: "aws-python3-sqs",
        description: "Python 3.12 SQS queue consumer with partial batch failures",
    },
];

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("no template named `{name}`; `sls create --list` shows them: {known}")]
    UnknownTemplate { name: String, known: String },
    #[error("`{0}` is not empty; choose another --path, or pass --force to write into it anyway")]
    NotEmpty(PathBuf),
    #[error("`{name}` cannot be a service name: {why}")]
    InvalidName { name: String, why: String },
    #[error("`{0}` is not a template directory: it has no serverless.yml")]
    NotATemplate(PathBuf),
    #[error("cannot write `{path}`: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Where the files come from.
pub enum Source<'a> {
    Embedded(&'a str),
    Local(&'a Path),
}

/// Serverless' rule: a letter, then letters, digits and hyphens; short enough that
/// `{service}-{stage}-{function}` leaves room within Lambda's 64 characters.
pub fn validate_name(name: &str) -> Result<(), CreateError> {
    let why = if name.is_empty() {
        Some("it is empty".to_string())
    } else if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        Some("it must start with a letter".into())
    } else if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
    {
        Some(format!(
            "`{c}` is not allowed (letters, digits and hyphens only)"
        ))
    } else if name.ends_with('-') {
        Some("it must not end with a hyphen".into())
    } else if name.len() > 40 {
        Some(format!(
            "it has {} characters; keep it within 40 so that function names fit Lambda's 64",
            name.len()
        ))
    } else {
        None
    };
    match why {
        Some(why) => Err(CreateError::InvalidName {
            name: name.into(),
            why,
        }),
        None => Ok(()),
    }
}

/// Writes the template into `target` with `service` substituted; returns the files written,
/// relative to `target`.
pub fn create(
    source: Source<'_>,
    target: &Path,
    service: &str,
    force: bool,
) -> Result<Vec<PathBuf>, CreateError> {
    validate_name(service)?;
    let files = match source {
        Source::Embedded(name) => embedded(name)?,
        Source::Local(dir) => local(dir)?,
    };
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| CreateError::Io { path, source }
    };
    let occupied = target.is_dir()
        && std::fs::read_dir(target)
            .map_err(io(target))?
            .next()
            .is_some();
    if occupied && !force {
        return Err(CreateError::NotEmpty(target.to_path_buf()));
    }
    let mut written = Vec::new();
    for (rel, bytes) in files {
        let path = target.join(&rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        let bytes = match String::from_utf8(bytes) {
            Ok(text) => text.replace(PLACEHOLDER, service).into_bytes(),
            Err(e) => e.into_bytes(),
        };
        std::fs::write(&path, bytes).map_err(io(&path))?;
        written.push(rel);
    }
    Ok(written)
}

fn embedded(name: &str) -> Result<Vec<(PathBuf, Vec<u8>)>, CreateError> {
    let dir = TEMPLATES
        .iter()
        .find(|t| t.name == name)
        .and_then(|t| EMBEDDED.get_dir(t.name))
        .ok_or_else(|| CreateError::UnknownTemplate {
            name: name.into(),
            known: TEMPLATES
                .iter()
                .map(|t| t.name)
                .collect::<Vec<_>>()
                .join(", "),
        })?;
    let mut out = Vec::new();
    collect(dir, dir.path(), &mut out);
    Ok(out)
}

fn collect(dir: &Dir<'_>, root: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
    for f in dir.files() {
        let rel = f.path().strip_prefix(root).unwrap_or(f.path());
        out.push((rel.to_path_buf(), f.contents().to_vec()));
    }
    for d in dir.dirs() {
        collect(d, root, out);
    }
}

/// A user's template directory; build output and VCS metadata are left behind.
fn local(dir: &Path) -> Result<Vec<(PathBuf, Vec<u8>)>, CreateError> {
    if !dir.join("serverless.yml").is_file() {
        return Err(CreateError::NotATemplate(dir.to_path_buf()));
    }
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|source| CreateError::Io {
            path: d.clone(),
            source,
        })?;
        for e in entries.flatten() {
            let path = e.path();
            let name = e.file_name();
            if [".git", "node_modules", ".serverless", "target"]
                .iter()
                .any(|skip| name == *skip)
            {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).map_err(|source| CreateError::Io {
                    path: path.clone(),
                    source,
                })?;
                out.push((path.strip_prefix(dir).unwrap_or(&path).to_path_buf(), bytes));
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_template_is_embedded_and_every_embedded_one_listed() {
        let dirs: Vec<&str> = EMBEDDED.dirs().filter_map(|d| d.path().to_str()).collect();
        for t in TEMPLATES {
            assert!(dirs.contains(&t.name), "{} has no directory", t.name);
            assert!(
                EMBEDDED
                    .get_file(format!("{}/serverless.yml", t.name))
                    .is_some()
            );
            assert!(EMBEDDED.get_file(format!("{}/README.md", t.name)).is_some());
            assert!(
                EMBEDDED
                    .get_file(format!("{}/.gitignore", t.name))
                    .is_some()
            );
        }
        assert_eq!(dirs.len(), TEMPLATES.len(), "{dirs:?}");
    }

    #[test]
    fn names_follow_serverless_rules() {
        assert!(validate_name("orders-api2").is_ok());
        for bad in ["", "2fast", "with_underscore", "trailing-", &"x".repeat(41)] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
    }
}
