//! Where output goes: data to stdout, everything else (progress, tables, diagnostics) to stderr.
//! Colour and in-place progress only on a terminal, and never with `NO_COLOR`.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};

type Sink = Arc<Mutex<Box<dyn Write + Send>>>;

#[derive(Clone)]
pub struct Printer {
    out: Sink,
    err: Sink,
    /// The first failure to write data to stdout (a full disk, a closed file), other than a closed
    /// pipe: the command must not end "done" when its output was lost.
    lost: Arc<Mutex<Option<String>>>,
    /// stderr is a terminal: redraw progress in place.
    pub tty: bool,
    pub color: bool,
}

impl Printer {
    /// The process's stdout and stderr.
    pub fn stdio() -> Self {
        let tty = std::io::stderr().is_terminal();
        let color = tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        Printer {
            out: Arc::new(Mutex::new(Box::new(std::io::stdout()))),
            err: Arc::new(Mutex::new(Box::new(std::io::stderr()))),
            lost: Arc::default(),
            tty,
            color,
        }
    }

    /// A printer whose output is kept for inspection (tests): `(printer, stdout, stderr)`.
    pub fn capture() -> (Self, Captured, Captured) {
        let out = Captured::default();
        let err = Captured::default();
        let p = Printer {
            out: Arc::new(Mutex::new(Box::new(out.clone()))),
            err: Arc::new(Mutex::new(Box::new(err.clone()))),
            lost: Arc::default(),
            tty: false,
            color: false,
        };
        (p, out, err)
    }

    /// A line of data on stdout.
    pub fn data(&self, text: &str) {
        if let Err(e) = self.try_write(&self.out, &format!("{text}\n"))
            && e.kind() != std::io::ErrorKind::BrokenPipe
            && let Ok(mut lost) = self.lost.lock()
        {
            lost.get_or_insert_with(|| e.to_string());
        }
    }

    /// Why data written to stdout was lost, if it was.
    pub fn lost_output(&self) -> Option<String> {
        self.lost.lock().ok().and_then(|l| l.clone())
    }

    /// A line on stderr (clears an in-place progress line first).
    pub fn line(&self, text: &str) {
        if self.tty {
            self.write(&self.err, &format!("\r\x1b[2K{text}\n"));
        } else {
            self.write(&self.err, &format!("{text}\n"));
        }
    }

    /// An in-place status line (terminal only; a no-op otherwise).
    pub fn progress(&self, text: &str) {
        if self.tty {
            self.write(&self.err, &format!("\r\x1b[2K{text}"));
        }
    }

    /// Ends an in-place status line.
    pub fn end_progress(&self) {
        if self.tty {
            self.write(&self.err, "\r\x1b[2K");
        }
    }

    /// `text` in bold red, or as is without colour.
    pub fn alarm(&self, text: &str) -> String {
        if self.color {
            format!("\x1b[1;31m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// `text` in yellow, or as is without colour.
    pub fn caution(&self, text: &str) -> String {
        if self.color {
            format!("\x1b[33m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    fn write(&self, sink: &Sink, text: &str) {
        // Diagnostics that cannot be written have nowhere else to go.
        let _ = self.try_write(sink, text);
    }

    fn try_write(&self, sink: &Sink, text: &str) -> std::io::Result<()> {
        let mut w = sink
            .lock()
            .map_err(|_| std::io::Error::other("the output lock is poisoned"))?;
        w.write_all(text.as_bytes())?;
        w.flush()
    }
}

/// Output kept in memory.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("not poisoned")).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("not poisoned").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A plain-text table: columns padded to their widest cell.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> Vec<String> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(visible_len(c));
        }
    }
    let fmt_row = |cells: Vec<String>| -> String {
        let last = cells.len().saturating_sub(1);
        cells
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                if i == last {
                    c
                } else {
                    let pad = widths[i] - visible_len(&c);
                    format!("{c}{}", " ".repeat(pad))
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    let mut out = vec![fmt_row(header.iter().map(|h| (*h).to_owned()).collect())];
    out.extend(rows.iter().map(|r| fmt_row(r.clone())));
    out
}

/// Length without ANSI colour codes.
fn visible_len(s: &str) -> usize {
    let mut n = 0;
    let mut in_escape = false;
    for c in s.chars() {
        match (in_escape, c) {
            (false, '\x1b') => in_escape = true,
            (true, 'm') => in_escape = false,
            (true, _) => {}
            (false, _) => n += 1,
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_on_visible_width() {
        let rows = vec![
            vec!["\x1b[31mAdd\x1b[0m".to_owned(), "Bucket".to_owned()],
            vec!["Modify".to_owned(), "Key".to_owned()],
        ];
        let t = table(&["Action", "Logical ID"], &rows);
        assert_eq!(t[0], "Action  Logical ID");
        assert_eq!(t[1], "\x1b[31mAdd\x1b[0m     Bucket");
        assert_eq!(t[2], "Modify  Key");
    }
}
