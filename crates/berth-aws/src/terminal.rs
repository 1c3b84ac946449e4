//! The terminal's settings while a no-echo prompt runs: saved before it (`prompt::hidden`), put back
//! if the process has to end in the middle of one (a second Ctrl-C, `follow::Interrupt::on_ctrl_c`).
//! Its own module so that the prompt and the interrupt both use it without using each other.

use std::sync::Mutex;

/// The terminal's settings (`stty -g`) while a no-echo prompt runs: what [`restore`] puts back if the
/// process has to end in the middle of one.
static SAVED: Mutex<Option<String>> = Mutex::new(None);

fn stty(args: &[&str]) -> Option<String> {
    let tty = std::fs::File::open("/dev/tty").ok()?;
    let out = std::process::Command::new("stty")
        .args(args)
        .stdin(tty)
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Saves the terminal's settings, before a no-echo prompt.
pub fn save() {
    if let Ok(mut s) = SAVED.lock() {
        *s = stty(&["-g"]);
    }
}

/// Forgets the saved settings: the prompt ended and restored them itself.
pub fn forget() {
    if let Ok(mut s) = SAVED.lock() {
        *s = None;
    }
}

/// Puts the terminal's settings back as they were before a no-echo prompt, if one is running.
pub fn restore() {
    let saved = SAVED.lock().ok().and_then(|mut s| s.take());
    if let Some(settings) = saved {
        let _ = stty(&[&settings]);
    }
}
