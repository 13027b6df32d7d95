//! One file per verb. Commands stay thin: they wire config → (later: package → plan → provider)
//! → output and hold no logic of their own.

pub mod alias;
pub mod create;
pub mod deploy;
pub mod info;
pub mod package;
pub mod print;
pub mod remove;
