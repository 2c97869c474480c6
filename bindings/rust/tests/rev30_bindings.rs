//! Review 30 (bindings): a tool's error text reaches libchio whole.
//! `chio_output_set_error` scans all of it for secrets (the patterns of the
//! kernel's secret_leak guards) before it keeps 255 bytes (evaluate.h,
//! kernel/dispatch.c); a binding that cuts the text first can split a
//! secret into a prefix the scan misses, and the signed receipt keeps it.
//! Also: `Retention`'s documented contract (an archive is required).

use chio::{code, Call, KernelBuilder, Keypair, LogLevel, Response, Retention, Verdict};

const SCOPE: &str = r#"{"grants":[{"server_id":"srv","tool_name":"*","operations":["invoke"]}]}"#;
/// An AWS access key id, as the secret_leak guard's pattern matches it.
const SECRET: &str = "AKIAABCDEFGHIJKLMNOP";
const SECRET_HEAD: &str = "AKIAABCDEF";

fn keypair(byte: &str) -> Keypair {
    Keypair::from_seed_hex(&byte.repeat(32)).unwrap()
}

/// One call to "srv"/`tool` on a kernel whose tool fails ("fail") or panics
/// ("panic") with a text that holds `SECRET` across byte 240.
fn call_failing_tool(tool: &str) -> Response {
    let kernel = KernelBuilder::new(keypair("07"), "sha256:rev30-bindings")
        .ephemeral_store()
        .log_level(LogLevel::Error)
        .secret_leak_guard("secrets", &["AKIA[0-9A-Z]{16}"])
        .tool_server("srv", &["fail", "panic"], |tool, _args| {
            // SECRET spans bytes 230..250 of the error text libchio gets
            // (the binding puts "tool panicked: ", 15 bytes, before a panic's).
            match tool {
                "fail" => Err(format!("{}{SECRET}", "x".repeat(230))),
                _ => panic!("{}{SECRET}", "x".repeat(215)),
            }
        })
        .build()
        .unwrap();
    let agent = keypair("0b");
    let cap = kernel
        .issue_capability(None, agent.public_hex(), SCOPE, 0, 3600)
        .unwrap();
    let session = kernel.open_session(agent.public_hex(), &[cap.json()]).unwrap();
    let r = kernel
        .evaluate(&Call::new(&session, cap.id(), "srv", tool))
        .unwrap();
    assert!(r.receipt.verify(&[kernel.public_key()]).unwrap());
    r
}

fn assert_withheld(r: &Response) {
    assert_eq!(r.verdict, Verdict::Deny);
    assert_eq!(r.code, "tool_error");
    // Before: the binding cut the text to 240 bytes, the scan saw only
    // "AKIAABCDEF", and that half of the key was signed into the receipt.
    assert!(!r.reason.contains(SECRET_HEAD), "reason: {}", r.reason);
    assert!(!r.receipt.json().contains(SECRET_HEAD), "{}", r.receipt.json());
    assert!(r.reason.contains("withheld"), "reason: {}", r.reason);
}

#[test]
fn a_secret_in_a_long_tool_error_is_withheld_whole() {
    assert_withheld(&call_failing_tool("fail"));
}

#[test]
fn a_secret_in_a_long_tool_panic_is_withheld_whole() {
    assert_withheld(&call_failing_tool("panic"));
}

/// `Retention::archive_path` documented `None` as "drops them"; libchio
/// never drops receipts and refuses a retention without an archive.
#[test]
fn retention_without_an_archive_is_refused() {
    let dir = std::env::temp_dir().join(format!("chio-rev30-retention-{}", std::process::id()));
    let e = KernelBuilder::new(keypair("07"), "sha256:rev30-bindings")
        .receipt_store(&dir)
        .log_level(LogLevel::Error)
        .retention(Retention {
            retention_days: 1,
            max_size_bytes: 0,
            archive_path: None,
        })
        .build()
        .unwrap_err();
    assert_eq!(e.code, code::ECONFIG);
    assert!(e.message.contains("archive_path"), "{}", e.message);
    let _ = std::fs::remove_dir_all(&dir);
}
