//! Confirmation before anything irreversible, and the no-echo prompt for secret values. Every prompt
//! is answerable by a flag or stdin (`--yes`, a value piped in), and every prompt gives way to Ctrl-C:
//! a question interrupted is answered "no", a secret prompt interrupted writes nothing, and the
//! terminal is left as it was found (echo on).

use std::io::{BufRead, IsTerminal, Write};
use std::sync::mpsc;
use std::time::Duration;

use crate::follow::Interrupt;

/// Asks a yes/no question.
pub trait Confirm: Send + Sync {
    /// `None` when nobody can answer (no terminal); otherwise the answer.
    fn confirm(&self, question: &str) -> Option<bool>;
}

/// Asks on the terminal; answers `None` when stdin is not one, "no" when interrupted.
pub struct Terminal {
    pub interrupt: Interrupt,
}

/// Waits for what `read` produces in a thread of its own, or for Ctrl-C (None). The thread stays
/// blocked on the terminal after an interrupt; the process ends soon after.
fn read_or_interrupt<T: Send + 'static>(
    interrupt: &Interrupt,
    read: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(read());
    });
    loop {
        if interrupt.fired() {
            return None;
        }
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(v) => return Some(v),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return None,
        }
    }
}

impl Confirm for Terminal {
    fn confirm(&self, question: &str) -> Option<bool> {
        if !std::io::stdin().is_terminal() {
            return None;
        }
        let mut err = std::io::stderr();
        let _ = write!(err, "{question} [y/N] ");
        let _ = err.flush();
        let answer = read_or_interrupt(&self.interrupt, || {
            let mut answer = String::new();
            std::io::stdin().lock().read_line(&mut answer).map(|_| answer)
        });
        if matches!(&answer, Some(Ok(a)) if a.is_empty()) {
            settle(&self.interrupt);
        }
        match answer {
            Some(Ok(a)) if !self.interrupt.fired() => {
                Some(matches!(a.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
            }
            // Interrupted: the read returned (EINTR, or a line typed at the same moment) or was left
            // waiting. Either way the answer is no.
            Some(Err(e)) if e.kind() != std::io::ErrorKind::Interrupted && !self.interrupt.fired() => {
                Some(false)
            }
            _ => {
                let _ = writeln!(err, "\n(interrupted: no)");
                Some(false)
            }
        }
    }
}

/// After a terminal read that ended without a line: a Ctrl-C ends the read that way a moment before
/// the interrupt is seen. Gives it that moment (at most a second).
fn settle(interrupt: &Interrupt) {
    for _ in 0..33 {
        if interrupt.fired() {
            return;
        }
        std::thread::sleep(Duration::from_millis(30));
    }
}

/// A fixed answer, for tests and `--yes`.
pub struct Answer(pub Option<bool>);

impl Confirm for Answer {
    fn confirm(&self, _question: &str) -> Option<bool> {
        self.0
    }
}

/// Asks for a value without echoing it. None when interrupted (the terminal restored first).
pub fn hidden(question: &str, interrupt: &Interrupt) -> Option<std::io::Result<String>> {
    crate::terminal::save();
    let question = question.to_owned();
    let read = read_or_interrupt(interrupt, move || rpassword::prompt_password(question));
    let ended_early = match &read {
        Some(Err(e)) => {
            e.kind() == std::io::ErrorKind::UnexpectedEof || e.kind() == std::io::ErrorKind::Interrupted
        }
        Some(Ok(v)) => v.is_empty(),
        None => false,
    };
    if ended_early {
        settle(interrupt);
    }
    match read {
        Some(value) if !interrupt.fired() => {
            crate::terminal::forget();
            Some(value)
        }
        _ => {
            crate::terminal::restore();
            let _ = writeln!(std::io::stderr());
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prompt_gives_way_to_ctrl_c_without_waiting_for_the_answer() {
        let interrupt = Interrupt::default();
        let i2 = interrupt.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            i2.fire();
        });
        // Someone who never answers: the interrupt ends the question (an answer waited for would be
        // Some).
        let answer = read_or_interrupt(&interrupt, || std::thread::sleep(Duration::from_secs(30)));
        assert!(answer.is_none());
        // An answer that comes first is taken.
        let answer = read_or_interrupt(&Interrupt::default(), || "y".to_owned());
        assert_eq!(answer.as_deref(), Some("y"));
    }
}
