/* SPDX-License-Identifier: Apache-2.0 */
/*
 * chio/checkpoint.h - signed Merkle checkpoints over the receipt log and
 * inclusion proofs (spec/wire-format.md section 5).
 *
 * A checkpoint is {"body": <chio.checkpoint_statement.v1>, "signature": hex}
 * where the signature is Ed25519 over the canonical body by the body's
 * kernel_key. Bodies chain through previous_checkpoint_sha256, the
 * sha256_hex of the previous checkpoint's canonical body.
 */
#ifndef CHIO_CHECKPOINT_H
#define CHIO_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "chio/error.h"
#include "chio/export.h"
#include "chio/merkle.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CHIO_CHECKPOINT_SCHEMA "chio.checkpoint_statement.v1"

typedef struct chio_checkpoint chio_checkpoint;

/*
 * chio_checkpoint_parse - parse a stored checkpoint {"body":..,"signature":..}
 * (nothing else beside them: the envelope is not signed).
 * Returns: 0, chio_json_parse() codes (CHIO_EINVAL for a NULL @out, or a
 * NULL @json with @len > 0), CHIO_EFORMAT, CHIO_ESCHEMA, CHIO_EKEY,
 * CHIO_ESIGFORMAT, CHIO_ENOMEM; details in @err (optional). *@out is NULL
 * on failure. Ownership: @json borrowed for the call; free *out with
 * chio_checkpoint_free().
 */
CHIO_EXTERN int chio_checkpoint_parse(const char *json, size_t len, chio_checkpoint **out,
                                      chio_error *err);
/* chio_checkpoint_free - free a checkpoint; NULL is ignored. Ownership:
 * takes @cp; every pointer read from it becomes invalid. */
CHIO_EXTERN void chio_checkpoint_free(chio_checkpoint *cp);

/*
 * Readers. Each returns 0 (numbers) or NULL when @cp is NULL; every pointer
 * returned is owned by @cp and valid until chio_checkpoint_free().
 * Thread-safety: any thread (a checkpoint is immutable).
 */
/* Body fields. */
CHIO_EXTERN uint64_t chio_checkpoint_seq(const chio_checkpoint *cp);
CHIO_EXTERN uint64_t chio_checkpoint_batch_start(const chio_checkpoint *cp);
CHIO_EXTERN uint64_t chio_checkpoint_batch_end(const chio_checkpoint *cp);
CHIO_EXTERN uint64_t chio_checkpoint_tree_size(const chio_checkpoint *cp);
CHIO_EXTERN uint64_t chio_checkpoint_issued_at(const chio_checkpoint *cp);
/* 32 bytes, owned by @cp. */
CHIO_EXTERN const uint8_t *chio_checkpoint_merkle_root(const chio_checkpoint *cp);
CHIO_EXTERN const char *chio_checkpoint_kernel_key_hex(const chio_checkpoint *cp);
/* NULL for the first checkpoint of a chain. */
CHIO_EXTERN const char *chio_checkpoint_previous_sha256(const chio_checkpoint *cp);
/* sha256_hex of the canonical body: what the next checkpoint chains to. */
CHIO_EXTERN const char *chio_checkpoint_body_sha256(const chio_checkpoint *cp);
/* Canonical JSON of the whole checkpoint, NUL-terminated; @len optional. */
CHIO_EXTERN const char *chio_checkpoint_json(const chio_checkpoint *cp, size_t *len);

/*
 * chio_checkpoint_verify - check the signature (by the body's kernel_key)
 * and the body's internal consistency (tree_size = end - start + 1).
 * Returns 0, CHIO_EBADSIG, CHIO_ECORRUPT (inconsistent body), CHIO_EINVAL
 * (@cp NULL). Ownership: @cp borrowed. Thread-safety: any thread.
 */
CHIO_EXTERN int chio_checkpoint_verify(const chio_checkpoint *cp);

/*
 * chio_checkpoint_sign - build and sign a checkpoint body (used by the
 * kernel; exposed for tools that rebuild logs).
 * @merkle_root: 32 bytes. @previous_sha256: NULL for the first checkpoint,
 * else 64 lowercase hex digits (chio_checkpoint_body_sha256() of the
 * previous one).
 * Returns: 0; CHIO_EINVAL (@kp, @merkle_root or @out NULL, a sequence
 * number 0, @batch_end_seq before @batch_start_seq, @previous_sha256 not
 * 64 lowercase hex digits); CHIO_ENOMEM; CHIO_ECRYPTO. *@out is NULL on
 * failure; details in @err (optional).
 * Ownership: every argument borrowed; caller frees *out with
 * chio_checkpoint_free(). Thread-safety: any thread.
 */
struct chio_keypair;
CHIO_EXTERN int chio_checkpoint_sign(const struct chio_keypair *kp, uint64_t checkpoint_seq,
                                     uint64_t batch_start_seq, uint64_t batch_end_seq,
                                     const uint8_t merkle_root[32], uint64_t issued_at,
                                     const char *previous_sha256, chio_checkpoint **out,
                                     chio_error *err);

/* An inclusion proof of one receipt in one checkpoint (spec's JSON shape:
 * {"checkpoint_seq","receipt_seq","leaf_index","merkle_root",
 *  "proof":{"tree_size","leaf_index","audit_path":["0x..",..]}}).
 * Layout frozen (abi.h rule 5). */
typedef struct chio_inclusion_proof {
    uint64_t checkpoint_seq;
    uint64_t receipt_seq;
    uint8_t merkle_root[32];
    chio_merkle_proof proof; /* tree_size, leaf_index, audit path */
} chio_inclusion_proof;

/* chio_inclusion_proof_json - render @p as canonical JSON (NUL-terminated;
 * @len optional). Returns 0, CHIO_EINVAL (@p or @out NULL, or a path_len
 * over CHIO_MERKLE_MAX_PATH), CHIO_ENOMEM. Ownership: @p borrowed; caller
 * frees *out with chio_free(). */
CHIO_EXTERN int chio_inclusion_proof_json(const chio_inclusion_proof *p, char **out, size_t *len);

/*
 * chio_inclusion_proof_parse - read a proof; the two leaf_index fields must
 * agree. Returns 0, chio_json_parse() codes (CHIO_EINVAL for a NULL @out,
 * or a NULL @json with @len > 0), CHIO_EFORMAT, CHIO_ERANGE (audit path
 * longer than CHIO_MERKLE_MAX_PATH); details in @err (optional).
 * Ownership: @json borrowed; @out caller-allocated, written on success.
 */
CHIO_EXTERN int chio_inclusion_proof_parse(const char *json, size_t len, chio_inclusion_proof *out,
                                           chio_error *err);

/*
 * chio_inclusion_proof_verify - does @receipt_json (its canonical bytes are
 * the leaf) hash up to the proof's merkle_root? Returns 0 or CHIO_EPROOF
 * (also for a path_len over CHIO_MERKLE_MAX_PATH), chio_json_parse() codes
 * when the receipt is not JSON, CHIO_EINVAL (@p or @receipt_json NULL).
 * Ownership: both borrowed.
 * The proof's merkle_root, tree_size and leaf_index are its own claim (a
 * receipt is the root of a tree of itself): 0 means "in the log" only once
 * the caller has checked that a checkpoint it trusts (chio_checkpoint_verify
 * and its kernel_key) has this checkpoint_seq, root and tree_size, and that
 * its batch_start_seq + leaf_index is receipt_seq, as `chio checkpoint
 * verify-proof` does. The leaf is @receipt_json's canonical bytes as
 * written, with no receipt normalisation: give chio_receipt_json() of a
 * parsed receipt (chio's leaf) for a receipt not in its stored form.
 */
CHIO_EXTERN int chio_inclusion_proof_verify(const chio_inclusion_proof *p, const char *receipt_json,
                                            size_t len);

#ifdef __cplusplus
}
#endif

#endif /* CHIO_CHECKPOINT_H */
