//! Sessions, calls and responses: [`SessionId`], [`SessionState`],
//! [`Call`], [`Response`] (and the owned `chio_response` it is taken from)
//! and the kernel's [`Metrics`].

use std::fmt;
use std::ptr;

use crate::error::Error;
use crate::receipt::{Receipt, Verdict};
use crate::strings::{borrowed_str, static_str};
use crate::sys;
use crate::Result;

/// A session id (`"sess-"` + 22 base64url characters). Derefs to `&str`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(pub(crate) String);

impl SessionId {
    /// Wraps an id string (e.g. one read back from a log).
    pub fn new(id: impl Into<String>) -> SessionId {
        SessionId(id.into())
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for SessionId {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for SessionId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A session's state (`chio_session_state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// Being set up.
    Initializing,
    /// Serving calls.
    Ready,
    /// Refusing new calls; calls in flight finish.
    Draining,
    /// Closed.
    Closed,
    /// A value this binding does not know.
    Other(i32),
}

/// One tool call (`chio_call`). Strings are borrowed for the call only.
///
/// ```no_run
/// # fn f(kernel: &chio::Kernel, session: &chio::SessionId, cap_id: &str) -> chio::Result<()> {
/// let call = chio::Call::new(session, cap_id, "srv", "echo").arguments(r#"{"x":1}"#);
/// let response = kernel.evaluate(&call)?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    /// The session.
    pub session_id: &'a str,
    /// `None`: the kernel generates a UUIDv7.
    pub request_id: Option<&'a str>,
    /// One of the session's capability ids.
    pub capability_id: &'a str,
    /// The tool server.
    pub server_id: &'a str,
    /// The tool.
    pub tool_name: &'a str,
    /// JSON arguments; `None` means `{}`.
    pub arguments_json: Option<&'a str>,
}

impl<'a> Call<'a> {
    /// A call without arguments and with a kernel-generated request id.
    pub fn new(
        session_id: &'a str,
        capability_id: &'a str,
        server_id: &'a str,
        tool_name: &'a str,
    ) -> Call<'a> {
        Call {
            session_id,
            request_id: None,
            capability_id,
            server_id,
            tool_name,
            arguments_json: None,
        }
    }

    /// Sets the JSON arguments.
    pub fn arguments(mut self, json: &'a str) -> Call<'a> {
        self.arguments_json = Some(json);
        self
    }

    /// Sets the request id.
    pub fn request_id(mut self, id: &'a str) -> Call<'a> {
        self.request_id = Some(id);
        self
    }
}

/// The kernel's decision on a call (from `chio_response`).
#[derive(Debug)]
pub struct Response {
    /// Allow, deny or incomplete.
    pub verdict: Verdict,
    /// The decision code's name (`"none"` on allow, `"out_of_scope"`,
    /// `"guard_denied"`, `"tool_error"`, ...).
    pub code: &'static str,
    /// Why (empty on allow).
    pub reason: String,
    /// Canonical JSON of the tool output; `None` when denied.
    pub output: Option<String>,
    /// The request id used.
    pub request_id: String,
    /// The signed, committed receipt.
    pub receipt: Receipt,
    /// Child receipts of nested requests (sampling, elicitation), in order.
    pub children: Vec<Receipt>,
}

impl Response {
    /// `verdict == Verdict::Allow`.
    pub fn is_allowed(&self) -> bool {
        self.verdict == Verdict::Allow
    }
}

/// Owns a `chio_response` and destroys it on drop.
pub(crate) struct RawResponse(pub(crate) sys::chio_response);

impl RawResponse {
    pub(crate) fn new() -> RawResponse {
        let mut r = std::mem::MaybeUninit::<sys::chio_response>::zeroed();
        // SAFETY: zeroed is a valid empty response; init is harmless.
        unsafe {
            sys::chio_response_init(r.as_mut_ptr());
            RawResponse(r.assume_init())
        }
    }

    /// Moves everything out into a [`Response`]; whatever is left is freed on drop.
    pub(crate) fn take(&mut self) -> Result<Response> {
        let r = &mut self.0;
        // SAFETY: the response was filled by a successful evaluate; its
        // strings are libchio-owned and NUL-terminated; receipt pointers we
        // take are replaced by NULL so chio_response_destroy skips them.
        unsafe {
            let reason = borrowed_str(r.reason).unwrap_or("").to_owned();
            let output = if r.output.is_null() {
                None
            } else {
                let b = std::slice::from_raw_parts(r.output.cast::<u8>(), r.output_len);
                Some(String::from_utf8_lossy(b).into_owned())
            };
            let request_id = borrowed_str(r.request_id).unwrap_or("").to_owned();
            let mut children = Vec::with_capacity(r.nchildren);
            if !r.children.is_null() {
                for i in 0..r.nchildren {
                    let slot = r.children.add(i);
                    if let Some(c) = Receipt::from_raw(*slot) {
                        children.push(c);
                    }
                    *slot = ptr::null_mut();
                }
            }
            let receipt = Receipt::from_raw(r.receipt);
            r.receipt = ptr::null_mut();
            let receipt = receipt.ok_or_else(|| {
                Error::with_message(sys::CHIO_EFAILED, "response without a receipt")
            })?;
            Ok(Response {
                verdict: Verdict::from_raw(r.verdict),
                code: static_str(sys::chio_code_name(r.code)),
                reason,
                output,
                request_id,
                receipt,
                children,
            })
        }
    }
}

impl Drop for RawResponse {
    fn drop(&mut self) {
        // SAFETY: frees what is left (NULLed fields are skipped).
        unsafe { sys::chio_response_destroy(&mut self.0) }
    }
}

/// A snapshot of the kernel's counters (`chio_kernel_metrics`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Metrics {
    /// Committed receipts since start.
    pub receipts_signed: u64,
    /// Group commits.
    pub batches: u64,
    /// Largest group commit.
    pub max_batch: u64,
    /// Receipts per group commit.
    pub avg_batch: f64,
    /// Requests waiting in the ring now.
    pub ring_depth: u64,
    /// Deepest the ring has been.
    pub ring_high_water: u64,
    /// Ring capacity.
    pub ring_capacity: u64,
    /// Times a caller waited for an in-flight credit or ring space.
    pub blocking_episodes: u64,
    /// Synced WAL writes.
    pub wal_syncs: u64,
    /// Checkpoints written since start.
    pub checkpoints: u64,
    /// Failed store writes.
    pub write_errors: u64,
    /// Highest committed sequence number.
    pub last_seq: u64,
    /// Highest checkpoint sequence.
    pub last_checkpoint_seq: u64,
    /// Signer threads running.
    pub signer_threads_running: u32,
    /// The kernel failed closed.
    pub failed: bool,
    /// Drain has started.
    pub draining: bool,
}
