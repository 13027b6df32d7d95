//! Prices and the bill. One table, in one place: AWS Lambda's and API Gateway's published on-demand
//! prices for US East (N. Virginia), first tier, as listed on aws.amazon.com/lambda/pricing and
//! aws.amazon.com/api-gateway/pricing (read November 2026). Most commercial regions charge the
//! same for Lambda; elsewhere the bill says it uses these prices. (A seed of this project says
//! $0.02 per million requests: AWS charges $0.20.)

use serde::Serialize;

/// Requests, per million.
pub const REQUESTS_PER_MILLION: f64 = 0.20;
/// Duration, per GB-second, x86_64.
pub const GB_SECOND_X86: f64 = 0.000_016_666_7;
/// Duration, per GB-second, arm64.
pub const GB_SECOND_ARM: f64 = 0.000_013_333_4;
/// Provisioned concurrency, per GB-second of it being configured (x86_64; arm64 below).
pub const PROVISIONED_GB_SECOND_X86: f64 = 0.000_004_166_7;
pub const PROVISIONED_GB_SECOND_ARM: f64 = 0.000_003_333_4;
/// Duration of invocations that run on provisioned concurrency, per GB-second.
pub const PROVISIONED_DURATION_X86: f64 = 0.000_009_722_2;
pub const PROVISIONED_DURATION_ARM: f64 = 0.000_007_777_8;
/// Monthly free tier: requests and GB-seconds (shared by both architectures).
pub const FREE_REQUESTS: f64 = 1_000_000.0;
pub const FREE_GB_SECONDS: f64 = 400_000.0;
/// API Gateway, per million requests (first tier).
pub const HTTP_API_PER_MILLION: f64 = 1.00;
pub const REST_API_PER_MILLION: f64 = 3.50;
/// Where the prices are those of the table.
pub const PRICED_REGION: &str = "us-east-1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    X86,
    Arm,
}

/// One function's use over the period.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    pub function: String,
    pub arch: Arch,
    pub memory_mb: u32,
    pub requests: f64,
    /// The sum of the invocations' durations, in ms (CloudWatch's Duration Sum).
    pub duration_ms: f64,
    /// Provisioned concurrency configured (environments) and for how many seconds of the period.
    pub provisioned: f64,
    pub provisioned_seconds: f64,
}

/// One function's share of the bill, before the free tier.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Line {
    pub function: String,
    pub requests: f64,
    pub gb_seconds: f64,
    pub requests_usd: f64,
    pub duration_usd: f64,
    pub provisioned_usd: f64,
    pub total_usd: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Bill {
    pub lines: Vec<Line>,
    pub http_api_requests: f64,
    pub rest_api_requests: f64,
    pub api_usd: f64,
    /// What the free tier takes off (requests and GB-seconds, prorated to the period's share
    /// of a 30-day month).
    pub free_tier_usd: f64,
    pub total_usd: f64,
    /// The period in days, for the free tier's share.
    pub days: f64,
}

pub fn gb_seconds(memory_mb: u32, duration_ms: f64) -> f64 {
    f64::from(memory_mb) / 1024.0 * duration_ms / 1000.0
}

pub fn line(u: &Usage) -> Line {
    let gbs = gb_seconds(u.memory_mb, u.duration_ms);
    let (rate, pc_rate) = match u.arch {
        Arch::X86 => (GB_SECOND_X86, PROVISIONED_GB_SECOND_X86),
        Arch::Arm => (GB_SECOND_ARM, PROVISIONED_GB_SECOND_ARM),
    };
    let requests_usd = u.requests / 1e6 * REQUESTS_PER_MILLION;
    let duration_usd = gbs * rate;
    let provisioned_usd =
        u.provisioned * f64::from(u.memory_mb) / 1024.0 * u.provisioned_seconds * pc_rate;
    Line {
        function: u.function.clone(),
        requests: u.requests,
        gb_seconds: gbs,
        requests_usd,
        duration_usd,
        provisioned_usd,
        total_usd: requests_usd + duration_usd + provisioned_usd,
    }
}

/// The bill of a period of `days`: per function, the APIs, and the free tier prorated.
pub fn bill(usage: &[Usage], http_api_requests: f64, rest_api_requests: f64, days: f64) -> Bill {
    let lines: Vec<Line> = usage.iter().map(line).collect();
    let share = (days / 30.0).min(1.0);
    let requests: f64 = lines.iter().map(|l| l.requests).sum();
    let free_requests = requests.min(FREE_REQUESTS * share);
    // Free GB-seconds are taken from the dearer architecture first, as they are worth more there.
    let mut free_gbs = FREE_GB_SECONDS * share;
    let mut free_usd = free_requests / 1e6 * REQUESTS_PER_MILLION;
    let mut by_rate: Vec<(f64, f64)> = usage
        .iter()
        .zip(&lines)
        .map(|(u, l)| {
            let rate = match u.arch {
                Arch::X86 => GB_SECOND_X86,
                Arch::Arm => GB_SECOND_ARM,
            };
            (rate, l.gb_seconds)
        })
        .collect();
    by_rate.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (rate, gbs) in by_rate {
        let take = gbs.min(free_gbs);
        free_gbs -= take;
        free_usd += take * rate;
    }
    let api_usd = http_api_requests / 1e6 * HTTP_API_PER_MILLION
        + rest_api_requests / 1e6 * REST_API_PER_MILLION;
    let gross: f64 = lines.iter().map(|l| l.total_usd).sum::<f64>() + api_usd;
    Bill {
        lines,
        http_api_requests,
        rest_api_requests,
        api_usd,
        free_tier_usd: free_usd,
        total_usd: (gross - free_usd).max(0.0),
        days,
    }
}

/// The cost of one invocation (no free tier): what `tune` compares.
pub fn per_invocation(arch: Arch, memory_mb: u32, billed_ms: f64) -> f64 {
    let rate = match arch {
        Arch::X86 => GB_SECOND_X86,
        Arch::Arm => GB_SECOND_ARM,
    };
    REQUESTS_PER_MILLION / 1e6 + gb_seconds(memory_mb, billed_ms) * rate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_of_one_function_by_hand() {
        // 3M requests of 120 ms at 512 MB on x86 over 30 days:
        // requests 3 × 0.20 = 0.60; GB-s 3e6 × 0.5 × 0.12 = 180,000 → × 0.0000166667 = 3.000006;
        // free tier: 1M requests (0.20) and 180,000 GB-s (all of it, 3.000006) → total 0.40.
        let u = Usage {
            function: "f".into(),
            arch: Arch::X86,
            memory_mb: 512,
            requests: 3e6,
            duration_ms: 3e6 * 120.0,
            provisioned: 0.0,
            provisioned_seconds: 0.0,
        };
        let b = bill(std::slice::from_ref(&u), 0.0, 0.0, 30.0);
        assert!((b.lines[0].gb_seconds - 180_000.0).abs() < 1e-6);
        assert!((b.lines[0].total_usd - 3.600006).abs() < 1e-6);
        assert!((b.free_tier_usd - 3.200006).abs() < 1e-6);
        assert!((b.total_usd - 0.40).abs() < 1e-6);
        // A week gets a week's share of the free tier.
        let b = bill(&[u], 2e6, 1e6, 7.0);
        assert!((b.api_usd - (2.0 * 1.0 + 3.5)).abs() < 1e-9);
        let share = 7.0 / 30.0;
        let free = 1e6 * share / 1e6 * 0.20 + 400_000.0 * share * GB_SECOND_X86;
        assert!((b.free_tier_usd - free).abs() < 1e-6);
    }

    #[test]
    fn arm_is_cheaper_per_gb_second() {
        let x = per_invocation(Arch::X86, 1024, 100.0);
        let a = per_invocation(Arch::Arm, 1024, 100.0);
        assert!(a < x);
        assert!((x - (0.0000002 + 0.1 * GB_SECOND_X86)).abs() < 1e-12);
    }
}
