//! Prices and the bill. One table, in one place: AWS Lambda's and API Gateway's published on-demand
//! prices, first tier, per region — Lambda's from AWS's price list for Lambda (the one the AWS
//! Pricing Calculator reads; the duration of the dearer regions as listed on
//! aws.amazon.com/lambda/pricing), API Gateway's from aws.amazon.com/api-gateway/pricing, all
//! transcribed in November 2026. A region the table does not list is billed at us-east-1's prices
//! and the bill says so. (A seed of this project says $0.02 per million requests: AWS charges $0.20.)

use serde::Serialize;

/// Monthly free tier: requests and GB-seconds (shared by both architectures and all regions).
pub const FREE_REQUESTS: f64 = 1_000_000.0;
pub const FREE_GB_SECONDS: f64 = 400_000.0;

/// One region's rates. arm64 rates are 80% of x86_64's wherever AWS lists both, which is how
/// the provisioned-concurrency rates of arm64 are filled in here.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rates {
    /// The region whose published prices these are.
    pub region: &'static str,
    /// What of them is not that region's own, when some is not (then: us-east-1's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub borrowed: Option<&'static str>,
    pub requests_per_million: f64,
    /// Duration, per GB-second.
    pub gb_second_x86: f64,
    pub gb_second_arm: f64,
    /// Provisioned concurrency, per GB-second of it being configured.
    pub provisioned_x86: f64,
    pub provisioned_arm: f64,
    /// API Gateway, per million requests.
    pub http_api_per_million: f64,
    pub rest_api_per_million: f64,
}

const US_EAST_1: Rates = Rates {
    region: "us-east-1",
    borrowed: None,
    requests_per_million: 0.20,
    gb_second_x86: 0.000_016_666_7,
    gb_second_arm: 0.000_013_333_4,
    provisioned_x86: 0.000_004_166_7,
    provisioned_arm: 0.000_003_333_4,
    http_api_per_million: 1.00,
    rest_api_per_million: 3.50,
};

/// Regions whose Lambda prices are all listed: requests and on-demand duration as in
/// us-east-1, provisioned concurrency (x86_64, per GB-s) their own.
const PROVISIONED: [(&str, f64); 10] = [
    ("us-east-1", 0.000_004_166_7),
    ("us-east-2", 0.000_004_166_7),
    ("us-west-2", 0.000_004_166_7),
    ("ap-south-1", 0.000_004_498_5),
    ("ap-southeast-1", 0.000_005_199_1),
    ("ap-southeast-2", 0.000_005_236_0),
    ("ap-northeast-1", 0.000_005_383_5),
    ("eu-central-1", 0.000_005_014_7),
    ("eu-west-1", 0.000_004_646_0),
    ("eu-west-2", 0.000_004_830_4),
];

/// Regions where on-demand duration costs more (x86_64, arm64 per GB-s); their other rates are
/// not in the table.
const DEARER_DURATION: [(&str, f64, f64); 5] = [
    ("af-south-1", 0.000_022_1, 0.000_017_68),
    ("ap-east-1", 0.000_022_92, 0.000_018_3),
    ("eu-south-1", 0.000_019_517_2, 0.000_015_613_8),
    ("me-south-1", 0.000_020_666_7, 0.000_016_533_4),
    ("me-central-1", 0.000_020_666_7, 0.000_016_533_4),
];

/// The rates to bill `region` at.
pub fn rates(region: &str) -> Rates {
    if let Some((name, pc)) = PROVISIONED.iter().find(|(r, _)| *r == region) {
        return Rates {
            region: name,
            borrowed: (*name != "us-east-1").then_some("API Gateway's prices are us-east-1's"),
            provisioned_x86: *pc,
            provisioned_arm: pc * 0.8,
            ..US_EAST_1
        };
    }
    if let Some((name, x86, arm)) = DEARER_DURATION.iter().find(|(r, _, _)| *r == region) {
        return Rates {
            region: name,
            borrowed: Some(
                "requests, provisioned concurrency and API Gateway are billed at us-east-1's prices",
            ),
            gb_second_x86: *x86,
            gb_second_arm: *arm,
            ..US_EAST_1
        };
    }
    Rates {
        borrowed: Some("the table does not list this region: every price is us-east-1's"),
        ..US_EAST_1
    }
}

impl Rates {
    pub fn gb_second(&self, arch: Arch) -> f64 {
        match arch {
            Arch::X86 => self.gb_second_x86,
            Arch::Arm => self.gb_second_arm,
        }
    }

    pub fn provisioned(&self, arch: Arch) -> f64 {
        match arch {
            Arch::X86 => self.provisioned_x86,
            Arch::Arm => self.provisioned_arm,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    X86,
    Arm,
}

impl Arch {
    /// From Lambda's architecture name (`arm64`; anything else is x86_64).
    pub fn of(name: &str) -> Arch {
        if name == "arm64" {
            Arch::Arm
        } else {
            Arch::X86
        }
    }
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
    pub rates: Rates,
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

pub fn line(u: &Usage, r: &Rates) -> Line {
    let gbs = gb_seconds(u.memory_mb, u.duration_ms);
    let requests_usd = u.requests / 1e6 * r.requests_per_million;
    let duration_usd = gbs * r.gb_second(u.arch);
    let provisioned_usd = u.provisioned * f64::from(u.memory_mb) / 1024.0
        * u.provisioned_seconds
        * r.provisioned(u.arch);
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
pub fn bill(
    r: &Rates,
    usage: &[Usage],
    http_api_requests: f64,
    rest_api_requests: f64,
    days: f64,
) -> Bill {
    let lines: Vec<Line> = usage.iter().map(|u| line(u, r)).collect();
    let share = (days / 30.0).min(1.0);
    let requests: f64 = lines.iter().map(|l| l.requests).sum();
    let free_requests = requests.min(FREE_REQUESTS * share);
    // Free GB-seconds are taken from the dearer architecture first, as they are worth more there.
    let mut free_gbs = FREE_GB_SECONDS * share;
    let mut free_usd = free_requests / 1e6 * r.requests_per_million;
    let mut by_rate: Vec<(f64, f64)> = usage
        .iter()
        .zip(&lines)
        .map(|(u, l)| (r.gb_second(u.arch), l.gb_seconds))
        .collect();
    by_rate.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (rate, gbs) in by_rate {
        let take = gbs.min(free_gbs);
        free_gbs -= take;
        free_usd += take * rate;
    }
    let api_usd = http_api_requests / 1e6 * r.http_api_per_million
        + rest_api_requests / 1e6 * r.rest_api_per_million;
    let gross: f64 = lines.iter().map(|l| l.total_usd).sum::<f64>() + api_usd;
    Bill {
        rates: *r,
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
pub fn per_invocation(r: &Rates, arch: Arch, memory_mb: u32, billed_ms: f64) -> f64 {
    r.requests_per_million / 1e6 + gb_seconds(memory_mb, billed_ms) * r.gb_second(arch)
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
        let r = rates("us-east-1");
        let b = bill(&r, std::slice::from_ref(&u), 0.0, 0.0, 30.0);
        assert!((b.lines[0].gb_seconds - 180_000.0).abs() < 1e-6);
        assert!((b.lines[0].total_usd - 3.600006).abs() < 1e-6);
        assert!((b.free_tier_usd - 3.200006).abs() < 1e-6);
        assert!((b.total_usd - 0.40).abs() < 1e-6);
        // A week gets a week's share of the free tier.
        let b = bill(&r, &[u], 2e6, 1e6, 7.0);
        assert!((b.api_usd - (2.0 * 1.0 + 3.5)).abs() < 1e-9);
        let share = 7.0 / 30.0;
        let free = 1e6 * share / 1e6 * 0.20 + 400_000.0 * share * 0.000_016_666_7;
        assert!((b.free_tier_usd - free).abs() < 1e-6);
    }

    #[test]
    fn arm_is_cheaper_per_gb_second() {
        let r = rates("eu-west-1");
        let x = per_invocation(&r, Arch::X86, 1024, 100.0);
        let a = per_invocation(&r, Arch::Arm, 1024, 100.0);
        assert!(a < x);
        assert!((x - (0.0000002 + 0.1 * 0.000_016_666_7)).abs() < 1e-12);
    }

    #[test]
    fn regions_are_billed_at_their_own_rates_or_say_whose() {
        // Cape Town: a million 1-s invocations at 1 GB cost 1e6 GB-s × 0.0000221 + 0.20.
        let u = Usage {
            function: "f".into(),
            arch: Arch::X86,
            memory_mb: 1024,
            requests: 1e6,
            duration_ms: 1e9,
            provisioned: 0.0,
            provisioned_seconds: 0.0,
        };
        let cape = rates("af-south-1");
        assert!((line(&u, &cape).total_usd - (22.1 + 0.20)).abs() < 1e-6);
        assert!(cape.borrowed.is_some());
        // Frankfurt: on-demand as Virginia, provisioned concurrency its own (an instance of 1 GB
        // for an hour: 3600 GB-s).
        let fra = rates("eu-central-1");
        let pc = Usage {
            provisioned: 1.0,
            provisioned_seconds: 3600.0,
            requests: 0.0,
            duration_ms: 0.0,
            ..u.clone()
        };
        assert!((line(&pc, &fra).provisioned_usd - 3600.0 * 0.000_005_014_7).abs() < 1e-9);
        assert!((line(&pc, &rates("us-east-1")).provisioned_usd - 0.015).abs() < 1e-6);
        // arm64's provisioned rate is 80% of x86_64's.
        let arm = Usage {
            arch: Arch::Arm,
            ..pc
        };
        assert!((line(&arm, &fra).provisioned_usd - 3600.0 * 0.000_005_014_7 * 0.8).abs() < 1e-9);
        // Unlisted: Virginia's prices, and the bill says so.
        let elsewhere = rates("ap-southeast-7");
        assert_eq!(elsewhere.region, "us-east-1");
        assert!(elsewhere.borrowed.unwrap().contains("does not list"));
        assert_eq!(rates("us-east-1").borrowed, None);
    }
}
