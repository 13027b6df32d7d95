//! The events other services send (`schedule`, `eventBridge`, `cloudwatchEvent`, `sns`, `s3`,
//! `alexaSkill`, `alexaSmartHome`, `cognitoUserPool`, `cloudwatchLog`), and the checks across
//! functions of the user pools and buckets they name.

// The checker and the helpers every topic shares.
use super::events::On;
use super::*;
use crate::config::model::{
    AlexaEvent, CloudwatchEvent, CloudwatchLogEvent, CognitoUserPoolEvent, EventBridgeEvent,
    S3Event, ScheduleEvent, SnsEvent,
};

pub(super) fn schedule(c: &mut Checker, on: &mut On<'_>, e: &ScheduleEvent) {
    let prefix = format!("{}-{}-", c.service, c.stage);
    let scheduler = e.method.as_deref() == Some("scheduler");
    if let Some(name) = &e.name
        && scheduler
    {
        // In the service's own schedule group: no prefix needed.
        let ok = (1..=64).contains(&name.len())
            && name
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch));
        if !ok {
            c.error(
                &refs(&on.at("schedule", "name")),
                format!("`{name}` is not a schedule name"),
            )
            .help = Some("1–64 letters, digits, `-`, `_` and `.`".into());
        }
    } else if let Some(name) = &e.name
        && (!name.starts_with(&prefix) || name.len() > 64)
    {
        c.error(
            &refs(&on.at("schedule", "name")),
            format!("rule name `{name}` must start with `{prefix}` and be at most 64 characters"),
        )
        .help = Some("one permission on the function covers every rule named with the service's prefix (a statement per rule overflows Lambda's 20 KB policy at about 30 schedules); leave `name` out for `{service}-{stage}-{function}-schedule-{n}`".into());
    }
    if let Some(m) = e.method.as_deref()
        && m != "eventBus"
        && m != "scheduler"
    {
        c.error(
            &refs(&on.at("schedule", "method")),
            format!("method is `eventBus` (an EventBridge rule, the default) or `scheduler` (EventBridge Scheduler), got `{m}`"),
        );
    }
    if let Some(tz) = &e.timezone {
        let ok = !tz.is_empty()
            && tz
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || "_-/+".contains(ch));
        if !scheduler {
            c.error(
                &refs(&on.at("schedule", "timezone")),
                "a time zone needs `method: scheduler` (EventBridge rules run in UTC)",
            );
        } else if !ok {
            c.error(
                &refs(&on.at("schedule", "timezone")),
                format!("`{tz}` is not a time zone name"),
            )
            .help = Some("an IANA name such as Europe/Paris or America/New_York".into());
        }
    }
    if scheduler {
        for key in ["inputPath", "inputTransformer"] {
            let set = match key {
                "inputPath" => e.input_path.is_some(),
                _ => e.input_transformer.is_some(),
            };
            if set {
                c.error(
                    &refs(&on.at("schedule", key)),
                    format!(
                        "`{key}` is for EventBridge rules; EventBridge Scheduler sends `input` only"
                    ),
                );
            }
        }
    }
    if e.rate.is_empty() {
        c.error(
            &refs(&on.at("schedule", "rate")),
            "a schedule needs at least one rate or cron expression",
        );
    }
    for (i, r) in e.rate.iter().enumerate() {
        if let Err(why) = schedule_expression(r) {
            let mut p = on.at("schedule", "rate");
            p.push(i.to_string());
            c.error(&refs(&p), format!("schedule `{r}` is not valid: {why}"))
                .help = Some(
                "write `rate(5 minutes)`, `rate(1 hour)` or `cron(0 12 * * ? *)` (six fields)"
                    .into(),
            );
        }
    }
}

pub(super) fn cloudwatch_event(c: &mut Checker, on: &mut On<'_>, e: &CloudwatchEvent) {
    let key = |k: &str| on.at("cloudwatchEvent", k);
    if !e.event.as_ref().is_some_and(|p| p.is_object()) {
        c.error(
            &refs(&on.at("cloudwatchEvent", "")),
            "a cloudwatchEvent needs `event`, the event pattern (a mapping such as `{source: [aws.ec2]}`)",
        );
    }
    let prefix = format!("{}-{}-", c.service, c.stage);
    if let Some(name) = &e.name
        && (!name.starts_with(&prefix) || name.len() > 64)
    {
        c.error(
            &refs(&key("name")),
            format!("rule name `{name}` must start with `{prefix}` and be at most 64 characters"),
        );
    }
    let inputs = [
        e.input.is_some(),
        e.input_path.is_some(),
        e.input_transformer.is_some(),
    ];
    if inputs.iter().filter(|b| **b).count() > 1 {
        c.error(
            &refs(&on.at("cloudwatchEvent", "")),
            "give at most one of `input`, `inputPath` and `inputTransformer`",
        );
    }
}

pub(super) fn event_bridge(c: &mut Checker, on: &mut On<'_>, e: &EventBridgeEvent) {
    let key = |k: &str| on.at("eventBridge", k);
    match (&e.pattern, &e.schedule) {
        (None, None) => {
            c.error(
                &refs(&on.at("eventBridge", "")),
                "an eventBridge event needs a `pattern` or a `schedule`",
            );
        }
        (Some(p), _) if !p.is_object() => {
            c.error(
                &refs(&key("pattern")),
                "`pattern` is a mapping, e.g. `{source: [my.app]}`",
            );
        }
        _ => {}
    }
    if let Some(r) = &e.schedule
        && let Err(why) = schedule_expression(r)
    {
        c.error(
            &refs(&key("schedule")),
            format!("schedule `{r}` is not valid: {why}"),
        );
    }
    let prefix = format!("{}-{}-", c.service, c.stage);
    if let Some(name) = &e.name
        && (!name.starts_with(&prefix) || name.len() > 64)
    {
        c.error(
            &refs(&key("name")),
            format!("rule name `{name}` must start with `{prefix}` and be at most 64 characters"),
        )
        .help = Some("one permission on the function covers every rule named with the service's prefix; leave `name` out for `{service}-{stage}-{function}-rule-{n}`".into());
    }
    if let Some(bus) = &e.event_bus
        && bus.starts_with("arn:")
        && arn_service(bus) != Some("events")
    {
        c.error(
            &refs(&key("eventBus")),
            format!("`{bus}` is not an EventBridge bus ARN"),
        );
    }
    if let Some(r) = &e.retry_policy {
        if r.maximum_event_age
            .is_some_and(|n| !(60..=86_400).contains(&n))
        {
            c.error(
                &refs(&[key("retryPolicy"), vec!["maximumEventAge".into()]].concat()),
                "maximumEventAge is 60–86400 seconds",
            );
        }
        if r.maximum_retry_attempts.is_some_and(|n| n > 185) {
            c.error(
                &refs(&[key("retryPolicy"), vec!["maximumRetryAttempts".into()]].concat()),
                "maximumRetryAttempts is 0–185",
            );
        }
    }
    if let Some(q) = &e.dead_letter_queue_arn
        && arn_service(q) != Some("sqs")
    {
        c.error(
            &refs(&key("deadLetterQueueArn")),
            format!("`{q}` is not an SQS queue ARN"),
        );
    }
    let inputs = [
        e.input.is_some(),
        e.input_path.is_some(),
        e.input_transformer.is_some(),
    ];
    if inputs.iter().filter(|b| **b).count() > 1 {
        c.error(
            &refs(&on.at("eventBridge", "")),
            "give at most one of `input`, `inputPath` and `inputTransformer`",
        );
    }
}

pub(super) fn sns(c: &mut Checker, on: &mut On<'_>, e: &SnsEvent) {
    let key = |k: &str| on.at("sns", k);
    let name = e.topic_name.clone().or_else(|| {
        e.arn
            .as_deref()
            .map(|a| a.rsplit(':').next().unwrap_or(a).to_string())
    });
    if let Some(n) = &name {
        let ok = !n.is_empty()
            && n.len() <= 256
            && n.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_');
        if n.ends_with(".fifo") {
            c.error(
                &refs(&on.at("sns", "")),
                "Lambda cannot subscribe to a FIFO topic",
            )
            .help = Some("subscribe an SQS FIFO queue to the topic and use an `sqs` event".into());
        } else if !ok {
            c.error(
                &refs(&on.at("sns", "")),
                format!("`{n}` is not an SNS topic name (1–256 letters, digits, `-`, `_`)"),
            );
        }
    }
    if e.filter_policy.as_ref().is_some_and(|p| !p.is_object()) {
        c.error(
            &refs(&key("filterPolicy")),
            "filterPolicy is a mapping, e.g. `{kind: [order]}`",
        );
    }
    if let Some(scope) = &e.filter_policy_scope
        && scope != "MessageAttributes"
        && scope != "MessageBody"
    {
        c.error(
            &refs(&key("filterPolicyScope")),
            format!("filterPolicyScope is MessageAttributes or MessageBody, got `{scope}`"),
        );
    }
    if let Some(r) = &e.redrive_policy {
        let target = r.get("deadLetterTargetArn").and_then(|v| v.as_str());
        if r.get("deadLetterTargetRef").is_some() || r.get("deadLetterTargetImport").is_some() {
            refuse(
                c,
                &refs(&key("redrivePolicy")),
                "dead-letter targets given as CloudFormation references",
            );
        } else if target.is_none_or(|t| arn_service(t) != Some("sqs")) {
            c.error(
                &refs(&key("redrivePolicy")),
                "redrivePolicy needs `deadLetterTargetArn`, an SQS queue ARN",
            );
        }
    }
    if e.arn.is_none() && e.topic_name.is_none() {
        c.error(
            &refs(&on.at("sns", "")),
            "an sns event needs `arn` or `topicName`",
        );
    }
    if let Some(a) = &e.arn {
        arn(c, &refs(&on.at("sns", "arn")), a, &["sns"]);
    }
}

pub(super) fn s3(c: &mut Checker, on: &mut On<'_>, e: &S3Event) {
    if let Some(ev) = &e.event
        && !ev.starts_with("s3:")
    {
        c.error(
            &refs(&on.at("s3", "event")),
            format!("`{ev}` is not an S3 event type"),
        )
        .help = Some("e.g. s3:ObjectCreated:*, s3:ObjectCreated:Put, s3:ObjectRemoved:*".into());
    }
    for (i, r) in e.rules.iter().flatten().enumerate() {
        let ok = r.as_object().is_some_and(|m| {
            m.len() == 1
                && m.iter()
                    .all(|(k, v)| (k == "prefix" || k == "suffix") && v.is_string())
        });
        if !ok {
            let mut p = on.at("s3", "rules");
            p.push(i.to_string());
            c.error(&refs(&p), "each rule is `prefix: …` or `suffix: …`");
        }
    }
    if e.force_deploy.is_some() {
        c.warn_key(
            &refs(&on.at("s3", "forceDeploy")),
            "`forceDeploy` concerns Serverless' CloudFormation custom resource; sls compares the notifications on every deploy, so it changes nothing",
        );
    }
    let ok = (3..=63).contains(&e.bucket.len())
        && e.bucket
            .chars()
            .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-' || ch == '.');
    // Only S3 minds a bucket's name: a placeholder such as `<your-bucket>` still prints and
    // runs locally.
    if !ok {
        let p = c.error(
            &refs(&on.at("s3", "bucket")),
            format!("`{}` is not a valid S3 bucket name", e.bucket),
        );
        p.help = Some(
            "bucket names are 3–63 characters of lowercase letters, digits, `-` and `.`".into(),
        );
        p.deploy_only = true;
    }
}

pub(super) fn alexa(c: &mut Checker, on: &mut On<'_>, kind: &str, e: &AlexaEvent) {
    match &e.app_id {
        Some(id) if !id.starts_with("amzn1.") => {
            c.error(
                &refs(&on.at(kind, "appId")),
                format!("`{id}` is not an Alexa skill id (amzn1.ask.skill.…)"),
            );
        }
        None if kind == "alexaSmartHome" => {
            c.error(
                &refs(&on.at(kind, "")),
                "an alexaSmartHome event needs the skill's `appId`",
            );
        }
        _ => {}
    }
}

pub(super) fn cognito_user_pool(c: &mut Checker, on: &mut On<'_>, e: &CognitoUserPoolEvent) {
    let key = |k: &str| on.at("cognitoUserPool", k);
    if !COGNITO_TRIGGERS.contains(&e.trigger.as_str()) {
        c.error(
            &refs(&key("trigger")),
            format!("`{}` is not a Cognito user pool trigger", e.trigger),
        )
        .help = Some(format!("use one of {}", COGNITO_TRIGGERS.join(", ")));
    }
    let ok = (1..=128).contains(&e.pool.len())
        && e.pool
            .chars()
            .all(|ch| ch.is_alphanumeric() || " _+=,.@-".contains(ch));
    if !ok {
        c.error(
            &refs(&key("pool")),
            format!("`{}` is not a user pool name", e.pool),
        )
        .help = Some("1–128 letters, digits, spaces and `_+=,.@-`".into());
    }
    if e.force_deploy.is_some() {
        c.warn_key(
            &refs(&key("forceDeploy")),
            "`forceDeploy` concerns Serverless' CloudFormation custom resource; sls compares the triggers on every deploy, so it changes nothing",
        );
    }
}

pub(super) fn cloudwatch_log(c: &mut Checker, on: &mut On<'_>, e: &CloudwatchLogEvent) {
    let g = &e.log_group;
    let ok = !g.is_empty()
        && g.len() <= 512
        && g.chars()
            .all(|ch| ch.is_ascii_alphanumeric() || "._-/#".contains(ch));
    if !ok {
        c.error(
            &refs(&on.at("cloudwatchLog", "logGroup")),
            format!("`{g}` is not a log group name"),
        );
    }
}

/// A user pool is sls's or the user's (`existing`) in every event; each of its triggers calls one
/// function; the custom senders need the pool's one KMS key.
pub(super) fn user_pools(c: &mut Checker, config: &Config) {
    // Pool name → (existing, kms key, trigger → function).
    type Seen = (bool, Option<String>, HashMap<String, String>);
    let mut seen: HashMap<String, Seen> = HashMap::new();
    let mut senders: Vec<(String, Vec<String>)> = Vec::new();
    for (name, f) in config.functions.iter().flatten() {
        for (i, ev) in f.events.iter().flatten().enumerate() {
            let Event::CognitoUserPool(e) = ev else {
                continue;
            };
            let idx = i.to_string();
            let at = |k: &str| -> Vec<String> {
                [
                    "functions",
                    name.as_str(),
                    "events",
                    &idx,
                    "cognitoUserPool",
                    k,
                ]
                .map(String::from)
                .to_vec()
            };
            let existing = e.existing == Some(true);
            let entry = seen
                .entry(e.pool.clone())
                .or_insert_with(|| (existing, None, HashMap::new()));
            if entry.0 != existing {
                c.error(
                    &refs(&at("existing")),
                    format!("user pool `{}` is `existing` in one event and not in another", e.pool),
                )
                .help = Some("a pool is either made by sls for its triggers or yours: say the same in every event".into());
            }
            if let Some(k) = &e.kms_key_id {
                match &entry.1 {
                    Some(other) if other != k => {
                        c.error(
                            &refs(&at("kmsKeyId")),
                            format!(
                                "user pool `{}` has another kmsKeyId in another event",
                                e.pool
                            ),
                        )
                        .help = Some("a pool has one KMS key for its custom senders".into());
                    }
                    _ => entry.1 = Some(k.clone()),
                }
            }
            match entry.2.get(&e.trigger) {
                Some(other) if other != name => {
                    c.error(
                        &refs(&at("trigger")),
                        format!(
                            "trigger {} of user pool `{}` already calls function `{other}`",
                            e.trigger, e.pool
                        ),
                    )
                    .help = Some("a trigger calls one function".into());
                }
                _ => {
                    entry.2.insert(e.trigger.clone(), name.clone());
                }
            }
            if e.trigger.starts_with("Custom") && e.trigger.ends_with("Sender") {
                senders.push((e.pool.clone(), at("trigger")));
            }
        }
    }
    for (pool, path) in senders {
        if seen.get(&pool).is_some_and(|s| s.1.is_none()) {
            c.error(
                &refs(&path),
                format!("the custom sender triggers of user pool `{pool}` need `kmsKeyId`"),
            )
            .help =
                Some("Cognito encrypts the codes it sends them with this key: give its ARN".into());
        }
    }
}

/// A bucket is sls's (made for its events) or the user's (`existing: true`) for all its events.
pub(super) fn s3_buckets(c: &mut Checker, config: &Config) {
    let mut seen: HashMap<String, bool> = HashMap::new();
    for (name, f) in config.functions.iter().flatten() {
        for (i, ev) in f.events.iter().flatten().enumerate() {
            let Event::S3(e) = ev else { continue };
            let existing = e.existing == Some(true);
            match seen.get(&e.bucket) {
                Some(other) if *other != existing => {
                    let idx = i.to_string();
                    c.error(
                        &["functions", name, "events", &idx, "s3", "existing"],
                        format!("bucket `{}` is `existing` in one event and not in another", e.bucket),
                    )
                    .help = Some("a bucket is either made by sls for its events or yours: say the same in every event".into());
                }
                _ => {
                    seen.insert(e.bucket.clone(), existing);
                }
            }
        }
    }
}

/// EventBridge schedule expressions: `rate(N unit)` or six-field `cron(…)`.
pub fn schedule_expression(e: &str) -> Result<(), String> {
    if let Some(inner) = e.strip_prefix("rate(").and_then(|r| r.strip_suffix(')')) {
        let mut parts = inner.split_whitespace();
        let (Some(n), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err("expected `rate(<number> <unit>)`".into());
        };
        let n: u64 = n
            .parse()
            .map_err(|_| format!("`{n}` is not a positive whole number"))?;
        if n == 0 {
            return Err("the rate must be at least 1".into());
        }
        let singular = ["minute", "hour", "day"];
        let plural = ["minutes", "hours", "days"];
        return match (n == 1, singular.contains(&unit), plural.contains(&unit)) {
            (true, true, _) | (false, _, true) => Ok(()),
            (true, _, true) => Err(format!(
                "use the singular unit with 1: `rate(1 {})`",
                unit.trim_end_matches('s')
            )),
            (false, true, _) => Err(format!("use the plural unit: `rate({n} {unit}s)`")),
            _ => Err(format!("unknown unit `{unit}`; use minutes, hours or days")),
        };
    }
    if let Some(inner) = e.strip_prefix("cron(").and_then(|r| r.strip_suffix(')')) {
        let fields = inner.split_whitespace().count();
        return if fields == 6 {
            Ok(())
        } else {
            Err(format!(
                "a cron expression has 6 fields (minutes hours day-of-month month day-of-week year), this one has {fields}"
            ))
        };
    }
    Err("expected `rate(…)` or `cron(…)`".into())
}
