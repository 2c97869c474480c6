/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/abi.c - the public structs' layouts, pinned (chio/abi.h), and the
 * reserved-bytes check the library applies to input structs. Compiled into
 * every build, so a change to a public struct that moves a field or changes
 * a size fails the build here, before any caller sees it. The expected
 * numbers are those of the LP64 ABIs (x86_64, aarch64 Linux); other data
 * models only get the checks that do not depend on type sizes.
 * bindings/rust/src/sys.rs asserts the same numbers for its mirrors, and
 * its header test (bindings/rust/tests/header_drift.rs) checks that both
 * lists name every field. No state, no locks.
 */
#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "chio/chio.h"
#include "chio/otel.h" /* layouts hold in builds without OpenTelemetry too */
#include "internal.h"

int chio__all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    unsigned char acc = 0;
    size_t i;

    for (i = 0; i < n; i++)
        acc |= b[i];
    return acc == 0;
}

/* Reserved tails end their struct (abi.h rules 1 and 2): new fields are
 * carved out of them, so nothing may follow. */
#define CHIO__TAIL(type, field)                                                        \
    _Static_assert(offsetof(type, field) + sizeof(((type *)0)->field) == sizeof(type), \
                   #type "." #field " must end the struct")
CHIO__TAIL(chio_call, reserved);
CHIO__TAIL(chio_call_options, reserved);
CHIO__TAIL(chio_tool_server, reserved);
CHIO__TAIL(chio_resource_provider, reserved);
CHIO__TAIL(chio_prompt_provider, reserved);
CHIO__TAIL(chio_kernel_config, reserved);
CHIO__TAIL(chio_response, reserved);
CHIO__TAIL(chio_kernel_metrics, reserved);
CHIO__TAIL(chio_receipt_report, reserved);
CHIO__TAIL(chio_capability_report, reserved);
CHIO__TAIL(chio_archive_report, reserved);
CHIO__TAIL(chio_store_audit_v2, reserved);
_Static_assert(offsetof(chio_store_audit_v2, size) == 0, "the size leads (abi.h rule 3)");

#if UINTPTR_MAX == UINT64_MAX && ULONG_MAX == UINT64_MAX && SIZE_MAX == UINT64_MAX
/* sizeof and _Alignof of each public struct, then every field's offset. */
#define CHIO__SIZE(type, size, align) \
    _Static_assert(sizeof(type) == (size) && _Alignof(type) == (align), #type " changed size")
#define CHIO__AT(type, field, off) \
    _Static_assert(offsetof(type, field) == (off), #type "." #field " moved")

CHIO__SIZE(chio_error, 272, 8);
CHIO__AT(chio_error, code, 0);
CHIO__AT(chio_error, offset, 8);
CHIO__AT(chio_error, message, 16);

CHIO__SIZE(chio_receipt_report, 184, 8);
CHIO__AT(chio_receipt_report, signature_valid, 0);
CHIO__AT(chio_receipt_report, receipt_id_valid, 4);
CHIO__AT(chio_receipt_report, parameter_hash_valid, 8);
CHIO__AT(chio_receipt_report, signer_trusted, 12);
CHIO__AT(chio_receipt_report, authorized, 16);
CHIO__AT(chio_receipt_report, ok, 20);
CHIO__AT(chio_receipt_report, decision, 24);
CHIO__AT(chio_receipt_report, decision_name, 32);
CHIO__AT(chio_receipt_report, receipt_kind, 40);
CHIO__AT(chio_receipt_report, boundary_class, 48);
CHIO__AT(chio_receipt_report, trust_level, 56);
CHIO__AT(chio_receipt_report, result, 64);
CHIO__AT(chio_receipt_report, id, 72);
CHIO__AT(chio_receipt_report, signer_key_hex, 80);
CHIO__AT(chio_receipt_report, reserved, 152);

CHIO__SIZE(chio_capability_report, 80, 8);
CHIO__AT(chio_capability_report, id, 0);
CHIO__AT(chio_capability_report, signature_valid, 8);
CHIO__AT(chio_capability_report, time_status, 12);
CHIO__AT(chio_capability_report, time_status_name, 16);
CHIO__AT(chio_capability_report, delegation_chain_shape_valid, 24);
CHIO__AT(chio_capability_report, delegation_depth_exceeded, 28);
CHIO__AT(chio_capability_report, chain_error_link, 32);
CHIO__AT(chio_capability_report, issuer_trusted, 40);
CHIO__AT(chio_capability_report, ok, 44);
CHIO__AT(chio_capability_report, reserved, 48);

CHIO__SIZE(chio_merkle_proof, 2072, 8);
CHIO__AT(chio_merkle_proof, tree_size, 0);
CHIO__AT(chio_merkle_proof, leaf_index, 8);
CHIO__AT(chio_merkle_proof, path_len, 16);
CHIO__AT(chio_merkle_proof, path, 24);

CHIO__SIZE(chio_inclusion_proof, 2120, 8);
CHIO__AT(chio_inclusion_proof, checkpoint_seq, 0);
CHIO__AT(chio_inclusion_proof, receipt_seq, 8);
CHIO__AT(chio_inclusion_proof, merkle_root, 16);
CHIO__AT(chio_inclusion_proof, proof, 48);

CHIO__SIZE(chio_archive_report, 80, 8);
CHIO__AT(chio_archive_report, receipts_moved, 0);
CHIO__AT(chio_archive_report, checkpoints_moved, 8);
CHIO__AT(chio_archive_report, first_seq, 16);
CHIO__AT(chio_archive_report, last_seq, 24);
CHIO__AT(chio_archive_report, live_bytes_before, 32);
CHIO__AT(chio_archive_report, live_bytes_after, 40);
CHIO__AT(chio_archive_report, reserved, 48);

CHIO__SIZE(chio_store_audit, 56, 8);
CHIO__AT(chio_store_audit, receipts, 0);
CHIO__AT(chio_store_audit, first_seq, 8);
CHIO__AT(chio_store_audit, last_seq, 16);
CHIO__AT(chio_store_audit, gaps, 24);
CHIO__AT(chio_store_audit, invalid, 32);
CHIO__AT(chio_store_audit, checkpoints, 40);
CHIO__AT(chio_store_audit, checkpoints_valid, 48);

CHIO__SIZE(chio_store_audit_v2, 232, 8);
CHIO__AT(chio_store_audit_v2, size, 0);
CHIO__AT(chio_store_audit_v2, reserved0, 4);
CHIO__AT(chio_store_audit_v2, base, 8);
CHIO__AT(chio_store_audit_v2, signer_hex, 64);
CHIO__AT(chio_store_audit_v2, legacy, 129);
CHIO__AT(chio_store_audit_v2, archive, 130);
CHIO__AT(chio_store_audit_v2, allow_archive, 131);
CHIO__AT(chio_store_audit_v2, reserved1, 132);
CHIO__AT(chio_store_audit_v2, pinned_by, 136);
CHIO__AT(chio_store_audit_v2, reserved2, 140);
CHIO__AT(chio_store_audit_v2, head_seq, 144);
CHIO__AT(chio_store_audit_v2, chain_from, 152);
CHIO__AT(chio_store_audit_v2, log_problems, 160);
CHIO__AT(chio_store_audit_v2, reserved, 168);

CHIO__SIZE(chio_retention_config, 24, 8);
CHIO__AT(chio_retention_config, enabled, 0);
CHIO__AT(chio_retention_config, retention_days, 4);
CHIO__AT(chio_retention_config, max_size_bytes, 8);
CHIO__AT(chio_retention_config, archive_path, 16);

CHIO__SIZE(chio_kernel_config, 248, 8);
CHIO__AT(chio_kernel_config, keypair, 0);
CHIO__AT(chio_kernel_config, ca_public_keys, 8);
CHIO__AT(chio_kernel_config, n_ca_public_keys, 16);
CHIO__AT(chio_kernel_config, max_delegation_depth, 24);
CHIO__AT(chio_kernel_config, policy_hash, 32);
CHIO__AT(chio_kernel_config, allow_sampling, 40);
CHIO__AT(chio_kernel_config, allow_sampling_tool_use, 44);
CHIO__AT(chio_kernel_config, allow_elicitation, 48);
CHIO__AT(chio_kernel_config, max_stream_duration_secs, 56);
CHIO__AT(chio_kernel_config, max_stream_total_bytes, 64);
CHIO__AT(chio_kernel_config, require_web3_evidence, 72);
CHIO__AT(chio_kernel_config, checkpoint_batch_size, 80);
CHIO__AT(chio_kernel_config, retention_config, 88);
CHIO__AT(chio_kernel_config, receipt_store_path, 112);
CHIO__AT(chio_kernel_config, ephemeral_store, 120);
CHIO__AT(chio_kernel_config, signer_threads, 124);
CHIO__AT(chio_kernel_config, ring_capacity, 128);
CHIO__AT(chio_kernel_config, max_batch, 132);
CHIO__AT(chio_kernel_config, durability, 136);
CHIO__AT(chio_kernel_config, clock, 144);
CHIO__AT(chio_kernel_config, clock_ctx, 152);
CHIO__AT(chio_kernel_config, log, 160);
CHIO__AT(chio_kernel_config, log_ctx, 168);
CHIO__AT(chio_kernel_config, log_level, 176);
CHIO__AT(chio_kernel_config, lock_key_memory, 180);
CHIO__AT(chio_kernel_config, signer_priority, 184);
CHIO__AT(chio_kernel_config, max_argument_bytes, 192);
CHIO__AT(chio_kernel_config, signer_realtime, 200);
CHIO__AT(chio_kernel_config, reserved_int, 204);
CHIO__AT(chio_kernel_config, reserved, 208);

CHIO__SIZE(chio_kernel_metrics, 184, 8);
CHIO__AT(chio_kernel_metrics, receipts_signed, 0);
CHIO__AT(chio_kernel_metrics, batches, 8);
CHIO__AT(chio_kernel_metrics, max_batch, 16);
CHIO__AT(chio_kernel_metrics, avg_batch, 24);
CHIO__AT(chio_kernel_metrics, ring_depth, 32);
CHIO__AT(chio_kernel_metrics, ring_high_water, 40);
CHIO__AT(chio_kernel_metrics, ring_capacity, 48);
CHIO__AT(chio_kernel_metrics, blocking_episodes, 56);
CHIO__AT(chio_kernel_metrics, wal_syncs, 64);
CHIO__AT(chio_kernel_metrics, checkpoints, 72);
CHIO__AT(chio_kernel_metrics, write_errors, 80);
CHIO__AT(chio_kernel_metrics, last_seq, 88);
CHIO__AT(chio_kernel_metrics, last_checkpoint_seq, 96);
CHIO__AT(chio_kernel_metrics, signer_threads_running, 104);
CHIO__AT(chio_kernel_metrics, failed, 108);
CHIO__AT(chio_kernel_metrics, draining, 112);
CHIO__AT(chio_kernel_metrics, reserved, 120);

CHIO__SIZE(chio_tool_server, 80, 8);
CHIO__AT(chio_tool_server, server_id, 0);
CHIO__AT(chio_tool_server, tool_names, 8);
CHIO__AT(chio_tool_server, ntools, 16);
CHIO__AT(chio_tool_server, invoke, 24);
CHIO__AT(chio_tool_server, invoke_stream, 32);
CHIO__AT(chio_tool_server, user, 40);
CHIO__AT(chio_tool_server, flags, 48);
CHIO__AT(chio_tool_server, reserved, 56);

CHIO__SIZE(chio_resource_provider, 64, 8);
CHIO__AT(chio_resource_provider, provider_id, 0);
CHIO__AT(chio_resource_provider, list, 8);
CHIO__AT(chio_resource_provider, read, 16);
CHIO__AT(chio_resource_provider, user, 24);
CHIO__AT(chio_resource_provider, reserved, 32);

CHIO__SIZE(chio_prompt_provider, 64, 8);
CHIO__AT(chio_prompt_provider, provider_id, 0);
CHIO__AT(chio_prompt_provider, list, 8);
CHIO__AT(chio_prompt_provider, get, 16);
CHIO__AT(chio_prompt_provider, user, 24);
CHIO__AT(chio_prompt_provider, reserved, 32);

CHIO__SIZE(chio_guard_input, 64, 8);
CHIO__AT(chio_guard_input, session_id, 0);
CHIO__AT(chio_guard_input, request_id, 8);
CHIO__AT(chio_guard_input, agent_id, 16);
CHIO__AT(chio_guard_input, capability_id, 24);
CHIO__AT(chio_guard_input, server_id, 32);
CHIO__AT(chio_guard_input, tool_name, 40);
CHIO__AT(chio_guard_input, arguments_json, 48);
CHIO__AT(chio_guard_input, arguments_len, 56);

CHIO__SIZE(chio_call, 88, 8);
CHIO__AT(chio_call, session_id, 0);
CHIO__AT(chio_call, request_id, 8);
CHIO__AT(chio_call, capability_id, 16);
CHIO__AT(chio_call, server_id, 24);
CHIO__AT(chio_call, tool_name, 32);
CHIO__AT(chio_call, arguments_json, 40);
CHIO__AT(chio_call, arguments_len, 48);
CHIO__AT(chio_call, reserved, 56);

CHIO__SIZE(chio_response, 96, 8);
CHIO__AT(chio_response, verdict, 0);
CHIO__AT(chio_response, code, 4);
CHIO__AT(chio_response, reason, 8);
CHIO__AT(chio_response, output, 16);
CHIO__AT(chio_response, output_len, 24);
CHIO__AT(chio_response, request_id, 32);
CHIO__AT(chio_response, receipt, 40);
CHIO__AT(chio_response, children, 48);
CHIO__AT(chio_response, nchildren, 56);
CHIO__AT(chio_response, reserved, 64);

CHIO__SIZE(chio_call_options, 48, 8);
CHIO__AT(chio_call_options, cancel, 0);
CHIO__AT(chio_call_options, timeout_ms, 8);
CHIO__AT(chio_call_options, flags, 16);
CHIO__AT(chio_call_options, provider, 24);
CHIO__AT(chio_call_options, reserved, 32);

CHIO__SIZE(chio_span_attr, 16, 8);
CHIO__AT(chio_span_attr, key, 0);
CHIO__AT(chio_span_attr, value, 8);

CHIO__SIZE(chio_span, 112, 8);
CHIO__AT(chio_span, name, 0);
CHIO__AT(chio_span, trace_id, 8);
CHIO__AT(chio_span, span_id, 41);
CHIO__AT(chio_span, start_unix_nano, 64);
CHIO__AT(chio_span, end_unix_nano, 72);
CHIO__AT(chio_span, status, 80);
CHIO__AT(chio_span, status_message, 88);
CHIO__AT(chio_span, attrs, 96);
CHIO__AT(chio_span, nattrs, 104);
#endif
