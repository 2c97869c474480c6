//! Errors: [`Error`] (a `CHIO_E*` code with its name and message) and the
//! helpers that turn a C return code and its `chio_error` into one.

use std::fmt;
use std::os::raw::c_int;

use crate::strings::static_str;
use crate::sys;
use crate::Result;

#[cfg(doc)]
use crate::code;

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

    pub(crate) fn invalid(message: impl Into<String>) -> Error {
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

pub(crate) fn new_err() -> sys::chio_error {
    let mut e = sys::chio_error {
        code: 0,
        offset: sys::CHIO_NO_OFFSET,
        message: [0; 256],
    };
    // SAFETY: e is a valid chio_error.
    unsafe { sys::chio_error_init(&mut e) };
    e
}

pub(crate) fn check(rc: c_int, err: &sys::chio_error) -> Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(Error::from_raw(rc, err))
    }
}
