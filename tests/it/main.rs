//! The end-to-end tests, one binary with a module per topic: they run the built `sls` through
//! pipes or a pseudo-terminal, against moto or on this machine (offline, invoke local). One
//! binary links the AWS SDK once, where a binary per topic linked it once each.

mod common;

mod adopt;
mod alias;
mod bad_input;
mod bundle;
mod cli;
mod create;
mod deploy;
mod docs;
mod fuzz;
mod lease;
mod local;
mod offline;
mod package;
mod python;
mod remote;
mod resources;
mod secrets;
mod survive;
mod template_rust;
mod terminal;
mod transcripts;
mod versions;
