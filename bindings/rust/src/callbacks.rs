//! The Rust side of kernel callbacks: which callback (if any) this thread is
//! running, the heap states whose addresses C holds as `user`/`ctx`, the
//! boxed closure types, and the `extern "C"` trampolines that call the
//! closures, catch their panics and hand their results to the kernel.

use std::cell::Cell;
use std::ffi::CString;
use std::marker::PhantomData;
use std::os::raw::{c_char, c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use crate::callback_types::{GuardDecision, GuardInput, GuardVerdict, NestedKind, ToolContext};
use crate::config::LogLevel;
use crate::strings::{borrowed_str, bytes_str, clip, panic_message};
use crate::sys;
use crate::Result;

// ---- callback bookkeeping ------------------------------------------------------------------------

/// What kind of kernel callback this thread is running. Kernel entry
/// points consult it to refuse the calls the C API forbids from callbacks.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum InCallback {
    /// tool, guard or nested-flow callback (runs on a thread inside evaluate)
    Mediation,
    /// log sink or clock (may run under the kernel's log mutex)
    Infra,
}

/// One running callback on this thread: its kind and the state address
/// (`user`/`ctx`) C called it with, which names the kernel it belongs to
/// (each kernel owns its states, see `Kernel::callbacks`). Frames live on
/// the trampolines' stacks and link to the callback they interrupted, so a
/// kernel can ask whether one of *its* callbacks is running here: libchio
/// refuses calls from a log sink or clock only on that sink's own kernel.
struct Frame {
    kind: InCallback,
    state: *const c_void,
    prev: Cell<*const Frame>,
}

thread_local! {
    // Const-initialised and without a destructor: usable from C threads at
    // any time, also while the thread exits.
    static TOP: Cell<*const Frame> = const { Cell::new(ptr::null()) };
}

/// Pushes `frame` while it lives. The frame must stay where it is (it is a
/// local of the trampoline that made the scope, and the scope borrows it).
struct CallbackScope<'f> {
    frame: &'f Frame,
}

impl<'f> CallbackScope<'f> {
    fn enter(frame: &'f Frame) -> CallbackScope<'f> {
        frame.prev.set(TOP.with(|t| t.replace(frame as *const Frame)));
        CallbackScope { frame }
    }
}

impl Drop for CallbackScope<'_> {
    fn drop(&mut self) {
        TOP.with(|t| t.set(self.frame.prev.get()));
    }
}

fn frame(kind: InCallback, state: *const c_void) -> Frame {
    Frame {
        kind,
        state,
        prev: Cell::new(ptr::null()),
    }
}

/// Whether a callback of `kind` whose state is one of `states` (one
/// kernel's) is running on this thread, at any depth.
pub(crate) fn in_own_callback(kind: InCallback, states: &[Owned]) -> bool {
    let mut f = TOP.with(|t| t.get());
    while !f.is_null() {
        // SAFETY: frames on the list are alive (each is removed by its
        // scope's Drop before its trampoline returns).
        let fr = unsafe { &*f };
        if fr.kind == kind && states.iter().any(|o| o.ptr as *const c_void == fr.state) {
            return true;
        }
        f = fr.prev.get();
    }
    false
}

/// A heap value whose address was handed to C as a `void *user`. Kept as a
/// raw pointer (not a `Box`) so that moving the owner never asserts
/// uniqueness over memory C may be reading; freed exactly once on drop.
pub(crate) struct Owned {
    pub(crate) ptr: *mut c_void,
    free: unsafe fn(*mut c_void),
}

unsafe fn free_box<T>(p: *mut c_void) {
    drop(Box::from_raw(p.cast::<T>()));
}

impl Owned {
    pub(crate) fn new<T: Send + Sync + 'static>(value: T) -> Owned {
        Owned {
            ptr: Box::into_raw(Box::new(value)).cast(),
            free: free_box::<T>,
        }
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        // SAFETY: ptr came from Box::into_raw of the type `free` was
        // instantiated with, and is freed only here.
        unsafe { (self.free)(self.ptr) }
    }
}

// SAFETY: Owned is only ever built from `T: Send + Sync` values.
unsafe impl Send for Owned {}
// SAFETY: as above.
unsafe impl Sync for Owned {}

// ---- boxed closure types -----------------------------------------------------------------------

pub(crate) type ToolFn =
    dyn Fn(&ToolContext<'_>, &str, &str) -> Result<String, String> + Send + Sync + 'static;
pub(crate) type GuardFnBox = dyn Fn(&GuardInput<'_>) -> GuardDecision + Send + Sync + 'static;
pub(crate) type NestedFnBox =
    dyn Fn(NestedKind, &str, &str) -> Result<String, String> + Send + Sync + 'static;
pub(crate) type LogFnBox = dyn Fn(LogLevel, &str) + Send + Sync + 'static;
pub(crate) type ClockFnBox = dyn Fn() -> u64 + Send + Sync + 'static;

// ---- callback state and trampolines ------------------------------------------------------------

pub(crate) struct LogState {
    pub(crate) f: Box<LogFnBox>,
}

pub(crate) struct ClockState {
    pub(crate) f: Box<ClockFnBox>,
}

pub(crate) struct ToolServerState {
    pub(crate) f: Box<ToolFn>,
}

pub(crate) struct GuardState {
    pub(crate) f: Box<GuardFnBox>,
}

pub(crate) struct NestedState {
    pub(crate) f: Box<NestedFnBox>,
}

pub(crate) unsafe extern "C" fn log_trampoline(
    ctx: *mut c_void,
    level: sys::chio_log_level,
    json: *const c_char,
    len: usize,
) {
    let fr = frame(InCallback::Infra, ctx);
    let _scope = CallbackScope::enter(&fr);
    // SAFETY: ctx is the LogState the Kernel keeps alive; json/len are valid
    // for the call.
    let state = &*(ctx as *const LogState);
    let bytes = if json.is_null() {
        &[][..]
    } else {
        std::slice::from_raw_parts(json.cast::<u8>(), len)
    };
    let text = String::from_utf8_lossy(bytes);
    if let Err(p) = catch_unwind(AssertUnwindSafe(|| {
        (state.f)(LogLevel::from_raw(level), &text)
    })) {
        drop(panic_message(p));
    }
}

fn wall_clock() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub(crate) unsafe extern "C" fn clock_trampoline(ctx: *mut c_void) -> u64 {
    let fr = frame(InCallback::Infra, ctx);
    let _scope = CallbackScope::enter(&fr);
    // SAFETY: ctx is the ClockState the Kernel keeps alive.
    let state = &*(ctx as *const ClockState);
    match catch_unwind(AssertUnwindSafe(|| (state.f)())) {
        Ok(t) => t,
        Err(p) => {
            drop(panic_message(p));
            wall_clock()
        }
    }
}

/// Sets an error text on a kernel output slot. The text goes to libchio
/// whole (up to a NUL, where C would stop reading): libchio scans all of it
/// for secrets before it cuts it to its 255 bytes on a character boundary
/// (evaluate.h, kernel/dispatch.c), so a cut here could split a secret into
/// a prefix the scan misses and that the receipt then signs.
///
/// # Safety
/// `out` is the slot handed to the running callback.
unsafe fn output_error(out: *mut sys::chio_output, msg: &str) {
    let text = msg.split('\0').next().unwrap_or("");
    if let Ok(c) = CString::new(text) {
        sys::chio_output_set_error(out, c.as_ptr());
    }
}

/// Hands a callback's `Result<String, String>` (or its panic) to the kernel.
///
/// # Safety
/// `out` is the slot handed to the running callback.
unsafe fn deliver(
    out: *mut sys::chio_output,
    what: &str,
    result: std::thread::Result<Result<String, String>>,
) -> c_int {
    match result {
        Ok(Ok(json)) => {
            let rc = sys::chio_output_set_json(out, json.as_ptr().cast(), json.len());
            if rc != 0 {
                // set_json recorded "result is not valid JSON: ..." itself.
                rc
            } else {
                0
            }
        }
        Ok(Err(msg)) => {
            output_error(out, &msg);
            sys::CHIO_EFAILED
        }
        Err(p) => {
            let msg = panic_message(p);
            output_error(out, &format!("{what} panicked: {msg}"));
            sys::CHIO_EFAILED
        }
    }
}

pub(crate) unsafe extern "C" fn tool_trampoline(
    user: *mut c_void,
    ctx: *mut sys::chio_tool_ctx,
    tool: *const c_char,
    args: *const c_char,
    args_len: usize,
    out: *mut sys::chio_output,
) -> c_int {
    let fr = frame(InCallback::Mediation, user);
    let _scope = CallbackScope::enter(&fr);
    let result = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: user is the ToolServerState the Kernel keeps alive until
        // after chio_kernel_free; tool/args are valid for the call.
        let state = &*(user as *const ToolServerState);
        let tool = borrowed_str(tool).ok_or_else(|| "tool name is not UTF-8".to_owned())?;
        let args = bytes_str(args, args_len).ok_or_else(|| "arguments are not UTF-8".to_owned())?;
        let tctx = ToolContext {
            raw: ctx,
            _not_send: PhantomData,
        };
        (state.f)(&tctx, tool, args)
    }));
    deliver(out, "tool", result)
}

pub(crate) unsafe extern "C" fn nested_trampoline(
    user: *mut c_void,
    kind: sys::chio_nested_kind,
    session_id: *const c_char,
    request: *const c_char,
    request_len: usize,
    reply: *mut sys::chio_output,
) -> c_int {
    let fr = frame(InCallback::Mediation, user);
    let _scope = CallbackScope::enter(&fr);
    let result = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: user is the NestedState the Kernel keeps alive; strings
        // are valid for the call.
        let state = &*(user as *const NestedState);
        let session = borrowed_str(session_id).unwrap_or("");
        let req =
            bytes_str(request, request_len).ok_or_else(|| "request is not UTF-8".to_owned())?;
        (state.f)(NestedKind::from_raw(kind), session, req)
    }));
    deliver(reply, "nested handler", result)
}

pub(crate) unsafe extern "C" fn guard_trampoline(
    user: *mut c_void,
    input: *const sys::chio_guard_input,
    verdict: *mut sys::chio_guard_verdict,
    details: *mut c_char,
    details_cap: usize,
) -> c_int {
    let fr = frame(InCallback::Mediation, user);
    let _scope = CallbackScope::enter(&fr);
    let result = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: user is the GuardState the Kernel keeps alive; the input
        // and its strings are valid for the call.
        let state = &*(user as *const GuardState);
        let i = &*input;
        // A field C gave as NULL reads as empty; one that is not UTF-8
        // denies the call before the guard sees it (read as empty or as
        // `null`, a guard matching on it would pass what it should stop).
        let text = |p: *const c_char| {
            if p.is_null() {
                Some("")
            } else {
                borrowed_str(p)
            }
        };
        let fields = (
            text(i.session_id),
            text(i.request_id),
            text(i.agent_id),
            text(i.capability_id),
            text(i.server_id),
            text(i.tool_name),
            bytes_str(i.arguments_json, i.arguments_len),
        );
        let (session_id, request_id, agent_id, capability_id, server_id, tool_name, arguments_json) =
            match fields {
                (Some(a), Some(b), Some(c), Some(d), Some(e), Some(f), Some(g)) => {
                    (a, b, c, d, e, f, g)
                }
                _ => return GuardDecision::deny("guard input is not UTF-8"),
            };
        let gi = GuardInput {
            session_id,
            request_id,
            agent_id,
            capability_id,
            server_id,
            tool_name,
            arguments_json,
        };
        (state.f)(&gi)
    }));
    let (v, text, rc) = match result {
        Ok(d) => (d.verdict, d.details, 0),
        Err(p) => (
            GuardVerdict::Deny,
            Some(format!("guard panicked: {}", panic_message(p))),
            sys::CHIO_EFAILED,
        ),
    };
    *verdict = match v {
        GuardVerdict::Pass => sys::CHIO_GUARD_PASS,
        GuardVerdict::Deny => sys::CHIO_GUARD_DENY,
    };
    if !details.is_null() && details_cap > 0 {
        let t = clip(text.as_deref().unwrap_or(""), details_cap - 1);
        ptr::copy_nonoverlapping(t.as_ptr(), details.cast::<u8>(), t.len());
        *details.add(t.len()) = 0;
    }
    rc
}
