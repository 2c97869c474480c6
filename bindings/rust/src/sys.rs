//! Raw FFI declarations for libchio (`include/chio/*.h`).
//!
//! Only what the safe layer and the tests use is declared, but every struct
//! here mirrors its C definition field for field (the layouts are part of
//! libchio's ABI). C enums are passed as `c_int`: a Rust `enum` must never be
//! built from a value the C side might add later. The unit tests at the end
//! check sizes and offsets against the values of the C compiler
//! (x86_64/aarch64 Linux) and read back what `chio_kernel_config_init` writes.
//!
//! Everything here is `unsafe` to call; see the header comments for
//! ownership and thread-safety of each function.

#![allow(non_camel_case_types)]
#![allow(missing_docs)]

use std::os::raw::{c_char, c_int, c_void};

// ---- error.h --------------------------------------------------------------------------

pub const CHIO_OK: c_int = 0;
pub const CHIO_EINVAL: c_int = -1;
pub const CHIO_ENOMEM: c_int = -2;
pub const CHIO_EIO: c_int = -3;
pub const CHIO_ECRYPTO: c_int = -4;
pub const CHIO_ETOOBIG: c_int = -5;
pub const CHIO_ESEED_ODD: c_int = -10;
pub const CHIO_ESEED_NONHEX: c_int = -11;
pub const CHIO_ESEED_SPACE: c_int = -12;
pub const CHIO_ESEED_NEWLINE: c_int = -13;
pub const CHIO_ESEED_LENGTH: c_int = -14;
pub const CHIO_EHEX: c_int = -20;
pub const CHIO_EKEY: c_int = -21;
pub const CHIO_ESIGFORMAT: c_int = -22;
pub const CHIO_EBADSIG: c_int = -23;
pub const CHIO_EJSON_SYNTAX: c_int = -30;
pub const CHIO_EJSON_TRUNCATED: c_int = -31;
pub const CHIO_EJSON_UTF8: c_int = -32;
pub const CHIO_EJSON_SURROGATE: c_int = -33;
pub const CHIO_EJSON_DEPTH: c_int = -34;
pub const CHIO_EJSON_DUPKEY: c_int = -35;
pub const CHIO_EJSON_NULKEY: c_int = -36;
pub const CHIO_EJSON_NUMBER: c_int = -37;
pub const CHIO_EJSON_TRAILING: c_int = -38;
pub const CHIO_EJSON_CONTROL: c_int = -39;
pub const CHIO_EFORMAT: c_int = -40;
pub const CHIO_ESEMANTIC: c_int = -41;
pub const CHIO_EHASH: c_int = -42;
pub const CHIO_ESCHEMA: c_int = -43;
pub const CHIO_EPROOF: c_int = -50;
pub const CHIO_ERANGE: c_int = -51;
pub const CHIO_EDRAINED: c_int = -60;
pub const CHIO_EAGAIN: c_int = -61;
pub const CHIO_EFAILED: c_int = -62;
pub const CHIO_ESTORE: c_int = -63;
pub const CHIO_ECORRUPT: c_int = -64;
pub const CHIO_EBUSY: c_int = -65;
pub const CHIO_ENOTFOUND: c_int = -66;
pub const CHIO_ESYS: c_int = -67;
pub const CHIO_ECONFIG: c_int = -68;
pub const CHIO_ESERVING: c_int = -70;
pub const CHIO_EDUPLICATE: c_int = -71;
pub const CHIO_ENOSESSION: c_int = -72;
pub const CHIO_ESESSION_DRAINING: c_int = -73;
pub const CHIO_ESESSION_CLOSED: c_int = -74;
pub const CHIO_ESESSION_ACTIVE: c_int = -75;
pub const CHIO_EWEB3: c_int = -76;
pub const CHIO_ENOCAP: c_int = -77;
pub const CHIO_EDENIED: c_int = -78;
pub const CHIO_ESTREAM_LIMIT: c_int = -79;
pub const CHIO_ENOTMINE: c_int = -80;
pub const CHIO_EDEADLK: c_int = -83;

/// `CHIO_NO_OFFSET`: `chio_error.offset` when the error has no input position.
pub const CHIO_NO_OFFSET: usize = usize::MAX;

#[repr(C)]
#[derive(Clone, Copy)]
pub struct chio_error {
    pub code: c_int,
    pub offset: usize,
    pub message: [c_char; 256],
}

// ---- crypto.h ---------------------------------------------------------------------------

#[repr(C)]
pub struct chio_keypair {
    _opaque: [u8; 0],
}

// ---- json.h (opaque) ----------------------------------------------------------------------

#[repr(C)]
pub struct chio_json {
    _opaque: [u8; 0],
}

// ---- receipt.h ----------------------------------------------------------------------------

#[repr(C)]
pub struct chio_receipt {
    _opaque: [u8; 0],
}

/// `chio_verdict` values.
pub type chio_verdict = c_int;
pub const CHIO_VERDICT_NONE: chio_verdict = 0;
pub const CHIO_VERDICT_ALLOW: chio_verdict = 1;
pub const CHIO_VERDICT_DENY: chio_verdict = 2;
pub const CHIO_VERDICT_CANCELLED: chio_verdict = 3;
pub const CHIO_VERDICT_INCOMPLETE: chio_verdict = 4;

pub const CHIO_PUBKEY_HEX_LEN: usize = 64;

#[repr(C)]
#[derive(Clone, Copy)]
pub struct chio_receipt_report {
    pub signature_valid: c_int,
    pub receipt_id_valid: c_int,
    pub parameter_hash_valid: c_int,
    pub signer_trusted: c_int,
    pub authorized: c_int,
    pub ok: c_int,
    pub decision: chio_verdict,
    pub decision_name: *const c_char,
    pub receipt_kind: *const c_char,
    pub boundary_class: *const c_char,
    pub trust_level: *const c_char,
    pub result: *const c_char,
    pub id: *const c_char,
    pub signer_key_hex: [c_char; CHIO_PUBKEY_HEX_LEN + 1],
}

// ---- capability.h -------------------------------------------------------------------------

#[repr(C)]
pub struct chio_capability {
    _opaque: [u8; 0],
}

// ---- kernel.h -----------------------------------------------------------------------------

#[repr(C)]
pub struct chio_kernel {
    _opaque: [u8; 0],
}

/// `chio_durability` values.
pub type chio_durability = c_int;
pub const CHIO_DURABILITY_SYNC: chio_durability = 0;
pub const CHIO_DURABILITY_NOSYNC: chio_durability = 1;

/// `chio_log_level` values.
pub type chio_log_level = c_int;
pub const CHIO_LOG_DEBUG: chio_log_level = 0;
pub const CHIO_LOG_INFO: chio_log_level = 1;
pub const CHIO_LOG_WARN: chio_log_level = 2;
pub const CHIO_LOG_ERROR: chio_log_level = 3;

pub const CHIO_DEFAULT_MAX_STREAM_DURATION_SECS: u64 = 300;
pub const CHIO_DEFAULT_MAX_STREAM_TOTAL_BYTES: u64 = 256 * 1024 * 1024;
pub const CHIO_DEFAULT_CHECKPOINT_BATCH_SIZE: u64 = 100;
pub const CHIO_DEFAULT_RETENTION_DAYS: u32 = 90;
pub const CHIO_DEFAULT_RETENTION_MAX_SIZE_BYTES: u64 = 10 * 1024 * 1024 * 1024;
pub const CHIO_DEFAULT_MAX_DELEGATION_DEPTH: u32 = 4;
pub const CHIO_DEFAULT_SIGNER_THREADS: u32 = 1;
pub const CHIO_DEFAULT_RING_CAPACITY: u32 = 1024;
pub const CHIO_DEFAULT_MAX_BATCH: u32 = 256;

pub type chio_log_fn = Option<
    unsafe extern "C" fn(ctx: *mut c_void, level: chio_log_level, json: *const c_char, len: usize),
>;
pub type chio_clock_fn = Option<unsafe extern "C" fn(ctx: *mut c_void) -> u64>;

#[repr(C)]
#[derive(Clone, Copy)]
pub struct chio_retention_config {
    pub enabled: c_int,
    pub retention_days: u32,
    pub max_size_bytes: u64,
    pub archive_path: *const c_char,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct chio_kernel_config {
    // upstream KernelConfig
    pub keypair: *mut chio_keypair,
    pub ca_public_keys: *const u8,
    pub n_ca_public_keys: usize,
    pub max_delegation_depth: u32,
    pub policy_hash: *const c_char,
    pub allow_sampling: c_int,
    pub allow_sampling_tool_use: c_int,
    pub allow_elicitation: c_int,
    pub max_stream_duration_secs: u64,
    pub max_stream_total_bytes: u64,
    pub require_web3_evidence: c_int,
    pub checkpoint_batch_size: u64,
    pub retention_config: chio_retention_config,
    // libchio
    pub receipt_store_path: *const c_char,
    pub ephemeral_store: c_int,
    pub signer_threads: u32,
    pub ring_capacity: u32,
    pub max_batch: u32,
    pub durability: chio_durability,
    pub clock: chio_clock_fn,
    pub clock_ctx: *mut c_void,
    pub log: chio_log_fn,
    pub log_ctx: *mut c_void,
    pub log_level: chio_log_level,
    pub lock_key_memory: c_int,
    pub signer_priority: c_int,
    pub max_argument_bytes: u64,
    pub reserved: [*mut c_void; 6],
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct chio_kernel_metrics {
    pub receipts_signed: u64,
    pub batches: u64,
    pub max_batch: u64,
    pub avg_batch: f64,
    pub ring_depth: u64,
    pub ring_high_water: u64,
    pub ring_capacity: u64,
    pub blocking_episodes: u64,
    pub wal_syncs: u64,
    pub checkpoints: u64,
    pub write_errors: u64,
    pub last_seq: u64,
    pub last_checkpoint_seq: u64,
    pub signer_threads_running: u32,
    pub failed: c_int,
    pub draining: c_int,
}

// ---- evaluate.h ---------------------------------------------------------------------------

/// `chio_code` values (decision codes, in pipeline order).
pub type chio_code = c_int;
pub const CHIO_CODE_NONE: chio_code = 0;
pub const CHIO_CODE_TOOL_ERROR: chio_code = 14;

#[repr(C)]
pub struct chio_output {
    _opaque: [u8; 0],
}

#[repr(C)]
pub struct chio_tool_ctx {
    _opaque: [u8; 0],
}

pub type chio_invoke_fn = Option<
    unsafe extern "C" fn(
        user: *mut c_void,
        ctx: *mut chio_tool_ctx,
        tool: *const c_char,
        arguments_json: *const c_char,
        arguments_len: usize,
        out_result: *mut chio_output,
    ) -> c_int,
>;

#[repr(C)]
#[derive(Clone, Copy)]
pub struct chio_tool_server {
    pub server_id: *const c_char,
    pub tool_names: *const *const c_char,
    pub ntools: usize,
    pub invoke: chio_invoke_fn,
    pub invoke_stream: chio_invoke_fn,
    pub user: *mut c_void,
}

/// `chio_nested_kind` values.
pub type chio_nested_kind = c_int;
pub const CHIO_NESTED_SAMPLING: chio_nested_kind = 0;
pub const CHIO_NESTED_SAMPLING_WITH_TOOLS: chio_nested_kind = 1;
pub const CHIO_NESTED_ELICITATION: chio_nested_kind = 2;

pub type chio_nested_fn = Option<
    unsafe extern "C" fn(
        user: *mut c_void,
        kind: chio_nested_kind,
        session_id: *const c_char,
        request_json: *const c_char,
        request_len: usize,
        reply: *mut chio_output,
    ) -> c_int,
>;

/// `chio_guard_verdict` values.
pub type chio_guard_verdict = c_int;
pub const CHIO_GUARD_PASS: chio_guard_verdict = 0;
pub const CHIO_GUARD_DENY: chio_guard_verdict = 1;

#[repr(C)]
#[derive(Clone, Copy)]
pub struct chio_guard_input {
    pub session_id: *const c_char,
    pub request_id: *const c_char,
    pub agent_id: *const c_char,
    pub capability_id: *const c_char,
    pub server_id: *const c_char,
    pub tool_name: *const c_char,
    pub arguments_json: *const c_char,
    pub arguments_len: usize,
}

pub type chio_guard_fn = Option<
    unsafe extern "C" fn(
        user: *mut c_void,
        input: *const chio_guard_input,
        verdict: *mut chio_guard_verdict,
        details: *mut c_char,
        details_cap: usize,
    ) -> c_int,
>;

/// `chio_session_state` values.
pub type chio_session_state = c_int;
pub const CHIO_SESSION_INITIALIZING: chio_session_state = 0;
pub const CHIO_SESSION_READY: chio_session_state = 1;
pub const CHIO_SESSION_DRAINING: chio_session_state = 2;
pub const CHIO_SESSION_CLOSED: chio_session_state = 3;

pub const CHIO_SESSION_ID_LEN: usize = 27;

#[repr(C)]
#[derive(Clone, Copy)]
pub struct chio_call {
    pub session_id: *const c_char,
    pub request_id: *const c_char,
    pub capability_id: *const c_char,
    pub server_id: *const c_char,
    pub tool_name: *const c_char,
    pub arguments_json: *const c_char,
    pub arguments_len: usize,
}

#[repr(C)]
pub struct chio_response {
    pub verdict: chio_verdict,
    pub code: chio_code,
    pub reason: *mut c_char,
    pub output: *mut c_char,
    pub output_len: usize,
    pub request_id: *mut c_char,
    pub receipt: *mut chio_receipt,
    pub children: *mut *mut chio_receipt,
    pub nchildren: usize,
}

extern "C" {
    // chio.h
    pub fn chio_version() -> *const c_char;

    // error.h
    pub fn chio_error_init(err: *mut chio_error);
    pub fn chio_strerror(code: c_int) -> *const c_char;
    pub fn chio_err_name(code: c_int) -> *const c_char;
    pub fn chio_free(ptr: *mut c_void);

    // crypto.h
    pub fn chio_keypair_from_seed_hex(
        hex: *const c_char,
        len: usize,
        out: *mut *mut chio_keypair,
        err: *mut chio_error,
    ) -> c_int;
    pub fn chio_keypair_generate(out: *mut *mut chio_keypair, err: *mut chio_error) -> c_int;
    pub fn chio_keypair_free(kp: *mut chio_keypair);
    pub fn chio_keypair_public_hex(kp: *const chio_keypair) -> *const c_char;
    pub fn chio_keypair_public_key(kp: *const chio_keypair, out: *mut u8) -> c_int;
    pub fn chio_keypair_sign(
        kp: *const chio_keypair,
        msg: *const c_void,
        len: usize,
        sig: *mut u8,
    ) -> c_int;
    pub fn chio_ed25519_verify(
        pubkey: *const u8,
        msg: *const c_void,
        len: usize,
        sig: *const u8,
    ) -> c_int;
    pub fn chio_pubkey_from_hex(hex: *const c_char, len: usize, out: *mut u8) -> c_int;

    // receipt.h
    pub fn chio_receipt_parse(
        json: *const c_char,
        len: usize,
        out: *mut *mut chio_receipt,
        err: *mut chio_error,
    ) -> c_int;
    pub fn chio_receipt_free(r: *mut chio_receipt);
    pub fn chio_receipt_json(r: *const chio_receipt, len: *mut usize) -> *const c_char;
    pub fn chio_receipt_id(r: *const chio_receipt) -> *const c_char;
    pub fn chio_receipt_timestamp(r: *const chio_receipt) -> u64;
    pub fn chio_receipt_capability_id(r: *const chio_receipt) -> *const c_char;
    pub fn chio_receipt_tool_server(r: *const chio_receipt) -> *const c_char;
    pub fn chio_receipt_tool_name(r: *const chio_receipt) -> *const c_char;
    pub fn chio_receipt_verdict(r: *const chio_receipt) -> chio_verdict;
    pub fn chio_receipt_kernel_key_hex(r: *const chio_receipt) -> *const c_char;
    pub fn chio_receipt_verify(
        r: *const chio_receipt,
        trusted_keys: *const u8,
        ntrusted: usize,
        rep: *mut chio_receipt_report,
    ) -> c_int;
    pub fn chio_verdict_name(v: chio_verdict) -> *const c_char;

    // capability.h
    pub fn chio_capability_parse(
        json: *const c_char,
        len: usize,
        out: *mut *mut chio_capability,
        err: *mut chio_error,
    ) -> c_int;
    pub fn chio_capability_free(cap: *mut chio_capability);
    pub fn chio_capability_json(cap: *const chio_capability, len: *mut usize) -> *const c_char;
    pub fn chio_capability_id(cap: *const chio_capability) -> *const c_char;
    pub fn chio_capability_issuer_hex(cap: *const chio_capability) -> *const c_char;
    pub fn chio_capability_subject_hex(cap: *const chio_capability) -> *const c_char;
    pub fn chio_capability_issued_at(cap: *const chio_capability) -> u64;
    pub fn chio_capability_expires_at(cap: *const chio_capability) -> u64;

    // kernel.h
    pub fn chio_kernel_config_init(cfg: *mut chio_kernel_config);
    pub fn chio_kernel_new(
        cfg: *const chio_kernel_config,
        out: *mut *mut chio_kernel,
        err: *mut chio_error,
    ) -> c_int;
    pub fn chio_kernel_start(k: *mut chio_kernel, err: *mut chio_error) -> c_int;
    pub fn chio_kernel_drain(k: *mut chio_kernel, err: *mut chio_error) -> c_int;
    pub fn chio_kernel_free(k: *mut chio_kernel);
    pub fn chio_kernel_public_hex(k: *const chio_kernel) -> *const c_char;
    pub fn chio_kernel_metrics_get(k: *const chio_kernel, out: *mut chio_kernel_metrics) -> c_int;
    pub fn chio_kernel_in_flight(k: *const chio_kernel) -> u64;
    pub fn chio_kernel_metrics_prometheus(
        k: *const chio_kernel,
        out: *mut *mut c_char,
        len: *mut usize,
    ) -> c_int;

    // evaluate.h
    pub fn chio_code_name(code: chio_code) -> *const c_char;
    pub fn chio_error_code_name(rc: c_int) -> *const c_char;
    pub fn chio_output_set_json(out: *mut chio_output, json: *const c_char, len: usize) -> c_int;
    pub fn chio_output_set_error(out: *mut chio_output, message: *const c_char);
    pub fn chio_kernel_register_tool_server(
        k: *mut chio_kernel,
        server: *const chio_tool_server,
        err: *mut chio_error,
    ) -> c_int;
    pub fn chio_tool_ctx_session_id(ctx: *const chio_tool_ctx) -> *const c_char;
    pub fn chio_tool_ctx_request_id(ctx: *const chio_tool_ctx) -> *const c_char;
    pub fn chio_kernel_set_nested_handler(
        k: *mut chio_kernel,
        f: chio_nested_fn,
        user: *mut c_void,
        err: *mut chio_error,
    ) -> c_int;
    pub fn chio_tool_ctx_sample(
        ctx: *mut chio_tool_ctx,
        request_json: *const c_char,
        len: usize,
        with_tools: c_int,
        reply: *mut *mut c_char,
        reply_len: *mut usize,
        err: *mut chio_error,
    ) -> c_int;
    pub fn chio_tool_ctx_elicit(
        ctx: *mut chio_tool_ctx,
        request_json: *const c_char,
        len: usize,
        reply: *mut *mut c_char,
        reply_len: *mut usize,
        err: *mut chio_error,
    ) -> c_int;
    pub fn chio_kernel_add_guard(
        k: *mut chio_kernel,
        name: *const c_char,
        f: chio_guard_fn,
        user: *mut c_void,
        err: *mut chio_error,
    ) -> c_int;
    pub fn chio_kernel_add_forbidden_path_guard(
        k: *mut chio_kernel,
        name: *const c_char,
        prefixes: *const *const c_char,
        n: usize,
        err: *mut chio_error,
    ) -> c_int;
    pub fn chio_kernel_add_secret_leak_guard(
        k: *mut chio_kernel,
        name: *const c_char,
        patterns: *const *const c_char,
        n: usize,
        err: *mut chio_error,
    ) -> c_int;
    pub fn chio_kernel_issue_capability(
        k: *mut chio_kernel,
        id: *const c_char,
        subject_hex: *const c_char,
        scope_json: *const c_char,
        scope_len: usize,
        issued_at: u64,
        ttl_secs: u64,
        out: *mut *mut chio_capability,
        err: *mut chio_error,
    ) -> c_int;
    pub fn chio_kernel_revoke_capability(
        k: *mut chio_kernel,
        capability_id: *const c_char,
        err: *mut chio_error,
    ) -> c_int;
    pub fn chio_kernel_is_revoked(k: *mut chio_kernel, capability_id: *const c_char) -> c_int;
    pub fn chio_session_state_name(s: chio_session_state) -> *const c_char;
    pub fn chio_kernel_open_session(
        k: *mut chio_kernel,
        agent_id: *const c_char,
        capabilities_json: *const *const c_char,
        capability_lens: *const usize,
        ncaps: usize,
        id_out: *mut c_char,
        err: *mut chio_error,
    ) -> c_int;
    pub fn chio_kernel_begin_draining_session(
        k: *mut chio_kernel,
        session_id: *const c_char,
        err: *mut chio_error,
    ) -> c_int;
    pub fn chio_kernel_close_session(
        k: *mut chio_kernel,
        session_id: *const c_char,
        err: *mut chio_error,
    ) -> c_int;
    pub fn chio_kernel_session_state(
        k: *mut chio_kernel,
        session_id: *const c_char,
        state: *mut chio_session_state,
    ) -> c_int;
    pub fn chio_response_init(r: *mut chio_response);
    pub fn chio_response_destroy(r: *mut chio_response);
    pub fn chio_kernel_evaluate(
        k: *mut chio_kernel,
        call: *const chio_call,
        resp: *mut chio_response,
        err: *mut chio_error,
    ) -> c_int;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{align_of, offset_of, size_of};

    /// Sizes and offsets as printed by the C compiler for the LP64 ABIs
    /// (x86_64 and aarch64 Linux), from a probe program compiled against
    /// include/chio/*.h.
    #[test]
    #[cfg(all(target_pointer_width = "64", unix))]
    fn layouts_match_c_lp64() {
        assert_eq!(size_of::<chio_error>(), 272);
        assert_eq!(offset_of!(chio_error, offset), 8);
        assert_eq!(offset_of!(chio_error, message), 16);

        assert_eq!(size_of::<chio_retention_config>(), 24);
        assert_eq!(offset_of!(chio_retention_config, retention_days), 4);
        assert_eq!(offset_of!(chio_retention_config, max_size_bytes), 8);
        assert_eq!(offset_of!(chio_retention_config, archive_path), 16);

        assert_eq!(size_of::<chio_kernel_config>(), 248);
        assert_eq!(align_of::<chio_kernel_config>(), 8);
        assert_eq!(offset_of!(chio_kernel_config, ca_public_keys), 8);
        assert_eq!(offset_of!(chio_kernel_config, n_ca_public_keys), 16);
        assert_eq!(offset_of!(chio_kernel_config, max_delegation_depth), 24);
        assert_eq!(offset_of!(chio_kernel_config, policy_hash), 32);
        assert_eq!(offset_of!(chio_kernel_config, allow_sampling), 40);
        assert_eq!(offset_of!(chio_kernel_config, allow_sampling_tool_use), 44);
        assert_eq!(offset_of!(chio_kernel_config, allow_elicitation), 48);
        assert_eq!(offset_of!(chio_kernel_config, max_stream_duration_secs), 56);
        assert_eq!(offset_of!(chio_kernel_config, max_stream_total_bytes), 64);
        assert_eq!(offset_of!(chio_kernel_config, require_web3_evidence), 72);
        assert_eq!(offset_of!(chio_kernel_config, checkpoint_batch_size), 80);
        assert_eq!(offset_of!(chio_kernel_config, retention_config), 88);
        assert_eq!(offset_of!(chio_kernel_config, receipt_store_path), 112);
        assert_eq!(offset_of!(chio_kernel_config, ephemeral_store), 120);
        assert_eq!(offset_of!(chio_kernel_config, signer_threads), 124);
        assert_eq!(offset_of!(chio_kernel_config, ring_capacity), 128);
        assert_eq!(offset_of!(chio_kernel_config, max_batch), 132);
        assert_eq!(offset_of!(chio_kernel_config, durability), 136);
        assert_eq!(offset_of!(chio_kernel_config, clock), 144);
        assert_eq!(offset_of!(chio_kernel_config, clock_ctx), 152);
        assert_eq!(offset_of!(chio_kernel_config, log), 160);
        assert_eq!(offset_of!(chio_kernel_config, log_ctx), 168);
        assert_eq!(offset_of!(chio_kernel_config, log_level), 176);
        assert_eq!(offset_of!(chio_kernel_config, lock_key_memory), 180);
        assert_eq!(offset_of!(chio_kernel_config, signer_priority), 184);
        assert_eq!(offset_of!(chio_kernel_config, max_argument_bytes), 192);
        assert_eq!(offset_of!(chio_kernel_config, reserved), 200);

        assert_eq!(size_of::<chio_tool_server>(), 48);
        assert_eq!(offset_of!(chio_tool_server, tool_names), 8);
        assert_eq!(offset_of!(chio_tool_server, ntools), 16);
        assert_eq!(offset_of!(chio_tool_server, invoke), 24);
        assert_eq!(offset_of!(chio_tool_server, invoke_stream), 32);
        assert_eq!(offset_of!(chio_tool_server, user), 40);

        assert_eq!(size_of::<chio_call>(), 56);
        assert_eq!(offset_of!(chio_call, arguments_json), 40);
        assert_eq!(offset_of!(chio_call, arguments_len), 48);

        assert_eq!(size_of::<chio_response>(), 64);
        assert_eq!(offset_of!(chio_response, code), 4);
        assert_eq!(offset_of!(chio_response, reason), 8);
        assert_eq!(offset_of!(chio_response, output), 16);
        assert_eq!(offset_of!(chio_response, output_len), 24);
        assert_eq!(offset_of!(chio_response, request_id), 32);
        assert_eq!(offset_of!(chio_response, receipt), 40);
        assert_eq!(offset_of!(chio_response, children), 48);
        assert_eq!(offset_of!(chio_response, nchildren), 56);

        assert_eq!(size_of::<chio_receipt_report>(), 152);
        assert_eq!(offset_of!(chio_receipt_report, ok), 20);
        assert_eq!(offset_of!(chio_receipt_report, decision), 24);
        assert_eq!(offset_of!(chio_receipt_report, decision_name), 32);
        assert_eq!(offset_of!(chio_receipt_report, id), 72);
        assert_eq!(offset_of!(chio_receipt_report, signer_key_hex), 80);

        assert_eq!(size_of::<chio_guard_input>(), 64);
        assert_eq!(offset_of!(chio_guard_input, arguments_json), 48);
        assert_eq!(offset_of!(chio_guard_input, arguments_len), 56);

        assert_eq!(size_of::<chio_kernel_metrics>(), 120);
        assert_eq!(offset_of!(chio_kernel_metrics, avg_batch), 24);
        assert_eq!(offset_of!(chio_kernel_metrics, last_checkpoint_seq), 96);
        assert_eq!(offset_of!(chio_kernel_metrics, signer_threads_running), 104);
        assert_eq!(offset_of!(chio_kernel_metrics, failed), 108);
        assert_eq!(offset_of!(chio_kernel_metrics, draining), 112);
    }

    /// Platform-independent check: what the C initialiser writes lands in the
    /// Rust fields of the same name.
    #[test]
    fn config_init_defaults_read_back() {
        let mut cfg = std::mem::MaybeUninit::<chio_kernel_config>::uninit();
        // SAFETY: chio_kernel_config_init writes every byte of the struct
        // (memset + defaults); the sizes agree (checked above).
        let cfg = unsafe {
            chio_kernel_config_init(cfg.as_mut_ptr());
            cfg.assume_init()
        };
        assert!(cfg.keypair.is_null());
        assert!(cfg.policy_hash.is_null());
        assert!(cfg.receipt_store_path.is_null());
        assert_eq!(cfg.max_delegation_depth, CHIO_DEFAULT_MAX_DELEGATION_DEPTH);
        assert_eq!(
            cfg.max_stream_duration_secs,
            CHIO_DEFAULT_MAX_STREAM_DURATION_SECS
        );
        assert_eq!(
            cfg.max_stream_total_bytes,
            CHIO_DEFAULT_MAX_STREAM_TOTAL_BYTES
        );
        assert_eq!(
            cfg.checkpoint_batch_size,
            CHIO_DEFAULT_CHECKPOINT_BATCH_SIZE
        );
        assert_eq!(cfg.retention_config.enabled, 0);
        assert_eq!(
            cfg.retention_config.retention_days,
            CHIO_DEFAULT_RETENTION_DAYS
        );
        assert_eq!(
            cfg.retention_config.max_size_bytes,
            CHIO_DEFAULT_RETENTION_MAX_SIZE_BYTES
        );
        assert_eq!(cfg.signer_threads, CHIO_DEFAULT_SIGNER_THREADS);
        assert_eq!(cfg.ring_capacity, CHIO_DEFAULT_RING_CAPACITY);
        assert_eq!(cfg.max_batch, CHIO_DEFAULT_MAX_BATCH);
        assert_eq!(cfg.durability, CHIO_DURABILITY_SYNC);
        assert_eq!(cfg.log_level, CHIO_LOG_INFO);
        assert!(cfg.clock.is_none() && cfg.log.is_none());
        assert!(cfg.reserved.iter().all(|p| p.is_null()));
        assert_eq!(cfg.lock_key_memory, 0);
    }

    #[test]
    fn error_init_and_names() {
        let mut e = chio_error {
            code: 5,
            offset: 0,
            message: [1; 256],
        };
        // SAFETY: e is a valid, writable chio_error.
        unsafe { chio_error_init(&mut e) };
        assert_eq!(e.code, 0);
        assert_eq!(e.offset, CHIO_NO_OFFSET);
        assert_eq!(e.message[0], 0);
        // SAFETY: static strings.
        let name = unsafe { std::ffi::CStr::from_ptr(chio_err_name(CHIO_ENOSESSION)) };
        assert_eq!(name.to_str().unwrap(), "CHIO_ENOSESSION");
        let code = unsafe { std::ffi::CStr::from_ptr(chio_code_name(CHIO_CODE_TOOL_ERROR)) };
        assert_eq!(code.to_str().unwrap(), "tool_error");
    }
}
