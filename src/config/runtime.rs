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
}

/// The runtime a function runs on: its own, else the provider's, else [`DEFAULT`].
pub fn of<'a>(config: &'a Config, f: &'a Function) -> &'a str {
    f.runtime
        .as_deref()
        .or(config.provider.runtime.as_deref())
        .unwrap_or(DEFAULT)
}

#[cfg(test)]
mod tests {
    use super::Family;

    #[test]
    fn families_follow_the_identifier_prefix() {
        assert_eq!(Family::of("nodejs22.x"), Family::Node);
        assert_eq!(Family::of("python3.12"), Family::Python);
        assert_eq!(Family::of("provided.al2023"), Family::Provided);
        assert_eq!(Family::of("java21"), Family::Java);
        assert_eq!(Family::of("go1.x"), Family::Other);
    }
}
