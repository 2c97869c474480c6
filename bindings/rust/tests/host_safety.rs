//! Host-safety checks of the safe binding: queries a host gates on fail
//! closed (never "not revoked" for a question that was not answered),
//! every libchio result code is reachable as a `chio::code` constant, and
//! a kernel whose last owner goes away inside its own clock or log sink is
//! leaked whole, never freed in part.

use std::ffi::CString;
use std::io::Read;
use std::os::raw::{c_int, c_void};
use std::process::{Command, Stdio};
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use chio::{code, sys, Kernel, Keypair, LogLevel};

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
        // libchio's own code for a call that would wait for the calling
        // thread (before: CHIO_EINVAL, reported as "invalid_arguments").
        assert_eq!(e.code, code::EDEADLK);
        assert_eq!(e.reporting_name(), "would_deadlock");
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

// ---- the last owner dropped inside a callback, with a broken stderr ----------------------

/// Set ("clock" or "tool") in the child process that `run_drop_child`
/// starts; the child half runs only then.
const DROP_CHILD: &str = "CHIO_TEST_DROP_IN_CALLBACK_CHILD";
const SCOPE: &str = r#"{"grants":[{"server_id":"srv","tool_name":"*","operations":["invoke"]}]}"#;

/// Sets its flag when dropped: tells whether a closure's state was freed.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Polls @cond until it holds or @secs pass.
fn wait_for(secs: u64, cond: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::yield_now();
    }
    true
}

/// A `chio_call` handed to the completion thread (its strings live until
/// the process exits).
struct RawCall(sys::chio_call);

// SAFETY: the call's pointers name strings that are never freed.
unsafe impl Send for RawCall {}

/// What the child's callbacks share.
struct Child {
    /// The only `Arc<Kernel>` once the child's main thread let go of its own.
    slot: Mutex<Option<Arc<Kernel>>>,
    /// The kernel's raw pointer, for the one call made without a reference.
    raw: AtomicUsize,
    call: Mutex<Option<RawCall>>,
    armed: AtomicBool,
    done: AtomicBool,
}

/// Completion of the child's asynchronous evaluations (on the kernel's
/// completion thread). The first one waits until the slot holds the only
/// `Arc<Kernel>`, arms the clock and submits one more evaluation through
/// the raw pointer: its pipeline runs here and asks the clock for the time.
unsafe extern "C" fn child_completion(
    ctx: *mut c_void,
    _rc: c_int,
    _resp: *mut sys::chio_response,
    _err: *const sys::chio_error,
) {
    let child = &*(ctx as *const Child);
    let call = match child.call.lock().unwrap().take() {
        Some(RawCall(call)) => call,
        None => return, // the second evaluation's completion
    };
    let alone = || child.slot.lock().unwrap().as_ref().map(Arc::strong_count) == Some(1);
    if !wait_for(20, alone) {
        return;
    }
    child.armed.store(true, Ordering::SeqCst);
    let mut err = std::mem::zeroed::<sys::chio_error>();
    let raw = child.raw.load(Ordering::SeqCst) as *mut sys::chio_kernel;
    sys::chio_kernel_evaluate_async(raw, &call, Some(child_completion), ctx, &mut err);
}

/// The child: the clock (or the tool), called on the kernel's completion
/// thread with no Rust reference to the kernel held anywhere but the slot,
/// takes the last `Arc<Kernel>` and drops it, so `Kernel::drop` runs
/// inside that callback (where the kernel must be leaked, its closures
/// with it). Prints what happened.
#[test]
fn child_drops_the_last_kernel_in_a_callback() {
    let in_tool = match std::env::var(DROP_CHILD).as_deref() {
        Ok("clock") => false,
        Ok("tool") => true,
        _ => return,
    };
    let freed = Arc::new(AtomicBool::new(false));
    let child = Arc::new(Child {
        slot: Mutex::new(None),
        raw: AtomicUsize::new(0),
        call: Mutex::new(None),
        armed: AtomicBool::new(false),
        done: AtomicBool::new(false),
    });
    let (clock_child, clock_flag) = (Arc::clone(&child), DropFlag(Arc::clone(&freed)));
    let (tool_child, tool_flag) = (Arc::clone(&child), DropFlag(Arc::clone(&freed)));
    let kernel = Kernel::builder(keypair(), "sha256:host-safety")
        .ephemeral_store()
        .log_level(LogLevel::Error)
        .clock(move || {
            let _keep = &clock_flag;
            if !in_tool && clock_child.armed.swap(false, Ordering::SeqCst) {
                let last = clock_child.slot.lock().unwrap().take();
                drop(last); // Kernel::drop, inside the clock
                clock_child.done.store(true, Ordering::SeqCst);
            }
            1_700_000_000
        })
        .tool_server("srv", &["echo"], move |_tool, args| {
            let _keep = &tool_flag;
            if in_tool && tool_child.armed.swap(false, Ordering::SeqCst) {
                let last = tool_child.slot.lock().unwrap().take();
                drop(last); // Kernel::drop, inside the tool (on the completion thread)
                tool_child.done.store(true, Ordering::SeqCst);
            }
            Ok(args.to_owned())
        })
        .build()
        .unwrap();
    let kernel = Arc::new(kernel);
    let agent = Keypair::from_seed_hex(&"0b".repeat(32)).unwrap();
    let cap = kernel.issue_capability(None, agent.public_hex(), SCOPE, 0, 600).unwrap();
    let session = kernel.open_session(agent.public_hex(), &[cap.json()]).unwrap();
    let strings: Vec<CString> = [session.as_str(), cap.id(), "srv", "echo"]
        .iter()
        .map(|s| CString::new(*s).unwrap())
        .collect();
    let call = sys::chio_call {
        session_id: strings[0].as_ptr(),
        request_id: ptr::null(),
        capability_id: strings[1].as_ptr(),
        server_id: strings[2].as_ptr(),
        tool_name: strings[3].as_ptr(),
        arguments_json: ptr::null(),
        arguments_len: 0,
        reserved: [ptr::null_mut(); 4],
    };
    *child.call.lock().unwrap() = Some(RawCall(call));
    child.raw.store(kernel.as_raw() as usize, Ordering::SeqCst);
    *child.slot.lock().unwrap() = Some(Arc::clone(&kernel));
    let ctx = Arc::as_ptr(&child) as *mut c_void;
    // SAFETY: the kernel lives (the slot holds it) until the clock drops
    // it, and then it is leaked, not freed; `call`'s strings outlive the
    // process's use of them (they are never dropped before exit).
    let rc = unsafe {
        let mut err = std::mem::zeroed::<sys::chio_error>();
        sys::chio_kernel_evaluate_async(kernel.as_raw(), &call, Some(child_completion), ctx, &mut err)
    };
    assert_eq!(rc, 0);
    drop(kernel);
    let ended = wait_for(30, || child.done.load(Ordering::SeqCst) || freed.load(Ordering::SeqCst));
    std::mem::forget(strings);
    println!(
        "RESULT ended={ended} done={} freed={}",
        child.done.load(Ordering::SeqCst),
        freed.load(Ordering::SeqCst)
    );
}

/// The last `Arc<Kernel>` dropped inside the kernel's own clock or log
/// sink (here on the kernel's completion thread) must leak the kernel
/// together with every closure it borrows. Before, `Drop` first wrote a
/// notice with `eprintln!`, which panics when stderr is a closed pipe (a
/// log collector gone away); the panic then dropped the closures, the
/// running clock's own state among them, while the leaked kernel went on
/// calling them: a use-after-free (the child died of SIGSEGV). The child
/// runs with such a stderr.
#[test]
fn last_kernel_dropped_in_its_clock_frees_no_callback() {
    run_drop_child("clock");
}

/// The same in one of its tools, run on the completion thread for an
/// evaluation submitted through `chio::sys` (the async API this crate does
/// not wrap): there chio_kernel_free refuses (`kernel_free_from_callback`)
/// and leaks the kernel. Before, `Drop` freed the closures after it anyway,
/// the running tool's among them.
#[test]
fn last_kernel_dropped_in_its_tool_frees_no_callback() {
    run_drop_child("tool");
}

/// Runs the child half in @mode with stderr a pipe nobody reads and checks
/// that the kernel was dropped and no closure freed.
fn run_drop_child(mode: &str) {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args(["--exact", "child_drops_the_last_kernel_in_a_callback"])
        .args(["--nocapture", "--test-threads=1"])
        .env(DROP_CHILD, mode)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take()); // stderr: a pipe nobody reads any more
    let mut out = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    let status = child.wait().unwrap();
    let result = out.find("RESULT").map_or("no RESULT line", |at| out[at..].lines().next().unwrap());
    assert_eq!(
        result, "RESULT ended=true done=true freed=false",
        "child exited with {status}; stdout:\n{out}"
    );
    assert!(status.success(), "child exited with {status}; stdout:\n{out}");
}
