//! `sls tune -f`: invokes the function at several memory sizes and reports the cheapest and the
//! fastest (the arithmetic is `ops::tune`).

use std::io::Write;
use std::path::PathBuf;

use aws_sdk_lambda::types::InvocationType;
use clap::Args;
use serde_json::json;

use super::invoke::{event_text, function};
use crate::ops::price::{self, Arch};
use crate::ops::{report, tune};
use crate::provider::aws::remote::{self};
use crate::session::{Connection, Context, UsageError};

#[derive(Debug, Args)]
pub struct TuneArgs {
    /// The function's key under `functions:`
    #[arg(short, long)]
    pub function: String,
    /// Memory sizes to try, in MB
    #[arg(long, value_delimiter = ',', default_value = "128,256,512,1024,2048")]
    pub memory: Vec<u32>,
    /// Measured invocations per size (after one warm-up)
    #[arg(long, default_value_t = 10)]
    pub invocations: usize,
    /// The event: JSON, or any other text passed as a string
    #[arg(short, long, conflicts_with = "path")]
    pub data: Option<String>,
    /// A file holding the event
    #[arg(short, long, value_name = "FILE")]
    pub path: Option<PathBuf>,
}

pub fn tune(cx: &Context, a: &TuneArgs) -> anyhow::Result<()> {
    if let Some(bad) = a.memory.iter().find(|m| !(128..=10_240).contains(*m)) {
        return Err(UsageError(format!("memory {bad} MB is outside Lambda's 128–10240 MB")).into());
    }
    if a.invocations == 0 {
        return Err(UsageError("--invocations must be at least 1".into()).into());
    }
    let payload = event_text(cx, &a.data, &a.path)?;
    let d = cx.desired()?;
    let f = function(&d, &a.function)?;
    let (name, arch) = (f.name.clone(), Arch::of(&f.config.architecture));
    let rates = price::rates(&d.region);
    let Connection { rt, aws, .. } = cx.connect(d)?;
    let say = |s: String| {
        if !cx.global.json {
            eprintln!("{s}");
        }
    };
    say(format!(
        "publishing {} temporary versions of {name}",
        a.memory.len()
    ));
    let versions = rt.block_on(remote::publish_sizes(&aws, &name, &a.memory))?;
    let measured = (|| -> anyhow::Result<Vec<tune::Row>> {
        let mut rows = Vec::new();
        for (size, version, _) in &versions {
            say(format!(
                "{size} MB (version {version}): 1 warm-up + {} invocations",
                a.invocations
            ));
            let mut reports = Vec::new();
            for i in 0..=a.invocations {
                let out = rt.block_on(remote::invoke(
                    &aws,
                    &name,
                    version,
                    InvocationType::RequestResponse,
                    payload.clone(),
                    true,
                ))?;
                let r = out
                    .log_tail
                    .as_deref()
                    .and_then(|t| t.lines().find_map(report::parse));
                // The warm-up is counted apart: it carries the cold start.
                if let (Some(r), true) = (r, i > 0) {
                    reports.push(r);
                }
            }
            rows.push(tune::row(*size, (&rates, arch), a.invocations, &reports));
        }
        Ok(rows)
    })();
    let made: Vec<String> = versions
        .iter()
        .filter(|v| v.2)
        .map(|v| v.1.clone())
        .collect();
    let cleaned = rt.block_on(remote::delete_versions(&aws, &name, &made));
    let rows = measured?;
    cleaned?;
    let picks = tune::picks(&rows);
    let mut out = std::io::stdout().lock();
    if cx.global.json {
        writeln!(
            out,
            "{:#}",
            json!({ "function": name, "rows": rows, "picks": picks, "versionsRemoved": made })
        )?;
        return Ok(());
    }
    writeln!(
        out,
        "{:>8}  {:>12}  {:>12}  {:>5}  {:>16}",
        "memory", "avg ms", "billed ms", "cold", "$ per 1M calls"
    )?;
    for r in &rows {
        writeln!(
            out,
            "{:>5} MB  {:>12.1}  {:>12.1}  {:>5}  {:>16.4}",
            r.memory_mb, r.avg_duration_ms, r.avg_billed_ms, r.cold_starts, r.cost_per_million_usd
        )?;
    }
    match picks {
        None => writeln!(
            out,
            "no REPORT lines came back from the invocations: nothing to compare"
        )?,
        Some(p) => writeln!(
            out,
            "cheapest: {} MB, fastest: {} MB, balanced: {} MB",
            p.cheapest, p.fastest, p.balanced
        )?,
    }
    writeln!(
        out,
        "temporary versions removed: {}",
        if made.is_empty() {
            "none made".into()
        } else {
            made.join(", ")
        }
    )?;
    Ok(())
}
