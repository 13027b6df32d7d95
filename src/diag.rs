//! Where things are and what is wrong with them: source files, spans inside them, and the
//! [`Diagnostic`] that every user-facing config problem becomes.
//!
//! Spans are kept as (file, line, column) rather than byte offsets because every consumer —
//! the error renderer, `--json` errors, warnings — wants lines and columns, and the YAML parser
//! counts in characters, not bytes.

use serde::Serialize;

/// Index of a file inside [`Sources`].
pub type FileId = usize;

/// A position in a source file; line and column are 1-based, the column counts characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

/// A range inside one source file (end exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub file: FileId,
    pub start: Pos,
    pub end: Pos,
}

impl Span {
    pub fn point(file: FileId, line: u32, col: u32) -> Span {
        let p = Pos { line, col };
        Span {
            file,
            start: p,
            end: p,
        }
    }
}

/// One loaded text file (the config, or one pulled in with `${file(…)}`).
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as the user would recognise it (relative to where they ran `sls`).
    pub name: String,
    pub text: String,
}

/// Every file that contributed to a config, so that any span can be shown later.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    files: Vec<SourceFile>,
}

impl Sources {
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<String>) -> FileId {
        self.files.push(SourceFile {
            name: name.into(),
            text: text.into(),
        });
        self.files.len() - 1
    }

    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id]
    }

    pub fn find(&self, name: &str) -> Option<FileId> {
        self.files.iter().position(|f| f.name == name)
    }

    /// The text of a 1-based line, without its line break.
    pub fn line(&self, id: FileId, line: u32) -> Option<&str> {
        let text = &self.files.get(id)?.text;
        text.split('\n')
            .nth(line.checked_sub(1)? as usize)
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
    }

    /// Turns a span into a self-contained location (file name and the line's text), so that a
    /// diagnostic can be rendered after the sources are gone.
    pub fn locate(&self, span: Span) -> Location {
        let line_text = self
            .line(span.file, span.start.line)
            .unwrap_or("")
            .to_string();
        let end_col = if span.end.line == span.start.line && span.end.col > span.start.col {
            span.end.col
        } else {
            span.start.col + 1
        };
        Location {
            file: self.get(span.file).name.clone(),
            line: span.start.line,
            column: span.start.col,
            end_column: end_col,
            line_text,
        }
    }
}

/// A span made printable: everything the renderer needs, nothing borrowed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    pub file: String,
    pub line: u32,
    pub column: u32,
    #[serde(skip)]
    pub end_column: u32,
    #[serde(skip)]
    pub line_text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    /// Said once, changes nothing: e.g. that a plugin's job is built in.
    Note,
}

/// A problem with the user's input, with where it stands and what to do about it. `L` is where:
/// a [`Span`] while the config is being read ([`Problem`]), a printable [`Location`] once all
/// sources are known ([`Diagnostic`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report<L> {
    pub severity: Severity,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<L>,
    /// Short text shown under the carets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// A refusal that only matters to deploying (a key sls does not deploy yet): an error for
    /// `deploy` and `package`, a warning for every command that deploys nothing.
    #[serde(skip)]
    pub deploy_only: bool,
}

/// Found by a library stage; points at a span.
pub type Problem = Report<Span>;
/// Ready to show; carries its file name and line text.
pub type Diagnostic = Report<Location>;

impl<L> Report<L> {
    pub fn new(severity: Severity, message: impl Into<String>, location: Option<L>) -> Self {
        Report {
            severity,
            message: message.into(),
            location,
            label: None,
            notes: Vec::new(),
            help: None,
            deploy_only: false,
        }
    }

    /// Marks a refusal that only deploying makes ([`Report::deploy_only`]).
    pub fn only_when_deploying(mut self) -> Self {
        self.deploy_only = true;
        self
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl Diagnostic {
    pub fn error(message: impl Into<String>) -> Self {
        Report::new(Severity::Error, message, None)
    }
}

impl Problem {
    pub fn error(message: impl Into<String>, span: Option<Span>) -> Self {
        Report::new(Severity::Error, message, span)
    }

    pub fn warning(message: impl Into<String>, span: Option<Span>) -> Self {
        Report::new(Severity::Warning, message, span)
    }

    pub fn into_diagnostic(self, sources: &Sources) -> Diagnostic {
        Report {
            severity: self.severity,
            message: self.message,
            location: self.location.map(|s| sources.locate(s)),
            label: self.label,
            notes: self.notes,
            help: self.help,
            deploy_only: self.deploy_only,
        }
    }
}

/// The closest candidate to a misspelt word, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (edit_distance(&lower, &c.to_ascii_lowercase()), c))
        .filter(|(d, c)| *d <= (c.len().max(3) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_keys_only() {
        let keys = ["memorySize", "timeout", "handler"];
        assert_eq!(did_you_mean("memorysize", keys), Some("memorySize"));
        assert_eq!(did_you_mean("handlr", keys), Some("handler"));
        assert_eq!(did_you_mean("banana", keys), None);
    }

    #[test]
    fn locate_shows_line_text() {
        let mut s = Sources::default();
        let f = s.add("a.yml", "one\r\ntwo: 2\n");
        let loc = s.locate(Span::point(f, 2, 6));
        assert_eq!(loc.line_text, "two: 2");
        assert_eq!((loc.line, loc.column, loc.end_column), (2, 6, 7));
    }
}
