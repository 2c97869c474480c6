//! Review 55 (bindings, API F1): the `chio_kernel_config` fields that
//! `KernelBuilder` lacked before review 55 reach the kernel:
//! `max_argument_bytes` (a call over it is denied unparsed,
//! `arguments_rejected`), `signer_priority` (the kernel's threads take the
//! nice value) and `signer_realtime` (the signers run `SCHED_FIFO`, or the
//! kernel says it could not), each refused with `CHIO_ECONFIG` naming the
//! field when out of range. `lock_key_memory` has its own test binary
//! (rev55_lock_key_memory.rs): it changes process-wide limits.

use std::fs;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chio::{code, Call, KernelBuilder, Keypair, LogLevel, Response, Verdict};

const SCOPE: &str = r#"{"grants":[{"server_id":"srv","tool_name":"*","operations":["invoke"]}]}"#;

fn keypair(byte: &str) -> Keypair {
    Keypair::from_seed_hex(&byte.repeat(32)).unwrap()
}

fn builder() -> KernelBuilder {
    KernelBuilder::new(keypair("07"), "sha256:rev55-bindings")
        .ephemeral_store()
        .log_level(LogLevel::Error)
}

/// One call of "srv"/"echo" with `args` on a kernel allowing
/// `max_argument_bytes`; the response and whether the tool ran.
fn call_with(max_argument_bytes: u64, args: &str) -> (Response, bool) {
    let ran = Arc::new(Mutex::new(false));
    let seen = Arc::clone(&ran);
    let kernel = builder()
        .max_argument_bytes(max_argument_bytes)
        .tool_server("srv", &["echo"], move |_tool, args| {
            *seen.lock().unwrap() = true;
            Ok(args.to_owned())
        })
        .build()
        .unwrap();
    let agent = keypair("0b");
    let cap = kernel
        .issue_capability(None, agent.public_hex(), SCOPE, 0, 3600)
        .unwrap();
    let session = kernel
        .open_session(agent.public_hex(), &[cap.json()])
        .unwrap();
    let r = kernel
        .evaluate(&Call::new(&session, cap.id(), "srv", "echo").arguments(args))
        .unwrap();
    assert!(r.receipt.verify(&[kernel.public_key()]).unwrap());
    let ran = *ran.lock().unwrap();
    (r, ran)
}

#[test]
fn arguments_over_max_argument_bytes_are_rejected_unparsed() {
    let args = r#"{"text":"0123456789"}"#; // 21 bytes
    let (r, ran) = call_with(args.len() as u64, args);
    assert_eq!(r.verdict, Verdict::Allow, "{}: {}", r.code, r.reason);
    assert!(ran);

    let (r, ran) = call_with(args.len() as u64 - 1, args);
    assert_eq!(r.verdict, Verdict::Deny);
    assert_eq!(r.code, "arguments_rejected");
    assert!(r.reason.contains("max_argument_bytes (20)"), "{}", r.reason);
    assert!(!ran, "the tool ran with arguments over the limit");
}

#[test]
fn out_of_range_values_are_refused_naming_the_field() {
    let cases: [(&str, KernelBuilder); 6] = [
        ("max_argument_bytes", builder().max_argument_bytes(0)),
        (
            "max_argument_bytes",
            builder().max_argument_bytes((63 << 20) + 1),
        ),
        ("signer_priority", builder().signer_priority(-21)),
        ("signer_priority", builder().signer_priority(20)),
        ("signer_realtime", builder().signer_realtime(-1)),
        ("signer_realtime", builder().signer_realtime(100)),
    ];
    for (field, b) in cases {
        let e = b.build().unwrap_err();
        assert_eq!(e.code, code::ECONFIG, "{field}: {e}");
        assert!(e.message.contains(field), "{field}: {}", e.message);
    }
    // The bounds themselves are accepted.
    builder().max_argument_bytes(63 << 20).build().unwrap();
    builder().max_argument_bytes(1).build().unwrap();
    builder().signer_priority(19).build().unwrap();
    builder().signer_realtime(99).build().unwrap();
}

/// One thread of this process, from /proc/self/task/TID.
struct Task {
    comm: String,
    nice: i64,
    policy: u64,
    rt_priority: u64,
}

fn tasks() -> Vec<Task> {
    let mut out = Vec::new();
    for entry in fs::read_dir("/proc/self/task").unwrap() {
        let dir = entry.unwrap().path();
        // A thread may end between the listing and the reads.
        let (comm, stat) = match (
            fs::read_to_string(dir.join("comm")),
            fs::read_to_string(dir.join("stat")),
        ) {
            (Ok(c), Ok(s)) => (c, s),
            _ => continue,
        };
        // The fields after "(comm)": the first is field 3 of proc(5).
        let rest: Vec<&str> = stat[stat.rfind(')').unwrap() + 1..]
            .split_whitespace()
            .collect();
        out.push(Task {
            comm: comm.trim().to_owned(),
            nice: rest[19 - 3].parse().unwrap(),
            rt_priority: rest[40 - 3].parse().unwrap(),
            policy: rest[41 - 3].parse().unwrap(),
        });
    }
    out
}

/// Polls (up to 10 s) until @pred holds; whether it did.
fn eventually(mut pred: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end {
        if pred() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    pred()
}

const KERNEL_THREADS: [&str; 3] = ["chio-signer", "chio-commit", "chio-complete"];

#[test]
fn signer_priority_sets_the_kernel_threads_nice_value() {
    // Lowering priority (a larger nice value) needs no privilege. No other
    // test of this binary sets a nice value: a kernel thread at 19 is this one's.
    let kernel = builder().signer_priority(19).build().unwrap();
    kernel.start().unwrap();
    let lowered = || {
        tasks()
            .iter()
            .filter(|t| KERNEL_THREADS.contains(&t.comm.as_str()) && t.nice == 19)
            .count()
    };
    assert!(
        eventually(|| lowered() >= 3),
        "kernel threads at nice 19: {}",
        lowered()
    );
    drop(kernel);
}

#[test]
fn signer_realtime_makes_the_signers_fifo_or_says_why_not() {
    const SCHED_FIFO: u64 = 1;
    let log = Arc::new(Mutex::new(String::new()));
    let sink = Arc::clone(&log);
    let kernel = builder()
        .log_level(LogLevel::Warn)
        .log_sink(move |_level, json| {
            let mut l = sink.lock().unwrap();
            l.push_str(json);
            l.push('\n');
        })
        .signer_realtime(1)
        .build()
        .unwrap();
    kernel.start().unwrap();
    // Real-time scheduling may be refused (no CAP_SYS_NICE, a cgroup with
    // no real-time budget): then the kernel logs it once. Either way the
    // value reached the kernel; without it neither happens.
    let fifo = || {
        tasks()
            .iter()
            .any(|t| t.comm == "chio-signer" && t.policy == SCHED_FIFO && t.rt_priority == 1)
    };
    let refused = || {
        log.lock()
            .unwrap()
            .contains("\"signer_realtime_not_applied\"")
    };
    assert!(
        eventually(|| fifo() || refused()),
        "no SCHED_FIFO signer and no warning; log: {}",
        log.lock().unwrap()
    );
    eprintln!(
        "signer_realtime: {}",
        if fifo() {
            "applied (SCHED_FIFO)"
        } else {
            "refused by the system, logged"
        }
    );
    drop(kernel);
}
