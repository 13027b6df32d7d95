//! Power tuning's arithmetic: per memory size, the warm invocations' billed duration and what one
//! invocation costs, and three picks — the cheapest, the fastest, and a balance of the two (the
//! size whose cost and time, each relative to the best of its kind, add up least).

use serde::Serialize;

use super::price::{Arch, Rates, per_invocation};
use super::report::Report;

/// One memory size's runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    pub memory_mb: u32,
    /// Invocations made after the warm-up.
    pub invocations: usize,
    /// Of those, how many returned a REPORT line (the rest cannot be measured).
    pub measured: usize,
    pub cold_starts: usize,
    /// Mean over warm invocations (all, when every one was cold).
    pub avg_duration_ms: f64,
    pub avg_billed_ms: f64,
    pub cost_per_invocation_usd: f64,
    /// Cost of a million invocations at that speed.
    pub cost_per_million_usd: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Picks {
    pub cheapest: u32,
    pub fastest: u32,
    pub balanced: u32,
}

pub fn row(
    memory_mb: u32,
    (rates, arch): (&Rates, Arch),
    invocations: usize,
    reports: &[Report],
) -> Row {
    let warm: Vec<&Report> = reports.iter().filter(|r| r.init_ms.is_none()).collect();
    let counted: Vec<&Report> = if warm.is_empty() {
        reports.iter().collect()
    } else {
        warm
    };
    let n = counted.len().max(1) as f64;
    // Folded from +0.0: an empty sum of floats is -0.0.
    let avg_duration_ms = counted.iter().fold(0.0, |a, r| a + r.duration_ms) / n;
    let avg_billed_ms = counted.iter().fold(0.0, |a, r| a + r.billed_ms as f64) / n;
    let cost = per_invocation(rates, arch, memory_mb, avg_billed_ms);
    Row {
        memory_mb,
        invocations,
        measured: reports.len(),
        cold_starts: reports.iter().filter(|r| r.init_ms.is_some()).count(),
        avg_duration_ms,
        avg_billed_ms,
        cost_per_invocation_usd: cost,
        cost_per_million_usd: cost * 1e6,
    }
}

/// None when no size was measured.
pub fn picks(rows: &[Row]) -> Option<Picks> {
    let rows: Vec<&Row> = rows.iter().filter(|r| r.measured > 0).collect();
    let cheapest = rows.iter().min_by(|a, b| {
        a.cost_per_invocation_usd
            .total_cmp(&b.cost_per_invocation_usd)
    })?;
    let fastest = rows
        .iter()
        .min_by(|a, b| a.avg_duration_ms.total_cmp(&b.avg_duration_ms))?;
    let (c0, t0) = (
        cheapest.cost_per_invocation_usd.max(f64::MIN_POSITIVE),
        fastest.avg_duration_ms.max(f64::MIN_POSITIVE),
    );
    let score = |r: &&Row| r.cost_per_invocation_usd / c0 + r.avg_duration_ms / t0;
    let balanced = rows.iter().min_by(|a, b| score(a).total_cmp(&score(b)))?;
    Some(Picks {
        cheapest: cheapest.memory_mb,
        fastest: fastest.memory_mb,
        balanced: balanced.memory_mb,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::report::parse;

    fn reports(memory: u32, durations: &[f64], cold_first: bool) -> Vec<Report> {
        durations
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let init = if cold_first && i == 0 { "\tInit Duration: 200.00 ms" } else { "" };
                parse(&format!(
                    "REPORT RequestId: r{i}\tDuration: {d} ms\tBilled Duration: {} ms\tMemory Size: {memory} MB\tMax Memory Used: 50 MB{init}",
                    d.ceil()
                ))
                .unwrap()
            })
            .collect()
    }

    #[test]
    fn warm_runs_count_and_the_picks_follow_cost_and_speed() {
        // CPU-bound: doubling memory more than halves the time until 1024 MB, then barely helps.
        let r = crate::ops::price::rates("us-east-1");
        let rows = vec![
            row(
                128,
                (&r, Arch::X86),
                3,
                &reports(128, &[900.0, 800.0, 800.0], true),
            ),
            row(
                256,
                (&r, Arch::X86),
                3,
                &reports(256, &[400.0, 350.0, 350.0], true),
            ),
            row(
                512,
                (&r, Arch::X86),
                3,
                &reports(512, &[170.0, 160.0, 160.0], true),
            ),
            row(
                1024,
                (&r, Arch::X86),
                3,
                &reports(1024, &[80.0, 70.0, 70.0], true),
            ),
            row(
                2048,
                (&r, Arch::X86),
                3,
                &reports(2048, &[66.0, 64.0, 64.0], true),
            ),
        ];
        assert_eq!(rows[0].cold_starts, 1);
        assert_eq!(rows[0].avg_billed_ms, 800.0, "the cold run is left out");
        // 128 MB: 0.125 GB × 0.8 s × 0.0000166667 + 0.0000002.
        assert!(
            (rows[0].cost_per_invocation_usd - (0.125 * 0.8 * 0.000_016_666_7 + 2e-7)).abs()
                < 1e-12
        );
        let p = picks(&rows).unwrap();
        assert!(
            picks(&[row(128, (&r, Arch::X86), 3, &[])]).is_none(),
            "nothing measured"
        );
        assert_eq!(p.fastest, 2048);
        assert_eq!(p.cheapest, 1024);
        assert_eq!(p.balanced, 1024);
    }
}
