//! What a deploy costs when every AWS call is a real round trip: a moto server behind a proxy
//! that holds each request 60 ms (tests/it/common/faults.rs), the example service, and the built
//! `sls` binary. Measures a first deploy, a no-op redeploy and a one-file code change, each as a
//! whole process, and — in the same process — one bare request through the same proxy, the
//! floor of any call. Prints wall times, AWS calls, and how far the wall time is below the
//! calls made one after another. Run with `scripts/bench-deploy` (or `cargo bench --bench deploy`);
//! `SLS_BENCH_FUNCTIONS=50,100,200 scripts/bench-deploy` measures generated services of that many
//! functions instead.

// The tests' helpers: the moto server, the proxy and the example service.
#[path = "../tests/it/common/mod.rs"]
mod common;

use common::{faults, moto};

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const LATENCY: Duration = Duration::from_millis(60);
const ROUNDS: usize = 7;

fn deploy(dir: &Path, endpoint: &str) -> (Duration, serde_json::Value) {
    sls(dir, endpoint, &["deploy", "--json"])
}

fn sls(dir: &Path, endpoint: &str, args: &[&str]) -> (Duration, serde_json::Value) {
    let started = Instant::now();
    let out = Command::new(binary())
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "bench")
        .env("AWS_SECRET_ACCESS_KEY", "bench")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .args(args)
        .output()
        .expect("run sls");
    let took = started.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (took, serde_json::from_slice(&out.stdout).expect("JSON"))
}

/// The `sls` measured: this build, or another one named by `SLS_BIN` (to compare with an older
/// build on the same machine and moto).
fn binary() -> String {
    std::env::var("SLS_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_sls").to_string())
}

/// No-op redeploys: prints the median, returns the last document.
fn noop(dir: &Path, endpoint: &str) -> serde_json::Value {
    let mut times = Vec::new();
    let mut last = serde_json::Value::Null;
    for _ in 0..ROUNDS {
        let (took, doc) = deploy(dir, endpoint);
        times.push(took);
        last = doc;
    }
    row("no-op redeploy", median(times), &last);
    last
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn row(what: &str, took: Duration, doc: &serde_json::Value) {
    let calls = doc["awsCalls"]["total"].as_u64().unwrap_or(0);
    let changing = doc["awsCalls"]["mutating"].as_u64().unwrap_or(0);
    let serial = LATENCY * calls as u32;
    println!(
        "{what:<34} {:>8.0} ms  {calls:>3} calls ({changing:>2} changing)  one after another: {:>5.0} ms  ({:.1}× faster)",
        took.as_secs_f64() * 1000.0,
        serial.as_secs_f64() * 1000.0,
        serial.as_secs_f64() / took.as_secs_f64()
    );
}

/// A service of `n` functions as the scale issue measures it: each its own package and `httpApi`
/// route, an `sqs` event on every 10th, a schedule on every 25th, a queue in `resources:`.
fn many(n: usize) -> tempfile::TempDir {
    let mut yaml = String::from(
        "service: scale\nprovider:\n  name: aws\n  runtime: nodejs22.x\npackage:\n  individually: true\nfunctions:\n",
    );
    for i in 0..n {
        yaml.push_str(&format!(
            "  f{i}:\n    handler: f{i}.handler\n    package:\n      patterns: ['!**', 'f{i}.js']\n    events:\n      - httpApi: 'GET /f{i}'\n"
        ));
        if i % 10 == 0 {
            yaml.push_str("      - sqs:\n          arn: !GetAtt Queue.Arn\n");
        }
        if i % 25 == 0 {
            yaml.push_str("      - schedule: rate(1 day)\n");
        }
    }
    yaml.push_str("resources:\n  Resources:\n    Queue:\n      Type: AWS::SQS::Queue\n");
    let dir = common::service(&yaml);
    for i in 0..n {
        fs::write(
            dir.path().join(format!("f{i}.js")),
            format!("exports.handler = async () => {i};\n"),
        )
        .unwrap();
    }
    dir
}

/// `SLS_BENCH_FUNCTIONS=50,100,200`: first deploy, no-op and one function's code change of
/// [`many`], each once (minutes at 200 functions), on a fresh moto each.
fn scale(sizes: &str) {
    for n in sizes
        .split(',')
        .filter_map(|s| s.trim().parse::<usize>().ok())
    {
        let moto = moto::Moto::start();
        let proxy = faults::Faults::delayed(moto.port, LATENCY);
        let dir = many(n);
        println!("service of {n} functions");
        sls(dir.path(), &proxy.url, &["deploy", "--dry-run", "--json"]);
        moto.warm_ssm();
        let (took, doc) = deploy(dir.path(), &proxy.url);
        row("first deploy", took, &doc);
        let (took, doc) = deploy(dir.path(), &proxy.url);
        row("no-op redeploy", took, &doc);
        fs::write(
            dir.path().join("f1.js"),
            "exports.handler = async () => 'changed';\n",
        )
        .unwrap();
        let (took, doc) = deploy(dir.path(), &proxy.url);
        row("one function's code change", took, &doc);
    }
}

fn main() {
    if let Ok(sizes) = std::env::var("SLS_BENCH_FUNCTIONS") {
        return scale(&sizes);
    }
    let moto = moto::Moto::start();
    let proxy = faults::Faults::delayed(moto.port, LATENCY);

    // The floor: one bare request through the proxy.
    let floor: Vec<Duration> = (0..5)
        .map(|_| {
            let started = Instant::now();
            let port: u16 = proxy.url.rsplit(':').next().unwrap().parse().unwrap();
            let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
            use std::io::{Read, Write};
            s.write_all(b"GET /moto-api/ HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
                .unwrap();
            let mut buf = Vec::new();
            let _ = s.read_to_end(&mut buf);
            started.elapsed()
        })
        .collect();

    let dir = common::example();

    println!(
        "{} deploy of serverless.example.yml, every AWS call held {} ms (median of {ROUNDS})",
        binary(),
        LATENCY.as_millis()
    );
    println!(
        "{:<34} {:>8.0} ms",
        "one bare call through the proxy",
        median(floor).as_secs_f64() * 1000.0
    );
    // moto builds each service's backend on first use (IAM loads its managed policies, about
    // 1.5 s; SSM, where the lease lives, AWS's public parameters, about 2 s): a read-only dry
    // run and an SSM call first, so that the first deploy measures sls, not that.
    sls(dir.path(), &proxy.url, &["deploy", "--dry-run", "--json"]);
    moto.warm_ssm();
    let (took, doc) = deploy(dir.path(), &proxy.url);
    row("first deploy", took, &doc);

    let mut last = noop(dir.path(), &proxy.url);

    let mut change = Vec::new();
    let handler = dir.path().join("example/users.js");
    let text = fs::read_to_string(&handler).unwrap();
    for i in 0..ROUNDS {
        fs::write(&handler, format!("{text}\n// change {i}\n")).unwrap();
        let (took, doc) = deploy(dir.path(), &proxy.url);
        change.push(took);
        last = doc;
    }
    row("one-file code change", median(change), &last);

    // A service with `resources:` (a table and a queue in the side stack, `!Ref`/`!GetAtt` in
    // the environment, an IAM statement and an sqs event).
    let dir = common::service(RESOURCES);
    fs::write(
        dir.path().join("handler.js"),
        "exports.hello = async () => 1;\n",
    )
    .unwrap();
    println!("service with resources: (side stack)");
    sls(dir.path(), &proxy.url, &["deploy", "--dry-run", "--json"]);
    let (took, doc) = deploy(dir.path(), &proxy.url);
    row("first deploy", took, &doc);
    noop(dir.path(), &proxy.url);
    fs::write(
        dir.path().join("serverless.yml"),
        RESOURCES.replace("VisibilityTimeout: 30", "VisibilityTimeout: 60"),
    )
    .unwrap();
    let (took, doc) = deploy(dir.path(), &proxy.url);
    row("one resource changed (change set)", took, &doc);
}

const RESOURCES: &str = "service: benchres
provider:
  name: aws
  runtime: nodejs22.x
  environment:
    TABLE: !Ref Table
    QUEUE: !Ref Queue
  iam:
    role:
      statements:
        - Effect: Allow
          Action: [dynamodb:GetItem, dynamodb:PutItem]
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
      Properties:
        BillingMode: PAY_PER_REQUEST
        AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
        KeySchema: [{AttributeName: id, KeyType: HASH}]
    Queue:
      Type: AWS::SQS::Queue
      Properties:
        VisibilityTimeout: 30
";
