//! `sls logs -f`: the function's log events in a time window, or followed (`--tail`).

use std::io::Write;

use clap::Args;

use super::invoke::function;
use crate::ops::report;
use crate::provider::aws::remote::{self, LogQuery};
use crate::session::{Connection, Context, UsageError};

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

pub(super) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

pub(super) fn iso(ms: i64) -> String {
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
