//! `sls`: deploy AWS Lambda services from `serverless.yml` without CloudFormation.
//!
//! The pipeline, one module a stage: `config` (parse, variables, validation) → `package` (zips,
//! digests, manifest) → `plan` (desired against observed state, one module per resource kind,
//! pure data) → `provider::aws` (per kind: observe and apply; `engine` runs a plan) → `output`.
//! `cli` parses and dispatches to `commands` (one thin file per verb), which start from
//! `session::Context`; `exit` maps errors to exit codes; `local` runs functions on this machine.
//! docs/src/contributing.md has the module map and the recipe for adding a resource kind.

// Config problems carry a span, notes and a hint, which makes them large; they are built at most a
// few times per run, on the way out, so boxing them would buy nothing but noise.
#![allow(clippy::result_large_err)]

pub mod cli;
pub mod commands;
pub mod config;
pub mod credentials;
pub mod diag;
pub mod exit;
pub mod interrupt;
pub mod local;
pub mod ops;
pub mod output;
pub mod package;
pub mod plan;
pub mod provider;
pub mod release;
pub mod scaffold;
pub mod session;
pub mod terminal;
