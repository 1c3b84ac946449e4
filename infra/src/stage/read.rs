//! Reading a stage file: only a regular file (a symlink is followed to one), and only up to a bound,
//! so that a FIFO, a device or a runaway file is refused at once instead of hanging or filling memory.

use std::io::Read;
use std::path::Path;

use super::StageError;

/// The most a stage file may hold: 1 MiB (a stage file is a few KiB).
pub const MAX_STAGE_FILE_BYTES: u64 = 1024 * 1024;

/// The bytes of the stage file at `path`, after checking (with symlinks followed) that it is a regular
/// file of at most [`MAX_STAGE_FILE_BYTES`].
pub fn read_stage_file(path: &Path) -> Result<Vec<u8>, StageError> {
    let fail = |message: String| StageError {
        file: path.to_owned(),
        line: None,
        column: None,
        message,
    };
    // `metadata` follows symlinks: a link to /dev/zero is a character device here.
    let meta = std::fs::metadata(path)
        .map_err(|e| fail(format!("cannot read it: {e}: expected a readable stage file")))?;
    check_kind(&meta).map_err(&fail)?;
    check_size(meta.len(), true).map_err(&fail)?;
    let file = std::fs::File::open(path)
        .map_err(|e| fail(format!("cannot read it: {e}: expected a readable stage file")))?;
    // What was opened may have been swapped since the check: check the open file again.
    let meta = file
        .metadata()
        .map_err(|e| fail(format!("cannot read it: {e}: expected a readable stage file")))?;
    check_kind(&meta).map_err(&fail)?;
    let mut bytes = Vec::new();
    file.take(MAX_STAGE_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(format!("cannot read it: {e}: expected a readable stage file")))?;
    check_size(bytes.len() as u64, false).map_err(&fail)?;
    Ok(bytes)
}

fn check_kind(meta: &std::fs::Metadata) -> Result<(), String> {
    if meta.is_file() {
        return Ok(());
    }
    let ft = meta.file_type();
    let what = if ft.is_dir() {
        "a directory"
    } else {
        special_kind(&ft)
    };
    Err(format!(
        "is {what}, not a regular file: expected a stage file (a regular file, or a symlink to one)"
    ))
}

#[cfg(unix)]
fn special_kind(ft: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_fifo() {
        "a FIFO (named pipe)"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_socket() {
        "a socket"
    } else {
        "not a file"
    }
}

#[cfg(not(unix))]
fn special_kind(_: &std::fs::FileType) -> &'static str {
    "not a file"
}

/// `exact`: `len` is the file's size; else what was read, which stops one byte past the bound.
fn check_size(len: u64, exact: bool) -> Result<(), String> {
    if len > MAX_STAGE_FILE_BYTES {
        let size = if exact {
            format!("{len} bytes")
        } else {
            format!("more than {MAX_STAGE_FILE_BYTES} bytes")
        };
        return Err(format!(
            "{size}: expected at most 1 MiB ({MAX_STAGE_FILE_BYTES} bytes); a stage file is a few KiB"
        ));
    }
    Ok(())
}
