//! Confirmation before anything irreversible. Every prompt is answerable by a flag (`--yes`).

use std::io::{BufRead, IsTerminal, Write};

/// Asks a yes/no question.
pub trait Confirm: Send + Sync {
    /// `None` when nobody can answer (no terminal); otherwise the answer.
    fn confirm(&self, question: &str) -> Option<bool>;
}

/// Asks on the terminal; answers `None` when stdin is not one.
pub struct Terminal;

impl Confirm for Terminal {
    fn confirm(&self, question: &str) -> Option<bool> {
        if !std::io::stdin().is_terminal() {
            return None;
        }
        let mut err = std::io::stderr();
        let _ = write!(err, "{question} [y/N] ");
        let _ = err.flush();
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer).ok()?;
        Some(matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
    }
}

/// A fixed answer, for tests and `--yes`.
pub struct Answer(pub Option<bool>);

impl Confirm for Answer {
    fn confirm(&self, _question: &str) -> Option<bool> {
        self.0
    }
}
