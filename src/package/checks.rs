//! What packaging checks before and after it zips: handlers that exist, a `bootstrap` that can
//! run on the function's architecture, paths that stay in the service; and how it reports sizes.

use std::collections::HashMap;
use std::{fs, io};

use super::walk::{Entry, Problem};
use super::{PackageError, Plan};
use crate::config::Config;
use crate::config::patterns::Patterns;
use crate::config::runtime::{self, Family};

pub(super) fn unsafe_message(path: &str, problem: &Problem) -> String {
    match problem {
        Problem::Outside { target, dir } => format!(
            "`{path}` is a symlink to `{}`, outside the service directory; a package holds only \
             files from inside it: copy what it needs in, or exclude it with `!{path}{}`",
            target.display(),
            if *dir { "/**" } else { "" }
        ),
        Problem::Broken { target } => format!(
            "`{path}` is a broken symlink (its target `{}` does not exist): remove it or exclude \
             it with `!{path}`",
            target.display()
        ),
        Problem::Loop { target } => format!(
            "`{path}` is a symlink to `{}`, one of its own parent directories: exclude it with \
             `!{path}/**`",
            target.display()
        ),
        Problem::NotUtf8 => {
            format!("`{path}` has a name that is not valid UTF-8: rename it or exclude it")
        }
        Problem::Unreadable(e) => format!("cannot read `{path}`: {e}"),
    }
}

pub(super) fn bootstrap_message(
    function: &str,
    runtime: &str,
    arch: &str,
    built_for: Option<&str>,
    artifact: &str,
) -> String {
    let (flag, target) = if arch == "arm64" {
        (" --arm64", "aarch64-unknown-linux-musl")
    } else {
        ("", "x86_64-unknown-linux-musl")
    };
    let build = format!(
        "build it first — for Rust, `cargo lambda build --release{flag}` and copy target/lambda/<crate>/bootstrap here, or `cargo build --release --target {target}` and copy the binary as `bootstrap`"
    );
    match built_for {
        None => format!(
            "`{artifact}` has no `bootstrap` at its root, which the `{runtime}` runtime of function `{function}` runs: {build}"
        ),
        Some(other) => format!(
            "`bootstrap` in `{artifact}` is built for {other}, but function `{function}` runs on {arch} (`architecture`): Lambda could not start it; {build}, or set `architecture: {}`",
            if other == "aarch64" { "arm64" } else { other }
        ),
    }
}

/// The instruction set of an ELF executable (its `e_machine`), when it is one of Lambda's;
/// None for a script or anything else, which the check leaves alone.
pub fn elf_machine(head: &[u8]) -> Option<&'static str> {
    if head.len() < 20 || &head[..4] != b"\x7fELF" {
        return None;
    }
    // EI_DATA: 1 little-endian, 2 big-endian.
    let machine = match head[5] {
        1 => u16::from_le_bytes([head[18], head[19]]),
        2 => u16::from_be_bytes([head[18], head[19]]),
        _ => return None,
    };
    match machine {
        0x3e => Some("x86_64"),
        0xb7 => Some("aarch64"),
        _ => None,
    }
}

/// A custom runtime (`provided.*`) runs the zip's `bootstrap`: it must be there and, when it
/// is an ELF binary, built for the function's architecture.
pub(super) fn check_bootstrap<'a>(
    config: &Config,
    plan: &Plan,
    chosen: impl Iterator<Item = &'a Entry> + Clone,
) -> Result<(), PackageError> {
    for fname in &plan.functions {
        let Some(f) = config.functions.as_ref().and_then(|fs| fs.get(fname)) else {
            continue;
        };
        let rt = runtime::of(config, f);
        if Family::of(rt) != Family::Provided {
            continue;
        }
        let arch = runtime::architecture_of(config, f);
        let err = |built_for| PackageError::Bootstrap {
            function: fname.clone(),
            runtime: rt.to_string(),
            arch,
            built_for,
            artifact: plan.name.clone(),
        };
        let Some(bootstrap) = chosen.clone().find(|e| e.rel == "bootstrap") else {
            return Err(err(None));
        };
        let mut head = [0u8; 20];
        let read = fs::File::open(&bootstrap.path)
            .and_then(|mut file| io::Read::read(&mut file, &mut head))
            .unwrap_or(0);
        let want = if arch == "arm64" { "aarch64" } else { "x86_64" };
        match elf_machine(&head[..read]) {
            Some(m) if m != want => return Err(err(Some(m))),
            Some(_) | None => {}
        }
    }
    Ok(())
}

pub(super) fn handler_message(
    function: &str,
    handler: &str,
    candidates: &[String],
    excluded: bool,
    artifact: &str,
) -> String {
    let files = candidates
        .iter()
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(" or ");
    if excluded {
        format!(
            "the handler `{handler}` of function `{function}` is in {files}, which \
             package.patterns leave out of `{artifact}`: add a pattern that includes it"
        )
    } else {
        format!(
            "the handler `{handler}` of function `{function}` needs {files}, which does not exist \
             in `{artifact}`"
        )
    }
}

pub(super) fn largest_lines(largest: &[(String, u64)]) -> String {
    largest
        .iter()
        .map(|(p, s)| format!("  {:>10}  {p}", human_bytes(*s)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `1.5 MB`, `312 KB`, `18 B` (powers of 1024, as Lambda's console shows them).
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KB", "MB", "GB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// The files a handler can live in, for runtimes whose handler names a file.
pub fn handler_files(handler: &str, runtime: &str) -> Vec<String> {
    let family = Family::of(runtime);
    let Some((module, _)) = family.split_handler(handler) else {
        return Vec::new();
    };
    match family {
        Family::Node => ["js", "mjs", "cjs"]
            .iter()
            .map(|ext| format!("{module}.{ext}"))
            .collect(),
        Family::Python => {
            let mut v = vec![format!("{module}.py")];
            let dotted = format!("{}.py", module.replace('.', "/"));
            if !v.contains(&dotted) {
                v.push(dotted);
            }
            v
        }
        Family::Ruby => vec![format!("{module}.rb")],
        Family::Java | Family::Dotnet | Family::Provided | Family::Other => Vec::new(),
    }
}

pub(super) fn check_handlers(
    config: &Config,
    plan: &Plan,
    names: &[&str],
    entries: &[Entry],
    matcher: &Patterns,
) -> Result<(), PackageError> {
    let functions = config.functions.as_ref();
    for fname in &plan.functions {
        let Some(f) = functions.and_then(|fs| fs.get(fname)) else {
            continue;
        };
        let Some(handler) = &f.handler else { continue };
        let candidates = handler_files(handler, runtime::of(config, f));
        if candidates.is_empty()
            || candidates
                .iter()
                .any(|c| names.binary_search(&c.as_str()).is_ok())
        {
            continue;
        }
        let exists = candidates.iter().any(|c| {
            entries
                .binary_search_by(|e| e.rel.as_str().cmp(c))
                .is_ok_and(|i| !matcher.includes(&entries[i].rel))
        });
        return Err(PackageError::Handler {
            function: fname.clone(),
            handler: handler.clone(),
            candidates,
            excluded: exists,
            artifact: plan.name.clone(),
        });
    }
    Ok(())
}

/// Sizes summed by leading path (two segments, three for a scoped npm package), largest first.
pub(super) fn largest<'a>(entries: impl Iterator<Item = &'a Entry>) -> Vec<(String, u64)> {
    let mut by: HashMap<String, u64> = HashMap::new();
    for e in entries {
        let segs: Vec<&str> = e.rel.splitn(4, '/').collect();
        let take = if segs.len() > 2 && segs[1].starts_with('@') {
            3
        } else {
            2
        };
        let key = segs[..take.min(segs.len())].join("/");
        *by.entry(key).or_default() += e.size;
    }
    let mut v: Vec<(String, u64)> = by.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(8);
    v
}
