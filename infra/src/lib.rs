//! Ops's side of berth: the environment as typed CloudFormation.
//!
//! Two stacks per stage, both from stage-independent templates: the pipeline stack ([`pipeline`]),
//! deployed once per stage by Ops, and the service stack ([`service`]), deployed by the pipeline. Each
//! is a few named building blocks ([`blocks`]) wired together. What differs per stage comes from the
//! stage files ([`stage`]) as parameter values, held to bounds written once ([`bounds`]). This crate
//! never talks to AWS: it builds templates in memory. Loading the stage directory and gating the
//! result is `crates/environment`'s.

pub mod blocks;
pub mod bounds;
pub mod capacity;
pub mod credentials;
pub mod instance_types;
pub mod naming;
pub mod pipeline;
pub mod regions;
pub mod service;
pub mod stage;
pub mod time_zones;

use cfn::{Format, Template};
use pipeline_model::Stack;

pub use stage::{Stage, StageError};

/// The directory of the stage files, relative to the repository root.
pub const STAGES_DIR: &str = "infra/stages";

/// A stack's template, built for the format its sibling templates are committed in.
pub fn template(stack: Stack, format: Format) -> Template {
    match stack {
        Stack::Pipeline => pipeline::template(format.extension()),
        Stack::Service => service::template(),
    }
}
