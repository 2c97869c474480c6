//! The types kernel callbacks see: [`ToolContext`] for tool closures,
//! [`GuardInput`] / [`GuardDecision`] / [`GuardVerdict`] for guards and
//! [`NestedKind`] for the nested-flow handler.

use std::fmt;
use std::marker::PhantomData;
use std::os::raw::c_int;
use std::ptr;

use crate::error::{check, new_err};
use crate::strings::{borrowed_str, take_chio_buf};
use crate::sys;
use crate::Result;

#[cfg(doc)]
use crate::Kernel;

/// The call being served, handed to tool closures registered with
/// [`Kernel::register_tool_server_with_context`]. Valid only during the call
/// and only on the invoking thread (it is neither `Send` nor `Sync`).
pub struct ToolContext<'a> {
    pub(crate) raw: *mut sys::chio_tool_ctx,
    pub(crate) _not_send: PhantomData<&'a mut *mut ()>,
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
    pub(crate) fn from_raw(v: sys::chio_nested_kind) -> NestedKind {
        match v {
            sys::CHIO_NESTED_SAMPLING => NestedKind::Sampling,
            sys::CHIO_NESTED_SAMPLING_WITH_TOOLS => NestedKind::SamplingWithTools,
            sys::CHIO_NESTED_ELICITATION => NestedKind::Elicitation,
            other => NestedKind::Other(other),
        }
    }
}
