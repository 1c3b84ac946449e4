//! Dev's side of berth: the sample HTTP service the pipeline ships ([`server`], behind the default
//! `server` feature) and its buildspec as a typed model ([`buildspec`], which `cargo xtask synth` renders
//! without compiling the server's dependencies).

pub mod buildspec;
#[cfg(feature = "server")]
pub mod server;
