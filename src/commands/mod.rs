//! One file per verb (or pair of verbs). Commands stay thin: they wire config → package → plan →
//! provider or local runner → output and hold no logic of their own.

pub mod adopt;
pub mod alias;
pub mod config;
pub mod cost;
pub mod create;
pub mod deploy;
pub mod info;
pub mod invoke;
pub mod local;
pub mod logs;
pub mod metrics;
pub mod package;
pub mod print;
pub mod remove;
pub mod tune;
