//! `sls create`: a new service from a template.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use crate::scaffold::{self, CreateError, Source, TEMPLATES};
use crate::session::{Context, UsageError};

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The template to start from (see --list)
    #[arg(short, long, conflicts_with = "template_path")]
    pub template: Option<String>,
    /// A directory of your own to use as the template
    #[arg(long, value_name = "DIR")]
    pub template_path: Option<PathBuf>,
    /// Where to create the service [default: the current directory]
    #[arg(short, long, value_name = "DIR")]
    pub path: Option<PathBuf>,
    /// The service name [default: the --path directory's name, else the template's]
    #[arg(short, long)]
    pub name: Option<String>,
    /// Write into a directory that is not empty
    #[arg(long)]
    pub force: bool,
    /// List the templates and exit
    #[arg(long, conflicts_with_all = ["template", "template_path"])]
    pub list: bool,
}

pub fn run(cx: &Context, args: &CreateArgs) -> anyhow::Result<()> {
    if args.list {
        if cx.global.json {
            let list: Vec<_> = TEMPLATES
                .iter()
                .map(|t| json!({ "name": t.name, "description": t.description }))
                .collect();
            println!("{:#}", json!({ "templates": list }));
        } else {
            let mut out = std::io::stdout().lock();
            for t in TEMPLATES {
                writeln!(out, "{:<22} {}", t.name, t.description)?;
            }
        }
        return Ok(());
    }
    let chosen;
    let source = match (&args.template, &args.template_path) {
        (Some(t), _) => Source::Embedded(t),
        (None, Some(dir)) => Source::Local(dir),
        (None, None) => {
            chosen = choose()?;
            Source::Embedded(chosen)
        }
    };
    let target = match &args.path {
        Some(p) if p.is_absolute() => p.clone(),
        Some(p) => cx.cwd.join(p),
        None => cx.cwd.clone(),
    };
    let name = args
        .name
        .clone()
        .or_else(|| {
            args.path
                .as_ref()
                .and_then(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| scaffold::PLACEHOLDER.into());
    let written = scaffold::create(source, &target, &name, args.force).map_err(|e| match e {
        CreateError::Io { .. } => anyhow::Error::from(e),
        other => UsageError(other.to_string()).into(),
    })?;
    if cx.global.json {
        println!(
            "{:#}",
            json!({ "service": name, "path": target, "files": written })
        );
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "Created service {name} in {} ({}). Next: see its README.md, or run `sls deploy --dry-run` there.",
        target.display(),
        crate::output::steps::counted(written.len(), "file")
    )?;
    Ok(())
}

/// On a terminal, a numbered menu; never a prompt without one.
fn choose() -> anyhow::Result<&'static str> {
    if !std::io::stdin().is_terminal() {
        return Err(UsageError(
            "no template given: pass --template NAME (see `sls create --list`)".into(),
        )
        .into());
    }
    let mut err = std::io::stderr().lock();
    for (i, t) in TEMPLATES.iter().enumerate() {
        writeln!(err, "  {}) {:<22} {}", i + 1, t.name, t.description)?;
    }
    write!(err, "Template [1-{}]: ", TEMPLATES.len())?;
    err.flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let pick = line.trim();
    TEMPLATES
        .iter()
        .enumerate()
        .find(|(i, t)| pick == (i + 1).to_string() || pick == t.name)
        .map(|(_, t)| t.name)
        .ok_or_else(|| UsageError(format!("`{pick}` is not one of the templates")).into())
}
