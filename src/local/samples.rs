//! Sample events for `sls invoke local --event KIND`, shaped as Lambda delivers them and filled
//! from the function's own event sources (its queue, stream, topic, bucket or rule), as
//! `sam local generate-event` does for a template.

use serde_json::{Value, json};

use crate::plan::Desired;

/// The kinds `--event` takes.
pub const KINDS: &[&str] = &[
    "schedule",
    "eventbridge",
    "sqs",
    "sns",
    "s3:put",
    "s3:delete",
    "dynamodb",
    "kinesis",
    "websocket:connect",
    "websocket:message",
    "websocket:disconnect",
    "alb",
    "cognito",
    "msk",
    "kafka",
    "rabbitmq",
    "activemq",
];

/// The account samples name: the one AWS's documentation uses.
const ACCOUNT: &str = "123456789012";

/// A sample event of `kind` for function `key`; `now` is an ISO time, `id` a unique id.
pub fn sample(d: &Desired, key: &str, kind: &str, now: &str, id: &str) -> Result<Value, String> {
    let region = &d.region;
    let (partition, _) = crate::plan::partition(region);
    let arn =
        |service: &str, rest: &str| format!("arn:{partition}:{service}:{region}:{ACCOUNT}:{rest}");
    let event = match kind {
        "schedule" | "eventbridge" => {
            let rule = d.rules.iter().find(|r| r.function == key);
            let pattern: Value = rule
                .and_then(|r| r.pattern.as_deref())
                .and_then(|p| serde_json::from_str(p).ok())
                .unwrap_or(Value::Null);
            let first = |k: &str| {
                pattern
                    .get(k)
                    .and_then(|v| v.get(0))
                    .and_then(Value::as_str)
            };
            let scheduled = kind == "schedule" || pattern.is_null();
            json!({
                "version": "0",
                "id": id,
                "detail-type": if scheduled { "Scheduled Event" } else { first("detail-type").unwrap_or("Sample Event") },
                "source": if scheduled { "aws.events" } else { first("source").unwrap_or("sls.sample") },
                "account": ACCOUNT,
                "time": now,
                "region": region,
                "resources": [arn("events", &format!("rule/{}", rule.map_or("sample-rule", |r| r.name.as_str())))],
                "detail": {}
            })
        }
        "sqs" => {
            let queue = source(d, key, "sqs").unwrap_or_else(|| arn("sqs", "sample-queue"));
            json!({"Records": [{
                "messageId": id,
                "receiptHandle": format!("sample-{id}"),
                "body": "{\"sample\":true}",
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1700000000000",
                    "SenderId": ACCOUNT,
                    "ApproximateFirstReceiveTimestamp": "1700000000001"
                },
                "messageAttributes": {},
                "md5OfBody": "0c8f9d2b3a1e4f5a6b7c8d9e0f1a2b3c",
                "eventSource": "aws:sqs",
                "eventSourceARN": queue,
                "awsRegion": region
            }]})
        }
        "sns" => {
            let topic = d
                .subscriptions
                .iter()
                .find(|s| s.function == key)
                .map_or_else(|| arn("sns", "sample-topic"), |s| arn("sns", &s.topic));
            json!({"Records": [{
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": format!("{topic}:{id}"),
                "Sns": {
                    "Type": "Notification",
                    "MessageId": id,
                    "TopicArn": topic,
                    "Subject": null,
                    "Message": "{\"sample\":true}",
                    "Timestamp": now,
                    "SignatureVersion": "1",
                    "Signature": "EXAMPLE",
                    "SigningCertUrl": "EXAMPLE",
                    "UnsubscribeUrl": "EXAMPLE",
                    "MessageAttributes": {}
                }
            }]})
        }
        "s3:put" | "s3:delete" => {
            let found = d.event_buckets.iter().find_map(|b| {
                b.entries
                    .iter()
                    .find(|e| e.function == key)
                    .map(|e| (b.bucket.clone(), e.clone()))
            });
            let bucket = found.as_ref().map_or("sample-bucket", |(b, _)| b.as_str());
            let entry = found.as_ref().map(|(_, e)| e);
            let object = format!(
                "{}example{}",
                entry.and_then(|e| e.prefix.clone()).unwrap_or_default(),
                entry
                    .and_then(|e| e.suffix.clone())
                    .unwrap_or_else(|| ".json".into())
            );
            let name = if kind == "s3:put" {
                "ObjectCreated:Put"
            } else {
                "ObjectRemoved:Delete"
            };
            json!({"Records": [{
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": region,
                "eventTime": now,
                "eventName": name,
                "userIdentity": {"principalId": "EXAMPLE"},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {"x-amz-request-id": id, "x-amz-id-2": "EXAMPLE"},
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": entry.map_or("sample", |e| e.id.as_str()),
                    "bucket": {
                        "name": bucket,
                        "ownerIdentity": {"principalId": "EXAMPLE"},
                        "arn": format!("arn:{partition}:s3:::{bucket}")
                    },
                    "object": {"key": object, "size": 1024, "eTag": "0123456789abcdef0123456789abcdef", "sequencer": "0A1B2C3D4E5F678901"}
                }
            }]})
        }
        "dynamodb" => {
            let stream = source(d, key, "dynamodb")
                .unwrap_or_else(|| arn("dynamodb", "table/sample/stream/2026-01-01T00:00:00.000"));
            json!({"Records": [{
                "eventID": id,
                "eventName": "INSERT",
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": region,
                "dynamodb": {
                    "ApproximateCreationDateTime": 1700000000,
                    "Keys": {"id": {"S": "1"}},
                    "NewImage": {"id": {"S": "1"}},
                    "SequenceNumber": "111",
                    "SizeBytes": 26,
                    "StreamViewType": "NEW_AND_OLD_IMAGES"
                },
                "eventSourceARN": stream
            }]})
        }
        "kinesis" => {
            let stream =
                source(d, key, "kinesis").unwrap_or_else(|| arn("kinesis", "stream/sample"));
            json!({"Records": [{
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": "1",
                    "sequenceNumber": "49590338271490256608559692538361571095921575989136588898",
                    // base64 of {"sample":true}
                    "data": "eyJzYW1wbGUiOnRydWV9",
                    "approximateArrivalTimestamp": 1700000000.0
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": format!("shardId-000000000000:{id}"),
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": format!("arn:{partition}:iam::{ACCOUNT}:role/sample"),
                "awsRegion": region,
                "eventSourceARN": stream
            }]})
        }
        "websocket:connect" | "websocket:message" | "websocket:disconnect" => {
            use crate::local::gateway::websocket::{EventType, Frame, event};
            let (kind, special) = match kind {
                "websocket:connect" => (EventType::Connect, "$connect"),
                "websocket:message" => (EventType::Message, "$default"),
                _ => (EventType::Disconnect, "$disconnect"),
            };
            let api = d.websocket.as_ref();
            // A message goes to one of the function's own routes, as a client would select it.
            let route = match kind {
                EventType::Message => api
                    .and_then(|a| {
                        a.routes
                            .iter()
                            .find(|(r, w)| w.function == key && !r.starts_with('$'))
                    })
                    .map_or(special, |(r, _)| r.as_str()),
                EventType::Connect | EventType::Disconnect => special,
            };
            let field = api
                .and_then(|a| a.route_selection.strip_prefix("$request.body."))
                .unwrap_or("action");
            let body = json!({ field: route, "sample": true }).to_string();
            let headers = std::collections::BTreeMap::from([
                (
                    "Host".to_string(),
                    "sample.execute-api.amazonaws.com".to_string(),
                ),
                ("Sec-WebSocket-Version".to_string(), "13".to_string()),
            ]);
            let domain = format!("sample.execute-api.{region}.amazonaws.com");
            event(&Frame {
                kind,
                route,
                connection_id: "c2FtcGxlLWNvbm4=",
                stage: &d.stage,
                domain: &domain,
                connected_at: 1_700_000_000_000,
                headers: &headers,
                query: &Default::default(),
                body: Some(&body),
            })
        }
        "alb" => {
            let group = d.target_groups.iter().find(|t| t.function == key);
            let rule =
                group.and_then(|g| d.listener_rules.iter().find(|r| r.target_group == g.name));
            let values = |field: &str| {
                rule.and_then(|r| r.conditions.iter().find(|c| c.field == field))
                    .and_then(|c| c.values.first().cloned())
            };
            let path = values("path-pattern")
                .map(|p| p.replace('*', "sample").replace('?', "x"))
                .unwrap_or_else(|| "/".into());
            let method = values("http-request-method").unwrap_or_else(|| "GET".into());
            let name = group.map_or("sample", |g| g.name.as_str());
            let mut e = json!({
                "requestContext": {"elb": {"targetGroupArn": arn("elasticloadbalancing", &format!("targetgroup/{name}/0123456789abcdef"))}},
                "httpMethod": method,
                "path": path,
                "body": "",
                "isBase64Encoded": false
            });
            let headers = [
                ("host", "sample.example.com"),
                ("user-agent", "sls"),
                ("x-forwarded-for", "127.0.0.1"),
                ("x-forwarded-proto", "https"),
            ];
            if group.is_some_and(|g| g.multi_value) {
                let multi: serde_json::Map<String, Value> = headers
                    .iter()
                    .map(|(k, v)| (k.to_string(), json!([v])))
                    .collect();
                e["multiValueHeaders"] = Value::Object(multi);
                e["multiValueQueryStringParameters"] = json!({});
            } else {
                let single: serde_json::Map<String, Value> = headers
                    .iter()
                    .map(|(k, v)| (k.to_string(), json!(v)))
                    .collect();
                e["headers"] = Value::Object(single);
                e["queryStringParameters"] = json!({});
            }
            e
        }
        "cognito" => {
            let found = d.user_pools.iter().find_map(|p| {
                p.triggers
                    .iter()
                    .find(|(_, f)| *f == key)
                    .map(|(t, _)| (p.name.clone(), t.clone()))
            });
            let (pool, trigger) = found.unwrap_or_else(|| ("sample".into(), "PreSignUp".into()));
            // The trigger source Cognito names each trigger's commonest call by.
            let source = match trigger.as_str() {
                "PreSignUp" => "PreSignUp_SignUp".to_string(),
                "PostConfirmation" => "PostConfirmation_ConfirmSignUp".into(),
                "PreTokenGeneration" => "TokenGeneration_Authentication".into(),
                "CustomMessage" => "CustomMessage_SignUp".into(),
                "CustomSMSSender" | "CustomEmailSender" => format!("{trigger}_SignUp"),
                other => format!("{other}_Authentication"),
            };
            json!({
                "version": "1",
                "region": region,
                "userPoolId": format!("{region}_{pool}"),
                "userName": "sample-user",
                "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": "sample-client"},
                "triggerSource": source,
                "request": {"userAttributes": {"email": "user@example.com", "sub": id}},
                "response": {}
            })
        }
        "msk" | "kafka" => {
            let managed = kind == "msk";
            let m = d.mappings.iter().find(|m| {
                m.function == key
                    && if managed {
                        m.kind == crate::plan::event_source::SourceKind::Kafka
                    } else {
                        m.kind == crate::plan::event_source::SourceKind::SelfManagedKafka
                    }
            });
            let topic = m
                .and_then(|m| m.target.clone())
                .unwrap_or_else(|| "sample-topic".into());
            // base64 of {"sample":true}
            let record = json!({
                "topic": topic, "partition": 0, "offset": 0, "timestamp": 1_700_000_000_000u64,
                "timestampType": "CREATE_TIME", "key": "a2V5", "value": "eyJzYW1wbGUiOnRydWV9", "headers": []
            });
            let records = json!({ format!("{topic}-0"): [record] });
            if managed {
                json!({
                    "eventSource": "aws:kafka",
                    "eventSourceArn": m.map_or_else(|| arn("kafka", "cluster/sample/0000"), |m| m.source.clone()),
                    "bootstrapServers": "b-1.sample.kafka.amazonaws.com:9092",
                    "records": records
                })
            } else {
                let servers = m
                    .map(|m| crate::plan::event_source::bootstrap_servers(&m.source).join(","))
                    .unwrap_or_else(|| "localhost:9092".into());
                json!({"eventSource": "SelfManagedKafka", "bootstrapServers": servers, "records": records})
            }
        }
        "rabbitmq" | "activemq" => {
            let m = d
                .mappings
                .iter()
                .find(|m| m.function == key && m.kind == crate::plan::event_source::SourceKind::Mq);
            let broker = m.map_or_else(|| arn("mq", "broker:sample:b-0000"), |m| m.source.clone());
            let queue = m
                .and_then(|m| m.target.clone())
                .unwrap_or_else(|| "sample-queue".into());
            if kind == "rabbitmq" {
                let host = m
                    .and_then(|m| m.settings.access.iter().find(|(t, _)| t == "VIRTUAL_HOST"))
                    .map_or("/", |(_, h)| h.as_str());
                json!({
                    "eventSource": "aws:rmq",
                    "eventSourceArn": broker,
                    "rmqMessagesByQueue": { format!("{queue}::{host}"): [{
                        "basicProperties": {"contentType": "application/json", "deliveryMode": 1, "headers": {}},
                        "redelivered": false,
                        "data": "eyJzYW1wbGUiOnRydWV9"
                    }]}
                })
            } else {
                json!({
                    "eventSource": "aws:mq",
                    "eventSourceArn": broker,
                    "messages": [{
                        "messageID": format!("ID:sample-{id}"),
                        "messageType": "jms/text-message",
                        "deliveryMode": 1,
                        "timestamp": 1_700_000_000_000u64,
                        "data": "eyJzYW1wbGUiOnRydWV9",
                        "destination": {"physicalName": queue},
                        "redelivered": false
                    }]
                })
            }
        }
        other => {
            return Err(format!(
                "unknown event kind `{other}`; one of {}",
                KINDS.join(", ")
            ));
        }
    };
    Ok(event)
}

/// The function's mapping source of a service (`sqs`, `dynamodb`, `kinesis`), if it has one.
fn source(d: &Desired, key: &str, service: &str) -> Option<String> {
    d.mappings
        .iter()
        .find(|m| m.function == key && m.source.split(':').nth(2) == Some(service))
        .map(|m| m.source.clone())
}
