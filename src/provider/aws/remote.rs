//! The calls of the remote commands: invoke a deployed function, read where its asynchronous
//! failures go, page through its logs, read its metrics in one batched call, and make and remove
//! the temporary versions power tuning measures.

use std::collections::BTreeMap;

use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{InvocationType, LogType};

use super::{Aws, AwsError, call_err, is_code};

/// What Lambda answered to Invoke.
#[derive(Debug, Clone)]
pub struct Invoked {
    pub status: i32,
    /// `Handled` or `Unhandled` when the function failed.
    pub function_error: Option<String>,
    /// The last 4 KB of the invocation's log, decoded (with `--log`).
    pub log_tail: Option<String>,
    pub executed_version: Option<String>,
    pub payload: Vec<u8>,
}

/// Invokes `name:qualifier`.
pub async fn invoke(
    aws: &Aws,
    name: &str,
    qualifier: &str,
    kind: InvocationType,
    payload: Vec<u8>,
    tail: bool,
) -> Result<Invoked, AwsError> {
    let out = aws
        .lambda
        .invoke()
        .function_name(name)
        .qualifier(qualifier)
        .invocation_type(kind)
        .set_log_type(tail.then_some(LogType::Tail))
        .payload(Blob::new(payload))
        .send()
        .await
        .map_err(call_err(
            "lambda:Invoke",
            &format!("function {name}:{qualifier}"),
        ))?;
    let log_tail = out
        .log_result()
        .and_then(|b| aws_smithy_types::base64::decode(b).ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned());
    Ok(Invoked {
        status: out.status_code(),
        function_error: out.function_error().map(str::to_string),
        log_tail,
        executed_version: out.executed_version().map(str::to_string),
        payload: out.payload.map(Blob::into_inner).unwrap_or_default(),
    })
}

/// Where asynchronous invocations of `name:qualifier` go when they fail, as AWS holds it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AsyncHandling {
    /// Retries after the first attempt (0–2; AWS's default 2).
    pub retries: i32,
    /// How long an event may wait, in seconds (AWS's default 21,600: 6 hours).
    pub max_age_seconds: i32,
    pub on_failure: Option<String>,
    pub on_success: Option<String>,
    pub dead_letter: Option<String>,
}

pub async fn async_handling(
    aws: &Aws,
    name: &str,
    qualifier: &str,
) -> Result<AsyncHandling, AwsError> {
    let what = format!("function {name}:{qualifier}");
    let (cfg, fc) = tokio::join!(
        aws.lambda
            .get_function_event_invoke_config()
            .function_name(name)
            .qualifier(qualifier)
            .send(),
        aws.lambda
            .get_function_configuration()
            .function_name(name)
            .qualifier(qualifier)
            .send()
    );
    let mut h = AsyncHandling {
        retries: 2,
        max_age_seconds: 21_600,
        on_failure: None,
        on_success: None,
        dead_letter: None,
    };
    match cfg {
        Ok(c) => {
            if let Some(r) = c.maximum_retry_attempts() {
                h.retries = r;
            }
            if let Some(a) = c.maximum_event_age_in_seconds() {
                h.max_age_seconds = a;
            }
            let d = c.destination_config();
            h.on_failure = d
                .and_then(|d| d.on_failure())
                .and_then(|f| f.destination())
                .map(str::to_string);
            h.on_success = d
                .and_then(|d| d.on_success())
                .and_then(|f| f.destination())
                .map(str::to_string);
        }
        Err(e) if is_code(&e, super::NOT_FOUND) => {}
        Err(e) => return Err(call_err("lambda:GetFunctionEventInvokeConfig", &what)(e)),
    }
    let fc = fc.map_err(call_err("lambda:GetFunctionConfiguration", &what))?;
    h.dead_letter = fc
        .dead_letter_config()
        .and_then(|d| d.target_arn())
        .map(str::to_string);
    Ok(h)
}

/// The version an alias (or a version number) names.
pub async fn version_of(aws: &Aws, name: &str, qualifier: &str) -> Result<String, AwsError> {
    if qualifier == "$LATEST" || qualifier.chars().all(|c| c.is_ascii_digit()) {
        return Ok(qualifier.to_string());
    }
    let a = aws
        .lambda
        .get_alias()
        .function_name(name)
        .name(qualifier)
        .send()
        .await
        .map_err(call_err(
            "lambda:GetAlias",
            &format!("alias {name}:{qualifier}"),
        ))?;
    Ok(a.function_version().unwrap_or("$LATEST").to_string())
}

/// One log event.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEvent {
    pub id: String,
    pub timestamp: i64,
    pub stream: String,
    pub message: String,
}

/// What to read from a log group.
#[derive(Debug, Clone, Default)]
pub struct LogQuery {
    pub group: String,
    /// Milliseconds since the epoch.
    pub start: i64,
    pub end: Option<i64>,
    pub filter: Option<String>,
    /// Only the streams of this version (`[3]` or `[$LATEST]` in their names).
    pub version: Option<String>,
}

/// Streams of `version`, most recent first (FilterLogEvents takes at most 100 names).
pub async fn streams_of(aws: &Aws, group: &str, version: &str) -> Result<Vec<String>, AwsError> {
    let mark = format!("[{version}]");
    let mut out = Vec::new();
    let mut pages = aws
        .logs
        .describe_log_streams()
        .log_group_name(group)
        .order_by(aws_sdk_cloudwatchlogs::types::OrderBy::LastEventTime)
        .descending(true)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(call_err(
            "logs:DescribeLogStreams",
            &format!("log group {group}"),
        ))?;
        out.extend(
            page.log_streams()
                .iter()
                .filter_map(|s| s.log_stream_name())
                .filter(|n| n.contains(&mark))
                .map(str::to_string),
        );
        if out.len() >= 100 {
            out.truncate(100);
            break;
        }
    }
    Ok(out)
}

/// Hands every matching event to `each`, page by page (never the whole group in memory);
/// returns false when the group does not exist.
pub async fn log_events(
    aws: &Aws,
    q: &LogQuery,
    each: &mut (dyn FnMut(LogEvent) + Send),
) -> Result<bool, AwsError> {
    let streams = match &q.version {
        Some(v) => {
            let s = match streams_of(aws, &q.group, v).await {
                Ok(s) => s,
                Err(AwsError::Call { code, .. }) if code == "ResourceNotFoundException" => {
                    return Ok(false);
                }
                Err(e) => return Err(e),
            };
            if s.is_empty() {
                return Ok(true);
            }
            Some(s)
        }
        None => None,
    };
    let mut token: Option<String> = None;
    loop {
        let page = aws
            .logs
            .filter_log_events()
            .log_group_name(&q.group)
            .start_time(q.start)
            .set_end_time(q.end)
            .set_filter_pattern(q.filter.clone())
            .set_log_stream_names(streams.clone())
            .set_next_token(token.take())
            .send()
            .await;
        let page = match page {
            Ok(p) => p,
            Err(e) if is_code(&e, &["ResourceNotFoundException"]) => return Ok(false),
            Err(e) => {
                return Err(call_err(
                    "logs:FilterLogEvents",
                    &format!("log group {}", q.group),
                )(e));
            }
        };
        for e in page.events() {
            each(LogEvent {
                id: e.event_id().unwrap_or_default().to_string(),
                timestamp: e.timestamp().unwrap_or_default(),
                stream: e.log_stream_name().unwrap_or_default().to_string(),
                message: e.message().unwrap_or_default().to_string(),
            });
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(true);
        }
    }
}

/// One function's metrics over a period.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionMetrics {
    pub invocations: f64,
    pub errors: f64,
    pub throttles: f64,
    /// Milliseconds.
    pub duration_sum: f64,
    pub duration_avg: Option<f64>,
    pub duration_p50: Option<f64>,
    pub duration_p99: Option<f64>,
    pub max_concurrency: Option<f64>,
}

/// What to read: functions by Lambda name, APIs by how CloudWatch names them.
#[derive(Debug, Clone, Default)]
pub struct MetricsQuery {
    pub functions: Vec<String>,
    /// REST API name (`ApiName` dimension).
    pub rest_api: Option<String>,
    /// HTTP API id (`ApiId` dimension).
    pub http_api: Option<String>,
    /// Seconds since the epoch.
    pub start: i64,
    pub end: i64,
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Metrics {
    pub functions: BTreeMap<String, FunctionMetrics>,
    pub rest_api_requests: f64,
    pub http_api_requests: f64,
}

/// Every metric of the period in as few GetMetricData calls as AWS allows (500 queries each),
/// each query one datapoint spanning the whole period.
pub async fn metrics(aws: &Aws, q: &MetricsQuery) -> Result<Metrics, AwsError> {
    let span = (q.end - q.start).max(60);
    // A period is a multiple of 60 s; one that covers the span gives one datapoint.
    let period = i32::try_from((span + 59) / 60 * 60).unwrap_or(i32::MAX);
    let stat = |id: String, ns: &str, name: &str, dims: Vec<(&str, &str)>, stat: &str| {
        let metric = Metric::builder()
            .namespace(ns)
            .metric_name(name)
            .set_dimensions(Some(
                dims.into_iter()
                    .map(|(k, v)| Dimension::builder().name(k).value(v).build())
                    .collect(),
            ))
            .build();
        MetricDataQuery::builder()
            .id(id)
            .metric_stat(
                MetricStat::builder()
                    .metric(metric)
                    .period(period)
                    .stat(stat)
                    .build(),
            )
            .return_data(true)
            .build()
    };
    const PER_FUNCTION: [(&str, &str, &str); 8] = [
        ("inv", "Invocations", "Sum"),
        ("err", "Errors", "Sum"),
        ("thr", "Throttles", "Sum"),
        ("dsum", "Duration", "Sum"),
        ("davg", "Duration", "Average"),
        ("dp50", "Duration", "p50"),
        ("dp99", "Duration", "p99"),
        ("conc", "ConcurrentExecutions", "Maximum"),
    ];
    let mut queries = Vec::new();
    for (i, f) in q.functions.iter().enumerate() {
        for (tag, name, s) in PER_FUNCTION {
            queries.push(stat(
                format!("{tag}_{i}"),
                "AWS/Lambda",
                name,
                vec![("FunctionName", f)],
                s,
            ));
        }
    }
    if let Some(api) = &q.rest_api {
        queries.push(stat(
            "rest".into(),
            "AWS/ApiGateway",
            "Count",
            vec![("ApiName", api)],
            "Sum",
        ));
    }
    if let Some(api) = &q.http_api {
        queries.push(stat(
            "http".into(),
            "AWS/ApiGateway",
            "Count",
            vec![("ApiId", api)],
            "Sum",
        ));
    }
    let mut values: BTreeMap<String, f64> = BTreeMap::new();
    for chunk in queries.chunks(500) {
        let mut token = None;
        loop {
            let out = aws
                .cloudwatch
                .get_metric_data()
                .set_metric_data_queries(Some(chunk.to_vec()))
                .start_time(aws_smithy_types::DateTime::from_secs(q.start))
                .end_time(aws_smithy_types::DateTime::from_secs(q.end))
                .set_next_token(token.take())
                .send()
                .await
                .map_err(call_err(
                    "cloudwatch:GetMetricData",
                    "the service's metrics",
                ))?;
            for r in out.metric_data_results() {
                if let (Some(id), Some(v)) = (r.id(), r.values().first()) {
                    // Several datapoints (a period cut in two by AWS): sums add up, the
                    // rest keep the first.
                    let entry = values.entry(id.to_string()).or_insert(0.0);
                    let summed = ["inv_", "err_", "thr_", "dsum_", "rest", "http"]
                        .iter()
                        .any(|p| id.starts_with(p));
                    if summed {
                        *entry += r.values().iter().sum::<f64>();
                    } else {
                        *entry = *v;
                    }
                }
            }
            token = out.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
    }
    let mut m = Metrics::default();
    for (i, f) in q.functions.iter().enumerate() {
        let get = |tag: &str| values.get(&format!("{tag}_{i}")).copied();
        m.functions.insert(
            f.clone(),
            FunctionMetrics {
                invocations: get("inv").unwrap_or(0.0),
                errors: get("err").unwrap_or(0.0),
                throttles: get("thr").unwrap_or(0.0),
                duration_sum: get("dsum").unwrap_or(0.0),
                duration_avg: get("davg"),
                duration_p50: get("dp50"),
                duration_p99: get("dp99"),
                max_concurrency: get("conc"),
            },
        );
    }
    m.rest_api_requests = values.get("rest").copied().unwrap_or(0.0);
    m.http_api_requests = values.get("http").copied().unwrap_or(0.0);
    Ok(m)
}

/// One temporary version per memory size, for `tune`: `$LATEST` is set to each size and
/// published, then set back to its own size (the aliases never move). Returns the versions by
/// size, and which of them were made here (Lambda answers PublishVersion with an existing version
/// when nothing differs from it: that one is not ours to delete).
pub async fn publish_sizes(
    aws: &Aws,
    name: &str,
    sizes: &[u32],
) -> Result<Vec<(u32, String, bool)>, AwsError> {
    let what = format!("function {name}");
    let before = existing_versions(aws, name).await?;
    let current = aws
        .lambda
        .get_function_configuration()
        .function_name(name)
        .send()
        .await
        .map_err(call_err("lambda:GetFunctionConfiguration", &what))?
        .memory_size()
        .unwrap_or(128);
    let mut out = Vec::new();
    let result = async {
        for &size in sizes {
            set_memory(aws, name, size).await?;
            let v = aws
                .lambda
                .publish_version()
                .function_name(name)
                .description(format!("sls tune: {size} MB"))
                .send()
                .await
                .map_err(call_err("lambda:PublishVersion", &what))?;
            let version = v.version().unwrap_or_default().to_string();
            let made = !before.contains(&version);
            out.push((size, version, made));
        }
        Ok::<_, AwsError>(())
    }
    .await;
    // Back to its own size whatever happened.
    let restored = set_memory(aws, name, u32::try_from(current).unwrap_or(128)).await;
    result?;
    restored?;
    Ok(out)
}

async fn set_memory(aws: &Aws, name: &str, size: u32) -> Result<(), AwsError> {
    super::function::wait_updated(aws, name).await?;
    aws.lambda
        .update_function_configuration()
        .function_name(name)
        .memory_size(i32::try_from(size).unwrap_or(128))
        .send()
        .await
        .map_err(call_err(
            "lambda:UpdateFunctionConfiguration",
            &format!("function {name}"),
        ))?;
    super::function::wait_updated(aws, name).await
}

async fn existing_versions(aws: &Aws, name: &str) -> Result<Vec<String>, AwsError> {
    let mut out = Vec::new();
    let mut pages = aws
        .lambda
        .list_versions_by_function()
        .function_name(name)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(call_err(
            "lambda:ListVersionsByFunction",
            &format!("function {name}"),
        ))?;
        out.extend(
            page.versions()
                .iter()
                .filter_map(|v| v.version().map(str::to_string)),
        );
    }
    Ok(out)
}

/// Deletes the versions `tune` made.
pub async fn delete_versions(aws: &Aws, name: &str, versions: &[String]) -> Result<(), AwsError> {
    for v in versions {
        match aws
            .lambda
            .delete_function()
            .function_name(name)
            .qualifier(v)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if is_code(&e, super::NOT_FOUND) => {}
            Err(e) => {
                return Err(call_err(
                    "lambda:DeleteFunction",
                    &format!("version {name}:{v}"),
                )(e));
            }
        }
    }
    Ok(())
}

/// How a live tail ended.
pub enum LiveTail {
    /// The session ran out (AWS ends them after 3 hours): start another.
    Ended,
    /// Live tail is not available here (AccessDenied, an endpoint without it): poll instead. The
    /// text says why.
    Unavailable(String),
}

/// Follows `group_arn` with CloudWatch Logs' live tail (StartLiveTail), handing each event to
/// `each` (events carry no id there: `id` is empty). Lambda's own group names need the ARN
/// without the trailing `:*`.
pub async fn live_tail(
    aws: &Aws,
    group_arn: &str,
    filter: Option<&str>,
    streams: Option<Vec<String>>,
    each: &mut (dyn FnMut(LogEvent) + Send),
) -> Result<LiveTail, AwsError> {
    use aws_sdk_cloudwatchlogs::types::StartLiveTailResponseStream as S;
    let started = aws
        .logs
        .start_live_tail()
        .log_group_identifiers(group_arn)
        .set_log_event_filter_pattern(filter.map(str::to_string))
        .set_log_stream_names(streams)
        .send()
        .await;
    let mut out = match started {
        Ok(o) => o,
        Err(e) => {
            use aws_sdk_cloudwatchlogs::error::ProvideErrorMetadata;
            let why = e.code().map_or_else(|| e.to_string(), str::to_string);
            return Ok(LiveTail::Unavailable(why));
        }
    };
    loop {
        match out.response_stream.recv().await {
            Ok(Some(S::SessionUpdate(u))) => {
                for e in u.session_results() {
                    each(LogEvent {
                        id: String::new(),
                        timestamp: e.timestamp().unwrap_or_default(),
                        stream: e.log_stream_name().unwrap_or_default().to_string(),
                        message: e.message().unwrap_or_default().to_string(),
                    });
                }
            }
            Ok(Some(_)) => {}
            Ok(None) => return Ok(LiveTail::Ended),
            Err(e) => {
                use aws_sdk_cloudwatchlogs::error::ProvideErrorMetadata;
                let code = e.code().unwrap_or_default().to_string();
                // A session that times out ends with an error of its own.
                if code == "SessionTimeoutException" {
                    return Ok(LiveTail::Ended);
                }
                return Ok(LiveTail::Unavailable(format!("the live tail stopped: {e}")));
            }
        }
    }
}
