//! `sls adopt` against stacks the real Serverless v3 made: `serverless package` (pinned v3, fake
//! credentials) builds the templates and the artifact, and the test deploys them the way v3 does
//! (create stack, artifact into its bucket, update stack) on MiniStack, whose CloudFormation
//! honours `DeletionPolicy: Retain` on a resource an update removes (moto's deletes it) and whose
//! API Gateway runs the functions, so the route can be called between the steps.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU32;

use common::faults::Faults;
use common::ministack::MiniStack;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The fixture service with `extra` more functions, packaged by Serverless v3 for `stage`.
fn v3_packaged_with(stage: &str, extra: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let fixture = common::root().join("tests/fixtures/adopt");
    std::fs::copy(fixture.join("handler.js"), dir.path().join("handler.js")).unwrap();
    let yaml = std::fs::read_to_string(fixture.join("serverless.yml")).unwrap();
    let more: String = (0..extra)
        .map(|i| format!("  more{i}:\n    handler: handler.tick\n"))
        .collect();
    std::fs::write(
        dir.path().join("serverless.yml"),
        yaml.replace("resources:\n", &format!("{more}resources:\n")),
    )
    .unwrap();
    let bin = common::root().join("target/test-tools/serverless3/node_modules/.bin/serverless");
    assert!(
        bin.exists(),
        "Serverless v3 not found at {}: run scripts/test, which installs the pinned serverless@3 into target/test-tools",
        bin.display()
    );
    let home = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(&bin)
        .args(["package", "--stage", stage])
        .current_dir(dir.path())
        .env("HOME", home.path())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("SLS_TELEMETRY_DISABLED", "1")
        .env("SLS_NOTIFICATIONS_MODE", "off")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "serverless package: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

async fn settled(cfn: &aws_sdk_cloudformation::Client, name: &str) -> String {
    for _ in 0..100 {
        let s = cfn.describe_stacks().stack_name(name).send().await.unwrap();
        let status = s.stacks()[0].stack_status().unwrap().as_str().to_string();
        if !status.ends_with("_IN_PROGRESS") {
            return status;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("stack {name} still in progress");
}

/// Deploys the packaged service as Serverless v3 does; returns the stack's outputs.
fn v3_deploy(ms: &MiniStack, dir: &Path, stage: &str) -> BTreeMap<String, String> {
    let read = |f: &str| std::fs::read_to_string(dir.join(".serverless").join(f)).unwrap();
    rt().block_on(async {
        let cfg = ms.sdk().await;
        let cfn = aws_sdk_cloudformation::Client::new(&cfg);
        let name = format!("adopt-me-{stage}");
        let caps = [
            aws_sdk_cloudformation::types::Capability::CapabilityIam,
            aws_sdk_cloudformation::types::Capability::CapabilityNamedIam,
        ];
        cfn.create_stack()
            .stack_name(&name)
            .template_body(read("cloudformation-template-create-stack.json"))
            .set_capabilities(Some(caps.to_vec()))
            .send()
            .await
            .unwrap();
        assert_eq!(settled(&cfn, &name).await, "CREATE_COMPLETE");
        let outputs =
            |s: &aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput| {
                s.stacks()[0]
                    .outputs()
                    .iter()
                    .map(|o| {
                        (
                            o.output_key().unwrap().to_string(),
                            o.output_value().unwrap().to_string(),
                        )
                    })
                    .collect::<BTreeMap<_, _>>()
            };
        let created = cfn
            .describe_stacks()
            .stack_name(&name)
            .send()
            .await
            .unwrap();
        let bucket = outputs(&created)["ServerlessDeploymentBucketName"].clone();
        let update: serde_json::Value =
            serde_json::from_str(&read("cloudformation-template-update-stack.json")).unwrap();
        let key = update["Resources"]["ApiLambdaFunction"]["Properties"]["Code"]["S3Key"]
            .as_str()
            .unwrap()
            .to_string();
        let zip = std::fs::read(dir.join(".serverless/adopt-me.zip")).unwrap();
        aws_sdk_s3::Client::new(&cfg)
            .put_object()
            .bucket(&bucket)
            .key(&key)
            .body(zip.into())
            .send()
            .await
            .unwrap();
        // As v3 does, a template over CloudFormation's inline limit goes through the bucket.
        let body = update.to_string();
        let call = cfn.update_stack().stack_name(&name);
        let call = if body.len() > 51_200 {
            let key = format!("serverless/adopt-me/{stage}/compiled-cloudformation-template.json");
            aws_sdk_s3::Client::new(&cfg)
                .put_object()
                .bucket(&bucket)
                .key(&key)
                .body(body.into_bytes().into())
                .send()
                .await
                .unwrap();
            call.template_url(format!("https://s3.us-east-1.amazonaws.com/{bucket}/{key}"))
        } else {
            call.template_body(body)
        };
        call.set_capabilities(Some(caps.to_vec()))
            .send()
            .await
            .unwrap();
        assert_eq!(settled(&cfn, &name).await, "UPDATE_COMPLETE");
        outputs(
            &cfn.describe_stacks()
                .stack_name(&name)
                .send()
                .await
                .unwrap(),
        )
    })
}

/// What must hold before, between and after every step: the same functions answer on the same
/// API, and the table keeps its item.
struct Service {
    stage: String,
    http_api: String,
    arns: Vec<String>,
}

impl Service {
    fn deployed(ms: &MiniStack, stage: &str) -> (Service, tempfile::TempDir) {
        Service::deployed_with(ms, stage, 0)
    }

    fn deployed_with(ms: &MiniStack, stage: &str, extra: usize) -> (Service, tempfile::TempDir) {
        let dir = v3_packaged_with(stage, extra);
        let outputs = v3_deploy(ms, dir.path(), stage);
        let s = Service {
            stage: stage.to_string(),
            http_api: outputs["HttpApiId"].clone(),
            arns: arns(ms, stage),
        };
        ms.call(
            "dynamodb",
            "DynamoDB_20120810.PutItem",
            &format!(r#"{{"TableName":"adopt-me-{stage}-items","Item":{{"id":{{"S":"kept"}}}}}}"#),
        );
        s.holds(ms);
        (s, dir)
    }

    fn holds(&self, ms: &MiniStack) {
        let stage = &self.stage;
        let body = ms.http_api(&self.http_api, "/items");
        assert_eq!(body, format!("served by adopt-me-{stage}-api"));
        assert_eq!(arns(ms, stage), self.arns, "the functions were recreated");
        let item = ms.call(
            "dynamodb",
            "DynamoDB_20120810.GetItem",
            &format!(r#"{{"TableName":"adopt-me-{stage}-items","Key":{{"id":{{"S":"kept"}}}}}}"#),
        );
        assert!(item.contains("kept"), "the table lost its item: {item}");
    }
}

/// The functions' ARNs, each with whether v3's version 1 is still there: a recreated function
/// keeps its ARN (it is made of the name) but loses its versions.
fn arns(ms: &MiniStack, stage: &str) -> Vec<String> {
    rt().block_on(async {
        let lambda = aws_sdk_lambda::Client::new(&ms.sdk().await);
        let mut out = Vec::new();
        for f in ["api", "tick"] {
            let name = format!("adopt-me-{stage}-{f}");
            let got = lambda
                .get_function()
                .function_name(&name)
                .send()
                .await
                .unwrap();
            let versions = lambda
                .list_versions_by_function()
                .function_name(&name)
                .send()
                .await
                .unwrap();
            let v1 = versions.versions().iter().any(|v| v.version() == Some("1"));
            out.push(format!(
                "{} v1={v1}",
                got.configuration().unwrap().function_arn().unwrap()
            ));
        }
        out
    })
}

/// The logical ids the stack holds now (None: it is gone).
fn stack_resources(ms: &MiniStack, name: &str) -> Option<Vec<String>> {
    rt().block_on(async {
        let cfn = aws_sdk_cloudformation::Client::new(&ms.sdk().await);
        let listed = cfn
            .list_stack_resources()
            .stack_name(name)
            .send()
            .await
            .ok()?;
        let mut ids: Vec<String> = listed
            .stack_resource_summaries()
            .iter()
            .map(|r| r.logical_resource_id().unwrap().to_string())
            .collect();
        ids.sort();
        Some(ids)
    })
}

fn changing(doc: &serde_json::Value) -> u64 {
    doc["awsCalls"]["mutating"].as_u64().unwrap()
}

#[test]
fn a_v3_service_is_adopted_keeping_its_api_table_and_functions_and_then_deploys_as_announced() {
    let ms = MiniStack::start();
    let (svc, dir) = Service::deployed(&ms, "dev");
    let dir = dir.path();

    // The dry run shows every resource's fate and changes nothing.
    let dry = common::json_of(ms.sls(dir).args(["adopt", "--dry-run", "--json"]));
    let fate = |id: &str| {
        dry["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["logicalId"] == id)
            .unwrap_or_else(|| panic!("{id} not in {dry:#}"))["fate"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(fate("HttpApi"), "takenOver");
    assert_eq!(fate("ApiLambdaFunction"), "takenOver");
    assert_eq!(fate("HttpApiRouteGetItems"), "part");
    assert_eq!(fate("ApiLambdaPermissionHttpApi"), "replaced");
    assert_eq!(fate("TickEventSourceMappingSQSJobsQueue"), "replaced");
    assert_eq!(fate("ItemsTable"), "stays");
    assert_eq!(fate("ServerlessDeploymentBucket"), "kept");
    assert_eq!(changing(&dry), 0, "{dry:#}");
    assert_eq!(stack_resources(&ms, "adopt-me-dev").unwrap().len(), 24);

    // Before adopting, a deploy refuses and says what to do instead of "remove it yourself".
    let refused = ms.sls(dir).args(["deploy"]).assert().code(6);
    let err = String::from_utf8_lossy(&refused.get_output().stderr).to_string();
    assert!(err.contains("sls adopt"), "{err}");
    assert!(!err.contains("remove it yourself"), "{err}");

    let adopted = common::json_of(ms.sls(dir).args(["adopt", "--json"]));
    assert!(
        !adopted["steps"].as_array().unwrap().is_empty(),
        "{adopted:#}"
    );
    svc.holds(&ms);
    // The stack keeps the user's resources only, and is sls's side stack from now on.
    assert_eq!(
        stack_resources(&ms, "adopt-me-dev").unwrap(),
        ["ItemsTable", "JobsQueue"]
    );

    // The first deploy changes what the adoption announced, on the same API; the second nothing.
    let first = common::json_of(ms.sls(dir).args(["deploy", "--json"]));
    let actions: Vec<&str> = first["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["action"].as_str())
        .collect();
    for never in [
        "createFunction",
        "createHttpApi",
        "createRestApi",
        "createRole",
    ] {
        assert!(!actions.contains(&never), "{never} in {actions:?}");
    }
    assert!(actions.contains(&"deleteLeftovers"), "{actions:?}");
    // The adoption wrote the side stack's template as sls would: nothing to change there.
    let stack_steps = first["stack"]["steps"].as_array().unwrap();
    assert!(stack_steps.is_empty(), "{stack_steps:?}");
    let endpoints = first["endpoints"].to_string();
    assert!(endpoints.contains(&svc.http_api), "{endpoints}");
    svc.holds(&ms);
    let second = common::json_of(ms.sls(dir).args(["deploy", "--json"]));
    assert_eq!(changing(&second), 0, "{second:#}");

    // v3's rule and mapping are gone, sls's serve instead.
    rt().block_on(async {
        let cfg = ms.sdk().await;
        let rules = aws_sdk_eventbridge::Client::new(&cfg)
            .list_rules()
            .name_prefix("adopt-me-dev-")
            .send()
            .await
            .unwrap();
        let names: Vec<&str> = rules.rules().iter().filter_map(|r| r.name()).collect();
        assert_eq!(names, ["adopt-me-dev-tick-schedule-1"]);
    });

    // Adopting again has nothing to do.
    let again = common::stdout(ms.sls(dir).args(["adopt"]));
    assert!(again.contains("was adopted already"), "{again}");

    // A removal removes what sls owns now, the side stack among it, and forgets the adoption;
    // v3's deployment bucket, never sls's, stays.
    ms.sls(dir).args(["remove"]).assert().success();
    // (MiniStack lists a deleted stack's resources as none; AWS says it does not exist.)
    let left = stack_resources(&ms, "adopt-me-dev").unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
    rt().block_on(async {
        let cfg = ms.sdk().await;
        let lambda = aws_sdk_lambda::Client::new(&cfg);
        let gone = lambda
            .get_function()
            .function_name("adopt-me-dev-api")
            .send()
            .await;
        assert!(gone.is_err(), "{gone:?}");
        let ssm = aws_sdk_ssm::Client::new(&cfg);
        let record = ssm
            .get_parameter()
            .name("/sls/adopt-me/dev/adoption")
            .send()
            .await;
        assert!(record.is_err(), "{record:?}");
        let buckets = aws_sdk_s3::Client::new(&cfg)
            .list_buckets()
            .send()
            .await
            .unwrap();
        assert!(
            buckets.buckets().iter().any(|b| b
                .name()
                .unwrap()
                .starts_with("adopt-me-dev-serverlessdeploymentbucket")),
            "{buckets:?}"
        );
    });
}

#[test]
fn an_adoption_killed_after_any_request_keeps_the_service_answering_and_converges_when_run_again() {
    let ms = MiniStack::start();
    // A clean run counts the requests an adoption makes.
    let (svc, dir) = Service::deployed(&ms, "count");
    let counter = Faults::delayed(ms.port, std::time::Duration::ZERO);
    let pid = AtomicU32::new(0);
    assert_eq!(
        counter.run_sls(dir.path(), &ms.env(), &["adopt", "--stage", "count"], &pid),
        Some(0)
    );
    let total = counter.requests();
    assert!(total > 10, "{total}");
    svc.holds(&ms);
    let full = std::env::var("SLS_SWEEP").is_ok_and(|v| v == "full");
    let step = if full { 1 } else { (total / 6).max(1) };
    for k in (1..total).step_by(step) {
        let stage = format!("k{k}");
        let (svc, dir) = Service::deployed(&ms, &stage);
        let pid = Arc::new(AtomicU32::new(0));
        let killer = Faults::kill_after(ms.port, k, pid.clone());
        let code = killer.run_sls(dir.path(), &ms.env(), &["adopt", "--stage", &stage], &pid);
        assert_eq!(code, None, "k={k}: adopt was not killed");
        // Between the steps: the same functions answer on the same API, the item is there,
        // and a deploy either refuses pointing to `sls adopt` or (the adoption's last record
        // written) plans on the adopted stage.
        svc.holds(&ms);
        let dry = ms
            .sls(dir.path())
            .args(["deploy", "--dry-run", "--stage", &stage])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&dry.stderr);
        match dry.status.code() {
            Some(0) => {}
            Some(6) => assert!(err.contains("sls adopt"), "k={k}: {err}"),
            other => panic!("k={k}: deploy --dry-run ended {other:?}: {err}"),
        }
        ms.sls(dir.path())
            .args(["adopt", "--stage", &stage])
            .assert()
            .success();
        svc.holds(&ms);
        let name = format!("adopt-me-{stage}");
        assert_eq!(
            stack_resources(&ms, &name).unwrap(),
            ["ItemsTable", "JobsQueue"],
            "k={k}"
        );
        let doc = common::json_of(
            ms.sls(dir.path())
                .args(["deploy", "--json", "--stage", &stage]),
        );
        assert!(doc["awsCalls"]["total"].as_u64().unwrap() > 0, "k={k}");
        svc.holds(&ms);
        let again = common::json_of(
            ms.sls(dir.path())
                .args(["deploy", "--json", "--stage", &stage]),
        );
        assert_eq!(changing(&again), 0, "k={k}: {again:#}");
    }
}

#[test]
fn stacks_sls_cannot_adopt_are_refused_before_any_change() {
    let ms = MiniStack::start();
    let dir = tempfile::tempdir().unwrap();
    let fixture = common::root().join("tests/fixtures/adopt");
    for f in ["serverless.yml", "handler.js"] {
        std::fs::copy(fixture.join(f), dir.path().join(f)).unwrap();
    }
    // No stack at all.
    let out = ms.sls(dir.path()).args(["adopt"]).assert().code(10);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains("no CloudFormation stack adopt-me-dev"),
        "{err}"
    );
    // A stack of that name that Serverless v3 did not make.
    rt().block_on(async {
        let cfn = aws_sdk_cloudformation::Client::new(&ms.sdk().await);
        cfn.create_stack()
            .stack_name("adopt-me-dev")
            .template_body(
                r#"{"Resources":{"Q":{"Type":"AWS::SQS::Queue","Properties":{"QueueName":"someone-elses"}}}}"#,
            )
            .send()
            .await
            .unwrap();
        settled(&cfn, "adopt-me-dev").await;
    });
    let out = ms.sls(dir.path()).args(["adopt"]).assert().code(10);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("was not made by Serverless v3"), "{err}");
    assert_eq!(stack_resources(&ms, "adopt-me-dev").unwrap(), ["Q"]);
    let template = rt().block_on(async {
        let cfn = aws_sdk_cloudformation::Client::new(&ms.sdk().await);
        let t = cfn
            .get_template()
            .stack_name("adopt-me-dev")
            .send()
            .await
            .unwrap();
        t.template_body().unwrap().to_string()
    });
    assert!(!template.contains("Retain"), "{template}");
}

#[test]
fn a_stack_whose_template_is_over_the_inline_limit_is_adopted_through_its_bucket() {
    let ms = MiniStack::start();
    // 45 more functions: v3's template is then over CloudFormation's 51,200-byte inline limit.
    let (svc, dir) = Service::deployed_with(&ms, "big", 45);
    let template = std::fs::read_to_string(
        dir.path()
            .join(".serverless/cloudformation-template-update-stack.json"),
    )
    .unwrap();
    assert!(template.len() > 51_200, "{}", template.len());
    ms.sls(dir.path())
        .args(["adopt", "--stage", "big"])
        .assert()
        .success();
    svc.holds(&ms);
    assert_eq!(
        stack_resources(&ms, "adopt-me-big").unwrap(),
        ["ItemsTable", "JobsQueue"]
    );
}
