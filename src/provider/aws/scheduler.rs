//! EventBridge Scheduler: the service's schedule group (found by name, ours by its tags), its
//! schedules (listed, paged, then read side by side), and the steps that make, change and delete
//! them. Planning: `plan::scheduler`.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_scheduler::types::{
    FlexibleTimeWindow, FlexibleTimeWindowMode, ScheduleState, Tag, Target,
};

use super::context::Applying;
use super::{Aws, AwsError, NOT_FOUND, all_pages, call_err, is_code, owned, tolerate};
use crate::plan::scheduler::{ObservedSchedule, ObservedScheduleGroup, group_name, state};
use crate::plan::{Desired, SchedulerStep};
use aws_sdk_scheduler::error::{ProvideErrorMetadata, SdkError};

/// The group and every schedule in it (for `deploy function`, that function's); none when the
/// group does not exist.
pub async fn observe(aws: &Aws, d: &Desired) -> Result<Option<ObservedScheduleGroup>, AwsError> {
    let name = group_name(&d.service, &d.stage);
    let res = format!("Scheduler schedule group {name}");
    let group = match aws.scheduler.get_schedule_group().name(&name).send().await {
        Ok(g) => g,
        Err(e) if is_code(&e, NOT_FOUND) => return Ok(None),
        // Credentials without Scheduler rights, for a config without Scheduler schedules: a
        // group sls could not read is one it will not touch either.
        Err(e) if d.schedules.is_empty() && is_code(&e, &["AccessDeniedException"]) => {
            return Ok(None);
        }
        Err(e) => return Err(call_err("GetScheduleGroup", &res)(e)),
    };
    let tags = aws
        .scheduler
        .list_tags_for_resource()
        .resource_arn(group.arn().unwrap_or_default())
        .send()
        .await
        .map_err(call_err("ListTagsForResource", &res))?;
    let tags: BTreeMap<String, String> = tags
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    let mut o = ObservedScheduleGroup {
        name: name.clone(),
        owned: owned(&tags, d),
        schedules: BTreeMap::new(),
    };
    if !o.owned {
        return Ok(Some(o));
    }
    let names = all_pages(|token| async {
        let page = aws
            .scheduler
            .list_schedules()
            .group_name(&name)
            .set_next_token(token)
            .send()
            .await
            .map_err(call_err("ListSchedules", &res))?;
        let names: Vec<String> = page
            .schedules()
            .iter()
            .filter_map(|s| s.name().map(str::to_string))
            .collect();
        Ok((names, page.next_token().map(str::to_string)))
    })
    .await?;
    let reads = names.into_iter().map(|s| {
        let name = name.clone();
        async move {
            let got = aws
                .scheduler
                .get_schedule()
                .group_name(&name)
                .name(&s)
                .send()
                .await;
            match got {
                Ok(g) => {
                    let target = g.target();
                    Ok(Some((
                        s,
                        ObservedSchedule {
                            expression: g.schedule_expression().unwrap_or_default().to_string(),
                            timezone: g
                                .schedule_expression_timezone()
                                .filter(|z| !z.is_empty() && *z != "UTC")
                                .map(str::to_string),
                            enabled: g.state() != Some(&ScheduleState::Disabled),
                            description: g.description().unwrap_or_default().to_string(),
                            target: target.map(|t| t.arn.clone()).unwrap_or_default(),
                            role: target.map(|t| t.role_arn.clone()).unwrap_or_default(),
                            input: target
                                .and_then(|t| t.input.clone())
                                .filter(|i| !i.is_empty()),
                        },
                    )))
                }
                // Deleted between the listing and the read.
                Err(e) if is_code(&e, NOT_FOUND) => Ok(None),
                Err(e) => Err(call_err("GetSchedule", &format!("Scheduler schedule {s}"))(
                    e,
                )),
            }
        }
    });
    for r in futures_util::future::join_all(reads).await {
        if let Some((n, s)) = r? {
            o.schedules.insert(n, s);
        }
    }
    if d.function_only {
        // `deploy function`: only that function's schedules are its to change.
        let prefix = crate::plan::rule_prefix(&d.service, &d.stage);
        o.schedules.retain(|n, _| {
            d.schedules.iter().any(|s| &s.name == n)
                || d.functions
                    .iter()
                    .any(|f| n.starts_with(&format!("{prefix}{}-schedule-", f.key)))
        });
    }
    Ok(Some(o))
}

pub async fn apply(cx: &Applying<'_>, step: &SchedulerStep) -> Result<(), AwsError> {
    let (aws, d) = (cx.aws, cx.d);
    let group = group_name(&d.service, &d.stage);
    match step {
        SchedulerStep::CreateScheduleGroup { group } => {
            let tags: Vec<Tag> = d
                .tags
                .iter()
                .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
                .collect();
            let r = aws
                .scheduler
                .create_schedule_group()
                .name(group)
                .set_tags(Some(tags))
                .send()
                .await;
            // Made by an interrupted run: its tags were set with it.
            tolerate(
                r,
                &["ConflictException"],
                "CreateScheduleGroup",
                &format!("Scheduler schedule group {group}"),
            )?;
        }
        SchedulerStep::CreateSchedule { schedule, .. }
        | SchedulerStep::UpdateSchedule { schedule, .. } => {
            let create = matches!(step, SchedulerStep::CreateSchedule { .. });
            write(cx, &group, schedule, create).await?;
        }
        SchedulerStep::DeleteSchedule { schedule } => {
            let r = aws
                .scheduler
                .delete_schedule()
                .group_name(&group)
                .name(schedule)
                .send()
                .await;
            tolerate(
                r,
                NOT_FOUND,
                "DeleteSchedule",
                &format!("Scheduler schedule {schedule}"),
            )?;
        }
        SchedulerStep::DeleteScheduleGroup { group } => {
            let r = aws
                .scheduler
                .delete_schedule_group()
                .name(group)
                .send()
                .await;
            tolerate(
                r,
                NOT_FOUND,
                "DeleteScheduleGroup",
                &format!("Scheduler schedule group {group}"),
            )?;
        }
    }
    Ok(())
}

/// How long a new role may take to be assumable by Scheduler (IAM is eventually consistent).
const ROLE_PROPAGATION: Duration = Duration::from_secs(40);

/// CreateSchedule or UpdateSchedule (which replaces the whole schedule) with the config's
/// settings. A role made moments ago is refused until IAM has spread it: waited out.
async fn write(cx: &Applying<'_>, group: &str, name: &str, create: bool) -> Result<(), AwsError> {
    let (aws, d) = (cx.aws, cx.d);
    let res = format!("Scheduler schedule {name}");
    let spec = d.schedules.iter().find(|s| s.name == name).ok_or_else(|| {
        AwsError::Other(format!(
            "{res}: the plan writes a schedule the config lacks"
        ))
    })?;
    let role_name = d
        .scheduler_role
        .as_ref()
        .map(|r| r.name.clone())
        .unwrap_or_default();
    let role_arn = cx
        .known()
        .role_arns
        .get(&role_name)
        .cloned()
        .or_else(|| cx.o.scheduler_role.as_ref().map(|r| r.arn.clone()))
        .ok_or_else(|| {
            AwsError::Other(format!(
                "{res}: the role {role_name} is unknown; run the deploy again"
            ))
        })?;
    let target = Target::builder()
        .arn(cx.alias_arn(&spec.function))
        .role_arn(role_arn)
        .set_input(spec.input.clone())
        .build()
        .map_err(|e| AwsError::Other(format!("{res}: {e}")))?;
    let window = FlexibleTimeWindow::builder()
        .mode(FlexibleTimeWindowMode::Off)
        .build()
        .map_err(|e| AwsError::Other(format!("{res}: {e}")))?;
    let state = ScheduleState::from(state(spec.enabled));
    // The same token for the same schedule as configured: a create whose answer was lost is
    // not made twice, and a later schedule of the same name but other settings is not refused.
    let token = crate::plan::short_digest(&format!("{group}\n{spec:?}"), 16);
    let started = std::time::Instant::now();
    let mut wait = Duration::from_secs(1);
    let operation = if create {
        "CreateSchedule"
    } else {
        "UpdateSchedule"
    };
    loop {
        let r = if create {
            let r = aws
                .scheduler
                .create_schedule()
                .group_name(group)
                .name(name)
                .schedule_expression(&spec.expression)
                .set_schedule_expression_timezone(spec.timezone.clone())
                .state(state.clone())
                .description(&spec.description)
                .flexible_time_window(window.clone())
                .target(target.clone())
                .client_token(token.clone())
                .send()
                .await;
            outcome(r, operation, &res)
        } else {
            let r = aws
                .scheduler
                .update_schedule()
                .group_name(group)
                .name(name)
                .schedule_expression(&spec.expression)
                .set_schedule_expression_timezone(spec.timezone.clone())
                .state(state.clone())
                .description(&spec.description)
                .flexible_time_window(window.clone())
                .target(target.clone())
                .send()
                .await;
            outcome(r, operation, &res)
        };
        match r {
            Outcome::Done => return Ok(()),
            // Made by an interrupted run: written again as the config says.
            Outcome::Exists(_) if create => return Box::pin(write(cx, group, name, false)).await,
            Outcome::RoleNotReady(_) if started.elapsed() < ROLE_PROPAGATION => {
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(8));
            }
            Outcome::Exists(e) | Outcome::RoleNotReady(e) | Outcome::Failed(e) => return Err(e),
        }
    }
}

/// What a schedule write met, as far as retrying goes.
enum Outcome {
    Done,
    Exists(AwsError),
    /// "The execution role you provide must allow AWS EventBridge Scheduler to assume the role":
    /// a new role not yet visible to Scheduler.
    RoleNotReady(AwsError),
    Failed(AwsError),
}

fn outcome<T, E>(r: Result<T, SdkError<E>>, operation: &str, res: &str) -> Outcome
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match r {
        Ok(_) => Outcome::Done,
        Err(e) if is_code(&e, &["ConflictException"]) => {
            Outcome::Exists(call_err(operation, res)(e))
        }
        Err(e)
            if is_code(&e, &["ValidationException"])
                && e.message().is_some_and(|m| m.contains("assume")) =>
        {
            Outcome::RoleNotReady(call_err(operation, res)(e))
        }
        Err(e) => Outcome::Failed(call_err(operation, res)(e)),
    }
}
