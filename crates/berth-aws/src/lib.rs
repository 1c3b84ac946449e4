//! Everything in berth that talks to AWS. `cargo xtask deploy|diff|destroy|status|rollback|secrets|ami`
//! and the commands that operate a stage (`pipeline`, `service`, `logs`, `drift`) run this crate's
//! binary, so that the rest of berth (and `cargo xtask synth`) never compiles the AWS SDK.

pub mod ami;
pub mod aws;
pub mod changeset;
pub mod cli;
pub mod commands;
pub mod deploy;
pub mod drift;
pub mod exit;
pub mod follow;
pub mod logs;
pub mod ops;
pub mod output;
pub mod pipeline;
pub mod prompt;
pub mod protection;
pub mod secrets;
pub mod service;
pub mod stack;
pub mod terminal;
pub mod validation;
