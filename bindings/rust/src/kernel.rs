//! The kernel: [`Kernel`], its registration (build phase) and serving API,
//! and its teardown.

use std::ffi::CStr;
use std::fmt;
use std::io::Write;
use std::os::raw::{c_char, c_int};
use std::ptr::{self, NonNull};

use crate::callback_types::{GuardDecision, GuardInput, NestedKind, ToolContext};
use crate::callbacks::{
    guard_trampoline, in_own_callback, nested_trampoline, tool_trampoline, GuardFnBox, GuardState,
    InCallback, NestedFnBox, NestedState, Owned, ToolFn, ToolServerState,
};
use crate::capability::Capability;
use crate::config::KernelBuilder;
use crate::error::{check, new_err, Error};
use crate::keys::{public_key_from_hex, Keypair};
use crate::session::{Call, Metrics, RawResponse, Response, SessionId, SessionState};
use crate::strings::{borrowed_str, cstring, take_chio_buf};
use crate::sys;
use crate::Result;

#[cfg(doc)]
use crate::Receipt;

/// A libchio kernel (`chio_kernel`).
///
/// Registration (`register_*`, `add_*_guard`, `set_nested_handler`) takes
/// `&mut self` and is only possible before the first session is opened
/// (`CHIO_ESERVING` after). Everything else takes `&self` and may be called
/// from any number of threads at once: share the kernel with `Arc<Kernel>`
/// or scoped threads.
///
/// Dropping the kernel drains it if needed (`chio_kernel_free`) and only then
/// frees the registered closures.
pub struct Kernel {
    pub(crate) raw: NonNull<sys::chio_kernel>,
    /// Closure states whose addresses the C kernel holds as `user`/`ctx`;
    /// freed after chio_kernel_free (see Drop).
    pub(crate) callbacks: Vec<Owned>,
}

// SAFETY: kernel.h and evaluate.h document the serving API (evaluate,
// open/drain/close session, revoke, issue, start, drain, metrics,
// public_hex) as safe to call from any number of threads at once on one
// kernel ("the kernel is shared by pointer across any number of threads");
// registered tables are read without locks only after registration closed.
// The calls that are NOT thread-safe are (a) build-phase registration, which
// this type exposes only through `&mut self`, so it can never overlap with
// another call, and (b) chio_kernel_free, which runs only in Drop, i.e. with
// exclusive ownership once every borrow has ended. The closures the kernel
// calls back into are required to be `Send + Sync + 'static`, so invoking
// them from arbitrary kernel and caller threads is sound, and they are freed
// only after chio_kernel_free has joined every kernel thread.
unsafe impl Send for Kernel {}
// SAFETY: see above.
unsafe impl Sync for Kernel {}

impl fmt::Debug for Kernel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kernel")
            .field("public", &self.public_hex())
            .finish_non_exhaustive()
    }
}

impl Kernel {
    /// Shorthand for [`KernelBuilder::new`].
    pub fn builder(keypair: Keypair, policy_hash: impl Into<String>) -> KernelBuilder {
        KernelBuilder::new(keypair, policy_hash)
    }

    fn ptr(&self) -> *mut sys::chio_kernel {
        self.raw.as_ptr()
    }

    /// Refuses calls from inside this kernel's log sink or clock (they may
    /// run under the kernel's log lock, and the clock is consulted by every
    /// call) with libchio's code for a call that would wait for its own
    /// thread. Another kernel's sink or clock may call this kernel, as
    /// libchio allows.
    fn entry(&self) -> Result<()> {
        if self.in_own(InCallback::Infra) {
            return Err(Error::with_message(
                sys::CHIO_EDEADLK,
                "libchio kernel called from inside a log sink or clock callback",
            ));
        }
        Ok(())
    }

    /// Whether one of this kernel's callbacks of `kind` runs on this thread.
    fn in_own(&self, kind: InCallback) -> bool {
        in_own_callback(kind, &self.callbacks)
    }

    /// The raw `chio_kernel *`, for calling [`sys`] functions this crate
    /// does not wrap. The pointer stays owned by `self`; never free it, and
    /// respect the C API's thread-safety rules (build-phase calls only while
    /// no other thread uses the kernel).
    pub fn as_raw(&self) -> *mut sys::chio_kernel {
        self.ptr()
    }

    /// The kernel's public key, 64 lowercase hex digits.
    pub fn public_hex(&self) -> &str {
        // SAFETY: owned by the kernel, immutable.
        unsafe { borrowed_str(sys::chio_kernel_public_hex(self.ptr())).unwrap_or("") }
    }

    /// The kernel's public key bytes (what [`Receipt::verify`] trusts).
    pub fn public_key(&self) -> [u8; 32] {
        public_key_from_hex(self.public_hex()).unwrap_or([0; 32])
    }

    /// Opens the receipt store and starts the signer threads now, to surface
    /// store errors early (otherwise the first signing request does it).
    pub fn start(&self) -> Result<()> {
        self.entry()?;
        let mut err = new_err();
        // SAFETY: idempotent and race-free per kernel.h.
        let rc = unsafe { sys::chio_kernel_start(self.ptr(), &mut err) };
        check(rc, &err)
    }

    pub(crate) fn register_boxed_tool_server(
        &mut self,
        server_id: &str,
        tools: &[&str],
        f: Box<ToolFn>,
    ) -> Result<()> {
        let id = cstring(server_id, "server_id")?;
        let names = tools
            .iter()
            .map(|t| cstring(t, "tool name"))
            .collect::<Result<Vec<_>>>()?;
        let ptrs: Vec<*const c_char> = names.iter().map(|n| n.as_ptr()).collect();
        let owned = Owned::new(ToolServerState { f });
        let server = sys::chio_tool_server {
            server_id: id.as_ptr(),
            tool_names: if ptrs.is_empty() {
                ptr::null()
            } else {
                ptrs.as_ptr()
            },
            ntools: ptrs.len(),
            invoke: Some(tool_trampoline),
            invoke_stream: None,
            user: owned.ptr,
            flags: 0,
            reserved: [ptr::null_mut(); 3], // zero (chio/abi.h)
        };
        let mut err = new_err();
        // SAFETY: &mut self: build phase, no concurrent call. The struct and
        // strings are copied; `user` stays alive in self.callbacks until
        // after chio_kernel_free.
        let rc = unsafe { sys::chio_kernel_register_tool_server(self.ptr(), &server, &mut err) };
        check(rc, &err)?;
        self.callbacks.push(owned);
        Ok(())
    }

    /// Registers a tool server whose tools (`tools`, exact names) are served
    /// by `f(tool, arguments_json)`. `Ok(json)` is the tool's result (any
    /// JSON value; invalid JSON turns the call into a `tool_error`);
    /// `Err(message)` denies the call with code `tool_error` and the message
    /// in the reason (libchio keeps 255 bytes of it, after scanning all of it
    /// for secrets: a message a `secret_leak` guard's pattern matches is
    /// withheld). A panic in `f` is caught and becomes a `tool_error`.
    ///
    /// `f` runs on the thread that called [`Kernel::evaluate`], possibly on
    /// many threads at once. It may evaluate further calls but must not
    /// drain the kernel.
    ///
    /// Errors: `CHIO_ESERVING` once a session was opened, `CHIO_EDUPLICATE`
    /// for a server id already registered, `CHIO_EINVAL`.
    pub fn register_tool_server<F>(&mut self, server_id: &str, tools: &[&str], f: F) -> Result<()>
    where
        F: Fn(&str, &str) -> Result<String, String> + Send + Sync + 'static,
    {
        self.register_boxed_tool_server(
            server_id,
            tools,
            Box::new(move |_ctx: &ToolContext<'_>, t: &str, a: &str| f(t, a)),
        )
    }

    /// Like [`Kernel::register_tool_server`], with the call's [`ToolContext`]
    /// (session and request ids, nested sampling and elicitation).
    pub fn register_tool_server_with_context<F>(
        &mut self,
        server_id: &str,
        tools: &[&str],
        f: F,
    ) -> Result<()>
    where
        F: Fn(&ToolContext<'_>, &str, &str) -> Result<String, String> + Send + Sync + 'static,
    {
        self.register_boxed_tool_server(server_id, tools, Box::new(f))
    }

    pub(crate) fn add_boxed_guard(&mut self, name: &str, f: Box<GuardFnBox>) -> Result<()> {
        let cname = cstring(name, "guard name")?;
        let owned = Owned::new(GuardState { f });
        let mut err = new_err();
        // SAFETY: build phase (&mut self); name copied; user kept alive.
        let rc = unsafe {
            sys::chio_kernel_add_guard(
                self.ptr(),
                cname.as_ptr(),
                Some(guard_trampoline),
                owned.ptr,
                &mut err,
            )
        };
        check(rc, &err)?;
        self.callbacks.push(owned);
        Ok(())
    }

    /// Appends a guard; guards run in the order added, each adds evidence to
    /// the receipt, and the first deny stops the chain (`guard_denied`). A
    /// panicking guard denies (fail closed).
    pub fn add_guard<F>(&mut self, name: &str, f: F) -> Result<()>
    where
        F: Fn(&GuardInput<'_>) -> GuardDecision + Send + Sync + 'static,
    {
        self.add_boxed_guard(name, Box::new(f))
    }

    fn add_list_guard(
        &mut self,
        name: &str,
        items: &[&str],
        what: &str,
        add: unsafe extern "C" fn(
            *mut sys::chio_kernel,
            *const c_char,
            *const *const c_char,
            usize,
            *mut sys::chio_error,
        ) -> c_int,
    ) -> Result<()> {
        let cname = cstring(name, "guard name")?;
        let list = items
            .iter()
            .map(|s| cstring(s, what))
            .collect::<Result<Vec<_>>>()?;
        let ptrs: Vec<*const c_char> = list.iter().map(|c| c.as_ptr()).collect();
        let mut err = new_err();
        // SAFETY: build phase (&mut self); everything is copied.
        let rc = unsafe {
            add(
                self.ptr(),
                cname.as_ptr(),
                if ptrs.is_empty() {
                    ptr::null()
                } else {
                    ptrs.as_ptr()
                },
                ptrs.len(),
                &mut err,
            )
        };
        check(rc, &err)
    }

    /// Appends the built-in guard that denies when any string in the
    /// arguments (at any depth) starts with one of `prefixes`.
    pub fn add_forbidden_path_guard(&mut self, name: &str, prefixes: &[&str]) -> Result<()> {
        self.add_list_guard(
            name,
            prefixes,
            "path prefix",
            sys::chio_kernel_add_forbidden_path_guard,
        )
    }

    /// Appends the built-in guard that denies when any string in the
    /// arguments matches one of `patterns` (POSIX extended regular
    /// expressions as [`Kernel::check_secret_pattern`] reads them; another
    /// is `CHIO_EINVAL`).
    pub fn add_secret_leak_guard(&mut self, name: &str, patterns: &[&str]) -> Result<()> {
        self.add_list_guard(
            name,
            patterns,
            "pattern",
            sys::chio_kernel_add_secret_leak_guard,
        )
    }

    /// Would [`Kernel::add_secret_leak_guard`] accept `pattern`? A POSIX
    /// extended regular expression read byte by byte, with glibc's `\w \W
    /// \s \S \b \B \< \>`, no back-references or other escaped letters,
    /// and at most `CHIO_SECRET_PATTERN_MAX_STATES` automaton states
    /// (`chio_secret_pattern_check`). For checking a configuration before
    /// a kernel is built; the error says why a pattern is refused.
    pub fn check_secret_pattern(pattern: &str) -> Result<()> {
        let c = cstring(pattern, "pattern")?;
        let mut err = new_err();
        // SAFETY: c borrowed for the call; nothing is kept.
        let rc = unsafe { sys::chio_secret_pattern_check(c.as_ptr(), &mut err) };
        check(rc, &err)
    }

    /// Would the kernel enforce a `regex_match` constraint with `pattern`?
    /// A token's pattern is read as chio (Rust `regex`) reads it and
    /// enforced only where it has an exact reading; any other pattern
    /// makes every call under its grant deny (`chio_regex_constraint_check`).
    /// For checking a grant before a token is issued; the error says why.
    pub fn check_regex_constraint(pattern: &str) -> Result<()> {
        let c = cstring(pattern, "pattern")?;
        let mut err = new_err();
        // SAFETY: c borrowed for the call; nothing is kept.
        let rc = unsafe { sys::chio_regex_constraint_check(c.as_ptr(), &mut err) };
        check(rc, &err)
    }

    pub(crate) fn set_boxed_nested_handler(&mut self, f: Box<NestedFnBox>) -> Result<()> {
        let owned = Owned::new(NestedState { f });
        let mut err = new_err();
        // SAFETY: build phase (&mut self); user kept alive until after free
        // (a replaced handler's state too, which is harmless).
        let rc = unsafe {
            sys::chio_kernel_set_nested_handler(
                self.ptr(),
                Some(nested_trampoline),
                owned.ptr,
                &mut err,
            )
        };
        check(rc, &err)?;
        self.callbacks.push(owned);
        Ok(())
    }

    /// The host's answer to allowed nested requests from tools:
    /// `f(kind, session_id, request_json)` returns the reply JSON, or
    /// `Err(message)` (the tool's request then fails with `CHIO_EFAILED`).
    /// Without a handler an allowed request is answered with `null`.
    pub fn set_nested_handler<F>(&mut self, f: F) -> Result<()>
    where
        F: Fn(NestedKind, &str, &str) -> Result<String, String> + Send + Sync + 'static,
    {
        self.set_boxed_nested_handler(Box::new(f))
    }

    /// Signs a capability with the kernel's key. `id: None` generates a
    /// UUIDv7; `issued_at: 0` means the kernel's clock now; `ttl_secs > 0`.
    pub fn issue_capability(
        &self,
        id: Option<&str>,
        subject_hex: &str,
        scope_json: &str,
        issued_at: u64,
        ttl_secs: u64,
    ) -> Result<Capability> {
        self.entry()?;
        let cid = id.map(|s| cstring(s, "capability id")).transpose()?;
        let subject = cstring(subject_hex, "subject")?;
        let mut out = ptr::null_mut();
        let mut err = new_err();
        // SAFETY: all strings borrowed for the call; scope passed with its length.
        let rc = unsafe {
            sys::chio_kernel_issue_capability(
                self.ptr(),
                cid.as_ref().map_or(ptr::null(), |c| c.as_ptr()),
                subject.as_ptr(),
                scope_json.as_ptr().cast(),
                scope_json.len(),
                issued_at,
                ttl_secs,
                &mut out,
                &mut err,
            )
        };
        check(rc, &err)?;
        NonNull::new(out)
            .map(|raw| Capability { raw })
            .ok_or_else(|| Error::from_code(sys::CHIO_ENOMEM))
    }

    /// Revokes a capability id (persisted, synced, before it takes effect).
    /// Revoking twice is a no-op.
    pub fn revoke_capability(&self, capability_id: &str) -> Result<()> {
        self.entry()?;
        let id = cstring(capability_id, "capability id")?;
        let mut err = new_err();
        // SAFETY: any thread, any time while serving.
        let rc = unsafe { sys::chio_kernel_revoke_capability(self.ptr(), id.as_ptr(), &mut err) };
        check(rc, &err)
    }

    /// Whether a capability id is revoked. `Err` when the question could
    /// not be asked (an id with a NUL byte, a call from inside a log sink or
    /// clock, or any failure of `chio_kernel_is_revoked`): never `Ok(false)`
    /// for a question that was not answered, so a host that gates on it
    /// fails closed.
    pub fn is_revoked(&self, capability_id: &str) -> Result<bool> {
        self.entry()?;
        let id = cstring(capability_id, "capability id")?;
        // SAFETY: any thread, any time (evaluate.h); id borrowed for the call.
        match unsafe { sys::chio_kernel_is_revoked(self.ptr(), id.as_ptr()) } {
            1 => Ok(true),
            0 => Ok(false),
            rc if rc < 0 => Err(Error::from_code(rc)),
            rc => Err(Error::with_message(
                sys::CHIO_EFAILED,
                format!("chio_kernel_is_revoked returned {rc}"),
            )),
        }
    }

    /// Opens a session for `agent_hex` (the agent's public key) holding the
    /// capability tokens `tokens` (JSON texts, e.g. [`Capability::json`]).
    /// Opening the first session closes registration.
    pub fn open_session(&self, agent_hex: &str, tokens: &[&str]) -> Result<SessionId> {
        self.entry()?;
        let agent = cstring(agent_hex, "agent id")?;
        let ptrs: Vec<*const c_char> = tokens.iter().map(|t| t.as_ptr().cast()).collect();
        let lens: Vec<usize> = tokens.iter().map(|t| t.len()).collect();
        let mut id = [0 as c_char; sys::CHIO_SESSION_ID_LEN + 1];
        let mut err = new_err();
        // SAFETY: tokens are passed with explicit lengths (no NUL needed);
        // id has CHIO_SESSION_ID_LEN + 1 bytes; everything is copied.
        let rc = unsafe {
            sys::chio_kernel_open_session(
                self.ptr(),
                agent.as_ptr(),
                if ptrs.is_empty() {
                    ptr::null()
                } else {
                    ptrs.as_ptr()
                },
                if lens.is_empty() {
                    ptr::null()
                } else {
                    lens.as_ptr()
                },
                tokens.len(),
                id.as_mut_ptr(),
                &mut err,
            )
        };
        check(rc, &err)?;
        // SAFETY: NUL-terminated on success.
        let s = unsafe { CStr::from_ptr(id.as_ptr()) };
        Ok(SessionId(s.to_string_lossy().into_owned()))
    }

    /// Refuses new calls on the session (`CHIO_ESESSION_DRAINING`); calls in
    /// flight finish.
    pub fn begin_draining_session(&self, session: &str) -> Result<()> {
        self.entry()?;
        let id = cstring(session, "session id")?;
        let mut err = new_err();
        // SAFETY: thread-safe per evaluate.h (atomic state).
        let rc =
            unsafe { sys::chio_kernel_begin_draining_session(self.ptr(), id.as_ptr(), &mut err) };
        check(rc, &err)
    }

    /// Closes the session; `CHIO_ESESSION_ACTIVE` while calls are in flight
    /// (the session is then draining; close again later).
    pub fn close_session(&self, session: &str) -> Result<()> {
        self.entry()?;
        let id = cstring(session, "session id")?;
        let mut err = new_err();
        // SAFETY: thread-safe per evaluate.h (atomic state).
        let rc = unsafe { sys::chio_kernel_close_session(self.ptr(), id.as_ptr(), &mut err) };
        check(rc, &err)
    }

    /// The session's state.
    pub fn session_state(&self, session: &str) -> Result<SessionState> {
        self.entry()?;
        let id = cstring(session, "session id")?;
        let mut st: sys::chio_session_state = 0;
        // SAFETY: st is writable.
        let rc = unsafe { sys::chio_kernel_session_state(self.ptr(), id.as_ptr(), &mut st) };
        if rc != 0 {
            return Err(Error::from_code(rc));
        }
        Ok(match st {
            sys::CHIO_SESSION_INITIALIZING => SessionState::Initializing,
            sys::CHIO_SESSION_READY => SessionState::Ready,
            sys::CHIO_SESSION_DRAINING => SessionState::Draining,
            sys::CHIO_SESSION_CLOSED => SessionState::Closed,
            other => SessionState::Other(other),
        })
    }

    /// Runs the pipeline for `call`, dispatches it when allowed, signs and
    /// commits the receipt. `Ok` for every decision (allow, deny,
    /// incomplete: read [`Response::verdict`]); `Err` only for the outcomes
    /// without a receipt (`CHIO_ENOSESSION`, `CHIO_ESESSION_DRAINING`,
    /// `CHIO_ESESSION_CLOSED`, `CHIO_EDRAINED`, JSON errors in the
    /// arguments, store failures, ...). A capability the session does not
    /// hold is a deny (`unknown_capability`) with a receipt.
    pub fn evaluate(&self, call: &Call<'_>) -> Result<Response> {
        self.entry()?;
        let session = cstring(call.session_id, "session id")?;
        let request = call
            .request_id
            .map(|r| cstring(r, "request id"))
            .transpose()?;
        let cap = cstring(call.capability_id, "capability id")?;
        let server = cstring(call.server_id, "server id")?;
        let tool = cstring(call.tool_name, "tool name")?;
        let raw_call = sys::chio_call {
            session_id: session.as_ptr(),
            request_id: request.as_ref().map_or(ptr::null(), |r| r.as_ptr()),
            capability_id: cap.as_ptr(),
            server_id: server.as_ptr(),
            tool_name: tool.as_ptr(),
            arguments_json: call
                .arguments_json
                .map_or(ptr::null(), |a| a.as_ptr().cast()),
            arguments_len: call.arguments_json.map_or(0, str::len),
            reserved: [ptr::null_mut(); 4], // zero (chio/abi.h)
        };
        let mut resp = RawResponse::new();
        let mut err = new_err();
        // SAFETY: any number of threads (evaluate.h); the call's strings are
        // borrowed for the duration; resp is ours and destroyed on drop.
        let rc = unsafe { sys::chio_kernel_evaluate(self.ptr(), &raw_call, &mut resp.0, &mut err) };
        check(rc, &err)?;
        resp.take()
    }

    /// Stops accepting work, signs and commits everything queued, joins the
    /// kernel threads. Idempotent; later calls get `CHIO_EDRAINED`. Refused
    /// (`CHIO_EDEADLK`, as libchio does) from inside one of this kernel's
    /// callbacks, where it would wait for its own thread.
    pub fn drain(&self) -> Result<()> {
        if self.in_own(InCallback::Mediation) || self.in_own(InCallback::Infra) {
            return Err(Error::with_message(
                sys::CHIO_EDEADLK,
                "chio_kernel_drain must not be called from a kernel callback",
            ));
        }
        let mut err = new_err();
        // SAFETY: idempotent, safe concurrently with serving calls.
        let rc = unsafe { sys::chio_kernel_drain(self.ptr(), &mut err) };
        check(rc, &err)
    }

    /// A snapshot of the counters.
    pub fn metrics(&self) -> Result<Metrics> {
        let mut m = sys::chio_kernel_metrics::default();
        // SAFETY: safe from any thread at any time.
        let rc = unsafe { sys::chio_kernel_metrics_get(self.ptr(), &mut m) };
        if rc != 0 {
            return Err(Error::from_code(rc));
        }
        Ok(Metrics {
            receipts_signed: m.receipts_signed,
            batches: m.batches,
            max_batch: m.max_batch,
            avg_batch: m.avg_batch,
            ring_depth: m.ring_depth,
            ring_high_water: m.ring_high_water,
            ring_capacity: m.ring_capacity,
            blocking_episodes: m.blocking_episodes,
            wal_syncs: m.wal_syncs,
            checkpoints: m.checkpoints,
            write_errors: m.write_errors,
            last_seq: m.last_seq,
            last_checkpoint_seq: m.last_checkpoint_seq,
            signer_threads_running: m.signer_threads_running,
            failed: m.failed != 0,
            draining: m.draining != 0,
        })
    }

    /// Requests holding a credit of the kernel's in-flight budget now
    /// (queued, signing, awaiting commit or completion); never more than
    /// the ring capacity.
    pub fn in_flight(&self) -> u64 {
        // SAFETY: a relaxed snapshot, safe from any thread at any time.
        unsafe { sys::chio_kernel_in_flight(self.ptr()) }
    }

    /// The counters in Prometheus text format.
    pub fn metrics_prometheus(&self) -> Result<String> {
        let mut out = ptr::null_mut();
        let mut len = 0usize;
        // SAFETY: safe from any thread; out freed by take_chio_buf.
        let rc = unsafe { sys::chio_kernel_metrics_prometheus(self.ptr(), &mut out, &mut len) };
        if rc != 0 {
            return Err(Error::from_code(rc));
        }
        // SAFETY: libchio buffer of len bytes.
        Ok(unsafe { take_chio_buf(out, len) })
    }
}

impl Drop for Kernel {
    fn drop(&mut self) {
        if self.in_own(InCallback::Infra) {
            // The last owner went away inside its own log sink or clock, which may
            // run on one of the kernel's own threads: chio_kernel_free would
            // join that thread from itself. Leak the kernel (and the closures
            // it borrows) rather than deadlock or free memory in use. The
            // closures are forgotten first and the notice cannot panic
            // (eprintln! does on a broken stderr): a panic here would drop
            // them while the leaked kernel still calls them.
            std::mem::forget(std::mem::take(&mut self.callbacks));
            let _ = writeln!(
                std::io::stderr(),
                "chio: Kernel dropped inside a log/clock callback; leaking it"
            );
            return;
        }
        // SAFETY: Drop has exclusive ownership, so no other call of this
        // crate is running on the kernel (its tool, guard and nested
        // callbacks run inside evaluate, which borrows the kernel). A call
        // made through `sys` with the raw pointer (the async API) can still
        // run one of them on the completion thread and drop the last owner
        // there: drain then says CHIO_EDEADLK and chio_kernel_free frees
        // nothing (kernel_free_from_callback), so the closures it borrows
        // are leaked with it. Otherwise chio_kernel_free joins every kernel
        // thread and closes the store, and only then are the closures freed.
        unsafe {
            if sys::chio_kernel_drain(self.raw.as_ptr(), ptr::null_mut()) == sys::CHIO_EDEADLK {
                std::mem::forget(std::mem::take(&mut self.callbacks));
                sys::chio_kernel_free(self.raw.as_ptr()); // frees nothing; logs why
                return;
            }
            sys::chio_kernel_free(self.raw.as_ptr());
        }
        self.callbacks.clear();
    }
}
