//! `Keypair::from_seed_file` refuses exactly what the `chio` CLI's
//! `--seed-file` refuses (`cli_load_seed`, src/cli/util.c): a symbolic
//! link, FIFO, device or directory at once (never waited on), a mode that
//! lets group or others read or write, a file owned by another user (not
//! root), an oversize file; it strips exactly one trailing newline. Each
//! case also runs the real CLI (`chio pubkey`) when the build has it and
//! checks that both accept or both refuse, with the same public key.

#![cfg(unix)]

use std::ffi::CString;
use std::fs;
use std::os::raw::{c_char, c_int};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use chio::{code, Error, Keypair};

const SEED_07: &str = "0707070707070707070707070707070707070707070707070707070707070707";
const PUB_07: &str = "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c";
/// How long one load (or one CLI run) may take before it counts as a hang.
const DEADLINE: Duration = Duration::from_secs(20);

extern "C" {
    // std::os::unix::fs::chown needs Rust 1.73; the crate's floor is 1.63.
    fn chown(path: *const c_char, uid: u32, gid: u32) -> c_int;
    fn geteuid() -> u32;
}

/// A fresh scratch directory for @tag under cargo's test tmpdir.
fn scratch(tag: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("rev30-seed-{tag}"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes @text to @name in @dir with @mode.
fn write(dir: &Path, name: &str, text: &str, mode: u32) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, text).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
    path
}

/// `from_seed_file(path)` on a thread, bounded by DEADLINE: the public key
/// or the error. A load that waits (on a FIFO) fails the test instead of
/// hanging it; a writer is opened first so the stuck thread can end.
fn load(path: &Path) -> Result<String, Error> {
    let (tx, rx) = mpsc::channel();
    let p = path.to_path_buf();
    thread::spawn(move || {
        let _ = tx.send(Keypair::from_seed_file(&p).map(|kp| kp.public_hex().to_owned()));
    });
    match rx.recv_timeout(DEADLINE) {
        Ok(r) => r,
        Err(_) => {
            let _ = fs::OpenOptions::new().write(true).open(path);
            panic!(
                "from_seed_file({}) waited instead of refusing",
                path.display()
            );
        }
    }
}

/// The CLI built beside libchio.a, if there is one.
fn cli() -> Option<PathBuf> {
    let dir = match std::env::var_os("CHIO_LIB_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../build"),
    };
    let exe = dir.join("chio");
    if exe.is_file() {
        Some(exe)
    } else {
        None
    }
}

/// `chio pubkey --seed-file PATH`, bounded by DEADLINE: the key printed, or
/// Err(stderr) when it refused. None when the CLI is not built.
fn cli_pubkey(path: &Path) -> Option<Result<String, String>> {
    let exe = cli()?;
    let mut child = Command::new(exe)
        .arg("pubkey")
        .arg("--seed-file")
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            panic!("chio pubkey --seed-file {} did not finish", path.display());
        }
        thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().unwrap();
    Some(if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    })
}

/// Loads @path with the binding and the CLI: both must agree.
fn load_like_cli(path: &Path) -> Result<String, Error> {
    let ours = load(path);
    match cli_pubkey(path) {
        None => println!("note: build/chio not found; CLI parity not checked"),
        Some(theirs) => match (&ours, &theirs) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{}", path.display()),
            (Err(_), Err(_)) => {}
            _ => panic!("{}: binding {ours:?}, CLI {theirs:?}", path.display()),
        },
    }
    ours
}

/// Loads @path expecting a refusal with @code whose message names the
/// path and contains @rule, and never the seed.
fn refused(path: &Path, code: i32, rule: &str) -> Error {
    let e = load_like_cli(path).expect_err(&path.display().to_string());
    assert_eq!(e.code, code, "{}: {}", path.display(), e.message);
    assert!(
        e.message.contains(&path.display().to_string()),
        "{}",
        e.message
    );
    assert!(
        e.message.contains(rule),
        "wanted {rule:?} in {:?}",
        e.message
    );
    assert!(
        !e.message.contains(SEED_07) && !e.message.contains("07070707"),
        "{}",
        e.message
    );
    e
}

#[test]
fn accepts_a_private_regular_file_as_the_cli_does() {
    let dir = scratch("ok");
    let cases = [
        ("bare", SEED_07.to_owned(), 0o600),
        ("newline", format!("{SEED_07}\n"), 0o600),
        ("prefixed", format!("0x{SEED_07}\n"), 0o600),
        ("readonly", format!("{SEED_07}\n"), 0o400),
        // Execute bits are not read or write bits: the CLI accepts them.
        ("exec-bits", format!("{SEED_07}\n"), 0o711),
    ];
    for (name, text, mode) in cases {
        let got = load_like_cli(&write(&dir, name, &text, mode));
        assert_eq!(got.as_deref(), Ok(PUB_07), "{name}");
    }
}

#[test]
fn refuses_links_fifos_devices_and_directories_at_once() {
    let dir = scratch("types");
    let good = write(&dir, "good", &format!("{SEED_07}\n"), 0o600);
    let link = dir.join("link");
    symlink(&good, &link).unwrap();
    refused(&link, code::EINVAL, "symbolic link");
    let fifo = dir.join("fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    fs::set_permissions(&fifo, fs::Permissions::from_mode(0o600)).unwrap();
    refused(&fifo, code::EINVAL, "it is a FIFO");
    refused(
        Path::new("/dev/null"),
        code::EINVAL,
        "it is a character device",
    );
    let sub = dir.join("subdir");
    fs::create_dir(&sub).unwrap();
    fs::set_permissions(&sub, fs::Permissions::from_mode(0o700)).unwrap();
    refused(&sub, code::EINVAL, "it is a directory");
    let e = load_like_cli(&dir.join("missing")).unwrap_err();
    assert_eq!(e.code, code::EIO);
    assert!(e.message.contains("cannot open seed file"), "{}", e.message);
}

#[test]
fn refuses_modes_that_let_group_or_others_read_or_write() {
    let dir = scratch("modes");
    for mode in [0o640, 0o620, 0o604, 0o602, 0o644, 0o666] {
        let path = write(&dir, &format!("m{mode:o}"), &format!("{SEED_07}\n"), mode);
        let e = refused(&path, code::EINVAL, "chmod 600");
        assert!(e.message.contains(&format!("0{mode:o}")), "{}", e.message);
    }
}

#[test]
fn refuses_a_file_another_user_owns() {
    // SAFETY: geteuid takes nothing and cannot fail.
    if unsafe { geteuid() } != 0 {
        println!("note: not root, so no file of another user can be made; case skipped");
        return;
    }
    let dir = scratch("owner");
    let path = write(&dir, "nobody", &format!("{SEED_07}\n"), 0o600);
    let c = CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: c is a NUL-terminated path.
    assert_eq!(
        unsafe { chown(c.as_ptr(), 65534, 65534) },
        0,
        "chown failed"
    );
    refused(&path, code::EINVAL, "belongs to uid 65534");
    // Root's own file (the effective user here) is fine.
    let mine = write(&dir, "root", &format!("{SEED_07}\n"), 0o600);
    assert_eq!(load_like_cli(&mine).as_deref(), Ok(PUB_07));
}

#[test]
fn strips_one_newline_and_bounds_the_size() {
    let dir = scratch("text");
    let two = write(&dir, "two", &format!("{SEED_07}\n\n"), 0o600);
    refused(&two, code::ESEED_NEWLINE, "seed file");
    let big = write(&dir, "big", &"0".repeat(4097), 0o600);
    refused(&big, code::ETOOBIG, "too large");
    // 4096 bytes are read (and then found to be no seed), not "too large".
    let edge = write(&dir, "edge", &"0".repeat(4096), 0o600);
    let e = load_like_cli(&edge).unwrap_err();
    assert_ne!(e.code, code::ETOOBIG, "{}", e.message);
}
