//! `sls alias …`: the aliases release scripts move. Today: `list`.

use std::io::Write;

use clap::{Args, Subcommand};
use serde_json::json;

use crate::cli::{Context, UsageError};
use crate::commands::deploy::{Connection, connect};
use crate::provider::aws::aliases;

#[derive(Debug, Args)]
pub struct AliasArgs {
    #[command(subcommand)]
    pub command: AliasCommand,
}

#[derive(Debug, Subcommand)]
pub enum AliasCommand {
    /// Each function's aliases: the version behind each, weights, code digest and deploy time
    List {
        /// Only this function (its key under `functions:`)
        #[arg(short, long)]
        function: Option<String>,
    },
}

pub fn run(cx: &Context, args: &AliasArgs) -> anyhow::Result<()> {
    match &args.command {
        AliasCommand::List { function } => list(cx, function.as_deref()),
    }
}

fn list(cx: &Context, only: Option<&str>) -> anyhow::Result<()> {
    let Connection {
        desired: d,
        rt,
        aws,
    } = connect(cx)?;
    if let Some(f) = only
        && !d.functions.iter().any(|x| x.key == f)
    {
        return Err(UsageError(format!("function `{f}` is not in the config")).into());
    }
    let functions = rt.block_on(aliases::list(&aws, &d, only))?;
    if cx.global.json {
        let doc = json!({ "service": d.service, "stage": d.stage, "region": d.region,
                          "functions": functions });
        println!("{doc:#}");
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    for f in &functions {
        writeln!(out, "{} ({})", f.function, f.name)?;
        if !f.deployed {
            writeln!(out, "  not deployed")?;
            continue;
        }
        if f.aliases.is_empty() {
            writeln!(out, "  no aliases")?;
        }
        for a in &f.aliases {
            let share: f64 = a.weights.values().sum();
            let mut line = format!("  {} → version {}", a.alias, a.version);
            if !a.weights.is_empty() {
                let extra: Vec<String> = a
                    .weights
                    .iter()
                    .map(|(v, w)| format!("version {v} {:.0}%", w * 100.0))
                    .collect();
                line.push_str(&format!(
                    " {:.0}%, {}",
                    (1.0 - share) * 100.0,
                    extra.join(", ")
                ));
            }
            if let Some(sha) = &a.code_sha256 {
                line.push_str(&format!("  sha256 {}", &sha[..sha.len().min(12)]));
            }
            if let Some(at) = &a.deployed_at {
                line.push_str(&format!("  deployed {at}"));
            }
            writeln!(out, "{line}")?;
        }
    }
    Ok(())
}
