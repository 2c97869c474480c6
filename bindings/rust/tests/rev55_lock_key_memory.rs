//! Review 55 (bindings, API F1): `KernelBuilder::lock_key_memory` reaches
//! `chio_kernel_config.lock_key_memory`. With the key's memory unlockable
//! (RLIMIT_MEMLOCK 0 and no CAP_IPC_LOCK), a default kernel builds and warns
//! once (`key_memory_unlocked`); one built with `lock_key_memory(true)` is
//! refused with `CHIO_ESYS` naming RLIMIT_MEMLOCK.
//!
//! A test binary of its own, with one test: it lowers this process's limit
//! and drops its capability for good (cargo runs each test binary as a
//! process of its own). Linux system call numbers: x86_64 and aarch64.
#![cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]

use std::os::raw::{c_int, c_long};
use std::ptr;
use std::sync::{Arc, Mutex};

use chio::{code, sys, KernelBuilder, Keypair, LogLevel};

const SEED_HEX: &str = "0707070707070707070707070707070707070707070707070707070707070707";
const RLIMIT_MEMLOCK: c_int = 8;
const CAP_IPC_LOCK: usize = 14;
const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;
#[cfg(target_arch = "x86_64")]
const SYS_CAPGET: c_long = 125;
#[cfg(target_arch = "aarch64")]
const SYS_CAPGET: c_long = 90;

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: c_int,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

extern "C" {
    fn setrlimit(resource: c_int, rlim: *const [u64; 2]) -> c_int;
    fn syscall(num: c_long, ...) -> c_long;
}

/// RLIMIT_MEMLOCK to 0 and CAP_IPC_LOCK out of the effective set, so that
/// mlock fails even as root (as tests/kernel/test_reliability.c does).
fn forbid_mlock() {
    // SAFETY: plain system calls on this process, with valid buffers.
    unsafe {
        assert_eq!(setrlimit(RLIMIT_MEMLOCK, &[0, 0]), 0);
        let mut h = CapHeader {
            version: LINUX_CAPABILITY_VERSION_3,
            pid: 0,
        };
        let mut d = [CapData::default(); 2];
        if syscall(SYS_CAPGET, &mut h as *mut CapHeader, d.as_mut_ptr()) != 0 {
            return;
        }
        d[CAP_IPC_LOCK / 32].effective &= !(1u32 << (CAP_IPC_LOCK % 32));
        let _ = syscall(SYS_CAPGET + 1, &mut h as *mut CapHeader, d.as_ptr()); // capset
    }
}

/// Whether a fresh keypair's memory gets locked (libchio tries at creation).
fn keys_get_locked() -> bool {
    let mut kp = ptr::null_mut();
    let mut dontdump: c_int = -1;
    // SAFETY: the seed is borrowed for the call; the keypair is freed here.
    unsafe {
        let rc = sys::chio_keypair_from_seed_hex(
            SEED_HEX.as_ptr().cast(),
            SEED_HEX.len(),
            &mut kp,
            ptr::null_mut(),
        );
        assert_eq!(rc, 0);
        let locked = sys::chio_keypair_memory_locked(kp, &mut dontdump, ptr::null_mut());
        sys::chio_keypair_free(kp);
        locked == 1
    }
}

fn builder() -> KernelBuilder {
    KernelBuilder::new(
        Keypair::from_seed_hex(SEED_HEX).unwrap(),
        "sha256:rev55-bindings",
    )
    .ephemeral_store()
    .log_level(LogLevel::Error)
}

#[test]
fn lock_key_memory_refuses_a_key_that_cannot_be_locked() {
    forbid_mlock();
    if keys_get_locked() {
        eprintln!("skipped: mlock still succeeds (CAP_IPC_LOCK could not be dropped)");
        return;
    }

    // Default: builds, and says once that the key is not locked.
    let log = Arc::new(Mutex::new(String::new()));
    let sink = Arc::clone(&log);
    let kernel = builder()
        .log_level(LogLevel::Warn)
        .log_sink(move |_level, json| sink.lock().unwrap().push_str(json))
        .build()
        .unwrap();
    kernel.start().unwrap();
    assert!(
        log.lock().unwrap().contains("\"key_memory_unlocked\""),
        "{}",
        log.lock().unwrap()
    );
    drop(kernel);

    builder().lock_key_memory(false).build().unwrap();
    let e = builder().lock_key_memory(true).build().unwrap_err();
    assert_eq!(e.code, code::ESYS, "{e}");
    assert!(e.message.contains("RLIMIT_MEMLOCK"), "{}", e.message);
}
