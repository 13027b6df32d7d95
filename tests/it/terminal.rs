//! sls at a terminal, as a person types it (issue: `sls deploy` hung at every terminal, a
//! deadlock between the plan's hold on stderr and the progress spinner, which no piped test could
//! see). Each command runs under a pseudo-terminal against moto, must finish within a bound,
//! draw its progress, colour the plan's `+ ~ -`, and leave a clean screen: the screens are
//! snapshotted. Ctrl-C during a deploy stops at a safe point and gives the lease back; a second
//! one stops at once.

use crate::common;

use std::time::Duration;

use common::faults::Faults;
use common::moto::Moto;
use common::pty::{Pty, strip};

/// A frame of indicatif's spinner (its frames are braille patterns): none may be left on a
/// finished screen.
fn spinner_on(screen: &str) -> bool {
    screen
        .chars()
        .any(|c| ('\u{2800}'..='\u{28ff}').contains(&c))
}

/// Runs one command to its end at a terminal and returns its exit code and final screen.
fn at_terminal(
    dir: &std::path::Path,
    args: &[&str],
    env: &[(&str, String)],
    within: Duration,
) -> (u32, String, String) {
    let mut pty = Pty::sls(dir, args, env);
    let code = pty.wait(within);
    let screen = pty.screen();
    assert!(
        !spinner_on(&screen),
        "a spinner was left on the screen:\n{screen}"
    );
    (code, screen, pty.raw())
}

macro_rules! assert_screen {
    ($name:expr, $screen:expr) => {
        insta::with_settings!({ filters => common::filters(), prepend_module_to_snapshot => true }, {
            insta::assert_snapshot!($name, $screen);
        })
    };
}

#[test]
fn deploy_update_promote_tail_and_remove_finish_at_a_terminal() {
    let moto = Moto::start();
    let dir = common::example();
    let env = moto.env();
    let bound = Duration::from_secs(120);

    let (code, screen, raw) = at_terminal(dir.path(), &["deploy"], &env, bound);
    assert_eq!(code, 0, "{screen}");
    // The plan's additions are green, the finished steps' ticks too.
    assert!(raw.contains("\x1b[32m+ "), "{raw:?}");
    assert!(raw.contains("\x1b[32m✓\x1b[0m"), "{raw:?}");
    assert!(screen.contains("Deployed sls-example"), "{screen}");
    assert_screen!("1-deploy", sorted_progress(&screen));

    // One function's code: `~` in yellow.
    let handler = dir.path().join("example/users.js");
    let text = std::fs::read_to_string(&handler).unwrap();
    std::fs::write(&handler, format!("{text}\n// changed\n")).unwrap();
    let (code, screen, raw) = at_terminal(
        dir.path(),
        &["deploy", "function", "-f", "listUsers"],
        &env,
        bound,
    );
    assert_eq!(code, 0, "{screen}");
    assert!(raw.contains("\x1b[33m~ "), "{raw:?}");
    assert_screen!("2-deploy-function", sorted_progress(&screen));

    // A staged version, promoted in two steps.
    std::fs::write(&handler, format!("{text}\n// staged\n")).unwrap();
    let mut staged = moto.sls(dir.path());
    staged
        .args(["deploy", "--alias", "next"])
        .assert()
        .success();
    let (code, screen, _) = at_terminal(
        dir.path(),
        &[
            "alias",
            "promote",
            "--from",
            "next",
            "--steps",
            "50,100",
            "--interval",
            "1s",
        ],
        &env,
        bound,
    );
    assert_eq!(code, 0, "{screen}");
    assert_screen!("3-promote-in-steps", screen);

    // `logs --tail` follows until Ctrl-C, which ends it at once with a clean screen.
    let mut tail = Pty::sls(
        dir.path(),
        &["logs", "-f", "listUsers", "--tail", "--interval", "200"],
        &env,
    );
    std::thread::sleep(Duration::from_secs(2));
    tail.send(b"\x03");
    let code = tail.wait(Duration::from_secs(10));
    assert_eq!(code, 130, "{}", tail.screen());
    assert!(!tail.screen().contains("rror"), "{}", tail.screen());

    let (code, screen, raw) = at_terminal(dir.path(), &["remove"], &env, bound);
    assert_eq!(code, 0, "{screen}");
    assert!(raw.contains("\x1b[31m- "), "{raw:?}");
    assert_screen!("4-remove", sorted_progress(&screen));
}

#[test]
fn no_color_at_a_terminal_paints_nothing() {
    let moto = Moto::start();
    let dir = common::example();
    let mut env = moto.env();
    env.push(("NO_COLOR", "1".into()));
    let (code, screen, raw) = at_terminal(
        dir.path(),
        &["deploy", "--dry-run"],
        &env,
        Duration::from_secs(60),
    );
    assert_eq!(code, 0, "{screen}");
    assert!(
        screen.contains("+ function sls-example-dev-listUsers"),
        "{screen}"
    );
    assert!(!raw.contains("\x1b[3"), "colour with NO_COLOR: {raw:?}");
}

/// moto behind a proxy that holds every call, so that a deploy is still running when Ctrl-C
/// comes.
fn slow_moto() -> (Moto, Faults, Vec<(&'static str, String)>) {
    let moto = Moto::start();
    let slow = Faults::delayed(moto.port, Duration::from_millis(150));
    let mut env = moto.env();
    for (k, v) in env.iter_mut() {
        if *k == "AWS_ENDPOINT_URL" {
            *v = slow.url.clone();
        }
    }
    (moto, slow, env)
}

/// A deploy of the example at a terminal, against slow moto, sent Ctrl-C once its first step
/// finished (changes are under way) and heard saying so.
fn deploy_interrupted() -> (Moto, Faults, tempfile::TempDir, Pty) {
    let (moto, slow, env) = slow_moto();
    let dir = common::example();
    let mut pty = Pty::sls(dir.path(), &["deploy"], &env);
    pty.expect("✓", Duration::from_secs(90));
    pty.send(b"\x03");
    pty.expect(
        "stopping after the steps under way",
        Duration::from_secs(10),
    );
    (moto, slow, dir, pty)
}

#[test]
fn ctrl_c_during_a_deploy_stops_between_steps_gives_the_lease_back_and_a_rerun_converges() {
    let (moto, _slow, dir, mut pty) = deploy_interrupted();
    let code = pty.wait(Duration::from_secs(90));
    let screen = pty.screen();
    assert_eq!(code, 130, "{screen}");
    assert!(screen.contains("interrupted: "), "{screen}");
    assert!(
        screen.contains("the lease was given back. Run the command again: it converges"),
        "{screen}"
    );
    assert!(!spinner_on(&screen), "{screen}");
    // The lease is gone from SSM, not merely taken over by the next run.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ssm = aws_sdk_ssm::Client::new(&rt.block_on(moto.sdk()));
    let lease = rt.block_on(
        ssm.get_parameter()
            .name("/sls/sls-example/dev/lease")
            .send(),
    );
    assert!(lease.is_err(), "the lease is still there: {lease:?}");
    // Running it again finishes the deploy; a third run has nothing to do.
    let mut again = moto.sls(dir.path());
    again.args(["deploy"]).assert().success();
    let out = common::stdout(moto.sls(dir.path()).args(["deploy"]));
    assert!(out.contains("no changes"), "{out}");
}

#[test]
fn a_second_ctrl_c_stops_at_once() {
    let (moto, _slow, dir, mut pty) = deploy_interrupted();
    pty.send(b"\x03");
    let code = pty.wait(Duration::from_secs(10));
    let screen = pty.screen();
    assert_eq!(code, 130, "{screen}");
    assert!(screen.contains("stopped at once"), "{screen}");
    // The next run takes the lease over (its holder is gone) and converges.
    let mut again = moto.sls(dir.path());
    again.args(["deploy"]).assert().success();
}

#[test]
fn offline_at_a_terminal_stops_cleanly_on_ctrl_c() {
    let dir = common::example();
    let mut pty = Pty::sls(
        dir.path(),
        &["offline", "--port", "0", "--lambda-port", "0"],
        &[],
    );
    pty.expect("Ctrl-C stops", Duration::from_secs(60));
    pty.send(b"\x03");
    let code = pty.wait(Duration::from_secs(10));
    let screen = pty.screen();
    assert!(code == 0 || code == 130, "{code}: {screen}");
    let text = strip(&pty.raw());
    assert!(!text.contains("hyper"), "{text}");
    assert!(!text.to_lowercase().contains("error"), "{text}");
}

/// Steps that run side by side finish in any order: their ✓ lines are put in the order of the
/// plan above them, without their times, so that the snapshot holds the screen, not the
/// schedule.
fn sorted_progress(screen: &str) -> String {
    let lines: Vec<&str> = screen.lines().collect();
    let step_of = |l: &str| {
        l.strip_prefix("  ✓ ")
            .map(|rest| rest.rsplit_once(" (").map_or(rest, |(s, _)| s).to_string())
    };
    let planned = |step: &str| {
        lines
            .iter()
            .position(|l| l.strip_prefix("  ") == Some(step))
    };
    let mut done: Vec<String> = lines.iter().filter_map(|l| step_of(l)).collect();
    done.sort_by_key(|s| planned(s));
    let mut next = done.into_iter();
    lines
        .iter()
        .map(|l| match step_of(l) {
            Some(_) => format!("  ✓ {}", next.next().unwrap_or_default()),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}
