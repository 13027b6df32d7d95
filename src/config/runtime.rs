//! Lambda runtimes as sls needs them: which family a runtime identifier belongs to (what its
//! handler names, how it is packaged and run locally), and which runtime a function runs on.

use super::Config;
use super::model::Function;

/// The runtime of a function that names none, nor its provider (Serverless v3 picks the newest
/// Node.js).
pub const DEFAULT: &str = "nodejs22.x";

/// A family of runtime identifiers (`python3.12` → [`Family::Python`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Node,
    Python,
    Ruby,
    Java,
    Dotnet,
    /// OS-only runtimes: the package's `bootstrap` is the program.
    Provided,
    Other,
}

impl Family {
    pub fn of(runtime: &str) -> Family {
        [
            ("nodejs", Family::Node),
            ("python", Family::Python),
            ("ruby", Family::Ruby),
            ("java", Family::Java),
            ("dotnet", Family::Dotnet),
            ("provided", Family::Provided),
        ]
        .into_iter()
        .find(|(prefix, _)| runtime.starts_with(prefix))
        .map_or(Family::Other, |(_, family)| family)
    }

    /// A handler's file (without extension) and the name inside it, split as the family's
    /// runtime splits it: Node.js at the first `.` of the file name, the rest being a path of
    /// nested exports (`handler.api.get` is `api.get` of handler.js); the others at the last
    /// `.` (Python's dotted module path `pkg.mod.fn` is module `pkg.mod`).
    pub fn split_handler(self, handler: &str) -> Option<(&str, &str)> {
        match self {
            Family::Node => {
                let dir = handler.rfind('/').map_or(0, |i| i + 1);
                let dot = dir + handler[dir..].find('.')?;
                Some((&handler[..dot], &handler[dot + 1..]))
            }
            Family::Python
            | Family::Ruby
            | Family::Java
            | Family::Dotnet
            | Family::Provided
            | Family::Other => handler.rsplit_once('.'),
        }
    }
}

/// A Lambda runtime with the dates AWS publishes for it (ISO dates): when it is deprecated,
/// when Lambda stops creating functions with it, and when it stops updating them. Projected
/// dates for current runtimes, past ones for the rest; `None` where AWS published none.
/// Source: the AWS Lambda developer guide's runtimes page and its deprecation policy, as read
/// in 2025-11. AWS has moved these dates before, so they inform warnings and never refuse a
/// deploy: AWS's own answer is the last word.
#[derive(Debug, Clone, Copy)]
pub struct Lifecycle {
    pub id: &'static str,
    pub deprecated: Option<&'static str>,
    pub create_blocked: Option<&'static str>,
    pub update_blocked: Option<&'static str>,
}

const fn rt(
    id: &'static str,
    deprecated: &'static str,
    create_blocked: &'static str,
    update_blocked: &'static str,
) -> Lifecycle {
    const fn some(d: &'static str) -> Option<&'static str> {
        if d.is_empty() { None } else { Some(d) }
    }
    Lifecycle {
        id,
        deprecated: some(deprecated),
        create_blocked: some(create_blocked),
        update_blocked: some(update_blocked),
    }
}

/// Every runtime identifier Lambda has had, newest first within a language.
pub const LIFECYCLES: &[Lifecycle] = &[
    rt("nodejs24.x", "2028-04-30", "2028-06-01", "2028-07-01"),
    rt("nodejs22.x", "2027-04-30", "2027-06-01", "2027-07-01"),
    rt("nodejs20.x", "2026-04-30", "2026-06-01", "2026-07-01"),
    rt("nodejs18.x", "2025-09-01", "2026-02-03", "2026-03-09"),
    rt("nodejs16.x", "2024-06-12", "2026-02-03", "2026-03-09"),
    rt("nodejs14.x", "2023-12-04", "2024-01-09", "2024-02-08"),
    rt("nodejs12.x", "2023-03-31", "2023-03-31", "2023-04-30"),
    rt("nodejs10.x", "2021-07-30", "2021-07-30", "2022-02-14"),
    rt("nodejs8.10", "2019-12-31", "2020-01-06", "2020-03-06"),
    rt("nodejs6.10", "2019-04-30", "2019-04-30", "2019-08-12"),
    rt("nodejs4.3-edge", "2018-04-30", "2018-12-15", "2019-04-30"),
    rt("nodejs4.3", "2018-04-30", "2018-12-15", "2020-03-05"),
    rt("nodejs", "2016-10-31", "2016-10-31", "2016-10-31"),
    rt("python3.14", "2029-06-30", "2029-07-31", "2029-08-31"),
    rt("python3.13", "2029-06-30", "2029-07-31", "2029-08-31"),
    rt("python3.12", "2028-10-31", "2028-11-30", "2029-01-10"),
    rt("python3.11", "2026-06-30", "2026-07-31", "2026-08-31"),
    rt("python3.10", "2026-06-30", "2026-07-31", "2026-08-31"),
    rt("python3.9", "2025-12-15", "2026-06-01", "2026-07-01"),
    rt("python3.8", "2024-10-14", "2026-02-28", "2026-03-31"),
    rt("python3.7", "2023-12-04", "2024-01-09", "2024-02-08"),
    rt("python3.6", "2022-07-18", "2022-07-18", "2022-08-29"),
    rt("python2.7", "2021-07-15", "2021-07-15", "2022-05-30"),
    rt("ruby3.4", "2028-03-31", "2028-04-30", "2028-05-31"),
    rt("ruby3.3", "2027-03-31", "2027-04-30", "2027-05-31"),
    rt("ruby3.2", "2026-03-31", "2026-06-01", "2026-07-01"),
    rt("ruby2.7", "2023-12-07", "2024-01-09", "2024-02-08"),
    rt("ruby2.5", "2021-07-30", "2021-07-30", "2022-03-31"),
    rt("java25", "2029-06-30", "2029-07-31", "2029-08-31"),
    rt("java21", "2029-06-30", "2029-07-31", "2029-08-31"),
    rt("java17", "2026-06-30", "2026-07-31", "2026-08-31"),
    rt("java11", "2026-06-30", "2026-07-31", "2026-08-31"),
    rt("java8.al2", "2026-06-30", "2026-07-31", "2026-08-31"),
    rt("java8", "2024-01-08", "2024-02-08", "2024-02-08"),
    rt("dotnet10", "2028-11-14", "2028-12-14", "2029-01-15"),
    rt("dotnet8", "2026-11-10", "2026-12-10", "2027-01-11"),
    rt("dotnet7", "2024-05-14", "", ""),
    rt("dotnet6", "2024-12-20", "2026-02-28", "2026-03-31"),
    rt("dotnet5.0", "2022-05-10", "", ""),
    rt("dotnetcore3.1", "2023-04-03", "2023-04-03", "2023-05-03"),
    rt("dotnetcore2.1", "2022-01-05", "2022-01-05", "2022-04-13"),
    rt("dotnetcore2.0", "2019-04-30", "2019-04-30", "2019-05-30"),
    rt("dotnetcore1.0", "2019-06-27", "2019-06-27", "2019-07-30"),
    rt("provided.al2023", "2029-06-30", "2029-07-31", "2029-08-31"),
    rt("provided.al2", "2026-06-30", "2026-07-31", "2026-08-31"),
    rt("provided", "2024-01-08", "2024-02-08", "2024-02-08"),
    rt("go1.x", "2024-01-08", "2024-02-08", "2024-02-08"),
];

/// Where a runtime stands on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Supported,
    /// Deprecated: no more patches, but functions can still be created and updated.
    Deprecated,
    /// Lambda refuses to create functions with it; existing ones can still be updated.
    CreateBlocked,
    /// Lambda refuses to create or update functions with it; they still run.
    UpdateBlocked,
}

impl Lifecycle {
    pub fn find(id: &str) -> Option<&'static Lifecycle> {
        LIFECYCLES.iter().find(|l| l.id == id)
    }

    /// The stage on `today` (an ISO date: they compare as strings).
    pub fn stage(&self, today: &str) -> Stage {
        let reached = |d: Option<&str>| d.is_some_and(|d| d <= today);
        if reached(self.update_blocked) {
            Stage::UpdateBlocked
        } else if reached(self.create_blocked) {
            Stage::CreateBlocked
        } else if reached(self.deprecated) {
            Stage::Deprecated
        } else {
            Stage::Supported
        }
    }

    /// The runtime of the same language to move to: the supported one kept longest.
    pub fn successor(&self, today: &str) -> Option<&'static str> {
        // Go moved to the OS-only runtimes.
        let family = match Family::of(self.id) {
            Family::Other => Family::Provided,
            f => f,
        };
        // Reversed, so that of two kept as long the newer (listed first) wins the tie.
        LIFECYCLES
            .iter()
            .rev()
            .filter(|l| Family::of(l.id) == family && l.stage(today) == Stage::Supported)
            .max_by_key(|l| l.deprecated)
            .map(|l| l.id)
    }
}

/// Today's date in UTC, as an ISO date.
pub fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    aws_smithy_types::DateTime::from_secs(secs as i64)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .map(|s| s[..10].to_string())
        .unwrap_or_default()
}

/// The runtime a function runs on: its own, else the provider's, else [`DEFAULT`].
pub fn of<'a>(config: &'a Config, f: &'a Function) -> &'a str {
    f.runtime
        .as_deref()
        .or(config.provider.runtime.as_deref())
        .unwrap_or(DEFAULT)
}

/// The first file called `name` in the directories of a `PATH` value.
pub fn on_path(path: &std::ffi::OsStr, name: &str) -> Option<std::path::PathBuf> {
    std::env::split_paths(path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// The instruction set a function runs on, as Lambda names it: its own `architecture`, else
/// the provider's, else `x86_64`.
pub fn architecture_of(config: &Config, f: &Function) -> &'static str {
    match f.architecture.or(config.provider.architecture) {
        Some(crate::config::model::Architecture::Arm64) => "arm64",
        Some(crate::config::model::Architecture::X86_64) | None => "x86_64",
    }
}

/// The directory a Python function's package is made from (`module`, as serverless-python-
/// requirements reads it): only with `package.individually`, and not `.`.
pub fn module_of<'a>(config: &Config, f: &'a Function) -> Option<&'a str> {
    let individually = f
        .package
        .as_ref()
        .and_then(|p| p.individually)
        .or_else(|| config.package.as_ref().and_then(|p| p.individually))
        == Some(true);
    let python = Family::of(of(config, f)) == Family::Python;
    f.module
        .as_deref()
        .map(|m| m.trim_end_matches('/'))
        .filter(|m| individually && python && !m.is_empty() && *m != ".")
}

#[cfg(test)]
mod tests {
    use super::{Family, Lifecycle, Stage};

    #[test]
    fn a_runtime_moves_through_its_stages_on_the_published_dates() {
        let node18 = Lifecycle::find("nodejs18.x").unwrap();
        assert_eq!(node18.stage("2025-08-31"), Stage::Supported);
        assert_eq!(node18.stage("2025-09-01"), Stage::Deprecated);
        assert_eq!(node18.stage("2026-02-03"), Stage::CreateBlocked);
        assert_eq!(node18.stage("2026-03-09"), Stage::UpdateBlocked);
        // Container-only runtimes have no blocking dates: deprecated for good.
        assert_eq!(
            Lifecycle::find("dotnet7").unwrap().stage("2030-01-01"),
            Stage::Deprecated
        );
        assert!(Lifecycle::find("nodejs99.x").is_none());
    }

    #[test]
    fn the_successor_is_the_supported_runtime_of_the_language_kept_longest() {
        let old = Lifecycle::find("nodejs8.10").unwrap();
        assert_eq!(old.successor("2026-11-26"), Some("nodejs24.x"));
        assert_eq!(
            Lifecycle::find("python3.9")
                .unwrap()
                .successor("2026-11-26"),
            Some("python3.14")
        );
        assert_eq!(
            Lifecycle::find("go1.x").unwrap().successor("2026-11-26"),
            Some("provided.al2023")
        );
    }

    #[test]
    fn today_is_an_iso_date() {
        let t = super::today();
        assert_eq!(t.len(), 10);
        assert_eq!(&t[4..5], "-");
    }

    #[test]
    fn families_follow_the_identifier_prefix() {
        assert_eq!(Family::of("nodejs22.x"), Family::Node);
        assert_eq!(Family::of("python3.12"), Family::Python);
        assert_eq!(Family::of("provided.al2023"), Family::Provided);
        assert_eq!(Family::of("java21"), Family::Java);
        assert_eq!(Family::of("go1.x"), Family::Other);
    }
}
