//! `s3` events: the buckets sls makes for them (or the user's, `existing: true`), and on each
//! bucket the notification entries that invoke this service's aliases. A bucket's notification
//! configuration is one document that a PUT replaces whole: only the entries whose ids are ours
//! (`sls/{service}/{stage}/…`; service and stage cannot contain `/`) are replaced, every other
//! Lambda, queue, topic and EventBridge entry is sent back as it was. A grant per function and
//! bucket lets S3 invoke the alias. AWS side: `provider::aws::notification`.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::events::Of;
use super::{Conflict, Desired, NOT_OURS, Observed, Phase, Plan};
use crate::config::model::S3Event;
use serde_json::Value;

/// One notification entry of ours: a function's alias on some events, with key filters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EntrySpec {
    pub id: String,
    /// The function's key under `functions:`.
    pub function: String,
    pub events: Vec<String>,
    pub prefix: Option<String>,
    pub suffix: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventBucketSpec {
    pub bucket: String,
    /// `existing: true`: the user's bucket, never created or deleted.
    pub existing: bool,
    /// Sorted by id.
    pub entries: Vec<EntrySpec>,
}

/// A notification entry of ours as S3 holds it (the function ARN resolved to the key later).
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedEntry {
    pub id: String,
    pub function_arn: String,
    pub events: Vec<String>,
    pub prefix: Option<String>,
    pub suffix: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObservedEventBucket {
    pub owned: bool,
    /// Whether it holds any object (a bucket with data is never deleted).
    pub empty: bool,
    /// Our entries, sorted by id.
    pub entries: Vec<ObservedEntry>,
}

/// The prefix of our entries' ids on any bucket.
pub fn id_prefix(service: &str, stage: &str) -> String {
    format!("sls/{service}/{stage}/")
}

/// The statement id of the grant for one bucket on a function's alias.
pub fn statement_id(bucket: &str) -> String {
    format!("sls-s3-{bucket}")
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum NotificationStep {
    CreateEventBucket {
        bucket: String,
    },
    #[serde(rename_all = "camelCase")]
    GrantBucket {
        function: String,
        function_name: String,
        bucket: String,
    },
    /// Replaces our entries in the bucket's notification configuration, keeping every other.
    PutBucketNotification {
        bucket: String,
        entries: usize,
    },
    #[serde(rename_all = "camelCase")]
    RevokeBucket {
        function_name: String,
        statement: String,
    },
    DeleteEventBucket {
        bucket: String,
    },
}

impl super::KindStep for NotificationStep {
    fn phase(&self) -> Phase {
        match self {
            NotificationStep::CreateEventBucket { .. } => Phase::Apis,
            NotificationStep::GrantBucket { .. } => Phase::Permissions,
            NotificationStep::PutBucketNotification { entries, .. } if *entries > 0 => {
                Phase::Triggers
            }
            // Taking entries away happens with the other deletions, before the functions go.
            NotificationStep::PutBucketNotification { .. } => Phase::DeleteTriggers,
            NotificationStep::RevokeBucket { .. } => Phase::DeleteTriggers,
            NotificationStep::DeleteEventBucket { .. } => Phase::DeleteFunctions,
        }
    }

    fn lane(&self) -> String {
        match self {
            NotificationStep::CreateEventBucket { bucket }
            | NotificationStep::PutBucketNotification { bucket, .. }
            | NotificationStep::DeleteEventBucket { bucket } => format!("s3 bucket {bucket}"),
            NotificationStep::GrantBucket { function_name, .. }
            | NotificationStep::RevokeBucket { function_name, .. } => {
                format!("function {function_name}")
            }
        }
    }

    fn removes(&self) -> Option<String> {
        match self {
            NotificationStep::DeleteEventBucket { bucket } => Some(format!("S3 bucket {bucket}")),
            NotificationStep::CreateEventBucket { .. }
            | NotificationStep::GrantBucket { .. }
            | NotificationStep::PutBucketNotification { .. }
            | NotificationStep::RevokeBucket { .. } => None,
        }
    }
}

impl fmt::Display for NotificationStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotificationStep::CreateEventBucket { bucket } => write!(f, "+ S3 bucket {bucket}"),
            NotificationStep::GrantBucket {
                function_name,
                bucket,
                ..
            } => write!(
                f,
                "+ permission: S3 bucket {bucket} may invoke {function_name}"
            ),
            NotificationStep::PutBucketNotification { bucket, entries } => write!(
                f,
                "~ S3 bucket {bucket}: notifications of this service ({entries}; others kept)"
            ),
            NotificationStep::RevokeBucket {
                function_name,
                statement,
            } => write!(f, "- permission {statement} on {function_name}"),
            NotificationStep::DeleteEventBucket { bucket } => write!(f, "- S3 bucket {bucket}"),
        }
    }
}

/// Buckets made (not `existing`), our entries brought to the config on each bucket (all other
/// entries kept), grants per function and bucket; on removal, our entries taken out and our
/// buckets deleted when empty (a bucket with data is left, and said so).
pub fn plan(d: &Desired, o: &Observed, p: &mut Plan) {
    let alias_of = |key: &str| {
        d.function(key)
            .map(|f| d.qualified(&format!("function:{}", f.name)))
            .unwrap_or_default()
    };
    for b in &d.event_buckets {
        let have = o.event_buckets.get(&b.bucket);
        match have {
            None if !b.existing => p.push(NotificationStep::CreateEventBucket {
                bucket: b.bucket.clone(),
            }),
            Some(h) if !b.existing && !h.owned => {
                p.conflicts.push(Conflict {
                    resource: format!("S3 bucket {}", b.bucket),
                    reason: format!(
                        "{NOT_OURS}; to use a bucket of yours, set `existing: true` on its events"
                    ),
                });
                continue;
            }
            _ => {}
        }
        let current = have.is_some_and(|h| {
            h.entries.len() == b.entries.len()
                && h.entries.iter().zip(&b.entries).all(|(o, w)| {
                    o.id == w.id
                        && o.function_arn.ends_with(&alias_of(&w.function))
                        && o.events == w.events
                        && o.prefix == w.prefix
                        && o.suffix == w.suffix
                })
        });
        if !current {
            p.push(NotificationStep::PutBucketNotification {
                bucket: b.bucket.clone(),
                entries: b.entries.len(),
            });
        }
    }
    for (bucket, have) in &o.event_buckets {
        if d.event_buckets.iter().any(|b| &b.bucket == bucket) {
            continue;
        }
        if !have.entries.is_empty() {
            p.push(NotificationStep::PutBucketNotification {
                bucket: bucket.clone(),
                entries: 0,
            });
        }
        if have.owned {
            if have.empty {
                p.push(NotificationStep::DeleteEventBucket {
                    bucket: bucket.clone(),
                });
            } else {
                p.leave_alone(format!(
                    "S3 bucket {bucket} (it holds objects: empty it and delete it yourself)"
                ));
            }
        }
    }
    // Grants: one per function and bucket.
    let mut wanted: BTreeMap<(String, String), String> = BTreeMap::new();
    for b in &d.event_buckets {
        for e in &b.entries {
            if let Some(f) = d.function(&e.function) {
                wanted.insert((f.name.clone(), b.bucket.clone()), e.function.clone());
            }
        }
    }
    for ((function_name, bucket), function) in &wanted {
        let granted = o
            .permissions
            .get(function_name)
            .and_then(|s| s.get(&statement_id(bucket)))
            .is_some_and(|source| source.ends_with(&format!(":::{bucket}")));
        if !granted {
            p.push(NotificationStep::GrantBucket {
                function: function.clone(),
                function_name: function_name.clone(),
                bucket: bucket.clone(),
            });
        }
    }
    // `deploy function` leaves buckets (one document for all functions) to `deploy`.
    if d.function_only {
        return;
    }
    let stale = super::permission::stale_grants(d, o, "sls-s3-", |f, bucket| {
        wanted.contains_key(&(f.name.clone(), bucket.to_string()))
    });
    for (function_name, statement) in stale {
        p.push(NotificationStep::RevokeBucket {
            function_name,
            statement,
        });
    }
}

/// The buckets `s3` events name, each with our entries: `event` (default
/// `s3:ObjectCreated:*`) and `rules` (`prefix`, `suffix`) per event, ids
/// `sls/{service}/{stage}/{function}/{n}`.
pub(super) fn desired(
    service: &str,
    stage: &str,
    events: &[Of<'_, &S3Event>],
) -> Vec<EventBucketSpec> {
    let mut out: Vec<EventBucketSpec> = Vec::new();
    // Per function: its `s3` events so far.
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    {
        for (key, e) in events {
            let n = counts.entry(key.as_str()).or_default();
            *n += 1;
            let rule = |k: &str| {
                e.rules
                    .iter()
                    .flatten()
                    .find_map(|r| r.get(k).and_then(Value::as_str).map(str::to_string))
            };
            let entry = EntrySpec {
                id: format!("{}{key}/{n}", id_prefix(service, stage)),
                function: key.to_string(),
                events: vec![
                    e.event
                        .clone()
                        .unwrap_or_else(|| "s3:ObjectCreated:*".into()),
                ],
                prefix: rule("prefix"),
                suffix: rule("suffix"),
            };
            match out.iter_mut().find(|b| b.bucket == e.bucket) {
                Some(b) => b.entries.push(entry),
                None => out.push(EventBucketSpec {
                    bucket: e.bucket.clone(),
                    existing: e.existing == Some(true),
                    entries: vec![entry],
                }),
            }
        }
    }
    for b in &mut out {
        b.entries.sort();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::tests::desired;

    fn with_bucket(d: &mut Desired, existing: bool) {
        d.event_buckets = vec![EventBucketSpec {
            bucket: "photos".into(),
            existing,
            entries: vec![EntrySpec {
                id: "sls/svc/dev/a/1".into(),
                function: "a".into(),
                events: vec!["s3:ObjectCreated:*".into()],
                prefix: Some("uploads/".into()),
                suffix: None,
            }],
        }];
    }

    fn converged(d: &Desired) -> Observed {
        let mut o = Observed::default();
        for b in &d.event_buckets {
            o.event_buckets.insert(
                b.bucket.clone(),
                ObservedEventBucket {
                    owned: !b.existing,
                    empty: true,
                    entries: b
                        .entries
                        .iter()
                        .map(|e| ObservedEntry {
                            id: e.id.clone(),
                            function_arn: format!(
                                "arn:aws:lambda:eu-west-1:1:function:svc-dev-{}:{}",
                                e.function, d.live
                            ),
                            events: e.events.clone(),
                            prefix: e.prefix.clone(),
                            suffix: e.suffix.clone(),
                        })
                        .collect(),
                },
            );
            for e in &b.entries {
                o.permissions
                    .entry(format!("svc-dev-{}", e.function))
                    .or_default()
                    .insert(
                        statement_id(&b.bucket),
                        format!("arn:aws:s3:::{}", b.bucket),
                    );
            }
        }
        o
    }

    fn shown(d: &Desired, o: &Observed) -> Vec<String> {
        let mut p = Plan::default();
        plan(d, o, &mut p);
        p.steps.sort_by_key(|s| s.phase());
        let mut out: Vec<String> = p.steps.iter().map(|s| s.to_string()).collect();
        out.extend(p.left_alone.iter().map(|l| format!("left alone: {l}")));
        out
    }

    #[test]
    fn a_bucket_is_made_granted_and_notified_then_left_alone() {
        let mut d = desired();
        with_bucket(&mut d, false);
        assert_eq!(
            shown(&d, &Observed::default()),
            [
                "+ S3 bucket photos",
                "+ permission: S3 bucket photos may invoke svc-dev-a",
                "~ S3 bucket photos: notifications of this service (1; others kept)",
            ]
        );
        assert!(shown(&d, &converged(&d)).is_empty());
    }

    #[test]
    fn an_existing_bucket_is_never_made_nor_deleted_and_a_full_one_is_kept() {
        let mut d = desired();
        with_bucket(&mut d, true);
        let steps = shown(&d, &Observed::default());
        assert!(
            !steps.iter().any(|s| s.starts_with("+ S3 bucket")),
            "{steps:?}"
        );
        let o = converged(&d);
        assert_eq!(
            shown(&d.nothing(), &o),
            ["~ S3 bucket photos: notifications of this service (0; others kept)"]
        );
        let mut d = desired();
        with_bucket(&mut d, false);
        let mut o = converged(&d);
        o.event_buckets.get_mut("photos").unwrap().empty = false;
        let steps = shown(&d.nothing(), &o);
        assert_eq!(steps.len(), 2, "{steps:?}");
        assert!(steps[1].contains("holds objects"));
    }
}
