//! The bad-input corpus: every file in tests/fixtures/bad must fail `sls package` with exit code
//! 3 (config error) before any packaging, never panic, and name its file, line and column. The
//! messages are snapshots, because errors are part of the interface. (Some of them only matter to
//! deploying — a key sls does not deploy yet — and `print` goes on with a warning for those.)

use std::path::Path;
use std::process::Command;

fn run_fixture(path: &Path) -> (i32, String) {
    let name = path.file_name().unwrap().to_str().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sls"))
        .current_dir(path.parent().unwrap())
        .args(["package", "-c", name])
        .env_clear()
        .env("NO_COLOR", "1")
        .output()
        .expect("run sls");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_bad_config_fails_cleanly_with_a_location() {
    let mut count = 0;
    insta::glob!(
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"),
        "bad/*.*",
        |path| {
            count += 1;
            let name = path.file_name().unwrap().to_str().unwrap();
            let (code, stderr) = run_fixture(path);
            assert_eq!(
                code, 3,
                "{name}: expected exit code 3 (config error), got {code}\n{stderr}"
            );
            assert!(!stderr.contains("panicked"), "{name} panicked:\n{stderr}");
            assert!(
                stderr.contains(&format!("--> {name}:")),
                "{name}: the message does not give file:line:col\n{stderr}"
            );
            // Which runtimes are supported changes with the calendar (AWS's published dates).
            insta::with_settings!({filters => vec![(r"supported runtimes: .*", "supported runtimes: [those supported today]")]}, {
                insta::assert_snapshot!(stderr);
            });
        }
    );
    assert!(
        count >= 40,
        "the corpus should hold at least 40 configs, found {count}"
    );
}

#[test]
fn json_errors_are_machine_readable() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad");
    let out = Command::new(env!("CARGO_BIN_EXE_sls"))
        .current_dir(&dir)
        .args(["print", "--json", "-c", "15-memory-too-small.yml"])
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    let d = &doc["error"]["diagnostics"][0];
    assert_eq!(doc["error"]["kind"], "config");
    assert_eq!(d["severity"], "error");
    assert_eq!(d["location"]["file"], "15-memory-too-small.yml");
    assert_eq!(d["location"]["line"], 8);
    assert_eq!(d["location"]["column"], 17);
}
