//! Signed receipts: the [`Verdict`] a receipt records, [`Receipt`] itself
//! and the [`ReceiptReport`] of its verification.

use std::fmt;
use std::ptr::{self, NonNull};

use crate::error::{check, new_err, Error};
use crate::strings::{borrowed_str, bytes_str, static_str};
use crate::sys;
use crate::Result;

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
    pub(crate) fn from_raw(v: sys::chio_verdict) -> Verdict {
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
    /// Authorized, Allowed, Denied, Cancelled, Incomplete, Observed, Advisory or Invalid:
    /// chio's label of what the receipt records (kind, boundary and decision), whatever the
    /// checks found: a forged allow still reads "Authorized". Decide on `ok` and
    /// `authorized`, never on `result`.
    pub result: String,
    /// The receipt id.
    pub id: String,
    /// The signer's public key (hex).
    pub signer_key_hex: String,
}

impl Receipt {
    /// # Safety
    /// `raw` is an owned, valid receipt.
    pub(crate) unsafe fn from_raw(raw: *mut sys::chio_receipt) -> Option<Receipt> {
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
