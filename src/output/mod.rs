//! What the user sees: colours (off without a TTY, with NO_COLOR or --no-color), diagnostics in
//! the rustc style, and documents as YAML or JSON.

pub mod adopt;
mod diagnostic;
pub mod secrets;
pub mod steps;
pub mod summary;
pub mod yaml;

pub use diagnostic::render;

use std::io::IsTerminal;

/// How output should look; decided once in `main` from flags and the environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct Style {
    pub color: bool,
}

impl Style {
    /// Colour only when stderr is a terminal and neither NO_COLOR nor --no-color says otherwise.
    pub fn detect(no_color_flag: bool, no_color_env: bool) -> Self {
        Style {
            color: !no_color_flag && !no_color_env && std::io::stderr().is_terminal(),
        }
    }

    pub fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}
