//! Loading a signing seed from a file: [`Keypair::from_seed_file`], with
//! the rules of the `chio` CLI's `--seed-file` (docs/cli.md) and without
//! ever holding the seed in a `String` or `Vec`: it is read into a buffer
//! on the stack, which is wiped before the function returns.

use std::fs::{self, File};
use std::io::{ErrorKind, Read};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;
use std::sync::atomic::{compiler_fence, Ordering};

use crate::error::Error;
use crate::keys::Keypair;
use crate::sys;
use crate::Result;

/// Largest seed file read (as the CLI): 64 hex digits, "0x" and a newline fit.
const MAX_SEED_FILE: usize = 4096;

/// `O_NONBLOCK` where its value is the generic Linux one: opening a FIFO
/// must not wait for a writer (one swapped in after the type check).
#[cfg(all(
    target_os = "linux",
    any(
        target_arch = "x86_64",
        target_arch = "x86",
        target_arch = "aarch64",
        target_arch = "arm",
        target_arch = "riscv64"
    )
))]
const O_NONBLOCK: i32 = 0o4000;
#[cfg(not(all(
    target_os = "linux",
    any(
        target_arch = "x86_64",
        target_arch = "x86",
        target_arch = "aarch64",
        target_arch = "arm",
        target_arch = "riscv64"
    )
)))]
const O_NONBLOCK: i32 = 0;

/// Overwrites @buf with zeros in a way the compiler may not drop.
fn wipe(buf: &mut [u8]) {
    for b in buf.iter_mut() {
        // SAFETY: b is a valid, exclusive reference.
        unsafe { std::ptr::write_volatile(b, 0) };
    }
    compiler_fence(Ordering::SeqCst);
}

fn refuse(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::invalid(format!("refusing seed file {}: {why}", path.display()))
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::with_message(
        sys::CHIO_EIO,
        format!("cannot read seed file {}: {e}", path.display()),
    )
}

/// Opens @path only if it is a private regular file and not a symbolic
/// link: the file opened must be the one `lstat` saw (same device and
/// inode), so a link swapped in between is refused too.
fn open_private(path: &Path) -> Result<File> {
    let seen = fs::symlink_metadata(path).map_err(|e| io_error(path, e))?;
    if seen.file_type().is_symlink() {
        return Err(refuse(path, "it is a symbolic link; give the path of the seed file itself"));
    }
    if !seen.file_type().is_file() {
        return Err(refuse(path, "not a regular file (a FIFO, device or directory?)"));
    }
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(O_NONBLOCK)
        .open(path)
        .map_err(|e| io_error(path, e))?;
    let meta = file.metadata().map_err(|e| io_error(path, e))?;
    if meta.dev() != seen.dev() || meta.ino() != seen.ino() || !meta.file_type().is_file() {
        return Err(refuse(path, "it changed while being opened"));
    }
    if meta.mode() & 0o077 != 0 {
        return Err(refuse(
            path,
            format!(
                "its mode {:04o} lets group or others in; a signing seed must be private \
                 (chmod 600)",
                meta.mode() & 0o7777
            ),
        ));
    }
    Ok(file)
}

/// Reads @file into @buf; returns the byte count, or `None` past @buf's end.
fn read_all(file: &mut File, buf: &mut [u8]) -> std::io::Result<Option<usize>> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) => return Ok(Some(n)),
            Ok(got) => n += got,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

impl Keypair {
    /// A keypair from a seed file: 64 hex digits (optionally `0x`) and at
    /// most one trailing newline, as `chio keygen` writes it. The file
    /// must be a regular file, not a symbolic link, that neither group nor
    /// others may read or write (`chmod 600`); anything else is refused
    /// with `CHIO_EINVAL`, a file over 4096 bytes with `CHIO_ETOOBIG`, a
    /// read error with `CHIO_EIO`, and the text with libchio's
    /// `CHIO_ESEED_*` codes. The seed is read into a stack buffer that is
    /// wiped before this returns; it never lives in a `String` or `Vec`.
    pub fn from_seed_file(path: impl AsRef<Path>) -> Result<Keypair> {
        let path = path.as_ref();
        let mut file = open_private(path)?;
        let mut buf = [0u8; MAX_SEED_FILE + 1];
        let result = match read_all(&mut file, &mut buf) {
            Err(e) => Err(io_error(path, e)),
            Ok(None) => Err(Error::with_message(
                sys::CHIO_ETOOBIG,
                format!("seed file {} is too large to be a seed", path.display()),
            )),
            Ok(Some(mut n)) => {
                if n > 0 && buf[n - 1] == b'\n' {
                    n -= 1; // exactly one trailing newline, nothing else
                }
                Keypair::from_seed_bytes(&buf[..n]).map_err(|e| {
                    let msg = format!("seed file {}: {}", path.display(), e.message);
                    Error::with_message(e.code, msg)
                })
            }
        };
        wipe(&mut buf);
        result
    }
}
