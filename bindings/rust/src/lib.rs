#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod sys;

use std::cell::Cell;
use std::ffi::{CStr, CString};
use std::fmt;
use std::marker::PhantomData;
use std::os::raw::{c_char, c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::ptr::{self, NonNull};

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// libchio's result codes (`CHIO_E*`), as found in [`Error::code`].
///
/// The numbers are part of libchio's ABI and never change.
pub mod code {
    pub use crate::sys::{
        CHIO_EAGAIN as EAGAIN, CHIO_EBADSIG as EBADSIG, CHIO_EBUSY as EBUSY,
        CHIO_ECONFIG as ECONFIG, CHIO_ECORRUPT as ECORRUPT, CHIO_ECRYPTO as ECRYPTO,
        CHIO_EDEADLK as EDEADLK, CHIO_EDENIED as EDENIED, CHIO_EDRAINED as EDRAINED, CHIO_EDUPLICATE as EDUPLICATE,
        CHIO_EFAILED as EFAILED, CHIO_EFORMAT as EFORMAT, CHIO_EHASH as EHASH, CHIO_EHEX as EHEX,
        CHIO_EINVAL as EINVAL, CHIO_EIO as EIO, CHIO_EJSON_CONTROL as EJSON_CONTROL,
        CHIO_EJSON_DEPTH as EJSON_DEPTH, CHIO_EJSON_DUPKEY as EJSON_DUPKEY,
        CHIO_EJSON_NULKEY as EJSON_NULKEY, CHIO_EJSON_NUMBER as EJSON_NUMBER,
        CHIO_EJSON_SURROGATE as EJSON_SURROGATE, CHIO_EJSON_SYNTAX as EJSON_SYNTAX,
        CHIO_EJSON_TRAILING as EJSON_TRAILING, CHIO_EJSON_TRUNCATED as EJSON_TRUNCATED,
        CHIO_EJSON_UTF8 as EJSON_UTF8, CHIO_EKEY as EKEY, CHIO_ENOCAP as ENOCAP,
        CHIO_ENOMEM as ENOMEM, CHIO_ENOSESSION as ENOSESSION, CHIO_ENOTFOUND as ENOTFOUND,
        CHIO_ENOTMINE as ENOTMINE, CHIO_EPROOF as EPROOF, CHIO_ERANGE as ERANGE,
        CHIO_ESCHEMA as ESCHEMA, CHIO_ESEED_LENGTH as ESEED_LENGTH,
        CHIO_ESEED_NEWLINE as ESEED_NEWLINE, CHIO_ESEED_NONHEX as ESEED_NONHEX,
        CHIO_ESEED_ODD as ESEED_ODD, CHIO_ESEED_SPACE as ESEED_SPACE, CHIO_ESEMANTIC as ESEMANTIC,
        CHIO_ESERVING as ESERVING, CHIO_ESESSION_ACTIVE as ESESSION_ACTIVE,
        CHIO_ESESSION_CLOSED as ESESSION_CLOSED, CHIO_ESESSION_DRAINING as ESESSION_DRAINING,
        CHIO_ESIGFORMAT as ESIGFORMAT, CHIO_ESTORE as ESTORE, CHIO_ESTREAM_LIMIT as ESTREAM_LIMIT,
        CHIO_ESYS as ESYS, CHIO_ETOOBIG as ETOOBIG, CHIO_EWEB3 as EWEB3, CHIO_OK as OK,
    };
}

/// The version string of the linked libchio (`CHIO_VERSION_STRING`).
pub fn version() -> &'static str {
    // SAFETY: chio_version returns a static NUL-terminated string.
    unsafe { static_str(sys::chio_version()) }
}

// ---- errors ------------------------------------------------------------------------------------

/// An error from libchio: the negative `CHIO_E*` code, its symbolic name
/// (`"CHIO_ENOSESSION"`) and a human-readable message (the library's detail
/// when it gave one, else the code's standard text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The `CHIO_E*` code (negative); see [`code`].
    pub code: i32,
    /// The code's symbolic name, e.g. `"CHIO_ENOSESSION"`.
    pub name: String,
    /// What went wrong. Never contains key material.
    pub message: String,
}

impl Error {
    /// An error with `code` and the code's standard text as its message.
    pub fn from_code(code: i32) -> Error {
        Error::with_message(code, strerror(code))
    }

    /// An error with `code` and an explicit message.
    pub fn with_message(code: i32, message: impl Into<String>) -> Error {
        // SAFETY: chio_errno_name returns a static string for every int.
        let name = unsafe { static_str(sys::chio_errno_name(code)) };
        Error {
            code,
            name: name.to_owned(),
            message: message.into(),
        }
    }

    /// Builds the error from a C return code and the `chio_error` the call
    /// filled (its message is used when the library wrote one).
    fn from_raw(code: c_int, err: &sys::chio_error) -> Error {
        // SAFETY: the message is always NUL-terminated (error.h); we look at
        // it only when the library recorded this failure.
        let detail = if err.code != 0 && err.message[0] != 0 {
            let bytes: Vec<u8> = err
                .message
                .iter()
                .take_while(|&&c| c != 0)
                .map(|&c| c as u8)
                .collect();
            Some(String::from_utf8_lossy(&bytes).into_owned())
        } else {
            None
        };
        match detail {
            Some(msg) => Error::with_message(code, msg),
            None => Error::from_code(code),
        }
    }

    fn invalid(message: impl Into<String>) -> Error {
        Error::with_message(sys::CHIO_EINVAL, message)
    }

    /// The standard English text of the code (`chio_strerror`).
    pub fn strerror(&self) -> &'static str {
        strerror(self.code)
    }

    /// The scenario/reporting name of an evaluation error that produced no
    /// receipt (`chio_errno_reason`): `"unknown_session"`,
    /// `"session_closed"`, `"kernel_drained"`, ... or `"internal_error"`.
    pub fn reporting_name(&self) -> &'static str {
        // SAFETY: static string for every int.
        unsafe { static_str(sys::chio_errno_reason(self.code)) }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.name, self.code, self.message)
    }
}

impl std::error::Error for Error {}

fn strerror(code: i32) -> &'static str {
    // SAFETY: chio_strerror returns a static string for every int.
    unsafe { static_str(sys::chio_strerror(code)) }
}

fn new_err() -> sys::chio_error {
    let mut e = sys::chio_error {
        code: 0,
        offset: sys::CHIO_NO_OFFSET,
        message: [0; 256],
    };
    // SAFETY: e is a valid chio_error.
    unsafe { sys::chio_error_init(&mut e) };
    e
}

fn check(rc: c_int, err: &sys::chio_error) -> Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(Error::from_raw(rc, err))
    }
}

// ---- string helpers ------------------------------------------------------------------------------

fn cstring(s: &str, what: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::invalid(format!("{what} contains a NUL byte")))
}

#[cfg(unix)]
fn path_cstring(p: &Path, what: &str) -> Result<CString> {
    use std::os::unix::ffi::OsStrExt;
    CString::new(p.as_os_str().as_bytes())
        .map_err(|_| Error::invalid(format!("{what} contains a NUL byte")))
}

#[cfg(not(unix))]
fn path_cstring(p: &Path, what: &str) -> Result<CString> {
    let s = p
        .to_str()
        .ok_or_else(|| Error::invalid(format!("{what} is not valid UTF-8")))?;
    cstring(s, what)
}

/// # Safety
/// `p` is NULL or a static NUL-terminated string.
unsafe fn static_str(p: *const c_char) -> &'static str {
    if p.is_null() {
        ""
    } else {
        CStr::from_ptr(p).to_str().unwrap_or("")
    }
}

/// # Safety
/// `p` is NULL or a NUL-terminated string valid for `'a`.
unsafe fn borrowed_str<'a>(p: *const c_char) -> Option<&'a str> {
    if p.is_null() {
        None
    } else {
        CStr::from_ptr(p).to_str().ok()
    }
}

/// # Safety
/// `p` is NULL or points to `len` readable bytes valid for `'a`.
unsafe fn bytes_str<'a>(p: *const c_char, len: usize) -> Option<&'a str> {
    if p.is_null() {
        return if len == 0 { Some("") } else { None };
    }
    std::str::from_utf8(std::slice::from_raw_parts(p.cast::<u8>(), len)).ok()
}

/// Cuts `s` to at most `max` bytes on a char boundary and at its first NUL.
fn clip(s: &str, max: usize) -> &str {
    let s = s.split('\0').next().unwrap_or("");
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Takes a libchio-allocated buffer into a `String` and frees it.
///
/// # Safety
/// `p` is NULL or a buffer of `len` bytes allocated by libchio.
unsafe fn take_chio_buf(p: *mut c_char, len: usize) -> String {
    if p.is_null() {
        return String::new();
    }
    let s = String::from_utf8_lossy(std::slice::from_raw_parts(p.cast::<u8>(), len)).into_owned();
    sys::chio_free(p.cast());
    s
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    let msg = if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    };
    // Dropping a payload may itself panic; never let that unwind into C.
    if let Err(again) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        std::mem::forget(again);
    }
    msg
}

// ---- callback bookkeeping ------------------------------------------------------------------------

/// What kind of kernel callback this thread is running, if any. Kernel entry
/// points consult it to refuse the calls the C API forbids from callbacks.
#[derive(Clone, Copy, PartialEq, Eq)]
enum InCallback {
    None,
    /// tool, guard or nested-flow callback (runs on a thread inside evaluate)
    Mediation,
    /// log sink or clock (may run under the kernel's log mutex)
    Infra,
}

thread_local! {
    static IN_CALLBACK: Cell<InCallback> = const { Cell::new(InCallback::None) };
}

struct CallbackScope(InCallback);

impl CallbackScope {
    fn enter(kind: InCallback) -> CallbackScope {
        let prev = IN_CALLBACK.with(|c| c.replace(kind));
        CallbackScope(prev)
    }
}

impl Drop for CallbackScope {
    fn drop(&mut self) {
        IN_CALLBACK.with(|c| c.set(self.0));
    }
}

fn in_callback() -> InCallback {
    IN_CALLBACK.with(|c| c.get())
}

/// A heap value whose address was handed to C as a `void *user`. Kept as a
/// raw pointer (not a `Box`) so that moving the owner never asserts
/// uniqueness over memory C may be reading; freed exactly once on drop.
struct Owned {
    ptr: *mut c_void,
    free: unsafe fn(*mut c_void),
}

unsafe fn free_box<T>(p: *mut c_void) {
    drop(Box::from_raw(p.cast::<T>()));
}

impl Owned {
    fn new<T: Send + Sync + 'static>(value: T) -> Owned {
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

// ---- keys ------------------------------------------------------------------------------------

/// An Ed25519 keypair. The seed lives only inside libchio and is wiped
/// (`OPENSSL_cleanse`) when the keypair is dropped.
pub struct Keypair {
    raw: NonNull<sys::chio_keypair>,
}

// SAFETY: a chio_keypair is immutable after creation; signing and reading
// the public key are documented safe from any thread, concurrently; freeing
// needs ownership (Drop).
unsafe impl Send for Keypair {}
// SAFETY: see above.
unsafe impl Sync for Keypair {}

impl Keypair {
    /// A keypair from a 64-digit hex seed (optionally `0x`-prefixed), with
    /// libchio's exact acceptance rules: no whitespace, not even a trailing
    /// newline (`CHIO_ESEED_*` codes).
    pub fn from_seed_hex(hex: &str) -> Result<Keypair> {
        let mut out = ptr::null_mut();
        let mut err = new_err();
        // SAFETY: hex is borrowed for the call, with its length.
        let rc = unsafe {
            sys::chio_keypair_from_seed_hex(hex.as_ptr().cast(), hex.len(), &mut out, &mut err)
        };
        check(rc, &err)?;
        NonNull::new(out)
            .map(|raw| Keypair { raw })
            .ok_or_else(|| Error::from_code(sys::CHIO_ENOMEM))
    }

    /// A fresh keypair from OpenSSL's private DRBG.
    pub fn generate() -> Result<Keypair> {
        let mut out = ptr::null_mut();
        let mut err = new_err();
        // SAFETY: out and err are valid.
        let rc = unsafe { sys::chio_keypair_generate(&mut out, &mut err) };
        check(rc, &err)?;
        NonNull::new(out)
            .map(|raw| Keypair { raw })
            .ok_or_else(|| Error::from_code(sys::CHIO_ENOMEM))
    }

    /// The public key as 64 lowercase hex digits.
    pub fn public_hex(&self) -> &str {
        // SAFETY: owned by the keypair, valid while it lives.
        unsafe { borrowed_str(sys::chio_keypair_public_hex(self.raw.as_ptr())).unwrap_or("") }
    }

    /// The 32 public-key bytes.
    pub fn public_key(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        // SAFETY: out has 32 bytes; cannot fail for a valid keypair.
        unsafe { sys::chio_keypair_public_key(self.raw.as_ptr(), out.as_mut_ptr()) };
        out
    }

    /// The Ed25519 signature (RFC 8032) of `msg`.
    pub fn sign(&self, msg: &[u8]) -> Result<[u8; 64]> {
        let mut sig = [0u8; 64];
        // SAFETY: msg borrowed with its length; sig has 64 bytes.
        let rc = unsafe {
            sys::chio_keypair_sign(
                self.raw.as_ptr(),
                msg.as_ptr().cast(),
                msg.len(),
                sig.as_mut_ptr(),
            )
        };
        if rc != 0 {
            return Err(Error::from_code(rc));
        }
        Ok(sig)
    }

    fn into_raw(self) -> *mut sys::chio_keypair {
        let raw = self.raw.as_ptr();
        std::mem::forget(self);
        raw
    }
}

impl Drop for Keypair {
    fn drop(&mut self) {
        // SAFETY: we own the keypair; chio_keypair_free wipes the seed.
        unsafe { sys::chio_keypair_free(self.raw.as_ptr()) }
    }
}

impl fmt::Debug for Keypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keypair")
            .field("public", &self.public_hex())
            .finish_non_exhaustive()
    }
}

/// Decodes a public key: 64 hex digits of either case, optionally `0x`-prefixed.
pub fn public_key_from_hex(hex: &str) -> Result<[u8; 32]> {
    let mut out = [0u8; 32];
    // SAFETY: hex borrowed with its length; out has 32 bytes.
    let rc = unsafe { sys::chio_pubkey_from_hex(hex.as_ptr().cast(), hex.len(), out.as_mut_ptr()) };
    if rc != 0 {
        return Err(Error::from_code(rc));
    }
    Ok(out)
}

/// Checks an Ed25519 signature; `Ok(false)` when it does not verify.
pub fn ed25519_verify(public_key: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> Result<bool> {
    // SAFETY: fixed-size buffers and msg with its length.
    let rc = unsafe {
        sys::chio_ed25519_verify(
            public_key.as_ptr(),
            msg.as_ptr().cast(),
            msg.len(),
            sig.as_ptr(),
        )
    };
    match rc {
        0 => Ok(true),
        sys::CHIO_EBADSIG => Ok(false),
        rc => Err(Error::from_code(rc)),
    }
}

// ---- verdicts and receipts ---------------------------------------------------------------------

/// The decision a receipt records (`chio_verdict`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// No decision (observation receipts).
    None,
    /// The call was allowed and dispatched.
    Allow,
    /// The call was denied.
    Deny,
    /// The call was cancelled.
    Cancelled,
    /// The call ran but ended incomplete (a stream limit).
    Incomplete,
    /// A value this binding does not know.
    Other(i32),
}

impl Verdict {
    fn from_raw(v: sys::chio_verdict) -> Verdict {
        match v {
            sys::CHIO_VERDICT_NONE => Verdict::None,
            sys::CHIO_VERDICT_ALLOW => Verdict::Allow,
            sys::CHIO_VERDICT_DENY => Verdict::Deny,
            sys::CHIO_VERDICT_CANCELLED => Verdict::Cancelled,
            sys::CHIO_VERDICT_INCOMPLETE => Verdict::Incomplete,
            other => Verdict::Other(other),
        }
    }

    fn to_raw(self) -> sys::chio_verdict {
        match self {
            Verdict::None => sys::CHIO_VERDICT_NONE,
            Verdict::Allow => sys::CHIO_VERDICT_ALLOW,
            Verdict::Deny => sys::CHIO_VERDICT_DENY,
            Verdict::Cancelled => sys::CHIO_VERDICT_CANCELLED,
            Verdict::Incomplete => sys::CHIO_VERDICT_INCOMPLETE,
            Verdict::Other(v) => v,
        }
    }

    /// The wire name: `"allow"`, `"deny"`, `"cancelled"`, `"incomplete"`,
    /// `"none"`, or `""` for an unknown value.
    pub fn as_str(self) -> &'static str {
        // SAFETY: static string or NULL.
        unsafe { static_str(sys::chio_verdict_name(self.to_raw())) }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A signed receipt (`chio_receipt`), immutable. Dropping it frees it.
pub struct Receipt {
    raw: NonNull<sys::chio_receipt>,
}

// SAFETY: a chio_receipt is immutable; its readers and chio_receipt_verify
// only read it ("safe; @r is only read"); freeing needs ownership.
unsafe impl Send for Receipt {}
// SAFETY: see above.
unsafe impl Sync for Receipt {}

/// The result of [`Receipt::verify_report`] (`chio_receipt_report`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptReport {
    /// Semantic rules + id + Ed25519 signature under the embedded kernel key.
    pub signature_valid: bool,
    /// The id is the SHA-256 of the canonical id input.
    pub receipt_id_valid: bool,
    /// parameter_hash matches the canonical parameters.
    pub parameter_hash_valid: bool,
    /// The kernel key is one of the trusted keys.
    pub signer_trusted: bool,
    /// An allow by a mediated decision, fully valid and trusted.
    pub authorized: bool,
    /// Signature, id and parameter hash valid and signer trusted.
    pub ok: bool,
    /// The recorded decision.
    pub decision: Verdict,
    /// Wire name of the receipt kind.
    pub receipt_kind: String,
    /// Wire name of the boundary class.
    pub boundary_class: String,
    /// Wire name of the trust level.
    pub trust_level: String,
    /// Authorized, Allowed, Denied, Cancelled, Incomplete, Observed, Advisory or Invalid.
    pub result: String,
    /// The receipt id.
    pub id: String,
    /// The signer's public key (hex).
    pub signer_key_hex: String,
}

impl Receipt {
    /// # Safety
    /// `raw` is an owned, valid receipt.
    unsafe fn from_raw(raw: *mut sys::chio_receipt) -> Option<Receipt> {
        NonNull::new(raw).map(|raw| Receipt { raw })
    }

    /// Parses a signed receipt (for verification or display).
    pub fn parse(json: &str) -> Result<Receipt> {
        let mut out = ptr::null_mut();
        let mut err = new_err();
        // SAFETY: json borrowed with its length.
        let rc = unsafe {
            sys::chio_receipt_parse(json.as_ptr().cast(), json.len(), &mut out, &mut err)
        };
        check(rc, &err)?;
        // SAFETY: on success *out is an owned receipt.
        unsafe { Receipt::from_raw(out) }.ok_or_else(|| Error::from_code(sys::CHIO_ENOMEM))
    }

    /// The canonical JSON of the whole receipt (what the store holds).
    pub fn json(&self) -> &str {
        let mut len = 0usize;
        // SAFETY: bytes owned by the receipt, valid while it lives; canonical
        // JSON is UTF-8.
        unsafe { bytes_str(sys::chio_receipt_json(self.raw.as_ptr(), &mut len), len).unwrap_or("") }
    }

    /// The content-addressed receipt id.
    pub fn id(&self) -> &str {
        // SAFETY: owned by the receipt.
        unsafe { borrowed_str(sys::chio_receipt_id(self.raw.as_ptr())).unwrap_or("") }
    }

    /// Unix seconds.
    pub fn timestamp(&self) -> u64 {
        // SAFETY: valid receipt.
        unsafe { sys::chio_receipt_timestamp(self.raw.as_ptr()) }
    }

    /// The capability id the call presented.
    pub fn capability_id(&self) -> Option<&str> {
        // SAFETY: owned by the receipt.
        unsafe { borrowed_str(sys::chio_receipt_capability_id(self.raw.as_ptr())) }
    }

    /// The tool server id.
    pub fn tool_server(&self) -> Option<&str> {
        // SAFETY: owned by the receipt.
        unsafe { borrowed_str(sys::chio_receipt_tool_server(self.raw.as_ptr())) }
    }

    /// The tool name.
    pub fn tool_name(&self) -> Option<&str> {
        // SAFETY: owned by the receipt.
        unsafe { borrowed_str(sys::chio_receipt_tool_name(self.raw.as_ptr())) }
    }

    /// The recorded decision.
    pub fn verdict(&self) -> Verdict {
        // SAFETY: valid receipt.
        Verdict::from_raw(unsafe { sys::chio_receipt_verdict(self.raw.as_ptr()) })
    }

    /// The signing kernel's public key (hex).
    pub fn kernel_key_hex(&self) -> &str {
        // SAFETY: owned by the receipt.
        unsafe { borrowed_str(sys::chio_receipt_kernel_key_hex(self.raw.as_ptr())).unwrap_or("") }
    }

    /// Full verification; `Ok(true)` when the signature, id and parameter
    /// hash are valid and the signer is one of `trusted` (the report's `ok`).
    pub fn verify(&self, trusted: &[[u8; 32]]) -> Result<bool> {
        Ok(self.verify_report(trusted)?.ok)
    }

    /// Full verification with every field of the report.
    pub fn verify_report(&self, trusted: &[[u8; 32]]) -> Result<ReceiptReport> {
        let keys = if trusted.is_empty() {
            ptr::null()
        } else {
            trusted.as_ptr().cast::<u8>()
        };
        let mut rep = std::mem::MaybeUninit::<sys::chio_receipt_report>::zeroed();
        // SAFETY: `trusted` is n * 32 contiguous bytes; rep is writable.
        let rc = unsafe {
            sys::chio_receipt_verify(self.raw.as_ptr(), keys, trusted.len(), rep.as_mut_ptr())
        };
        if rc != 0 {
            return Err(Error::from_code(rc));
        }
        // SAFETY: zero-initialised and filled by chio_receipt_verify (all
        // fields are integers, pointers or a char array).
        let rep = unsafe { rep.assume_init() };
        let hex: Vec<u8> = rep
            .signer_key_hex
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        // SAFETY: string members are static or owned by self.
        unsafe {
            Ok(ReceiptReport {
                signature_valid: rep.signature_valid != 0,
                receipt_id_valid: rep.receipt_id_valid != 0,
                parameter_hash_valid: rep.parameter_hash_valid != 0,
                signer_trusted: rep.signer_trusted != 0,
                authorized: rep.authorized != 0,
                ok: rep.ok != 0,
                decision: Verdict::from_raw(rep.decision),
                receipt_kind: borrowed_str(rep.receipt_kind).unwrap_or("").to_owned(),
                boundary_class: borrowed_str(rep.boundary_class).unwrap_or("").to_owned(),
                trust_level: borrowed_str(rep.trust_level).unwrap_or("").to_owned(),
                result: borrowed_str(rep.result).unwrap_or("").to_owned(),
                id: borrowed_str(rep.id).unwrap_or("").to_owned(),
                signer_key_hex: String::from_utf8_lossy(&hex).into_owned(),
            })
        }
    }
}

impl Drop for Receipt {
    fn drop(&mut self) {
        // SAFETY: we own the receipt.
        unsafe { sys::chio_receipt_free(self.raw.as_ptr()) }
    }
}

impl Clone for Receipt {
    /// Re-parses the canonical bytes (receipts are immutable values).
    fn clone(&self) -> Receipt {
        Receipt::parse(self.json()).expect("a receipt's own canonical JSON parses")
    }
}

impl fmt::Debug for Receipt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receipt")
            .field("id", &self.id())
            .field("verdict", &self.verdict())
            .field("tool_server", &self.tool_server())
            .field("tool_name", &self.tool_name())
            .finish()
    }
}

// ---- capabilities ---------------------------------------------------------------------------------

/// A capability token (`chio.capability.v1`), immutable. Dropping it frees it.
pub struct Capability {
    raw: NonNull<sys::chio_capability>,
}

// SAFETY: a parsed/issued token is immutable and read-only from any thread
// (capability.h); freeing needs ownership.
unsafe impl Send for Capability {}
// SAFETY: see above.
unsafe impl Sync for Capability {}

impl Capability {
    /// Parses a token (checks shapes, not signatures).
    pub fn parse(json: &str) -> Result<Capability> {
        let mut out = ptr::null_mut();
        let mut err = new_err();
        // SAFETY: json borrowed with its length.
        let rc = unsafe {
            sys::chio_capability_parse(json.as_ptr().cast(), json.len(), &mut out, &mut err)
        };
        check(rc, &err)?;
        NonNull::new(out)
            .map(|raw| Capability { raw })
            .ok_or_else(|| Error::from_code(sys::CHIO_ENOMEM))
    }

    /// The canonical JSON of the whole token, signature included. This is
    /// what [`Kernel::open_session`] takes.
    pub fn json(&self) -> &str {
        let mut len = 0usize;
        // SAFETY: owned by the token.
        unsafe {
            bytes_str(sys::chio_capability_json(self.raw.as_ptr(), &mut len), len).unwrap_or("")
        }
    }

    /// The token id.
    pub fn id(&self) -> &str {
        // SAFETY: owned by the token.
        unsafe { borrowed_str(sys::chio_capability_id(self.raw.as_ptr())).unwrap_or("") }
    }

    /// The issuer's public key (lowercase hex).
    pub fn issuer_hex(&self) -> &str {
        // SAFETY: owned by the token.
        unsafe { borrowed_str(sys::chio_capability_issuer_hex(self.raw.as_ptr())).unwrap_or("") }
    }

    /// The subject (agent) public key (lowercase hex).
    pub fn subject_hex(&self) -> &str {
        // SAFETY: owned by the token.
        unsafe { borrowed_str(sys::chio_capability_subject_hex(self.raw.as_ptr())).unwrap_or("") }
    }

    /// Unix seconds.
    pub fn issued_at(&self) -> u64 {
        // SAFETY: valid token.
        unsafe { sys::chio_capability_issued_at(self.raw.as_ptr()) }
    }

    /// Unix seconds.
    pub fn expires_at(&self) -> u64 {
        // SAFETY: valid token.
        unsafe { sys::chio_capability_expires_at(self.raw.as_ptr()) }
    }
}

impl Drop for Capability {
    fn drop(&mut self) {
        // SAFETY: we own the token.
        unsafe { sys::chio_capability_free(self.raw.as_ptr()) }
    }
}

impl fmt::Debug for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Capability")
            .field("id", &self.id())
            .field("subject", &self.subject_hex())
            .field("expires_at", &self.expires_at())
            .finish()
    }
}

// ---- kernel configuration ------------------------------------------------------------------------

/// How hard the receipt store syncs (`chio_durability`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// WAL fsync per group commit (the default).
    #[default]
    Sync,
    /// WAL written, not fsynced: survives a crash of the process, not of the machine.
    NoSync,
}

/// Log levels (`chio_log_level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// Debug.
    Debug,
    /// Info (the default threshold).
    Info,
    /// Warnings.
    Warn,
    /// Errors.
    Error,
}

impl LogLevel {
    fn to_raw(self) -> sys::chio_log_level {
        match self {
            LogLevel::Debug => sys::CHIO_LOG_DEBUG,
            LogLevel::Info => sys::CHIO_LOG_INFO,
            LogLevel::Warn => sys::CHIO_LOG_WARN,
            LogLevel::Error => sys::CHIO_LOG_ERROR,
        }
    }

    fn from_raw(v: sys::chio_log_level) -> LogLevel {
        match v {
            sys::CHIO_LOG_DEBUG => LogLevel::Debug,
            sys::CHIO_LOG_INFO => LogLevel::Info,
            sys::CHIO_LOG_WARN => LogLevel::Warn,
            _ => LogLevel::Error,
        }
    }
}

/// Receipt retention (`chio_retention_config`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retention {
    /// Keep receipts at most this many days (0: no age limit).
    pub retention_days: u32,
    /// Keep at most this many bytes of receipts (0: no size limit).
    pub max_size_bytes: u64,
    /// Where expired receipts are archived; `None` drops them.
    pub archive_path: Option<PathBuf>,
}

type ToolFn =
    dyn Fn(&ToolContext<'_>, &str, &str) -> Result<String, String> + Send + Sync + 'static;
type GuardFnBox = dyn Fn(&GuardInput<'_>) -> GuardDecision + Send + Sync + 'static;
type NestedFnBox = dyn Fn(NestedKind, &str, &str) -> Result<String, String> + Send + Sync + 'static;
type LogFnBox = dyn Fn(LogLevel, &str) + Send + Sync + 'static;
type ClockFnBox = dyn Fn() -> u64 + Send + Sync + 'static;

enum Registration {
    Tool {
        id: String,
        tools: Vec<String>,
        f: Box<ToolFn>,
    },
    Guard {
        name: String,
        f: Box<GuardFnBox>,
    },
    ForbiddenPath {
        name: String,
        prefixes: Vec<String>,
    },
    SecretLeak {
        name: String,
        patterns: Vec<String>,
    },
    Nested(Box<NestedFnBox>),
}

enum StoreChoice {
    Unset,
    Ephemeral,
    Path(PathBuf),
}

/// Configures and builds a [`Kernel`] (`chio_kernel_config` plus the
/// build-phase registrations). Unset options keep libchio's defaults.
///
/// A receipt store is required: call [`KernelBuilder::receipt_store`] or
/// [`KernelBuilder::ephemeral_store`].
pub struct KernelBuilder {
    keypair: Keypair,
    policy_hash: String,
    store: StoreChoice,
    ca_keys: Vec<[u8; 32]>,
    max_delegation_depth: Option<u32>,
    allow_sampling: bool,
    allow_sampling_tool_use: bool,
    allow_elicitation: bool,
    max_stream_duration_secs: Option<u64>,
    max_stream_total_bytes: Option<u64>,
    require_web3_evidence: bool,
    checkpoint_batch_size: Option<u64>,
    retention: Option<Retention>,
    signer_threads: Option<u32>,
    ring_capacity: Option<u32>,
    max_batch: Option<u32>,
    durability: Durability,
    log_level: Option<LogLevel>,
    log: Option<Box<LogFnBox>>,
    clock: Option<Box<ClockFnBox>>,
    registrations: Vec<Registration>,
}

impl fmt::Debug for KernelBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KernelBuilder")
            .field("public", &self.keypair.public_hex())
            .field("policy_hash", &self.policy_hash)
            .field("registrations", &self.registrations.len())
            .finish_non_exhaustive()
    }
}

impl KernelBuilder {
    /// A builder for a kernel signing with `keypair` (taken over by the
    /// kernel) and embedding `policy_hash` in every receipt.
    pub fn new(keypair: Keypair, policy_hash: impl Into<String>) -> KernelBuilder {
        KernelBuilder {
            keypair,
            policy_hash: policy_hash.into(),
            store: StoreChoice::Unset,
            ca_keys: Vec::new(),
            max_delegation_depth: None,
            allow_sampling: false,
            allow_sampling_tool_use: false,
            allow_elicitation: false,
            max_stream_duration_secs: None,
            max_stream_total_bytes: None,
            require_web3_evidence: false,
            checkpoint_batch_size: None,
            retention: None,
            signer_threads: None,
            ring_capacity: None,
            max_batch: None,
            durability: Durability::Sync,
            log_level: None,
            log: None,
            clock: None,
            registrations: Vec::new(),
        }
    }

    /// Persist receipts in a RocksDB directory (created when missing).
    pub fn receipt_store(mut self, path: impl AsRef<Path>) -> Self {
        self.store = StoreChoice::Path(path.as_ref().to_path_buf());
        self
    }

    /// Keep receipts in memory only.
    pub fn ephemeral_store(mut self) -> Self {
        self.store = StoreChoice::Ephemeral;
        self
    }

    /// WAL sync policy of the receipt store.
    pub fn durability(mut self, d: Durability) -> Self {
        self.durability = d;
        self
    }

    /// Trusted capability issuers besides the kernel itself.
    pub fn ca_public_keys(mut self, keys: &[[u8; 32]]) -> Self {
        self.ca_keys = keys.to_vec();
        self
    }

    /// Longest delegation chain accepted.
    pub fn max_delegation_depth(mut self, n: u32) -> Self {
        self.max_delegation_depth = Some(n);
        self
    }

    /// Allow tools to ask for sampling (`sampling/createMessage`).
    pub fn allow_sampling(mut self, yes: bool) -> Self {
        self.allow_sampling = yes;
        self
    }

    /// Allow sampling with tool use.
    pub fn allow_sampling_tool_use(mut self, yes: bool) -> Self {
        self.allow_sampling_tool_use = yes;
        self
    }

    /// Allow elicitation (`elicitation/create`).
    pub fn allow_elicitation(mut self, yes: bool) -> Self {
        self.allow_elicitation = yes;
        self
    }

    /// Stream duration limit (0: none).
    pub fn max_stream_duration_secs(mut self, secs: u64) -> Self {
        self.max_stream_duration_secs = Some(secs);
        self
    }

    /// Stream size limit.
    pub fn max_stream_total_bytes(mut self, bytes: u64) -> Self {
        self.max_stream_total_bytes = Some(bytes);
        self
    }

    /// Require web3 evidence (needs a durable store and checkpoints).
    pub fn require_web3_evidence(mut self, yes: bool) -> Self {
        self.require_web3_evidence = yes;
        self
    }

    /// Receipts per checkpoint (0 disables checkpoints).
    pub fn checkpoint_batch_size(mut self, n: u64) -> Self {
        self.checkpoint_batch_size = Some(n);
        self
    }

    /// Enable receipt retention.
    pub fn retention(mut self, r: Retention) -> Self {
        self.retention = Some(r);
        self
    }

    /// Signer threads (1..=64).
    pub fn signer_threads(mut self, n: u32) -> Self {
        self.signer_threads = Some(n);
        self
    }

    /// Signing ring capacity (a power of two >= 2).
    pub fn ring_capacity(mut self, n: u32) -> Self {
        self.ring_capacity = Some(n);
        self
    }

    /// Receipts per signer batch (1..=65536).
    pub fn max_batch(mut self, n: u32) -> Self {
        self.max_batch = Some(n);
        self
    }

    /// Lowest level logged.
    pub fn log_level(mut self, level: LogLevel) -> Self {
        self.log_level = Some(level);
        self
    }

    /// A log sink receiving one JSON object per call (default: JSON lines on
    /// stderr). Called from any kernel thread, one call at a time, possibly
    /// under the kernel's log lock: it must not call into the kernel (such
    /// calls fail with `CHIO_EINVAL`). Panics are caught and dropped.
    pub fn log_sink<F>(mut self, f: F) -> Self
    where
        F: Fn(LogLevel, &str) + Send + Sync + 'static,
    {
        self.log = Some(Box::new(f));
        self
    }

    /// A clock returning Unix seconds (default: wall clock). Must not call
    /// into the kernel. A panicking clock falls back to the wall clock.
    pub fn clock<F>(mut self, f: F) -> Self
    where
        F: Fn() -> u64 + Send + Sync + 'static,
    {
        self.clock = Some(Box::new(f));
        self
    }

    /// Registers a tool server at build time; see [`Kernel::register_tool_server`].
    pub fn tool_server<F>(self, server_id: &str, tools: &[&str], f: F) -> Self
    where
        F: Fn(&str, &str) -> Result<String, String> + Send + Sync + 'static,
    {
        self.tool_server_with_context(server_id, tools, move |_ctx, tool, args| f(tool, args))
    }

    /// Like [`KernelBuilder::tool_server`], with the call's [`ToolContext`].
    pub fn tool_server_with_context<F>(mut self, server_id: &str, tools: &[&str], f: F) -> Self
    where
        F: Fn(&ToolContext<'_>, &str, &str) -> Result<String, String> + Send + Sync + 'static,
    {
        self.registrations.push(Registration::Tool {
            id: server_id.to_owned(),
            tools: tools.iter().map(|s| (*s).to_owned()).collect(),
            f: Box::new(f),
        });
        self
    }

    /// Appends a guard; see [`Kernel::add_guard`].
    pub fn guard<F>(mut self, name: &str, f: F) -> Self
    where
        F: Fn(&GuardInput<'_>) -> GuardDecision + Send + Sync + 'static,
    {
        self.registrations.push(Registration::Guard {
            name: name.to_owned(),
            f: Box::new(f),
        });
        self
    }

    /// Appends the built-in forbidden-path guard; see [`Kernel::add_forbidden_path_guard`].
    pub fn forbidden_path_guard(mut self, name: &str, prefixes: &[&str]) -> Self {
        self.registrations.push(Registration::ForbiddenPath {
            name: name.to_owned(),
            prefixes: prefixes.iter().map(|s| (*s).to_owned()).collect(),
        });
        self
    }

    /// Appends the built-in secret-leak guard; see [`Kernel::add_secret_leak_guard`].
    pub fn secret_leak_guard(mut self, name: &str, patterns: &[&str]) -> Self {
        self.registrations.push(Registration::SecretLeak {
            name: name.to_owned(),
            patterns: patterns.iter().map(|s| (*s).to_owned()).collect(),
        });
        self
    }

    /// Sets the nested-flow handler; see [`Kernel::set_nested_handler`].
    pub fn nested_handler<F>(mut self, f: F) -> Self
    where
        F: Fn(NestedKind, &str, &str) -> Result<String, String> + Send + Sync + 'static,
    {
        self.registrations.push(Registration::Nested(Box::new(f)));
        self
    }

    /// Builds the kernel (`chio_kernel_new`), then applies the registrations
    /// in the order they were given. Starts no thread and opens nothing.
    pub fn build(self) -> Result<Kernel> {
        let KernelBuilder {
            keypair,
            policy_hash,
            store,
            ca_keys,
            max_delegation_depth,
            allow_sampling,
            allow_sampling_tool_use,
            allow_elicitation,
            max_stream_duration_secs,
            max_stream_total_bytes,
            require_web3_evidence,
            checkpoint_batch_size,
            retention,
            signer_threads,
            ring_capacity,
            max_batch,
            durability,
            log_level,
            log,
            clock,
            registrations,
        } = self;

        // Every fallible conversion first, so that nothing leaks on error.
        let policy = cstring(&policy_hash, "policy_hash")?;
        let store_path = match &store {
            StoreChoice::Path(p) => Some(path_cstring(p, "receipt store path")?),
            _ => None,
        };
        let archive = match retention.as_ref().and_then(|r| r.archive_path.as_ref()) {
            Some(p) => Some(path_cstring(p, "retention archive_path")?),
            None => None,
        };

        let mut cfg = std::mem::MaybeUninit::<sys::chio_kernel_config>::uninit();
        // SAFETY: config_init writes the whole struct.
        let mut cfg = unsafe {
            sys::chio_kernel_config_init(cfg.as_mut_ptr());
            cfg.assume_init()
        };
        cfg.policy_hash = policy.as_ptr();
        if !ca_keys.is_empty() {
            cfg.ca_public_keys = ca_keys.as_ptr().cast();
            cfg.n_ca_public_keys = ca_keys.len();
        }
        if let Some(n) = max_delegation_depth {
            cfg.max_delegation_depth = n;
        }
        cfg.allow_sampling = allow_sampling as c_int;
        cfg.allow_sampling_tool_use = allow_sampling_tool_use as c_int;
        cfg.allow_elicitation = allow_elicitation as c_int;
        if let Some(n) = max_stream_duration_secs {
            cfg.max_stream_duration_secs = n;
        }
        if let Some(n) = max_stream_total_bytes {
            cfg.max_stream_total_bytes = n;
        }
        cfg.require_web3_evidence = require_web3_evidence as c_int;
        if let Some(n) = checkpoint_batch_size {
            cfg.checkpoint_batch_size = n;
        }
        if let Some(r) = &retention {
            cfg.retention_config.enabled = 1;
            cfg.retention_config.retention_days = r.retention_days;
            cfg.retention_config.max_size_bytes = r.max_size_bytes;
            cfg.retention_config.archive_path =
                archive.as_ref().map_or(ptr::null(), |a| a.as_ptr());
        }
        match &store {
            StoreChoice::Unset => {}
            StoreChoice::Ephemeral => cfg.ephemeral_store = 1,
            StoreChoice::Path(_) => {
                cfg.receipt_store_path = store_path.as_ref().map_or(ptr::null(), |p| p.as_ptr());
            }
        }
        if let Some(n) = signer_threads {
            cfg.signer_threads = n;
        }
        if let Some(n) = ring_capacity {
            cfg.ring_capacity = n;
        }
        if let Some(n) = max_batch {
            cfg.max_batch = n;
        }
        cfg.durability = match durability {
            Durability::Sync => sys::CHIO_DURABILITY_SYNC,
            Durability::NoSync => sys::CHIO_DURABILITY_NOSYNC,
        };
        if let Some(l) = log_level {
            cfg.log_level = l.to_raw();
        }
        let mut callbacks = Vec::new();
        if let Some(f) = log {
            let owned = Owned::new(LogState { f });
            cfg.log = Some(log_trampoline);
            cfg.log_ctx = owned.ptr;
            callbacks.push(owned);
        }
        if let Some(f) = clock {
            let owned = Owned::new(ClockState { f });
            cfg.clock = Some(clock_trampoline);
            cfg.clock_ctx = owned.ptr;
            callbacks.push(owned);
        }
        cfg.keypair = keypair.into_raw();

        let mut raw = ptr::null_mut();
        let mut err = new_err();
        // SAFETY: cfg is fully initialised; its strings and arrays outlive
        // the call (they are copied); the keypair is taken over in every
        // case; the log/clock contexts live in `callbacks`, which the
        // Kernel keeps until after chio_kernel_free.
        let rc = unsafe { sys::chio_kernel_new(&cfg, &mut raw, &mut err) };
        check(rc, &err)?;
        let raw = NonNull::new(raw).ok_or_else(|| Error::from_code(sys::CHIO_ENOMEM))?;
        let mut kernel = Kernel { raw, callbacks };

        for reg in registrations {
            match reg {
                Registration::Tool { id, tools, f } => {
                    let names: Vec<&str> = tools.iter().map(String::as_str).collect();
                    kernel.register_boxed_tool_server(&id, &names, f)?;
                }
                Registration::Guard { name, f } => kernel.add_boxed_guard(&name, f)?,
                Registration::ForbiddenPath { name, prefixes } => {
                    let p: Vec<&str> = prefixes.iter().map(String::as_str).collect();
                    kernel.add_forbidden_path_guard(&name, &p)?;
                }
                Registration::SecretLeak { name, patterns } => {
                    let p: Vec<&str> = patterns.iter().map(String::as_str).collect();
                    kernel.add_secret_leak_guard(&name, &p)?;
                }
                Registration::Nested(f) => kernel.set_boxed_nested_handler(f)?,
            }
        }
        Ok(kernel)
    }
}

// ---- callback state and trampolines ------------------------------------------------------------

struct LogState {
    f: Box<LogFnBox>,
}

struct ClockState {
    f: Box<ClockFnBox>,
}

struct ToolServerState {
    f: Box<ToolFn>,
}

struct GuardState {
    f: Box<GuardFnBox>,
}

struct NestedState {
    f: Box<NestedFnBox>,
}

unsafe extern "C" fn log_trampoline(
    ctx: *mut c_void,
    level: sys::chio_log_level,
    json: *const c_char,
    len: usize,
) {
    let _scope = CallbackScope::enter(InCallback::Infra);
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

unsafe extern "C" fn clock_trampoline(ctx: *mut c_void) -> u64 {
    let _scope = CallbackScope::enter(InCallback::Infra);
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

/// Sets an error text on a kernel output slot (clipped to fit its 255 bytes).
///
/// # Safety
/// `out` is the slot handed to the running callback.
unsafe fn output_error(out: *mut sys::chio_output, msg: &str) {
    if let Ok(c) = CString::new(clip(msg, 240)) {
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

unsafe extern "C" fn tool_trampoline(
    user: *mut c_void,
    ctx: *mut sys::chio_tool_ctx,
    tool: *const c_char,
    args: *const c_char,
    args_len: usize,
    out: *mut sys::chio_output,
) -> c_int {
    let _scope = CallbackScope::enter(InCallback::Mediation);
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

unsafe extern "C" fn nested_trampoline(
    user: *mut c_void,
    kind: sys::chio_nested_kind,
    session_id: *const c_char,
    request: *const c_char,
    request_len: usize,
    reply: *mut sys::chio_output,
) -> c_int {
    let _scope = CallbackScope::enter(InCallback::Mediation);
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

unsafe extern "C" fn guard_trampoline(
    user: *mut c_void,
    input: *const sys::chio_guard_input,
    verdict: *mut sys::chio_guard_verdict,
    details: *mut c_char,
    details_cap: usize,
) -> c_int {
    let _scope = CallbackScope::enter(InCallback::Mediation);
    let result = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: user is the GuardState the Kernel keeps alive; the input
        // and its strings are valid for the call.
        let state = &*(user as *const GuardState);
        let i = &*input;
        let gi = GuardInput {
            session_id: borrowed_str(i.session_id).unwrap_or(""),
            request_id: borrowed_str(i.request_id).unwrap_or(""),
            agent_id: borrowed_str(i.agent_id).unwrap_or(""),
            capability_id: borrowed_str(i.capability_id).unwrap_or(""),
            server_id: borrowed_str(i.server_id).unwrap_or(""),
            tool_name: borrowed_str(i.tool_name).unwrap_or(""),
            arguments_json: bytes_str(i.arguments_json, i.arguments_len).unwrap_or("null"),
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

// ---- callback-facing types ---------------------------------------------------------------------

/// The call being served, handed to tool closures registered with
/// [`Kernel::register_tool_server_with_context`]. Valid only during the call
/// and only on the invoking thread (it is neither `Send` nor `Sync`).
pub struct ToolContext<'a> {
    raw: *mut sys::chio_tool_ctx,
    _not_send: PhantomData<&'a mut *mut ()>,
}

impl fmt::Debug for ToolContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToolContext")
            .field("session_id", &self.session_id())
            .field("request_id", &self.request_id())
            .finish()
    }
}

impl ToolContext<'_> {
    /// The session of the call.
    pub fn session_id(&self) -> &str {
        // SAFETY: owned by the kernel, valid during the call.
        unsafe { borrowed_str(sys::chio_tool_ctx_session_id(self.raw)).unwrap_or("") }
    }

    /// The request id of the call.
    pub fn request_id(&self) -> &str {
        // SAFETY: owned by the kernel, valid during the call.
        unsafe { borrowed_str(sys::chio_tool_ctx_request_id(self.raw)).unwrap_or("") }
    }

    /// Asks the agent's model for a completion (`sampling/createMessage`).
    /// The kernel checks `allow_sampling` (and `allow_sampling_tool_use`)
    /// and signs a child receipt either way. A refusal is
    /// `Err` with `CHIO_EDENIED`; a failed host handler `CHIO_EFAILED`.
    pub fn sample(&self, request_json: &str, with_tools: bool) -> Result<String> {
        let mut reply = ptr::null_mut();
        let mut len = 0usize;
        let mut err = new_err();
        // SAFETY: ctx valid during the call on this thread; request borrowed.
        let rc = unsafe {
            sys::chio_tool_ctx_sample(
                self.raw,
                request_json.as_ptr().cast(),
                request_json.len(),
                with_tools as c_int,
                &mut reply,
                &mut len,
                &mut err,
            )
        };
        check(rc, &err)?;
        // SAFETY: on success reply is a libchio buffer of len bytes.
        Ok(unsafe { take_chio_buf(reply, len) })
    }

    /// Asks the user for input (`elicitation/create`); see [`ToolContext::sample`].
    pub fn elicit(&self, request_json: &str) -> Result<String> {
        let mut reply = ptr::null_mut();
        let mut len = 0usize;
        let mut err = new_err();
        // SAFETY: as in sample().
        let rc = unsafe {
            sys::chio_tool_ctx_elicit(
                self.raw,
                request_json.as_ptr().cast(),
                request_json.len(),
                &mut reply,
                &mut len,
                &mut err,
            )
        };
        check(rc, &err)?;
        // SAFETY: on success reply is a libchio buffer of len bytes.
        Ok(unsafe { take_chio_buf(reply, len) })
    }
}

/// What a guard sees (`chio_guard_input`).
#[derive(Debug, Clone, Copy)]
pub struct GuardInput<'a> {
    /// The session.
    pub session_id: &'a str,
    /// The request.
    pub request_id: &'a str,
    /// The agent (public key hex).
    pub agent_id: &'a str,
    /// The capability presented.
    pub capability_id: &'a str,
    /// The tool server (`"*"` for resource and prompt requests).
    pub server_id: &'a str,
    /// The tool.
    pub tool_name: &'a str,
    /// Canonical JSON of the arguments.
    pub arguments_json: &'a str,
}

/// A guard's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuardVerdict {
    /// Let the call go on to the next guard.
    Pass,
    /// Deny the call (`guard_denied`).
    Deny,
}

/// A guard's answer: a verdict and optional evidence text for the receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardDecision {
    /// Pass or deny.
    pub verdict: GuardVerdict,
    /// Evidence text (clipped to the kernel's buffer).
    pub details: Option<String>,
}

impl GuardDecision {
    /// Pass, without details.
    pub fn pass() -> GuardDecision {
        GuardDecision {
            verdict: GuardVerdict::Pass,
            details: None,
        }
    }

    /// Deny, with details.
    pub fn deny(details: impl Into<String>) -> GuardDecision {
        GuardDecision {
            verdict: GuardVerdict::Deny,
            details: Some(details.into()),
        }
    }
}

/// The kind of a nested request (`chio_nested_kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NestedKind {
    /// `sampling/createMessage`.
    Sampling,
    /// `sampling/createMessage` with tool use.
    SamplingWithTools,
    /// `elicitation/create`.
    Elicitation,
    /// A value this binding does not know.
    Other(i32),
}

impl NestedKind {
    fn from_raw(v: sys::chio_nested_kind) -> NestedKind {
        match v {
            sys::CHIO_NESTED_SAMPLING => NestedKind::Sampling,
            sys::CHIO_NESTED_SAMPLING_WITH_TOOLS => NestedKind::SamplingWithTools,
            sys::CHIO_NESTED_ELICITATION => NestedKind::Elicitation,
            other => NestedKind::Other(other),
        }
    }
}

// ---- sessions, calls, responses -------------------------------------------------------------------

/// A session id (`"sess-"` + 22 base64url characters). Derefs to `&str`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(String);

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
struct RawResponse(sys::chio_response);

impl RawResponse {
    fn new() -> RawResponse {
        let mut r = std::mem::MaybeUninit::<sys::chio_response>::zeroed();
        // SAFETY: zeroed is a valid empty response; init is harmless.
        unsafe {
            sys::chio_response_init(r.as_mut_ptr());
            RawResponse(r.assume_init())
        }
    }

    /// Moves everything out into a [`Response`]; whatever is left is freed on drop.
    fn take(&mut self) -> Result<Response> {
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
    /// Times a caller waited for ring space.
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

// ---- the kernel ------------------------------------------------------------------------------------

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
    raw: NonNull<sys::chio_kernel>,
    /// Closure states whose addresses the C kernel holds as `user`/`ctx`;
    /// freed after chio_kernel_free (see Drop).
    callbacks: Vec<Owned>,
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

    /// Refuses calls from inside a log sink or clock (they may run under the
    /// kernel's log lock, and the clock is consulted by every call).
    fn entry(&self) -> Result<()> {
        if in_callback() == InCallback::Infra {
            return Err(Error::invalid(
                "libchio kernel called from inside a log sink or clock callback",
            ));
        }
        Ok(())
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

    fn register_boxed_tool_server(
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
    /// in the reason. A panic in `f` is caught and becomes a `tool_error`.
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

    fn add_boxed_guard(&mut self, name: &str, f: Box<GuardFnBox>) -> Result<()> {
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
    /// expressions; an invalid one is `CHIO_EINVAL`).
    pub fn add_secret_leak_guard(&mut self, name: &str, patterns: &[&str]) -> Result<()> {
        self.add_list_guard(
            name,
            patterns,
            "pattern",
            sys::chio_kernel_add_secret_leak_guard,
        )
    }

    fn set_boxed_nested_handler(&mut self, f: Box<NestedFnBox>) -> Result<()> {
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

    /// Whether a capability id is revoked.
    pub fn is_revoked(&self, capability_id: &str) -> bool {
        if self.entry().is_err() {
            return false;
        }
        match CString::new(capability_id) {
            // SAFETY: borrowed for the call.
            Ok(id) => unsafe { sys::chio_kernel_is_revoked(self.ptr(), id.as_ptr()) == 1 },
            Err(_) => false,
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
    /// (`CHIO_EINVAL`) from inside a kernel callback, where it would deadlock.
    pub fn drain(&self) -> Result<()> {
        if in_callback() != InCallback::None {
            return Err(Error::invalid(
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
        if in_callback() == InCallback::Infra {
            // The last owner went away inside a log sink or clock, which may
            // run on one of the kernel's own threads: chio_kernel_free would
            // join that thread from itself. Leak the kernel (and the closures
            // it borrows) rather than deadlock or free memory in use.
            eprintln!("chio: Kernel dropped inside a log/clock callback; leaking it");
            std::mem::forget(std::mem::take(&mut self.callbacks));
            return;
        }
        // SAFETY: Drop has exclusive ownership, so no other call is running
        // on the kernel (tool, guard and nested callbacks run inside
        // evaluate, which borrows the kernel, so the last owner cannot go
        // away inside one of them). chio_kernel_free drains, joins every
        // kernel thread and closes the store; only after that are the
        // closure states it borrowed freed.
        unsafe { sys::chio_kernel_free(self.raw.as_ptr()) };
        self.callbacks.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED_07: &str = "0707070707070707070707070707070707070707070707070707070707070707";
    const PUB_07: &str = "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c";

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn public_types_are_send_sync() {
        assert_send_sync::<Kernel>();
        assert_send_sync::<Keypair>();
        assert_send_sync::<Receipt>();
        assert_send_sync::<Capability>();
        assert_send_sync::<Response>();
        assert_send_sync::<Error>();
        assert_send_sync::<KernelBuilder>();
    }

    #[test]
    fn keypair_from_seed() {
        let kp = Keypair::from_seed_hex(SEED_07).unwrap();
        assert_eq!(kp.public_hex(), PUB_07);
        assert_eq!(kp.public_key(), public_key_from_hex(PUB_07).unwrap());
        let sig = kp.sign(b"hello").unwrap();
        assert!(ed25519_verify(&kp.public_key(), b"hello", &sig).unwrap());
        assert!(!ed25519_verify(&kp.public_key(), b"hellO", &sig).unwrap());
        assert!(format!("{kp:?}").contains(PUB_07));
    }

    #[test]
    fn seed_errors_map_to_codes() {
        let e = Keypair::from_seed_hex("abc").unwrap_err();
        assert_eq!(e.code, code::ESEED_ODD);
        assert_eq!(e.name, "CHIO_ESEED_ODD");
        assert!(!e.message.is_empty());
        let e = Keypair::from_seed_hex(&format!("{SEED_07}\n")).unwrap_err();
        assert_eq!(e.code, code::ESEED_NEWLINE);
        let e = Keypair::from_seed_hex("zz").unwrap_err();
        assert_eq!(e.code, code::ESEED_NONHEX);
        let e = Keypair::from_seed_hex("").unwrap_err();
        assert_eq!(e.code, code::ESEED_LENGTH);
        let shown = e.to_string();
        assert!(shown.starts_with("CHIO_ESEED_LENGTH (-14): "), "{shown}");
    }

    #[test]
    fn error_names() {
        let e = Error::from_code(code::ENOSESSION);
        assert_eq!(e.name, "CHIO_ENOSESSION");
        assert_eq!(e.message, "unknown session");
        assert_eq!(e.reporting_name(), "unknown_session");
        assert_eq!(Error::from_code(-9999).name, "CHIO_EUNKNOWN");
        let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(e);
        assert!(boxed.to_string().contains("-72"));
    }

    #[test]
    fn config_errors_are_reported() {
        // No store chosen: the C side names the field.
        let kp = Keypair::from_seed_hex(SEED_07).unwrap();
        let e = KernelBuilder::new(kp, "sha256:policy").build().unwrap_err();
        assert_eq!(e.code, code::ECONFIG);
        assert!(e.message.contains("receipt_store_path"), "{}", e.message);
        let kp = Keypair::from_seed_hex(SEED_07).unwrap();
        let e = KernelBuilder::new(kp, "p")
            .ephemeral_store()
            .ring_capacity(3)
            .build()
            .unwrap_err();
        assert!(e.message.contains("ring_capacity"), "{}", e.message);
        let kp = Keypair::from_seed_hex(SEED_07).unwrap();
        let e = KernelBuilder::new(kp, "p\0x")
            .ephemeral_store()
            .build()
            .unwrap_err();
        assert_eq!(e.code, code::EINVAL);
    }

    #[test]
    fn clip_respects_char_boundaries() {
        assert_eq!(clip("héllo", 2), "h");
        assert_eq!(clip("abc\0def", 10), "abc");
        assert_eq!(clip("abc", 3), "abc");
    }

    #[test]
    fn receipt_parse_rejects_garbage() {
        let e = Receipt::parse("{").unwrap_err();
        assert_eq!(e.code, code::EJSON_TRUNCATED);
        assert!(Capability::parse("[]").is_err());
    }

    #[test]
    fn version_is_set() {
        assert_eq!(version(), "0.2.0");
    }
}
