/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/model/test_rev30_merkle.c - review 30's attack review of the Merkle
 * tree, inclusion proofs and checkpoint bodies. It found no hole in these
 * (the one it found, a checkpoint across chain_from, is pinned in
 * tests/cli/test_rev30_checkpoints.c); these pin the attacks it tried that
 * no other test names, so that a later change cannot open one: a leaf
 * posing as an inner node, a duplicated last leaf, a subtree root proved
 * under the full tree's size, signed checkpoint bodies whose fields
 * disagree, number forms and duplicate keys in a body, and proofs too long
 * or with two leaf indexes.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "chio/checkpoint.h"
#include "chio/crypto.h"
#include "chio/merkle.h"

#define SEED07   "0707070707070707070707070707070707070707070707070707070707070707"
#define ROOT_HEX "abababababababababababababababababababababababababababababababab"

static void hex(const uint8_t *b, size_t n, char *out)
{
    size_t i;

    for (i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* Leaf hashes of the texts "r0", "r1", ... */
static void leaves(uint8_t (*out)[32], size_t n)
{
    char text[16];
    size_t i;

    for (i = 0; i < n; i++) {
        int len = snprintf(text, sizeof(text), "r%zu", i);
        cr_assert_eq(chio_merkle_leaf_hash(text, (size_t)len, out[i]), 0);
    }
}

Test(rev30_merkle, a_leaf_holding_two_hashes_is_not_their_node)
{
    uint8_t l[32], r[32], both[64], as_leaf[32], node[32];

    memset(l, 0x11, 32);
    memset(r, 0x22, 32);
    memcpy(both, l, 32);
    memcpy(both + 32, r, 32);
    cr_assert_eq(chio_merkle_leaf_hash(both, 64, as_leaf), 0);
    cr_assert_eq(chio_merkle_node_hash(l, r, node), 0);
    cr_expect_neq(memcmp(as_leaf, node, 32), 0, "leaf and node hashes share a domain");
}

/* The odd last node is carried up, not paired with itself: a list with
 * its last leaf repeated has another root (the CVE-2012-2459 shape). */
Test(rev30_merkle, a_duplicated_last_leaf_changes_the_root)
{
    static uint8_t l[34][32];
    uint8_t a[32], b[32];
    size_t n;

    leaves(l, 33);
    for (n = 1; n <= 33; n++) {
        memcpy(l[n], l[n - 1], 32);
        cr_assert_eq(chio_merkle_root(&l[0][0], n, a), 0);
        cr_assert_eq(chio_merkle_root(&l[0][0], n + 1, b), 0);
        cr_expect_neq(memcmp(a, b, 32), 0, "%zu leaves and the last repeated share a root", n);
    }
}

/* An inner node proved as a leaf of a smaller tree hashes to the same
 * root; the proof's tree_size is what tells them apart, so it must be
 * bound (checkpoint verify-proof compares it with the signed one). */
Test(rev30_merkle, a_subtree_root_does_not_prove_under_the_full_size)
{
    uint8_t l[4][32], root[32], inner[32];
    chio_merkle_proof p;

    leaves(l, 4);
    cr_assert_eq(chio_merkle_root(&l[0][0], 4, root), 0);
    cr_assert_eq(chio_merkle_node_hash(l[0], l[1], inner), 0);
    memset(&p, 0, sizeof(p));
    p.tree_size = 4;
    p.leaf_index = 0;
    p.path_len = 1;
    cr_assert_eq(chio_merkle_node_hash(l[2], l[3], p.path[0]), 0);
    cr_expect_eq(chio_merkle_verify(inner, &p, root), CHIO_EPROOF);
    p.tree_size = 2;
    cr_expect_eq(chio_merkle_verify(inner, &p, root), 0, "tree_size is part of the claim");
    p.leaf_index = 2;
    p.tree_size = 1;
    cr_expect_eq(chio_merkle_verify(inner, &p, root), CHIO_EPROOF);
}

/* A body signed by hand, in canonical key order: @seqs (the three
 * *_seq members), then the fixed ones, then tree_size @size; the stored
 * checkpoint into @out. */
static void signed_body(const char *seqs, const char *size, char *out, size_t cap)
{
    chio_keypair *kp = NULL;
    char body[1024], sighex[129];
    uint8_t sig[64];
    int len;

    cr_assert_eq(chio_keypair_from_seed_hex(SEED07, 64, &kp, NULL), 0);
    len =
        snprintf(body, sizeof(body),
                 "{%s,\"issued_at\":1700000000,\"kernel_key\":\"%s\",\"merkle_root\":\"0x" ROOT_HEX
                 "\",\"schema\":\"" CHIO_CHECKPOINT_SCHEMA "\",\"tree_size\":%s}",
                 seqs, chio_keypair_public_hex(kp), size);
    cr_assert_lt((size_t)len, sizeof(body));
    cr_assert_eq(chio_keypair_sign(kp, body, (size_t)len, sig), 0);
    hex(sig, 64, sighex);
    cr_assert_lt((size_t)snprintf(out, cap, "{\"body\":%s,\"signature\":\"%s\"}", body, sighex),
                 cap);
    chio_keypair_free(kp);
}

static int parse_and_verify(const char *json)
{
    chio_checkpoint *cp = NULL;
    int rc = chio_checkpoint_parse(json, strlen(json), &cp, NULL);

    if (rc == 0)
        rc = chio_checkpoint_verify(cp);
    chio_checkpoint_free(cp);
    return rc;
}

/* The key signed these bodies, but their fields disagree: the verifier,
 * not only the signer, refuses them. */
Test(rev30_merkle, a_signed_body_whose_fields_disagree_is_corrupt)
{
    static const char *const bad[][2] = {
        {"\"batch_end_seq\":5,\"batch_start_seq\":1,\"checkpoint_seq\":1", "4"},
        {"\"batch_end_seq\":5,\"batch_start_seq\":1,\"checkpoint_seq\":1", "6"},
        {"\"batch_end_seq\":5,\"batch_start_seq\":0,\"checkpoint_seq\":1", "6"},
        {"\"batch_end_seq\":5,\"batch_start_seq\":1,\"checkpoint_seq\":0", "5"},
        {"\"batch_end_seq\":1,\"batch_start_seq\":5,\"checkpoint_seq\":1", "0"},
        {"\"batch_end_seq\":18446744073709551615,\"batch_start_seq\":1,\"checkpoint_seq\":1", "0"},
    };
    char json[2048];
    size_t i;

    signed_body("\"batch_end_seq\":5,\"batch_start_seq\":1,\"checkpoint_seq\":1", "5", json,
                sizeof(json));
    cr_assert_eq(parse_and_verify(json), 0, "%s", json);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        signed_body(bad[i][0], bad[i][1], json, sizeof(json));
        cr_expect_eq(parse_and_verify(json), CHIO_ECORRUPT, "%s", json);
    }
}

/* Only one text of a number is an integer here, and a key once: 1.0, 1e0,
 * "1", -1 and a repeated key are refused, not read as the signed 1. */
Test(rev30_merkle, number_forms_and_repeated_keys_in_a_body_are_refused)
{
    static const char *const forms[] = {"1.0", "1e0", "\"1\"", "-1", "true"};
    char seqs[256], json[2048];
    size_t i;

    for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        snprintf(seqs, sizeof(seqs),
                 "\"batch_end_seq\":5,\"batch_start_seq\":1,\"checkpoint_seq\":%s", forms[i]);
        signed_body(seqs, "5", json, sizeof(json));
        cr_expect_eq(parse_and_verify(json), CHIO_EFORMAT, "%s", json);
    }
    signed_body(
        "\"batch_end_seq\":5,\"batch_start_seq\":1,\"checkpoint_seq\":1,\"checkpoint_seq\":2", "5",
        json, sizeof(json));
    cr_expect_eq(parse_and_verify(json), CHIO_EJSON_DUPKEY, "%s", json);
    signed_body("\"batch_end_seq\":5,\"batch_start_seq\":1,\"checkpoint_seq\":1", "5.0", json,
                sizeof(json));
    cr_expect_eq(parse_and_verify(json), CHIO_EFORMAT, "%s", json);
}

static int parse_proof(const char *json)
{
    chio_inclusion_proof p;

    return chio_inclusion_proof_parse(json, strlen(json), &p, NULL);
}

Test(rev30_merkle, proofs_too_long_or_with_two_leaf_indexes_are_refused)
{
    static char json[8192];
    size_t off, i;

    off = (size_t)snprintf(json, sizeof(json),
                           "{\"checkpoint_seq\":1,\"leaf_index\":0,\"merkle_root\":\"0x" ROOT_HEX
                           "\",\"receipt_seq\":1,\"proof\":{\"leaf_index\":0,\"tree_size\":2,"
                           "\"audit_path\":[");
    for (i = 0; i <= CHIO_MERKLE_MAX_PATH; i++)
        off +=
            (size_t)snprintf(json + off, sizeof(json) - off, "%s\"0x" ROOT_HEX "\"", i ? "," : "");
    snprintf(json + off, sizeof(json) - off, "]}}");
    cr_expect_eq(parse_proof(json), CHIO_ERANGE);
    cr_expect_eq(parse_proof("{\"checkpoint_seq\":1,\"leaf_index\":1,\"merkle_root\":\"0x" ROOT_HEX
                             "\",\"receipt_seq\":1,\"proof\":{\"leaf_index\":0,\"tree_size\":2,"
                             "\"audit_path\":[]}}"),
                 CHIO_EFORMAT);
    cr_expect_neq(parse_proof("[]"), 0);
    cr_expect_neq(parse_proof("{\"proof\":[]}"), 0);
}
