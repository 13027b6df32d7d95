//! `sls deploy` (and `--dry-run`), `sls deploy function -f NAME`: package, read what exists,
//! plan, show the plan, carry it out, print the endpoints.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, Subcommand};
use serde_json::json;

use crate::plan::{self, ConflictError, desired};
use crate::provider::aws::{self, Scope};
use crate::session::{Connection, Context, UsageError};

#[derive(Debug, Args)]
pub struct DeployArgs {
    /// Print the plan and change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Use the artifacts and manifest already in DIR (from `sls package --package DIR`)
    #[arg(short = 'p', long = "package", value_name = "DIR")]
    pub package: Option<PathBuf>,
    /// Publish versions and move only this alias (created if missing), with a function URL
    /// to call it by; the live alias and the APIs keep serving the current versions
    #[arg(long, global = true, value_name = "NAME", value_parser = crate::release::check_alias_name)]
    pub alias: Option<String>,
    #[command(subcommand)]
    pub what: Option<DeployWhat>,
}

#[derive(Debug, Subcommand)]
pub enum DeployWhat {
    /// Update one function's code and configuration only (the fast path)
    Function {
        /// The function's key under `functions:`
        #[arg(short, long)]
        function: String,
    },
}

pub fn run(cx: &Context, args: &DeployArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let loaded = cx.load_config()?;
    let out_dir = cx.out_dir(&loaded, args.package.as_deref());
    let manifest = if args.package.is_some() {
        crate::package::Manifest::read(&out_dir).ok_or_else(|| {
            UsageError(format!(
                "no package manifest in `{}`: run `sls package --package DIR` first",
                out_dir.display()
            ))
        })?
    } else {
        cx.package(&loaded, &out_dir)?.manifest
    };
    let mut d = desired::desired(&loaded.config, &loaded.stage, &loaded.region, &manifest);
    if let Some(a) = &args.alias {
        d.alias = a.clone();
    }
    let only = match &args.what {
        Some(DeployWhat::Function { function }) => {
            d = d
                .only_function(function)
                .ok_or_else(|| UsageError(format!("function `{function}` is not in the config")))?;
            Some(function.clone())
        }
        None => None,
    };
    let Connection {
        desired: d,
        rt,
        aws,
    } = cx.connect(d)?;
    let scope = if only.is_some() {
        Scope::Functions
    } else {
        Scope::Service
    };
    let observed = rt.block_on(aws::observe(&aws, &d, scope))?;
    let mut the_plan = plan::plan(&d, &observed);
    if let Some(f) = &only {
        if !observed.functions.contains_key(&d.functions[0].name) {
            return Err(UsageError(format!(
                "function `{f}` has not been deployed yet: run `sls deploy` first"
            ))
            .into());
        }
        the_plan.steps.retain(|s| s.phase().in_function_deploy());
    }
    let mut err = std::io::stderr().lock();
    if !cx.global.json {
        crate::output::steps::print_plan(&mut err, &the_plan)?;
    }
    if !the_plan.conflicts.is_empty() {
        return Err(ConflictError(the_plan.conflicts.clone()).into());
    }
    if args.dry_run {
        if cx.global.json {
            let doc = json!({ "dryRun": true, "service": d.service, "stage": d.stage, "region": d.region,
                              "plan": the_plan, "awsCalls": aws.calls.tally() });
            println!("{doc:#}");
        }
        return Ok(());
    }
    let progress = crate::output::steps::StepProgress::new(cx.global.json, cx.style);
    aws.calls.on_throttle(progress.notifier());
    let outcome = rt.block_on(aws::execute(
        &aws,
        &d,
        &observed,
        &the_plan.steps,
        &out_dir,
        &progress,
    ))?;
    let staged = d.alias != d.live;
    // A staged alias is called through its function URL; the APIs serve the live alias.
    let mut urls = outcome.urls.clone();
    for f in &d.functions {
        if let Some(u) = observed
            .functions
            .get(&f.name)
            .and_then(|o| o.url.as_ref())
            .map(|u| u.url.clone())
        {
            urls.entry(f.key.clone()).or_insert(u);
        }
    }
    let endpoints: &[String] = if staged { &[] } else { &outcome.endpoints };
    let tally = aws.calls.tally();
    if cx.global.json {
        let functions: serde_json::Map<String, serde_json::Value> = d
            .functions
            .iter()
            .map(|f| (f.key.clone(), json!({ "name": f.name, "alias": d.alias, "version": outcome.versions.get(&f.key), "url": urls.get(&f.key) })))
            .collect();
        let doc = json!({ "service": d.service, "stage": d.stage, "region": d.region, "plan": the_plan,
                          "endpoints": endpoints, "functions": functions, "awsCalls": tally });
        println!("{doc:#}");
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    let what = if the_plan.is_empty() {
        "no changes".to_string()
    } else {
        format!("{} changes", the_plan.steps.len())
    };
    writeln!(
        out,
        "Deployed {} (stage {}, {}): {what} in {:.1} s, {} AWS calls ({} changing)",
        d.service,
        d.stage,
        d.region,
        started.elapsed().as_secs_f64(),
        tally.total,
        tally.mutating
    )?;
    if !endpoints.is_empty() {
        writeln!(out, "endpoints:")?;
        for e in endpoints {
            writeln!(out, "  {e}")?;
        }
    }
    writeln!(out, "functions:")?;
    for f in &d.functions {
        let v = outcome
            .versions
            .get(&f.key)
            .map_or(String::new(), |v| format!(", version {v}"));
        writeln!(out, "  {}: {} (alias {}{v})", f.key, f.name, d.alias)?;
        if let Some(u) = urls.get(&f.key) {
            writeln!(out, "    {u}")?;
        }
    }
    if staged {
        writeln!(
            out,
            "alias {} takes no traffic from the APIs; move it live with `sls alias promote --from {} --to {}`",
            d.alias, d.alias, d.live
        )?;
    }
    Ok(())
}
