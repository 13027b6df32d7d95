//! `sls package`: builds the deployment artifacts into `.serverless/` (or `--package DIR`).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::Context;
use crate::config::Loaded;
use crate::package::{self, Limits, Packaged, Request, human_bytes};

#[derive(Debug, Args)]
pub struct PackageArgs {
    /// Directory for the artifacts and manifest [default: .serverless in the service directory]
    #[arg(short = 'p', long = "package", value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

pub fn run(cx: &Context, args: &PackageArgs) -> anyhow::Result<()> {
    let loaded = cx.load_config()?;
    let started = Instant::now();
    let out_dir = out_dir(cx, &loaded, args.out_dir.as_deref());
    let packaged = build(cx, &loaded, &out_dir)?;
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

/// `--package DIR` relative to the working directory, else `.serverless` in the service.
pub fn out_dir(cx: &Context, loaded: &Loaded, given: Option<&Path>) -> PathBuf {
    match given {
        Some(d) => cx.cwd.join(d),
        None => loaded.service_dir.join(package::DEFAULT_OUT_DIR),
    }
}

/// Packages the service (reusing unchanged artifacts) and prints the warnings.
pub fn build(cx: &Context, loaded: &Loaded, out_dir: &Path) -> anyhow::Result<Packaged> {
    let config_file = loaded
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let req = Request {
        config: &loaded.config,
        service_dir: &loaded.service_dir,
        config_file: &config_file,
        out_dir: out_dir.to_path_buf(),
        stage: &loaded.stage,
        region: &loaded.region,
        limits: Limits::default(),
    };
    let bar = progress_bar(cx);
    let result = package::package(&req, &|done, total| {
        if bar.length() != Some(total) {
            bar.set_length(total);
        }
        bar.set_position(done);
    });
    bar.finish_and_clear();
    let packaged = result?;
    let mut err = std::io::stderr().lock();
    for w in &packaged.warnings {
        writeln!(err, "{}: {w}", cx.style.paint("1;33", "warning"))?;
    }
    Ok(packaged)
}

/// A bar on a terminal, for runs long enough to need one; nothing otherwise.
fn progress_bar(cx: &Context) -> ProgressBar {
    if cx.global.json || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(10));
    bar.set_style(
        ProgressStyle::with_template("Packaging {bar:30} {binary_bytes}/{binary_total_bytes}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    // Short runs finish before the first frame: no flicker for small services.
    bar.enable_steady_tick(Duration::from_millis(250));
    bar
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
            "  {}  {} files, {} ({} unzipped), sha256 {}  [{state}]",
            cx.style.paint("1", name),
            a.files,
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
