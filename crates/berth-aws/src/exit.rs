//! The error type that carries an exit code. The codes themselves are defined once, with their
//! meanings, in `crates/cli` ([`cli::exit`]); the README's table is rendered from there.

use std::fmt;

pub use cli::Code;

/// A command's failure: what to say and which exit code to end with.
#[derive(Debug)]
pub struct Failure {
    pub code: Code,
    pub error: anyhow::Error,
}

impl Failure {
    pub fn new(code: Code, message: impl fmt::Display) -> Self {
        Failure {
            code,
            error: anyhow::anyhow!("{message}"),
        }
    }
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure {
            code: Code::Error,
            error: e.into(),
        }
    }
}

pub type Result<T> = std::result::Result<T, Failure>;

/// Returns early with a failure of the given code.
#[macro_export]
macro_rules! fail {
    ($code:expr, $($arg:tt)*) => {
        return Err($crate::exit::Failure::new($code, format!($($arg)*)))
    };
}
