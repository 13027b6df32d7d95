//! Keeps the book honest: every page in SUMMARY.md exists, and every exit code is documented.

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
    ] {
        assert!(
            page.contains(&format!("| {code} |")),
            "exit code {code} is not in exit-codes.md"
        );
    }
}
