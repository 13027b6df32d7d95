//! Renders a [`Diagnostic`] the way rustc and cargo do, which users of either already read fluently:
//!
//! ```text
//! error: `functions.hello.memorySize`: memorySize must be between 128 and 10240 MB, got 99999
//!   --> serverless.yml:12:17
//!    |
//! 12 |     memorySize: 99999
//!    |                 ^^^^^
//! ```

use crate::diag::{Diagnostic, Severity};

use super::Style;

pub fn render(d: &Diagnostic, style: Style) -> String {
    let (word, color) = match d.severity {
        Severity::Error => ("error", "1;31"),
        Severity::Warning => ("warning", "1;33"),
        // One line: a note is not a problem to look at in the source.
        Severity::Note => {
            let at = d
                .location
                .as_ref()
                .map(|l| format!(" ({}:{}:{})", l.file, l.line, l.column))
                .unwrap_or_default();
            return format!("{}: {}{at}\n", style.paint("1;36", "note"), d.message);
        }
    };
    let mut out = format!(
        "{}: {}\n",
        style.paint(color, word),
        style.paint("1", &d.message)
    );
    if let Some(loc) = &d.location {
        let num = loc.line.to_string();
        let pad = " ".repeat(num.len());
        let blue = |s: &str| style.paint("1;34", s);
        out.push_str(&format!(
            "{pad}{} {}:{}:{}\n",
            blue("-->"),
            loc.file,
            loc.line,
            loc.column
        ));
        out.push_str(&format!("{pad} {}\n", blue("|")));
        out.push_str(&format!("{} {} {}\n", blue(&num), blue("|"), loc.line_text));
        // Copy tabs from the line so the carets stay aligned in any terminal.
        let lead: String = loc
            .line_text
            .chars()
            .take(loc.column.saturating_sub(1) as usize)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        let width = loc.end_column.saturating_sub(loc.column).max(1) as usize;
        let mut marks = style.paint(color, &"^".repeat(width));
        if let Some(label) = &d.label {
            marks.push(' ');
            marks.push_str(&style.paint(color, label));
        }
        out.push_str(&format!("{pad} {} {lead}{marks}\n", blue("|")));
    }
    let pad = d
        .location
        .as_ref()
        .map_or(String::new(), |l| " ".repeat(l.line.to_string().len()));
    for n in &d.notes {
        out.push_str(&format!("{pad} = {}: {n}\n", style.paint("1", "note")));
    }
    if let Some(h) = &d.help {
        out.push_str(&format!("{pad} = {}: {h}\n", style.paint("1", "help")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::{Location, Severity};

    #[test]
    fn renders_location_carets_and_help() {
        let d = Diagnostic {
            severity: Severity::Error,
            message: "bad".into(),
            location: Some(Location {
                file: "s.yml".into(),
                line: 3,
                column: 5,
                end_column: 8,
                line_text: "  a: xyz".into(),
            }),
            label: Some("here".into()),
            notes: vec![],
            help: Some("fix it".into()),
            deploy_only: false,
        };
        let r = render(&d, Style::default());
        assert_eq!(
            r,
            "error: bad\n --> s.yml:3:5\n  |\n3 |   a: xyz\n  |     ^^^ here\n  = help: fix it\n"
        );
    }
}
