//! `sls offline --schedules`: fires the service's `schedule` rules on their schedule, as
//! EventBridge would, against the local workers. `rate(…)` fires every interval from start;
//! `cron(…)` (UTC, EventBridge's six fields) at each matching minute.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hyper::body::Bytes;
use serde_json::json;

use super::gateway::Gateway;
use crate::plan::{Desired, RuleSpec};

/// When a schedule fires next after `now` (seconds since the epoch).
pub fn next_after(expression: &str, now: u64) -> Result<u64, String> {
    if let Some(inner) = expression
        .strip_prefix("rate(")
        .and_then(|r| r.strip_suffix(')'))
    {
        let (n, unit) = inner
            .trim()
            .split_once(' ')
            .ok_or_else(|| format!("`{expression}` has no unit"))?;
        let n: u64 = n
            .parse()
            .map_err(|_| format!("`{expression}`: `{n}` is not a number"))?;
        let per = match unit.trim_end_matches('s') {
            "minute" => 60,
            "hour" => 3600,
            "day" => 86_400,
            other => return Err(format!("`{expression}`: unknown unit `{other}`")),
        };
        return Ok(now + n * per);
    }
    let inner = expression
        .strip_prefix("cron(")
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| format!("`{expression}` is neither rate(…) nor cron(…)"))?;
    let cron = Cron::parse(inner)?;
    // The next whole minute, then minute by minute for up to a year and a day.
    let mut t = (now / 60 + 1) * 60;
    for _ in 0..(367 * 24 * 60) {
        if cron.matches(t) {
            return Ok(t);
        }
        t += 60;
    }
    Err(format!("`{expression}` does not fire within a year"))
}

/// A field: the values it allows (`None`: any, from `*` or `?`).
type Field = Option<Vec<u32>>;

struct Cron {
    minute: Field,
    hour: Field,
    day: Field,
    month: Field,
    weekday: Field,
    year: Field,
}

impl Cron {
    fn parse(text: &str) -> Result<Cron, String> {
        let parts: Vec<&str> = text.split_whitespace().collect();
        let [minute, hour, day, month, weekday, year] = parts[..] else {
            return Err(format!("cron({text}) needs six fields"));
        };
        const MONTHS: &[&str] = &[
            "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
        ];
        const DAYS: &[&str] = &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
        Ok(Cron {
            minute: field(minute, 0, 59, &[])?,
            hour: field(hour, 0, 23, &[])?,
            day: field(day, 1, 31, &[])?,
            month: field(month, 1, 12, MONTHS)?,
            weekday: field(weekday, 1, 7, DAYS)?,
            year: field(year, 1970, 2199, &[])?,
        })
    }

    fn matches(&self, t: u64) -> bool {
        let days = (t / 86_400) as i64;
        let (y, m, d) = civil(days);
        let secs = t % 86_400;
        // 1970-01-01 was a Thursday; EventBridge counts 1 = Sunday.
        let weekday = ((days + 4).rem_euclid(7) + 1) as u32;
        let ok = |f: &Field, v: u32| f.as_ref().is_none_or(|vs| vs.contains(&v));
        ok(&self.minute, ((secs % 3600) / 60) as u32)
            && ok(&self.hour, (secs / 3600) as u32)
            && ok(&self.day, d)
            && ok(&self.month, m)
            && ok(&self.weekday, weekday)
            && ok(&self.year, y as u32)
    }
}

/// One field: `*`, `?`, values, names, ranges `a-b`, steps `*/n` and `a/n`, lists. EventBridge's
/// `L`, `W` and `#` are not run locally.
fn field(text: &str, lo: u32, hi: u32, names: &[&str]) -> Result<Field, String> {
    if text == "*" || text == "?" {
        return Ok(None);
    }
    let value = |s: &str| -> Result<u32, String> {
        if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(s)) {
            return Ok(lo + i as u32);
        }
        s.parse::<u32>()
            .ok()
            .filter(|v| (lo..=hi).contains(v))
            .ok_or_else(|| format!("`{s}` is not a value of {lo}–{hi}"))
    };
    let mut out = Vec::new();
    for part in text.split(',') {
        if part.contains(['L', 'W', '#']) && !names.iter().any(|n| part.contains(n)) {
            return Err(format!(
                "`{part}`: L, W and # are not run locally (EventBridge runs them once deployed)"
            ));
        }
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (
                r,
                s.parse::<u32>()
                    .map_err(|_| format!("bad step in `{part}`"))?,
            ),
            None => (part, 1),
        };
        let (from, to) = match range {
            "*" => (lo, hi),
            r => match r.split_once('-') {
                Some((a, b)) => (value(a)?, value(b)?),
                // `a/n` runs from a to the end.
                None if part.contains('/') => (value(r)?, hi),
                None => (value(r)?, value(r)?),
            },
        };
        out.extend((from..=to).step_by(step.max(1) as usize));
    }
    Ok(Some(out))
}

/// Year, month, day of a count of days since 1970-01-01 (proleptic Gregorian).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Fires every enabled schedule rule of `d` until the process stops; one line per firing.
pub async fn run(d: Desired, gw: Arc<Gateway>) {
    let mut rules: Vec<RuleSpec> = d
        .rules
        .iter()
        .filter(|r| !r.expression.is_empty() && r.enabled)
        .cloned()
        .collect();
    // Scheduler's schedules fire the same way; it sends `input`, else an empty object.
    for s in d.schedules.iter().filter(|s| s.enabled) {
        if s.timezone.is_some() && s.expression.starts_with("cron(") {
            eprintln!(
                "schedule {}: a cron in time zone {} is not fired locally (local firing is UTC)",
                s.name,
                s.timezone.as_deref().unwrap_or_default()
            );
            continue;
        }
        rules.push(RuleSpec {
            function: s.function.clone(),
            name: s.name.clone(),
            bus: None,
            expression: s.expression.clone(),
            pattern: None,
            enabled: true,
            description: s.description.clone(),
            input: crate::plan::schedule::TargetInput {
                input: Some(s.input.clone().unwrap_or_else(|| "{}".into())),
                ..Default::default()
            },
        });
    }
    let tasks = rules.into_iter().map(|rule| {
        let gw = gw.clone();
        let region = d.region.clone();
        async move {
            loop {
                let now = now();
                let next = match next_after(&rule.expression, now) {
                    Ok(t) => t,
                    Err(why) => {
                        eprintln!("schedule {}: {why}; not fired locally", rule.name);
                        return;
                    }
                };
                tokio::time::sleep(Duration::from_secs(next.saturating_sub(now))).await;
                let time = aws_smithy_types::DateTime::from_secs(next as i64)
                    .fmt(aws_smithy_types::date_time::Format::DateTime)
                    .unwrap_or_default();
                let event = match &rule.input.input {
                    Some(input) => serde_json::from_str(input).unwrap_or(json!(input)),
                    None => json!({
                        "version": "0",
                        "id": format!("{next:x}"),
                        "detail-type": "Scheduled Event",
                        "source": "aws.events",
                        "account": "123456789012",
                        "time": time,
                        "region": region,
                        "resources": [format!("arn:aws:events:{region}:123456789012:rule/{}", rule.name)],
                        "detail": {}
                    }),
                };
                let Some(pool) = gw.pool(&rule.function) else {
                    return;
                };
                let outcome = match pool.invoke(Bytes::from(event.to_string()), None).await {
                    Ok(done) => format!("{:?}", done.outcome).chars().take(120).collect(),
                    Err(e) => e.to_string(),
                };
                eprintln!("schedule {} → {} at {time}: {outcome}", rule.name, rule.function);
            }
        }
    });
    futures_join(tasks.collect()).await;
}

/// Runs the schedule loops side by side on this task.
async fn futures_join(tasks: Vec<impl std::future::Future<Output = ()>>) {
    let mut tasks: Vec<_> = tasks.into_iter().map(Box::pin).collect();
    std::future::poll_fn(|cx| {
        tasks.retain_mut(|t| t.as_mut().poll(cx).is_pending());
        if tasks.is_empty() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-26T10:15:30Z.
    const NOW: u64 = 1_795_688_130;

    #[test]
    fn rates_fire_every_interval() {
        assert_eq!(next_after("rate(5 minutes)", NOW), Ok(NOW + 300));
        assert_eq!(next_after("rate(1 hour)", NOW), Ok(NOW + 3600));
        assert!(next_after("rate(2 fortnights)", NOW).is_err());
    }

    #[test]
    fn crons_fire_at_the_next_matching_minute_in_utc() {
        let at = |e: &str| {
            let t = next_after(e, NOW).unwrap();
            aws_smithy_types::DateTime::from_secs(t as i64)
                .fmt(aws_smithy_types::date_time::Format::DateTime)
                .unwrap()
        };
        assert_eq!(at("cron(0 12 * * ? *)"), "2026-11-26T12:00:00Z");
        assert_eq!(at("cron(*/20 * * * ? *)"), "2026-11-26T10:20:00Z");
        // 2026-11-26 is a Thursday: the next Monday 09:00 is 2026-11-30.
        assert_eq!(at("cron(0 9 ? * MON *)"), "2026-11-30T09:00:00Z");
        assert_eq!(at("cron(0 9 ? * 2-6 *)"), "2026-11-27T09:00:00Z");
        assert_eq!(at("cron(30 6 1 JAN ? *)"), "2027-01-01T06:30:00Z");
        assert!(next_after("cron(0 9 L * ? *)", NOW).is_err());
    }

    #[test]
    fn civil_dates_follow_the_calendar() {
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(20_418), (2025, 11, 26));
        assert_eq!(civil(11_016), (2000, 2, 29));
    }
}
