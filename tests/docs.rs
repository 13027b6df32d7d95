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

/// The codes as `src/exit.rs` declares them (`pub const NAME: u8 = N;`), read from the source
/// so that a new code cannot be left out of the page.
fn declared_exit_codes() -> Vec<(String, u8)> {
    let source = std::fs::read_to_string(sls_root().join("src/exit.rs")).unwrap();
    source
        .lines()
        .filter_map(|l| {
            let rest = l.trim().strip_prefix("pub const ")?;
            let (name, value) = rest.split_once(": u8 = ")?;
            Some((name.to_string(), value.trim_end_matches(';').parse().ok()?))
        })
        .collect()
}

#[test]
fn every_exit_code_is_documented_and_the_page_lists_no_other() {
    let page = std::fs::read_to_string(docs().join("exit-codes.md")).unwrap();
    let declared = declared_exit_codes();
    assert!(declared.len() >= 9, "{declared:?}");
    for (name, code) in &declared {
        assert!(
            page.contains(&format!("| {code} |")),
            "exit code {code} ({name}) is not in exit-codes.md"
        );
    }
    let listed: Vec<u8> = page
        .lines()
        .filter_map(|l| l.strip_prefix("| ")?.split(' ').next()?.parse().ok())
        .collect();
    for code in listed {
        assert!(
            declared.iter().any(|(_, c)| *c == code),
            "exit-codes.md lists {code}, which src/exit.rs does not declare"
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
