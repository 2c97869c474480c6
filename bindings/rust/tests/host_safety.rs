//! Host-safety checks of the safe binding: queries a host gates on fail
//! closed (never "not revoked" for a question that was not answered), and
//! every libchio result code is reachable as a `chio::code` constant.

use std::sync::{Arc, Mutex, Weak};

use chio::{code, Kernel, Keypair, LogLevel};

const KERNEL_SEED: &str = "0707070707070707070707070707070707070707070707070707070707070707";

fn keypair() -> Keypair {
    Keypair::from_seed_hex(KERNEL_SEED).unwrap()
}

#[test]
fn is_revoked_with_a_nul_byte_is_an_error_not_false() {
    let kernel = Kernel::builder(keypair(), "sha256:host-safety")
        .ephemeral_store()
        .build()
        .unwrap();
    kernel.revoke_capability("cap-r").unwrap();
    assert!(kernel.is_revoked("cap-r").unwrap());
    assert!(!kernel.is_revoked("cap-other").unwrap());
    // Before: `false` ("not revoked") for an id the kernel never looked at.
    let e = kernel.is_revoked("cap-r\0x").unwrap_err();
    assert_eq!(e.code, code::EINVAL);
    let e = kernel.revoke_capability("cap-z\0x").unwrap_err();
    assert_eq!(e.code, code::EINVAL);
    assert!(!kernel.is_revoked("cap-z").unwrap());
}

#[test]
fn is_revoked_refused_inside_a_log_sink_is_an_error_not_false() {
    type Seen = Arc<Mutex<Vec<chio::Result<bool>>>>;
    let slot: Arc<Mutex<Weak<Kernel>>> = Arc::new(Mutex::new(Weak::new()));
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let (slot2, seen2) = (Arc::clone(&slot), Arc::clone(&seen));
    let kernel = Kernel::builder(keypair(), "sha256:host-safety")
        .ephemeral_store()
        .log_level(LogLevel::Debug)
        .log_sink(move |_level, _line| {
            let k = slot2.lock().unwrap().upgrade();
            if let Some(k) = k {
                let r = k.is_revoked("cap-r");
                seen2.lock().unwrap().push(r);
            }
        })
        .build()
        .unwrap();
    let kernel = Arc::new(kernel);
    kernel.revoke_capability("cap-r").unwrap();
    *slot.lock().unwrap() = Arc::downgrade(&kernel);
    kernel.start().unwrap();
    kernel.drain().unwrap(); // logs (drain/stop lines) reach the sink
    *slot.lock().unwrap() = Weak::new();
    let seen = seen.lock().unwrap();
    assert!(!seen.is_empty(), "the log sink was never called");
    for r in seen.iter() {
        // Before: Ok(false) for a revoked capability.
        let e = r
            .as_ref()
            .expect_err("is_revoked answered inside a log sink");
        assert_eq!(e.code, code::EINVAL);
    }
}

/// Every `XX(NAME, n, ...)` result code in include/chio/error.h has a
/// `chio::code::NAME` constant equal to `-n` (checked by source text: the
/// `code` module re-exports each one from `sys`).
#[test]
fn every_result_code_is_in_chio_code() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let header = std::fs::read_to_string(root.join("include/chio/error.h")).unwrap();
    let lib = std::fs::read_to_string(root.join("bindings/rust/src/lib.rs")).unwrap();
    let sys = std::fs::read_to_string(root.join("bindings/rust/src/sys.rs")).unwrap();
    let mut n = 0;
    for line in header.lines() {
        let rest = match line.trim_start().strip_prefix("XX(") {
            Some(rest) => rest,
            None => continue,
        };
        let mut parts = rest.split(',');
        let name = parts.next().unwrap().trim();
        let value = parts.next().unwrap_or("").trim();
        if name == "NAME" || !name.starts_with('E') || value.parse::<i32>().is_err() {
            continue;
        }
        n += 1;
        let reexport = format!("CHIO_{name} as {name}");
        assert!(lib.contains(&reexport), "chio::code lacks {name}");
        let konst = format!("pub const CHIO_{name}: c_int = -{value};");
        assert!(sys.contains(&konst), "sys.rs lacks `{konst}`");
    }
    assert!(n >= 50, "parsed only {n} codes from error.h");
    assert_eq!(code::ELIMIT, -82);
    assert_eq!(code::ECANCELLED, -81);
}
