//! `sls metrics`: each function's invocations, errors, throttles and durations over a period.

use std::io::Write;

use clap::Args;
use serde_json::json;

use super::invoke::function;
use super::logs::{iso, now_ms, parse_time};
use crate::plan::{Desired, FunctionSpec};
use crate::provider::aws::remote::{self, MetricsQuery};
use crate::session::{Connection, Context, UsageError};

#[derive(Debug, Args)]
pub struct PeriodArgs {
    /// Only this function (its key under `functions:`) [default: all]
    #[arg(short, long)]
    pub function: Option<String>,
    /// From when: `30m`, `24h`, `7d` ago, or a date-time
    #[arg(long = "startTime", alias = "start-time")]
    pub start_time: Option<String>,
    /// Until when [default: now]
    #[arg(long = "endTime", alias = "end-time")]
    pub end_time: Option<String>,
}

/// The period in seconds since the epoch, with the default span when no start is given.
pub(super) fn period(a: &PeriodArgs, default_start: &str) -> Result<(i64, i64), UsageError> {
    let now = now_ms();
    let start =
        parse_time(a.start_time.as_deref().unwrap_or(default_start), now).map_err(UsageError)?;
    let end = match &a.end_time {
        Some(e) => parse_time(e, now).map_err(UsageError)?,
        None => now,
    };
    if end <= start {
        return Err(UsageError("the period ends before it starts".into()));
    }
    Ok((start / 1000, end / 1000))
}

pub(super) fn chosen<'a>(
    d: &'a Desired,
    only: &Option<String>,
) -> Result<Vec<&'a FunctionSpec>, UsageError> {
    match only {
        Some(k) => Ok(vec![function(d, k)?]),
        None => Ok(d.functions.iter().collect()),
    }
}

pub(super) fn read_metrics(
    cx: &Context,
    a: &PeriodArgs,
    default_start: &str,
) -> anyhow::Result<(Desired, remote::Metrics, (i64, i64))> {
    let (start, end) = period(a, default_start)?;
    let d = cx.desired()?;
    let functions: Vec<String> = chosen(&d, &a.function)?
        .iter()
        .map(|f| f.name.clone())
        .collect();
    let whole = a.function.is_none();
    let rest_api = d
        .rest_api
        .as_ref()
        .filter(|_| whole)
        .map(|r| r.name.clone());
    let http_name = d
        .http_api
        .as_ref()
        .filter(|_| whole)
        .map(|h| h.name.clone());
    let Connection { desired, rt, aws } = cx.connect(d)?;
    let http_api = match http_name {
        Some(n) => rt
            .block_on(crate::provider::aws::http_api::list(&aws))?
            .into_iter()
            .find(|a| a.name() == Some(n.as_str()))
            .and_then(|a| a.api_id().map(str::to_string)),
        None => None,
    };
    let m = rt.block_on(remote::metrics(
        &aws,
        &MetricsQuery {
            functions,
            rest_api,
            http_api,
            start,
            end,
        },
    ))?;
    Ok((desired, m, (start, end)))
}

pub fn metrics(cx: &Context, a: &PeriodArgs) -> anyhow::Result<()> {
    let (d, m, (start, end)) = read_metrics(cx, a, "24h")?;
    let mut out = std::io::stdout().lock();
    if cx.global.json {
        writeln!(
            out,
            "{:#}",
            json!({ "service": d.service, "stage": d.stage, "start": iso(start * 1000), "end": iso(end * 1000), "metrics": m })
        )?;
        return Ok(());
    }
    writeln!(
        out,
        "{} ({}), {} → {}",
        d.service,
        d.stage,
        iso(start * 1000),
        iso(end * 1000)
    )?;
    let ms = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{v:.0} ms"));
    for (name, f) in &m.functions {
        writeln!(out, "{name}")?;
        writeln!(
            out,
            "  invocations {:.0}, errors {:.0}, throttles {:.0}, duration avg {} p50 {} p99 {}, max concurrency {}",
            f.invocations,
            f.errors,
            f.throttles,
            ms(f.duration_avg),
            ms(f.duration_p50),
            ms(f.duration_p99),
            f.max_concurrency
                .map_or("–".to_string(), |c| format!("{c:.0}")),
        )?;
    }
    if m.rest_api_requests > 0.0 || m.http_api_requests > 0.0 {
        writeln!(
            out,
            "API requests: REST {:.0}, HTTP {:.0}",
            m.rest_api_requests, m.http_api_requests
        )?;
    }
    Ok(())
}
