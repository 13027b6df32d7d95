//! Helpers shared by the end-to-end test files.
#![allow(dead_code)]

pub mod faults;
pub mod ministack;
pub mod moto;
pub mod offline;
pub mod pty;

use std::path::{Path, PathBuf};

use assert_cmd::Command;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `sls` with a clean environment (no colours, no stray variables), run in `dir`.
pub fn sls_in(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sls"));
    c.current_dir(dir).env_clear().env("NO_COLOR", "1");
    c
}

/// A temporary service directory holding `serverless.yml` with this text.
pub fn service(yaml: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("serverless.yml"), yaml).unwrap();
    dir
}

/// A copy of the example service (`serverless.example.yml` and its handlers) in a temporary
/// directory.
pub fn example() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        root().join("serverless.example.yml"),
        dir.path().join("serverless.yml"),
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("example")).unwrap();
    for f in ["users.js", "report.py"] {
        std::fs::copy(
            root().join("example").join(f),
            dir.path().join("example").join(f),
        )
        .unwrap();
    }
    dir
}

pub fn sls() -> Command {
    sls_in(&root())
}

pub fn stdout(c: &mut Command) -> String {
    let out = c.assert().success().get_output().stdout.clone();
    String::from_utf8(out).unwrap()
}

/// Runs a command that must succeed and prints a JSON document (`--json`); returns the document.
pub fn json_of(c: &mut Command) -> serde_json::Value {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Runs a command that must exit with `code`; returns its stderr.
pub fn stderr_of(c: &mut Command, code: i32) -> String {
    let out = c.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(code), "{stderr}");
    stderr
}

/// Runs a command that must exit with `code` and print a JSON document; returns it and stderr.
pub fn json_of_exit(c: &mut Command, code: i32) -> (serde_json::Value, String) {
    let out = c.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(code), "{stderr}");
    let doc = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{stderr}", String::from_utf8_lossy(&out.stdout)));
    (doc, stderr)
}

/// Stand-ins for what differs from run to run.
pub fn filters() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            r"https://[a-z0-9]+\.execute-api",
            "https://[API-ID].execute-api",
        ),
        (r"\((?:[a-z0-9]{8}|[a-z0-9]{10})\)", "([API-ID])"),
        (r"\d+\.\d+ s\b", "[TIME] s"),
        (r"\b\d{12}\b", "[ACCOUNT]"),
        // Whether a run waits out a quota depends on how fast moto answers.
        (r"(?m)^  … waiting out .*\n", ""),
        // Said only when moto's first answer is slow in coming.
        (r"(?m)^  … waiting for .* to answer\n", ""),
        (
            r"code [A-Za-z0-9+/]{12} → [A-Za-z0-9+/]{12}",
            "code [SHA256] → [SHA256]",
        ),
    ]
}

/// The actions of a `--json` deploy's plan, in order.
pub fn actions(doc: &serde_json::Value) -> Vec<String> {
    doc["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["action"].as_str().unwrap().to_string())
        .collect()
}
