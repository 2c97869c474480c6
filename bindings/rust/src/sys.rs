//! Raw FFI declarations for libchio: every public constant, type and
//! function of `include/chio/*.h` (the OpenTelemetry API of `chio/otel.h`,
//! only in libraries built with `make OTEL=1`, is not bound).
//!
//! Written by hand, and kept honest by `tests/header_drift.rs`: it reads the
//! headers through the C compiler and fails when a constant, enum value,
//! function (or its parameter count), type, struct or field here differs
//! from them, when the layout test below does not assert a struct's C
//! size and every field's C offset, or when the type of a parameter, return
//! value, field or function-pointer alias here is not the C type. Struct layouts follow the policy of
//! `chio/abi.h` (reserved tails: keep them zeroed). C enums are `c_int`
//! aliases with `pub const` values: a Rust `enum` must never be built from
//! a value the C side might add later.
//!
//! Everything here is `unsafe` to call; see the header comments for
//! ownership and thread-safety of each function.

#![allow(non_camel_case_types)]
#![allow(missing_docs)]

use std::os::raw::{c_char, c_int, c_long, c_void};

// ---- export.h ------------------------------------------------------------------------------

pub const CHIO_VERSION_MAJOR: u32 = 0;
pub const CHIO_VERSION_MINOR: u32 = 2;
pub const CHIO_VERSION_PATCH: u32 = 0;
pub const CHIO_VERSION_STRING: &str = "0.2.0";

// ---- error.h -------------------------------------------------------------------------------

pub const CHIO_NO_OFFSET: usize = usize::MAX;

/// `chio_errno`: result codes (0 or negative).
pub type chio_errno = c_int;
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
pub const CHIO_ECANCELLED: c_int = -81;
pub const CHIO_ELIMIT: c_int = -82;
pub const CHIO_EDEADLK: c_int = -83;

#[repr(C)]
#[derive(Clone, Copy)]
pub struct chio_error {
    pub code: c_int,
    pub offset: usize,
    pub message: [c_char; 256],
}

extern "C" {
    pub fn chio_error_init(err: *mut chio_error);
    pub fn chio_strerror(code: c_int) -> *const c_char;
    pub fn chio_errno_name(code: c_int) -> *const c_char;
    pub fn chio_errno_reason(code: c_int) -> *const c_char;
    /// Deprecated: use chio_errno_name.
    pub fn chio_err_name(code: c_int) -> *const c_char;
    pub fn chio_free(ptr: *mut c_void);
}

// ---- json.h --------------------------------------------------------------------------------

pub const CHIO_JSON_MAX_DEPTH: usize = 128;
pub const CHIO_JSON_MAX_INPUT: usize = 67108864;

/// `chio_json_type` values.
pub type chio_json_type = c_int;
pub const CHIO_JSON_NULL: chio_json_type = 0;
pub const CHIO_JSON_BOOL: chio_json_type = 1;
pub const CHIO_JSON_INT: chio_json_type = 2;
pub const CHIO_JSON_UINT: chio_json_type = 3;
pub const CHIO_JSON_DOUBLE: chio_json_type = 4;
pub const CHIO_JSON_STRING: chio_json_type = 5;
pub const CHIO_JSON_ARRAY: chio_json_type = 6;
pub const CHIO_JSON_OBJECT: chio_json_type = 7;

#[repr(C)]
pub struct chio_json_doc {
    _opaque: [u8; 0],
}

#[repr(C)]
pub struct chio_json {
    _opaque: [u8; 0],
}

extern "C" {
    pub fn chio_json_parse(
        text: *const c_char,
        len: usize,
        out: *mut *mut chio_json_doc,
        err: *mut chio_error,
    ) -> c_int;
    pub fn chio_json_doc_free(doc: *mut chio_json_doc);
    pub fn chio_json_root(doc: *const chio_json_doc) -> *const chio_json;
    pub fn chio_json_typeof(v: *const chio_json) -> chio_json_type;
    pub fn chio_json_size(v: *const chio_json) -> usize;
    pub fn chio_json_get(obj: *const chio_json, key: *const c_char) -> *const chio_json;
    pub fn chio_json_at(v: *const chio_json, i: usize) -> *const chio_json;
    pub fn chio_json_key_at(obj: *const chio_json, i: usize, len: *mut usize) -> *const c_char;
    pub fn chio_json_string(v: *const chio_json, len: *mut usize) -> *const c_char;
    pub fn chio_json_get_bool(v: *const chio_json, out: *mut c_int) -> c_int;
    pub fn chio_json_get_int64(v: *const chio_json, out: *mut i64) -> c_int;
    pub fn chio_json_get_uint64(v: *const chio_json, out: *mut u64) -> c_int;
    pub fn chio_json_get_double(v: *const chio_json, out: *mut f64) -> c_int;
    pub fn chio_json_write_canonical(
        v: *const chio_json,
        out: *mut *mut c_char,
        out_len: *mut usize,
    ) -> c_int;
    pub fn chio_json_write_string(
        s: *const c_char,
        len: usize,
        out: *mut *mut c_char,
        out_len: *mut usize,
    ) -> c_int;
    pub fn chio_json_canonicalize(
        text: *const c_char,
        len: usize,
        out: *mut *mut c_char,
        out_len: *mut usize,
        err: *mut chio_error,
    ) -> c_int;
}

// ---- crypto.h ------------------------------------------------------------------------------

pub const CHIO_SEED_BYTES: usize = 32;
pub const CHIO_PUBKEY_BYTES: usize = 32;
pub const CHIO_SIGNATURE_BYTES: usize = 64;
pub const CHIO_SHA256_BYTES: usize = 32;
pub const CHIO_PUBKEY_HEX_LEN: usize = 64;
pub const CHIO_SIGNATURE_HEX_LEN: usize = 128;
pub const CHIO_SHA256_HEX_LEN: usize = 64;

#[repr(C)]
pub struct chio_keypair {
    _opaque: [u8; 0],
}

extern "C" {
    pub fn chio_keypair_from_seed_hex(
        hex: *const c_char,
        len: usize,
        out: *mut *mut chio_keypair,
        err: *mut chio_error,
    ) -> c_int;
    pub fn chio_keypair_generate(out: *mut *mut chio_keypair, err: *mut chio_error) -> c_int;
    pub fn chio_keypair_free(kp: *mut chio_keypair);
    pub fn chio_keypair_lock_memory(kp: *mut chio_keypair, err: *mut chio_error) -> c_int;
    pub fn chio_keypair_memory_locked(
        kp: *const chio_keypair,
        dontdump: *mut c_int,
        lock_errno: *mut c_int,
    ) -> c_int;
    pub fn chio_keypair_write_seed_hex(kp: *const chio_keypair, out: *mut c_char) -> c_int;
    pub fn chio_keypair_public_hex(kp: *const chio_keypair) -> *const c_char;
    pub fn chio_keypair_public_key(kp: *const chio_keypair, out: *mut u8) -> c_int;
    pub fn chio_keypair_sign(
        kp: *const chio_keypair,
        msg: *const c_void,
        len: usize,
        sig: *mut u8,
    ) -> c_int;
    pub fn chio_ed25519_verify(
        pub_: *const u8,
        msg: *const c_void,
        len: usize,
        sig: *const u8,
    ) -> c_int;
    pub fn chio_pubkey_from_hex(hex: *const c_char, len: usize, out: *mut u8) -> c_int;
    pub fn chio_signature_from_hex(hex: *const c_char, len: usize, out: *mut u8) -> c_int;
    pub fn chio_sha256(data: *const c_void, len: usize, out: *mut u8) -> c_int;
    pub fn chio_sha256_hex(data: *const c_void, len: usize, out: *mut c_char) -> c_int;
    pub fn chio_hex_encode(in_: *const u8, n: usize, out: *mut c_char) -> c_int;
}

// ---- receipt.h -----------------------------------------------------------------------------

/// `chio_receipt_kind` values.
pub type chio_receipt_kind = c_int;
pub const CHIO_KIND_MEDIATED_DECISION: chio_receipt_kind = 0;
pub const CHIO_KIND_TRACE_OBSERVATION: chio_receipt_kind = 1;
pub const CHIO_KIND_ADVISORY_EVALUATION: chio_receipt_kind = 2;

/// `chio_boundary_class` values.
pub type chio_boundary_class = c_int;
pub const CHIO_BOUNDARY_PREVENT: chio_boundary_class = 0;
pub const CHIO_BOUNDARY_DETECT_ONLY: chio_boundary_class = 1;
pub const CHIO_BOUNDARY_ADVISORY_ONLY: chio_boundary_class = 2;
pub const CHIO_BOUNDARY_CANNOT_SEE: chio_boundary_class = 3;

/// `chio_observation_outcome` values.
pub type chio_observation_outcome = c_int;
pub const CHIO_OUTCOME_NONE: chio_observation_outcome = 0;
pub const CHIO_OUTCOME_OBSERVED: chio_observation_outcome = 1;
pub const CHIO_OUTCOME_EVALUATED: chio_observation_outcome = 2;
pub const CHIO_OUTCOME_DROPPED: chio_observation_outcome = 3;

/// `chio_tool_origin` values.
pub type chio_tool_origin = c_int;
pub const CHIO_ORIGIN_CALLER_EXECUTED: chio_tool_origin = 0;
pub const CHIO_ORIGIN_HOST_EXECUTED_PROVIDER_REPORTED: chio_tool_origin = 1;
pub const CHIO_ORIGIN_HOST_EXECUTED_UNMEDIATED: chio_tool_origin = 2;

/// `chio_redaction_mode` values.
pub type chio_redaction_mode = c_int;
pub const CHIO_REDACTION_NONE: chio_redaction_mode = 0;
pub const CHIO_REDACTION_SUMMARY: chio_redaction_mode = 1;
pub const CHIO_REDACTION_REDACTED: chio_redaction_mode = 2;

/// `chio_trust_level` values.
pub type chio_trust_level = c_int;
pub const CHIO_TRUST_MEDIATED: chio_trust_level = 0;
pub const CHIO_TRUST_VERIFIED: chio_trust_level = 1;
pub const CHIO_TRUST_ADVISORY: chio_trust_level = 2;

/// `chio_verdict` values.
pub type chio_verdict = c_int;
pub const CHIO_VERDICT_NONE: chio_verdict = 0;
pub const CHIO_VERDICT_ALLOW: chio_verdict = 1;
pub const CHIO_VERDICT_DENY: chio_verdict = 2;
pub const CHIO_VERDICT_CANCELLED: chio_verdict = 3;
pub const CHIO_VERDICT_INCOMPLETE: chio_verdict = 4;

#[repr(C)]
pub struct chio_receipt_builder {
    _opaque: [u8; 0],
}

#[repr(C)]
pub struct chio_receipt {
    _opaque: [u8; 0],
}

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
    pub signer_key_hex: [c_char; 65],
    pub reserved: [*mut c_void; 4],
}

extern "C" {
    pub fn chio_receipt_kind_name(k: chio_receipt_kind) -> *const c_char;
    pub fn chio_boundary_class_name(b: chio_boundary_class) -> *const c_char;
    pub fn chio_observation_outcome_name(o: chio_observation_outcome) -> *const c_char;
    pub fn chio_tool_origin_name(o: chio_tool_origin) -> *const c_char;
    pub fn chio_redaction_mode_name(r: chio_redaction_mode) -> *const c_char;
    pub fn chio_trust_level_name(t: chio_trust_level) -> *const c_char;
    pub fn chio_verdict_name(v: chio_verdict) -> *const c_char;
    pub fn chio_receipt_builder_new(out: *mut *mut chio_receipt_builder) -> c_int;
    pub fn chio_receipt_builder_free(b: *mut chio_receipt_builder);
    pub fn chio_receipt_builder_set_timestamp(
        b: *mut chio_receipt_builder,
        unix_secs: u64,
    ) -> c_int;
    pub fn chio_receipt_builder_set_capability_id(
        b: *mut chio_receipt_builder,
        id: *const c_char,
    ) -> c_int;
    pub fn chio_receipt_builder_set_tool(
        b: *mut chio_receipt_builder,
        server: *const c_char,
        tool: *const c_char,
    ) -> c_int;
    pub fn chio_receipt_builder_set_policy_hash(
        b: *mut chio_receipt_builder,
        hash: *const c_char,
    ) -> c_int;
    pub fn chio_receipt_builder_set_tenant_id(
        b: *mut chio_receipt_builder,
        tenant: *const c_char,
    ) -> c_int;
    pub fn chio_receipt_builder_set_parameters(
        b: *mut chio_receipt_builder,
        json: *const c_char,
        len: usize,
        err: *mut chio_error,
    ) -> c_int;
    pub fn chio_receipt_builder_set_output(
        b: *mut chio_receipt_builder,
        json: *const c_char,
        len: usize,
        err: *mut chio_error,
    ) -> c_int;
    pub fn chio_receipt_builder_set_content_hash(
        b: *mut chio_receipt_builder,
        hex: *const c_char,
    ) -> c_int;
    pub fn chio_receipt_builder_set_metadata(
        b: *mut chio_receipt_builder,
        json: *const c_char,
        len: usize,
        err: *mut chio_error,
    ) -> c_int;
    pub fn chio_receipt_builder_set_decision(
        b: *mut chio_receipt_builder,
        verdict: chio_verdict,
        reason: *const c_char,
        guard: *const c_char,
    ) -> c_int;
    pub fn chio_receipt_builder_set_kind(
        b: *mut chio_receipt_builder,
        kind: chio_receipt_kind,
    ) -> c_int;
    pub fn chio_receipt_builder_set_boundary_class(
        b: *mut chio_receipt_builder,
        bc: chio_boundary_class,
    ) -> c_int;
    pub fn chio_receipt_builder_set_trust_level(
        b: *mut chio_receipt_builder,
        t: chio_trust_level,
    ) -> c_int;
    pub fn chio_receipt_builder_set_observation_outcome(
        b: *mut chio_receipt_builder,
        o: chio_observation_outcome,
    ) -> c_int;
    pub fn chio_receipt_builder_set_tool_origin(
        b: *mut chio_receipt_builder,
        o: chio_tool_origin,
    ) -> c_int;
    pub fn chio_receipt_builder_set_redaction_mode(
        b: *mut chio_receipt_builder,
        r: chio_redaction_mode,
    ) -> c_int;
    pub fn chio_receipt_builder_add_actor(
        b: *mut chio_receipt_builder,
        actor_id: *const c_char,
        actor_kind: *const c_char,
    ) -> c_int;
    pub fn chio_receipt_builder_add_evidence(
        b: *mut chio_receipt_builder,
        guard_name: *const c_char,
        passed: c_int,
        details: *const c_char,
    ) -> c_int;
    pub fn chio_receipt_sign(
        b: *const chio_receipt_builder,
        kp: *const chio_keypair,
        out: *mut *mut chio_receipt,
        err: *mut chio_error,
    ) -> c_int;
    pub fn chio_receipt_sign_json(
        json: *const c_char,
        len: usize,
        kp: *const chio_keypair,
        out: *mut *mut chio_receipt,
        err: *mut chio_error,
    ) -> c_int;
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
    pub fn chio_receipt_root(r: *const chio_receipt) -> *const chio_json;
    pub fn chio_receipt_verify(
        r: *const chio_receipt,
        trusted_keys: *const u8,
        ntrusted: usize,
        rep: *mut chio_receipt_report,
    ) -> c_int;
    pub fn chio_receipt_report_json(
        rep: *const chio_receipt_report,
        out: *mut *mut c_char,
        len: *mut usize,
    ) -> c_int;
}

// ---- capability.h --------------------------------------------------------------------------

pub const CHIO_CAPABILITY_SCHEMA: &str = "chio.capability.v1";

#[repr(C)]
pub struct chio_capability {
    _opaque: [u8; 0],
}

/// `chio_time_status` values.
pub type chio_time_status = c_int;
pub const CHIO_TIME_VALID: chio_time_status = 0;
pub const CHIO_TIME_NOT_YET_VALID: chio_time_status = 1;
pub const CHIO_TIME_EXPIRED: chio_time_status = 2;

#[repr(C)]
#[derive(Clone, Copy)]
pub struct chio_capability_report {
    pub id: *const c_char,
    pub signature_valid: c_int,
    pub time_status: chio_time_status,
    pub time_status_name: *const c_char,
    pub delegation_chain_shape_valid: c_int,
    pub delegation_depth_exceeded: c_int,
    pub chain_error_link: c_long,
    pub issuer_trusted: c_int,
    pub ok: c_int,
    pub reserved: [*mut c_void; 4],
}

extern "C" {
    pub fn chio_time_status_name(s: chio_time_status) -> *const c_char;
    pub fn chio_capability_parse(
        json: *const c_char,
        len: usize,
        out: *mut *mut chio_capability,
        err: *mut chio_error,
    ) -> c_int;
    pub fn chio_capability_free(cap: *mut chio_capability);
    pub fn chio_capability_issue(
        issuer: *const chio_keypair,
        id: *const c_char,
        subject_hex: *const c_char,
        scope_json: *const c_char,
        scope_len: usize,
        issued_at: u64,
        ttl_secs: u64,
        out: *mut *mut chio_capability,
        err: *mut chio_error,
    ) -> c_int;
    pub fn chio_capability_json(cap: *const chio_capability, len: *mut usize) -> *const c_char;
    pub fn chio_capability_id(cap: *const chio_capability) -> *const c_char;
    pub fn chio_capability_issuer_hex(cap: *const chio_capability) -> *const c_char;
    pub fn chio_capability_subject_hex(cap: *const chio_capability) -> *const c_char;
    pub fn chio_capability_issued_at(cap: *const chio_capability) -> u64;
    pub fn chio_capability_expires_at(cap: *const chio_capability) -> u64;
    pub fn chio_capability_delegation_depth(cap: *const chio_capability) -> usize;
    pub fn chio_capability_delegation_id(cap: *const chio_capability, i: usize) -> *const c_char;
    pub fn chio_capability_unknown_field(cap: *const chio_capability) -> *const c_char;
    pub fn chio_capability_unenforced(
        cap: *const chio_capability,
        why: *mut c_char,
        why_cap: usize,
    ) -> c_int;
    pub fn chio_capability_contradicts_chain(
        cap: *const chio_capability,
        link: *mut c_long,
        why: *mut c_char,
        why_cap: usize,
    ) -> c_int;
    pub fn chio_capability_root(cap: *const chio_capability) -> *const chio_json;
    pub fn chio_capability_verify(
        cap: *const chio_capability,
        now: u64,
        trusted_keys: *const u8,
        ntrusted: usize,
        max_depth: c_long,
        rep: *mut chio_capability_report,
    ) -> c_int;
    pub fn chio_capability_report_json(
        rep: *const chio_capability_report,
        out: *mut *mut c_char,
        len: *mut usize,
    ) -> c_int;
}

// ---- merkle.h ------------------------------------------------------------------------------

pub const CHIO_MERKLE_MAX_PATH: usize = 64;

#[repr(C)]
#[derive(Clone, Copy)]
pub struct chio_merkle_proof {
    pub tree_size: u64,
    pub leaf_index: u64,
    pub path_len: usize,
    pub path: [[u8; 32]; 64],
}

extern "C" {
    pub fn chio_merkle_leaf_hash(leaf: *const c_void, len: usize, out: *mut u8) -> c_int;
    pub fn chio_merkle_node_hash(left: *const u8, right: *const u8, out: *mut u8) -> c_int;
    pub fn chio_merkle_root(leaf_hashes: *const u8, n: usize, root: *mut u8) -> c_int;
    pub fn chio_merkle_prove(
        leaf_hashes: *const u8,
        n: usize,
        index: usize,
        proof: *mut chio_merkle_proof,
    ) -> c_int;
    pub fn chio_merkle_verify(
        leaf_hash: *const u8,
        proof: *const chio_merkle_proof,
        root: *const u8,
    ) -> c_int;
}

// ---- checkpoint.h --------------------------------------------------------------------------

pub const CHIO_CHECKPOINT_SCHEMA: &str = "chio.checkpoint_statement.v1";

#[repr(C)]
pub struct chio_checkpoint {
    _opaque: [u8; 0],
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct chio_inclusion_proof {
    pub checkpoint_seq: u64,
    pub receipt_seq: u64,
    pub merkle_root: [u8; 32],
    pub proof: chio_merkle_proof,
}

extern "C" {
    pub fn chio_checkpoint_parse(
        json: *const c_char,
        len: usize,
        out: *mut *mut chio_checkpoint,
        err: *mut chio_error,
    ) -> c_int;
    pub fn chio_checkpoint_free(cp: *mut chio_checkpoint);
    pub fn chio_checkpoint_seq(cp: *const chio_checkpoint) -> u64;
    pub fn chio_checkpoint_batch_start(cp: *const chio_checkpoint) -> u64;
    pub fn chio_checkpoint_batch_end(cp: *const chio_checkpoint) -> u64;
    pub fn chio_checkpoint_tree_size(cp: *const chio_checkpoint) -> u64;
    pub fn chio_checkpoint_issued_at(cp: *const chio_checkpoint) -> u64;
    pub fn chio_checkpoint_merkle_root(cp: *const chio_checkpoint) -> *const u8;
    pub fn chio_checkpoint_kernel_key_hex(cp: *const chio_checkpoint) -> *const c_char;
    pub fn chio_checkpoint_previous_sha256(cp: *const chio_checkpoint) -> *const c_char;
    pub fn chio_checkpoint_body_sha256(cp: *const chio_checkpoint) -> *const c_char;
    pub fn chio_checkpoint_json(cp: *const chio_checkpoint, len: *mut usize) -> *const c_char;
    pub fn chio_checkpoint_verify(cp: *const chio_checkpoint) -> c_int;
    pub fn chio_checkpoint_sign(
        kp: *const chio_keypair,
        checkpoint_seq: u64,
        batch_start_seq: u64,
        batch_end_seq: u64,
        merkle_root: *const u8,
        issued_at: u64,
        previous_sha256: *const c_char,
        out: *mut *mut chio_checkpoint,
        err: *mut chio_error,
    ) -> c_int;
    pub fn chio_inclusion_proof_json(
        p: *const chio_inclusion_proof,
        out: *mut *mut c_char,
        len: *mut usize,
    ) -> c_int;
    pub fn chio_inclusion_proof_parse(
        json: *const c_char,
        len: usize,
        out: *mut chio_inclusion_proof,
        err: *mut chio_error,
    ) -> c_int;
    pub fn chio_inclusion_proof_verify(
        p: *const chio_inclusion_proof,
        receipt_json: *const c_char,
        len: usize,
    ) -> c_int;
}

// ---- store.h -------------------------------------------------------------------------------

#[repr(C)]
pub struct chio_store {
    _opaque: [u8; 0],
}

/// `chio_store_mode` values.
pub type chio_store_mode = c_int;
pub const CHIO_STORE_READ_WRITE: chio_store_mode = 0;
pub const CHIO_STORE_READ_ONLY: chio_store_mode = 1;
pub const CHIO_STORE_SECONDARY: chio_store_mode = 2;

pub type chio_store_visit_fn = Option<
    unsafe extern "C" fn(ctx: *mut c_void, seq: u64, json: *const c_char, len: usize) -> c_int,
>;

#[repr(C)]
#[derive(Clone, Copy)]
pub struct chio_archive_report {
    pub receipts_moved: u64,
    pub checkpoints_moved: u64,
    pub first_seq: u64,
    pub last_seq: u64,
    pub live_bytes_before: u64,
    pub live_bytes_after: u64,
    pub reserved: [u64; 4],
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct chio_store_audit {
    pub receipts: u64,
    pub first_seq: u64,
    pub last_seq: u64,
    pub gaps: u64,
    pub invalid: u64,
    pub checkpoints: u64,
    pub checkpoints_valid: u64,
}

pub type chio_audit_fn =
    Option<unsafe extern "C" fn(ctx: *mut c_void, json: *const c_char, len: usize)>;

/// `chio_store_pin` values.
pub type chio_store_pin = c_int;
pub const CHIO_STORE_PIN_NONE: chio_store_pin = 0;
pub const CHIO_STORE_PIN_STORE: chio_store_pin = 1;
pub const CHIO_STORE_PIN_FLAG: chio_store_pin = 2;

#[repr(C)]
#[derive(Clone, Copy)]
pub struct chio_store_audit_v2 {
    pub size: u32,
    pub reserved0: u32,
    pub base: chio_store_audit,
    pub signer_hex: [c_char; 65],
    pub legacy: u8,
    pub archive: u8,
    pub allow_archive: u8,
    pub reserved1: [u8; 4],
    pub pinned_by: u32,
    pub reserved2: u32,
    pub head_seq: u64,
    pub chain_from: u64,
    pub log_problems: u64,
    pub reserved: [u64; 8],
}

extern "C" {
    pub fn chio_store_open(
        path: *const c_char,
        mode: chio_store_mode,
        out: *mut *mut chio_store,
        err: *mut chio_error,
    ) -> c_int;
    pub fn chio_store_check_dir(path: *const c_char, err: *mut chio_error) -> c_int;
    pub fn chio_store_close(s: *mut chio_store);
    pub fn chio_store_catch_up(s: *mut chio_store, err: *mut chio_error) -> c_int;
    pub fn chio_store_seq_range(
        s: *mut chio_store,
        first: *mut u64,
        last: *mut u64,
        err: *mut chio_error,
    ) -> c_int;
    pub fn chio_store_last_checkpoint_seq(
        s: *mut chio_store,
        last: *mut u64,
        err: *mut chio_error,
    ) -> c_int;
    pub fn chio_store_get_receipt(
        s: *mut chio_store,
        seq: u64,
        json: *mut *mut c_char,
        len: *mut usize,
        err: *mut chio_error,
    ) -> c_int;
    pub fn chio_store_get_checkpoint(
        s: *mut chio_store,
        checkpoint_seq: u64,
        json: *mut *mut c_char,
        len: *mut usize,
        err: *mut chio_error,
    ) -> c_int;
    pub fn chio_store_find_receipt(
        s: *mut chio_store,
        id: *const c_char,
        seq: *mut u64,
        err: *mut chio_error,
    ) -> c_int;
    pub fn chio_store_scan(
        s: *mut chio_store,
        from: u64,
        fn_: chio_store_visit_fn,
        ctx: *mut c_void,
        err: *mut chio_error,
    ) -> c_int;
    pub fn chio_store_scan_checkpoints(
        s: *mut chio_store,
        from: u64,
        fn_: chio_store_visit_fn,
        ctx: *mut c_void,
        err: *mut chio_error,
    ) -> c_int;
    pub fn chio_store_archive(
        live: *mut chio_store,
        archive_path: *const c_char,
        older_than: u64,
        max_bytes: u64,
        by_checkpoint: c_int,
        rep: *mut chio_archive_report,
        err: *mut chio_error,
    ) -> c_int;
    pub fn chio_store_audit_log(
        s: *mut chio_store,
        trusted_keys: *const u8,
        ntrusted: usize,
        fn_: chio_audit_fn,
        ctx: *mut c_void,
        out: *mut chio_store_audit,
        err: *mut chio_error,
    ) -> c_int;
    pub fn chio_store_audit_log_v2(
        s: *mut chio_store,
        trusted_keys: *const u8,
        ntrusted: usize,
        fn_: chio_audit_fn,
        ctx: *mut c_void,
        out: *mut chio_store_audit_v2,
        err: *mut chio_error,
    ) -> c_int;
    pub fn chio_store_audit_seam(
        older: *mut chio_store,
        newer: *mut chio_store,
        fn_: chio_audit_fn,
        ctx: *mut c_void,
        problems: *mut u64,
        err: *mut chio_error,
    ) -> c_int;
}

// ---- kernel.h ------------------------------------------------------------------------------

pub const CHIO_DEFAULT_MAX_STREAM_DURATION_SECS: u64 = 300;
pub const CHIO_DEFAULT_MAX_STREAM_TOTAL_BYTES: u64 = 256 * 1024 * 1024;
pub const CHIO_DEFAULT_CHECKPOINT_BATCH_SIZE: u64 = 100;
pub const CHIO_DEFAULT_RETENTION_DAYS: u32 = 90;
pub const CHIO_DEFAULT_RETENTION_MAX_SIZE_BYTES: u64 = 10 * 1024 * 1024 * 1024;
pub const CHIO_DEFAULT_MAX_DELEGATION_DEPTH: u32 = 4;
pub const CHIO_DEFAULT_SIGNER_THREADS: u32 = 1;
pub const CHIO_DEFAULT_RING_CAPACITY: u32 = 1024;
pub const CHIO_DEFAULT_MAX_BATCH: u32 = 256;
pub const CHIO_DEFAULT_MAX_ARGUMENT_BYTES: u64 = 4194304;
pub const CHIO_MAX_CHECKPOINT_BATCH_SIZE: u64 = 1 << 20;

#[repr(C)]
pub struct chio_kernel {
    _opaque: [u8; 0],
}

/// `chio_durability` values.
pub type chio_durability = c_int;
pub const CHIO_DURABILITY_SYNC: chio_durability = 0;
pub const CHIO_DURABILITY_NOSYNC: chio_durability = 1;

#[repr(C)]
#[derive(Clone, Copy)]
pub struct chio_retention_config {
    pub enabled: c_int,
    pub retention_days: u32,
    pub max_size_bytes: u64,
    pub archive_path: *const c_char,
}

/// `chio_log_level` values.
pub type chio_log_level = c_int;
pub const CHIO_LOG_DEBUG: chio_log_level = 0;
pub const CHIO_LOG_INFO: chio_log_level = 1;
pub const CHIO_LOG_WARN: chio_log_level = 2;
pub const CHIO_LOG_ERROR: chio_log_level = 3;

pub type chio_log_fn = Option<
    unsafe extern "C" fn(ctx: *mut c_void, level: chio_log_level, json: *const c_char, len: usize),
>;

pub type chio_clock_fn = Option<unsafe extern "C" fn(ctx: *mut c_void) -> u64>;

#[repr(C)]
#[derive(Clone, Copy)]
pub struct chio_kernel_config {
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
    pub signer_realtime: c_int,
    pub reserved_int: c_int,
    pub reserved: [*mut c_void; 5],
}

pub type chio_sign_cb =
    Option<unsafe extern "C" fn(ctx: *mut c_void, rc: c_int, receipt: *mut chio_receipt)>;

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
    pub reserved: [u64; 8],
}

extern "C" {
    pub fn chio_kernel_config_init(cfg: *mut chio_kernel_config);
    pub fn chio_kernel_new(
        cfg: *const chio_kernel_config,
        out: *mut *mut chio_kernel,
        err: *mut chio_error,
    ) -> c_int;
    pub fn chio_kernel_start(k: *mut chio_kernel, err: *mut chio_error) -> c_int;
    pub fn chio_kernel_sign_receipt(
        k: *mut chio_kernel,
        b: *mut chio_receipt_builder,
        out: *mut *mut chio_receipt,
        err: *mut chio_error,
    ) -> c_int;
    pub fn chio_kernel_try_sign_receipt(
        k: *mut chio_kernel,
        b: *mut chio_receipt_builder,
        out: *mut *mut chio_receipt,
        err: *mut chio_error,
    ) -> c_int;
    pub fn chio_kernel_sign_receipt_async(
        k: *mut chio_kernel,
        b: *mut chio_receipt_builder,
        cb: chio_sign_cb,
        ctx: *mut c_void,
        err: *mut chio_error,
    ) -> c_int;
    pub fn chio_kernel_run_retention(
        k: *mut chio_kernel,
        rep: *mut chio_archive_report,
        err: *mut chio_error,
    ) -> c_int;
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
}

// ---- evaluate.h ----------------------------------------------------------------------------

pub const CHIO_MAX_REVOCATION_ID_LEN: usize = 256;
pub const CHIO_MAX_REVOCATIONS: usize = 1000000;
pub const CHIO_SESSION_ID_LEN: usize = 27;
pub const CHIO_SECRET_PATTERN_MAX_STATES: usize = 16384;
pub const CHIO_MAX_SESSION_TOKENS: usize = 16384;
pub const CHIO_CALL_DECIDE_ONLY: usize = 1;
pub const CHIO_TOOL_SERVER_ANY_TOOL: usize = 1;

/// `chio_code` values.
pub type chio_code = c_int;
pub const CHIO_CODE_NONE: chio_code = 0;
pub const CHIO_CODE_INVALID_SIGNATURE: chio_code = 1;
pub const CHIO_CODE_UNTRUSTED_ISSUER: chio_code = 2;
pub const CHIO_CODE_CAPABILITY_EXPIRED: chio_code = 3;
pub const CHIO_CODE_CAPABILITY_NOT_YET_VALID: chio_code = 4;
pub const CHIO_CODE_CAPABILITY_REVOKED: chio_code = 5;
pub const CHIO_CODE_DELEGATION_INVALID: chio_code = 6;
pub const CHIO_CODE_DELEGATION_DEPTH_EXCEEDED: chio_code = 7;
pub const CHIO_CODE_SUBJECT_MISMATCH: chio_code = 8;
pub const CHIO_CODE_OUT_OF_SCOPE: chio_code = 9;
pub const CHIO_CODE_CONSTRAINT_VIOLATED: chio_code = 10;
pub const CHIO_CODE_TOOL_NOT_REGISTERED: chio_code = 11;
pub const CHIO_CODE_BUDGET_EXHAUSTED: chio_code = 12;
pub const CHIO_CODE_GUARD_DENIED: chio_code = 13;
pub const CHIO_CODE_TOOL_ERROR: chio_code = 14;
pub const CHIO_CODE_STREAM_LIMIT: chio_code = 15;
pub const CHIO_CODE_SAMPLING_NOT_ALLOWED: chio_code = 16;
pub const CHIO_CODE_SAMPLING_TOOL_USE_NOT_ALLOWED: chio_code = 17;
pub const CHIO_CODE_ELICITATION_NOT_ALLOWED: chio_code = 18;
pub const CHIO_CODE_NOT_FOUND: chio_code = 19;
pub const CHIO_CODE_CANCELLED: chio_code = 20;
pub const CHIO_CODE_UNSUPPORTED_GRANT: chio_code = 21;
pub const CHIO_CODE_UNKNOWN_CAPABILITY: chio_code = 22;
pub const CHIO_CODE_ARGUMENTS_REJECTED: chio_code = 23;
pub const CHIO_CODE_INVALID_REQUEST: chio_code = 24;

#[repr(C)]
pub struct chio_output {
    _opaque: [u8; 0],
}

#[repr(C)]
pub struct chio_tool_ctx {
    _opaque: [u8; 0],
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct chio_tool_server {
    pub server_id: *const c_char,
    pub tool_names: *const *const c_char,
    pub ntools: usize,
    pub invoke: chio_invoke_fn,
    pub invoke_stream: chio_invoke_fn,
    pub user: *mut c_void,
    pub flags: usize,
    pub reserved: [*mut c_void; 3],
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

#[repr(C)]
#[derive(Clone, Copy)]
pub struct chio_resource_provider {
    pub provider_id: *const c_char,
    pub list: Option<unsafe extern "C" fn(user: *mut c_void, out: *mut chio_output) -> c_int>,
    pub read: Option<
        unsafe extern "C" fn(user: *mut c_void, uri: *const c_char, out: *mut chio_output) -> c_int,
    >,
    pub user: *mut c_void,
    pub reserved: [*mut c_void; 4],
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct chio_prompt_provider {
    pub provider_id: *const c_char,
    pub list: Option<unsafe extern "C" fn(user: *mut c_void, out: *mut chio_output) -> c_int>,
    pub get: Option<
        unsafe extern "C" fn(
            user: *mut c_void,
            name: *const c_char,
            arguments_json: *const c_char,
            arguments_len: usize,
            out: *mut chio_output,
        ) -> c_int,
    >,
    pub user: *mut c_void,
    pub reserved: [*mut c_void; 4],
}

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
        in_: *const chio_guard_input,
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
    pub reserved: [*mut c_void; 4],
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
    pub reserved: [*mut c_void; 4],
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct chio_call_options {
    pub cancel: *const c_int,
    pub timeout_ms: u64,
    pub flags: usize,
    pub provider: *const c_char,
    pub reserved: [*mut c_void; 2],
}

pub type chio_evaluate_cb = Option<
    unsafe extern "C" fn(
        ctx: *mut c_void,
        rc: c_int,
        resp: *mut chio_response,
        err: *const chio_error,
    ),
>;

/// The type of `chio_tool_server.invoke` and `.invoke_stream` (no C name).
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

extern "C" {
    pub fn chio_code_name(code: chio_code) -> *const c_char;
    /// Deprecated: use chio_errno_reason.
    pub fn chio_error_code_name(rc: c_int) -> *const c_char;
    pub fn chio_kernel_unreceipted_errors(k: *const chio_kernel, reason: *const c_char) -> u64;
    pub fn chio_output_set_json(out: *mut chio_output, json: *const c_char, len: usize) -> c_int;
    pub fn chio_output_set_error(out: *mut chio_output, message: *const c_char);
    pub fn chio_kernel_register_tool_server(
        k: *mut chio_kernel,
        server: *const chio_tool_server,
        err: *mut chio_error,
    ) -> c_int;
    pub fn chio_tool_ctx_emit_chunk(
        ctx: *mut chio_tool_ctx,
        json: *const c_char,
        len: usize,
    ) -> c_int;
    pub fn chio_tool_ctx_cancelled(ctx: *const chio_tool_ctx) -> c_int;
    pub fn chio_tool_ctx_session_id(ctx: *const chio_tool_ctx) -> *const c_char;
    pub fn chio_tool_ctx_request_id(ctx: *const chio_tool_ctx) -> *const c_char;
    pub fn chio_kernel_set_nested_handler(
        k: *mut chio_kernel,
        fn_: chio_nested_fn,
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
    pub fn chio_kernel_register_resource_provider(
        k: *mut chio_kernel,
        p: *const chio_resource_provider,
        err: *mut chio_error,
    ) -> c_int;
    pub fn chio_kernel_register_prompt_provider(
        k: *mut chio_kernel,
        p: *const chio_prompt_provider,
        err: *mut chio_error,
    ) -> c_int;
    pub fn chio_kernel_add_guard(
        k: *mut chio_kernel,
        name: *const c_char,
        fn_: chio_guard_fn,
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
    pub fn chio_secret_pattern_check(pattern: *const c_char, err: *mut chio_error) -> c_int;
    pub fn chio_kernel_secret_flagged(
        k: *mut chio_kernel,
        text: *const c_char,
        len: usize,
        flagged: *mut c_int,
    ) -> c_int;
    pub fn chio_regex_constraint_check(pattern: *const c_char, err: *mut chio_error) -> c_int;
    pub fn chio_capability_never_allows(
        cap: *const chio_capability,
        found: *mut c_int,
        why: *mut c_char,
        why_cap: usize,
    ) -> c_int;
    pub fn chio_capability_grants_read(
        cap: *const chio_capability,
        uri: *const c_char,
        granted: *mut c_int,
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
    pub fn chio_kernel_evaluate_ex(
        k: *mut chio_kernel,
        call: *const chio_call,
        opts: *const chio_call_options,
        resp: *mut chio_response,
        err: *mut chio_error,
    ) -> c_int;
    pub fn chio_kernel_evaluate_async(
        k: *mut chio_kernel,
        call: *const chio_call,
        cb: chio_evaluate_cb,
        ctx: *mut c_void,
        err: *mut chio_error,
    ) -> c_int;
    pub fn chio_kernel_read_resource(
        k: *mut chio_kernel,
        session_id: *const c_char,
        request_id: *const c_char,
        capability_id: *const c_char,
        uri: *const c_char,
        resp: *mut chio_response,
        err: *mut chio_error,
    ) -> c_int;
    pub fn chio_kernel_get_prompt(
        k: *mut chio_kernel,
        session_id: *const c_char,
        request_id: *const c_char,
        capability_id: *const c_char,
        name: *const c_char,
        arguments_json: *const c_char,
        arguments_len: usize,
        resp: *mut chio_response,
        err: *mut chio_error,
    ) -> c_int;
    pub fn chio_kernel_read_resource_ex(
        k: *mut chio_kernel,
        session_id: *const c_char,
        request_id: *const c_char,
        capability_id: *const c_char,
        uri: *const c_char,
        opts: *const chio_call_options,
        resp: *mut chio_response,
        err: *mut chio_error,
    ) -> c_int;
    pub fn chio_kernel_get_prompt_ex(
        k: *mut chio_kernel,
        session_id: *const c_char,
        request_id: *const c_char,
        capability_id: *const c_char,
        name: *const c_char,
        arguments_json: *const c_char,
        arguments_len: usize,
        opts: *const chio_call_options,
        resp: *mut chio_response,
        err: *mut chio_error,
    ) -> c_int;
    pub fn chio_kernel_list_resources(
        k: *mut chio_kernel,
        out: *mut *mut c_char,
        len: *mut usize,
        err: *mut chio_error,
    ) -> c_int;
    pub fn chio_kernel_list_prompts(
        k: *mut chio_kernel,
        out: *mut *mut c_char,
        len: *mut usize,
        err: *mut chio_error,
    ) -> c_int;
}

// ---- chio.h --------------------------------------------------------------------------------

extern "C" {
    pub fn chio_version() -> *const c_char;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{align_of, size_of, MaybeUninit};

    /// The byte offset of field @f in struct @t, computed from the address
    /// of the field of an uninitialised value (nothing is read). The crate
    /// supports Rust 1.63 (Debian 12's rustc), older than std::mem's macro
    /// of this name (1.77).
    macro_rules! offset_of {
        ($t:ty, $f:ident) => {{
            let value = MaybeUninit::<$t>::uninit();
            let base = value.as_ptr();
            // SAFETY: addr_of! takes the field's address without reading
            // or creating a reference to the uninitialised value.
            let field = unsafe { std::ptr::addr_of!((*base).$f) };
            field as usize - base as usize
        }};
    }

    /// Sizes and offsets of every struct with a body, as the C compiler lays
    /// them out for the LP64 ABIs (x86_64 and aarch64 Linux); the same
    /// numbers are pinned on the C side in src/core/abi.c, and
    /// tests/header_drift.rs checks that this list is complete and agrees
    /// with the compiler.
    #[test]
    #[cfg(all(target_pointer_width = "64", unix))]
    fn layouts_match_c_lp64() {
        assert_eq!(size_of::<chio_error>(), 272);
        assert_eq!(align_of::<chio_error>(), 8);
        assert_eq!(offset_of!(chio_error, code), 0);
        assert_eq!(offset_of!(chio_error, offset), 8);
        assert_eq!(offset_of!(chio_error, message), 16);

        assert_eq!(size_of::<chio_receipt_report>(), 184);
        assert_eq!(align_of::<chio_receipt_report>(), 8);
        assert_eq!(offset_of!(chio_receipt_report, signature_valid), 0);
        assert_eq!(offset_of!(chio_receipt_report, receipt_id_valid), 4);
        assert_eq!(offset_of!(chio_receipt_report, parameter_hash_valid), 8);
        assert_eq!(offset_of!(chio_receipt_report, signer_trusted), 12);
        assert_eq!(offset_of!(chio_receipt_report, authorized), 16);
        assert_eq!(offset_of!(chio_receipt_report, ok), 20);
        assert_eq!(offset_of!(chio_receipt_report, decision), 24);
        assert_eq!(offset_of!(chio_receipt_report, decision_name), 32);
        assert_eq!(offset_of!(chio_receipt_report, receipt_kind), 40);
        assert_eq!(offset_of!(chio_receipt_report, boundary_class), 48);
        assert_eq!(offset_of!(chio_receipt_report, trust_level), 56);
        assert_eq!(offset_of!(chio_receipt_report, result), 64);
        assert_eq!(offset_of!(chio_receipt_report, id), 72);
        assert_eq!(offset_of!(chio_receipt_report, signer_key_hex), 80);
        assert_eq!(offset_of!(chio_receipt_report, reserved), 152);

        assert_eq!(size_of::<chio_capability_report>(), 80);
        assert_eq!(align_of::<chio_capability_report>(), 8);
        assert_eq!(offset_of!(chio_capability_report, id), 0);
        assert_eq!(offset_of!(chio_capability_report, signature_valid), 8);
        assert_eq!(offset_of!(chio_capability_report, time_status), 12);
        assert_eq!(offset_of!(chio_capability_report, time_status_name), 16);
        assert_eq!(
            offset_of!(chio_capability_report, delegation_chain_shape_valid),
            24
        );
        assert_eq!(
            offset_of!(chio_capability_report, delegation_depth_exceeded),
            28
        );
        assert_eq!(offset_of!(chio_capability_report, chain_error_link), 32);
        assert_eq!(offset_of!(chio_capability_report, issuer_trusted), 40);
        assert_eq!(offset_of!(chio_capability_report, ok), 44);
        assert_eq!(offset_of!(chio_capability_report, reserved), 48);

        assert_eq!(size_of::<chio_merkle_proof>(), 2072);
        assert_eq!(align_of::<chio_merkle_proof>(), 8);
        assert_eq!(offset_of!(chio_merkle_proof, tree_size), 0);
        assert_eq!(offset_of!(chio_merkle_proof, leaf_index), 8);
        assert_eq!(offset_of!(chio_merkle_proof, path_len), 16);
        assert_eq!(offset_of!(chio_merkle_proof, path), 24);

        assert_eq!(size_of::<chio_inclusion_proof>(), 2120);
        assert_eq!(align_of::<chio_inclusion_proof>(), 8);
        assert_eq!(offset_of!(chio_inclusion_proof, checkpoint_seq), 0);
        assert_eq!(offset_of!(chio_inclusion_proof, receipt_seq), 8);
        assert_eq!(offset_of!(chio_inclusion_proof, merkle_root), 16);
        assert_eq!(offset_of!(chio_inclusion_proof, proof), 48);

        assert_eq!(size_of::<chio_archive_report>(), 80);
        assert_eq!(align_of::<chio_archive_report>(), 8);
        assert_eq!(offset_of!(chio_archive_report, receipts_moved), 0);
        assert_eq!(offset_of!(chio_archive_report, checkpoints_moved), 8);
        assert_eq!(offset_of!(chio_archive_report, first_seq), 16);
        assert_eq!(offset_of!(chio_archive_report, last_seq), 24);
        assert_eq!(offset_of!(chio_archive_report, live_bytes_before), 32);
        assert_eq!(offset_of!(chio_archive_report, live_bytes_after), 40);
        assert_eq!(offset_of!(chio_archive_report, reserved), 48);

        assert_eq!(size_of::<chio_store_audit>(), 56);
        assert_eq!(align_of::<chio_store_audit>(), 8);
        assert_eq!(offset_of!(chio_store_audit, receipts), 0);
        assert_eq!(offset_of!(chio_store_audit, first_seq), 8);
        assert_eq!(offset_of!(chio_store_audit, last_seq), 16);
        assert_eq!(offset_of!(chio_store_audit, gaps), 24);
        assert_eq!(offset_of!(chio_store_audit, invalid), 32);
        assert_eq!(offset_of!(chio_store_audit, checkpoints), 40);
        assert_eq!(offset_of!(chio_store_audit, checkpoints_valid), 48);

        assert_eq!(size_of::<chio_store_audit_v2>(), 232);
        assert_eq!(align_of::<chio_store_audit_v2>(), 8);
        assert_eq!(offset_of!(chio_store_audit_v2, size), 0);
        assert_eq!(offset_of!(chio_store_audit_v2, reserved0), 4);
        assert_eq!(offset_of!(chio_store_audit_v2, base), 8);
        assert_eq!(offset_of!(chio_store_audit_v2, signer_hex), 64);
        assert_eq!(offset_of!(chio_store_audit_v2, legacy), 129);
        assert_eq!(offset_of!(chio_store_audit_v2, archive), 130);
        assert_eq!(offset_of!(chio_store_audit_v2, allow_archive), 131);
        assert_eq!(offset_of!(chio_store_audit_v2, reserved1), 132);
        assert_eq!(offset_of!(chio_store_audit_v2, pinned_by), 136);
        assert_eq!(offset_of!(chio_store_audit_v2, reserved2), 140);
        assert_eq!(offset_of!(chio_store_audit_v2, head_seq), 144);
        assert_eq!(offset_of!(chio_store_audit_v2, chain_from), 152);
        assert_eq!(offset_of!(chio_store_audit_v2, log_problems), 160);
        assert_eq!(offset_of!(chio_store_audit_v2, reserved), 168);

        assert_eq!(size_of::<chio_retention_config>(), 24);
        assert_eq!(align_of::<chio_retention_config>(), 8);
        assert_eq!(offset_of!(chio_retention_config, enabled), 0);
        assert_eq!(offset_of!(chio_retention_config, retention_days), 4);
        assert_eq!(offset_of!(chio_retention_config, max_size_bytes), 8);
        assert_eq!(offset_of!(chio_retention_config, archive_path), 16);

        assert_eq!(size_of::<chio_kernel_config>(), 248);
        assert_eq!(align_of::<chio_kernel_config>(), 8);
        assert_eq!(offset_of!(chio_kernel_config, keypair), 0);
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
        assert_eq!(offset_of!(chio_kernel_config, signer_realtime), 200);
        assert_eq!(offset_of!(chio_kernel_config, reserved_int), 204);
        assert_eq!(offset_of!(chio_kernel_config, reserved), 208);

        assert_eq!(size_of::<chio_kernel_metrics>(), 184);
        assert_eq!(align_of::<chio_kernel_metrics>(), 8);
        assert_eq!(offset_of!(chio_kernel_metrics, receipts_signed), 0);
        assert_eq!(offset_of!(chio_kernel_metrics, batches), 8);
        assert_eq!(offset_of!(chio_kernel_metrics, max_batch), 16);
        assert_eq!(offset_of!(chio_kernel_metrics, avg_batch), 24);
        assert_eq!(offset_of!(chio_kernel_metrics, ring_depth), 32);
        assert_eq!(offset_of!(chio_kernel_metrics, ring_high_water), 40);
        assert_eq!(offset_of!(chio_kernel_metrics, ring_capacity), 48);
        assert_eq!(offset_of!(chio_kernel_metrics, blocking_episodes), 56);
        assert_eq!(offset_of!(chio_kernel_metrics, wal_syncs), 64);
        assert_eq!(offset_of!(chio_kernel_metrics, checkpoints), 72);
        assert_eq!(offset_of!(chio_kernel_metrics, write_errors), 80);
        assert_eq!(offset_of!(chio_kernel_metrics, last_seq), 88);
        assert_eq!(offset_of!(chio_kernel_metrics, last_checkpoint_seq), 96);
        assert_eq!(offset_of!(chio_kernel_metrics, signer_threads_running), 104);
        assert_eq!(offset_of!(chio_kernel_metrics, failed), 108);
        assert_eq!(offset_of!(chio_kernel_metrics, draining), 112);
        assert_eq!(offset_of!(chio_kernel_metrics, reserved), 120);

        assert_eq!(size_of::<chio_tool_server>(), 80);
        assert_eq!(align_of::<chio_tool_server>(), 8);
        assert_eq!(offset_of!(chio_tool_server, server_id), 0);
        assert_eq!(offset_of!(chio_tool_server, tool_names), 8);
        assert_eq!(offset_of!(chio_tool_server, ntools), 16);
        assert_eq!(offset_of!(chio_tool_server, invoke), 24);
        assert_eq!(offset_of!(chio_tool_server, invoke_stream), 32);
        assert_eq!(offset_of!(chio_tool_server, user), 40);
        assert_eq!(offset_of!(chio_tool_server, flags), 48);
        assert_eq!(offset_of!(chio_tool_server, reserved), 56);

        assert_eq!(size_of::<chio_resource_provider>(), 64);
        assert_eq!(align_of::<chio_resource_provider>(), 8);
        assert_eq!(offset_of!(chio_resource_provider, provider_id), 0);
        assert_eq!(offset_of!(chio_resource_provider, list), 8);
        assert_eq!(offset_of!(chio_resource_provider, read), 16);
        assert_eq!(offset_of!(chio_resource_provider, user), 24);
        assert_eq!(offset_of!(chio_resource_provider, reserved), 32);

        assert_eq!(size_of::<chio_prompt_provider>(), 64);
        assert_eq!(align_of::<chio_prompt_provider>(), 8);
        assert_eq!(offset_of!(chio_prompt_provider, provider_id), 0);
        assert_eq!(offset_of!(chio_prompt_provider, list), 8);
        assert_eq!(offset_of!(chio_prompt_provider, get), 16);
        assert_eq!(offset_of!(chio_prompt_provider, user), 24);
        assert_eq!(offset_of!(chio_prompt_provider, reserved), 32);

        assert_eq!(size_of::<chio_guard_input>(), 64);
        assert_eq!(align_of::<chio_guard_input>(), 8);
        assert_eq!(offset_of!(chio_guard_input, session_id), 0);
        assert_eq!(offset_of!(chio_guard_input, request_id), 8);
        assert_eq!(offset_of!(chio_guard_input, agent_id), 16);
        assert_eq!(offset_of!(chio_guard_input, capability_id), 24);
        assert_eq!(offset_of!(chio_guard_input, server_id), 32);
        assert_eq!(offset_of!(chio_guard_input, tool_name), 40);
        assert_eq!(offset_of!(chio_guard_input, arguments_json), 48);
        assert_eq!(offset_of!(chio_guard_input, arguments_len), 56);

        assert_eq!(size_of::<chio_call>(), 88);
        assert_eq!(align_of::<chio_call>(), 8);
        assert_eq!(offset_of!(chio_call, session_id), 0);
        assert_eq!(offset_of!(chio_call, request_id), 8);
        assert_eq!(offset_of!(chio_call, capability_id), 16);
        assert_eq!(offset_of!(chio_call, server_id), 24);
        assert_eq!(offset_of!(chio_call, tool_name), 32);
        assert_eq!(offset_of!(chio_call, arguments_json), 40);
        assert_eq!(offset_of!(chio_call, arguments_len), 48);
        assert_eq!(offset_of!(chio_call, reserved), 56);

        assert_eq!(size_of::<chio_response>(), 96);
        assert_eq!(align_of::<chio_response>(), 8);
        assert_eq!(offset_of!(chio_response, verdict), 0);
        assert_eq!(offset_of!(chio_response, code), 4);
        assert_eq!(offset_of!(chio_response, reason), 8);
        assert_eq!(offset_of!(chio_response, output), 16);
        assert_eq!(offset_of!(chio_response, output_len), 24);
        assert_eq!(offset_of!(chio_response, request_id), 32);
        assert_eq!(offset_of!(chio_response, receipt), 40);
        assert_eq!(offset_of!(chio_response, children), 48);
        assert_eq!(offset_of!(chio_response, nchildren), 56);
        assert_eq!(offset_of!(chio_response, reserved), 64);

        assert_eq!(size_of::<chio_call_options>(), 48);
        assert_eq!(align_of::<chio_call_options>(), 8);
        assert_eq!(offset_of!(chio_call_options, cancel), 0);
        assert_eq!(offset_of!(chio_call_options, timeout_ms), 8);
        assert_eq!(offset_of!(chio_call_options, flags), 16);
        assert_eq!(offset_of!(chio_call_options, provider), 24);
        assert_eq!(offset_of!(chio_call_options, reserved), 32);
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
        let name = unsafe { std::ffi::CStr::from_ptr(chio_errno_name(CHIO_ENOSESSION)) };
        assert_eq!(name.to_str().unwrap(), "CHIO_ENOSESSION");
        let code = unsafe { std::ffi::CStr::from_ptr(chio_code_name(CHIO_CODE_TOOL_ERROR)) };
        assert_eq!(code.to_str().unwrap(), "tool_error");
    }
}
