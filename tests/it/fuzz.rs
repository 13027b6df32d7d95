//! The config front end under attack: configs made by editing the fixtures (lines deleted,
//! doubled, swapped and re-indented, tokens of YAML, variables and CloudFormation inserted,
//! bytes flipped, text cut short) go through YAML → variables → validation → desired state →
//! plan, in process. None may panic or hang (each is answered within a bound), and every error
//! names file, line and column.
//!
//! A bounded pass runs with the test suite: `SLS_FUZZ_SECONDS` (default 45) of random inputs,
//! after the corpus — `tests/fixtures/fuzz/*.yml`, inputs that once failed, replayed first —
//! and proptest's own record of failures (`tests/fuzz.proptest-regressions`), both kept in the
//! repository. A failure is shrunk to a small edit list by proptest and printed with its text.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestRunner};
use sls::config::{self, LoadOptions};
use sls::diag::Severity;
use sls::output::Style;

/// Longest a single config may take to be answered (a debug build on a loaded machine).
const BOUND: Duration = Duration::from_secs(10);

/// Text worth inserting: YAML structure, variables of every source, CloudFormation tags,
/// numbers at the edges, and characters that break column arithmetic.
const TOKENS: &[&str] = &[
    ":",
    "- ",
    "  ",
    "\t",
    "'",
    "\"",
    "{",
    "}",
    "[",
    "]",
    "&a ",
    "*a",
    "<<: *a",
    "? ",
    "|",
    ">-",
    "~",
    "null",
    "true",
    "0x1F",
    "1e999",
    "-1",
    "99999999999999999999",
    "${",
    "}",
    "${self:",
    "${self:service}",
    "${self:provider}",
    "${opt:stage}",
    "${opt:region, 'x'}",
    "${env:HOME}",
    "${env:NOPE}",
    "${sls:stage}",
    "${param:x}",
    "${file(./x.yml)}",
    "${file(serverless.yml):service}",
    "${ssm:/a/b}",
    "${cf:stack.Out}",
    "${s3:b/k}",
    "${aws:accountId}",
    "${strToBool(true)}",
    "${self:${self:a}}",
    "${{",
    "$${x}",
    "!Ref ",
    "!GetAtt ",
    "!Sub ",
    "!Join ",
    "!If ",
    "!ImportValue ",
    "Fn::GetAtt: [",
    "Ref: ",
    "handler: ",
    "events:",
    "- http: GET /",
    "- httpApi: '*'",
    "- schedule: rate(1 day)",
    "- sqs: arn:aws:sqs:us-east-1:1:q",
    "runtime: ",
    "functions:",
    "resources:",
    "\u{0}",
    "\u{feff}",
    "é",
    "💥",
    "\r",
    "\n",
    "#",
    "%YAML 1.2\n---\n",
    "---\n",
    "...\n",
];

#[derive(Debug, Clone)]
enum Edit {
    Delete(usize),
    Duplicate(usize, usize),
    Swap(usize, usize),
    Indent(usize, i8),
    Insert(usize, usize, usize),
    Byte(usize, u8),
    Truncate(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let n = any::<usize>();
    prop_oneof![
        n.prop_map(Edit::Delete),
        (n, n).prop_map(|(a, b)| Edit::Duplicate(a, b)),
        (n, n).prop_map(|(a, b)| Edit::Swap(a, b)),
        (n, -4i8..=4).prop_map(|(a, d)| Edit::Indent(a, d)),
        (n, n, 0..TOKENS.len()).prop_map(|(l, c, t)| Edit::Insert(l, c, t)),
        (n, any::<u8>()).prop_map(|(at, b)| Edit::Byte(at, b)),
        n.prop_map(Edit::Truncate),
    ]
}

/// Applies the edits to the text's lines (bytes for `Byte` and `Truncate`; the result may be
/// invalid UTF-8, which the loader must refuse cleanly).
fn apply(seed: &str, edits: &[Edit]) -> Vec<u8> {
    let mut lines: Vec<String> = seed.split('\n').map(str::to_string).collect();
    let mut bytes: Option<Vec<u8>> = None;
    for e in edits {
        if let Some(b) = bytes.as_mut() {
            edit_bytes(b, e);
            continue;
        }
        let n = lines.len().max(1);
        match *e {
            Edit::Delete(i) if lines.len() > 1 => {
                lines.remove(i % n);
            }
            Edit::Duplicate(i, at) => {
                let l = lines[i % n].clone();
                lines.insert(at % (n + 1), l);
            }
            Edit::Swap(a, b) => lines.swap(a % n, b % n),
            Edit::Indent(i, d) => {
                let l = &mut lines[i % n];
                if d >= 0 {
                    l.insert_str(0, &" ".repeat(d as usize));
                } else {
                    let strip = l.len() - l.trim_start_matches(' ').len();
                    l.drain(..strip.min(d.unsigned_abs() as usize));
                }
            }
            Edit::Insert(i, col, t) => {
                let l = &mut lines[i % n];
                let mut at = col % (l.len() + 1);
                while !l.is_char_boundary(at) {
                    at -= 1;
                }
                l.insert_str(at, TOKENS[t]);
            }
            Edit::Byte(..) | Edit::Truncate(..) => {
                let mut b = lines.join("\n").into_bytes();
                edit_bytes(&mut b, e);
                bytes = Some(b);
            }
            Edit::Delete(_) => {}
        }
    }
    bytes.unwrap_or_else(|| lines.join("\n").into_bytes())
}

/// A byte edit; line edits do nothing once the text is bytes.
fn edit_bytes(b: &mut Vec<u8>, e: &Edit) {
    match *e {
        Edit::Byte(at, v) if !b.is_empty() => {
            let i = at % b.len();
            b[i] = v;
        }
        Edit::Truncate(at) if !b.is_empty() => b.truncate(at % b.len()),
        _ => {}
    }
}

/// Reads the config in `dir` through the whole front end; `Err` says what broke a promise.
fn front_end(dir: &Path) -> Result<(), String> {
    let opts = LoadOptions {
        config: None,
        cwd: dir.to_path_buf(),
        stage: Some("dev".into()),
        env: [("HOME".to_string(), "/home/user".to_string())].into(),
        ..Default::default()
    };
    match config::load(&opts) {
        Ok(loaded) => {
            let manifest = sls::package::manifest::Manifest::unpackaged(
                &loaded.config.service,
                &loaded.stage,
                &loaded.region,
            );
            let d = sls::plan::desired::desired(
                &loaded.config,
                &loaded.stage,
                &loaded.region,
                &manifest,
            );
            let plan = sls::plan::plan(&d, &sls::plan::Observed::default());
            let _ = format!("{plan:?}");
            Ok(())
        }
        Err(e) => {
            for d in &e.diagnostics {
                let shown = sls::output::render(d, Style { color: false });
                if d.severity == Severity::Error && d.location.is_none() {
                    return Err(format!("an error without a location:\n{shown}"));
                }
            }
            Ok(())
        }
    }
}

/// Runs the front end on one input in its own thread: a panic or an answer later than
/// [`BOUND`] is a failure.
fn check(text: &[u8]) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("serverless.yml"), text).unwrap();
    std::fs::write(dir.path().join("x.yml"), "a: 1\n").unwrap();
    let path = dir.path().to_path_buf();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let r = std::panic::catch_unwind(|| front_end(&path));
        let _ = tx.send(r);
    });
    match rx.recv_timeout(BOUND) {
        Ok(Ok(r)) => r,
        Ok(Err(panic)) => Err(format!(
            "panicked: {}",
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        )),
        Err(_) => Err(format!("no answer within {BOUND:?}")),
    }
}

fn seeds() -> Vec<(String, String)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("serverless.example.yml")];
    for dir in [
        "tests/fixtures",
        "tests/fixtures/bad",
        "tests/fixtures/cfn-tags",
    ] {
        for e in std::fs::read_dir(root.join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "yml" || x == "yaml") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
        .into_iter()
        .filter_map(|p| {
            let text = std::fs::read_to_string(&p).ok()?;
            Some((p.file_name()?.to_string_lossy().into_owned(), text))
        })
        .collect()
}

#[test]
fn the_corpus_of_inputs_that_once_failed_is_answered_cleanly() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        let text = std::fs::read(&p).unwrap();
        if let Err(why) = check(&text) {
            panic!("{}: {why}", p.display());
        }
        n += 1;
    }
    assert!(n > 0, "the corpus in {} is empty", dir.display());
}

#[test]
fn configs_edited_at_random_never_panic_hang_or_lose_their_location() {
    let seeds = seeds();
    assert!(seeds.len() > 50, "{} seeds", seeds.len());
    let seconds: u64 = std::env::var("SLS_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(45);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let tried = AtomicUsize::new(0);
    let strategy = (0..seeds.len(), proptest::collection::vec(edit(), 1..6));
    // Rounds of a few hundred cases, each with fresh randomness, until the time is up.
    while Instant::now() < deadline {
        let mut runner = TestRunner::new(Config {
            cases: 256,
            source_file: Some(file!()),
            failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
                "proptest-regressions",
            ))),
            ..Config::default()
        });
        let result = runner.run(&strategy, |(seed, edits)| {
            tried.fetch_add(1, Ordering::Relaxed);
            let text = apply(&seeds[seed].1, &edits);
            check(&text).map_err(|why| {
                TestCaseError::fail(format!(
                    "{} edited by {edits:?}: {why}\n--- input ---\n{}",
                    seeds[seed].0,
                    String::from_utf8_lossy(&text)
                ))
            })
        });
        if let Err(e) = result {
            panic!("{e}");
        }
    }
    println!(
        "{} configs tried in {seconds} s from {} seeds",
        tried.load(Ordering::Relaxed),
        seeds.len()
    );
}
