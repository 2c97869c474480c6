//! `Keypair::from_seed_file`: the CLI's seed-file rules (docs/cli.md,
//! `--seed-file`) for Rust hosts, so that loading a seed never needs a
//! `String` holding it (`fs::read_to_string` leaves unwiped copies behind).

#![cfg(unix)]

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::PathBuf;
use std::process::Command;

use chio::{code, Keypair};

const SEED_07: &str = "0707070707070707070707070707070707070707070707070707070707070707";
const PUB_07: &str = "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c";

/// A fresh scratch directory for @tag under cargo's test tmpdir.
fn scratch(tag: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("seed-file-{tag}"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes @text to @name in @dir with @mode.
fn write(dir: &PathBuf, name: &str, text: &str, mode: u32) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, text).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
    path
}

#[test]
fn loads_a_private_seed_file_with_one_trailing_newline() {
    let dir = scratch("ok");
    for (name, text) in [("plain", SEED_07.to_string()), ("nl", format!("{SEED_07}\n")), ("0x", format!("0x{SEED_07}\n"))] {
        let kp = Keypair::from_seed_file(write(&dir, name, &text, 0o600)).unwrap();
        assert_eq!(kp.public_hex(), PUB_07, "{name}");
    }
    let e = Keypair::from_seed_file(write(&dir, "two", &format!("{SEED_07}\n\n"), 0o600)).unwrap_err();
    assert_eq!(e.code, code::ESEED_NEWLINE);
    // One "\n" goes, as in the CLI; the "\r" left is whitespace.
    let e = Keypair::from_seed_file(write(&dir, "crlf", &format!("{SEED_07}\r\n"), 0o600)).unwrap_err();
    assert_eq!(e.code, code::ESEED_SPACE);
    let e = Keypair::from_seed_file(write(&dir, "short", "0707\n", 0o400)).unwrap_err();
    assert_eq!(e.code, code::ESEED_LENGTH);
    assert!(e.message.contains("seed file") && !e.message.contains("0707"), "{}", e.message);
}

#[test]
fn refuses_what_the_cli_refuses() {
    let dir = scratch("refuse");
    let e = Keypair::from_seed_file(write(&dir, "shared", SEED_07, 0o644)).unwrap_err();
    assert_eq!(e.code, code::EINVAL);
    assert!(e.message.contains("chmod 600"), "{}", e.message);
    assert!(!e.message.contains(SEED_07));
    let target = write(&dir, "target", SEED_07, 0o600);
    let link = dir.join("link");
    symlink(&target, &link).unwrap();
    let e = Keypair::from_seed_file(&link).unwrap_err();
    assert_eq!(e.code, code::EINVAL);
    assert!(e.message.contains("symbolic link"), "{}", e.message);
    let e = Keypair::from_seed_file(&dir).unwrap_err();
    assert_eq!(e.code, code::EINVAL);
    // A FIFO is refused, not opened (opening one would wait for a writer).
    let fifo = dir.join("fifo");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let e = Keypair::from_seed_file(&fifo).unwrap_err();
    assert_eq!(e.code, code::EINVAL);
    let e = Keypair::from_seed_file(write(&dir, "big", &"0".repeat(5000), 0o600)).unwrap_err();
    assert_eq!(e.code, code::ETOOBIG);
    let e = Keypair::from_seed_file(dir.join("missing")).unwrap_err();
    assert_eq!(e.code, code::EIO);
}
