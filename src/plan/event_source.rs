//! Event source mappings: Lambda polling an SQS queue, a DynamoDB stream, a Kinesis stream, a
//! topic of an MSK cluster or a queue of an Amazon MQ broker (`sqs`, `stream`, `msk`, `activemq`
//! and `rabbitmq` events) for a function's live alias, so that promoting or rolling back the alias
//! moves where records go. AWS side: `provider::aws::event_source`.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::events::{Of, Source};
use super::{Change, Desired, Observed, Phase, Plan};
use crate::config::model::{SqsEvent, StreamEvent};
use crate::config::validate::arn_service;
use serde_json::{Value, json};

/// What polls: the source's service, as its ARN names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    Sqs,
    Dynamodb,
    Kinesis,
    /// An Amazon MSK cluster: one mapping per topic.
    Kafka,
    /// A self-managed Apache Kafka cluster, named by its bootstrap servers
    /// (`kafka://host:port,…`, see [`self_managed_source`]): one mapping per topic.
    SelfManagedKafka,
    /// An Amazon MQ broker (ActiveMQ or RabbitMQ): one mapping per queue.
    Mq,
}

impl SourceKind {
    pub fn of(arn: &str) -> Option<SourceKind> {
        if arn.starts_with(SELF_MANAGED) {
            return Some(SourceKind::SelfManagedKafka);
        }
        match arn.split(':').nth(2)? {
            "sqs" => Some(SourceKind::Sqs),
            "dynamodb" => Some(SourceKind::Dynamodb),
            "kinesis" => Some(SourceKind::Kinesis),
            "kafka" => Some(SourceKind::Kafka),
            "mq" => Some(SourceKind::Mq),
            _ => None,
        }
    }

    /// Lambda's batch size when none is given (what AWS answers back).
    pub fn default_batch_size(self) -> i32 {
        match self {
            SourceKind::Sqs => 10,
            SourceKind::Dynamodb
            | SourceKind::Kinesis
            | SourceKind::Kafka
            | SourceKind::SelfManagedKafka
            | SourceKind::Mq => 100,
        }
    }
}

const SELF_MANAGED: &str = "kafka://";

/// How a self-managed Kafka cluster is named where others have an ARN: its bootstrap servers,
/// sorted, as `kafka://host:port,host:port`.
pub fn self_managed_source(servers: &[String]) -> String {
    let mut s = servers.to_vec();
    s.sort();
    format!("{SELF_MANAGED}{}", s.join(","))
}

/// The bootstrap servers of a [`self_managed_source`].
pub fn bootstrap_servers(source: &str) -> Vec<String> {
    source
        .strip_prefix(SELF_MANAGED)
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// The settings of one mapping as compared: each field holds what AWS answers when the config
/// leaves it out, so that a mapping read back equals the one deployed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MappingSettings {
    pub batch_size: i32,
    pub maximum_batching_window: i32,
    pub enabled: bool,
    /// `ReportBatchItemFailures`, or none.
    pub function_response_types: Vec<String>,
    /// Each filter pattern as compact JSON, sorted.
    pub filter_patterns: Vec<String>,
    /// SQS: the most concurrent invocations the queue may cause (`None`: no limit).
    pub maximum_concurrency: Option<i32>,
    /// Streams: where to start reading (set at creation only).
    pub starting_position: Option<String>,
    pub starting_position_timestamp: Option<i64>,
    /// Streams: -1 (Lambda's default) means until the record expires.
    pub maximum_retry_attempts: Option<i32>,
    pub maximum_record_age: Option<i32>,
    pub bisect_batch_on_function_error: Option<bool>,
    pub parallelization_factor: Option<i32>,
    pub tumbling_window: Option<i32>,
    /// Streams: where failed batches' metadata goes (an SQS or SNS ARN).
    pub on_failure: Option<String>,
    /// Brokers: how Lambda reaches them (`BASIC_AUTH`, `VIRTUAL_HOST`, `SASL_SCRAM_512_AUTH` → the
    /// secret or host), sorted.
    pub access: Vec<(String, String)>,
    /// MSK: the consumer group Lambda joins (set at creation only; AWS picks one when none is
    /// given).
    pub consumer_group: Option<String>,
}

impl MappingSettings {
    /// Enabled, batches of `batch_size`, nothing else set: what each kind starts from.
    pub fn new(batch_size: i32) -> MappingSettings {
        MappingSettings {
            batch_size,
            maximum_batching_window: 0,
            enabled: true,
            function_response_types: Vec::new(),
            filter_patterns: Vec::new(),
            maximum_concurrency: None,
            starting_position: None,
            starting_position_timestamp: None,
            maximum_retry_attempts: None,
            maximum_record_age: None,
            bisect_batch_on_function_error: None,
            parallelization_factor: None,
            tumbling_window: None,
            on_failure: None,
            access: Vec::new(),
            consumer_group: None,
        }
    }

    /// The settings that differ from `have`, as a plan shows them. Only settings the config
    /// states are compared for streams' optional fields, since Lambda fills in its own.
    pub fn changes(&self, have: &MappingSettings) -> Vec<Change> {
        let mut out = Vec::new();
        let mut cmp =
            |field: &str, from: String, to: String| Change::note(&mut out, field, from, to);
        let opt = |v: &Option<i32>| v.map_or_else(|| "default".into(), |n| n.to_string());
        cmp(
            "batchSize",
            have.batch_size.to_string(),
            self.batch_size.to_string(),
        );
        cmp(
            "maximumBatchingWindow",
            have.maximum_batching_window.to_string(),
            self.maximum_batching_window.to_string(),
        );
        cmp(
            "enabled",
            have.enabled.to_string(),
            self.enabled.to_string(),
        );
        cmp(
            "functionResponseType",
            have.function_response_types.join(","),
            self.function_response_types.join(","),
        );
        cmp(
            "filterPatterns",
            have.filter_patterns.join(" "),
            self.filter_patterns.join(" "),
        );
        cmp(
            "maximumConcurrency",
            opt(&have.maximum_concurrency),
            opt(&self.maximum_concurrency),
        );
        let stated = |want: &Option<i32>, got: &Option<i32>| match want {
            Some(_) => (opt(got), opt(want)),
            None => (String::new(), String::new()),
        };
        for (field, want, got) in [
            (
                "maximumRetryAttempts",
                &self.maximum_retry_attempts,
                &have.maximum_retry_attempts,
            ),
            (
                "maximumRecordAgeInSeconds",
                &self.maximum_record_age,
                &have.maximum_record_age,
            ),
            (
                "parallelizationFactor",
                &self.parallelization_factor,
                &have.parallelization_factor,
            ),
            (
                "tumblingWindowInSeconds",
                &self.tumbling_window,
                &have.tumbling_window,
            ),
        ] {
            let (from, to) = stated(want, got);
            cmp(field, from, to);
        }
        if let Some(want) = self.bisect_batch_on_function_error {
            cmp(
                "bisectBatchOnFunctionError",
                have.bisect_batch_on_function_error
                    .unwrap_or(false)
                    .to_string(),
                want.to_string(),
            );
        }
        let access = |v: &[(String, String)]| {
            v.iter()
                .map(|(t, u)| format!("{t}={u}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        cmp(
            "sourceAccessConfigurations",
            access(&have.access),
            access(&self.access),
        );
        let dest = |v: &Option<String>| v.clone().unwrap_or_else(|| "none".into());
        cmp(
            "destinations.onFailure",
            dest(&have.on_failure),
            dest(&self.on_failure),
        );
        out
    }

    /// What cannot change in place: a stream mapping starts where it was told once.
    fn needs_replacement(&self, have: &MappingSettings) -> bool {
        // An MSK mapping's consumer group is fixed once made; access configurations are
        // replaced by new ones but cannot be emptied in place.
        let group_moves =
            self.consumer_group.is_some() && self.consumer_group != have.consumer_group;
        let access_goes = self.access.is_empty() && !have.access.is_empty();
        group_moves
            || access_goes
            || self.starting_position.is_some()
                && have.starting_position.is_some()
                && (self.starting_position != have.starting_position
                    || self.starting_position_timestamp != have.starting_position_timestamp)
    }
}

/// One mapping the config asks for: a function's alias polling one source.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MappingSpec {
    /// The function's key under `functions:`.
    pub function: String,
    pub source: String,
    /// The topic (MSK) or queue (Amazon MQ) read; a broker has one mapping per target.
    pub target: Option<String>,
    pub kind: SourceKind,
    pub settings: MappingSettings,
}

/// A mapping as Lambda holds it, on a function's alias.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedMapping {
    pub uuid: String,
    pub source: String,
    pub target: Option<String>,
    /// The alias or version it invokes; `None`: the unqualified function.
    pub qualifier: Option<String>,
    pub settings: MappingSettings,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum MappingStep {
    #[serde(rename_all = "camelCase")]
    CreateEventSourceMapping {
        function: String,
        function_name: String,
        source: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        target: Option<String>,
    },
    #[serde(rename_all = "camelCase")]
    UpdateEventSourceMapping {
        function: String,
        function_name: String,
        source: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        target: Option<String>,
        uuid: String,
        changes: Vec<Change>,
    },
    /// Before a mapping that must be made anew (a stream's starting position), or when its
    /// source left the config.
    #[serde(rename_all = "camelCase")]
    DeleteEventSourceMapping {
        function_name: String,
        source: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        target: Option<String>,
        uuid: String,
        /// Deleted to be created again with settings that cannot change in place.
        replaced: bool,
    },
}

impl MappingStep {
    pub fn function_name(&self) -> &str {
        match self {
            MappingStep::CreateEventSourceMapping { function_name, .. }
            | MappingStep::UpdateEventSourceMapping { function_name, .. }
            | MappingStep::DeleteEventSourceMapping { function_name, .. } => function_name,
        }
    }
}

impl super::KindStep for MappingStep {
    fn phase(&self) -> Phase {
        match self {
            MappingStep::CreateEventSourceMapping { .. }
            | MappingStep::UpdateEventSourceMapping { .. } => Phase::Triggers,
            MappingStep::DeleteEventSourceMapping { replaced: true, .. } => Phase::Triggers,
            MappingStep::DeleteEventSourceMapping {
                replaced: false, ..
            } => Phase::DeleteTriggers,
        }
    }

    fn removes(&self) -> Option<String> {
        match self {
            MappingStep::DeleteEventSourceMapping {
                function_name,
                source,
                replaced: false,
                ..
            } => Some(format!("event source mapping {source} → {function_name}")),
            MappingStep::DeleteEventSourceMapping { replaced: true, .. }
            | MappingStep::CreateEventSourceMapping { .. }
            | MappingStep::UpdateEventSourceMapping { .. } => None,
        }
    }

    fn lane(&self) -> String {
        format!("function {}", self.function_name())
    }
}

/// ` (topic orders)`: a broker's target as a step shows it.
fn on(target: &Option<String>) -> String {
    target
        .as_ref()
        .map(|t| format!(" ({t})"))
        .unwrap_or_default()
}

impl fmt::Display for MappingStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MappingStep::CreateEventSourceMapping {
                function_name,
                source,
                target,
                ..
            } => write!(f, "+ event source {source}{} → {function_name}", on(target)),
            MappingStep::UpdateEventSourceMapping {
                function_name,
                source,
                target,
                changes,
                ..
            } => {
                let fields: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
                write!(
                    f,
                    "~ event source {source}{} → {function_name}: {}",
                    on(target),
                    fields.join(", ")
                )
            }
            MappingStep::DeleteEventSourceMapping {
                function_name,
                source,
                target,
                replaced,
                ..
            } => {
                write!(f, "- event source {source}{} → {function_name}", on(target))?;
                if *replaced {
                    // A new stream mapping starts where it is told: records may be skipped or
                    // read again.
                    write!(
                        f,
                        " (replaced: the new starting position may skip or replay records)"
                    )?;
                }
                Ok(())
            }
        }
    }
}

/// Mappings of each function that exists: created, changed in place, replaced when a stream's
/// starting position changed, and deleted when their source left the config (or the function
/// did, for `remove`).
pub fn plan(d: &Desired, o: &Observed, p: &mut Plan) {
    // One mapping per function, source and target (a broker's topic or queue).
    type Key<'a> = (&'a str, &'a str, Option<&'a str>);
    let mut wanted: BTreeMap<Key<'_>, &MappingSpec> = BTreeMap::new();
    for m in &d.mappings {
        if let Some(f) = d.function(&m.function) {
            wanted.insert((f.name.as_str(), m.source.as_str(), m.target.as_deref()), m);
        }
    }
    for (function_name, mappings) in &o.mappings {
        for m in mappings {
            let key = (
                function_name.as_str(),
                m.source.as_str(),
                m.target.as_deref(),
            );
            let delete = |replaced| MappingStep::DeleteEventSourceMapping {
                function_name: function_name.clone(),
                source: m.source.clone(),
                target: m.target.clone(),
                uuid: m.uuid.clone(),
                replaced,
            };
            let Some(spec) = wanted.get(&key) else {
                p.push(delete(false));
                continue;
            };
            // A mapping on the function where the live alias is wanted, or the other way round
            // (versioning turned on or off), is moved: a mapping cannot change the function it
            // invokes in place. Only qualified or not is compared: the alias' own mappings are
            // the ones read for it (and moto names the alias' version instead of the alias).
            let elsewhere = m.qualifier.is_some() != super::qualifier(&d.live).is_some();
            if elsewhere || spec.settings.needs_replacement(&m.settings) {
                p.push(delete(true));
                p.push(MappingStep::CreateEventSourceMapping {
                    function: spec.function.clone(),
                    function_name: function_name.clone(),
                    source: spec.source.clone(),
                    target: spec.target.clone(),
                });
                continue;
            }
            let changes = spec.settings.changes(&m.settings);
            if !changes.is_empty() {
                p.push(MappingStep::UpdateEventSourceMapping {
                    function: spec.function.clone(),
                    function_name: function_name.clone(),
                    source: spec.source.clone(),
                    target: spec.target.clone(),
                    uuid: m.uuid.clone(),
                    changes,
                });
            }
        }
    }
    for ((function_name, source, target), spec) in wanted {
        let exists = o.mappings.get(function_name).is_some_and(|ms| {
            ms.iter()
                .any(|m| m.source == source && m.target.as_deref() == target)
        });
        if !exists {
            p.push(MappingStep::CreateEventSourceMapping {
                function: spec.function.clone(),
                function_name: function_name.to_string(),
                source: source.to_string(),
                target: target.map(str::to_string),
            });
        }
    }
}

/// A function's `sqs` and `stream` events as mappings, with Lambda's defaults filled in where
/// the config leaves a setting out (so that a mapping read back compares equal).
pub(super) fn desired(events: &[Of<'_, Source<'_>>]) -> Vec<MappingSpec> {
    let patterns = |p: &Option<Value>| {
        let mut out: Vec<String> = p
            .as_ref()
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(Value::to_string)
            .collect();
        out.sort();
        out
    };
    let response = |t: &Option<String>| t.iter().cloned().collect::<Vec<_>>();
    let mut out = Vec::new();
    for (key, ev) in events {
        let key = key.as_str();
        let spec = match ev {
            Source::Sqs(SqsEvent {
                arn,
                batch_size,
                maximum_batching_window,
                maximum_concurrency,
                enabled,
                function_response_type,
                filter_patterns,
            }) => MappingSpec {
                function: key.to_string(),
                source: arn.clone(),
                target: None,
                kind: SourceKind::Sqs,
                settings: MappingSettings {
                    maximum_batching_window: maximum_batching_window.unwrap_or(0) as i32,
                    enabled: enabled.unwrap_or(true),
                    function_response_types: response(function_response_type),
                    filter_patterns: patterns(filter_patterns),
                    maximum_concurrency: maximum_concurrency.map(|n| n as i32),
                    ..MappingSettings::new(batch_size.map_or(10, |n| n as i32))
                },
            },
            Source::Stream(s) => stream_mapping(key, s, patterns(&s.filter_patterns)),
            Source::Msk(m) => {
                let mut access = Vec::new();
                if let Some(secret) = &m.sasl_scram512 {
                    access.push(("SASL_SCRAM_512_AUTH".to_string(), secret.clone()));
                }
                let mut spec = broker_mapping(
                    key,
                    &m.arn,
                    &m.topic,
                    SourceKind::Kafka,
                    access,
                    (m.batch_size, m.maximum_batching_window, m.enabled),
                    patterns(&m.filter_patterns),
                );
                kafka_reading(
                    &mut spec.settings,
                    &m.starting_position,
                    m.starting_position_timestamp,
                    &m.consumer_group_id,
                );
                spec
            }
            Source::Kafka(k) => {
                let access = k
                    .access_configurations
                    .iter()
                    .flat_map(|(name, values)| {
                        let (kind, prefix) = match name.as_str() {
                            "saslPlainAuth" => ("BASIC_AUTH", ""),
                            "saslScram256Auth" => ("SASL_SCRAM_256_AUTH", ""),
                            "saslScram512Auth" => ("SASL_SCRAM_512_AUTH", ""),
                            "clientCertificateTlsAuth" => ("CLIENT_CERTIFICATE_TLS_AUTH", ""),
                            "serverRootCaCertificate" => ("SERVER_ROOT_CA_CERTIFICATE", ""),
                            "vpcSubnet" => ("VPC_SUBNET", "subnet:"),
                            _ => ("VPC_SECURITY_GROUP", "security_group:"),
                        };
                        values
                            .iter()
                            .map(move |v| (kind.to_string(), format!("{prefix}{v}")))
                    })
                    .collect();
                let mut spec = broker_mapping(
                    key,
                    &super::event_source::self_managed_source(&k.bootstrap_servers),
                    &k.topic,
                    SourceKind::SelfManagedKafka,
                    access,
                    (k.batch_size, k.maximum_batching_window, k.enabled),
                    patterns(&k.filter_patterns),
                );
                kafka_reading(
                    &mut spec.settings,
                    &k.starting_position,
                    k.starting_position_timestamp,
                    &k.consumer_group_id,
                );
                spec
            }
            Source::Mq(m) => {
                let mut access = vec![("BASIC_AUTH".to_string(), m.basic_auth_arn.clone())];
                if let Some(host) = &m.virtual_host {
                    access.push(("VIRTUAL_HOST".to_string(), host.clone()));
                }
                broker_mapping(
                    key,
                    &m.arn,
                    &m.queue,
                    SourceKind::Mq,
                    access,
                    (m.batch_size, m.maximum_batching_window, m.enabled),
                    patterns(&m.filter_patterns),
                )
            }
        };
        out.push(spec);
    }
    out
}

/// Where a Kafka mapping (MSK or self-managed) starts reading — Serverless v3's default
/// `TRIM_HORIZON`, as for streams — and the consumer group it joins.
fn kafka_reading(
    s: &mut MappingSettings,
    position: &Option<String>,
    timestamp: Option<i64>,
    group: &Option<String>,
) {
    s.starting_position = Some(position.clone().unwrap_or_else(|| "TRIM_HORIZON".into()));
    s.starting_position_timestamp = timestamp;
    s.consumer_group = group.clone();
}

/// A mapping from a broker (a Kafka topic, an Amazon MQ broker's queue) with Lambda's defaults.
fn broker_mapping(
    key: &str,
    arn: &str,
    target: &str,
    kind: SourceKind,
    mut access: Vec<(String, String)>,
    (batch_size, window, enabled): (Option<u32>, Option<u32>, Option<bool>),
    filter_patterns: Vec<String>,
) -> MappingSpec {
    access.sort();
    let settings = MappingSettings {
        maximum_batching_window: window.unwrap_or(0) as i32,
        enabled: enabled.unwrap_or(true),
        filter_patterns,
        access,
        ..MappingSettings::new(batch_size.map_or(kind.default_batch_size(), |n| n as i32))
    };
    MappingSpec {
        function: key.to_string(),
        source: arn.to_string(),
        target: Some(target.to_string()),
        kind,
        settings,
    }
}

fn stream_mapping(key: &str, s: &StreamEvent, filter_patterns: Vec<String>) -> MappingSpec {
    let kind = SourceKind::of(&s.arn).unwrap_or(SourceKind::Kinesis);
    MappingSpec {
        function: key.to_string(),
        source: s.arn.clone(),
        target: None,
        kind,
        settings: MappingSettings {
            batch_size: s.batch_size.map_or(kind.default_batch_size(), |n| n as i32),
            maximum_batching_window: s.batch_window.unwrap_or(0) as i32,
            enabled: s.enabled.unwrap_or(true),
            function_response_types: s.function_response_type.iter().cloned().collect(),
            filter_patterns,
            maximum_concurrency: None,
            // Serverless v3's default: read the stream from its oldest record.
            starting_position: Some(
                s.starting_position
                    .clone()
                    .unwrap_or_else(|| "TRIM_HORIZON".into()),
            ),
            starting_position_timestamp: s.starting_position_timestamp,
            maximum_retry_attempts: s.maximum_retry_attempts.map(|n| n as i32),
            maximum_record_age: s.maximum_record_age_in_seconds.map(|n| n as i32),
            bisect_batch_on_function_error: s.bisect_batch_on_function_error,
            parallelization_factor: s.parallelization_factor.map(|n| n as i32),
            tumbling_window: s.tumbling_window_in_seconds.map(|n| n as i32),
            on_failure: stream_on_failure(s),
            access: Vec::new(),
            consumer_group: None,
        },
    }
}

/// A stream's `destinations.onFailure`: an ARN, or `{arn, type}`.
fn stream_on_failure(s: &StreamEvent) -> Option<String> {
    let v = s.destinations.as_ref()?.on_failure.as_ref()?;
    v.as_str()
        .or_else(|| v.get("arn").and_then(Value::as_str))
        .map(str::to_string)
}

/// What the members' event sources need of the role, as Serverless v3 grants it: reading
/// their queues and streams, and sending failed stream batches on.
pub(super) fn statements<'m>(mappings: impl Iterator<Item = &'m MappingSpec>) -> Vec<Value> {
    let mut queues = Vec::new();
    let mut dynamodb = Vec::new();
    let mut kinesis = Vec::new();
    let mut clusters = Vec::new();
    let mut brokers = Vec::new();
    let mut secrets = Vec::new();
    let mut in_vpc = false;
    let mut failures = Vec::new();
    {
        for m in mappings {
            let list = match m.kind {
                SourceKind::Sqs => &mut queues,
                SourceKind::Dynamodb => &mut dynamodb,
                SourceKind::Kinesis => &mut kinesis,
                SourceKind::Kafka => &mut clusters,
                SourceKind::Mq => &mut brokers,
                // Reached by address: no resource to name, only its secrets and VPC.
                SourceKind::SelfManagedKafka => &mut Vec::new(),
            };
            if !list.contains(&m.source) {
                list.push(m.source.clone());
            }
            for (kind, uri) in &m.settings.access {
                match kind.as_str() {
                    "VIRTUAL_HOST" => {}
                    "VPC_SUBNET" | "VPC_SECURITY_GROUP" => in_vpc = true,
                    _ if !secrets.contains(uri) => secrets.push(uri.clone()),
                    _ => {}
                }
            }
            if let Some(t) = &m.settings.on_failure
                && !failures.contains(t)
            {
                failures.push(t.clone());
            }
        }
    }
    let mut out = Vec::new();
    for (actions, resources) in [
        (
            [
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
            ]
            .as_slice(),
            &queues,
        ),
        (
            &[
                "dynamodb:GetRecords",
                "dynamodb:GetShardIterator",
                "dynamodb:DescribeStream",
                "dynamodb:ListStreams",
            ],
            &dynamodb,
        ),
        (
            &[
                "kinesis:GetRecords",
                "kinesis:GetShardIterator",
                "kinesis:DescribeStream",
                "kinesis:DescribeStreamSummary",
                "kinesis:ListShards",
                "kinesis:ListStreams",
            ],
            &kinesis,
        ),
        (
            &[
                "kafka:DescribeCluster",
                "kafka:DescribeClusterV2",
                "kafka:GetBootstrapBrokers",
            ],
            &clusters,
        ),
        (&["mq:DescribeBroker"], &brokers),
        (&["secretsmanager:GetSecretValue"], &secrets),
    ] {
        if !resources.is_empty() {
            out.push(json!({ "Effect": "Allow", "Action": actions, "Resource": resources }));
        }
    }
    // Lambda reaches brokers from their VPC through network interfaces it makes as the role.
    if !clusters.is_empty() || !brokers.is_empty() || in_vpc {
        out.push(json!({
            "Effect": "Allow",
            "Action": [
                "ec2:CreateNetworkInterface",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeVpcs",
                "ec2:DeleteNetworkInterface",
                "ec2:DescribeSubnets",
                "ec2:DescribeSecurityGroups"
            ],
            "Resource": ["*"]
        }));
    }
    for t in failures {
        let action = if arn_service(&t) == Some("sns") {
            "sns:Publish"
        } else {
            "sqs:SendMessage"
        };
        out.push(json!({ "Effect": "Allow", "Action": [action], "Resource": [t] }));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::tests::desired;

    fn sqs(function: &str, queue: &str) -> MappingSpec {
        MappingSpec {
            function: function.into(),
            source: format!("arn:aws:sqs:eu-west-1:1:{queue}"),
            target: None,
            kind: SourceKind::Sqs,
            settings: MappingSettings::new(10),
        }
    }

    /// What Lambda holds once `d`'s mappings are deployed.
    fn converged(d: &Desired) -> Observed {
        let mut o = Observed::default();
        for (i, m) in d.mappings.iter().enumerate() {
            let name = d.function(&m.function).unwrap().name.clone();
            o.mappings.entry(name).or_default().push(ObservedMapping {
                uuid: format!("u{i}"),
                source: m.source.clone(),
                target: m.target.clone(),
                qualifier: Some(d.live.clone()),
                settings: m.settings.clone(),
            });
        }
        o
    }

    fn shown(d: &Desired, o: &Observed) -> Vec<String> {
        let mut p = Plan::default();
        plan(d, o, &mut p);
        p.steps.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn missing_mappings_are_created_and_converged_ones_left_alone() {
        let mut d = desired();
        d.mappings = vec![sqs("a", "q1"), sqs("b", "q2")];
        assert_eq!(
            shown(&d, &Observed::default()),
            [
                "+ event source arn:aws:sqs:eu-west-1:1:q1 → svc-dev-a",
                "+ event source arn:aws:sqs:eu-west-1:1:q2 → svc-dev-b",
            ]
        );
        assert!(shown(&d, &converged(&d)).is_empty());
    }

    #[test]
    fn changed_settings_update_in_place_and_a_new_start_replaces() {
        let mut d = desired();
        d.mappings = vec![sqs("a", "q1")];
        let o = converged(&d);
        d.mappings[0].settings.batch_size = 5;
        d.mappings[0].settings.enabled = false;
        assert_eq!(
            shown(&d, &o),
            ["~ event source arn:aws:sqs:eu-west-1:1:q1 → svc-dev-a: batchSize, enabled"]
        );
        let mut d = desired();
        let mut stream = sqs("a", "q1");
        stream.source = "arn:aws:kinesis:eu-west-1:1:stream/s".into();
        stream.kind = SourceKind::Kinesis;
        stream.settings.batch_size = 100;
        stream.settings.starting_position = Some("TRIM_HORIZON".into());
        d.mappings = vec![stream];
        let o = converged(&d);
        d.mappings[0].settings.starting_position = Some("LATEST".into());
        let steps = shown(&d, &o);
        assert_eq!(steps.len(), 2, "{steps:?}");
        assert!(steps[0].contains("replaced: the new starting position may skip or replay"));
        assert!(steps[1].starts_with("+ event source arn:aws:kinesis"));
    }

    #[test]
    fn a_source_that_left_the_config_is_deleted_last() {
        let mut d = desired();
        d.mappings = vec![sqs("a", "q1"), sqs("a", "q2")];
        let o = converged(&d);
        d.mappings.pop();
        let mut p = Plan::default();
        plan(&d, &o, &mut p);
        assert_eq!(p.steps.len(), 1);
        assert_eq!(p.steps[0].phase(), Phase::DeleteTriggers);
        assert_eq!(
            p.steps[0].to_string(),
            "- event source arn:aws:sqs:eu-west-1:1:q2 → svc-dev-a"
        );
        // A removal deletes every mapping of ours.
        let mut p = Plan::default();
        plan(&d.nothing(), &o, &mut p);
        assert_eq!(p.steps.len(), 2);
    }

    #[test]
    fn a_broker_has_one_mapping_per_topic_or_queue_and_its_consumer_group_is_fixed() {
        let mut d = desired();
        let msk = |topic: &str| {
            let mut m = sqs("a", "x");
            m.source = "arn:aws:kafka:eu-west-1:1:cluster/c/u".into();
            m.kind = SourceKind::Kafka;
            m.target = Some(topic.into());
            m.settings.batch_size = 100;
            m.settings.starting_position = Some("TRIM_HORIZON".into());
            m.settings.consumer_group = Some("billing".into());
            m
        };
        d.mappings = vec![msk("orders"), msk("refunds")];
        assert_eq!(
            shown(&d, &Observed::default()),
            [
                "+ event source arn:aws:kafka:eu-west-1:1:cluster/c/u (orders) → svc-dev-a",
                "+ event source arn:aws:kafka:eu-west-1:1:cluster/c/u (refunds) → svc-dev-a",
            ]
        );
        let o = converged(&d);
        assert!(shown(&d, &o).is_empty());
        // The secret changes in place; the consumer group only with a new mapping.
        d.mappings[0].settings.access = vec![(
            "SASL_SCRAM_512_AUTH".into(),
            "arn:aws:secretsmanager:eu-west-1:1:secret:s".into(),
        )];
        d.mappings[1].settings.consumer_group = Some("audit".into());
        let steps = shown(&d, &o);
        assert_eq!(steps.len(), 3, "{steps:?}");
        assert!(
            steps[0].ends_with("(orders) → svc-dev-a: sourceAccessConfigurations"),
            "{steps:?}"
        );
        assert!(
            steps[1].starts_with("- event source") && steps[1].contains("(refunds)"),
            "{steps:?}"
        );
        assert!(
            steps[2].starts_with("+ event source") && steps[2].contains("(refunds)"),
            "{steps:?}"
        );
        // Secrets removed altogether cannot be emptied in place: the mapping is made again.
        let mut bare = d.clone();
        bare.mappings[1].settings.consumer_group = Some("billing".into());
        let mut o3 = converged(&d);
        o3.mappings.get_mut("svc-dev-a").unwrap()[1].settings.access = vec![(
            "SASL_SCRAM_512_AUTH".into(),
            "arn:aws:secretsmanager:eu-west-1:1:secret:s".into(),
        )];
        o3.mappings.get_mut("svc-dev-a").unwrap()[1]
            .settings
            .consumer_group = Some("billing".into());
        let steps = shown(&bare, &o3);
        assert!(
            steps
                .iter()
                .any(|s| s.contains("(refunds)") && s.starts_with("- ")),
            "{steps:?}"
        );
        // A topic that left the config goes; AWS's own group for an unstated one is kept.
        let mut fewer = d.clone();
        fewer.mappings.truncate(1);
        fewer.mappings[0].settings.consumer_group = None;
        let mut o2 = converged(&d);
        o2.mappings.get_mut("svc-dev-a").unwrap()[0]
            .settings
            .consumer_group = Some("generated-uuid".into());
        assert_eq!(
            shown(&fewer, &o2),
            ["- event source arn:aws:kafka:eu-west-1:1:cluster/c/u (refunds) → svc-dev-a"]
        );
    }

    #[test]
    fn unstated_stream_settings_are_lambdas_to_choose() {
        let want = sqs("a", "q").settings;
        let mut have = want.clone();
        have.maximum_retry_attempts = Some(-1);
        have.parallelization_factor = Some(1);
        have.bisect_batch_on_function_error = Some(false);
        assert!(want.changes(&have).is_empty());
    }
}
