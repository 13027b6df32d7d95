//! The commands on a deployed service: `sls invoke -f` (remote), `logs`, `metrics`, `cost` and
//! `tune`. Arithmetic lives in `ops`, AWS calls in `provider::aws::remote`.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;

use aws_sdk_lambda::types::InvocationType;
use clap::{Args, ValueEnum};
use serde_json::{Value, json};

use crate::local::FunctionError;
use crate::ops::price::{self, Arch, Usage};
use crate::ops::{report, tune};
use crate::plan::{Desired, FunctionSpec};
use crate::provider::aws::remote::{self, LogQuery, MetricsQuery};
use crate::session::{Connection, Context, UsageError};

/// Lambda's payload limits: 6 MB synchronous, 1 MB asynchronous (AWS raised the latter from
/// 256 KB in 2025).
pub const SYNC_LIMIT: usize = 6 * 1024 * 1024;
pub const ASYNC_LIMIT: usize = 1024 * 1024;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    /// Wait for the result
    #[default]
    #[value(name = "RequestResponse")]
    RequestResponse,
    /// Queue the event (HTTP 202); failures are retried by Lambda
    #[value(name = "Event")]
    Event,
    /// Only check that the call would be allowed (HTTP 204)
    #[value(name = "DryRun")]
    DryRun,
}

#[derive(Debug, Args)]
pub struct RemoteInvoke {
    /// The function's key under `functions:`
    #[arg(short, long)]
    pub function: Option<String>,
    /// The event: JSON, or any other text passed as a string (else --path, else stdin when piped)
    #[arg(short, long, conflicts_with = "path")]
    pub data: Option<String>,
    /// A file holding the event
    #[arg(short, long, value_name = "FILE")]
    pub path: Option<PathBuf>,
    /// The alias or version to call [default: the live alias]
    #[arg(short, long)]
    pub qualifier: Option<String>,
    /// Invocation type
    #[arg(short = 't', long = "type", value_enum, default_value_t = Kind::RequestResponse)]
    pub kind: Kind,
    /// Show the end of the invocation's log (on stderr) after the result
    #[arg(short, long)]
    pub log: bool,
    /// Print the result as it came, not re-indented
    #[arg(long)]
    pub raw: bool,
}

fn function<'a>(d: &'a Desired, key: &str) -> Result<&'a FunctionSpec, UsageError> {
    d.functions.iter().find(|f| f.key == key).ok_or_else(|| {
        crate::session::no_such_function(key, d.functions.iter().map(|f| f.key.as_str()))
    })
}

/// The event as Serverless passes it: JSON as JSON, other text as a string, nothing as `{}`.
fn event_text(
    cx: &Context,
    data: &Option<String>,
    path: &Option<PathBuf>,
) -> anyhow::Result<Vec<u8>> {
    let text = match (data, path) {
        (Some(d), _) => d.clone(),
        (None, Some(p)) => std::fs::read_to_string(cx.cwd.join(p)).map_err(|e| {
            UsageError(format!("cannot read the event file `{}`: {e}", p.display()))
        })?,
        (None, None) if !std::io::stdin().is_terminal() => {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s)?;
            s
        }
        (None, None) => String::new(),
    };
    let value: Value = if text.trim().is_empty() {
        json!({})
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Ok(value.to_string().into_bytes())
}

pub fn invoke(cx: &Context, a: &RemoteInvoke) -> anyhow::Result<()> {
    let key = a.function.as_deref().ok_or_else(|| {
        UsageError(
            "`sls invoke` needs -f/--function NAME (or `sls invoke local -f NAME` to run it here)"
                .into(),
        )
    })?;
    let payload = event_text(cx, &a.data, &a.path)?;
    let (limit, what) = match a.kind {
        Kind::Event => (ASYNC_LIMIT, "1 MB for an asynchronous (Event) call"),
        Kind::RequestResponse | Kind::DryRun => (SYNC_LIMIT, "6 MB for a synchronous call"),
    };
    if payload.len() > limit {
        return Err(UsageError(format!(
            "the event is {} bytes; Lambda takes at most {what}: pass a reference (an S3 key) instead",
            payload.len()
        ))
        .into());
    }
    let d = cx.desired()?;
    let name = function(&d, key)?.name.clone();
    let qualifier = a.qualifier.clone().unwrap_or_else(|| d.live.clone());
    let Connection { rt, aws, .. } = cx.connect(d)?;
    let kind = match a.kind {
        Kind::RequestResponse => InvocationType::RequestResponse,
        Kind::Event => InvocationType::Event,
        Kind::DryRun => InvocationType::DryRun,
    };
    let out = rt.block_on(remote::invoke(
        &aws, &name, &qualifier, kind, payload, a.log,
    ))?;
    let mut stdout = std::io::stdout().lock();
    match a.kind {
        Kind::Event => {
            let h = rt.block_on(remote::async_handling(&aws, &name, &qualifier))?;
            if cx.global.json {
                writeln!(
                    stdout,
                    "{:#}",
                    json!({ "statusCode": out.status, "function": name, "qualifier": qualifier, "asyncHandling": h })
                )?;
            } else {
                writeln!(
                    stdout,
                    "accepted ({}): {name}:{qualifier} runs the event on its own",
                    out.status
                )?;
                writeln!(
                    stdout,
                    "if it fails: retried up to {} more time(s) within {} s, then {}",
                    h.retries,
                    h.max_age_seconds,
                    match (&h.on_failure, &h.dead_letter) {
                        (Some(d), _) => format!("sent to {d}"),
                        (None, Some(q)) => format!("sent to the dead-letter target {q}"),
                        (None, None) =>
                            "dropped (no failure destination or dead-letter queue)".into(),
                    }
                )?;
            }
            return Ok(());
        }
        Kind::DryRun => {
            if cx.global.json {
                writeln!(
                    stdout,
                    "{:#}",
                    json!({ "statusCode": out.status, "function": name, "qualifier": qualifier })
                )?;
            } else {
                writeln!(
                    stdout,
                    "permitted ({}): {name}:{qualifier} may be invoked with these credentials",
                    out.status
                )?;
            }
            return Ok(());
        }
        Kind::RequestResponse => {}
    }
    let result: Value = serde_json::from_slice(&out.payload)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&out.payload).into_owned()));
    if cx.global.json {
        let field = if out.function_error.is_some() {
            "error"
        } else {
            "result"
        };
        writeln!(
            stdout,
            "{:#}",
            json!({ "statusCode": out.status, field: result, "executedVersion": out.executed_version, "log": out.log_tail })
        )?;
    } else if a.raw {
        stdout.write_all(&out.payload)?;
        writeln!(stdout)?;
    } else {
        writeln!(stdout, "{result:#}")?;
    }
    if let (Some(log), false) = (&out.log_tail, cx.global.json) {
        let mut err = std::io::stderr().lock();
        for line in log.lines() {
            match report::parse(line) {
                Some(r) => writeln!(err, "{}", cx.style.paint("2", &report::compact(&r)))?,
                None => writeln!(err, "{line}")?,
            }
        }
    }
    if out.function_error.is_some() {
        return Err(
            FunctionError(result["errorType"].as_str().unwrap_or("Error").to_string()).into(),
        );
    }
    Ok(())
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The function's key under `functions:`
    #[arg(short, long)]
    pub function: String,
    /// From when: `30s`, `10m`, `2h`, `3d` ago, or a date-time (2026-11-26T10:00:00Z)
    #[arg(long = "startTime", alias = "start-time", default_value = "10m")]
    pub start_time: String,
    /// Until when (same forms) [default: now]
    #[arg(long = "endTime", alias = "end-time")]
    pub end_time: Option<String>,
    /// A CloudWatch Logs filter pattern (e.g. ERROR, or "?ERROR ?WARN")
    #[arg(long)]
    pub filter: Option<String>,
    /// Keep following new events until interrupted
    #[arg(short, long)]
    pub tail: bool,
    /// With --tail: how often to look for new events, in milliseconds
    #[arg(short, long, default_value_t = 1000)]
    pub interval: u64,
    /// Only the log streams of this alias' or version's instances
    #[arg(short, long)]
    pub qualifier: Option<String>,
}

/// Milliseconds since the epoch of `10m`-style spans ago or of a date-time.
pub fn parse_time(text: &str, now_ms: i64) -> Result<i64, String> {
    let t = text.trim();
    let unit = t.chars().last().unwrap_or(' ');
    if let Ok(n) = t[..t.len().saturating_sub(1)].parse::<i64>() {
        let ms = match unit {
            's' => Some(1_000),
            'm' => Some(60_000),
            'h' => Some(3_600_000),
            'd' => Some(86_400_000),
            _ => None,
        };
        if let Some(ms) = ms {
            return Ok(now_ms - n * ms);
        }
    }
    let full = if t.len() == 10 {
        format!("{t}T00:00:00Z")
    } else {
        t.to_string()
    };
    aws_smithy_types::DateTime::from_str(&full, aws_smithy_types::date_time::Format::DateTime)
        .map(|d| d.to_millis().unwrap_or(0))
        .map_err(|_| {
            format!("`{text}` is neither a span ago (30s, 10m, 2h, 3d) nor a date-time (2026-11-26T10:00:00Z)")
        })
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn iso(ms: i64) -> String {
    aws_smithy_types::DateTime::from_millis(ms)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default()
}

pub fn logs(cx: &Context, a: &LogsArgs) -> anyhow::Result<()> {
    let now = now_ms();
    let start = parse_time(&a.start_time, now).map_err(UsageError)?;
    let end = match &a.end_time {
        Some(e) => Some(parse_time(e, now).map_err(UsageError)?),
        None => None,
    };
    let d = cx.desired()?;
    let name = function(&d, &a.function)?.name.clone();
    let group = d
        .log_groups
        .iter()
        .find(|g| g.log_group.ends_with(&format!("/{name}")))
        .map_or_else(
            || crate::plan::log_group::name_of(&name),
            |g| g.log_group.clone(),
        );
    let Connection { rt, aws, .. } = cx.connect(d)?;
    let version = match &a.qualifier {
        Some(q) => Some(rt.block_on(remote::version_of(&aws, &name, q))?),
        None => None,
    };
    let json = cx.global.json;
    let style = cx.style;
    let show = move |e: &remote::LogEvent| {
        let mut out = std::io::stdout().lock();
        if json {
            let _ = writeln!(out, "{}", serde_json::to_string(e).unwrap_or_default());
            return;
        }
        let text = e.message.trim_end();
        let shown = match report::parse(text) {
            Some(r) => style.paint("2", &report::compact(&r)),
            None => text.to_string(),
        };
        let _ = writeln!(out, "{} {shown}", style.paint("36", &iso(e.timestamp)));
    };
    let mut q = LogQuery {
        group: group.clone(),
        start,
        end,
        filter: a.filter.clone(),
        version,
    };
    let mut seen = std::collections::HashSet::new();
    let mut last = start;
    let found = rt.block_on(remote::log_events(&aws, &q, &mut |e| {
        last = last.max(e.timestamp);
        seen.insert(e.id.clone());
        show(&e);
    }))?;
    if !found {
        return Err(UsageError(format!(
            "log group {group} does not exist: the function has not run yet, or logs go elsewhere"
        ))
        .into());
    }
    if !a.tail {
        return Ok(());
    }
    // CloudWatch Logs' live tail where the account and endpoint have it (billed per minute of
    // session by AWS); polling otherwise, and after a live tail stops.
    let (partition, _) = crate::plan::partition(&aws.region);
    let account = rt.block_on(crate::provider::aws::stack::account(&aws))?;
    let arn = format!(
        "arn:{partition}:logs:{}:{account}:log-group:{group}",
        aws.region
    );
    let streams = match &q.version {
        Some(v) => {
            Some(rt.block_on(remote::streams_of(&aws, &group, v))?).filter(|s| !s.is_empty())
        }
        None => None,
    };
    // Events at the newest instant already shown, by time, stream and text (live tail's events
    // have no id): not shown twice.
    let key = |e: &remote::LogEvent| format!("{}\n{}\n{}", e.timestamp, e.stream, e.message);
    let mut at_last: std::collections::HashSet<String> = std::collections::HashSet::new();
    loop {
        let session = std::time::Instant::now();
        let ended = rt.block_on(remote::live_tail(
            &aws,
            &arn,
            q.filter.as_deref(),
            streams.clone(),
            &mut |e| {
                if e.timestamp < last || (e.timestamp == last && at_last.contains(&key(&e))) {
                    return;
                }
                if e.timestamp > last {
                    at_last.clear();
                }
                last = e.timestamp;
                at_last.insert(key(&e));
                show(&e);
            },
        ))?;
        let why = match ended {
            // AWS ends a session after 3 hours; one that ends at once is not a live tail.
            remote::LiveTail::Ended if session.elapsed() > std::time::Duration::from_secs(10) => {
                continue;
            }
            remote::LiveTail::Ended => "the session ended at once".to_string(),
            remote::LiveTail::Unavailable(why) => why,
        };
        if !json {
            eprintln!(
                "live tail not available ({why}): polling every {} ms",
                a.interval.max(200)
            );
        }
        break;
    }
    // Polling: events of the last millisecond seen are read again and skipped by id, so none
    // written at that same instant is lost.
    loop {
        std::thread::sleep(std::time::Duration::from_millis(a.interval.max(200)));
        q.start = last;
        q.end = None;
        let mut fresh = std::collections::HashSet::new();
        rt.block_on(remote::log_events(&aws, &q, &mut |e| {
            if !seen.contains(&e.id) {
                last = last.max(e.timestamp);
                show(&e);
            }
            fresh.insert(e.id.clone());
        }))?;
        seen = fresh;
    }
}

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
fn period(a: &PeriodArgs, default_start: &str) -> Result<(i64, i64), UsageError> {
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

fn chosen<'a>(d: &'a Desired, only: &Option<String>) -> Result<Vec<&'a FunctionSpec>, UsageError> {
    match only {
        Some(k) => Ok(vec![function(d, k)?]),
        None => Ok(d.functions.iter().collect()),
    }
}

fn read_metrics(
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

fn print_bill(cx: &Context, title: &str, b: &price::Bill) -> anyhow::Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_ago_and_dates() {
        let now = 1_800_000_000_000;
        assert_eq!(parse_time("10m", now).unwrap(), now - 600_000);
        assert_eq!(parse_time("2h", now).unwrap(), now - 7_200_000);
        assert_eq!(parse_time("3d", now).unwrap(), now - 3 * 86_400_000);
        assert_eq!(parse_time("30s", now).unwrap(), now - 30_000);
        assert_eq!(
            parse_time("2026-01-01T00:00:00Z", now).unwrap(),
            1_767_225_600_000
        );
        assert_eq!(parse_time("2026-01-01", now).unwrap(), 1_767_225_600_000);
        assert!(parse_time("yesterday", now).is_err());
    }
}
