//! Loading a signing seed from a file: [`Keypair::from_seed_file`], with
//! exactly the rules of the `chio` CLI's `--seed-file` (`cli_load_seed` in
//! src/cli/util.c, docs/cli.md) and without ever holding the seed in a
//! `String` or `Vec`: it is read into a buffer on the stack, which is wiped
//! before the function returns.
//!
//! The file is checked twice. `lstat` first: a symbolic link, FIFO, device,
//! socket or directory is refused before anything is opened, so nothing
//! waits on a FIFO and no device is touched. Then the file is opened (with
//! `O_NOFOLLOW | O_NONBLOCK | O_NOCTTY` where their values are known, see
//! `OPEN_FLAGS`) and `fstat` on the open descriptor must show a regular
//! file with the device and inode `lstat` saw: a file swapped in between is
//! refused. The mode and owner are read from that same descriptor.

use std::fs::{self, File, FileType};
use std::io::{ErrorKind, Read};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::Path;
use std::sync::atomic::{compiler_fence, Ordering};

use crate::error::Error;
use crate::keys::Keypair;
use crate::sys;
use crate::Result;

/// Largest seed file read (as the CLI): 64 hex digits, "0x" and a newline fit.
const MAX_SEED_FILE: usize = 4096;

/// Mode bits a seed file must not have: group or others may read or write
/// it (the CLI's `S_IRGRP | S_IROTH | S_IWGRP | S_IWOTH`; execute bits are
/// not checked, as there).
const SHARED_BITS: u32 = 0o066;

extern "C" {
    // The C library's geteuid(2); libc is linked into every Rust binary.
    fn geteuid() -> u32;
}

/// `O_NOFOLLOW | O_NONBLOCK | O_NOCTTY` for the target, from the Linux
/// uapi headers (include/uapi/asm-generic/fcntl.h and the arch overrides):
/// the generic values are `O_NOCTTY` 0o400, `O_NONBLOCK` 0o4000 and
/// `O_NOFOLLOW` 0o400000; arm, arm64 and powerpc move `O_NOFOLLOW` to
/// 0o100000; mips and sparc move `O_NONBLOCK` and `O_NOCTTY`. On any other
/// target the flags are left out (0), never guessed: the lstat/fstat
/// identity check still refuses a swapped-in file, but an open of a FIFO
/// swapped in at that instant could then wait for a writer.
#[cfg(all(
    any(target_os = "linux", target_os = "android"),
    any(
        target_arch = "x86",
        target_arch = "x86_64",
        target_arch = "riscv32",
        target_arch = "riscv64",
        target_arch = "s390x",
        target_arch = "loongarch64"
    )
))]
const OPEN_FLAGS: i32 = 0o400000 | 0o4000 | 0o400;

#[cfg(all(
    any(target_os = "linux", target_os = "android"),
    any(
        target_arch = "arm",
        target_arch = "aarch64",
        target_arch = "powerpc",
        target_arch = "powerpc64"
    )
))]
const OPEN_FLAGS: i32 = 0o100000 | 0o4000 | 0o400;

#[cfg(all(
    any(target_os = "linux", target_os = "android"),
    any(
        target_arch = "mips",
        target_arch = "mips64",
        target_arch = "mips32r6",
        target_arch = "mips64r6"
    )
))]
const OPEN_FLAGS: i32 = 0o400000 | 0x0080 | 0x0800;

#[cfg(all(
    any(target_os = "linux", target_os = "android"),
    any(target_arch = "sparc", target_arch = "sparc64")
))]
const OPEN_FLAGS: i32 = 0o400000 | 0x4000 | 0x8000;

#[cfg(not(all(
    any(target_os = "linux", target_os = "android"),
    any(
        target_arch = "x86",
        target_arch = "x86_64",
        target_arch = "riscv32",
        target_arch = "riscv64",
        target_arch = "s390x",
        target_arch = "loongarch64",
        target_arch = "arm",
        target_arch = "aarch64",
        target_arch = "powerpc",
        target_arch = "powerpc64",
        target_arch = "mips",
        target_arch = "mips64",
        target_arch = "mips32r6",
        target_arch = "mips64r6",
        target_arch = "sparc",
        target_arch = "sparc64"
    )
)))]
const OPEN_FLAGS: i32 = 0;

/// Overwrites @buf with zeros in a way the compiler may not drop.
fn wipe(buf: &mut [u8]) {
    for b in buf.iter_mut() {
        // SAFETY: b is a valid, exclusive reference.
        unsafe { std::ptr::write_volatile(b, 0) };
    }
    compiler_fence(Ordering::SeqCst);
}

/// Hex digits, at least this many (after an optional `0x`), and nothing
/// else: a "path" that may be the seed itself, never put in a message
/// (as the CLI, src/cli/redact_args.c).
const SECRET_HEX_MIN: usize = 32;

/// @path as messages show it: as it is, unless it is made of hex digits
/// only (at least SECRET_HEX_MIN after an optional `0x`), which is what a
/// seed passed in place of its file's path looks like (and the messages
/// would otherwise hand it to whatever logs the error).
fn shown(path: &Path) -> String {
    // Hidden when SECRET_HEX_MIN or more hex digits stand in a row anywhere
    // in it, as the CLI hides them (src/cli/redact_args.c, review 45): a
    // seed read from its file keeps the file's newline, and a path of hex
    // digits alone was the only one hidden before (review 7).
    let text = path.to_string_lossy();
    let mut run = 0usize;
    let mut longest = 0usize;
    for b in text.bytes() {
        run = if b.is_ascii_hexdigit() { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    if longest >= SECRET_HEX_MIN {
        "<hex digits, not shown: it may be the seed itself, not a file's path>".to_owned()
    } else {
        path.display().to_string()
    }
}

fn refuse(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::invalid(format!("refusing seed file {}: {why}", shown(path)))
}

fn io_error(path: &Path, what: &str, e: std::io::Error) -> Error {
    Error::with_message(
        sys::CHIO_EIO,
        format!("cannot {what} seed file {}: {e}", shown(path)),
    )
}

/// What @ft is, for a refusal ("a FIFO", "a directory", ...).
fn kind(ft: &FileType) -> &'static str {
    if ft.is_symlink() {
        "a symbolic link"
    } else if ft.is_dir() {
        "a directory"
    } else if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// Refuses @ft unless it is a regular file.
fn require_regular(path: &Path, ft: &FileType) -> Result<()> {
    if ft.is_symlink() {
        return Err(refuse(
            path,
            "it is a symbolic link; give the path of the seed file itself",
        ));
    }
    if !ft.is_file() {
        return Err(refuse(
            path,
            format!("it is {}; a seed file must be a regular file", kind(ft)),
        ));
    }
    Ok(())
}

/// Refuses @meta if group or others may read or write it, or if it belongs
/// to neither the effective user nor root (its owner could swap the key).
fn require_private(path: &Path, meta: &fs::Metadata) -> Result<()> {
    if meta.mode() & SHARED_BITS != 0 {
        return Err(refuse(
            path,
            format!(
                "its mode {:04o} lets group or others read or write it; a signing seed \
                 must be private (chmod 600 {})",
                meta.mode() & 0o7777,
                shown(path)
            ),
        ));
    }
    // SAFETY: geteuid takes nothing and cannot fail.
    let euid = unsafe { geteuid() };
    if meta.uid() != euid && meta.uid() != 0 {
        return Err(refuse(
            path,
            format!(
                "it belongs to uid {}, neither this user (uid {euid}) nor root, and its \
                 owner could replace the signing key (chown it)",
                meta.uid()
            ),
        ));
    }
    Ok(())
}

/// Opens @path only if it is a private regular file named directly: see
/// the module comment for the lstat / open / fstat sequence.
fn open_private(path: &Path) -> Result<File> {
    let seen = fs::symlink_metadata(path).map_err(|e| io_error(path, "open", e))?;
    require_regular(path, &seen.file_type())?;
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(OPEN_FLAGS)
        .open(path)
        .map_err(|e| io_error(path, "open", e))?;
    let meta = file.metadata().map_err(|e| io_error(path, "open", e))?;
    require_regular(path, &meta.file_type())?;
    if meta.dev() != seen.dev() || meta.ino() != seen.ino() {
        return Err(refuse(path, "it was replaced while being opened"));
    }
    require_private(path, &meta)?;
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
    /// most one trailing newline, as `chio keygen` writes it. The file is
    /// refused, as the `chio` CLI refuses it, unless it is a regular file
    /// named directly (a symbolic link, FIFO, device or directory is refused
    /// at once, never opened to wait on), neither group nor others may read
    /// or write it (`chmod 600`), and it belongs to the effective user or
    /// to root. Those refusals are `CHIO_EINVAL`; a file over 4096 bytes is
    /// `CHIO_ETOOBIG`, an open or read error `CHIO_EIO`, and bad text
    /// libchio's `CHIO_ESEED_*` codes. Messages name the path and the rule,
    /// never the seed: a path made only of hex digits (32 or more, after an
    /// optional `0x`), which is what the seed itself given in place of its
    /// file's path looks like, is not shown. The seed is read into a stack buffer that is wiped
    /// before this returns; it never lives in a `String` or `Vec`.
    pub fn from_seed_file(path: impl AsRef<Path>) -> Result<Keypair> {
        let path = path.as_ref();
        let mut file = open_private(path)?;
        let mut buf = [0u8; MAX_SEED_FILE + 1];
        let result = match read_all(&mut file, &mut buf) {
            Err(e) => Err(io_error(path, "read", e)),
            Ok(None) => Err(Error::with_message(
                sys::CHIO_ETOOBIG,
                format!("seed file {} is too large to be a seed", shown(path)),
            )),
            Ok(Some(mut n)) => {
                if n > 0 && buf[n - 1] == b'\n' {
                    n -= 1; // exactly one trailing newline, nothing else
                }
                Keypair::from_seed_bytes(&buf[..n]).map_err(|e| {
                    let msg = format!("seed file {}: {}", shown(path), e.message);
                    Error::with_message(e.code, msg)
                })
            }
        };
        wipe(&mut buf);
        result
    }
}

#[cfg(test)]
mod tests {
    //! The open flags' values on the machine that runs the tests: the
    //! integration tests cannot reach them (lstat refuses first), so a
    //! wrong constant for this architecture would go unnoticed there.

    use super::OPEN_FLAGS;
    use std::fs::{self, OpenOptions};
    use std::os::unix::fs::{symlink, OpenOptionsExt};
    use std::path::PathBuf;
    use std::process::Command;
    use std::sync::mpsc;
    use std::thread;
    use std::time::Duration;

    fn scratch(tag: &str) -> PathBuf {
        // OUT_DIR (the build script's) lies inside cargo's target directory.
        let dir = PathBuf::from(env!("OUT_DIR")).join(format!("seed-flags-{tag}"));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn open_flags_refuse_links_and_do_not_wait_on_fifos() {
        if OPEN_FLAGS == 0 {
            println!("note: no O_NOFOLLOW/O_NONBLOCK values for this target; skipped");
            return;
        }
        let dir = scratch("flags");
        let target = dir.join("target");
        fs::write(&target, "x").unwrap();
        let link = dir.join("link");
        symlink(&target, &link).unwrap();
        // O_NOFOLLOW: the link itself is not opened through.
        let opened = OpenOptions::new()
            .read(true)
            .custom_flags(OPEN_FLAGS)
            .open(&link);
        assert!(
            opened.is_err(),
            "O_NOFOLLOW's value is wrong for this target"
        );
        assert!(OpenOptions::new()
            .read(true)
            .custom_flags(OPEN_FLAGS)
            .open(&target)
            .is_ok());
        // O_NONBLOCK: opening a FIFO with no writer returns at once.
        let fifo = dir.join("fifo");
        assert!(Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success());
        let (tx, rx) = mpsc::channel();
        let f = fifo.clone();
        thread::spawn(move || {
            let r = OpenOptions::new()
                .read(true)
                .custom_flags(OPEN_FLAGS)
                .open(&f);
            let _ = tx.send(r.is_ok());
        });
        let got = rx.recv_timeout(Duration::from_secs(20));
        if got.is_err() {
            // Free the blocked thread before failing, so the run ends.
            let _ = OpenOptions::new().write(true).open(&fifo);
        }
        assert_eq!(got, Ok(true), "O_NONBLOCK's value is wrong for this target");
        let _ = fs::remove_dir_all(&dir);
    }
}
