//! Moving one alias across every function of a service together: promote, shift, rollback and
//! the gradual promote with checks between steps. The decisions come from [`crate::release`];
//! this module reads the aliases, applies the decisions under each alias' `RevisionId`, and
//! undoes a gradual promote whose check fails.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use serde::Serialize;

use super::aliases;
use super::{Aws, AwsError};
use crate::plan::Desired;
use crate::release::{self, AliasState, ReleaseError, Target};

/// Why moving the aliases stopped: an AWS call (a conflict included), or a decision that
/// cannot be made (nothing to roll back to).
#[derive(Debug, thiserror::Error)]
pub enum MoveError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    Release(#[from] ReleaseError),
}

impl MoveError {
    /// The error itself, so the reporting path sees an [`AwsError`] (and its exit code).
    pub fn into_inner(self) -> anyhow::Error {
        match self {
            MoveError::Aws(e) => e.into(),
            MoveError::Release(e) => e.into(),
        }
    }
}

/// Where the new versions come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// The versions another alias points at (`--from next`).
    Alias(String),
    /// One version number (`--version 7`), for a single function.
    Version(String),
}

/// One function taking part: the alias being moved, and the version it should move to.
#[derive(Debug, Clone)]
pub struct Member {
    pub function: String,
    pub name: String,
    pub state: Option<AliasState>,
    /// `None` for a rollback, which needs no source.
    pub source: Option<String>,
    before: Option<Target>,
}

/// What happened to one function's alias, for the summary and `--json`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub function: String,
    pub name: String,
    pub before: Option<Target>,
    pub after: Option<Target>,
    pub changed: bool,
}

/// A function left out, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    pub function: String,
    pub reason: String,
}

/// Reads the alias `to` of each function (all, or `only`), and the version each should move to.
pub async fn read(
    aws: &Aws,
    d: &Desired,
    to: &str,
    source: Option<&Source>,
    only: Option<&str>,
) -> Result<(Vec<Member>, Vec<Skipped>), AwsError> {
    let mut members = Vec::new();
    let mut skipped = Vec::new();
    for f in d
        .functions
        .iter()
        .filter(|f| only.is_none_or(|o| o == f.key))
    {
        let version = match source {
            None => None,
            Some(Source::Version(v)) => Some(v.clone()),
            Some(Source::Alias(a)) => match aliases::get(aws, &f.name, a).await? {
                Some(s) => Some(s.version),
                None => {
                    skipped.push(Skipped {
                        function: f.key.clone(),
                        reason: format!("no alias {a}"),
                    });
                    continue;
                }
            },
        };
        let state = aliases::get(aws, &f.name, to).await?;
        members.push(Member {
            function: f.key.clone(),
            name: f.name.clone(),
            before: state.as_ref().map(AliasState::routing),
            state,
            source: version,
        });
    }
    Ok((members, skipped))
}

/// Applies `decide` to each member's alias; `None` from it leaves that alias as it is. An
/// alias that does not exist yet is created at the decided version.
pub async fn apply(
    aws: &Aws,
    alias: &str,
    members: &mut [Member],
    decide: impl Fn(&Member) -> Result<Option<Target>, ReleaseError>,
) -> Result<(), MoveError> {
    for m in members.iter_mut() {
        let Some(t) = decide(m)? else { continue };
        move_to(aws, alias, m, t).await?;
    }
    Ok(())
}

async fn move_to(aws: &Aws, alias: &str, m: &mut Member, t: Target) -> Result<(), AwsError> {
    let revision = match &m.state {
        Some(s) => aliases::set(aws, &m.name, alias, &t, s.revision_id.as_deref()).await?,
        None => {
            aliases::create(aws, &m.name, alias, &t).await?;
            None
        }
    };
    m.state = Some(AliasState {
        version: t.version,
        weights: t.weights,
        description: t.description,
        revision_id: revision,
    });
    Ok(())
}

/// Points one function's alias wholly at `version`, creating it if missing: what a deploy does
/// after publishing. The move records the version left (for `sls alias rollback`) and is
/// guarded by the alias' `RevisionId`, like every release command's.
pub async fn point(aws: &Aws, name: &str, alias: &str, version: &str) -> Result<(), AwsError> {
    let state = aliases::get(aws, name, alias).await?;
    let mut m = Member {
        function: name.to_string(),
        name: name.to_string(),
        before: state.as_ref().map(AliasState::routing),
        state,
        source: Some(version.to_string()),
    };
    match promote(&m) {
        Ok(Some(t)) => move_to(aws, alias, &mut m, t).await,
        _ => Ok(()),
    }
}

/// The decision of a promote for one member: the whole alias onto its source version.
pub fn promote(m: &Member) -> Result<Option<Target>, ReleaseError> {
    let v = m.source.as_deref().unwrap_or_default();
    Ok(match &m.state {
        Some(s) => release::promote(s, v),
        None => Some(Target {
            version: v.to_string(),
            weights: BTreeMap::new(),
            description: String::new(),
        }),
    })
}

/// The decision of `shift --weight percent` for one member.
pub fn shift(m: &Member, percent: u8) -> Result<Option<Target>, ReleaseError> {
    let v = m.source.as_deref().unwrap_or_default();
    Ok(match &m.state {
        Some(s) => release::shift(s, v, percent),
        // Nothing serves traffic yet: the only sensible weighting is all of it.
        None => promote(m)?,
    })
}

/// The decision of a rollback for one member.
pub fn rollback(m: &Member, alias: &str) -> Result<Option<Target>, ReleaseError> {
    match &m.state {
        Some(s) => release::rollback(s, &m.function, alias).map(Some),
        None => Err(ReleaseError::NoHistory {
            function: m.function.clone(),
            alias: alias.to_string(),
        }),
    }
}

/// One step of a gradual promote, as reported.
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    pub weight: u8,
    /// `passed`, `failed`, or `None` without a check.
    pub check: Option<&'static str>,
}

/// Where a gradual promote goes: the percents of its steps and the wait after each.
pub struct Walk<'a> {
    pub steps: &'a [u8],
    pub interval: Duration,
}

/// Shifts the traffic in `walk.steps` (percent), waiting `walk.interval` and running `check`
/// after each, saying each step as it is taken. When a check fails, all traffic goes back to
/// the versions the aliases served before and the step reports say where it stopped. Returns
/// whether every check passed.
pub async fn gradual<F, Fut>(
    aws: &Aws,
    alias: &str,
    members: &mut [Member],
    walk: Walk<'_>,
    mut check: Option<F>,
    reports: &mut Vec<StepReport>,
    say: &dyn Fn(String),
) -> Result<bool, MoveError>
where
    F: FnMut(u8) -> Fut,
    Fut: Future<Output = bool>,
{
    let Walk { steps, interval } = walk;
    for &weight in steps {
        apply(aws, alias, members, |m| shift(m, weight)).await?;
        let last = weight == 100;
        // A step waits minutes by default: each is said as it is taken, not only at the end.
        say(match (last, check.is_some()) {
            (true, false) => format!("  {weight}% of the traffic on the new versions"),
            (_, true) => format!(
                "  {weight}% of the traffic on the new versions; the check runs in {}",
                crate::release::show_interval(interval)
            ),
            (false, false) => format!(
                "  {weight}% of the traffic on the new versions; the next step in {}",
                crate::release::show_interval(interval)
            ),
        });
        if check.is_some() || !last {
            // Ctrl-C while traffic is split: a gradual promote never stops half-way, the
            // traffic goes back to the versions that served it before, as for a failed check.
            tokio::select! {
                () = tokio::time::sleep(interval) => {}
                () = crate::interrupt::wait() => {}
            }
        }
        if crate::interrupt::requested() {
            restore(aws, alias, members).await?;
            return Err(AwsError::Interrupted(crate::interrupt::Interrupted {
                done: reports.len(),
                total: steps.len(),
                rolled_back: true,
            })
            .into());
        }
        let passed = match check.as_mut() {
            Some(c) => c(weight).await,
            None => true,
        };
        reports.push(StepReport {
            weight,
            check: check
                .as_ref()
                .map(|_| if passed { "passed" } else { "failed" }),
        });
        if !passed {
            restore(aws, alias, members).await?;
            return Ok(false);
        }
    }
    Ok(true)
}

/// Puts all of each alias' traffic back on the version it served before, with its history as
/// it was then: a split that was in progress is not restored, since the check just failed.
async fn restore(aws: &Aws, alias: &str, members: &mut [Member]) -> Result<(), AwsError> {
    for m in members.iter_mut() {
        let (Some(mut before), Some(now)) = (m.before.clone(), m.state.as_ref()) else {
            continue;
        };
        before.weights.clear();
        if now.routing() != before {
            move_to(aws, alias, m, before).await?;
        }
    }
    Ok(())
}

/// The per-function outcome, once the members have been moved (or not).
pub fn reports(members: &[Member]) -> Vec<Report> {
    members
        .iter()
        .map(|m| {
            let after = m.state.as_ref().map(AliasState::routing);
            Report {
                function: m.function.clone(),
                name: m.name.clone(),
                changed: after != m.before,
                before: m.before.clone(),
                after,
            }
        })
        .collect()
}
