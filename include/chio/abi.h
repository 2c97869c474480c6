/* SPDX-License-Identifier: Apache-2.0 */
/*
 * chio/abi.h - how libchio's binary interface evolves, and the one
 * deprecation macro. Included by every other public header.
 *
 * Callers reach libchio from C, C++ and through FFI (the Rust binding), so
 * every struct whose layout they see follows one of five rules, chosen by
 * who allocates it and who writes it. src/core/abi.c pins every
 * layout with _Static_assert (sizeof and offsetof, LP64), in every build.
 *
 * 1. Input structs the caller fills and passes in (chio_call,
 *    chio_call_options, chio_tool_server, chio_resource_provider,
 *    chio_prompt_provider, chio_kernel_config): fixed size with a tail of
 *    `reserved` slots that must be zero. Zero the whole struct first
 *    (memset, `= {0}`, a designated initializer, or the type's _init()),
 *    then set fields. The library refuses a struct whose reserved bytes are
 *    not all zero (CHIO_EINVAL; CHIO_ECONFIG for chio_kernel_config), so a
 *    field added in a later release is never silently ignored by an older
 *    library. New fields are carved out of the reserved tail; the size
 *    never changes.
 *
 * 2. Output structs the library fills in caller memory (chio_response,
 *    chio_kernel_metrics, chio_receipt_report, chio_capability_report,
 *    chio_archive_report): fixed size with a reserved tail that the library
 *    writes as zeros. New fields are carved out of that tail; a caller built
 *    against a newer header that runs on an older library reads them as 0,
 *    so every field added later gives 0 the meaning "not reported".
 *
 * 3. Size-versioned output structs (chio_store_audit_v2): the caller sets
 *    the leading `size` to sizeof(the struct it was compiled with); the
 *    library writes at most that many bytes and may append fields.
 *
 * 4. Structs the library hands to a callback (chio_guard_input, chio_span):
 *    library-allocated, read-only to the callback, valid during the call.
 *    Fields may be appended; callers never allocate one, take its sizeof or
 *    keep a copy past the call.
 *
 * 5. Frozen value structs (chio_error, chio_merkle_proof,
 *    chio_inclusion_proof, chio_retention_config, chio_store_audit,
 *    chio_span_attr): the layout never changes. A successor is a new type
 *    with its own functions (chio_store_audit_v2 beside chio_store_audit).
 *
 * Everything else is opaque (chio_kernel, chio_receipt, ...) and reached
 * only through functions. Enums only gain values at the end; no public
 * enum has a count member (a count would change when a value is added).
 * Result codes and decision codes never change number. A published
 * function never changes signature; a new variant gets a new name
 * (chio_x_v2, chio_x_ex). Renamed functions stay exported and declared
 * with CHIO_DEPRECATED for at least one minor release.
 *
 * Names (docs/abi.md): chio_strerror(rc) is the English message of a
 * result code; chio_<enum>_name(value) is the stable name of a value of
 * public enum chio_<enum> (chio_errno_name, chio_code_name,
 * chio_verdict_name, chio_session_state_name, ...); chio_errno_reason(rc)
 * is the reporting class of a result code.
 */
#ifndef CHIO_ABI_H
#define CHIO_ABI_H

/*
 * CHIO_DEPRECATED(msg) marks a declaration kept for compatibility. It is
 * empty unless the including code defines CHIO_WARN_DEPRECATED, so code
 * built with -Werror keeps compiling; define it to find the calls to move.
 */
#if defined(CHIO_WARN_DEPRECATED) && (defined(__GNUC__) || defined(__clang__))
#define CHIO_DEPRECATED(msg) __attribute__((deprecated(msg)))
#else
#define CHIO_DEPRECATED(msg)
#endif

#endif /* CHIO_ABI_H */
