/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/model/test_merkle.c - Merkle roots and inclusion proofs against an
 * independent recursive reference (RFC 6962's split at the largest power of
 * two, which yields the same tree as carrying odd nodes up), for every size
 * from 1 to 64 and every leaf, plus tampered proofs.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include <openssl/sha.h>

#include "chio/merkle.h"

static void ref_leaf(const void *d, size_t n, uint8_t out[32])
{
    uint8_t buf[256];
    buf[0] = 0;
    memcpy(buf + 1, d, n);
    SHA256(buf, n + 1, out);
}

static void ref_node(const uint8_t l[32], const uint8_t r[32], uint8_t out[32])
{
    uint8_t buf[65];
    buf[0] = 1;
    memcpy(buf + 1, l, 32);
    memcpy(buf + 33, r, 32);
    SHA256(buf, 65, out);
}

/* Merkle tree hash of leaves[lo, hi). */
static void ref_root(const uint8_t (*leaves)[32], size_t lo, size_t hi, uint8_t out[32])
{
    size_t k = 1;
    uint8_t l[32], r[32];

    if (hi - lo == 1) {
        memcpy(out, leaves[lo], 32);
        return;
    }
    while (k * 2 < hi - lo)
        k *= 2;
    ref_root(leaves, lo, lo + k, l);
    ref_root(leaves, lo + k, hi, r);
    ref_node(l, r, out);
}

static void make_leaves(uint8_t (*leaves)[32], size_t n)
{
    char text[32];
    size_t i;

    for (i = 0; i < n; i++) {
        int len = snprintf(text, sizeof(text), "{\"receipt\":%zu}", i);
        uint8_t mine[32];
        ref_leaf(text, (size_t)len, leaves[i]);
        cr_assert_eq(chio_merkle_leaf_hash(text, (size_t)len, mine), 0);
        cr_assert_eq(memcmp(mine, leaves[i], 32), 0);
    }
}

Test(merkle, roots_and_proofs_for_sizes_1_to_64)
{
    static uint8_t leaves[64][32];
    size_t n, i, checked = 0;

    make_leaves(leaves, 64);
    for (n = 1; n <= 64; n++) {
        uint8_t want[32], got[32];
        ref_root((const uint8_t(*)[32])leaves, 0, n, want);
        cr_assert_eq(chio_merkle_root(&leaves[0][0], n, got), 0);
        cr_assert_eq(memcmp(want, got, 32), 0, "root differs at size %zu", n);
        for (i = 0; i < n; i++) {
            chio_merkle_proof p;
            cr_assert_eq(chio_merkle_prove(&leaves[0][0], n, i, &p), 0);
            cr_assert_eq(p.tree_size, n);
            cr_assert_eq(p.leaf_index, i);
            cr_assert_eq(chio_merkle_verify(leaves[i], &p, got), 0, "size %zu leaf %zu", n, i);
            checked++;
        }
    }
    cr_expect_eq(checked, 64 * 65 / 2);
}

Test(merkle, tampered_proofs_fail)
{
    static uint8_t leaves[64][32];
    size_t n, i;

    make_leaves(leaves, 64);
    for (n = 2; n <= 64; n++) {
        uint8_t root[32];
        cr_assert_eq(chio_merkle_root(&leaves[0][0], n, root), 0);
        for (i = 0; i < n; i++) {
            chio_merkle_proof p, t;
            size_t k;
            cr_assert_eq(chio_merkle_prove(&leaves[0][0], n, i, &p), 0);
            /* each path entry flipped */
            for (k = 0; k < p.path_len; k++) {
                t = p;
                t.path[k][k % 32] ^= 0x40;
                cr_assert_eq(chio_merkle_verify(leaves[i], &t, root), CHIO_EPROOF);
            }
            /* wrong leaf */
            cr_assert_eq(chio_merkle_verify(leaves[(i + 1) % n], &p, root), CHIO_EPROOF);
            /* wrong index */
            t = p;
            t.leaf_index = (i + 1) % n;
            cr_assert_eq(chio_merkle_verify(leaves[i], &t, root), CHIO_EPROOF);
            /* truncated and extended paths */
            t = p;
            t.path_len--;
            cr_assert_eq(chio_merkle_verify(leaves[i], &t, root), CHIO_EPROOF);
            t = p;
            t.path_len++;
            cr_assert_eq(chio_merkle_verify(leaves[i], &t, root), CHIO_EPROOF);
            /* index outside the tree */
            t = p;
            t.leaf_index = n;
            cr_assert_eq(chio_merkle_verify(leaves[i], &t, root), CHIO_EPROOF);
        }
    }
}

Test(merkle, edge_cases)
{
    uint8_t leaf[32], root[32];
    chio_merkle_proof p;

    memset(leaf, 7, 32);
    cr_expect_eq(chio_merkle_root(leaf, 0, root), CHIO_EINVAL);
    cr_expect_eq(chio_merkle_root(NULL, 1, root), CHIO_EINVAL);
    cr_assert_eq(chio_merkle_root(leaf, 1, root), 0);
    cr_expect_eq(memcmp(root, leaf, 32), 0, "a single leaf is its own root");
    cr_expect_eq(chio_merkle_prove(leaf, 1, 1, &p), CHIO_EINVAL);
    cr_assert_eq(chio_merkle_prove(leaf, 1, 0, &p), 0);
    cr_expect_eq(p.path_len, 0);
    cr_expect_eq(chio_merkle_verify(leaf, &p, root), 0);
    p.tree_size = 0;
    cr_expect_eq(chio_merkle_verify(leaf, &p, root), CHIO_EPROOF);
    p.tree_size = 1;
    p.path_len = CHIO_MERKLE_MAX_PATH + 1;
    cr_expect_eq(chio_merkle_verify(leaf, &p, root), CHIO_EPROOF);
}

/*
 * A tree of UINT64_MAX leaves has 64 levels above the leaves: halving its
 * size as (size + 1) / 2 wrapped to 0 after the first level, so a one-entry
 * path "proved" leaf 0 of it and the true 64-entry path was refused.
 */
Test(merkle, largest_tree_size_walks_every_level)
{
    uint8_t leaf[32], root[32];
    chio_merkle_proof p;
    size_t k;

    memset(leaf, 3, 32);
    memset(&p, 0, sizeof(p));
    p.tree_size = UINT64_MAX;
    p.leaf_index = 0;
    p.path_len = 1;
    memset(p.path[0], 9, 32);
    ref_node(leaf, p.path[0], root);
    cr_expect_eq(chio_merkle_verify(leaf, &p, root), CHIO_EPROOF,
                 "a one-level path must not prove a leaf of a 64-level tree");

    p.path_len = CHIO_MERKLE_MAX_PATH;
    memcpy(root, leaf, 32);
    for (k = 0; k < CHIO_MERKLE_MAX_PATH; k++) {
        memset(p.path[k], (int)(k + 1), 32);
        ref_node(root, p.path[k], root);
    }
    cr_expect_eq(chio_merkle_verify(leaf, &p, root), 0, "leaf 0 of UINT64_MAX leaves: 64 levels");
    p.path_len = CHIO_MERKLE_MAX_PATH - 1;
    cr_expect_eq(chio_merkle_verify(leaf, &p, root), CHIO_EPROOF);
}
