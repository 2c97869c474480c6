/* SPDX-License-Identifier: Apache-2.0 */
/*
 * chio/merkle.h - chio's receipt Merkle tree (spec/wire-format.md s.5).
 *
 * Leaves are the canonical bytes of signed receipts. leaf hash =
 * SHA-256(0x00 || leaf); node hash = SHA-256(0x01 || left || right); a node
 * without a right sibling at the end of a level is carried up unchanged.
 * All functions are pure and safe from any thread. Ownership: every pointer
 * argument is borrowed for the call; outputs (@out, @root, @proof) are the
 * caller's memory.
 */
#ifndef CHIO_MERKLE_H
#define CHIO_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#include "chio/error.h"
#include "chio/export.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CHIO_MERKLE_MAX_PATH 64

/* SHA-256(0x00 || leaf). @leaf may be NULL when @len is 0. Returns 0,
 * CHIO_EINVAL (@out NULL, @leaf NULL with @len > 0) or CHIO_ECRYPTO. */
CHIO_EXTERN int chio_merkle_leaf_hash(const void *leaf, size_t len, uint8_t out[32]);

/* SHA-256(0x01 || left || right). Returns 0, CHIO_EINVAL (any argument
 * NULL) or CHIO_ECRYPTO. */
CHIO_EXTERN int chio_merkle_node_hash(const uint8_t left[32], const uint8_t right[32],
                                      uint8_t out[32]);

/*
 * chio_merkle_root - root over @n leaf hashes (32 bytes each, back to back).
 * Returns: 0, CHIO_EINVAL (n == 0, an argument NULL, or n * 32 bytes more
 * than fit a size_t), CHIO_ENOMEM, CHIO_ECRYPTO.
 * Ownership: @leaf_hashes is borrowed.
 */
CHIO_EXTERN int chio_merkle_root(const uint8_t *leaf_hashes, size_t n, uint8_t root[32]);

/* An inclusion proof; caller-allocated, layout frozen (abi.h rule 5). The audit
 * path lists sibling hashes from the leaf level upward; levels where the
 * node was carried up contribute nothing. */
typedef struct chio_merkle_proof {
    uint64_t tree_size;
    uint64_t leaf_index;
    size_t path_len;
    uint8_t path[CHIO_MERKLE_MAX_PATH][32];
} chio_merkle_proof;

/*
 * chio_merkle_prove - the inclusion proof of leaf @index among @n leaves.
 * Returns: 0, CHIO_EINVAL (index >= n, @leaf_hashes or @proof NULL, or
 * n * 32 bytes more than fit a size_t), CHIO_ENOMEM, CHIO_ECRYPTO.
 */
CHIO_EXTERN int chio_merkle_prove(const uint8_t *leaf_hashes, size_t n, size_t index,
                                  chio_merkle_proof *proof);

/*
 * chio_merkle_verify - recompute the root from @leaf_hash and @proof.
 * Returns: 0 when it equals @root; CHIO_EPROOF when it does not, or when
 * the proof's shape does not fit its tree_size and leaf_index (a path_len
 * over CHIO_MERKLE_MAX_PATH, a leaf_index not below tree_size, tree_size 0);
 * CHIO_EINVAL (an argument NULL), CHIO_ECRYPTO.
 */
CHIO_EXTERN int chio_merkle_verify(const uint8_t leaf_hash[32], const chio_merkle_proof *proof,
                                   const uint8_t root[32]);

#ifdef __cplusplus
}
#endif

#endif /* CHIO_MERKLE_H */
