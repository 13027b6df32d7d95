//! The orchestrator: reads every kind side by side into [`Observed`], and carries out a plan
//! phase by phase — a dumb loop that hands each step to its kind's `apply`. Every step is safe
//! to repeat, so a run interrupted anywhere converges when it is run again.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::context::{Applying, Known};
use super::{
    Aws, AwsError, Boxed, adopt, alb, alexa, bounded, bucket, domain, event_source, function,
    http_api, layer, log_group, log_subscription, notification, permission, rest_api, role,
    schedule, scheduler, stack, topic, user_pool, websocket,
};
use crate::plan::{
    Desired, Observed, ObservedRole, Phase, Statements, Step, endpoints, rest_api::invoke_url,
};

/// How many lanes (functions, APIs) run at once: enough to hide latency, few enough to stay
/// far from Lambda's control-plane rate limits.
const PARALLELISM: usize = 4;
/// How many functions are read at once.
const READ_PARALLELISM: usize = 8;

/// How much of the service a command reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `deploy function`: the role and the desired functions.
    Functions,
    /// `deploy`, `info`: also the functions the config no longer has, and the APIs.
    Service,
    /// `remove`: also the deployment bucket.
    Everything,
}

/// Reads what exists, independent kinds and functions side by side. Only Get/List calls.
pub async fn observe(aws: &Aws, d: &Desired, scope: Scope) -> Result<Observed, AwsError> {
    let whole = scope != Scope::Functions;
    // `deploy function` changes no API grant; URL and event grants are read for their plans.
    let grants = whole
        || d.alias != d.live
        || d.functions.iter().any(|f| f.url.is_some())
        || !d.rules.is_empty()
        || !d.subscriptions.is_empty()
        || !d.log_subscriptions.is_empty()
        || !d.alexa.is_empty();
    let desired: Vec<String> = d.functions.iter().map(|f| f.name.clone()).collect();
    let listed = async {
        if whole {
            function::list_ours(aws, d).await
        } else {
            Ok(Vec::new())
        }
    };
    // Both kinds of API Gateway v2 API come from one listing.
    let v2 = async {
        if !whole {
            return Ok((None, None));
        }
        let apis = http_api::list(aws).await?;
        let (http, ws) = tokio::join!(
            http_api::observe(aws, d, &apis),
            websocket::observe(aws, d, &apis)
        );
        Ok::<_, AwsError>((http?, ws?))
    };
    let rest = async {
        if whole {
            rest_api::observe(aws, d).await
        } else {
            Ok(None)
        }
    };
    let groups: Vec<String> = d.log_groups.iter().map(|g| g.log_group.clone()).collect();
    // Schedules deliver to the live alias: read when deploying to it.
    let rules = async {
        if d.alias == d.live {
            schedule::observe(aws, d).await
        } else {
            Ok(Default::default())
        }
    };
    // Scheduler's group, then its role when there may be one.
    let scheduled = async {
        if d.alias != d.live {
            return Ok((None, None));
        }
        let group = scheduler::observe(aws, d).await?;
        let role = match (&d.scheduler_role, &group) {
            (Some(spec), _) => role::observe_named(aws, d, &spec.name, &spec.policy_name).await?,
            (None, Some(_)) => {
                let (name, policy) =
                    crate::plan::scheduler::role_name(&d.service, &d.stage, &d.region);
                role::observe_named(aws, d, &name, &policy).await?
            }
            (None, None) => None,
        };
        Ok::<_, AwsError>((group, role))
    };
    // What sls made for topics and bucket events, found by tags while the functions are read;
    // the rest of those kinds needs the account and the functions' grants, read after.
    let live = d.alias == d.live;
    let tagged_topics = async {
        if live {
            topic::ours(aws, d).await
        } else {
            Ok(Vec::new())
        }
    };
    let tagged_buckets = async {
        if live && whole {
            notification::ours(aws, d).await
        } else {
            Ok(Vec::new())
        }
    };
    // The side stack: a removal deletes it; a deploy plans it on its own, first.
    let stack = async {
        if scope == Scope::Everything {
            stack::observe(aws, None, &d.service, &d.stage)
                .await
                .map(|(o, _)| o)
        } else {
            Ok(None)
        }
    };
    let (
        role,
        own_roles,
        read,
        listed,
        v2,
        rest,
        wanted_groups,
        rules,
        tagged,
        scheduled,
        stack,
        recorded,
    ) = tokio::join!(
        role::observe(aws, d),
        function_roles(aws, d),
        functions(aws, d, desired.clone(), grants),
        listed,
        v2,
        rest,
        log_groups(aws, groups),
        rules,
        async { tokio::join!(tagged_topics, tagged_buckets) },
        scheduled,
        stack,
        // The records of what AWS cannot tag, then the layers and domains they name.
        async {
            let all = super::records::read(aws, d).await?;
            let adopted = crate::plan::adopt::leftovers_of(
                &all,
                &crate::plan::adopt::leftover_prefix(&d.service, &d.stage),
            );
            let adoption = all
                .get(&crate::plan::adopt::adoption_record(&d.service, &d.stage))
                .and_then(|v| serde_json::from_str(v).ok());
            let (layers, domains) = tokio::join!(layer::observe(aws, d, &all), async {
                if whole {
                    domain::observe(aws, d, &all).await.map(Some)
                } else {
                    Ok(None)
                }
            });
            Ok::<_, AwsError>((layers?, domains?, adopted, adoption))
        }
    );
    let (layers, domains, adopted, adoption) = recorded?;
    let (schedule_group, scheduler_role) = scheduled?;
    let (tagged_topics, tagged_buckets) = tagged;
    let (rules, buses) = rules?;
    let (http, ws) = v2?;
    let mut o = Observed {
        role: role?,
        function_roles: own_roles?,
        rules,
        buses,
        http_api: http,
        websocket: ws,
        schedule_group,
        scheduler_role,
        rest_api: rest?,
        stack: stack?,
        layers,
        adopted,
        adoption,
        ..Default::default()
    };
    if let Some(read) = domains {
        o.domains = read.domains;
        o.certificate = read.certificate;
        o.domain_zone = read.zone;
        o.domain_records = read.recorded;
    }
    for (name, of, statements, mappings) in read? {
        o.permissions.insert(name.clone(), statements);
        if !mappings.is_empty() {
            o.mappings.insert(name.clone(), mappings);
        }
        o.functions.insert(name, of);
    }
    let others: Vec<String> = listed?
        .into_iter()
        .filter(|n| !desired.contains(n))
        .collect();
    for (name, of, statements, mappings) in functions(aws, d, others, grants).await? {
        o.permissions.insert(name.clone(), statements);
        if !mappings.is_empty() {
            o.mappings.insert(name.clone(), mappings);
        }
        o.functions.insert(name, of);
    }
    o.log_groups = wanted_groups?;
    // Topics and subscriptions deliver to the live alias; the account (to look up a topic the
    // config names) comes from what was read.
    if d.alias == d.live {
        let account = o
            .role
            .as_ref()
            .map(|r| r.arn.clone())
            .or_else(|| d.existing_role.clone())
            .or_else(|| o.functions.values().next().map(|f| f.arn.clone()));
        let account = account.as_deref().and_then(super::account_of);
        // Buckets and topics our functions are granted on: found even once the config no
        // longer names them.
        let granted = |prefix: &str| -> Vec<String> {
            o.permissions
                .values()
                .flat_map(|s| s.keys())
                .filter_map(|sid| sid.strip_prefix(prefix).map(str::to_string))
                .collect()
        };
        let (granted_buckets, granted_topics) = (granted("sls-s3-"), granted("sls-sns-"));
        let buckets = async {
            if whole {
                notification::observe(aws, d, account, granted_buckets, tagged_buckets?).await
            } else {
                Ok(BTreeMap::new())
            }
        };
        let granted_groups: Vec<String> = o
            .permissions
            .values()
            .flat_map(|s| s.iter())
            .filter(|(sid, _)| sid.starts_with("sls-logs-"))
            .filter_map(|(_, source)| log_subscription::group_of(source))
            .collect();
        let pools = async {
            if whole {
                user_pool::observe(aws, d, &o.permissions).await
            } else {
                Ok(Vec::new())
            }
        };
        let balancers = async {
            if whole {
                alb::observe(aws, d, &o.permissions).await
            } else {
                Ok(Default::default())
            }
        };
        let (topics, buckets, filters, pools, balancers) = tokio::join!(
            topic::observe(aws, d, account, granted_topics, tagged_topics?),
            buckets,
            log_subscription::observe(aws, d, granted_groups),
            pools,
            balancers
        );
        o.user_pools = pools?;
        (o.target_groups, o.listener_rules) = balancers?;
        (o.topics, o.subscriptions) = topics?;
        o.event_buckets = buckets?;
        o.log_subscriptions = filters?;
    }
    if !whole {
        // `deploy function`: only that function's rules are its to change.
        let prefix = crate::plan::rule_prefix(&d.service, &d.stage);
        o.rules.retain(|key, _| {
            let (_, name) = crate::plan::schedule::split_key(key);
            d.rules
                .iter()
                .any(|r| crate::plan::schedule::rule_key(r.bus.as_deref(), &r.name) == *key)
                || d.functions.iter().any(|f| {
                    name.starts_with(&format!("{prefix}{}-schedule-", f.key))
                        || name.starts_with(&format!("{prefix}{}-rule-", f.key))
                })
        });
        o.buses.clear();
        o.topics
            .retain(|name, _| d.topics.iter().any(|t| &t.name == name));
    }
    // The groups of the other functions of ours, which go with them.
    let theirs: Vec<String> = o
        .functions
        .iter()
        .filter(|(name, of)| of.owned && !desired.contains(name))
        .map(|(name, _)| crate::plan::log_group::name_of(name))
        .collect();
    o.log_groups.extend(log_groups(aws, theirs).await?);
    // A wanted group whose function is not one of ours (not made yet, or removed by a run that
    // stopped before its group): its own tags say whether it is ours to remove.
    let orphans: Vec<String> = o
        .log_groups
        .keys()
        .filter(|g| {
            !o.functions
                .iter()
                .any(|(name, of)| of.owned && &crate::plan::log_group::name_of(name) == *g)
        })
        .cloned()
        .collect();
    for g in orphans {
        if let Some(tagged) = log_group::observe_tagged(aws, &g, d).await? {
            o.log_groups.insert(g, tagged);
        }
    }
    if whole {
        // Roles of ours our functions still run as, other than the one the config names.
        let named = o.role.as_ref().map(|r| r.name.clone());
        let mut former: Vec<String> = o
            .functions
            .values()
            .filter(|f| f.owned)
            .filter_map(|f| f.role.rsplit('/').next().map(str::to_string))
            .filter(|n| !n.is_empty() && Some(n) != named.as_ref())
            .filter(|n| d.role.as_ref().is_none_or(|r| &r.name != n))
            .filter(|n| !d.function_roles.iter().any(|r| &r.name == n))
            .collect();
        former.sort();
        former.dedup();
        for name in former {
            // Best effort: a role we may not read is not one we made.
            if let Ok(Some(r)) = role::observe_named(aws, d, &name, &role::policy_name(d)).await
                && r.owned
            {
                o.former_roles.push(r);
            }
        }
    }
    if scope == Scope::Everything {
        let arn = o
            .role
            .as_ref()
            .map(|r| r.arn.clone())
            .or_else(|| o.functions.values().next().map(|f| f.arn.clone()));
        o.bucket = bucket::observe(aws, d, arn.as_deref()).await?;
    }
    Ok(o)
}

/// The log groups among `names` that exist.
async fn log_groups(
    aws: &Aws,
    names: Vec<String>,
) -> Result<BTreeMap<String, crate::plan::ObservedLogGroup>, AwsError> {
    let reads: Vec<Boxed<'_, Option<(String, crate::plan::ObservedLogGroup)>>> = names
        .into_iter()
        .map(|name| {
            Box::pin(async move { Ok(log_group::observe(aws, &name).await?.map(|g| (name, g))) })
                as Boxed<'_, _>
        })
        .collect();
    let mut out = BTreeMap::new();
    for r in bounded(reads, READ_PARALLELISM).await {
        out.extend(r?);
    }
    Ok(out)
}

/// The functions' own roles the config names, as they exist.
async fn function_roles(aws: &Aws, d: &Desired) -> Result<Vec<ObservedRole>, AwsError> {
    let reads: Vec<Boxed<'_, Option<ObservedRole>>> = d
        .function_roles
        .iter()
        .map(|s| Box::pin(role::observe_named(aws, d, &s.name, &s.policy_name)) as Boxed<'_, _>)
        .collect();
    let mut out = Vec::new();
    for r in bounded(reads, READ_PARALLELISM).await {
        out.extend(r?);
    }
    Ok(out)
}

type Read = (
    String,
    crate::plan::ObservedFunction,
    Statements,
    Vec<crate::plan::ObservedMapping>,
);

/// The functions that exist among `names`, each with its alias' grants (when `grants`).
async fn functions(
    aws: &Aws,
    d: &Desired,
    names: Vec<String>,
    grants: bool,
) -> Result<Vec<Read>, AwsError> {
    let reads: Vec<Boxed<'_, Option<Read>>> = names
        .into_iter()
        .map(|name| {
            Box::pin(async move {
                let Some(of) = function::observe(aws, d, &name).await? else {
                    return Ok(None);
                };
                let live = of.owned && of.alias.is_some();
                let statements = async {
                    if grants && live {
                        permission::observe(aws, &name, &d.alias).await
                    } else {
                        Ok(Statements::new())
                    }
                };
                // What polls the live alias (or the function, unversioned): planned only when
                // deploying to it. Where versioning is off, or was once (its tag says so),
                // mappings on the other target are read too, to be moved.
                let mappings = async {
                    if !of.owned || d.alias != d.live {
                        return Ok::<_, AwsError>(Vec::new());
                    }
                    let was_unversioned =
                        of.tags.contains_key(crate::plan::naming::TAG_UNVERSIONED);
                    let targets = match (d.versioned, of.alias.is_some()) {
                        (true, true) if was_unversioned => {
                            vec![d.qualified(&of.arn), of.arn.clone()]
                        }
                        (true, true) => vec![d.qualified(&of.arn)],
                        (true, false) => vec![of.arn.clone()],
                        (false, _) => vec![of.arn.clone(), format!("{}:{}", of.arn, d.alias_name)],
                    };
                    let mut all: Vec<crate::plan::ObservedMapping> = Vec::new();
                    for t in targets {
                        for m in event_source::observe(aws, &t).await? {
                            if !all.iter().any(|a| a.uuid == m.uuid) {
                                all.push(m);
                            }
                        }
                    }
                    Ok(all)
                };
                let (statements, mappings) = tokio::join!(statements, mappings);
                Ok(Some((name, of, statements?, mappings?)))
            }) as Boxed<'_, Option<Read>>
        })
        .collect();
    let mut out = Vec::new();
    for r in bounded(reads, READ_PARALLELISM).await {
        out.extend(r?);
    }
    Ok(out)
}

/// What a run leaves behind, for the summary and `--json`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Outcome {
    pub endpoints: Vec<String>,
    /// Function key → the version its alias points at, when this run published one.
    pub versions: BTreeMap<String, String>,
    /// Function key → the function URL of the alias deployed to, when it is not the live one.
    pub urls: BTreeMap<String, String>,
}

/// Told when each step starts and ends, to show progress. Called from one thread.
pub trait Progress {
    fn started(&self, index: usize, step: &Step);
    fn finished(&self, index: usize, step: &Step, took: Duration);
    /// A line about the run as a whole (a stop that was asked for), shown above the steps.
    fn note(&self, line: &str);
}

/// Runs the steps phase by phase (see [`Phase`]); in a phase, each lane's steps in order and
/// the lanes side by side. The first failure stops the run once the running lanes end. A stop
/// asked for with Ctrl-C ([`crate::interrupt`]) is a safe point between steps: no lane starts
/// another step, the ones under way finish, and the run ends with [`AwsError::Interrupted`].
pub async fn execute(
    aws: &Aws,
    d: &Desired,
    o: &Observed,
    steps: &[Step],
    artifacts_dir: &Path,
    progress: &dyn Progress,
) -> Result<Outcome, AwsError> {
    let known = Known {
        // The role functions run as: the service's, or the one the config names.
        role_arn: match &d.role {
            Some(_) => o.role.as_ref().map(|r| r.arn.clone()),
            None => d.existing_role.clone(),
        },
        role_arns: o
            .function_roles
            .iter()
            .map(|r| (r.name.clone(), r.arn.clone()))
            .collect(),
        http: http_api::known(d, o),
        rest: rest_api::known(o),
        websocket: websocket::known(d, o),
        // The versions that exist already; a publish adds its own.
        layers: crate::plan::layer::arns(d, o)
            .into_iter()
            .filter(|(_, arn)| arn.starts_with("arn:"))
            .collect(),
        ..Known::default()
    };
    let cx = Applying::new(aws, d, o, artifacts_dir, known);
    let cx = &cx;
    let mut phases: Vec<Phase> = steps.iter().map(Step::phase).collect();
    phases.sort();
    phases.dedup();
    let done = std::cell::Cell::new(0usize);
    let done = &done;
    let stopped = || {
        AwsError::Interrupted(crate::interrupt::Interrupted {
            done: done.get(),
            total: steps.len(),
            rolled_back: false,
        })
    };
    // Said once: at once when the stop is heard, however long the steps under way take — or,
    // when the steps end before the 50 ms poll notices it, as they stop.
    let said = std::cell::Cell::new(false);
    let say = || {
        if !said.replace(true) {
            progress.note(
                "stopping after the steps under way (Ctrl-C again stops at once, possibly mid-step)",
            );
        }
    };
    let heard = async {
        crate::interrupt::wait().await;
        say();
        std::future::pending::<()>().await;
    };
    let all = async {
        for phase in phases {
            if crate::interrupt::requested() {
                return Err(stopped());
            }
            let mut lanes: Vec<(String, Vec<(usize, &Step)>)> = Vec::new();
            for (i, step) in steps.iter().enumerate().filter(|(_, s)| s.phase() == phase) {
                let lane = step.lane();
                match lanes.iter_mut().find(|(l, _)| *l == lane) {
                    Some((_, group)) => group.push((i, step)),
                    None => lanes.push((lane, vec![(i, step)])),
                }
            }
            let runs: Vec<Boxed<'_, ()>> = lanes
                .into_iter()
                .map(|(_, group)| {
                    Box::pin(async move {
                        for (i, step) in group {
                            if crate::interrupt::requested() {
                                return Err(stopped());
                            }
                            timed(progress, i, step, apply(cx, step)).await?;
                            done.set(done.get() + 1);
                        }
                        Ok(())
                    }) as Boxed<'_, ()>
                })
                .collect();
            // A failure is worth more than the stop: it says what went wrong.
            let mut stop = None;
            for r in bounded(runs, PARALLELISM).await {
                match r {
                    Err(AwsError::Interrupted(i)) => stop = Some(i),
                    r => r?,
                }
            }
            if let Some(i) = stop {
                return Err(AwsError::Interrupted(i));
            }
        }
        Ok(())
    };
    tokio::select! {
        r = all => match r {
            // Counted once every lane has ended: the steps under way when it was asked for too.
            Err(AwsError::Interrupted(_)) => {
                say();
                return Err(stopped());
            }
            r => r?,
        },
        () = heard => {}
    }
    let k = cx.known().clone();
    let mut outcome = Outcome {
        versions: k.versions,
        urls: k.urls,
        ..Outcome::default()
    };
    // A disabled default endpoint answers nothing: its URLs are not shown.
    if let (Some(api), Some(base)) = (&d.http_api, &k.http.endpoint)
        && !api.disable_default_endpoint
    {
        outcome.endpoints.extend(endpoints(api.routes.keys(), base));
    }
    if let (Some(api), Some(id)) = (&d.websocket, &k.websocket.id) {
        outcome
            .endpoints
            .push(crate::plan::websocket::url(id, &aws.region, &api.stage));
    }
    if let (Some(api), Some(id)) = (&d.rest_api, &k.rest.id) {
        let base = invoke_url(id, &aws.region, &api.stage);
        outcome
            .endpoints
            .extend(endpoints(api.routes.keys(), &base));
    }
    Ok(outcome)
}

macro_rules! apply_by_kind {
    ($($kind:ident($t:ident) in $module:ident,)*) => {
        /// Hands a step to its kind: the module of the same name as the planner's.
        async fn apply(cx: &Applying<'_>, step: &Step) -> Result<(), AwsError> {
            match step {
                $(Step::$kind(s) => $module::apply(cx, s).await,)*
            }
        }
    };
}
crate::plan::with_kinds!(apply_by_kind);

/// Runs one step's work between its start and end reports.
async fn timed<T>(
    progress: &dyn Progress,
    index: usize,
    step: &Step,
    work: impl Future<Output = Result<T, AwsError>>,
) -> Result<T, AwsError> {
    progress.started(index, step);
    let started = Instant::now();
    let value = work.await?;
    progress.finished(index, step, started.elapsed());
    Ok(value)
}
