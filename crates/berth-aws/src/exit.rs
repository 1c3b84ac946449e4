//! Exit codes and the error type that carries one.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | done (including "no changes") |
//! | 1 | error: bad input, an AWS call failed |
//! | 2 | `diff --exit-code`: there are changes |
//! | 3 | refused: confirmation needed (no terminal and no `--yes`), or declined |
//! | 4 | the stack operation failed (rolled back or failed) |
//! | 5 | the stack's state blocks the command (in progress, needs recreation or a rollback) |
//! | 6 | declared secrets are missing (`secrets check`, and `deploy service` before its change set) |
//! | 64 | usage error |
//! | 130 | interrupted (Ctrl-C): stopped following, the stack operation goes on |

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    Ok = 0,
    Error = 1,
    Changes = 2,
    Refused = 3,
    StackFailed = 4,
    Blocked = 5,
    SecretsMissing = 6,
    Usage = 64,
    Interrupted = 130,
}

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
