//! Exit codes: part of the interface for release scripts, documented in docs/src/exit-codes.md.

/// Success (including "nothing to do").
pub const OK: u8 = 0;
/// An unexpected failure (I/O and the like); the message says what.
pub const FAILURE: u8 = 1;
/// The command line was wrong (unknown flag, missing argument, bad `--path`).
pub const USAGE: u8 = 2;
/// The configuration is invalid: YAML, variables or validation. Nothing was touched.
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
/// `sls invoke local`: the function ran and returned an error (printed as its result).
pub const FUNCTION_ERROR: u8 = 8;
