//! End-to-end tests of the safe binding: concurrent evaluation from many
//! Rust threads with receipt verification, error mapping, panic containment,
//! session lifecycle, revocation, nested flows and drain.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chio::{
    code, Call, Durability, GuardDecision, Kernel, KernelBuilder, Keypair, LogLevel, NestedKind,
    SessionState, Verdict,
};

const KERNEL_SEED: &str = "0707070707070707070707070707070707070707070707070707070707070707";
const KERNEL_PUB: &str = "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c";
const AGENT_SEED: &str = "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b";
const AGENT_PUB: &str = "66be7e332c7a453332bd9d0a7f7db055f5c5ef1a06ada66d98b39fb6810c473a";
const SCOPE: &str = r#"{"grants":[{"server_id":"srv","tool_name":"*","operations":["invoke"]}]}"#;

/// A unique directory under the system temp dir, removed on drop.
struct TempStore(PathBuf);

impl TempStore {
    fn new(tag: &str) -> TempStore {
        static N: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let p = std::env::temp_dir().join(format!(
            "chio-rust-{tag}-{}-{nanos}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        TempStore(p)
    }
}

impl Drop for TempStore {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn echo(_tool: &str, args: &str) -> Result<String, String> {
    Ok(format!(r#"{{"echo":{args}}}"#))
}

fn kernel_keypair() -> Keypair {
    let kp = Keypair::from_seed_hex(KERNEL_SEED).unwrap();
    assert_eq!(kp.public_hex(), KERNEL_PUB);
    kp
}

fn agent_pub() -> String {
    let kp = Keypair::from_seed_hex(AGENT_SEED).unwrap();
    assert_eq!(kp.public_hex(), AGENT_PUB);
    kp.public_hex().to_owned()
}

/// The standard test kernel: "srv" (echo, fail, boom) in scope, "other"
/// (echo) registered but out of scope, a forbidden-path guard.
fn builder(kp: Keypair) -> KernelBuilder {
    KernelBuilder::new(kp, "sha256:rust-binding-test")
        .log_level(LogLevel::Error)
        .tool_server("srv", &["echo", "fail", "boom"], |tool, args| match tool {
            "echo" => echo(tool, args),
            "fail" => Err("the tool said no".to_owned()),
            "boom" => panic!("tool closure panicked on purpose"),
            _ => Err(format!("unexpected tool {tool}")),
        })
        .tool_server("other", &["echo"], echo)
        .forbidden_path_guard("forbidden_path", &["/etc/", "/root/"])
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Allow,
    GuardHit,
    OutOfScope,
    NotRegistered,
    ToolError,
}

fn run_mixed(
    kernel: &Kernel,
    session: &str,
    cap_id: &str,
    threads: usize,
    per_thread: usize,
) -> usize {
    let trusted = [kernel.public_key()];
    let wrong = [Keypair::from_seed_hex(AGENT_SEED).unwrap().public_key()];
    let ids = Mutex::new(HashSet::new());
    let allowed = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for t in 0..threads {
            let ids = &ids;
            let allowed = &allowed;
            let trusted = &trusted;
            let wrong = &wrong;
            s.spawn(move || {
                for i in 0..per_thread {
                    let kind = match (t + i) % 5 {
                        0 | 1 => Kind::Allow,
                        2 => Kind::GuardHit,
                        3 => Kind::OutOfScope,
                        _ => {
                            if i % 2 == 0 {
                                Kind::NotRegistered
                            } else {
                                Kind::ToolError
                            }
                        }
                    };
                    let args = match kind {
                        Kind::GuardHit => format!(r#"{{"i":{i},"path":"/etc/shadow","t":{t}}}"#),
                        _ => format!(r#"{{"i":{i},"path":"/tmp/ok","t":{t}}}"#),
                    };
                    let (server, tool) = match kind {
                        Kind::OutOfScope => ("other", "echo"),
                        Kind::NotRegistered => ("srv", "missing"),
                        Kind::ToolError => ("srv", "fail"),
                        _ => ("srv", "echo"),
                    };
                    let rid = format!("req-{t}-{i}");
                    let call = Call::new(session, cap_id, server, tool)
                        .arguments(&args)
                        .request_id(&rid);
                    let r = kernel
                        .evaluate(&call)
                        .unwrap_or_else(|e| panic!("{kind:?} call failed: {e}"));
                    assert_eq!(r.request_id, rid);
                    let (verdict, code) = match kind {
                        Kind::Allow => (Verdict::Allow, "none"),
                        Kind::GuardHit => (Verdict::Deny, "guard_denied"),
                        Kind::OutOfScope => (Verdict::Deny, "out_of_scope"),
                        Kind::NotRegistered => (Verdict::Deny, "tool_not_registered"),
                        Kind::ToolError => (Verdict::Deny, "tool_error"),
                    };
                    assert_eq!(
                        (r.verdict, r.code),
                        (verdict, code),
                        "{kind:?}: {}",
                        r.reason
                    );
                    match kind {
                        Kind::Allow => {
                            allowed.fetch_add(1, Ordering::Relaxed);
                            assert_eq!(
                                r.output.as_deref(),
                                Some(format!(r#"{{"echo":{args}}}"#).as_str())
                            );
                            assert!(r.reason.is_empty());
                        }
                        Kind::ToolError => {
                            assert!(r.output.is_none());
                            assert!(r.reason.contains("the tool said no"), "{}", r.reason);
                        }
                        _ => {
                            assert!(r.output.is_none());
                            assert!(!r.reason.is_empty());
                        }
                    }
                    // The receipt: signed by the kernel, trusted, recording this decision.
                    let rep = r.receipt.verify_report(trusted).unwrap();
                    assert!(
                        rep.ok
                            && rep.signature_valid
                            && rep.receipt_id_valid
                            && rep.parameter_hash_valid
                    );
                    assert_eq!(rep.decision, verdict);
                    assert_eq!(rep.authorized, verdict == Verdict::Allow);
                    assert_eq!(rep.signer_key_hex, KERNEL_PUB);
                    assert!(r.receipt.verify(trusted).unwrap());
                    assert!(
                        !r.receipt.verify(wrong).unwrap(),
                        "untrusted signer must not verify"
                    );
                    assert_eq!(r.receipt.verdict(), verdict);
                    assert_eq!(r.receipt.kernel_key_hex(), KERNEL_PUB);
                    assert_eq!(r.receipt.capability_id(), Some(cap_id));
                    assert_eq!(r.receipt.tool_name(), Some(tool));
                    assert!(r.receipt.json().contains(r.receipt.id()));
                    assert!(r.children.is_empty());
                    assert!(
                        ids.lock().unwrap().insert(r.receipt.id().to_owned()),
                        "duplicate receipt id"
                    );
                }
            });
        }
    });
    assert_eq!(ids.lock().unwrap().len(), threads * per_thread);
    allowed.into_inner()
}

#[test]
fn concurrent_mixed_calls_on_disk_store() {
    let start = Instant::now();
    let dir = TempStore::new("disk");
    let kernel = builder(kernel_keypair())
        .receipt_store(&dir.0)
        .durability(Durability::NoSync)
        .signer_threads(2)
        .build()
        .unwrap();
    kernel.start().unwrap();
    assert_eq!(kernel.public_hex(), KERNEL_PUB);
    let agent = agent_pub();
    let cap = kernel
        .issue_capability(None, &agent, SCOPE, 0, 3600)
        .unwrap();
    assert_eq!(cap.issuer_hex(), KERNEL_PUB);
    assert_eq!(cap.subject_hex(), AGENT_PUB);
    assert!(cap.expires_at() == cap.issued_at() + 3600 && cap.issued_at() > 0);
    let session = kernel.open_session(&agent, &[cap.json()]).unwrap();
    assert_eq!(session.len(), 27);
    assert!(session.starts_with("sess-"));
    assert_eq!(kernel.session_state(&session).unwrap(), SessionState::Ready);

    let (threads, per_thread) = (8, 50);
    let allowed = run_mixed(&kernel, &session, cap.id(), threads, per_thread);
    assert!(allowed > 0 && allowed < threads * per_thread);

    let m = kernel.metrics().unwrap();
    assert!(m.receipts_signed >= (threads * per_thread) as u64, "{m:?}");
    assert_eq!(m.write_errors, 0);
    assert!(!m.failed);
    assert!(kernel.metrics_prometheus().unwrap().contains("chio_in_flight "));
    assert!(kernel.in_flight() <= m.ring_capacity);
    kernel.close_session(&session).unwrap();
    kernel.drain().unwrap();
    drop(kernel);
    assert!(dir.0.exists(), "the RocksDB store was written");
    eprintln!(
        "disk store: {} calls in {:?}",
        threads * per_thread,
        start.elapsed()
    );
}

#[test]
fn concurrent_calls_through_arc_on_ephemeral_store() {
    let kernel = Arc::new(builder(kernel_keypair()).ephemeral_store().build().unwrap());
    let agent = agent_pub();
    let cap = kernel
        .issue_capability(Some("cap-arc"), &agent, SCOPE, 0, 600)
        .unwrap();
    assert_eq!(cap.id(), "cap-arc");
    let session = kernel.open_session(&agent, &[cap.json()]).unwrap();
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let kernel = Arc::clone(&kernel);
            let session = session.clone();
            std::thread::spawn(move || {
                let trusted = [kernel.public_key()];
                for i in 0..25 {
                    let args = format!(r#"{{"n":{}}}"#, t * 100 + i);
                    let deny = i % 3 == 0;
                    let server = if deny { "other" } else { "srv" };
                    let r = kernel
                        .evaluate(&Call::new(&session, "cap-arc", server, "echo").arguments(&args))
                        .unwrap();
                    assert_eq!(r.verdict, if deny { Verdict::Deny } else { Verdict::Allow });
                    assert!(r.receipt.verify(&trusted).unwrap());
                    assert_eq!(r.receipt.verdict(), r.verdict);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert!(kernel.metrics().unwrap().receipts_signed >= 200);
}

#[test]
fn unknown_session_maps_to_enosession() {
    let kernel = builder(kernel_keypair()).ephemeral_store().build().unwrap();
    let agent = agent_pub();
    let cap = kernel
        .issue_capability(None, &agent, SCOPE, 0, 600)
        .unwrap();
    let _session = kernel.open_session(&agent, &[cap.json()]).unwrap();
    let e = kernel
        .evaluate(&Call::new(
            "sess-AAAAAAAAAAAAAAAAAAAAAA",
            cap.id(),
            "srv",
            "echo",
        ))
        .unwrap_err();
    assert_eq!(e.code, -72);
    assert_eq!(e.code, code::ENOSESSION);
    assert_eq!(e.name, "CHIO_ENOSESSION");
    assert!(!e.message.is_empty());
    assert_eq!(e.reporting_name(), "unknown_session");
    assert!(e.to_string().contains("CHIO_ENOSESSION"));
    // Other lifecycle errors.
    assert_eq!(
        kernel.close_session("sess-nope").unwrap_err().code,
        code::ENOSESSION
    );
    assert_eq!(
        kernel.session_state("sess-nope").unwrap_err().code,
        code::ENOSESSION
    );
    // Interior NUL never reaches C.
    assert_eq!(
        kernel
            .evaluate(&Call::new("a\0b", cap.id(), "srv", "echo"))
            .unwrap_err()
            .code,
        code::EINVAL
    );
}

#[test]
fn argument_and_capability_errors() {
    let kernel = builder(kernel_keypair()).ephemeral_store().build().unwrap();
    let agent = agent_pub();
    let cap = kernel
        .issue_capability(None, &agent, SCOPE, 0, 600)
        .unwrap();
    let session = kernel.open_session(&agent, &[cap.json()]).unwrap();
    let e = kernel
        .evaluate(&Call::new(&session, cap.id(), "srv", "echo").arguments("{\"a\":"))
        .unwrap_err();
    assert!(e.name.starts_with("CHIO_EJSON"), "{e}");
    // A capability the session does not hold is a deny with a receipt.
    let r = kernel
        .evaluate(&Call::new(&session, "no-such-cap", "srv", "echo"))
        .unwrap();
    assert_eq!(r.verdict, Verdict::Deny);
    assert_eq!(r.code, "unknown_capability");
    let e = kernel
        .issue_capability(None, "not-a-key", SCOPE, 0, 600)
        .unwrap_err();
    assert_eq!(e.code, code::EKEY);
    let e = kernel
        .issue_capability(None, &agent, SCOPE, 0, 0)
        .unwrap_err();
    assert_eq!(e.code, code::ERANGE);
    let e = kernel.open_session(&agent, &["{not json"]).unwrap_err();
    assert!(e.code < 0 && !e.message.is_empty());
}

#[test]
fn panicking_tool_becomes_tool_error() {
    let kernel = builder(kernel_keypair()).ephemeral_store().build().unwrap();
    let agent = agent_pub();
    let cap = kernel
        .issue_capability(None, &agent, SCOPE, 0, 600)
        .unwrap();
    let session = kernel.open_session(&agent, &[cap.json()]).unwrap();
    let r = kernel
        .evaluate(&Call::new(&session, cap.id(), "srv", "boom"))
        .unwrap();
    assert_eq!(r.verdict, Verdict::Deny);
    assert_eq!(r.code, "tool_error");
    assert!(r.reason.contains("panicked"), "{}", r.reason);
    assert!(r.output.is_none());
    assert!(r.receipt.verify(&[kernel.public_key()]).unwrap());
    // The kernel keeps serving after the panic.
    let ok = kernel
        .evaluate(&Call::new(&session, cap.id(), "srv", "echo").arguments("[1,2]"))
        .unwrap();
    assert_eq!(ok.output.as_deref(), Some(r#"{"echo":[1,2]}"#));
}

#[test]
fn long_multibyte_tool_errors_are_clipped_safely() {
    // libchio keeps 255 bytes of an error text and repairs a character its
    // cut splits, so the receipt's reason stays valid UTF-8 (the binding
    // hands it the whole text: see tests/rev30_bindings.rs).
    let kernel = KernelBuilder::new(kernel_keypair(), "p")
        .ephemeral_store()
        .log_level(LogLevel::Error)
        .tool_server("srv", &["long"], |_, _| Err("é".repeat(400)))
        .build()
        .unwrap();
    let agent = agent_pub();
    let cap = kernel
        .issue_capability(None, &agent, SCOPE, 0, 600)
        .unwrap();
    let session = kernel.open_session(&agent, &[cap.json()]).unwrap();
    let r = kernel
        .evaluate(&Call::new(&session, cap.id(), "srv", "long"))
        .unwrap();
    assert_eq!((r.verdict, r.code), (Verdict::Deny, "tool_error"));
    assert!(r.reason.contains("éé"));
    assert!(r.receipt.verify(&[kernel.public_key()]).unwrap());
}

#[test]
fn tool_returning_invalid_json_is_a_tool_error() {
    let kernel = KernelBuilder::new(kernel_keypair(), "p")
        .ephemeral_store()
        .log_level(LogLevel::Error)
        .tool_server("srv", &["bad"], |_, _| Ok("{not json".to_owned()))
        .build()
        .unwrap();
    let agent = agent_pub();
    let cap = kernel
        .issue_capability(None, &agent, SCOPE, 0, 600)
        .unwrap();
    let session = kernel.open_session(&agent, &[cap.json()]).unwrap();
    let r = kernel
        .evaluate(&Call::new(&session, cap.id(), "srv", "bad"))
        .unwrap();
    assert_eq!((r.verdict, r.code), (Verdict::Deny, "tool_error"));
    assert!(r.reason.contains("not valid JSON"), "{}", r.reason);
}

#[test]
fn custom_guards_and_secret_leak_guard() {
    let seen = Arc::new(AtomicUsize::new(0));
    let seen2 = Arc::clone(&seen);
    let kernel = KernelBuilder::new(kernel_keypair(), "p")
        .ephemeral_store()
        .log_level(LogLevel::Error)
        .tool_server("srv", &["echo", "guard-panic"], echo)
        .guard("count", move |g| {
            seen2.fetch_add(1, Ordering::Relaxed);
            assert_eq!(g.agent_id, AGENT_PUB);
            if g.tool_name == "guard-panic" {
                panic!("guard panicked on purpose");
            }
            if g.arguments_json.contains("deny-me") {
                GuardDecision::deny("custom guard said no")
            } else {
                GuardDecision::pass()
            }
        })
        .secret_leak_guard("secrets", &["AKIA[0-9A-Z]{16}"])
        .build()
        .unwrap();
    let agent = agent_pub();
    let cap = kernel
        .issue_capability(None, &agent, SCOPE, 0, 600)
        .unwrap();
    let session = kernel.open_session(&agent, &[cap.json()]).unwrap();
    let eval = |tool: &str, args: &str| {
        kernel
            .evaluate(&Call::new(&session, cap.id(), "srv", tool).arguments(args))
            .unwrap()
    };
    assert_eq!(eval("echo", r#"{"a":"fine"}"#).verdict, Verdict::Allow);
    let r = eval("echo", r#"{"a":"deny-me"}"#);
    assert_eq!((r.verdict, r.code), (Verdict::Deny, "guard_denied"));
    assert!(r.receipt.json().contains("custom guard said no"));
    let r = eval("echo", r#"{"k":"AKIAABCDEFGHIJKLMNOP"}"#);
    assert_eq!((r.verdict, r.code), (Verdict::Deny, "guard_denied"));
    let r = eval("guard-panic", "{}");
    assert_eq!(r.verdict, Verdict::Deny, "a panicking guard fails closed");
    assert!(r.receipt.verify(&[kernel.public_key()]).unwrap());
    assert_eq!(seen.load(Ordering::Relaxed), 4);
}

#[test]
fn registration_closes_when_serving() {
    let mut kernel = builder(kernel_keypair()).ephemeral_store().build().unwrap();
    // Before the first session: allowed, and duplicates are refused.
    kernel
        .register_tool_server("late", &["echo"], echo)
        .unwrap();
    let e = kernel
        .register_tool_server("late", &["echo"], echo)
        .unwrap_err();
    assert_eq!(e.code, code::EDUPLICATE);
    let e = kernel
        .add_secret_leak_guard("bad-regex", &["("])
        .unwrap_err();
    assert_eq!(e.code, code::EINVAL);
    let agent = agent_pub();
    let cap = kernel
        .issue_capability(None, &agent, SCOPE, 0, 600)
        .unwrap();
    let _session = kernel.open_session(&agent, &[cap.json()]).unwrap();
    let e = kernel
        .register_tool_server("later", &["echo"], echo)
        .unwrap_err();
    assert_eq!(e.code, code::ESERVING);
    assert_eq!(e.name, "CHIO_ESERVING");
    let e = kernel
        .add_forbidden_path_guard("late-guard", &["/x"])
        .unwrap_err();
    assert_eq!(e.code, code::ESERVING);
}

#[test]
fn session_lifecycle_revocation_and_drain() {
    let kernel = builder(kernel_keypair()).ephemeral_store().build().unwrap();
    let agent = agent_pub();
    let cap = kernel
        .issue_capability(None, &agent, SCOPE, 0, 600)
        .unwrap();
    let cap2 = kernel
        .issue_capability(None, &agent, SCOPE, 0, 600)
        .unwrap();
    let s1 = kernel
        .open_session(&agent, &[cap.json(), cap2.json()])
        .unwrap();
    let s2 = kernel.open_session(&agent, &[cap.json()]).unwrap();
    assert_ne!(s1, s2);

    // Revocation: denied with a signed receipt.
    assert!(!kernel.is_revoked(cap2.id()).unwrap());
    kernel.revoke_capability(cap2.id()).unwrap();
    kernel.revoke_capability(cap2.id()).unwrap();
    assert!(kernel.is_revoked(cap2.id()).unwrap());
    let r = kernel
        .evaluate(&Call::new(&s1, cap2.id(), "srv", "echo"))
        .unwrap();
    assert_eq!((r.verdict, r.code), (Verdict::Deny, "capability_revoked"));
    assert!(r.receipt.verify(&[kernel.public_key()]).unwrap());

    // Draining and closing a session.
    kernel.begin_draining_session(&s1).unwrap();
    assert_eq!(kernel.session_state(&s1).unwrap(), SessionState::Draining);
    let e = kernel
        .evaluate(&Call::new(&s1, cap.id(), "srv", "echo"))
        .unwrap_err();
    assert_eq!(e.code, code::ESESSION_DRAINING);
    kernel.close_session(&s1).unwrap();
    let e = kernel
        .evaluate(&Call::new(&s1, cap.id(), "srv", "echo"))
        .unwrap_err();
    assert_eq!(
        (e.code, e.reporting_name()),
        (code::ESESSION_CLOSED, "session_closed")
    );

    // The other session still works; after drain nothing does.
    assert!(kernel
        .evaluate(&Call::new(&s2, cap.id(), "srv", "echo"))
        .unwrap()
        .is_allowed());
    kernel.drain().unwrap();
    kernel.drain().unwrap();
    let e = kernel
        .evaluate(&Call::new(&s2, cap.id(), "srv", "echo"))
        .unwrap_err();
    assert_eq!(
        (e.code, e.reporting_name()),
        (code::EDRAINED, "kernel_drained")
    );
    assert!(kernel.metrics().unwrap().draining);
}

#[test]
fn nested_sampling_produces_child_receipts() {
    let kernel = KernelBuilder::new(kernel_keypair(), "p")
        .ephemeral_store()
        .log_level(LogLevel::Error)
        .allow_sampling(true)
        .tool_server_with_context("srv", &["ask", "elicit"], |ctx, tool, _args| {
            assert!(ctx.session_id().starts_with("sess-"));
            assert!(!ctx.request_id().is_empty());
            match tool {
                "ask" => {
                    let reply = ctx
                        .sample(r#"{"messages":[]}"#, false)
                        .map_err(|e| e.to_string())?;
                    Ok(format!(r#"{{"model_said":{reply}}}"#))
                }
                _ => match ctx.elicit(r#"{"message":"ok?"}"#) {
                    Err(e) if e.code == code::EDENIED => Ok(r#""elicitation refused""#.to_owned()),
                    other => Err(format!("unexpected {other:?}")),
                },
            }
        })
        .nested_handler(|kind, session, request| {
            assert_eq!(kind, NestedKind::Sampling);
            assert!(session.starts_with("sess-"));
            assert!(request.contains("messages"));
            Ok(r#"{"text":"hi"}"#.to_owned())
        })
        .build()
        .unwrap();
    let agent = agent_pub();
    let cap = kernel
        .issue_capability(None, &agent, SCOPE, 0, 600)
        .unwrap();
    let session = kernel.open_session(&agent, &[cap.json()]).unwrap();
    let trusted = [kernel.public_key()];

    let r = kernel
        .evaluate(&Call::new(&session, cap.id(), "srv", "ask"))
        .unwrap();
    assert_eq!(r.verdict, Verdict::Allow, "{}", r.reason);
    assert_eq!(r.output.as_deref(), Some(r#"{"model_said":{"text":"hi"}}"#));
    assert_eq!(r.children.len(), 1);
    assert_eq!(r.children[0].tool_name(), Some("sampling/createMessage"));
    assert_eq!(r.children[0].verdict(), Verdict::Allow);
    assert!(r.children[0].verify(&trusted).unwrap());

    let r = kernel
        .evaluate(&Call::new(&session, cap.id(), "srv", "elicit"))
        .unwrap();
    assert_eq!(r.verdict, Verdict::Allow, "{}", r.reason);
    assert_eq!(r.children.len(), 1);
    assert_eq!(r.children[0].verdict(), Verdict::Deny);
    assert!(r.children[0].verify(&trusted).unwrap());
    // Receipts outlive the response and survive a round trip through JSON.
    let child = r.children.into_iter().next().unwrap();
    let reparsed = chio::Receipt::parse(child.json()).unwrap();
    assert_eq!(reparsed.id(), child.id());
    assert!(reparsed.verify(&trusted).unwrap());
}

#[test]
fn log_sink_clock_and_callback_restrictions() {
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = Arc::clone(&lines);
    let drain_result = Arc::new(Mutex::new(None));
    let drain_result2 = Arc::clone(&drain_result);
    let kernel = Arc::new_cyclic(|weak: &std::sync::Weak<Kernel>| {
        let weak = weak.clone();
        KernelBuilder::new(kernel_keypair(), "p")
            .ephemeral_store()
            .log_level(LogLevel::Debug)
            .log_sink(move |_level, json| sink.lock().unwrap().push(json.to_owned()))
            .clock(|| 1_700_000_000)
            .tool_server("srv", &["echo", "drain"], move |tool, args| {
                if tool == "drain" {
                    let k = weak.upgrade().ok_or("kernel gone")?;
                    *drain_result2.lock().unwrap() = Some(k.drain().map_err(|e| e.code));
                }
                echo(tool, args)
            })
            .build()
            .unwrap()
    });
    kernel.start().unwrap();
    let agent = agent_pub();
    let cap = kernel
        .issue_capability(None, &agent, SCOPE, 0, 600)
        .unwrap();
    assert_eq!(
        cap.issued_at(),
        1_700_000_000,
        "issued_at 0 uses the injected clock"
    );
    let session = kernel.open_session(&agent, &[cap.json()]).unwrap();
    let r = kernel
        .evaluate(&Call::new(&session, cap.id(), "srv", "echo"))
        .unwrap();
    assert_eq!(r.receipt.timestamp(), 1_700_000_000);
    // drain() from inside a tool callback is refused instead of deadlocking.
    let r = kernel
        .evaluate(&Call::new(&session, cap.id(), "srv", "drain"))
        .unwrap();
    assert!(r.is_allowed());
    // The code libchio itself gives (and the C++ binding throws) for a drain
    // from a tool: CHIO_EDEADLK, not CHIO_EINVAL as before.
    assert_eq!(*drain_result.lock().unwrap(), Some(Err(code::EDEADLK)));
    kernel.drain().unwrap();
    let logged = lines.lock().unwrap();
    assert!(
        !logged.is_empty(),
        "the log sink received the kernel's logs"
    );
    assert!(logged
        .iter()
        .all(|l| l.starts_with('{') && l.contains("\"event\"")));
}
