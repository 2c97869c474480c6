//! Ed25519 keys: [`Keypair`] (seed held and wiped by libchio), public-key
//! decoding and signature verification.

use std::fmt;
use std::ptr::{self, NonNull};

use crate::error::{check, new_err, Error};
use crate::strings::borrowed_str;
use crate::sys;
use crate::Result;

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
    /// newline (`CHIO_ESEED_*` codes). `hex` is only read: wipe your own
    /// copy of the seed. To load a seed file, use
    /// [`Keypair::from_seed_file`], which keeps the seed out of any
    /// `String` or `Vec` and wipes what it read.
    pub fn from_seed_hex(hex: &str) -> Result<Keypair> {
        Keypair::from_seed_bytes(hex.as_bytes())
    }

    /// [`Keypair::from_seed_hex`] on bytes (any bytes: libchio checks them).
    pub(crate) fn from_seed_bytes(hex: &[u8]) -> Result<Keypair> {
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

    pub(crate) fn into_raw(self) -> *mut sys::chio_keypair {
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
