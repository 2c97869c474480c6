//! Review 46 (bindings): a kernel's clock reaching back into its own kernel
//! through another kernel's clock (A's clock calls B, B's clock calls A).
//! libchio remembers only the innermost clock a thread runs
//! (src/kernel/kernel.c, `clocking`), and `chio_kernel_revoke_capability`
//! holds the kernel's revocation lock around its clock: through the C API
//! (and the C++ binding before review 46, test_rev46_bindings.cpp) B's
//! clock got into A and relocked that mutex, hanging the thread for good.
//! This binding keeps every callback frame a thread runs and refuses the
//! inner call (`Kernel::entry`, `CHIO_EDEADLK`); these tests hold it to
//! that, and check that a kernel dropped there is leaked, not freed under
//! its own running clock.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::{self, ThreadId};
use std::time::Duration;

use chio::{code, Kernel, KernelBuilder, Keypair, LogLevel};

const SCOPE: &str = r#"{"grants":[{"server_id":"srv","tool_name":"*","operations":["invoke"]}]}"#;
const NOW: u64 = 1_700_000_000;

fn keypair(byte: &str) -> Keypair {
    Keypair::from_seed_hex(&byte.repeat(32)).unwrap()
}

/// Sets its flag when dropped: tells whether a closure's state was freed.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// What the two clocks share.
#[derive(Default)]
struct Clocks {
    a: Mutex<Option<Arc<Kernel>>>,
    b: Mutex<Option<Arc<Kernel>>>,
    actor: Mutex<Option<ThreadId>>,
    arm_a: AtomicBool,
    arm_b: AtomicBool,
    /// B's clock drops the last `Arc` of A instead of calling it.
    drop_a: AtomicBool,
    dropped: AtomicBool,
    /// What A's revoke from B's clock returned: 0 none yet, 1 Ok, else the code.
    code: AtomicI32,
}

impl Clocks {
    fn acting(&self) -> bool {
        *self.actor.lock().unwrap() == Some(thread::current().id())
    }
}

/// A's clock calls B (issue with issued_at 0 reads B's clock); B's clock
/// calls A's revoke, or drops A. Only on the actor thread, once armed.
fn kernels(c: &Arc<Clocks>, a_freed: &Arc<AtomicBool>) {
    let (ca, cb) = (Arc::clone(c), Arc::clone(c));
    let flag = DropFlag(Arc::clone(a_freed));
    let a = KernelBuilder::new(keypair("07"), "sha256:rev46-bindings")
        .ephemeral_store()
        .log_level(LogLevel::Error)
        .clock(move || {
            let _keep = &flag;
            if ca.acting() && ca.arm_a.swap(false, Ordering::SeqCst) {
                let b = ca.b.lock().unwrap().clone();
                if let Some(b) = b {
                    ca.arm_b.store(true, Ordering::SeqCst);
                    let agent = keypair("0b");
                    let _ = b.issue_capability(None, agent.public_hex(), SCOPE, 0, 60);
                }
            }
            NOW
        })
        .build()
        .unwrap();
    let b = KernelBuilder::new(keypair("09"), "sha256:rev46-bindings")
        .ephemeral_store()
        .log_level(LogLevel::Error)
        .clock(move || {
            if cb.acting() && cb.arm_b.swap(false, Ordering::SeqCst) {
                if cb.drop_a.load(Ordering::SeqCst) {
                    let last = cb.a.lock().unwrap().take();
                    drop(last); // Kernel::drop of A, inside B's clock inside A's
                    cb.dropped.store(true, Ordering::SeqCst);
                } else {
                    let a = cb.a.lock().unwrap().clone();
                    if let Some(a) = a {
                        let got = match a.revoke_capability("other-capability") {
                            Ok(()) => 1,
                            Err(e) => e.code,
                        };
                        cb.code.store(got, Ordering::SeqCst);
                    }
                }
            }
            NOW
        })
        .build()
        .unwrap();
    a.start().unwrap();
    b.start().unwrap();
    *c.a.lock().unwrap() = Some(Arc::new(a));
    *c.b.lock().unwrap() = Some(Arc::new(b));
}

/// Runs `f` on a thread and fails (without joining it) when it hangs.
fn within(secs: u64, what: &str, f: impl FnOnce() + Send + 'static) {
    let (tx, rx) = mpsc::channel();
    let h = thread::spawn(move || {
        f();
        let _ = tx.send(());
    });
    if rx.recv_timeout(Duration::from_secs(secs)).is_err() {
        panic!("{what}: hung for {secs} s (a kernel call waiting for its own thread)");
    }
    h.join().unwrap();
}

#[test]
fn own_clock_reached_through_another_kernels_clock_is_refused() {
    let freed = Arc::new(AtomicBool::new(false));
    let c = Arc::new(Clocks::default());
    kernels(&c, &freed);
    let a = c.a.lock().unwrap().clone().unwrap();
    let c2 = Arc::clone(&c);
    within(
        20,
        "A.revoke -> A's clock -> B -> B's clock -> A.revoke",
        move || {
            *c2.actor.lock().unwrap() = Some(thread::current().id());
            c2.arm_a.store(true, Ordering::SeqCst);
            a.revoke_capability("the-capability").unwrap();
        },
    );
    assert_eq!(c.code.load(Ordering::SeqCst), code::EDEADLK);
    let a = c.a.lock().unwrap().take().unwrap();
    assert!(a.is_revoked("the-capability").unwrap());
    assert!(!a.is_revoked("other-capability").unwrap());
    drop(a);
    drop(c.b.lock().unwrap().take());
    assert!(
        freed.load(Ordering::SeqCst),
        "an ordinary drop frees the closures"
    );
}

#[test]
fn kernel_dropped_in_another_kernels_clock_under_its_own_is_leaked() {
    let freed = Arc::new(AtomicBool::new(false));
    let c = Arc::new(Clocks::default());
    kernels(&c, &freed);
    c.drop_a.store(true, Ordering::SeqCst);
    let raw_a = c.a.lock().unwrap().as_ref().unwrap().as_raw() as usize;
    let c2 = Arc::clone(&c);
    within(
        20,
        "A.revoke -> A's clock -> B -> B's clock drops A",
        move || {
            *c2.actor.lock().unwrap() = Some(thread::current().id());
            c2.arm_a.store(true, Ordering::SeqCst);
            let id = std::ffi::CString::new("the-capability").unwrap();
            // Through the raw pointer: no Rust reference keeps A alive, so the
            // slot holds its last owner. A is leaked, so the pointer stays valid.
            // SAFETY: A is alive until B's clock drops it, and then leaked.
            let rc = unsafe {
                chio::sys::chio_kernel_revoke_capability(
                    raw_a as *mut chio::sys::chio_kernel,
                    id.as_ptr(),
                    std::ptr::null_mut(),
                )
            };
            assert_eq!(rc, 0);
        },
    );
    assert!(c.dropped.load(Ordering::SeqCst));
    assert!(!freed.load(Ordering::SeqCst), "A's running clock was freed");
    drop(c.b.lock().unwrap().take());
}

// ---- a tool of the fifth nested kernel that drains its own ---------------------------------

/// libchio tracks the kernels a thread is inside in 4 slots
/// (src/kernel/admission.c): a tool of a fifth nested kernel that drained
/// its own kernel waited for its own call for good through the C API (and
/// the C++ binding before review 46). This binding refuses it from the
/// callback frames it keeps (`Kernel::drain`).
#[test]
fn drain_from_a_tool_of_the_fifth_nested_kernel_is_refused() {
    const NESTED: usize = 5;
    type Slot = Arc<Mutex<Vec<(Arc<Kernel>, String, String)>>>;
    let slot: Slot = Arc::new(Mutex::new(Vec::new()));
    let got = Arc::new(AtomicI32::new(0));
    let mut kernels = Vec::new();
    for i in 0..NESTED {
        let (s, g) = (Arc::clone(&slot), Arc::clone(&got));
        let seed = format!("{}", i + 1).repeat(2);
        let k = KernelBuilder::new(keypair(&seed), "sha256:rev46-bindings")
            .ephemeral_store()
            .log_level(LogLevel::Error)
            .tool_server("srv", &["next"], move |_tool, _args| {
                let all = s.lock().unwrap().clone();
                if i + 1 < NESTED {
                    let (k, session, cap) = &all[i + 1];
                    let r = k
                        .evaluate(&chio::Call::new(session, cap, "srv", "next"))
                        .map_err(|e| e.to_string())?;
                    return Ok(format!("{{\"ok\":{}}}", r.is_allowed()));
                }
                let code = match all[i].0.drain() {
                    Ok(()) => 1,
                    Err(e) => e.code,
                };
                g.store(code, Ordering::SeqCst);
                Ok("{\"ok\":true}".to_owned())
            })
            .build()
            .unwrap();
        kernels.push(Arc::new(k));
    }
    let agent = keypair("0b");
    for k in &kernels {
        let cap = k
            .issue_capability(None, agent.public_hex(), SCOPE, 0, 3600)
            .unwrap();
        let session = k.open_session(agent.public_hex(), &[cap.json()]).unwrap();
        slot.lock()
            .unwrap()
            .push((Arc::clone(k), session.to_string(), cap.id().to_owned()));
    }
    let first = slot.lock().unwrap()[0].clone();
    within(20, "k1..k5 nested, k5's tool drains k5", move || {
        let (k, session, cap) = &first;
        let r = k
            .evaluate(&chio::Call::new(session, cap, "srv", "next"))
            .unwrap();
        assert!(r.is_allowed(), "{}", r.reason);
    });
    assert_eq!(got.load(Ordering::SeqCst), code::EDEADLK);
    slot.lock().unwrap().clear(); // the tools' kernels: no cycle left
}
