//! The events Lambda polls for (`sqs`, `stream`, `msk`, `kafka`, `activemq`, `rabbitmq`).

// The checker and the helpers every topic shares.
use super::events::On;
use super::*;
use crate::config::model::{KafkaEvent, MqEvent, MskEvent, SqsEvent, StreamEvent};

pub(super) fn sqs(c: &mut Checker, on: &mut On<'_>, e: &SqsEvent) {
    arn(c, &refs(&on.at("sqs", "arn")), &e.arn, &["sqs"]);
    let fifo = e.arn.ends_with(".fifo");
    let most = if fifo { 10 } else { 10_000 };
    let window = e.maximum_batching_window.unwrap_or(0);
    let checks = [
        (
            "batchSize",
            e.batch_size.is_some_and(|n| n < 1 || n > most),
            format!("batchSize is 1–{most} for this queue"),
        ),
        (
            "batchSize",
            e.batch_size.is_some_and(|n| n > 10) && window == 0,
            "a batchSize over 10 needs `maximumBatchingWindow` of at least 1 second (Lambda refuses it otherwise)".into(),
        ),
        (
            "maximumBatchingWindow",
            window > 300,
            "maximumBatchingWindow is 0–300 seconds".into(),
        ),
        (
            "maximumConcurrency",
            e.maximum_concurrency.is_some_and(|n| !(2..=1000).contains(&n)),
            "maximumConcurrency is 2–1000".into(),
        ),
    ];
    for (key, bad, msg) in checks {
        if bad {
            c.error(&refs(&on.at("sqs", key)), msg);
        }
    }
    response_type(
        c,
        &refs(&on.at("sqs", "functionResponseType")),
        &e.function_response_type,
    );
    filter_patterns(
        c,
        &refs(&on.at("sqs", "filterPatterns")),
        &e.filter_patterns,
    );
}

pub(super) fn stream(c: &mut Checker, on: &mut On<'_>, e: &StreamEvent) {
    arn(
        c,
        &refs(&on.at("stream", "arn")),
        &e.arn,
        &["dynamodb", "kinesis"],
    );
    stream_event(c, &|k: &str| on.at("stream", k), e);
}

pub(super) fn msk(c: &mut Checker, on: &mut On<'_>, e: &MskEvent) {
    let key = |k: &str| on.at("msk", k);
    arn(c, &refs(&key("arn")), &e.arn, &["kafka"]);
    if e.topic.trim().is_empty() {
        c.error(
            &refs(&key("topic")),
            "an msk event needs the `topic` to read",
        );
    }
    broker_batching(c, &key, e.batch_size, e.maximum_batching_window);
    kafka_reading(
        c,
        &key,
        &e.starting_position,
        e.starting_position_timestamp,
        &e.consumer_group_id,
    );
    if let Some(s) = &e.sasl_scram512 {
        arn(c, &refs(&key("saslScram512")), s, &["secretsmanager"]);
    }
    filter_patterns(c, &refs(&key("filterPatterns")), &e.filter_patterns);
}

pub(super) fn kafka(c: &mut Checker, on: &mut On<'_>, e: &KafkaEvent) {
    let key = |k: &str| on.at("kafka", k);
    if e.bootstrap_servers.is_empty() {
        c.error(
            &refs(&key("bootstrapServers")),
            "a kafka event needs its `bootstrapServers` (host:port)",
        );
    }
    for (i, s) in e.bootstrap_servers.iter().enumerate() {
        let ok = s
            .rsplit_once(':')
            .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok());
        if !ok {
            let mut p = key("bootstrapServers");
            p.push(i.to_string());
            c.error(&refs(&p), format!("`{s}` is not host:port"));
        }
    }
    if e.topic.trim().is_empty() {
        c.error(
            &refs(&key("topic")),
            "a kafka event needs the `topic` to read",
        );
    }
    for (name, values) in &e.access_configurations {
        let mut p = key("accessConfigurations");
        p.push(name.clone());
        match name.as_str() {
            "saslPlainAuth"
            | "saslScram256Auth"
            | "saslScram512Auth"
            | "clientCertificateTlsAuth"
            | "serverRootCaCertificate" => {
                for v in values {
                    arn(c, &refs(&p), v, &["secretsmanager"]);
                }
            }
            "vpcSubnet" | "vpcSecurityGroup" => {
                let prefix = if name == "vpcSubnet" {
                    "subnet-"
                } else {
                    "sg-"
                };
                if let Some(v) = values.iter().find(|v| !v.starts_with(prefix)) {
                    c.error(&refs(&p), format!("`{v}` is not a {prefix}… id"));
                }
            }
            other => {
                c.error(&refs(&p), format!("`{other}` is not an access configuration"))
                    .help = Some("saslPlainAuth, saslScram256Auth, saslScram512Auth, clientCertificateTlsAuth, serverRootCaCertificate, vpcSubnet, vpcSecurityGroup".into());
            }
        }
    }
    let has = |k: &str| e.access_configurations.contains_key(k);
    if has("vpcSubnet") != has("vpcSecurityGroup") {
        c.error(
            &refs(&key("accessConfigurations")),
            "a cluster in a VPC needs both `vpcSubnet` and `vpcSecurityGroup`",
        );
    }
    broker_batching(c, &key, e.batch_size, e.maximum_batching_window);
    kafka_reading(
        c,
        &key,
        &e.starting_position,
        e.starting_position_timestamp,
        &e.consumer_group_id,
    );
    filter_patterns(c, &refs(&key("filterPatterns")), &e.filter_patterns);
}

pub(super) fn mq(c: &mut Checker, on: &mut On<'_>, kind: &str, e: &MqEvent) {
    let key = |k: &str| on.at(kind, k);
    arn(c, &refs(&key("arn")), &e.arn, &["mq"]);
    if e.queue.trim().is_empty() {
        c.error(
            &refs(&key("queue")),
            format!("an {kind} event needs the `queue` to read"),
        );
    }
    arn(
        c,
        &refs(&key("basicAuthArn")),
        &e.basic_auth_arn,
        &["secretsmanager"],
    );
    if kind == "activemq" && e.virtual_host.is_some() {
        c.error(
            &refs(&key("virtualHost")),
            "`virtualHost` is for RabbitMQ brokers (a `rabbitmq` event)",
        );
    }
    broker_batching(c, &key, e.batch_size, e.maximum_batching_window);
    filter_patterns(c, &refs(&key("filterPatterns")), &e.filter_patterns);
}

pub(super) const STARTING_POSITIONS: &[&str] = &["TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"];

/// Where a Kafka mapping starts reading, and its consumer group.
pub(super) fn kafka_reading(
    c: &mut Checker,
    key: &dyn Fn(&str) -> Vec<String>,
    position: &Option<String>,
    timestamp: Option<i64>,
    group: &Option<String>,
) {
    if let Some(p) = position {
        if !STARTING_POSITIONS.contains(&p.as_str()) {
            c.error(
                &refs(&key("startingPosition")),
                format!(
                    "startingPosition is one of {}, got `{p}`",
                    STARTING_POSITIONS.join(", ")
                ),
            );
        } else if p == "AT_TIMESTAMP" && timestamp.is_none() {
            c.error(
                &refs(&key("startingPosition")),
                "AT_TIMESTAMP needs `startingPositionTimestamp` (seconds since the epoch)",
            );
        }
    }
    if let Some(g) = group {
        let ok = (1..=200).contains(&g.len())
            && g.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || "-_.:/".contains(ch));
        if !ok {
            c.error(
                &refs(&key("consumerGroupId")),
                format!("`{g}` is not a consumer group id"),
            )
            .help = Some("1–200 letters, digits and `-_.:/`".into());
        }
    }
}

/// Lambda's limits for brokers (MSK, Amazon MQ): batches of 1–10000, windows of 0–300 s.
pub(super) fn broker_batching(
    c: &mut Checker,
    key: &dyn Fn(&str) -> Vec<String>,
    batch: Option<u32>,
    window: Option<u32>,
) {
    if batch.is_some_and(|n| !(1..=10_000).contains(&n)) {
        c.error(&refs(&key("batchSize")), "batchSize is 1–10000");
    }
    if window.is_some_and(|n| n > 300) {
        c.error(
            &refs(&key("maximumBatchingWindow")),
            "maximumBatchingWindow is 0–300 seconds",
        );
    }
}

pub(super) fn stream_event(
    c: &mut Checker,
    at: &dyn Fn(&str) -> Vec<String>,
    e: &crate::config::model::StreamEvent,
) {
    let kinesis = e.arn.split(':').nth(2) == Some("kinesis");
    if let Some(kind) = e.kind {
        let said = matches!(kind, crate::config::model::StreamKind::Kinesis);
        if said != kinesis && e.arn.starts_with("arn:") {
            c.error(
                &refs(&at("type")),
                format!(
                    "`type` says {}, but the ARN is a {} stream",
                    if said { "kinesis" } else { "dynamodb" },
                    if kinesis { "Kinesis" } else { "DynamoDB" }
                ),
            );
        }
    }
    if let Some(p) = &e.starting_position {
        if !STARTING_POSITIONS.contains(&p.as_str()) {
            c.error(
                &refs(&at("startingPosition")),
                format!(
                    "startingPosition is one of {}, got `{p}`",
                    STARTING_POSITIONS.join(", ")
                ),
            );
        } else if p == "AT_TIMESTAMP" && (!kinesis || e.starting_position_timestamp.is_none()) {
            c.error(
                &refs(&at("startingPosition")),
                "AT_TIMESTAMP is for Kinesis streams, with `startingPositionTimestamp` (seconds since the epoch)",
            );
        }
    }
    let checks = [
        (
            "batchSize",
            e.batch_size.is_some_and(|n| !(1..=10_000).contains(&n)),
            "batchSize is 1–10000",
        ),
        (
            "batchWindow",
            e.batch_window.is_some_and(|n| n > 300),
            "batchWindow is 0–300 seconds",
        ),
        (
            "maximumRetryAttempts",
            e.maximum_retry_attempts
                .is_some_and(|n| !(-1..=10_000).contains(&n)),
            "maximumRetryAttempts is -1 (until the record expires) to 10000",
        ),
        (
            "maximumRecordAgeInSeconds",
            e.maximum_record_age_in_seconds
                .is_some_and(|n| n != -1 && !(60..=604_800).contains(&n)),
            "maximumRecordAgeInSeconds is -1 (no limit) or 60–604800",
        ),
        (
            "parallelizationFactor",
            e.parallelization_factor
                .is_some_and(|n| !(1..=10).contains(&n)),
            "parallelizationFactor is 1–10",
        ),
        (
            "tumblingWindowInSeconds",
            e.tumbling_window_in_seconds.is_some_and(|n| n > 900),
            "tumblingWindowInSeconds is 0–900",
        ),
    ];
    for (key, bad, msg) in checks {
        if bad {
            c.error(&refs(&at(key)), msg);
        }
    }
    response_type(
        c,
        &refs(&at("functionResponseType")),
        &e.function_response_type,
    );
    filter_patterns(c, &refs(&at("filterPatterns")), &e.filter_patterns);
    if let Some(target) = e.destinations.as_ref().and_then(|d| d.on_failure.as_ref()) {
        let arn_of = target
            .as_str()
            .or_else(|| target.get("arn").and_then(|a| a.as_str()));
        if !matches!(arn_of.and_then(arn_service), Some("sqs" | "sns")) {
            c.error(
                &refs(&at("destinations")),
                "a stream's `destinations.onFailure` is the ARN of an SQS queue or SNS topic (or `{arn, type}`)",
            );
        }
    }
    if e.consumer.is_some() {
        refuse(
            c,
            &refs(&at("consumer")),
            "Kinesis enhanced fan-out consumers",
        );
    }
}

pub(super) fn response_type(c: &mut Checker, path: &[&str], t: &Option<String>) {
    if let Some(t) = t
        && t != "ReportBatchItemFailures"
    {
        c.error(
            path,
            format!("functionResponseType is `ReportBatchItemFailures`, got `{t}`"),
        );
    }
}

/// Lambda's event filters: a list of patterns, each a mapping (`{body: {…}}`), at most 5.
pub(super) fn filter_patterns(c: &mut Checker, path: &[&str], p: &Option<serde_json::Value>) {
    let Some(p) = p else { return };
    let ok = p
        .as_array()
        .is_some_and(|l| l.len() <= 5 && l.iter().all(serde_json::Value::is_object));
    if !ok {
        c.error(path, "filterPatterns is a list of at most 5 patterns, each a mapping such as `{body: {state: [ready]}}`");
    }
}
