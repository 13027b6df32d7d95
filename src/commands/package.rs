//! `sls package`: builds the deployment artifacts into `.serverless/` (or `--package DIR`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Args;

use crate::package::{Packaged, human_bytes};
use crate::session::Context;

#[derive(Debug, Args)]
pub struct PackageArgs {
    /// Directory for the artifacts and manifest [default: .serverless in the service directory]
    #[arg(short = 'p', long = "package", value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// Package although the config lists this plugin, whose job sls cannot do (repeatable)
    #[arg(long = "ignore-plugin", value_name = "NAME")]
    pub ignore_plugin: Vec<String>,
}

pub fn run(cx: &Context, args: &PackageArgs) -> anyhow::Result<()> {
    let loaded = cx.load_config()?;
    loaded.refuse_plugins(&args.ignore_plugin)?;
    let started = Instant::now();
    let out_dir = cx.out_dir(&loaded, args.out_dir.as_deref());
    let packaged = cx.package(&loaded, &out_dir)?;
    if cx.global.json {
        println!("{}", serde_json::to_string_pretty(&packaged.manifest)?);
    } else {
        summary(
            cx,
            &packaged,
            &shown_dir(&cx.cwd, &out_dir),
            started.elapsed(),
        )?;
    }
    Ok(())
}

fn shown_dir(cwd: &Path, dir: &Path) -> String {
    dir.strip_prefix(cwd).unwrap_or(dir).display().to_string()
}

fn summary(cx: &Context, p: &Packaged, dir: &str, took: Duration) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    let m = &p.manifest;
    writeln!(
        out,
        "Packaged {} (stage {}) into {dir} in {} ms",
        m.service,
        m.stage,
        took.as_millis()
    )?;
    for (name, a) in &m.artifacts {
        let state = if a.prebuilt {
            "prebuilt"
        } else if p.rebuilt.contains(name) {
            "built"
        } else {
            "unchanged"
        };
        writeln!(
            out,
            "  {}  {}, {} ({} unzipped), sha256 {}  [{state}]",
            cx.style.paint("1", name),
            crate::output::steps::counted(a.files, "file"),
            human_bytes(a.size),
            human_bytes(a.unzipped_size),
            a.sha256
        )?;
        writeln!(out, "      functions: {}", a.functions.join(", "))?;
    }
    if m.artifacts.is_empty() {
        writeln!(out, "  no functions, nothing to package")?;
    }
    Ok(())
}
