//! Exit codes: part of the interface for release scripts, documented in docs/src/exit-codes.md.

/// Success (including "nothing to do").
pub const OK: u8 = 0;
/// An unexpected failure (I/O and the like); the message says what.
pub const FAILURE: u8 = 1;
/// The command line was wrong (unknown flag, missing argument, bad `--path`).
pub const USAGE: u8 = 2;
/// The configuration is invalid: YAML, variables or validation, or an event source it names
/// does not exist in AWS (looked up before any change). Nothing was touched.
pub const CONFIG: u8 = 3;
/// Packaging failed: a file that cannot be packaged, a missing handler, a size limit. Nothing in
/// AWS was touched.
pub const PACKAGE: u8 = 4;
/// An AWS call failed (the message names the call, the resource and what to do), or no AWS
/// credentials were found.
pub const AWS: u8 = 5;
/// A resource with our name exists without our ownership tags, or an alias changed while the
/// command ran (its `RevisionId` no longer matched); nothing was overwritten.
pub const CONFLICT: u8 = 6;
/// A gradual promote's check failed and every alias was rolled back.
pub const ROLLED_BACK: u8 = 7;
/// `sls invoke local` or `sls invoke -f`: the function ran and returned an error (printed as its
/// result).
pub const FUNCTION_ERROR: u8 = 8;
/// Another changing command (deploy, remove, an alias move) of the same service and stage holds
/// the lease; nothing was done.
pub const LOCKED: u8 = 9;
/// `sls adopt` refused the stack as it is (not v3's, not stable, a resource it cannot take over,
/// an export another stack imports); nothing was changed.
pub const ADOPT_REFUSED: u8 = 10;
/// Interrupted (Ctrl-C or SIGTERM): a changing command stopped between steps and gave its lease
/// back, or, at a second Ctrl-C, at once. Running the command again converges.
pub const INTERRUPTED: u8 = 130;

/// How a failure is reported: its exit code, its `kind` in the `--json` error document, and
/// whether the command already printed its own report (then only one line is added).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    pub code: u8,
    pub kind: &'static str,
    pub printed: bool,
}

/// The exit code of an error, from its type: the one mapping from errors to codes.
pub fn classify(e: &anyhow::Error) -> Failure {
    use crate::provider::aws::AwsError;
    let is = |code, kind| Failure {
        code,
        kind,
        printed: false,
    };
    if e.downcast_ref::<crate::config::ConfigError>().is_some() {
        return is(CONFIG, "config");
    }
    if e.downcast_ref::<crate::release::RolledBack>().is_some() {
        return Failure {
            printed: true,
            ..is(ROLLED_BACK, "rolledBack")
        };
    }
    if e.downcast_ref::<crate::local::FunctionError>().is_some() {
        return Failure {
            printed: true,
            ..is(FUNCTION_ERROR, "function")
        };
    }
    if e.downcast_ref::<crate::session::UsageError>().is_some() {
        return is(USAGE, "usage");
    }
    if e.downcast_ref::<crate::plan::adopt::Refused>().is_some() {
        return is(ADOPT_REFUSED, "refused");
    }
    if e.downcast_ref::<crate::package::PackageError>().is_some() {
        return is(PACKAGE, "package");
    }
    match e.downcast_ref::<AwsError>() {
        Some(AwsError::AliasChanged { .. } | AwsError::NotOurs(_) | AwsError::Foreign { .. }) => {
            return is(CONFLICT, "conflict");
        }
        Some(AwsError::Locked { .. }) => return is(LOCKED, "locked"),
        Some(AwsError::Interrupted(_)) => return is(INTERRUPTED, "interrupted"),
        Some(AwsError::MissingSources(_)) => return is(CONFIG, "config"),
        Some(_) => return is(AWS, "aws"),
        None => {}
    }
    if e.downcast_ref::<crate::plan::ConflictError>().is_some() {
        return is(CONFLICT, "conflict");
    }
    is(FAILURE, "failure")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_map_to_their_codes() {
        let code = |e: anyhow::Error| classify(&e).code;
        assert_eq!(code(crate::session::UsageError("x".into()).into()), USAGE);
        assert_eq!(code(crate::plan::ConflictError(vec![]).into()), CONFLICT);
        assert_eq!(
            code(
                crate::provider::aws::AwsError::AliasChanged {
                    function: "f".into(),
                    alias: "live".into()
                }
                .into()
            ),
            CONFLICT
        );
        assert_eq!(
            code(crate::provider::aws::AwsError::Other("x".into()).into()),
            AWS
        );
        assert_eq!(code(anyhow::anyhow!("disk full")), FAILURE);
        let f = classify(&crate::local::FunctionError("Boom".into()).into());
        assert!(f.printed && f.code == FUNCTION_ERROR);
    }
}
