//! Review 28 (bindings2): libchio refuses calls from a log sink or clock
//! only on the kernel that sink or clock belongs to (kernel.h); the binding
//! must not refuse, or leak, a different kernel from there.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chio::{Kernel, KernelBuilder, Keypair, LogLevel};

fn keypair(byte: &str) -> Keypair {
    Keypair::from_seed_hex(&byte.repeat(32)).unwrap()
}

/// Sets its flag when dropped: tells whether a kernel's closures were freed.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

fn other_kernel(freed: &Arc<AtomicBool>) -> Kernel {
    let flag = DropFlag(Arc::clone(freed));
    let k = KernelBuilder::new(keypair("0b"), "sha256:r28-other")
        .ephemeral_store()
        .log_level(LogLevel::Error)
        .tool_server("srv", &["echo"], move |_t, a| {
            let _keep = &flag; // the closure owns the flag
            Ok(a.to_owned())
        })
        .build()
        .unwrap();
    k.revoke_capability("cap-other").unwrap();
    k
}

#[test]
fn a_log_sink_may_use_and_drop_a_different_kernel() {
    let freed = Arc::new(AtomicBool::new(false));
    let slot: Arc<Mutex<Option<Kernel>>> = Arc::new(Mutex::new(Some(other_kernel(&freed))));
    assert!(!freed.load(Ordering::SeqCst), "the other kernel's tool owns the flag");
    let answers: Arc<Mutex<Vec<chio::Result<bool>>>> = Arc::new(Mutex::new(Vec::new()));
    let (slot2, answers2) = (Arc::clone(&slot), Arc::clone(&answers));
    let kernel = KernelBuilder::new(keypair("07"), "sha256:r28-sink")
        .ephemeral_store()
        .log_level(LogLevel::Debug)
        .log_sink(move |_level, _line| {
            let other = slot2.lock().unwrap().take();
            if let Some(other) = other {
                answers2.lock().unwrap().push(other.is_revoked("cap-other"));
                drop(other); // the last owner of the other kernel goes here
            }
        })
        .build()
        .unwrap();
    kernel.start().unwrap();
    kernel.drain().unwrap(); // logs: the sink ran at least once
    assert!(slot.lock().unwrap().is_none(), "the log sink never ran");
    let answers = answers.lock().unwrap();
    // Before: Err(CHIO_EDEADLK), though libchio refuses only calls on the
    // sink's own kernel.
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0].as_ref().ok(), Some(&true));
    // Before: the other kernel was leaked whole (its threads, its store and
    // its closures) because the drop ran inside *a* log sink.
    assert!(freed.load(Ordering::SeqCst), "the other kernel was leaked");
}

#[test]
fn a_clock_may_use_a_different_kernel() {
    let other: Arc<Kernel> = Arc::new(other_kernel(&Arc::new(AtomicBool::new(false))));
    let refused = Arc::new(AtomicUsize::new(0));
    let (other2, refused2) = (Arc::clone(&other), Arc::clone(&refused));
    let kernel = KernelBuilder::new(keypair("07"), "sha256:r28-clock")
        .ephemeral_store()
        .log_level(LogLevel::Error)
        .clock(move || {
            if other2.is_revoked("cap-other").is_err() {
                refused2.fetch_add(1, Ordering::SeqCst);
            }
            1_700_000_000
        })
        .build()
        .unwrap();
    let agent = keypair("0c");
    kernel
        .issue_capability(
            None,
            agent.public_hex(),
            r#"{"grants":[{"server_id":"srv","tool_name":"*","operations":["invoke"]}]}"#,
            0,
            60,
        )
        .unwrap();
    kernel.drain().unwrap();
    // Before: every call the clock made on the other kernel was refused.
    assert_eq!(refused.load(Ordering::SeqCst), 0);
    // A call on the clock's own kernel is still refused (see host_safety.rs).
}
