//! `sls`: deploy AWS Lambda services from `serverless.yml` without CloudFormation.
//!
//! The pipeline, one module a stage: `config` (parse, variables, validation) → `commands`
//! (one verb each) → `output` (what the user sees). Packaging, planning and the AWS provider
//! join this list as they are built.

pub mod cli;
pub mod commands;
pub mod config;
pub mod diag;
pub mod exit;
pub mod output;
