//! `sls`: deploy AWS Lambda services from `serverless.yml` without CloudFormation.
//!
//! The pipeline, one module a stage: `config` (parse, variables, validation) → `commands`
//! (one verb each) → `output` (what the user sees). Packaging, planning and the AWS provider
//! join this list as they are built.

// Config problems carry a span, notes and a hint, which makes them large; they are built at most a
// few times per run, on the way out, so boxing them would buy nothing but noise.
#![allow(clippy::result_large_err)]

pub mod cli;
pub mod commands;
pub mod config;
pub mod diag;
pub mod exit;
pub mod local;
pub mod output;
pub mod package;
pub mod plan;
pub mod provider;
pub mod release;
pub mod scaffold;
pub mod session;
