//! `sls config credentials`: an IAM user's access key written into the shared credentials file
//! (`~/.aws/credentials`, or `AWS_SHARED_CREDENTIALS_FILE`) as the AWS CLI and SDKs read it.
//! The file is edited, not rewritten: other profiles, keys and comments stay as they were, and
//! it is replaced by rename with mode 0600, so no reader sees half a file and no one else may
//! read it.

use std::io;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error(
        "profile `{profile}` already exists in {}; pass --overwrite to replace its keys",
        .file.display()
    )]
    Exists { profile: String, file: PathBuf },
    #[error("{0}")]
    Invalid(String),
    #[error("cannot write {}: {source}", .file.display())]
    Write { file: PathBuf, source: io::Error },
}

/// Where the shared credentials file is: `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`.
pub fn file(env: &std::collections::HashMap<String, String>) -> Option<PathBuf> {
    if let Some(f) = env
        .get("AWS_SHARED_CREDENTIALS_FILE")
        .filter(|f| !f.is_empty())
    {
        return Some(PathBuf::from(f));
    }
    let home = env.get("HOME").filter(|h| !h.is_empty())?;
    Some(Path::new(home).join(".aws").join("credentials"))
}

/// Checks what the user gave before anything is written.
pub fn check(key: &str, secret: &str, profile: &str) -> Result<(), CredentialsError> {
    let key_ok = (16..=128).contains(&key.len()) && key.chars().all(|c| c.is_ascii_alphanumeric());
    if !key_ok {
        return Err(CredentialsError::Invalid(
            "--key is not an access key id (16–128 letters and digits, e.g. AKIA…)".into(),
        ));
    }
    // Said without echoing it: the secret never reaches the output.
    if secret.is_empty() || secret.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(CredentialsError::Invalid(
            "--secret is empty or holds spaces or control characters".into(),
        ));
    }
    let profile_ok = !profile.is_empty()
        && profile
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && c != '[' && c != ']');
    if !profile_ok {
        return Err(CredentialsError::Invalid(format!(
            "`{profile}` is not a profile name (no spaces or brackets)"
        )));
    }
    Ok(())
}

/// `text` (a credentials file) with `profile` holding `key` and `secret`, and whether the profile
/// was there: a new section at the end, or, with `overwrite`, the section's keys replaced where
/// they stand (a session token of the old keys is dropped: it belongs to them). Everything else
/// is kept byte for byte.
pub fn edit(
    text: &str,
    profile: &str,
    key: &str,
    secret: &str,
    overwrite: bool,
) -> Result<(String, bool), Replaced> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let start = lines.iter().position(|l| header(l) == Some(profile));
    let Some(start) = start else {
        let mut out = text.to_string();
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&format!(
            "[{profile}]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n"
        ));
        return Ok((out, false));
    };
    if !overwrite {
        return Err(Replaced);
    }
    let end = lines[start + 1..]
        .iter()
        .position(|l| header(l).is_some())
        .map_or(lines.len(), |i| start + 1 + i);
    let name_of = |l: &str| {
        l.split_once('=')
            .map(|(k, _)| k.trim().to_ascii_lowercase())
    };
    // The section's lines with the keys replaced; keys it lacked go first, under the header.
    let mut body: Vec<String> = Vec::new();
    let (mut wrote_key, mut wrote_secret) = (false, false);
    for l in &lines[start + 1..end] {
        match name_of(l).as_deref() {
            Some("aws_access_key_id") => {
                body.push(format!("aws_access_key_id = {key}\n"));
                wrote_key = true;
            }
            Some("aws_secret_access_key") => {
                body.push(format!("aws_secret_access_key = {secret}\n"));
                wrote_secret = true;
            }
            Some("aws_session_token") | Some("aws_security_token") => {}
            _ => body.push(l.to_string()),
        }
    }
    if !wrote_secret {
        body.insert(0, format!("aws_secret_access_key = {secret}\n"));
    }
    if !wrote_key {
        body.insert(0, format!("aws_access_key_id = {key}\n"));
    }
    let mut out: String = lines[..=start].concat();
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&body.concat());
    out.push_str(&lines[end..].concat());
    Ok((out, true))
}

/// The profile name of a section header line (`[name]`).
fn header(l: &str) -> Option<&str> {
    l.trim()
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .map(str::trim)
}

/// The profile exists and `--overwrite` was not given.
#[derive(Debug)]
pub struct Replaced;

/// Writes `profile` into the credentials file at `path`; returns whether it replaced one.
pub fn save(
    path: &Path,
    profile: &str,
    key: &str,
    secret: &str,
    overwrite: bool,
) -> Result<bool, CredentialsError> {
    let werr = |source| CredentialsError::Write {
        file: path.to_path_buf(),
        source,
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(werr(e)),
    };
    let (new, existed) = edit(&text, profile, key, secret, overwrite).map_err(|Replaced| {
        CredentialsError::Exists {
            profile: profile.to_string(),
            file: path.to_path_buf(),
        }
    })?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dir(dir).map_err(werr)?;
    }
    let tmp = path.with_file_name(format!(
        ".{}.{}.partial",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("credentials"),
        std::process::id()
    ));
    write_private(&tmp, &new).map_err(werr)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        werr(e)
    })?;
    Ok(existed)
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)
}

/// Creates `path` readable by its owner only before a byte of the secret is in it.
#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> io::Result<()> {
    std::fs::write(path, text)
}

/// `AKIA…WXYZ`: enough of the key id to tell which one was saved.
pub fn masked(key: &str) -> String {
    let tail: String = key
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("{}…{tail}", &key[..key.len().min(4)])
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "AKIAIOSFODNN7EXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    #[test]
    fn a_new_profile_is_added_and_everything_else_kept() {
        let before = "# mine\n[default]\naws_access_key_id = OLD\naws_secret_access_key = old\nregion = eu-west-1\n";
        let after = edit(before, "ci", KEY, SECRET, false).unwrap().0;
        assert!(after.starts_with(before), "{after}");
        assert!(after.ends_with(&format!(
            "\n[ci]\naws_access_key_id = {KEY}\naws_secret_access_key = {SECRET}\n"
        )));
        assert_eq!(
            edit("", "default", KEY, SECRET, false).unwrap().0,
            format!("[default]\naws_access_key_id = {KEY}\naws_secret_access_key = {SECRET}\n")
        );
    }

    #[test]
    fn an_existing_profile_is_refused_or_its_keys_replaced_in_place() {
        let before = "[default]\naws_access_key_id = OLD\naws_secret_access_key = old\naws_session_token = t\nregion = eu-west-1\n# note\n[other]\naws_access_key_id = O2\n";
        assert!(edit(before, "default", KEY, SECRET, false).is_err());
        let after = edit(before, "default", KEY, SECRET, true).unwrap().0;
        assert_eq!(
            after,
            format!(
                "[default]\naws_access_key_id = {KEY}\naws_secret_access_key = {SECRET}\nregion = eu-west-1\n# note\n[other]\naws_access_key_id = O2\n"
            )
        );
        // A section without keys gets them right after its header.
        let bare = "[default]\nregion = us-east-1\n[x]\n";
        assert_eq!(
            edit(bare, "default", KEY, SECRET, true).unwrap().0,
            format!(
                "[default]\naws_access_key_id = {KEY}\naws_secret_access_key = {SECRET}\nregion = us-east-1\n[x]\n"
            )
        );
    }

    #[test]
    fn bad_input_is_refused_without_echoing_the_secret() {
        assert!(check("short", SECRET, "default").is_err());
        let e = check(KEY, "has space", "default").unwrap_err().to_string();
        assert!(!e.contains("has space"), "{e}");
        assert!(check(KEY, SECRET, "[x]").is_err());
        assert_eq!(masked(KEY), "AKIA…MPLE");
    }
}
