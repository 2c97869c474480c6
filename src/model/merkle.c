/* SPDX-License-Identifier: Apache-2.0 */
/*
 * model/merkle.c - the receipt Merkle tree: leaf and node hashing with
 * domain-separation prefixes, roots, inclusion proofs and their check.
 * Levels are computed bottom-up in one scratch array; an odd last node is
 * carried to the next level unchanged. Hashes through core/sha256.c
 * (a reused per-thread digest context); no state.
 */
#include <stdlib.h>
#include <string.h>

#include "chio/crypto.h"
#include "chio/merkle.h"
#include "internal.h"

static int hash2(uint8_t prefix, const void *a, size_t alen, const void *b, size_t blen,
                 uint8_t out[32])
{
    chio__bytes parts[3] = {{&prefix, 1}, {a, alen}, {b, blen}};

    return chio__sha256_parts(parts, 3, out);
}

int chio_merkle_leaf_hash(const void *leaf, size_t len, uint8_t out[32])
{
    if ((leaf == NULL && len != 0) || out == NULL)
        return CHIO_EINVAL;
    return hash2(0x00, leaf, len, NULL, 0, out);
}

int chio_merkle_node_hash(const uint8_t left[32], const uint8_t right[32], uint8_t out[32])
{
    if (left == NULL || right == NULL || out == NULL)
        return CHIO_EINVAL;
    return hash2(0x01, left, 32, right, 32, out);
}

/* Replace level[0..n) by the next level in place; returns its size. */
static int next_level(uint8_t *level, size_t n, size_t *next)
{
    size_t i;
    int rc;

    for (i = 0; i + 1 < n; i += 2) {
        rc = chio_merkle_node_hash(level + 32 * i, level + 32 * (i + 1), level + 32 * (i / 2));
        if (rc != 0)
            return rc;
    }
    if (n % 2 == 1)
        memmove(level + 32 * (n / 2), level + 32 * (n - 1), 32); /* carried up */
    *next = (n + 1) / 2;
    return 0;
}

int chio_merkle_root(const uint8_t *leaf_hashes, size_t n, uint8_t root[32])
{
    uint8_t *level;
    int rc = 0;

    if (leaf_hashes == NULL || n == 0 || root == NULL || n > SIZE_MAX / 32)
        return CHIO_EINVAL;
    level = malloc(n * 32);
    if (level == NULL)
        return CHIO_ENOMEM;
    memcpy(level, leaf_hashes, n * 32);
    while (n > 1 && rc == 0)
        rc = next_level(level, n, &n);
    if (rc == 0)
        memcpy(root, level, 32);
    free(level);
    return rc;
}

int chio_merkle_prove(const uint8_t *leaf_hashes, size_t n, size_t index, chio_merkle_proof *proof)
{
    uint8_t *level;
    size_t idx = index;
    int rc = 0;

    if (leaf_hashes == NULL || proof == NULL || index >= n || n > SIZE_MAX / 32)
        return CHIO_EINVAL;
    level = malloc(n * 32);
    if (level == NULL)
        return CHIO_ENOMEM;
    memcpy(level, leaf_hashes, n * 32);
    memset(proof, 0, sizeof(*proof));
    proof->tree_size = n;
    proof->leaf_index = index;
    while (n > 1 && rc == 0) {
        size_t sib = idx ^ 1;
        if (sib < n)
            memcpy(proof->path[proof->path_len++], level + 32 * sib, 32);
        rc = next_level(level, n, &n);
        idx /= 2;
    }
    free(level);
    return rc;
}

int chio_merkle_verify(const uint8_t leaf_hash[32], const chio_merkle_proof *proof,
                       const uint8_t root[32])
{
    uint8_t h[32];
    uint64_t idx, size;
    size_t k = 0;
    int rc;

    if (leaf_hash == NULL || proof == NULL || root == NULL)
        return CHIO_EINVAL;
    if (proof->tree_size == 0 || proof->leaf_index >= proof->tree_size ||
        proof->path_len > CHIO_MERKLE_MAX_PATH)
        return CHIO_EPROOF;
    memcpy(h, leaf_hash, 32);
    idx = proof->leaf_index;
    size = proof->tree_size;
    while (size > 1) {
        if ((idx ^ 1) < size) {
            if (k == proof->path_len)
                return CHIO_EPROOF; /* path too short for this tree */
            rc = (idx & 1) ? chio_merkle_node_hash(proof->path[k], h, h)
                           : chio_merkle_node_hash(h, proof->path[k], h);
            if (rc != 0)
                return rc;
            k++;
        }
        idx /= 2;
        size = size / 2 + (size & 1); /* ceil(size / 2); (size + 1) / 2 wraps at UINT64_MAX */
    }
    if (k != proof->path_len)
        return CHIO_EPROOF; /* extra path entries */
    return memcmp(h, root, 32) == 0 ? 0 : CHIO_EPROOF;
}
