//! Keeps the book honest: every page in SUMMARY.md exists, every exit code is documented, and the
//! README's first command does what it says.

use std::path::PathBuf;

fn docs() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/src")
}

#[test]
fn summary_links_exist() {
    let summary = std::fs::read_to_string(docs().join("SUMMARY.md")).unwrap();
    let mut n = 0;
    for link in summary.split("](").skip(1) {
        let target = link.split(')').next().unwrap();
        assert!(
            docs().join(target).is_file(),
            "SUMMARY.md links to missing {target}"
        );
        n += 1;
    }
    assert!(n >= 5, "found only {n} links");
}

#[test]
fn every_exit_code_is_documented() {
    let page = std::fs::read_to_string(docs().join("exit-codes.md")).unwrap();
    for code in [
        sls::exit::OK,
        sls::exit::FAILURE,
        sls::exit::USAGE,
        sls::exit::CONFIG,
        sls::exit::PACKAGE,
        sls::exit::AWS,
        sls::exit::CONFLICT,
        sls::exit::ROLLED_BACK,
        sls::exit::FUNCTION_ERROR,
    ] {
        assert!(
            page.contains(&format!("| {code} |")),
            "exit code {code} is not in exit-codes.md"
        );
    }
}

#[test]
fn the_readmes_first_command_runs_the_example_locally() {
    let readme = std::fs::read_to_string(sls_root().join("README.md")).unwrap();
    let block = readme.split("```sh\n").nth(1).unwrap();
    let first = block.lines().next().unwrap();
    assert!(first.starts_with("scripts/demo "), "{first}");
    let out = std::process::Command::new("bash")
        .arg("scripts/demo")
        .current_dir(sls_root())
        .env("SLS_BIN", env!("CARGO_BIN_EXE_sls"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(r#"{"stage":"dev","users":[{"id":"1","name":"Ada"}]}"#),
        "{stdout}"
    );
    assert!(stdout.contains(r#"{"id":"2","name":"Grace"}"#), "{stdout}");
    assert!(stdout.contains(r#""trigger": "http""#), "{stdout}");
}

fn sls_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}
