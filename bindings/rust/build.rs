//! Finds libchio.a and tells rustc how to link it (std only).
//!
//! Search order for the directory holding `libchio.a`:
//!   1. `$CHIO_LIB_DIR`
//!   2. `../../build` relative to this crate (the repository's default build dir)
//!
//! libchio is linked statically; its dependencies (OpenSSL libcrypto,
//! Concurrency Kit, RocksDB, pthread) are linked as shared libraries. When
//! `pkg-config` is available its `-L` paths for those packages are added too,
//! so dependencies installed outside the default linker path are found.

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=CHIO_LIB_DIR");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    println!("cargo:rerun-if-changed=build.rs");

    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let lib_dir = match env::var_os("CHIO_LIB_DIR") {
        Some(dir) if !dir.is_empty() => {
            let dir = PathBuf::from(dir);
            if dir.is_relative() {
                manifest_dir.join(dir)
            } else {
                dir
            }
        }
        _ => manifest_dir.join("..").join("..").join("build"),
    };
    let archive = lib_dir.join("libchio.a");
    println!("cargo:rerun-if-changed={}", archive.display());
    if !archive.is_file() {
        panic!(
            "libchio.a not found in {}: build it first (`make lib` in the repository root) \
             or set CHIO_LIB_DIR to the directory that holds libchio.a",
            lib_dir.display()
        );
    }
    // Canonicalize so the path is stable regardless of the `..` components.
    let lib_dir = lib_dir.canonicalize().unwrap_or(lib_dir);

    println!("cargo:rustc-link-search=native={}", lib_dir.display());
    println!("cargo:rustc-link-lib=static=chio");

    // Extra search paths for the shared dependencies, when pkg-config knows them.
    if let Ok(out) = Command::new(env::var("PKG_CONFIG").unwrap_or_else(|_| "pkg-config".into()))
        .args(["--libs-only-L", "libcrypto", "ck", "rocksdb"])
        .output()
    {
        if out.status.success() {
            let text = String::from_utf8_lossy(&out.stdout);
            for flag in text.split_whitespace() {
                if let Some(path) = flag.strip_prefix("-L") {
                    println!("cargo:rustc-link-search=native={path}");
                }
            }
        }
    }
    for lib in ["crypto", "ck", "rocksdb", "pthread"] {
        println!("cargo:rustc-link-lib=dylib={lib}");
    }
    // Dependent crates can read this as DEP_CHIO_LIB_DIR.
    println!("cargo:lib_dir={}", lib_dir.display());
}
