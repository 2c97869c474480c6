//! Capability tokens (`chio.capability.v1`): [`Capability`].

use std::fmt;
use std::ptr::{self, NonNull};

use crate::error::{check, new_err, Error};
use crate::strings::{borrowed_str, bytes_str};
use crate::sys;
use crate::Result;

#[cfg(doc)]
use crate::Kernel;

/// A capability token (`chio.capability.v1`), immutable. Dropping it frees it.
pub struct Capability {
    pub(crate) raw: NonNull<sys::chio_capability>,
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
