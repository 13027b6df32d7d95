//! Lambda's `REPORT` log line, which ends every invocation's log:
//! `REPORT RequestId: … Duration: 12.34 ms Billed Duration: 13 ms Memory Size: 128 MB Max Memory
//! Used: 60 MB Init Duration: 150.00 ms` (the init part only after a cold start).

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub request_id: String,
    pub duration_ms: f64,
    pub billed_ms: u64,
    pub memory_mb: u32,
    pub max_memory_used_mb: u32,
    /// Set after a cold start.
    pub init_ms: Option<f64>,
}

/// Reads a REPORT line; None for any other line.
pub fn parse(line: &str) -> Option<Report> {
    let rest = line.trim_start().strip_prefix("REPORT ")?;
    let field = |name: &str| -> Option<&str> {
        let start = rest.find(name)? + name.len();
        let tail = rest[start..].trim_start();
        Some(tail.split_whitespace().next().unwrap_or(""))
    };
    Some(Report {
        request_id: field("RequestId:")?.to_string(),
        duration_ms: first_duration(rest)?,
        billed_ms: field("Billed Duration:")?.parse().ok()?,
        memory_mb: field("Memory Size:")?.parse().ok()?,
        max_memory_used_mb: field("Max Memory Used:")?.parse().ok()?,
        init_ms: field("Init Duration:").and_then(|v| v.parse().ok()),
    })
}

/// `Duration:` that is not `Billed Duration:` or `Init Duration:`.
fn first_duration(rest: &str) -> Option<f64> {
    let mut from = 0;
    while let Some(i) = rest[from..].find("Duration:") {
        let at = from + i;
        let before = rest[..at].trim_end();
        if !before.ends_with("Billed") && !before.ends_with("Init") {
            let tail = rest[at + "Duration:".len()..].trim_start();
            return tail.split_whitespace().next()?.parse().ok();
        }
        from = at + 1;
    }
    None
}

/// The line as `sls logs` shows it: short, without the request id's noise.
pub fn compact(r: &Report) -> String {
    let init = r
        .init_ms
        .map_or(String::new(), |i| format!(", init {i:.0} ms (cold start)"));
    format!(
        "REPORT {:.1} ms (billed {} ms), memory {}/{} MB{init}",
        r.duration_ms, r.billed_ms, r.max_memory_used_mb, r.memory_mb
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_warm_and_cold_reports() {
        let warm = "REPORT RequestId: 3f2a\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 60 MB\t";
        let r = parse(warm).unwrap();
        assert_eq!(r.request_id, "3f2a");
        assert_eq!(r.duration_ms, 12.34);
        assert_eq!(r.billed_ms, 13);
        assert_eq!((r.memory_mb, r.max_memory_used_mb), (128, 60));
        assert_eq!(r.init_ms, None);
        let cold = "REPORT RequestId: 9\tDuration: 101.5 ms\tBilled Duration: 102 ms\tMemory Size: 1024 MB\tMax Memory Used: 80 MB\tInit Duration: 150.25 ms\t\n";
        let r = parse(cold).unwrap();
        assert_eq!(r.duration_ms, 101.5);
        assert_eq!(r.init_ms, Some(150.25));
        assert_eq!(
            compact(&r),
            "REPORT 101.5 ms (billed 102 ms), memory 80/1024 MB, init 150 ms (cold start)"
        );
        assert!(parse("START RequestId: 9 Version: $LATEST").is_none());
    }
}
