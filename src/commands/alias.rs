//! `sls alias …`: the aliases release scripts move: list, promote (at once or in steps with a
//! check), shift (weighted routing) and rollback.

use std::io::Write;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use serde_json::json;

use crate::provider::aws::release::{self as ops, Member, Source};
use crate::provider::aws::{Aws, aliases};
use crate::release::{ReleaseError, RolledBack, check_alias_name, parse_interval, parse_steps};
use crate::session::{Connection, Context, UsageError};

#[derive(Debug, Args)]
pub struct AliasArgs {
    #[command(subcommand)]
    pub command: AliasCommand,
    #[command(flatten)]
    pub lease: crate::session::LeaseArgs,
}

#[derive(Debug, Subcommand)]
pub enum AliasCommand {
    /// Each function's aliases: the version behind each, weights, code digest and deploy time
    List {
        /// Only this function (its key under `functions:`)
        #[arg(short, long)]
        function: Option<String>,
    },
    /// Point an alias at the versions another alias points to, for every function at once
    /// (or in steps, with --steps, checking between them)
    Promote {
        /// The alias whose versions go live
        #[arg(long, value_name = "ALIAS", value_parser = check_alias_name)]
        from: String,
        /// The alias to move [default: provider.alias, else live]
        #[arg(long, value_name = "ALIAS", value_parser = check_alias_name)]
        to: Option<String>,
        /// Shift gradually through these percentages, e.g. 10,25,50,100
        #[arg(long, value_name = "PERCENTS", value_parser = percents)]
        steps: Option<Percents>,
        /// Wait this long after each step, e.g. 60s, 5m [default: 60s]
        #[arg(long, value_name = "DURATION", value_parser = parse_interval, requires = "steps")]
        interval: Option<Duration>,
        /// A shell command run after each step; a non-zero exit rolls every alias back
        #[arg(long, value_name = "CMD", requires = "steps")]
        check: Option<String>,
        #[command(flatten)]
        only: Only,
    },
    /// Send a share of an alias' traffic to another version (weighted routing)
    #[command(disable_version_flag = true)]
    Shift {
        /// The alias whose traffic is split
        #[arg(value_parser = check_alias_name)]
        alias: String,
        /// Percent of the traffic for the other version (0 clears the split, 100 moves all)
        #[arg(long, value_parser = clap::value_parser!(u8).range(0..=100))]
        weight: u8,
        /// The alias pointing at the other version
        #[arg(long, value_name = "ALIAS", value_parser = check_alias_name, conflicts_with = "target_version", required_unless_present = "target_version")]
        from: Option<String>,
        /// The other version's number (per function: needs -f when there are several)
        #[arg(long = "version", id = "target_version", value_name = "N")]
        version: Option<u32>,
        #[command(flatten)]
        only: Only,
    },
    /// Undo the last move of an alias: clear a weighted split, else go back one version
    Rollback {
        #[arg(value_parser = check_alias_name)]
        alias: String,
        #[command(flatten)]
        only: Only,
    },
}

/// `--steps` as one value (a `Vec` would make clap expect the flag repeated).
#[derive(Debug, Clone)]
pub struct Percents(Vec<u8>);

fn percents(s: &str) -> Result<Percents, String> {
    parse_steps(s).map(Percents)
}

#[derive(Debug, Args)]
pub struct Only {
    /// Only this function (its key under `functions:`)
    #[arg(short, long)]
    function: Option<String>,
}

pub fn run(cx: &Context, args: &AliasArgs) -> anyhow::Result<()> {
    match &args.command {
        AliasCommand::List { function } => list(cx, function.as_deref()),
        AliasCommand::Promote {
            from,
            to,
            steps,
            interval,
            check,
            only,
        } => {
            let how = match steps {
                Some(s) => How::Gradual {
                    steps: s.0.clone(),
                    interval: interval.unwrap_or(Duration::from_secs(60)),
                    check: check.clone(),
                },
                None => How::Promote,
            };
            let source = Source::Alias(from.clone());
            release(cx, &args.lease, to.as_deref(), Some(source), only, how)
        }
        AliasCommand::Shift {
            alias,
            weight,
            from,
            version,
            only,
        } => {
            let source = match (from, version) {
                (Some(a), _) => Source::Alias(a.clone()),
                (None, Some(v)) => Source::Version(v.to_string()),
                (None, None) => unreachable!("clap requires --from or --version"),
            };
            release(
                cx,
                &args.lease,
                Some(alias),
                Some(source),
                only,
                How::Shift(*weight),
            )
        }
        AliasCommand::Rollback { alias, only } => {
            release(cx, &args.lease, Some(alias), None, only, How::Rollback)
        }
    }
}

enum How {
    Promote,
    Gradual {
        steps: Vec<u8>,
        interval: Duration,
        check: Option<String>,
    },
    Shift(u8),
    Rollback,
}

impl How {
    fn action(&self) -> &'static str {
        match self {
            How::Promote | How::Gradual { .. } => "promote",
            How::Shift(_) => "shift",
            How::Rollback => "rollback",
        }
    }
}

fn release(
    cx: &Context,
    lease: &crate::session::LeaseArgs,
    alias: Option<&str>,
    source: Option<Source>,
    only: &Only,
    how: How,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let d = cx.desired()?;
    if !d.versioned {
        return Err(crate::session::unversioned("an alias command").into());
    }
    let alias = alias.unwrap_or(&d.live).to_string();
    let only = only.function.as_deref();
    if let Some(f) = only
        && !d.functions.iter().any(|x| x.key == f)
    {
        return Err(crate::session::no_such_function(
            f,
            d.functions.iter().map(|x| x.key.as_str()),
        )
        .into());
    }
    if let Some(Source::Version(_)) = &source
        && only.is_none()
        && d.functions.len() > 1
    {
        return Err(UsageError(
            "version numbers are per function: name one with -f FUNCTION".into(),
        )
        .into());
    }
    if let Some(Source::Alias(from)) = &source
        && *from == alias
    {
        return Err(UsageError(format!("--from {from} is the alias being moved")).into());
    }
    let Connection {
        desired: d,
        rt,
        aws,
    } = cx.connect(d)?;
    let command = format!("alias {}", how.action());
    cx.leased(
        &rt,
        &aws,
        (&d.service, &d.stage),
        &command,
        lease,
        |lease| moved(cx, &rt, &aws, &d, &alias, source, only, how, started, lease),
    )
}

/// The alias moves, once connected and holding the lease.
#[allow(clippy::too_many_arguments)]
fn moved(
    cx: &Context,
    rt: &tokio::runtime::Runtime,
    aws: &crate::provider::aws::Aws,
    d: &crate::plan::desired::Desired,
    alias: &str,
    source: Option<Source>,
    only: Option<&str>,
    how: How,
    started: Instant,
    lease: &mut Option<crate::provider::aws::lease::Lease>,
) -> anyhow::Result<()> {
    let alias = alias.to_string();
    let (mut members, skipped) = rt.block_on(ops::read(aws, d, &alias, source.as_ref(), only))?;
    if let (Some(Source::Alias(from)), true) = (&source, members.is_empty()) {
        return Err(ReleaseError::NoSource(from.clone()).into());
    }
    let mut steps = Vec::new();
    let passed = rt
        .block_on(async {
            match &how {
                How::Promote => ops::apply(aws, &alias, &mut members, ops::promote).await?,
                How::Shift(w) => {
                    ops::apply(aws, &alias, &mut members, |m| ops::shift(m, *w)).await?
                }
                How::Rollback => {
                    ops::apply(aws, &alias, &mut members, |m| ops::rollback(m, &alias)).await?
                }
                How::Gradual {
                    steps: percents,
                    interval,
                    check,
                } => {
                    // Re-running a finished promote is a no-op, not a second walk through the steps.
                    if members.iter().all(|m| matches!(ops::promote(m), Ok(None))) {
                        return Ok(true);
                    }
                    let run_check = check.as_ref().map(|cmd| {
                        let alias = alias.clone();
                        move |weight: u8| {
                            let ok = run_check(cmd, &alias, weight);
                            async move { ok }
                        }
                    });
                    let json = cx.global.json;
                    let say = move |line: String| {
                        if !json {
                            eprintln!("{line}");
                        }
                    };
                    return ops::gradual(
                        aws,
                        &alias,
                        &mut members,
                        ops::Walk {
                            steps: percents,
                            interval: *interval,
                        },
                        run_check,
                        &mut steps,
                        &say,
                    )
                    .await;
                }
            }
            Ok::<bool, ops::MoveError>(true)
        })
        .map_err(ops::MoveError::into_inner)?;
    cx.give_back(rt, aws, lease);
    summarize(
        cx, aws, &d.service, &alias, &source, &how, &members, &skipped, &steps, passed, started,
    )
}

/// Runs the check through the shell, its output on stderr (stdout stays for `--json`).
fn run_check(cmd: &str, alias: &str, weight: u8) -> bool {
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .env("SLS_ALIAS", alias)
        .env("SLS_WEIGHT", weight.to_string())
        .stdin(std::process::Stdio::null())
        .stdout(std::io::stderr())
        .status();
    match status {
        Ok(s) => s.success(),
        Err(e) => {
            eprintln!("cannot run the check `{cmd}`: {e}");
            false
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn summarize(
    cx: &Context,
    aws: &Aws,
    service: &str,
    alias: &str,
    source: &Option<Source>,
    how: &How,
    members: &[Member],
    skipped: &[ops::Skipped],
    steps: &[ops::StepReport],
    passed: bool,
    started: Instant,
) -> anyhow::Result<()> {
    let reports = ops::reports(members);
    let changed = reports.iter().any(|r| r.changed);
    let outcome = match (passed, changed) {
        (false, _) => "rolledBack",
        (true, true) => "changed",
        (true, false) => "unchanged",
    };
    let (from, version) = match source {
        Some(Source::Alias(a)) => (Some(a.as_str()), None),
        Some(Source::Version(v)) => (None, Some(v.as_str())),
        None => (None, None),
    };
    let tally = aws.calls.tally();
    let doc = json!({ "service": service, "alias": alias, "action": how.action(), "from": from,
                      "version": version, "outcome": outcome, "functions": reports,
                      "skipped": skipped, "steps": steps, "awsCalls": tally });
    if cx.global.json {
        println!("{doc:#}");
    } else {
        let mut out = std::io::stdout().lock();
        let show = |t: &Option<crate::release::Target>| {
            t.as_ref()
                .map_or_else(|| "(none)".to_string(), |t| routing(&t.version, &t.weights))
        };
        for s in steps {
            let check = s.check.map_or(String::new(), |c| format!(", check {c}"));
            writeln!(out, "step {}%{check}", s.weight)?;
        }
        for r in &reports {
            if r.changed {
                writeln!(
                    out,
                    "  {}: {alias} {} → {}",
                    r.function,
                    show(&r.before),
                    show(&r.after)
                )?;
            } else {
                writeln!(
                    out,
                    "  {}: {alias} {} (unchanged)",
                    r.function,
                    show(&r.after)
                )?;
            }
        }
        for s in skipped {
            writeln!(out, "  {}: skipped ({})", s.function, s.reason)?;
        }
        writeln!(
            out,
            "{} {alias}: {outcome} in {:.1} s, {} AWS calls ({} changing)",
            how.action(),
            started.elapsed().as_secs_f64(),
            tally.total,
            tally.mutating
        )?;
    }
    if !passed {
        return Err(RolledBack {
            alias: alias.to_string(),
            step: steps.last().map_or(0, |s| s.weight),
        }
        .into());
    }
    Ok(())
}

fn list(cx: &Context, only: Option<&str>) -> anyhow::Result<()> {
    let Connection {
        desired: d,
        rt,
        aws,
    } = cx.connect(cx.desired()?)?;
    if let Some(f) = only
        && !d.functions.iter().any(|x| x.key == f)
    {
        return Err(crate::session::no_such_function(
            f,
            d.functions.iter().map(|x| x.key.as_str()),
        )
        .into());
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
            let mut line = format!("  {} → {}", a.alias, routing(&a.version, &a.weights));
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

/// `version 3`, or with weighted routing `version 3 60%, version 5 40%`.
fn routing(version: &str, weights: &std::collections::BTreeMap<String, f64>) -> String {
    if weights.is_empty() {
        return format!("version {version}");
    }
    let extra: f64 = weights.values().sum();
    let rest: Vec<String> = weights
        .iter()
        .map(|(v, w)| format!("version {v} {:.0}%", w * 100.0))
        .collect();
    format!(
        "version {version} {:.0}%, {}",
        (1.0 - extra) * 100.0,
        rest.join(", ")
    )
}
