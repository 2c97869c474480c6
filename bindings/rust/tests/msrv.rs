//! The crate builds and tests with the oldest toolchain the project
//! supports: Debian 12's rustc 1.63 and cargo 0.66 (scripts/install-deps.sh
//! installs them when no cargo is found). A newer toolchain compiles code
//! that the old one rejects, so these checks read the sources for what broke
//! it before:
//!
//! * `Cargo.lock` at lockfile version 4, which cargo before 1.78 refuses to
//!   read at all ("lock file version `4` was found"), so not even the
//!   library built;
//! * `let ... else` (Rust 1.65) and `std::mem::offset_of!` (Rust 1.77) in
//!   the tests, which `make test` compiles.
//!
//! `Cargo.toml` declares `rust-version`, so a newer cargo also names the
//! floor. To check with a real old toolchain, point `CHIO_MSRV_CARGO` at its
//! cargo (with its rustc beside it): this test then runs
//! `cargo test --no-run` with it in a scratch target directory.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const MSRV: &str = "1.63";

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().map_or(false, |e| e == "rs") {
            out.push(path);
        }
    }
}

/// Whether @line (comments dropped) is a `let PATTERN = EXPR else {` statement.
fn is_let_else(line: &str) -> bool {
    let code = line.split("//").next().unwrap().trim();
    code.starts_with("let ")
        && code.contains(" = ")
        && (code.ends_with(" else {") || code.contains(" else { "))
        && !code.contains(" if ")
}

#[test]
fn lockfile_is_readable_by_old_cargo() {
    let lock = fs::read_to_string(crate_dir().join("Cargo.lock")).unwrap();
    let version = lock
        .lines()
        .find_map(|l| l.strip_prefix("version = "))
        .map(|v| v.trim().parse::<u32>().expect("a numeric lockfile version"));
    assert!(
        version.map_or(false, |v| v <= 3),
        "Cargo.lock has lockfile version {version:?}; cargo before 1.78 (Debian 12's 0.66) \
         reads only versions up to 3: set `version = 3`"
    );
}

#[test]
fn manifest_declares_the_msrv() {
    let manifest = fs::read_to_string(crate_dir().join("Cargo.toml")).unwrap();
    let line = format!("rust-version = \"{MSRV}\"");
    assert!(
        manifest.lines().any(|l| l.trim() == line),
        "Cargo.toml lacks `{line}`"
    );
    let deps = fs::read_to_string(crate_dir().join("../../scripts/install-deps.sh")).unwrap();
    assert!(
        deps.contains(&format!("any {MSRV}+")),
        "scripts/install-deps.sh no longer names Rust {MSRV} as the floor"
    );
}

#[test]
fn sources_use_nothing_newer_than_the_msrv() {
    let mut files = Vec::new();
    rust_files(&crate_dir().join("src"), &mut files);
    rust_files(&crate_dir().join("tests"), &mut files);
    files.push(crate_dir().join("build.rs"));
    let mut problems = Vec::new();
    for f in &files {
        let text = fs::read_to_string(f).unwrap();
        for (n, line) in text.lines().enumerate() {
            let at = format!("{}:{}", f.display(), n + 1);
            if is_let_else(line) {
                problems.push(format!("{at}: `let ... else` needs Rust 1.65"));
            }
            let code = line.split("//").next().unwrap();
            let off = concat!("offset", "_of"); // not spelled out: this line would match
            if code.contains(&format!("mem::{off}")) || code.contains("mem::{") && code.contains(off) {
                problems.push(format!("{at}: {off}! of std::mem needs Rust 1.77"));
            }
        }
    }
    assert!(problems.is_empty(), "newer than Rust {MSRV}:\n  {}", problems.join("\n  "));
}

#[test]
fn builds_with_an_old_cargo_when_one_is_given() {
    let cargo = match std::env::var_os("CHIO_MSRV_CARGO") {
        Some(c) => PathBuf::from(c),
        None => return,
    };
    let rustc = cargo.with_file_name("rustc");
    let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("msrv");
    let out = Command::new(&cargo)
        .args(["test", "--offline", "--no-run"])
        .current_dir(crate_dir())
        .env("RUSTC", &rustc)
        .env("RUSTDOC", rustc.with_file_name("rustdoc"))
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", cargo.display()));
    assert!(
        out.status.success(),
        "{} test --no-run failed:\n{}",
        cargo.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}
