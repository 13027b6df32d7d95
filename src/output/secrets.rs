//! Values that never reach the output: the SecureStrings the variables read and the functions'
//! environment values. The config loader registers them; the one failure report passes its
//! text through [`hide`], because AWS's error messages can quote what was sent (Lambda's
//! "environment variables exceeded the 4KB limit" error quotes them all). Plans, progress and
//! `info` never print environment values in the first place.

use std::sync::Mutex;

/// The mask a hidden value is replaced with.
pub const MASK: &str = "********";

/// Environment values shorter than this are not masked in error text: `dev`, `true` or `debug`
/// are no secrets, and masking them would garble every message that names a stage.
const SHORTEST_ENVIRONMENT_VALUE: usize = 8;

static HIDDEN: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Keeps these values out of every report from now on: `secrets` whatever their length,
/// `environment` values from [`SHORTEST_ENVIRONMENT_VALUE`] characters on.
pub fn keep_hidden<'a>(
    secrets: impl IntoIterator<Item = &'a String>,
    environment: impl IntoIterator<Item = &'a String>,
) {
    let mut hidden = HIDDEN.lock().unwrap_or_else(|e| e.into_inner());
    hidden.extend(secrets.into_iter().filter(|s| !s.is_empty()).cloned());
    hidden.extend(
        environment
            .into_iter()
            .filter(|v| v.chars().count() >= SHORTEST_ENVIRONMENT_VALUE)
            .cloned(),
    );
    // Longest first, so a secret that contains another is masked whole.
    hidden.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
    hidden.dedup();
}

/// `text` with every kept value masked.
pub fn hide(text: &str) -> String {
    let hidden = HIDDEN.lock().unwrap_or_else(|e| e.into_inner());
    hidden.iter().fold(text.to_string(), |t, secret| {
        t.replace(secret.as_str(), MASK)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_values_are_masked_longest_first_and_short_environment_values_are_not() {
        let secrets = vec!["pw".to_string(), "pw-and-more".to_string()];
        let environment = vec!["dev".to_string(), "postgres://u:p@db/x".to_string()];
        keep_hidden(&secrets, &environment);
        assert_eq!(
            hide("pw-and-more, pw, postgres://u:p@db/x on dev"),
            "********, ********, ******** on dev"
        );
    }
}
