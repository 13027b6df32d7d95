//! `sls cost`: what the functions cost over a period (or would cost at a given load), from the
//! prices in `ops::price`.

use std::io::Write;

use clap::Args;
use serde_json::json;

use super::invoke::function;
use super::logs::iso;
use super::metrics::{PeriodArgs, chosen, read_metrics};
use crate::ops::price::{self, Arch, Usage};
use crate::session::{Context, UsageError};

#[derive(Debug, Args)]
pub struct CostArgs {
    #[command(flatten)]
    pub period: PeriodArgs,
    /// A what-if with no AWS call: --requests N --duration MS [--memory MB] [--arch arm64]
    #[arg(long)]
    pub estimate: bool,
    /// With --estimate: requests in the month
    #[arg(long, requires = "estimate")]
    pub requests: Option<f64>,
    /// With --estimate: average duration of one invocation, in milliseconds
    #[arg(long, requires = "estimate")]
    pub duration: Option<f64>,
    /// With --estimate: memory in MB [default: the function's, else 1024]
    #[arg(long, requires = "estimate")]
    pub memory: Option<u32>,
    /// With --estimate: x86_64 or arm64 [default: the function's, else x86_64]
    #[arg(long, requires = "estimate")]
    pub arch: Option<String>,
}

pub(super) fn print_bill(cx: &Context, title: &str, b: &price::Bill) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if cx.global.json {
        writeln!(out, "{:#}", json!({ "title": title, "bill": b }))?;
        return Ok(());
    }
    writeln!(out, "{title}")?;
    for l in &b.lines {
        writeln!(
            out,
            "  {}: {:.0} requests ${:.4}, {:.1} GB-s ${:.4}{}",
            l.function,
            l.requests,
            l.requests_usd,
            l.gb_seconds,
            l.duration_usd,
            if l.provisioned_usd > 0.0 {
                format!(", provisioned concurrency ${:.4}", l.provisioned_usd)
            } else {
                String::new()
            }
        )?;
    }
    if b.api_usd > 0.0 {
        writeln!(
            out,
            "  APIs: REST {:.0} and HTTP {:.0} requests ${:.4}",
            b.rest_api_requests, b.http_api_requests, b.api_usd
        )?;
    }
    writeln!(
        out,
        "  free tier (a {:.0}-day share of the monthly one): -${:.4}",
        b.days, b.free_tier_usd
    )?;
    writeln!(out, "  total: ${:.4}", b.total_usd)?;
    match b.rates.borrowed {
        Some(why) => writeln!(out, "  (prices of {}: {why})", b.rates.region)?,
        None => writeln!(out, "  (prices of {})", b.rates.region)?,
    }
    Ok(())
}

pub fn cost(cx: &Context, a: &CostArgs) -> anyhow::Result<()> {
    if a.estimate {
        let (Some(requests), Some(duration)) = (a.requests, a.duration) else {
            return Err(
                UsageError("--estimate needs --requests N and --duration MS".into()).into(),
            );
        };
        // The function's own memory and architecture when the config is at hand.
        let (spec, region) = match &a.period.function {
            Some(k) => {
                let d = cx.desired()?;
                (Some(function(&d, k)?.config.clone()), d.region.clone())
            }
            None => (
                None,
                cx.global
                    .region
                    .clone()
                    .unwrap_or_else(|| "us-east-1".into()),
            ),
        };
        let memory = a
            .memory
            .or(spec
                .as_ref()
                .and_then(|c| u32::try_from(c.memory_size).ok()))
            .unwrap_or(1024);
        let arch = Arch::of(
            a.arch
                .as_deref()
                .or(spec.as_ref().map(|c| c.architecture.as_str()))
                .unwrap_or("x86_64"),
        );
        let u = Usage {
            function: a
                .period
                .function
                .clone()
                .unwrap_or_else(|| "estimate".into()),
            arch,
            memory_mb: memory,
            requests,
            duration_ms: requests * duration,
            provisioned: 0.0,
            provisioned_seconds: 0.0,
        };
        let b = price::bill(&price::rates(&region), &[u], 0.0, 0.0, 30.0);
        return print_bill(
            cx,
            &format!(
                "estimate for a month: {requests:.0} requests of {duration} ms at {memory} MB"
            ),
            &b,
        );
    }
    let (d, m, (start, end)) = read_metrics(cx, &a.period, "30d")?;
    let seconds = (end - start) as f64;
    let usage: Vec<Usage> = chosen(&d, &a.period.function)?
        .iter()
        .map(|f| {
            let fm = m.functions.get(&f.name).cloned().unwrap_or_default();
            Usage {
                function: f.key.clone(),
                arch: Arch::of(&f.config.architecture),
                memory_mb: u32::try_from(f.config.memory_size).unwrap_or(128),
                requests: fm.invocations,
                duration_ms: fm.duration_sum,
                provisioned: f64::from(f.provisioned_concurrency.unwrap_or(0)),
                provisioned_seconds: seconds,
            }
        })
        .collect();
    let b = price::bill(
        &price::rates(&d.region),
        &usage,
        m.http_api_requests,
        m.rest_api_requests,
        seconds / 86_400.0,
    );
    print_bill(
        cx,
        &format!(
            "{} ({}), {} → {}",
            d.service,
            d.stage,
            iso(start * 1000),
            iso(end * 1000)
        ),
        &b,
    )
}
