//! Where plans are carried out. Only AWS for now.

pub mod aws;
