//! Whole transcripts of the AWS commands against moto, as a user sees them: exit code, stdout and
//! stderr of `deploy --dry-run`, `deploy`, a no-op `deploy`, a deploy of a changed handler, `info`
//! and `remove` (twice) of the example service. Ids, times, digests and the account are filtered out, so the snapshots hold the
//! human output itself; read a changed snapshot like a changed page of the docs.

use crate::common;

use common::moto::Moto;

/// `exit`, `stdout` and `stderr` of one run, in that order. Steps that run side by side finish in
/// any order: their progress lines are put in the order of the plan printed above them.
fn transcript(c: &mut assert_cmd::Command) -> String {
    let out = c.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut lines: Vec<&str> = stderr.lines().collect();
    let done = |l: &str| {
        l.strip_prefix("  ✓ ")
            .map(|rest| rest.rsplit_once(" (").map_or(rest, |(s, _)| s).to_string())
    };
    let planned = |step: &str| {
        lines_of(&stderr)
            .iter()
            .position(|l| l.strip_prefix("  ") == Some(step))
    };
    let mut progress: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| done(l).is_some())
        .collect();
    progress.sort_by_key(|l| planned(&done(l).unwrap_or_default()));
    let mut next = progress.into_iter();
    for line in lines.iter_mut() {
        if done(line).is_some() {
            *line = next.next().unwrap();
        }
    }
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}\n",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        lines.join("\n")
    )
}

fn lines_of(text: &str) -> Vec<&str> {
    text.lines().collect()
}

macro_rules! assert_transcript {
    ($name:expr, $cmd:expr) => {
        insta::with_settings!({ filters => common::filters(), prepend_module_to_snapshot => true }, {
            insta::assert_snapshot!($name, transcript($cmd));
        })
    };
}

#[test]
fn the_example_from_plan_to_removal() {
    let moto = Moto::start();
    let dir = common::example();
    let sls = |args: &[&str]| {
        let mut c = moto.sls(dir.path());
        c.args(args);
        c
    };
    assert_transcript!("1-dry-run", &mut sls(&["deploy", "--dry-run"]));
    assert_transcript!("2-deploy", &mut sls(&["deploy"]));
    assert_transcript!("3-deploy-again", &mut sls(&["deploy"]));
    // One handler file changed: the service is one artifact, so every function gets new code.
    let handler = dir.path().join("example/users.js");
    let text = std::fs::read_to_string(&handler).unwrap();
    std::fs::write(&handler, format!("{text}\n// changed\n")).unwrap();
    assert_transcript!("4-code-change", &mut sls(&["deploy"]));
    assert_transcript!("5-info", &mut sls(&["info"]));
    assert_transcript!("6-remove", &mut sls(&["remove"]));
    assert_transcript!("7-remove-again", &mut sls(&["remove"]));
}
