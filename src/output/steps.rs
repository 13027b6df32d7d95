//! Progress of deploy steps: on a terminal, a spinner per running step that turns into ✓ and
//! its time; without one (CI, pipes), one plain line per finished step; nothing for `--json`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Style;
use crate::plan::{Plan, Step};
use crate::provider::aws::Progress;

/// The plan as a deploy (or a removal) shows it before changing anything.
pub fn print_plan(w: &mut dyn Write, p: &Plan) -> std::io::Result<()> {
    if p.is_empty() && p.conflicts.is_empty() {
        return writeln!(w, "Plan: nothing to change");
    }
    writeln!(w, "Plan: {} change(s)", p.steps.len())?;
    for s in &p.steps {
        writeln!(w, "  {s}")?;
    }
    for c in &p.conflicts {
        writeln!(w, "  ! {}: {}", c.resource, c.reason)?;
    }
    Ok(())
}

pub struct StepProgress {
    mode: Mode,
    style: Style,
    bars: RefCell<HashMap<usize, ProgressBar>>,
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
        StepProgress {
            mode,
            style,
            bars: RefCell::new(HashMap::new()),
        }
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
            Mode::Spinners(_) => {
                if let Some(bar) = self.bars.borrow_mut().remove(&index) {
                    bar.set_style(
                        ProgressStyle::with_template("{msg}")
                            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                    );
                    bar.finish_with_message(self.done_line(step, took));
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
    /// A failed deploy stops mid-step: leave those lines on screen, without a spinner.
    fn drop(&mut self) {
        for (_, bar) in self.bars.borrow_mut().drain() {
            bar.abandon();
        }
    }
}
