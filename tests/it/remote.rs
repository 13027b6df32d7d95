//! The remote commands against a moto server: `invoke` (the request the SDK sent checked through
//! the test proxy), `logs` (seeded events across pages and streams, start and end, a tail that
//! picks up an event written after it started), `metrics` and `cost` (seeded datapoints against
//! a hand computation; CloudWatch's answer replayed, as moto fails on percentiles), `tune`
//! (versions made and removed, the live alias untouched).

use crate::common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::moto::Moto;
use serde_json::Value;

const SERVICE: &str = "service: ops
provider:
  name: aws
  runtime: nodejs22.x
  memorySize: 512
functions:
  a:
    handler: a.main
  b:
    handler: a.main
    memorySize: 1024
    architecture: arm64
";

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn deployed(moto: &Moto) -> tempfile::TempDir {
    let dir = common::service(SERVICE);
    std::fs::write(dir.path().join("a.js"), "exports.main = async (e) => e;\n").unwrap();
    common::json_of(moto.sls(dir.path()).args(["deploy", "--json"]));
    dir
}

fn json(moto: &Moto, dir: &Path, args: &[&str]) -> Value {
    common::json_of(moto.sls(dir).args(args).arg("--json"))
}

#[test]
fn invoke_in_all_three_types_sends_the_qualifier_and_log_type() {
    let moto = Moto::start();
    let dir = deployed(&moto);
    let proxy = common::faults::Faults::delayed(moto.port, Duration::ZERO);
    let via = |args: &[&str]| {
        common::json_of(
            moto.sls(dir.path())
                .env("AWS_ENDPOINT_URL", &proxy.url)
                .args(args)
                .arg("--json"),
        )
    };
    let sync = via(&["invoke", "-f", "a", "--data", r#"{"x":1}"#, "--log"]);
    assert_eq!(sync["statusCode"], 200, "{sync:#}");
    let heads = proxy.heads("POST /2015-03-31/functions/ops-dev-a/invocations");
    assert_eq!(heads.len(), 1, "{heads:?}");
    assert!(heads[0].contains("Qualifier=live"), "{}", heads[0]);
    assert!(
        heads[0]
            .to_ascii_lowercase()
            .contains("x-amz-log-type: tail"),
        "{}",
        heads[0]
    );
    assert!(
        heads[0]
            .to_ascii_lowercase()
            .contains("x-amz-invocation-type: requestresponse")
    );

    let event = via(&[
        "invoke",
        "-f",
        "b",
        "--type",
        "Event",
        "--qualifier",
        "$LATEST",
    ]);
    assert_eq!(event["statusCode"], 202, "{event:#}");
    assert_eq!(event["asyncHandling"]["retries"], 2);
    assert_eq!(event["asyncHandling"]["maxAgeSeconds"], 21600);
    let heads = proxy.heads("POST /2015-03-31/functions/ops-dev-b/invocations");
    assert!(heads[0].contains("Qualifier=%24LATEST"), "{}", heads[0]);
    assert!(
        heads[0]
            .to_ascii_lowercase()
            .contains("x-amz-invocation-type: event")
    );

    let dry = via(&["invoke", "-f", "a", "--type", "DryRun"]);
    assert_eq!(dry["statusCode"], 204, "{dry:#}");

    // Over the asynchronous limit: refused before any call.
    let before = proxy.heads("POST").len();
    let big = format!("\"{}\"", "x".repeat(1024 * 1024 + 1));
    let path = dir.path().join("big.json");
    std::fs::write(&path, big).unwrap();
    let out = moto
        .sls(dir.path())
        .env("AWS_ENDPOINT_URL", &proxy.url)
        .args(["invoke", "-f", "a", "--type", "Event", "--path", "big.json"])
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("at most 1 MB for an asynchronous"), "{err}");
    assert_eq!(proxy.heads("POST").len(), before);
    // Without -f: what to write.
    let out = moto.sls(dir.path()).arg("invoke").assert().code(2);
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("-f/--function"));
}

/// Writes events to a stream of the function's log group.
async fn put(cfg: &aws_config::SdkConfig, stream: &str, events: Vec<(i64, String)>) {
    let logs = aws_sdk_cloudwatchlogs::Client::new(cfg);
    let group = "/aws/lambda/ops-dev-a";
    let _ = logs
        .create_log_stream()
        .log_group_name(group)
        .log_stream_name(stream)
        .send()
        .await;
    for chunk in events.chunks(5000) {
        logs.put_log_events()
            .log_group_name(group)
            .log_stream_name(stream)
            .set_log_events(Some(
                chunk
                    .iter()
                    .map(|(t, m)| {
                        aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                            .timestamp(*t)
                            .message(m)
                            .build()
                            .unwrap()
                    })
                    .collect(),
            ))
            .send()
            .await
            .unwrap();
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[test]
fn logs_page_through_streams_filter_by_time_and_tail_new_events() {
    let moto = Moto::start();
    let dir = deployed(&moto);
    let rt = rt();
    let cfg = rt.block_on(moto.sdk());
    let now = now_ms();
    // 12,000 events in two streams (moto answers 10,000 a page), a minute apart at the ends.
    let old: Vec<(i64, String)> = (0..6000)
        .map(|i| (now - 120_000 + i, format!("old {i}")))
        .collect();
    let new: Vec<(i64, String)> = (0..6000)
        .map(|i| (now - 30_000 + i, format!("new {i}")))
        .collect();
    rt.block_on(put(&cfg, "2026/11/26/[1]aaaa", old));
    rt.block_on(put(&cfg, "2026/11/26/[$LATEST]bbbb", new));
    rt.block_on(put(
        &cfg,
        "2026/11/26/[1]aaaa",
        vec![(now - 20_000, "REPORT RequestId: r1\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 512 MB\tMax Memory Used: 60 MB\t".into())],
    ));
    let all = common::stdout(
        moto.sls(dir.path())
            .args(["logs", "-f", "a", "--startTime", "5m"]),
    );
    let lines: Vec<&str> = all.lines().collect();
    assert_eq!(lines.len(), 12_001, "every event across pages and streams");
    assert!(
        all.contains("REPORT 12.3 ms (billed 13 ms), memory 60/512 MB"),
        "compact REPORT"
    );
    // Only the last minute: the newer stream and the REPORT.
    let recent =
        common::stdout(
            moto.sls(dir.path())
                .args(["logs", "-f", "a", "--startTime", "1m"]),
        );
    assert_eq!(recent.lines().count(), 6001);
    // An end: only the older events.
    let end = aws_smithy_types::DateTime::from_millis(now - 60_000)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap();
    let early = common::stdout(moto.sls(dir.path()).args([
        "logs",
        "-f",
        "a",
        "--startTime",
        "5m",
        "--endTime",
        &end,
    ]));
    assert_eq!(early.lines().count(), 6000);
    assert!(early.lines().all(|l| l.contains(" old ")));
    // --json: one object per line.
    let doc = common::stdout(moto.sls(dir.path()).args([
        "logs",
        "-f",
        "a",
        "--startTime",
        "1m",
        "--filter",
        "REPORT",
        "--json",
    ]));
    let v: Value = serde_json::from_str(doc.lines().next().unwrap()).unwrap();
    assert_eq!(v["stream"], "2026/11/26/[1]aaaa");

    // --tail picks up an event written after it started.
    let mut child = Command::new(env!("CARGO_BIN_EXE_sls"))
        .current_dir(dir.path())
        .envs(moto.env())
        .args([
            "logs",
            "-f",
            "a",
            "--startTime",
            "10s",
            "--tail",
            "--interval",
            "200",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    std::thread::sleep(Duration::from_millis(800));
    rt.block_on(put(
        &cfg,
        "2026/11/26/[$LATEST]bbbb",
        vec![(now_ms(), "written later".into())],
    ));
    let started = Instant::now();
    let mut seen = false;
    while started.elapsed() < Duration::from_secs(20) {
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(200)) {
            if l.contains("written later") {
                seen = true;
                break;
            }
        }
    }
    let _ = child.kill();
    let mut err = String::new();
    let _ = std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err);
    let _ = child.wait();
    assert!(seen, "the tail showed the event written after it started");
    // moto's live tail answers the events it holds and ends at once: sls polls instead.
    assert!(err.contains("live tail not available"), "{err}");
}

/// CloudWatch's GetMetricData answer for the service's two functions over the period. moto
/// answers percentiles (p50, p99) with an internal error, so AWS's answer is replayed; the
/// request is checked.
fn metric_answer() -> String {
    let values = [
        ("inv_0", 2_000_000.0),
        ("err_0", 5.0),
        ("thr_0", 0.0),
        ("dsum_0", 200_000_000.0),
        ("davg_0", 100.0),
        ("dp50_0", 90.0),
        ("dp99_0", 250.0),
        ("conc_0", 12.0),
        ("inv_1", 500_000.0),
        ("dsum_1", 20_000_000.0),
        ("davg_1", 40.0),
    ];
    let members: String = values
        .iter()
        .map(|(id, v)| format!("<member><Id>{id}</Id><Label>{id}</Label><StatusCode>Complete</StatusCode><Timestamps><member>2026-11-26T10:00:00Z</member></Timestamps><Values><member>{v}</member></Values></member>"))
        .collect();
    format!(
        r#"<GetMetricDataResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"><GetMetricDataResult><MetricDataResults>{members}</MetricDataResults><Messages/></GetMetricDataResult><ResponseMetadata><RequestId>replayed</RequestId></ResponseMetadata></GetMetricDataResponse>"#
    )
}

#[test]
fn metrics_and_cost_from_replayed_datapoints_match_a_hand_computation() {
    let moto = Moto::start();
    let dir = deployed(&moto);
    let proxy = common::faults::Faults::answers(
        moto.port,
        vec![common::faults::Canned {
            request: "POST / ".into(),
            json: metric_answer(),
            after: None,
            with: Some("Action=GetMetricData".into()),
        }],
    );
    let via = |args: &[&str]| {
        common::json_of(
            moto.sls(dir.path())
                .env("AWS_ENDPOINT_URL", &proxy.url)
                .args(args)
                .arg("--json"),
        )
    };
    let m = via(&["metrics", "--startTime", "1h"]);
    let a = &m["metrics"]["functions"]["ops-dev-a"];
    assert_eq!(a["invocations"], 2_000_000.0, "{m:#}");
    assert_eq!(a["errors"], 5.0);
    assert_eq!(a["durationP99"], 250.0);
    assert_eq!(a["maxConcurrency"], 12.0);
    assert_eq!(
        m["metrics"]["functions"]["ops-dev-b"]["durationP99"],
        Value::Null
    );
    // One batched call, every statistic of both functions, one period over the whole hour.
    let bodies = proxy.bodies("POST / ");
    let calls: Vec<&String> = bodies
        .iter()
        .filter(|b| b.contains("Action=GetMetricData"))
        .collect();
    assert_eq!(calls.len(), 1);
    for part in [
        "p50",
        "p99",
        "ConcurrentExecutions",
        "Throttles",
        "ops-dev-b",
        "Period=3600",
    ] {
        assert!(calls[0].contains(part), "{part}: {}", calls[0]);
    }

    let c = via(&["cost", "--startTime", "1h"]);
    let bill = &c["bill"];
    // By hand: a (512 MB, x86): 2M requests → $0.40; 0.5 GB × 200,000 s = 100,000 GB-s →
    // × 0.0000166667 = $1.66667. b (1024 MB, arm): 0.5M → $0.10; 1 × 20,000 s = 20,000 GB-s →
    // × 0.0000133334 = $0.266668. The free tier's share of one hour of a 30-day month: 1/720 of
    // 1M requests and of 400,000 GB-s, taken at the x86 rate first.
    let share = 1.0 / 720.0;
    let gross = 0.40 + 100_000.0 * 0.000_016_666_7 + 0.10 + 20_000.0 * 0.000_013_333_4;
    let free = 1e6 * share / 1e6 * 0.20 + 400_000.0 * share * 0.000_016_666_7;
    let total = bill["totalUsd"].as_f64().unwrap();
    let days = bill["days"].as_f64().unwrap();
    assert!((days - 1.0 / 24.0).abs() < 0.001, "{c:#}");
    // The period is measured to the second: allow for it in the free tier's share.
    assert!(
        (total - (gross - free)).abs() < 0.001,
        "{total} vs {} ({c:#})",
        gross - free
    );
    assert!((bill["lines"][0]["gbSeconds"].as_f64().unwrap() - 100_000.0).abs() < 1e-6);

    // An estimate makes no AWS call: it works without credentials.
    let est = common::json_of(common::sls_in(dir.path()).args([
        "cost",
        "--estimate",
        "--requests",
        "3000000",
        "--duration",
        "120",
        "--memory",
        "512",
        "--json",
    ]));
    assert!(
        (est["bill"]["totalUsd"].as_f64().unwrap() - 0.40).abs() < 1e-6,
        "{est:#}"
    );
    assert_eq!(bill["rates"]["region"], "us-east-1", "{c:#}");
    // Cape Town's duration costs more. 30M requests of 120 ms at 512 MB: 1.8M GB-s, of which
    // 1.4M are billed (× 0.0000221), and 29M requests (× 0.20 per million).
    let cape = common::json_of(common::sls_in(dir.path()).args([
        "cost",
        "--estimate",
        "--requests",
        "30000000",
        "--duration",
        "120",
        "--memory",
        "512",
        "--region",
        "af-south-1",
        "--json",
    ]));
    let b = &cape["bill"];
    assert_eq!(b["rates"]["region"], "af-south-1", "{cape:#}");
    assert!(
        b["rates"]["borrowed"]
            .as_str()
            .unwrap()
            .contains("us-east-1")
    );
    let by_hand = 1_400_000.0 * 0.000_022_1 + 29.0 * 0.20;
    assert!(
        (b["totalUsd"].as_f64().unwrap() - by_hand).abs() < 1e-6,
        "{by_hand} ({cape:#})"
    );
}

#[test]
fn tune_publishes_and_removes_its_versions_and_leaves_the_live_alias() {
    let moto = Moto::start();
    let dir = deployed(&moto);
    let rt = rt();
    let cfg = rt.block_on(moto.sdk());
    let lambda = aws_sdk_lambda::Client::new(&cfg);
    let live_version = || {
        rt.block_on(
            lambda
                .get_alias()
                .function_name("ops-dev-a")
                .name("live")
                .send(),
        )
        .unwrap()
        .function_version()
        .unwrap()
        .to_string()
    };
    let live_before = live_version();
    let t = json(
        &moto,
        dir.path(),
        &[
            "tune",
            "-f",
            "a",
            "--memory",
            "128,256",
            "--invocations",
            "2",
        ],
    );
    assert_eq!(t["rows"].as_array().unwrap().len(), 2, "{t:#}");
    assert_eq!(t["rows"][0]["memoryMb"], 128);
    assert_eq!(t["rows"][1]["memoryMb"], 256);
    assert_eq!(t["rows"][0]["invocations"], 2);
    // moto runs no code, so no REPORT line comes back: nothing measured, no pick made up.
    assert_eq!(t["rows"][0]["measured"], 0);
    assert_eq!(t["picks"], Value::Null);
    let removed = t["versionsRemoved"].as_array().unwrap();
    assert_eq!(removed.len(), 2, "{t:#}");
    let versions = rt
        .block_on(
            lambda
                .list_versions_by_function()
                .function_name("ops-dev-a")
                .send(),
        )
        .unwrap();
    let left: Vec<&str> = versions
        .versions()
        .iter()
        .filter_map(|v| v.version())
        .collect();
    for r in removed {
        assert!(!left.contains(&r.as_str().unwrap()), "{left:?}");
    }
    assert_eq!(live_before, live_version());
    // $LATEST is back at its own size.
    let c = rt
        .block_on(
            lambda
                .get_function_configuration()
                .function_name("ops-dev-a")
                .send(),
        )
        .unwrap();
    assert_eq!(c.memory_size(), Some(512));
}
