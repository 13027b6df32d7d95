//! `resources:` as a side stack, CloudFormation functions outside it, and the variables that
//! read AWS (`ssm`, `cf`, `s3`, `aws:accountId`), against a moto server per test (moto runs
//! CloudFormation for DynamoDB, SQS, SNS, S3 and IAM). What a deploy did is checked through the
//! SDK.

use crate::common;

use std::path::Path;

use common::moto::Moto;
use serde_json::Value;

fn json(moto: &Moto, dir: &Path, args: &[&str]) -> Value {
    common::json_of(moto.sls(dir).args(args).arg("--json"))
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

const SERVICE: &str = "service: res
provider:
  name: aws
  runtime: nodejs22.x
  environment:
    TABLE: !Ref Table
    QUEUE_URL: !Ref Queue
    TOPIC: !Ref Topic
    BUCKET_ARN: !Sub 'arn:${AWS::Partition}:s3:::${Bucket}'
    SELF: !GetAtt HelloLambdaFunction.Arn
    NAME: ${ssm:/res/name}
    SECRET: ${ssm(raw):/res/secret}
    PASSWORD: ${ssm:/res/secret.pw, 'none'}
    NET: ${cf:net.TopicName}
    FROM_S3: ${s3:res-config/greeting.txt}
    ACCOUNT: ${aws:accountId}
  iam:
    role:
      statements:
        - Effect: Allow
          Action: [dynamodb:GetItem]
          Resource: !GetAtt Table.Arn
functions:
  hello:
    handler: handler.hello
    events:
      - sqs:
          arn: !GetAtt Queue.Arn
resources:
  Resources:
    Table:
      Type: AWS::DynamoDB::Table
      DeletionPolicy: Retain
      Properties:
        TableName: res-dev-table
        BillingMode: PAY_PER_REQUEST
        AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
        KeySchema: [{AttributeName: id, KeyType: HASH}]
    Queue:
      Type: AWS::SQS::Queue
      Properties:
        QueueName: res-dev-queue
        VisibilityTimeout: 30
    Topic:
      Type: AWS::SNS::Topic
      Properties:
        Subscription:
          - Endpoint: !GetAtt HelloLambdaFunction.Arn
            Protocol: lambda
    Bucket:
      Type: AWS::S3::Bucket
  Outputs:
    TableName:
      Value: !Ref Table
";

/// CloudFormation's DescribeChangeSet answer for a table whose key schema changed.
const REPLACING_CHANGE_SET: &str = r#"<DescribeChangeSetResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeChangeSetResult><ChangeSetName>sls-replayed</ChangeSetName><StackName>res-dev-sls-resources</StackName><Status>CREATE_COMPLETE</Status><ExecutionStatus>AVAILABLE</ExecutionStatus><Changes><member><Type>Resource</Type><ResourceChange><Action>Modify</Action><LogicalResourceId>Table</LogicalResourceId><ResourceType>AWS::DynamoDB::Table</ResourceType><Replacement>True</Replacement><Scope><member>Properties</member></Scope></ResourceChange></member></Changes></DescribeChangeSetResult><ResponseMetadata><RequestId>replayed</RequestId></ResponseMetadata></DescribeChangeSetResponse>"#;

/// What the test service reads from AWS: two SSM parameters, another stack's output and an S3
/// object.
async fn seed(moto: &Moto) {
    let cfg = moto.sdk().await;
    let ssm = aws_sdk_ssm::Client::new(&cfg);
    ssm.put_parameter()
        .name("/res/name")
        .value("from-ssm")
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .unwrap();
    ssm.put_parameter()
        .name("/res/secret")
        .value(r#"{"pw":"hunter2"}"#)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    aws_sdk_cloudformation::Client::new(&cfg)
        .create_stack()
        .stack_name("net")
        .template_body(
            r#"{"Resources":{"T":{"Type":"AWS::SNS::Topic","Properties":{"TopicName":"net-topic"}}},"Outputs":{"TopicName":{"Value":{"Fn::GetAtt":["T","TopicName"]}}}}"#,
        )
        .send()
        .await
        .unwrap();
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&cfg)
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket()
        .bucket("res-config")
        .send()
        .await
        .unwrap();
    s3.put_object()
        .bucket("res-config")
        .key("greeting.txt")
        .body(b"hello from s3".to_vec().into())
        .send()
        .await
        .unwrap();
}

fn service() -> tempfile::TempDir {
    let dir = common::service(SERVICE);
    std::fs::write(
        dir.path().join("handler.js"),
        "exports.hello = async () => 'hi';\n",
    )
    .unwrap();
    dir
}

#[test]
fn resources_deploy_as_a_side_stack_and_functions_get_their_values() {
    let moto = Moto::start();
    let rt = rt();
    rt.block_on(seed(&moto));
    let dir = service();
    let first = json(&moto, dir.path(), &["deploy"]);
    let stack = &first["stack"]["steps"];
    assert_eq!(stack[0]["action"], "create", "{first:#}");
    assert_eq!(stack[0]["resources"].as_array().unwrap().len(), 4);

    let cfg = rt.block_on(moto.sdk());
    let cfn = aws_sdk_cloudformation::Client::new(&cfg);
    let described = rt
        .block_on(
            cfn.describe_stacks()
                .stack_name("res-dev-sls-resources")
                .send(),
        )
        .unwrap();
    let s = &described.stacks()[0];
    assert_eq!(s.stack_status().unwrap().as_str(), "CREATE_COMPLETE");
    assert!(
        s.tags()
            .iter()
            .any(|t| t.key() == Some("sls:service") && t.value() == Some("res"))
    );
    let lambda = aws_sdk_lambda::Client::new(&cfg);
    let f = rt
        .block_on(
            lambda
                .get_function_configuration()
                .function_name("res-dev-hello")
                .send(),
        )
        .unwrap();
    let env = f.environment().unwrap().variables().unwrap();
    assert_eq!(env["TABLE"], "res-dev-table");
    assert!(env["QUEUE_URL"].ends_with("/res-dev-queue"), "{env:?}");
    assert!(
        env["TOPIC"].starts_with("arn:aws:sns:us-east-1:123456789012:"),
        "{env:?}"
    );
    assert!(env["BUCKET_ARN"].starts_with("arn:aws:s3:::"), "{env:?}");
    assert!(!env["BUCKET_ARN"].contains("${"), "{env:?}");
    assert_eq!(
        env["SELF"],
        "arn:aws:lambda:us-east-1:123456789012:function:res-dev-hello"
    );
    assert_eq!(env["NAME"], "from-ssm");
    assert_eq!(env["SECRET"], r#"{"pw":"hunter2"}"#);
    assert_eq!(env["NET"], "net-topic");
    assert_eq!(env["FROM_S3"], "hello from s3");
    assert_eq!(env["ACCOUNT"], "123456789012");
    // The IAM statement names the table's ARN, the sqs event the queue's.
    let iam = aws_sdk_iam::Client::new(&cfg);
    let policy = rt
        .block_on(
            iam.get_role_policy()
                .role_name("res-dev-us-east-1-lambdaRole")
                .policy_name("res-dev-lambda")
                .send(),
        )
        .unwrap();
    let doc = sls::provider::aws::percent_decode(policy.policy_document());
    assert!(
        doc.contains("arn:aws:dynamodb:us-east-1:123456789012:table/res-dev-table"),
        "{doc}"
    );
    let mappings = rt
        .block_on(
            lambda
                .list_event_source_mappings()
                .function_name("arn:aws:lambda:us-east-1:123456789012:function:res-dev-hello:live")
                .send(),
        )
        .unwrap();
    assert_eq!(
        mappings.event_source_mappings()[0].event_source_arn(),
        Some("arn:aws:sqs:us-east-1:123456789012:res-dev-queue")
    );

    // Unchanged: no change set, nothing changed.
    let again = json(&moto, dir.path(), &["deploy"]);
    assert_eq!(again["awsCalls"]["mutating"], 0, "{again:#}");
    assert!(again["stack"]["steps"].as_array().unwrap().is_empty());
    let ops = again["awsCalls"]["operations"].as_array().unwrap();
    assert!(
        !ops.iter()
            .any(|o| o.as_str().unwrap().contains("ChangeSet")),
        "{again:#}"
    );

    // A changed property: a change set that modifies the queue, shown before it runs.
    std::fs::write(
        dir.path().join("serverless.yml"),
        SERVICE.replace("VisibilityTimeout: 30", "VisibilityTimeout: 60"),
    )
    .unwrap();
    let dry = json(&moto, dir.path(), &["deploy", "--dry-run"]);
    let step = &dry["stack"]["steps"][0];
    assert_eq!(step["action"], "update", "{dry:#}");
    let changes = step["change_set"]["changes"].as_array().unwrap();
    assert!(
        changes
            .iter()
            .any(|c| c["logicalId"] == "Queue" && c["action"] == "Modify"),
        "{dry:#}"
    );
    json(&moto, dir.path(), &["deploy"]);
    let q = rt
        .block_on(
            aws_sdk_cloudformation::Client::new(&cfg)
                .get_template()
                .stack_name("res-dev-sls-resources")
                .send(),
        )
        .unwrap();
    assert!(q.template_body().unwrap().contains("60"));

    // A new key schema replaces the table: moto does not say so, so CloudFormation's answer
    // is replayed, and the plan flags the replacement loudly.
    std::fs::write(
        dir.path().join("serverless.yml"),
        SERVICE
            .replace("VisibilityTimeout: 30", "VisibilityTimeout: 60")
            .replace("AttributeName: id", "AttributeName: pk"),
    )
    .unwrap();
    let proxy = common::faults::Faults::answers(
        moto.port,
        vec![common::faults::Canned {
            request: "POST / ".into(),
            json: REPLACING_CHANGE_SET.into(),
            after: None,
            with: Some("Action=DescribeChangeSet".into()),
        }],
    );
    let out = moto
        .sls(dir.path())
        .env("AWS_ENDPOINT_URL", &proxy.url)
        .env("NO_COLOR", "1")
        .args(["deploy", "--dry-run"])
        .assert()
        .success();
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains("~ Table (AWS::DynamoDB::Table) REPLACED: a new one is made and the old one deleted, with any data it holds"),
        "{err}"
    );
    std::fs::write(
        dir.path().join("serverless.yml"),
        SERVICE.replace("VisibilityTimeout: 30", "VisibilityTimeout: 60"),
    )
    .unwrap();

    // info shows the stack's outputs (not those sls adds).
    let info = common::stdout(moto.sls(dir.path()).arg("info"));
    assert!(info.contains("TableName: res-dev-table"), "{info}");
    assert!(!info.contains("SlsRef"), "{info}");

    // print hides the SecureString unless asked.
    let printed = common::stdout(moto.sls(dir.path()).arg("print"));
    assert!(!printed.contains("hunter2"), "{printed}");
    assert!(
        printed.contains("Fn::GetAtt"),
        "print shows the long form: {printed}"
    );
    let shown = common::stdout(moto.sls(dir.path()).args(["print", "--show-secrets"]));
    assert!(shown.contains("hunter2"));

    // remove deletes the stack and keeps the retained table.
    json(&moto, dir.path(), &["remove"]);
    let gone = rt.block_on(
        aws_sdk_cloudformation::Client::new(&cfg)
            .describe_stacks()
            .stack_name("res-dev-sls-resources")
            .send(),
    );
    assert!(gone.is_err(), "{gone:?}");
    assert!(moto.list_tables().contains("res-dev-table"));
}

#[test]
fn a_serverless_v3_stack_of_the_same_name_stops_the_deploy_untouched() {
    let moto = Moto::start();
    let rt = rt();
    let cfg = rt.block_on(moto.sdk());
    rt.block_on(
        aws_sdk_cloudformation::Client::new(&cfg)
            .create_stack()
            .stack_name("res-dev")
            .template_body(r#"{"Resources":{"T":{"Type":"AWS::SNS::Topic"}}}"#)
            .send(),
    )
    .unwrap();
    let dir = common::service(
        "service: res\nprovider:\n  name: aws\n  runtime: nodejs22.x\nfunctions:\n  hello:\n    handler: handler.hello\nresources:\n  Resources:\n    Topic:\n      Type: AWS::SNS::Topic\n",
    );
    std::fs::write(dir.path().join("handler.js"), "exports.hello = 1;\n").unwrap();
    let out = moto.sls(dir.path()).arg("deploy").assert().code(6);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("Serverless v3"), "{err}");
    assert!(err.contains("res-dev"), "{err}");
    let stacks = rt
        .block_on(
            aws_sdk_cloudformation::Client::new(&cfg)
                .describe_stacks()
                .send(),
        )
        .unwrap();
    assert_eq!(stacks.stacks().len(), 1, "nothing else made");
}

#[test]
fn api_ids_are_resolved_on_a_first_deploy_without_a_second_api() {
    let moto = Moto::start();
    let rt = rt();
    let dir = common::service(
        "service: apis
provider:
  name: aws
  runtime: nodejs22.x
  environment:
    REST: !Ref ApiGatewayRestApi
    ROOT: !GetAtt ApiGatewayRestApi.RootResourceId
    HTTP: !Ref HttpApi
    URL: !Join ['', ['https://', !Ref ApiGatewayRestApi, '.execute-api.', !Ref AWS::Region, '.', !Ref AWS::URLSuffix]]
functions:
  hello:
    handler: handler.hello
    events:
      - http: GET /hello
      - httpApi: GET /hello
",
    );
    std::fs::write(dir.path().join("handler.js"), "exports.hello = 1;\n").unwrap();
    // A dry run before anything exists shows stand-ins and makes nothing.
    let dry = json(&moto, dir.path(), &["deploy", "--dry-run"]);
    assert_eq!(dry["awsCalls"]["mutating"], 0, "{dry:#}");
    json(&moto, dir.path(), &["deploy"]);
    let cfg = rt.block_on(moto.sdk());
    let apis = rt
        .block_on(aws_sdk_apigateway::Client::new(&cfg).get_rest_apis().send())
        .unwrap();
    assert_eq!(apis.items().len(), 1, "one REST API: {apis:?}");
    let rest = apis.items()[0].id().unwrap().to_string();
    let root = apis.items()[0].root_resource_id().unwrap().to_string();
    let http = rt
        .block_on(aws_sdk_apigatewayv2::Client::new(&cfg).get_apis().send())
        .unwrap();
    assert_eq!(http.items().len(), 1, "one HTTP API: {http:?}");
    let f = rt
        .block_on(
            aws_sdk_lambda::Client::new(&cfg)
                .get_function_configuration()
                .function_name("apis-dev-hello")
                .send(),
        )
        .unwrap();
    let env = f.environment().unwrap().variables().unwrap();
    assert_eq!(env["REST"], rest);
    assert_eq!(env["ROOT"], root);
    assert_eq!(env["HTTP"], http.items()[0].api_id().unwrap());
    assert_eq!(
        env["URL"],
        format!("https://{rest}.execute-api.us-east-1.amazonaws.com")
    );
    let again = json(&moto, dir.path(), &["deploy"]);
    assert_eq!(again["awsCalls"]["mutating"], 0, "{again:#}");
}

/// CloudFormation's answers for a creation that rolls back: the table's name is taken.
const CREATED: &str = r#"<CreateStackResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><CreateStackResult><StackId>arn:aws:cloudformation:us-east-1:123456789012:stack/fail-dev-sls-resources/1</StackId></CreateStackResult><ResponseMetadata><RequestId>replayed</RequestId></ResponseMetadata></CreateStackResponse>"#;
const ROLLED_BACK: &str = r#"<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member><StackName>fail-dev-sls-resources</StackName><StackId>arn:aws:cloudformation:us-east-1:123456789012:stack/fail-dev-sls-resources/1</StackId><StackStatus>ROLLBACK_COMPLETE</StackStatus><CreationTime>2026-01-01T00:00:00Z</CreationTime></member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>replayed</RequestId></ResponseMetadata></DescribeStacksResponse>"#;
const FAILED_EVENTS: &str = r#"<DescribeStackEventsResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStackEventsResult><StackEvents><member><EventId>4</EventId><StackName>fail-dev-sls-resources</StackName><StackId>s</StackId><LogicalResourceId>fail-dev-sls-resources</LogicalResourceId><ResourceType>AWS::CloudFormation::Stack</ResourceType><Timestamp>2099-01-01T00:00:04Z</Timestamp><ResourceStatus>ROLLBACK_COMPLETE</ResourceStatus></member><member><EventId>3</EventId><StackName>fail-dev-sls-resources</StackName><StackId>s</StackId><LogicalResourceId>Queue</LogicalResourceId><ResourceType>AWS::SQS::Queue</ResourceType><Timestamp>2099-01-01T00:00:03Z</Timestamp><ResourceStatus>CREATE_FAILED</ResourceStatus><ResourceStatusReason>Resource creation cancelled</ResourceStatusReason></member><member><EventId>2</EventId><StackName>fail-dev-sls-resources</StackName><StackId>s</StackId><LogicalResourceId>Table</LogicalResourceId><ResourceType>AWS::DynamoDB::Table</ResourceType><Timestamp>2099-01-01T00:00:02Z</Timestamp><ResourceStatus>CREATE_FAILED</ResourceStatus><ResourceStatusReason>taken-table already exists</ResourceStatusReason></member></StackEvents></DescribeStackEventsResult><ResponseMetadata><RequestId>replayed</RequestId></ResponseMetadata></DescribeStackEventsResponse>"#;

#[test]
fn a_failed_stack_names_its_first_failing_resource_and_nothing_else_is_deployed() {
    let moto = Moto::start();
    let dir = common::service(
        "service: fail\nprovider:\n  name: aws\n  runtime: nodejs22.x\nfunctions:\n  hello:\n    handler: handler.hello\nresources:\n  Resources:\n    Table:\n      Type: AWS::DynamoDB::Table\n      Properties:\n        TableName: taken-table\n        BillingMode: PAY_PER_REQUEST\n        AttributeDefinitions: [{AttributeName: id, AttributeType: S}]\n        KeySchema: [{AttributeName: id, KeyType: HASH}]\n    Queue:\n      Type: AWS::SQS::Queue\n",
    );
    std::fs::write(dir.path().join("handler.js"), "exports.hello = 1;\n").unwrap();
    let canned = |with: &str, json: &str, after: Option<&str>| common::faults::Canned {
        request: "POST / ".into(),
        json: json.into(),
        after: after.map(str::to_string),
        with: Some(with.into()),
    };
    let proxy = common::faults::Faults::answers(
        moto.port,
        vec![
            canned("Action=CreateStack", CREATED, None),
            canned(
                "Action=DescribeStacks",
                ROLLED_BACK,
                Some("Action=CreateStack"),
            ),
            canned("Action=DescribeStackEvents", FAILED_EVENTS, None),
        ],
    );
    let out = moto
        .sls(dir.path())
        .env("AWS_ENDPOINT_URL", &proxy.url)
        .env("NO_COLOR", "1")
        .arg("deploy")
        .assert()
        .failure();
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains("Table (AWS::DynamoDB::Table): CREATE_FAILED: taken-table already exists"),
        "{err}"
    );
    assert!(err.contains("ROLLBACK_COMPLETE"), "{err}");
    // Nothing after the stack ran: no role, no function.
    let rt = rt();
    let cfg = rt.block_on(moto.sdk());
    let functions = rt
        .block_on(aws_sdk_lambda::Client::new(&cfg).list_functions().send())
        .unwrap();
    assert!(functions.functions().is_empty());
}
