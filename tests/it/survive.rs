//! Interruptions attacked one AWS request at a time: `deploy`, `remove` and `alias promote
//! --steps` killed (SIGKILL) right after AWS carried out their k-th request and then run again
//! must converge — AWS's view equal to a clean run's, nothing duplicated, nothing owned left
//! behind, a following deploy with no changing call — and creates whose answer is lost must
//! not make a second resource.
//!
//! The lost answers: every create a deploy sends, carried out by AWS and answered with a 500
//! instead of its answer, must be found again, not made twice.
//!
//! The sweeps sample k evenly across a full run (about a dozen kills each); `SLS_SWEEP=full`
//! kills at every request instead (minutes: for the notes, not for CI).

use crate::common;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU32;

use common::faults::Faults;
use common::moto::Moto;

const SERVICE: &str = "service: sweep
provider:
  name: aws
  runtime: nodejs22.x
  httpApi:
    cors: true
  iam:
    role:
      statements:
        - Effect: Allow
          Action: [dynamodb:GetItem]
          Resource: !GetAtt Table.Arn
functions:
  api:
    handler: h.api
    layers:
      - Ref: SharedLambdaLayer
    events:
      - httpApi: 'GET /a'
      - http: POST b
  worker:
    handler: h.worker
    events:
      - sqs:
          arn: !GetAtt Queue.Arn
      - schedule: rate(1 day)
custom:
  customDomain:
    domainName: sweep-${sls:stage}.example.com
    basePath: a
    apiType: http
    endpointType: regional
    # moto's v2 domains have no target to alias records to; REST domains (whose records moto can
    # hold) are not swept because moto answers 500 for the mappings of a domain never mapped,
    # the state a kill between the domain's create and its mapping's leaves (AWS answers none).
    createRoute53Record: false
layers:
  shared:
    path: layer
    name: sweep-${sls:stage}-shared
    allowedAccounts: ['111122223333']
resources:
  Resources:
    Queue:
      Type: AWS::SQS::Queue
      Properties:
        QueueName: sweep-${sls:stage}-queue
    Table:
      Type: AWS::DynamoDB::Table
      Properties:
        TableName: sweep-${sls:stage}-table
        BillingMode: PAY_PER_REQUEST
        AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
        KeySchema: [{AttributeName: id, KeyType: HASH}]
";

/// moto, with what the sweep service's custom domain needs: a certificate and a hosted zone.
fn start() -> Moto {
    let moto = Moto::start();
    rt().block_on(async {
        let cfg = moto.sdk().await;
        aws_sdk_acm::Client::new(&cfg)
            .request_certificate()
            .domain_name("*.example.com")
            .send()
            .await
            .unwrap();
        aws_sdk_route53::Client::new(&cfg)
            .create_hosted_zone()
            .name("example.com")
            .caller_reference("sweep")
            .send()
            .await
            .unwrap();
    });
    moto
}

fn service(generation: u32) -> tempfile::TempDir {
    let dir = common::service(SERVICE);
    code(dir.path(), generation);
    std::fs::create_dir_all(dir.path().join("layer/nodejs")).unwrap();
    std::fs::write(
        dir.path().join("layer/nodejs/shared.js"),
        "exports.x = 1;\n",
    )
    .unwrap();
    dir
}

fn code(dir: &Path, generation: u32) {
    std::fs::write(
        dir.join("h.js"),
        format!(
            "exports.api = async () => 'api{generation}';\nexports.worker = async () => 'worker{generation}';\n"
        ),
    )
    .unwrap();
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Runs `sls ARGS --json` straight at moto; it must succeed.
fn json(moto: &Moto, dir: &Path, args: &[&str]) -> serde_json::Value {
    common::json_of(moto.sls(dir).args(args).arg("--json"))
}

fn mutating(doc: &serde_json::Value) -> u64 {
    doc["awsCalls"]["mutating"].as_u64().unwrap()
}

/// What AWS holds for one stage, as sorted lines without the ids AWS chose and with the stage
/// written `STAGE`: every function with its code, versions, aliases and grants; every API with
/// its routes, integrations and stages; rules, event source mappings, roles, log groups, stacks
/// and the lease. Two runs that converged give equal views; a duplicate shows as a second line.
async fn view(moto: &Moto, stage: &str) -> Vec<String> {
    let cfg = moto.sdk().await;
    let mut out = Vec::new();
    let lambda = aws_sdk_lambda::Client::new(&cfg);
    // One moto serves every stage of a sweep: read every page, or ask for this stage's names.
    let functions: Vec<_> = lambda
        .list_functions()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<_, _>>()
        .await
        .unwrap();
    for f in &functions {
        let name = f.function_name().unwrap();
        let layers: Vec<&str> = f.layers().iter().filter_map(|l| l.arn()).collect();
        out.push(format!(
            "function {name} {} {} sha={} layers={layers:?}",
            f.handler().unwrap_or_default(),
            f.role().unwrap_or_default().rsplit('/').next().unwrap(),
            f.code_sha256().unwrap_or_default()
        ));
        let versions = lambda
            .list_versions_by_function()
            .function_name(name)
            .send()
            .await
            .unwrap();
        for v in versions.versions() {
            out.push(format!(
                "version {name}:{} sha={}",
                v.version().unwrap(),
                v.code_sha256().unwrap_or_default()
            ));
        }
        let aliases = lambda
            .list_aliases()
            .function_name(name)
            .send()
            .await
            .unwrap();
        for a in aliases.aliases() {
            let alias = a.name().unwrap();
            // No routing config and an empty one are the same: all traffic on the version.
            let weights: std::collections::BTreeMap<_, _> = a
                .routing_config()
                .and_then(|r| r.additional_version_weights())
                .into_iter()
                .flatten()
                .collect();
            out.push(format!(
                "alias {name}:{alias} -> {} weights={weights:?}",
                a.function_version().unwrap(),
            ));
            if let Ok(p) = lambda
                .get_policy()
                .function_name(name)
                .qualifier(alias)
                .send()
                .await
            {
                let doc: serde_json::Value =
                    serde_json::from_str(p.policy().unwrap_or("{}")).unwrap();
                for s in doc["Statement"].as_array().into_iter().flatten() {
                    out.push(format!("grant {name}:{alias} {}", s["Sid"]));
                }
            }
        }
        let mappings = lambda
            .list_event_source_mappings()
            .function_name(name)
            .send()
            .await
            .unwrap();
        for m in mappings.event_source_mappings() {
            out.push(format!(
                "mapping {name} <- {}",
                m.event_source_arn().unwrap_or_default()
            ));
        }
    }
    let v2 = aws_sdk_apigatewayv2::Client::new(&cfg);
    for api in v2
        .get_apis()
        .max_results("500")
        .send()
        .await
        .unwrap()
        .items()
    {
        let (id, name) = (api.api_id().unwrap(), api.name().unwrap());
        out.push(format!("httpApi {name}"));
        for r in v2.get_routes().api_id(id).send().await.unwrap().items() {
            out.push(format!("route {name} {}", r.route_key().unwrap()));
        }
        for i in v2
            .get_integrations()
            .api_id(id)
            .send()
            .await
            .unwrap()
            .items()
        {
            out.push(format!(
                "integration {name} {}",
                i.integration_uri().unwrap_or_default()
            ));
        }
        for s in v2.get_stages().api_id(id).send().await.unwrap().items() {
            out.push(format!("stage {name} {}", s.stage_name().unwrap()));
        }
    }
    let v1 = aws_sdk_apigateway::Client::new(&cfg);
    for api in v1.get_rest_apis().limit(500).send().await.unwrap().items() {
        let (id, name) = (api.id().unwrap(), api.name().unwrap());
        out.push(format!("restApi {name}"));
        for r in v1
            .get_resources()
            .rest_api_id(id)
            .send()
            .await
            .unwrap()
            .items()
        {
            let methods: Vec<_> = r
                .resource_methods()
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default();
            out.push(format!("resource {name} {} {methods:?}", r.path().unwrap()));
        }
        for s in v1.get_stages().rest_api_id(id).send().await.unwrap().item() {
            out.push(format!("stage {name} {}", s.stage_name().unwrap()));
        }
    }
    let events = aws_sdk_eventbridge::Client::new(&cfg);
    let rules = events
        .list_rules()
        .name_prefix(format!("sweep-{stage}-"))
        .send()
        .await
        .unwrap();
    for rule in rules.rules() {
        let name = rule.name().unwrap();
        out.push(format!(
            "rule {name} {}",
            rule.schedule_expression().unwrap_or_default()
        ));
        for t in events
            .list_targets_by_rule()
            .rule(name)
            .send()
            .await
            .unwrap()
            .targets()
        {
            out.push(format!("target {name} {}", t.arn()));
        }
    }
    let iam = aws_sdk_iam::Client::new(&cfg);
    let roles: Vec<_> = iam
        .list_roles()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<_, _>>()
        .await
        .unwrap();
    for role in &roles {
        let name = role.role_name();
        if name.starts_with("sweep") {
            out.push(format!("role {name}"));
            for p in iam
                .list_role_policies()
                .role_name(name)
                .send()
                .await
                .unwrap()
                .policy_names()
            {
                out.push(format!("rolePolicy {name} {p}"));
            }
        }
    }
    let logs = aws_sdk_cloudwatchlogs::Client::new(&cfg);
    let groups = logs
        .describe_log_groups()
        .log_group_name_prefix(format!("/aws/lambda/sweep-{stage}-"))
        .send()
        .await
        .unwrap();
    for g in groups.log_groups() {
        out.push(format!(
            "logGroup {} {:?}",
            g.log_group_name().unwrap(),
            g.retention_in_days()
        ));
    }
    let cfn = aws_sdk_cloudformation::Client::new(&cfg);
    let stacks = cfn
        .describe_stacks()
        .stack_name(format!("sweep-{stage}-sls-resources"))
        .send()
        .await;
    for s in stacks.iter().flat_map(|s| s.stacks()) {
        out.push(format!(
            "stack {} {:?}",
            s.stack_name().unwrap(),
            s.stack_status().unwrap()
        ));
    }
    let domain = format!("sweep-{stage}.example.com");
    let gw = aws_sdk_apigatewayv2::Client::new(&cfg);
    if let Ok(d) = gw.get_domain_name().domain_name(&domain).send().await {
        let c = d.domain_name_configurations().first();
        out.push(format!(
            "domain {domain} cert={} tagged={}",
            c.and_then(|c| c.certificate_arn()).is_some(),
            d.tags().is_some_and(|t| t.contains_key("sls:service"))
        ));
        if let Ok(m) = gw.get_api_mappings().domain_name(&domain).send().await {
            for m in m.items() {
                out.push(format!(
                    "mapping {domain}/{} stage={}",
                    m.api_mapping_key().unwrap_or_default(),
                    m.stage().unwrap_or_default()
                ));
            }
        }
    }
    let r53 = aws_sdk_route53::Client::new(&cfg);
    let zones = r53.list_hosted_zones().send().await.unwrap();
    for z in zones.hosted_zones() {
        let sets = r53
            .list_resource_record_sets()
            .hosted_zone_id(z.id())
            .send()
            .await
            .unwrap();
        for r in sets.resource_record_sets() {
            if r.name().trim_end_matches('.') == domain {
                out.push(format!(
                    "record {domain} {} alias={}",
                    r.r#type().as_str(),
                    r.alias_target().is_some()
                ));
            }
        }
    }
    let layer = format!("sweep-{stage}-shared");
    let versions = lambda
        .list_layer_versions()
        .layer_name(&layer)
        .send()
        .await
        .unwrap();
    for v in versions.layer_versions() {
        let policy = lambda
            .get_layer_version_policy()
            .layer_name(&layer)
            .version_number(v.version())
            .send()
            .await
            .map(|p| p.policy().unwrap_or_default().contains("sls-111122223333"));
        out.push(format!(
            "layer {layer} version {} granted={policy:?}",
            v.version()
        ));
    }
    let record = aws_sdk_ssm::Client::new(&cfg)
        .get_parameter()
        .name(format!("/sls/sweep/{stage}/layers/{layer}"))
        .send()
        .await;
    if let Ok(r) = record {
        out.push(format!(
            "layerRecord {layer} {}",
            r.parameter().and_then(|p| p.value()).unwrap_or_default()
        ));
    }
    let lease = aws_sdk_ssm::Client::new(&cfg)
        .get_parameter()
        .name(format!("/sls/sweep/{stage}/lease"))
        .send()
        .await;
    if lease.is_ok() {
        out.push(format!("lease of {stage}"));
    }
    let mut out: Vec<String> = out
        .into_iter()
        .filter(|line| line.contains(stage))
        .map(|line| line.replace(stage, "STAGE"))
        .collect();
    out.sort();
    out
}

/// Fails with the lines that differ when a view is not the clean run's.
fn same(got: &[String], reference: &[String], when: &str) {
    let extra: Vec<_> = got.iter().filter(|l| !reference.contains(l)).collect();
    let missing: Vec<_> = reference.iter().filter(|l| !got.contains(l)).collect();
    assert!(
        got == reference,
        "{when}: AWS differs from a clean run\nmore than a clean run: {extra:#?}\nmissing: {missing:#?}\nwhole view: {got:#?}"
    );
}

/// One stage per run, so that one moto serves a whole sweep: names that no id can contain.
fn stage(k: usize) -> String {
    format!("kx{k:03}")
}

/// The ks to kill at: every one with `SLS_SWEEP=full`, else about a dozen spread over `1..=n`
/// with the first and the last.
fn ks(n: usize) -> Vec<usize> {
    if std::env::var("SLS_SWEEP").as_deref() == Ok("full") {
        return (1..=n).collect();
    }
    let mut ks: Vec<usize> = (1..=n).step_by((n / 11).max(1)).collect();
    if ks.last() != Some(&n) {
        ks.push(n);
    }
    ks
}

/// Kills `args` (run with `--stage`) after each k, runs it again — it must succeed at once —
/// and checks the view against a clean run's. `prepare` sets up a service directory deployed as
/// the command needs, for the stage given; `after` checks more after each run.
fn sweep(
    what: &str,
    prepare: &dyn Fn(&Moto, &str) -> tempfile::TempDir,
    args: &[&str],
    after: &dyn Fn(&Moto, &Path, &str),
) -> usize {
    let moto = start();
    let with_stage = |stage: &str| -> Vec<String> {
        let mut v: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        v.extend(["--stage".to_string(), stage.to_string()]);
        v
    };
    // The reference: the same command, uninterrupted, through a proxy that only counts.
    let clean = stage(0);
    let dir = prepare(&moto, &clean);
    let counter = Faults::delayed(moto.port, std::time::Duration::ZERO);
    let pid = AtomicU32::new(0);
    let args0 = with_stage(&clean);
    let args0: Vec<&str> = args0.iter().map(String::as_str).collect();
    assert_eq!(
        counter.run_sls(dir.path(), &moto.env(), &args0, &pid),
        Some(0)
    );
    let n = counter.requests();
    after(&moto, dir.path(), &clean);
    let reference = rt().block_on(view(&moto, &clean));
    assert!(reference.len() > 3 || what == "remove", "{reference:#?}");
    println!("{what}: a clean run leaves {reference:#?}");

    let ks = ks(n);
    for &k in &ks {
        let stage = stage(k);
        let dir = prepare(&moto, &stage);
        let args = with_stage(&stage);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let pid = Arc::new(AtomicU32::new(0));
        let killer = Faults::kill_after(moto.port, k, pid.clone());
        let code = killer.run_sls(dir.path(), &moto.env(), &args, &pid);
        assert!(
            code.is_none() || killer.injected() == 0,
            "{what}: k={k}: a killed run exited with {code:?}"
        );
        let out = moto.sls(dir.path()).args(&args).output().unwrap();
        assert!(
            out.status.success(),
            "{what} killed after request {k} of {n} did not converge when run again:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        after(&moto, dir.path(), &stage);
        let got = rt().block_on(view(&moto, &stage));
        same(
            &got,
            &reference,
            &format!("{what} killed after request {k} of {n}, then run again"),
        );
    }
    println!("{what}: {n} requests in a full run; killed after {ks:?}; every re-run converged");
    ks.len()
}

/// After a deploy: a second one changes nothing.
fn no_op_after(moto: &Moto, dir: &Path, stage: &str) {
    assert_eq!(mutating(&json(moto, dir, &["deploy", "--stage", stage])), 0);
}

#[test]
fn a_first_deploy_killed_at_any_request_converges_when_run_again() {
    sweep("deploy", &|_, _| service(1), &["deploy"], &no_op_after);
}

#[test]
fn a_code_change_deploy_killed_at_any_request_converges_when_run_again() {
    sweep(
        "redeploy",
        &|moto, stage| {
            let dir = service(1);
            json(moto, dir.path(), &["deploy", "--stage", stage]);
            code(dir.path(), 2);
            dir
        },
        &["deploy"],
        &no_op_after,
    );
}

#[test]
fn a_remove_killed_at_any_request_leaves_nothing_once_run_again() {
    let left = sweep(
        "remove",
        &|moto, stage| {
            let dir = service(1);
            json(moto, dir.path(), &["deploy", "--stage", stage]);
            dir
        },
        &["remove"],
        &|_, _, _| {},
    );
    assert!(left > 1);
}

#[test]
fn a_gradual_promote_killed_at_any_request_ends_promoted_with_no_weight_left() {
    let promote = [
        "alias",
        "promote",
        "--from",
        "next",
        "--steps",
        "10,50,100",
        "--interval",
        "10ms",
    ];
    sweep(
        "promote --steps",
        &|moto, stage| {
            let dir = service(1);
            json(moto, dir.path(), &["deploy", "--stage", stage]);
            code(dir.path(), 2);
            json(
                moto,
                dir.path(),
                &["deploy", "--alias", "next", "--stage", stage],
            );
            dir
        },
        &promote,
        &|moto, _, stage| {
            let view = rt().block_on(view(moto, stage));
            for f in ["sweep-STAGE-api", "sweep-STAGE-worker"] {
                assert!(
                    view.contains(&format!("alias {f}:live -> 2 weights={{}}")),
                    "{view:#?}"
                );
            }
        },
    );
}

/// Every create (and put that makes something) a first deploy of the sweep service sends, by
/// the text that marks its request.
const CREATES: &[&str] = &[
    "AmazonSSM.PutParameter",
    "Action=CreateStack",
    "Action=CreateRole",
    "Action=PutRolePolicy",
    "Logs_20140328.CreateLogGroup",
    "POST /2018-10-31/layers/*/versions ",
    "POST /2018-10-31/layers/*/versions/*/policy",
    "POST /2015-03-31/functions ",
    "POST /2015-03-31/functions/*/versions",
    "POST /2015-03-31/functions/*/aliases",
    "POST /2015-03-31/functions/*/policy",
    "POST /2015-03-31/event-source-mappings",
    "POST /v2/apis ",
    "POST /v2/apis/*/integrations",
    "POST /v2/apis/*/routes",
    "POST /v2/apis/*/stages",
    "POST /restapis ",
    "POST /restapis/*/resources/",
    "PUT /restapis/*/methods/POST ",
    "PUT /restapis/*/integration ",
    "POST /restapis/*/deployments",
    "POST /v2/domainnames ",
    "POST /v2/domainnames/*/apimappings",
    "AWSEvents.PutRule",
    "AWSEvents.PutTargets",
];

#[test]
fn a_create_whose_answer_is_lost_is_found_again_not_made_twice() {
    let moto = start();
    let clean = stage(0);
    let dir = service(1);
    json(&moto, dir.path(), &["deploy", "--stage", &clean]);
    let reference = rt().block_on(view(&moto, &clean));
    let (mut lost, mut failed) = (Vec::new(), Vec::new());
    for (i, create) in CREATES.iter().enumerate() {
        let stage = stage(i + 1);
        let dir = service(1);
        let proxy = Faults::lose_answer(moto.port, create);
        let out = moto
            .sls(dir.path())
            .env("AWS_ENDPOINT_URL", &proxy.url)
            .args(["deploy", "--stage", &stage])
            .output()
            .unwrap();
        if proxy.injected() == 1 {
            lost.push(*create);
        }
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            failed.push(format!("{create}: {}", stderr.lines().last().unwrap_or("")));
            continue;
        }
        let got = rt().block_on(view(&moto, &stage));
        let extra: Vec<_> = got.iter().filter(|l| !reference.contains(l)).collect();
        if got != reference {
            failed.push(format!("{create}: more than a clean run: {extra:?}"));
            continue;
        }
        no_op_after(&moto, dir.path(), &stage);
    }
    assert!(failed.is_empty(), "{failed:#?}");
    assert_eq!(lost, CREATES, "some were not sent");
    println!("{} lost answers, no duplicate: {lost:?}", lost.len());
}

/// Look-alikes of every kind the sweep service deploys: our names, none of our tags (and the
/// log group Lambda would make for the worker, which is the user's until sls makes it).
async fn look_alikes(moto: &Moto, stage: &str) {
    let cfg = moto.sdk().await;
    let iam = aws_sdk_iam::Client::new(&cfg);
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let role = iam
        .create_role()
        .role_name(format!("sweep-{stage}-us-east-1-lambdaRole"))
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap();
    let zip = {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        w.start_file("h.js", zip::write::SimpleFileOptions::default())
            .unwrap();
        std::io::Write::write_all(&mut w, b"exports.api = async () => 'theirs';\n").unwrap();
        w.finish().unwrap().into_inner()
    };
    aws_sdk_lambda::Client::new(&cfg)
        .create_function()
        .function_name(format!("sweep-{stage}-api"))
        .runtime(aws_sdk_lambda::types::Runtime::Nodejs22x)
        .role(role.role().unwrap().arn())
        .handler("h.api")
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .zip_file(aws_sdk_lambda::primitives::Blob::new(zip))
                .build(),
        )
        .send()
        .await
        .unwrap();
    aws_sdk_apigatewayv2::Client::new(&cfg)
        .create_api()
        .name(format!("{stage}-sweep"))
        .protocol_type(aws_sdk_apigatewayv2::types::ProtocolType::Http)
        .send()
        .await
        .unwrap();
    aws_sdk_apigateway::Client::new(&cfg)
        .create_rest_api()
        .name(format!("{stage}-sweep"))
        .send()
        .await
        .unwrap();
    aws_sdk_eventbridge::Client::new(&cfg)
        .put_rule()
        .name(format!("sweep-{stage}-worker-schedule-1"))
        .schedule_expression("rate(2 days)")
        .send()
        .await
        .unwrap();
    aws_sdk_cloudwatchlogs::Client::new(&cfg)
        .create_log_group()
        .log_group_name(format!("/aws/lambda/sweep-{stage}-worker"))
        .send()
        .await
        .unwrap();
}

#[test]
fn look_alikes_of_every_kind_are_named_as_conflicts_and_survive_deploy_and_remove() {
    let moto = start();
    let stage = "kx900";
    rt().block_on(look_alikes(&moto, stage));
    let before = rt().block_on(view(&moto, stage));
    let dir = service(1);
    let (plan, _) = common::json_of_exit(
        moto.sls(dir.path())
            .args(["deploy", "--dry-run", "--json", "--stage", stage]),
        6,
    );
    let named = plan["error"]["message"].as_str().unwrap();
    for kind in [
        "IAM role sweep-kx900-us-east-1-lambdaRole",
        "Lambda function sweep-kx900-api",
        "HTTP API kx900-sweep",
        "REST API kx900-sweep",
        "EventBridge rule sweep-kx900-worker-schedule-1",
    ] {
        assert!(named.contains(kind), "{kind} is not named: {named}");
    }
    for _ in 0..2 {
        let (doc, _) = common::json_of_exit(
            moto.sls(dir.path())
                .args(["deploy", "--json", "--stage", stage]),
            6,
        );
        assert_eq!(doc["error"]["kind"], "conflict");
        same(
            &rt().block_on(view(&moto, stage)),
            &before,
            "after a refused deploy",
        );
    }
    moto.sls(dir.path())
        .args(["remove", "--stage", stage])
        .assert()
        .success();
    assert_eq!(
        rt().block_on(view(&moto, stage)),
        before,
        "a look-alike was removed"
    );
}
