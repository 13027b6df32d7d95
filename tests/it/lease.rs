//! One changing command at a time per service and stage: the lease in SSM Parameter Store.
//! Two deploys started together (one waits, or stops with exit 9 naming the holder), a lease
//! left by a killed process of this host or expired is taken over with a warning, a live one of
//! another host is removed only by --force-unlock, and the lease is gone after every command.

use crate::common;

use std::process::{Command, Stdio};

use common::moto::Moto;

const SERVICE: &str = "service: locked\nprovider:\n  name: aws\n  runtime: nodejs22.x\nfunctions:\n  a:\n    handler: a.main\n  b:\n    handler: a.main\n";
const NAME: &str = "/sls/locked/dev/lease";

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn service() -> tempfile::TempDir {
    let dir = common::service(SERVICE);
    std::fs::write(dir.path().join("a.js"), "exports.main = async (e) => e;\n").unwrap();
    dir
}

/// Two `sls deploy` started together in one directory; their exit codes and stderr.
fn two_deploys(moto: &Moto, dir: &std::path::Path, extra: &[&str]) -> Vec<(i32, String)> {
    let children: Vec<_> = (0..2)
        .map(|_| {
            let mut c = Command::new(env!("CARGO_BIN_EXE_sls"));
            c.current_dir(dir)
                .env_clear()
                .env("NO_COLOR", "1")
                .args(["deploy"])
                .args(extra)
                .stdout(Stdio::null())
                .stderr(Stdio::piped());
            for (k, v) in moto.env() {
                c.env(k, v);
            }
            c.spawn().unwrap()
        })
        .collect();
    children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            (
                out.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stderr).to_string(),
            )
        })
        .collect()
}

fn lease_value(moto: &Moto) -> Option<String> {
    let rt = rt();
    let ssm = aws_sdk_ssm::Client::new(&rt.block_on(moto.sdk()));
    rt.block_on(ssm.get_parameter().name(NAME).send())
        .ok()
        .and_then(|o| o.parameter().and_then(|p| p.value()).map(str::to_string))
}

fn put_lease(moto: &Moto, host: &str, pid: u32, expires: u64) {
    let rt = rt();
    let ssm = aws_sdk_ssm::Client::new(&rt.block_on(moto.sdk()));
    let value = serde_json::json!({"token": "other", "user": "ci", "host": host, "pid": pid,
        "command": "deploy", "started": 1_700_000_000u64, "expires": expires});
    rt.block_on(
        ssm.put_parameter()
            .name(NAME)
            .value(value.to_string())
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .overwrite(true)
            .send(),
    )
    .unwrap();
}

fn this_host() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown-host".into())
}

#[test]
fn two_deploys_started_together_never_run_at_once() {
    let moto = Moto::start();
    let dir = service();
    // Without waiting: one deploys, the other stops before any change, naming the holder.
    let mut runs = two_deploys(&moto, dir.path(), &["--lock-wait", "0"]);
    runs.sort();
    assert_eq!(runs[0].0, 0, "{runs:?}");
    assert_eq!(runs[1].0, 9, "{runs:?}");
    assert!(
        runs[1]
            .1
            .contains("locked (stage dev) is being changed by `sls deploy` by")
            && runs[1].1.contains("--force-unlock"),
        "{}",
        runs[1].1
    );
    assert_eq!(lease_value(&moto), None, "given back");
    // Waiting (the default 30 s): both succeed, one after the other.
    let runs = two_deploys(&moto, dir.path(), &[]);
    assert!(runs.iter().all(|(code, _)| *code == 0), "{runs:?}");
    assert!(
        runs.iter()
            .any(|(_, err)| err.contains("waiting up to 30 s for the lease held by `sls deploy`")),
        "{runs:?}"
    );
    assert_eq!(lease_value(&moto), None);
}

#[test]
fn stale_leases_are_taken_over_and_live_ones_only_by_force() {
    let moto = Moto::start();
    let dir = service();
    // A process of this host that has ended (a killed deploy): taken over at once.
    let mut gone = Command::new("true").spawn().unwrap();
    let pid = gone.id();
    gone.wait().unwrap();
    put_lease(&moto, &this_host(), pid, u64::MAX / 2);
    let err = common::stderr_of(moto.sls(dir.path()).arg("deploy"), 0);
    assert!(
        err.contains("warning: taking over the lease held by `sls deploy` by ci@")
            && err.contains("its process on this host is gone"),
        "{err}"
    );
    assert_eq!(lease_value(&moto), None);

    // Expired, from elsewhere: taken over.
    put_lease(&moto, "elsewhere", 1, 1_700_000_100);
    let out = common::stderr_of(moto.sls(dir.path()).arg("remove"), 0);
    assert!(out.contains("it has expired"));

    // Live, from elsewhere: refused (exit 9) until --force-unlock.
    put_lease(&moto, "elsewhere", 1, u64::MAX / 2);
    let out = common::stderr_of(moto.sls(dir.path()).args(["deploy", "--lock-wait", "0"]), 9);
    assert!(out.contains("ci@elsewhere (process 1)"), "{out}");
    assert!(
        lease_value(&moto).unwrap().contains("elsewhere"),
        "left as it was"
    );
    let out = common::stderr_of(moto.sls(dir.path()).args(["deploy", "--force-unlock"]), 0);
    assert!(out.contains("(--force-unlock)"));
    assert_eq!(lease_value(&moto), None);
    // A dry run takes no lease: it works beside a live one.
    put_lease(&moto, "elsewhere", 1, u64::MAX / 2);
    moto.sls(dir.path())
        .args(["deploy", "--dry-run"])
        .assert()
        .success();
}
