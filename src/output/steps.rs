//! Progress of deploy steps: on a terminal, a spinner per running step that turns into ✓ and
//! its time; without one (CI, pipes), one plain line per finished step; nothing for `--json`.
//! Drop it before printing anything else: it clears what it drew.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{IsTerminal, Write};

use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Style;
use crate::plan::{Plan, Step};
use crate::provider::aws::Progress;

/// The plan as a deploy (or a removal) shows it before changing anything, written to stderr in
/// one write: nobody keeps stderr's lock across the run, since indicatif's draw thread writes
/// to it too (holding it through a deploy deadlocked every deploy at a terminal).
pub fn print_plan(p: &Plan, style: Style) {
    eprint!("{}", plan_text(p, style));
}

/// The plan's text: `+` additions green, `~` changes yellow, `-` removals red, `!` conflicts
/// bold red, when colours are on.
pub fn plan_text(p: &Plan, style: Style) -> String {
    if p.is_empty() && p.conflicts.is_empty() {
        return "Plan: nothing to change\n".to_string();
    }
    let mut out = format!("Plan: {}\n", counted(p.steps.len(), "change"));
    for s in &p.steps {
        let line = s.to_string();
        let colour = match line.chars().next() {
            Some('+') => "32",
            Some('~') => "33",
            Some('-') => "31",
            _ => "0",
        };
        out.push_str(&format!("  {}\n", style.paint(colour, &line)));
    }
    for c in &p.conflicts {
        let line = format!("! {}: {}", c.resource, c.reason);
        out.push_str(&format!("  {}\n", style.paint("1;31", &line)));
    }
    out
}

/// `1 change`, `2 changes`: a count with its noun.
pub fn counted(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

pub struct StepProgress {
    mode: Mode,
    style: Style,
    bars: RefCell<HashMap<usize, ProgressBar>>,
    /// While spinners are drawn, keys typed are not echoed over them.
    _echo: Option<crate::terminal::EchoOff>,
    /// The call log whose notices (quotas waited out) this display shows while it lives.
    calls: Option<crate::provider::aws::CallLog>,
}

enum Mode {
    Spinners(MultiProgress),
    Lines,
    Quiet,
}

impl StepProgress {
    pub fn new(json: bool, style: Style) -> StepProgress {
        let mode = if json {
            Mode::Quiet
        } else if std::io::stderr().is_terminal() {
            Mode::Spinners(MultiProgress::with_draw_target(
                ProgressDrawTarget::stderr_with_hz(10),
            ))
        } else {
            Mode::Lines
        };
        let echo = matches!(mode, Mode::Spinners(_)).then(crate::terminal::EchoOff::new);
        StepProgress {
            mode,
            style,
            bars: RefCell::new(HashMap::new()),
            _echo: echo,
            calls: None,
        }
    }

    /// Shows `calls`' notices above the steps while it lives; they go back to plain stderr
    /// lines when it is dropped.
    pub fn with_notices_of(mut self, calls: &crate::provider::aws::CallLog) -> StepProgress {
        calls.on_throttle(self.notifier());
        self.calls = Some(calls.clone());
        self
    }

    /// Where notices during the steps go: above the spinners, as a plain line, or nowhere
    /// (`--json`).
    pub fn notifier(&self) -> crate::provider::aws::calls::Notify {
        match &self.mode {
            Mode::Spinners(multi) => {
                let multi = multi.clone();
                std::sync::Arc::new(move |line: String| {
                    let _ = multi.println(line);
                })
            }
            Mode::Lines => std::sync::Arc::new(|line: String| {
                let _ = writeln!(std::io::stderr(), "{line}");
            }),
            Mode::Quiet => std::sync::Arc::new(|_| {}),
        }
    }

    fn done_line(&self, step: &Step, took: Duration) -> String {
        format!(
            "  {} {step} ({:.2} s)",
            self.style.paint("32", "✓"),
            took.as_secs_f64()
        )
    }
}

impl Progress for StepProgress {
    fn note(&self, line: &str) {
        (self.notifier())(line.to_string());
    }

    fn started(&self, index: usize, step: &Step) {
        if let Mode::Spinners(multi) = &self.mode {
            let bar = multi.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("  {spinner} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_message(step.to_string());
            bar.enable_steady_tick(Duration::from_millis(100));
            self.bars.borrow_mut().insert(index, bar);
        }
    }

    fn finished(&self, index: usize, step: &Step, took: Duration) {
        match &self.mode {
            // The ✓ line is printed above the spinners and the bar leaves the drawn area:
            // only running steps are ever redrawn, so nothing printed later is drawn over.
            Mode::Spinners(multi) => {
                if let Some(bar) = self.bars.borrow_mut().remove(&index) {
                    bar.finish_and_clear();
                    multi.remove(&bar);
                    let _ = multi.println(self.done_line(step, took));
                }
            }
            Mode::Lines => {
                let _ = writeln!(std::io::stderr(), "{}", self.done_line(step, took));
            }
            Mode::Quiet => {}
        }
    }
}

impl Drop for StepProgress {
    /// A failed deploy stops mid-step: those steps stay on screen, marked, without a spinner,
    /// and the drawn area is cleared before anything else is printed.
    fn drop(&mut self) {
        if let Some(calls) = &self.calls {
            calls.on_throttle(crate::provider::aws::calls::to_stderr());
        }
        let Mode::Spinners(multi) = &self.mode else {
            return;
        };
        let mut bars: Vec<(usize, ProgressBar)> = self.bars.borrow_mut().drain().collect();
        bars.sort_by_key(|(i, _)| *i);
        for (_, bar) in bars {
            let line = format!(
                "  {} {} (not finished)",
                self.style.paint("31", "✗"),
                bar.message()
            );
            bar.finish_and_clear();
            multi.remove(&bar);
            let _ = multi.println(line);
        }
        let _ = multi.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::role::RoleStep;

    fn plan() -> Plan {
        let mut p = Plan::default();
        p.push(RoleStep::CreateRole { role: "r".into() });
        p.push(RoleStep::UpdateRolePolicy { role: "r".into() });
        p.push(RoleStep::DeleteRole {
            role: "old".into(),
            detach: vec![],
            inline_policy: None,
        });
        p
    }

    #[test]
    fn the_plan_is_painted_by_what_each_step_does_only_with_colour_on() {
        let painted = plan_text(&plan(), Style { color: true });
        let lines: Vec<&str> = painted.lines().collect();
        assert_eq!(lines[0], "Plan: 3 changes");
        assert!(lines[1].starts_with("  \x1b[32m+ "), "{painted:?}");
        assert!(lines[2].starts_with("  \x1b[33m~ "), "{painted:?}");
        assert!(lines[3].starts_with("  \x1b[31m- "), "{painted:?}");
        let plain = plan_text(&plan(), Style { color: false });
        assert!(!plain.contains('\x1b'), "{plain:?}");
        assert_eq!(
            plan_text(&Plan::default(), Style::default()),
            "Plan: nothing to change\n"
        );
    }

    #[test]
    fn counts_take_their_plural() {
        assert_eq!(counted(1, "change"), "1 change");
        assert_eq!(counted(0, "file"), "0 files");
        assert_eq!(counted(12, "resource"), "12 resources");
    }
}
