//! Keeps the book honest: every page in SUMMARY.md exists, every exit code is documented, and the
//! README's first command does what it says.

use std::path::PathBuf;

fn docs() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/src")
}

#[test]
fn summary_links_exist() {
    let summary = std::fs::read_to_string(docs().join("SUMMARY.md")).unwrap();
    let mut n = 0;
    for link in summary.split("](").skip(1) {
        let target = link.split(')').next().unwrap();
        assert!(
            docs().join(target).is_file(),
            "SUMMARY.md links to missing {target}"
        );
        n += 1;
    }
    assert!(n >= 5, "found only {n} links");
}

/// The codes as `src/exit.rs` declares them (`pub const NAME: u8 = N;`), read from the source
/// so that a new code cannot be left out of the page.
fn declared_exit_codes() -> Vec<(String, u8)> {
    let source = std::fs::read_to_string(sls_root().join("src/exit.rs")).unwrap();
    source
        .lines()
        .filter_map(|l| {
            let rest = l.trim().strip_prefix("pub const ")?;
            let (name, value) = rest.split_once(": u8 = ")?;
            Some((name.to_string(), value.trim_end_matches(';').parse().ok()?))
        })
        .collect()
}

#[test]
fn every_exit_code_is_documented_and_the_page_lists_no_other() {
    let page = std::fs::read_to_string(docs().join("exit-codes.md")).unwrap();
    let declared = declared_exit_codes();
    assert!(declared.len() >= 9, "{declared:?}");
    for (name, code) in &declared {
        assert!(
            page.contains(&format!("| {code} |")),
            "exit code {code} ({name}) is not in exit-codes.md"
        );
    }
    let listed: Vec<u8> = page
        .lines()
        .filter_map(|l| l.strip_prefix("| ")?.split(' ').next()?.parse().ok())
        .collect();
    for code in listed {
        assert!(
            declared.iter().any(|(_, c)| *c == code),
            "exit-codes.md lists {code}, which src/exit.rs does not declare"
        );
    }
}

#[test]
fn the_readmes_first_command_runs_the_example_locally() {
    let readme = std::fs::read_to_string(sls_root().join("README.md")).unwrap();
    let block = readme.split("```sh\n").nth(1).unwrap();
    let first = block.lines().next().unwrap();
    assert!(first.starts_with("scripts/demo "), "{first}");
    let out = std::process::Command::new("bash")
        .arg("scripts/demo")
        .current_dir(sls_root())
        .env("SLS_BIN", env!("CARGO_BIN_EXE_sls"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(r#"{"stage":"dev","users":[{"id":"1","name":"Ada"}]}"#),
        "{stdout}"
    );
    assert!(stdout.contains(r#"{"id":"2","name":"Grace"}"#), "{stdout}");
    assert!(stdout.contains(r#""trigger": "http""#), "{stdout}");
}

fn sls_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The keys `configuration.md` documents for the provider and for functions, without those it
/// documents as refused, accepted or without effect.
fn documented_deployed_keys() -> Vec<String> {
    let page = std::fs::read_to_string(docs().join("configuration.md")).unwrap();
    let mut keys = Vec::new();
    let mut in_section = false;
    for line in page.lines() {
        if let Some(h) = line.strip_prefix("## ") {
            in_section = h == "provider" || h.starts_with("functions.");
            continue;
        }
        if !in_section || !line.starts_with("| `") {
            continue;
        }
        let cells: Vec<&str> = line.split(" | ").collect();
        let notes = cells.last().unwrap_or(&"").to_ascii_lowercase();
        if notes.contains("refused with their location")
            || notes.contains("are refused")
            || notes.starts_with("accepted")
            || notes.contains("a one-line note")
            || notes.contains("**refused**")
        {
            continue;
        }
        for key in cells[0].trim_start_matches("| ").split(", ") {
            let key = key.trim_matches('`');
            keys.push(key.split(':').next().unwrap().trim().to_string());
        }
    }
    keys
}

#[test]
fn every_documented_key_is_used_by_a_config_that_deploys_against_moto() {
    let root = sls_root();
    let corpus: String = [
        "tests/it/deploy.rs",
        "tests/it/alias.rs",
        "tests/it/transcripts.rs",
        "tests/it/versions.rs",
        "tests/fixtures/every-key.yml",
        "serverless.example.yml",
    ]
    .iter()
    .map(|p| std::fs::read_to_string(root.join(p)).unwrap())
    .collect();
    // Keys that choose where to deploy rather than what: they never reach AWS as a setting.
    let not_settings = ["profile", "name", "stage", "region"];
    let keys = documented_deployed_keys();
    assert!(keys.len() > 40, "{keys:?}");
    let missing: Vec<&String> = keys
        .iter()
        .filter(|k| !not_settings.contains(&k.as_str()))
        .filter(|k| {
            let last = k.rsplit('.').next().unwrap();
            !corpus.contains(&format!("{last}:"))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "documented as deployed, but no test config that deploys uses them: {missing:?}"
    );
}

/// The subcommands `sls ARGS --help` lists under "Commands:".
fn subcommands(args: &[&str]) -> Vec<String> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sls"))
        .args(args)
        .arg("--help")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout).to_string();
    help.split("Commands:\n")
        .nth(1)
        .map(|rest| {
            rest.lines()
                .take_while(|l| l.starts_with("  "))
                .filter_map(|l| l.split_whitespace().next())
                .filter(|w| *w != "help")
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// `sls WORD [WORD]` as the book and the README write commands: in inline code and in code
/// blocks, not in prose ("sls deploys…"). Lines that speak of Serverless v3's own commands
/// (what sls says instead of them) are left out.
fn commands_named(text: &str) -> Vec<(String, Option<String>)> {
    let mut found = Vec::new();
    let mut in_block = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if line.contains("v3") {
            continue;
        }
        // A code block's comments are prose.
        let code = line.split(" #").next().unwrap_or(line);
        let code = if code.trim_start().starts_with('#') {
            ""
        } else {
            code
        };
        let spans: Vec<&str> = if in_block {
            vec![code]
        } else {
            line.split('`').skip(1).step_by(2).collect()
        };
        for span in spans {
            for (i, _) in span.match_indices("sls ") {
                if i > 0 && !span[..i].ends_with([' ', '(', '|', '$', ';', '&']) {
                    continue;
                }
                let mut words = span[i + 4..].split_whitespace();
                let Some(first) = words.next() else { continue };
                // `sls previous versions: 7 5 3` is the text sls keeps in an alias, not a command.
                if !first.chars().all(|c| c.is_ascii_lowercase() || c == '-')
                    || first.starts_with('-')
                    || first == "previous"
                {
                    continue;
                }
                let second = words
                    .next()
                    .filter(|w| w.chars().all(|c| c.is_ascii_lowercase()))
                    .map(str::to_string);
                found.push((first.to_string(), second));
            }
        }
    }
    found
}

#[test]
fn every_command_the_docs_name_is_in_help() {
    let top = subcommands(&[]);
    assert!(top.len() > 10, "{top:?}");
    let mut pages: Vec<(String, String)> = vec![(
        "README.md".into(),
        std::fs::read_to_string(sls_root().join("README.md")).unwrap(),
    )];
    let mut dirs = vec![docs()];
    while let Some(dir) = dirs.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "md") {
                pages.push((
                    p.display().to_string(),
                    std::fs::read_to_string(&p).unwrap(),
                ));
            }
        }
    }
    let mut checked = 0;
    let mut wrong = Vec::new();
    let mut subs_of: std::collections::HashMap<String, Vec<String>> = Default::default();
    for (page, text) in &pages {
        for (first, second) in commands_named(text) {
            checked += 1;
            if !top.contains(&first) {
                wrong.push(format!("{page}: `sls {first}`"));
                continue;
            }
            let subs = subs_of
                .entry(first.clone())
                .or_insert_with(|| subcommands(&[first.as_str()]));
            if let Some(second) = second
                && !subs.is_empty()
                && !subs.contains(&second)
            {
                wrong.push(format!("{page}: `sls {first} {second}`"));
            }
        }
    }
    assert!(checked > 50, "only {checked} commands found in the docs");
    assert!(
        wrong.is_empty(),
        "named in the docs, not in --help: {wrong:#?}"
    );
}
