//! String helpers for the FFI boundary: Rust strings and paths to C
//! strings, borrowed and static C strings to `&str`, libchio-allocated
//! buffers to `String`, and panic payloads to messages.

use std::ffi::{CStr, CString};
use std::os::raw::c_char;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use crate::error::Error;
use crate::sys;
use crate::Result;

pub(crate) fn cstring(s: &str, what: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::invalid(format!("{what} contains a NUL byte")))
}

#[cfg(unix)]
pub(crate) fn path_cstring(p: &Path, what: &str) -> Result<CString> {
    use std::os::unix::ffi::OsStrExt;
    CString::new(p.as_os_str().as_bytes())
        .map_err(|_| Error::invalid(format!("{what} contains a NUL byte")))
}

#[cfg(not(unix))]
pub(crate) fn path_cstring(p: &Path, what: &str) -> Result<CString> {
    let s = p
        .to_str()
        .ok_or_else(|| Error::invalid(format!("{what} is not valid UTF-8")))?;
    cstring(s, what)
}

/// # Safety
/// `p` is NULL or a static NUL-terminated string.
pub(crate) unsafe fn static_str(p: *const c_char) -> &'static str {
    if p.is_null() {
        ""
    } else {
        CStr::from_ptr(p).to_str().unwrap_or("")
    }
}

/// # Safety
/// `p` is NULL or a NUL-terminated string valid for `'a`.
pub(crate) unsafe fn borrowed_str<'a>(p: *const c_char) -> Option<&'a str> {
    if p.is_null() {
        None
    } else {
        CStr::from_ptr(p).to_str().ok()
    }
}

/// # Safety
/// `p` is NULL or points to `len` readable bytes valid for `'a`.
pub(crate) unsafe fn bytes_str<'a>(p: *const c_char, len: usize) -> Option<&'a str> {
    if p.is_null() {
        return if len == 0 { Some("") } else { None };
    }
    std::str::from_utf8(std::slice::from_raw_parts(p.cast::<u8>(), len)).ok()
}

/// Cuts `s` to at most `max` bytes on a char boundary and at its first NUL.
pub(crate) fn clip(s: &str, max: usize) -> &str {
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
pub(crate) unsafe fn take_chio_buf(p: *mut c_char, len: usize) -> String {
    if p.is_null() {
        return String::new();
    }
    let s = String::from_utf8_lossy(std::slice::from_raw_parts(p.cast::<u8>(), len)).into_owned();
    sys::chio_free(p.cast());
    s
}

pub(crate) fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
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
