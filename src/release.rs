//! The decisions behind `sls alias promote | shift | rollback`, as pure functions of an alias'
//! state: where it should point next, with which weights, and what history it keeps. The
//! history of earlier versions lives in the alias' description, so a rollback needs no local
//! state file and every machine running the release script sees the same history.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

/// How an alias' description starts when it carries history.
const HISTORY_PREFIX: &str = "sls previous versions:";
/// Lambda allows 256 characters of description; 20 versions of up to 6 digits fit easily.
const HISTORY_LEN: usize = 20;

/// What an alias holds now, as read from Lambda.
#[derive(Debug, Clone, PartialEq)]
pub struct AliasState {
    pub version: String,
    /// Extra versions and the share of traffic each receives (0.4 = 40%).
    pub weights: BTreeMap<String, f64>,
    pub description: String,
    pub revision_id: Option<String>,
}

/// Where an alias should point: the version, weighted extras and the description to store.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Target {
    pub version: String,
    pub weights: BTreeMap<String, f64>,
    #[serde(skip)]
    pub description: String,
}

impl AliasState {
    pub fn routing(&self) -> Target {
        Target {
            version: self.version.clone(),
            weights: self.weights.clone(),
            description: self.description.clone(),
        }
    }

    /// Whether the alias already routes exactly as `t` does (weights compared to 0.1%).
    fn routes_as(&self, t: &Target) -> bool {
        let same = |a: &BTreeMap<String, f64>, b: &BTreeMap<String, f64>| {
            a.len() == b.len()
                && a.iter()
                    .all(|(k, w)| b.get(k).is_some_and(|x| (x - w).abs() < 0.0005))
        };
        self.version == t.version && same(&self.weights, &t.weights)
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReleaseError {
    #[error(
        "alias {alias} of function {function} has no earlier version recorded: nothing to roll back to (sls records one each time it moves the alias)"
    )]
    NoHistory { function: String, alias: String },
    #[error(
        "no function of the service has an alias `{0}`; deploy with `sls deploy --alias {0}` first"
    )]
    NoSource(String),
}

/// A gradual promote whose check failed: every alias was put back (exit code 7).
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "the check failed at {step}%: alias {alias} was rolled back to the versions it served before"
)]
pub struct RolledBack {
    pub alias: String,
    pub step: u8,
}

/// The versions the alias pointed at before, most recent first.
pub fn history(description: &str) -> Vec<String> {
    description
        .strip_prefix(HISTORY_PREFIX)
        .map(|rest| {
            rest.split_whitespace()
                .filter(|v| v.bytes().all(|b| b.is_ascii_digit()))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn describe(history: &[String]) -> String {
    if history.is_empty() {
        return String::new();
    }
    let kept = &history[..history.len().min(HISTORY_LEN)];
    format!("{HISTORY_PREFIX} {}", kept.join(" "))
}

/// Points the alias wholly at `version`, remembering the version it leaves. `None`: it already
/// does (re-running a finished promote changes nothing).
pub fn promote(state: &AliasState, version: &str) -> Option<Target> {
    let t = Target {
        version: version.to_string(),
        weights: BTreeMap::new(),
        description: String::new(),
    };
    if state.routes_as(&t) {
        return None;
    }
    let mut h = history(&state.description);
    if state.version != version {
        h.insert(0, state.version.clone());
    }
    Some(Target {
        description: describe(&h),
        ..t
    })
}

/// Sends `percent` of the alias' traffic to `version`, the rest staying on its current version.
/// 0 clears the weights; 100 is a promote. `None`: nothing to change.
pub fn shift(state: &AliasState, version: &str, percent: u8) -> Option<Target> {
    if percent >= 100 {
        return promote(state, version);
    }
    let mut weights = BTreeMap::new();
    if percent > 0 && version != state.version {
        weights.insert(version.to_string(), f64::from(percent) / 100.0);
    }
    let t = Target {
        version: state.version.clone(),
        weights,
        description: state.description.clone(),
    };
    (!state.routes_as(&t)).then_some(t)
}

/// Undoes the last change: a weighted shift in progress is cleared (all traffic back on the
/// alias' version); otherwise the alias goes back to the version it pointed at before.
pub fn rollback(state: &AliasState, function: &str, alias: &str) -> Result<Target, ReleaseError> {
    if !state.weights.is_empty() {
        return Ok(Target {
            version: state.version.clone(),
            weights: BTreeMap::new(),
            description: state.description.clone(),
        });
    }
    let mut h = history(&state.description);
    if h.is_empty() {
        return Err(ReleaseError::NoHistory {
            function: function.to_string(),
            alias: alias.to_string(),
        });
    }
    let version = h.remove(0);
    Ok(Target {
        version,
        weights: BTreeMap::new(),
        description: describe(&h),
    })
}

/// `--steps 10,25,50,100`: increasing percentages, the last one 100.
pub fn parse_steps(s: &str) -> Result<Vec<u8>, String> {
    let mut out: Vec<u8> = Vec::new();
    for part in s.split(',') {
        let n: u8 = part
            .trim()
            .trim_end_matches('%')
            .parse()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| format!("`{}` is not a percentage from 1 to 100", part.trim()))?;
        if out.last().is_some_and(|&last| n <= last) {
            return Err(format!(
                "steps must increase: {n} comes after {}",
                out.last().unwrap()
            ));
        }
        out.push(n);
    }
    if out.last() != Some(&100) {
        return Err("the last step must be 100 (all traffic on the new version)".into());
    }
    Ok(out)
}

/// `--interval 60s`: a whole number of `ms`, `s`, `m` or `h` (plain numbers are seconds).
pub fn parse_interval(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let (n, unit) = s.split_at(digits);
    let n: u64 = n
        .parse()
        .map_err(|_| format!("`{s}` is not a duration like 30s, 5m or 500ms"))?;
    let ms = match unit {
        "ms" => n,
        "" | "s" => n * 1000,
        "m" => n * 60_000,
        "h" => n * 3_600_000,
        _ => return Err(format!("`{s}`: the unit must be ms, s, m or h")),
    };
    Ok(Duration::from_millis(ms))
}

/// A duration as `--interval` takes it back: `500ms`, `30s`, `5m`, `2h`.
pub fn show_interval(d: Duration) -> String {
    let ms = d.as_millis();
    match ms {
        _ if ms % 3_600_000 == 0 && ms > 0 => format!("{}h", ms / 3_600_000),
        _ if ms % 60_000 == 0 && ms > 0 => format!("{}m", ms / 60_000),
        _ if ms % 1000 == 0 => format!("{}s", ms / 1000),
        _ => format!("{ms}ms"),
    }
}

/// Lambda's rule for alias names: letters, digits, `-` and `_`, up to 128, not all digits
/// (those name versions).
pub fn check_alias_name(name: &str) -> Result<String, String> {
    let ok_chars = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if name.is_empty() || name.len() > 128 || !ok_chars {
        return Err(format!(
            "`{name}` is not an alias name: use 1 to 128 letters, digits, `-` or `_`"
        ));
    }
    if name.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "`{name}` names a version, not an alias: aliases need a letter"
        ));
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(version: &str, weights: &[(&str, f64)], description: &str) -> AliasState {
        AliasState {
            version: version.into(),
            weights: weights.iter().map(|(k, w)| (k.to_string(), *w)).collect(),
            description: description.into(),
            revision_id: Some("r1".into()),
        }
    }

    #[test]
    fn intervals_are_shown_as_they_are_typed() {
        for typed in ["500ms", "30s", "5m", "2h", "90s"] {
            assert_eq!(show_interval(parse_interval(typed).unwrap()), typed);
        }
    }

    #[test]
    fn promote_records_the_version_it_leaves_and_is_idempotent() {
        let s = state("3", &[], "sls previous versions: 2 1");
        let t = promote(&s, "5").unwrap();
        assert_eq!(t.version, "5");
        assert!(t.weights.is_empty());
        assert_eq!(t.description, "sls previous versions: 3 2 1");
        let after = state("5", &[], &t.description);
        assert_eq!(promote(&after, "5"), None);
    }

    #[test]
    fn promote_finishes_a_weighted_shift_to_the_same_version() {
        let s = state("3", &[("5", 0.4)], "");
        let t = promote(&s, "5").unwrap();
        assert_eq!((t.version.as_str(), t.weights.len()), ("5", 0));
        assert_eq!(history(&t.description), ["3"]);
        // Already on 5 but with a leftover weight: cleared, history not doubled.
        let s = state("5", &[("4", 0.1)], "sls previous versions: 3");
        let t = promote(&s, "5").unwrap();
        assert_eq!(history(&t.description), ["3"]);
    }

    #[test]
    fn shift_weights_the_other_version_and_keeps_the_primary() {
        let s = state("3", &[], "sls previous versions: 2");
        let t = shift(&s, "5", 40).unwrap();
        assert_eq!(t.version, "3");
        assert_eq!(t.weights, BTreeMap::from([("5".into(), 0.4)]));
        assert_eq!(t.description, s.description);
        let after = state("3", &[("5", 0.4)], &t.description);
        assert_eq!(shift(&after, "5", 40), None);
        assert!(shift(&after, "5", 0).unwrap().weights.is_empty());
        assert_eq!(shift(&after, "5", 100).unwrap().version, "5");
        // The alias' own version cannot be weighted against itself.
        assert_eq!(shift(&s, "3", 40), None);
    }

    #[test]
    fn rollback_clears_a_shift_first_then_walks_back_the_history() {
        let s = state("3", &[("5", 0.25)], "sls previous versions: 2 1");
        let t = rollback(&s, "f", "live").unwrap();
        assert_eq!((t.version.as_str(), t.weights.len()), ("3", 0));
        let s = state("3", &[], "sls previous versions: 2 1");
        let t = rollback(&s, "f", "live").unwrap();
        assert_eq!(t.version, "2");
        assert_eq!(t.description, "sls previous versions: 1");
        let t = rollback(&state("1", &[], ""), "f", "live");
        assert!(matches!(t, Err(ReleaseError::NoHistory { .. })));
    }

    #[test]
    fn history_ignores_foreign_descriptions_and_stays_bounded() {
        assert!(history("managed by hand").is_empty());
        let mut s = state("1", &[], "");
        for v in 2..40 {
            let t = promote(&s, &v.to_string()).unwrap();
            assert!(t.description.len() <= 256);
            s = state(&t.version, &[], &t.description);
        }
        assert_eq!(history(&s.description).len(), HISTORY_LEN);
        assert_eq!(history(&s.description)[0], "38");
    }

    #[test]
    fn steps_and_intervals_parse_strictly() {
        assert_eq!(parse_steps("10,25,50,100"), Ok(vec![10, 25, 50, 100]));
        assert_eq!(parse_steps("100"), Ok(vec![100]));
        assert!(parse_steps("10,50").unwrap_err().contains("last step"));
        assert!(parse_steps("50,10,100").unwrap_err().contains("increase"));
        assert!(parse_steps("0,100").is_err());
        assert!(parse_steps("ten,100").is_err());
        assert_eq!(parse_interval("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_interval("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_interval("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_interval("5"), Ok(Duration::from_secs(5)));
        assert!(parse_interval("5 days").is_err());
        assert!(parse_interval("s").is_err());
    }

    #[test]
    fn alias_names_follow_lambda() {
        assert!(check_alias_name("next").is_ok());
        assert!(check_alias_name("blue_green-2").is_ok());
        assert!(check_alias_name("12").is_err());
        assert!(check_alias_name("a/b").is_err());
        assert!(check_alias_name("").is_err());
    }
}
