/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/model/test_rev44_merkle.c - review 44's attack review of the Merkle
 * tree, inclusion proofs and checkpoint bodies. It found no hole; these pin
 * the attacks it tried that no earlier test names (tests/model/
 * test_rev30_merkle.c and test_rev43_wire.c hold the others): a genuine
 * audit path moved to another leaf_index, cut short or given one entry
 * more, for every leaf of trees of 1 to 70 leaves; a body key written with
 * an escape (as a second copy of a key, or alone under a signature over
 * the escaped bytes); and number forms 1E0 and 2^64.
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

/* A proof answers for one position only: moved to any other leaf_index
 * (also past the tree), one sibling fewer or one more, it fails. */
Test(rev44_merkle, a_proof_holds_only_at_its_own_index_and_length)
{
    static uint8_t l[72][32];
    uint8_t root[32];
    chio_merkle_proof p, q;
    size_t n, i, j;
    char t[16];

    for (i = 0; i < 72; i++) {
        int len = snprintf(t, sizeof(t), "r%zu", i);
        cr_assert_eq(chio_merkle_leaf_hash(t, (size_t)len, l[i]), 0);
    }
    for (n = 1; n <= 70; n++) {
        cr_assert_eq(chio_merkle_root(&l[0][0], n, root), 0);
        for (i = 0; i < n; i++) {
            cr_assert_eq(chio_merkle_prove(&l[0][0], n, i, &p), 0);
            cr_assert_eq(chio_merkle_verify(l[i], &p, root), 0, "n=%zu i=%zu", n, i);
            for (j = 0; j < n + 2; j++) {
                if (j == i)
                    continue;
                q = p;
                q.leaf_index = j;
                cr_assert_eq(chio_merkle_verify(l[i], &q, root), CHIO_EPROOF,
                             "n=%zu: leaf %zu's proof holds at %zu", n, i, j);
            }
            if (p.path_len > 0) {
                q = p;
                q.path_len--;
                cr_assert_eq(chio_merkle_verify(l[i], &q, root), CHIO_EPROOF, "n=%zu i=%zu", n, i);
            }
            q = p;
            memcpy(q.path[q.path_len++], root, 32);
            cr_assert_eq(chio_merkle_verify(l[i], &q, root), CHIO_EPROOF, "n=%zu i=%zu", n, i);
        }
    }
}

/* @fmt (one %s: the kernel key) signed as written, then parsed and verified. */
static int signed_as_written(const char *fmt)
{
    chio_keypair *kp = NULL;
    chio_checkpoint *cp = NULL;
    char body[2048], json[4096], sighex[129];
    uint8_t sig[64];
    int len, rc;

    cr_assert_eq(chio_keypair_from_seed_hex(SEED07, 64, &kp, NULL), 0);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    len = snprintf(body, sizeof(body), fmt, chio_keypair_public_hex(kp));
#pragma GCC diagnostic pop
    cr_assert_lt((size_t)len, sizeof(body));
    cr_assert_eq(chio_keypair_sign(kp, body, (size_t)len, sig), 0);
    hex(sig, 64, sighex);
    snprintf(json, sizeof(json), "{\"body\":%s,\"signature\":\"%s\"}", body, sighex);
    chio_keypair_free(kp);
    rc = chio_checkpoint_parse(json, strlen(json), &cp, NULL);
    if (rc == 0)
        rc = chio_checkpoint_verify(cp);
    chio_checkpoint_free(cp);
    return rc;
}

#define HEAD "{\"batch_end_seq\":5,\"batch_start_seq\":1,"
#define TAIL                                                                       \
    "\"issued_at\":1700000000,\"kernel_key\":\"%s\",\"merkle_root\":\"0x" ROOT_HEX \
    "\",\"schema\":\"" CHIO_CHECKPOINT_SCHEMA "\",\"tree_size\":5}"

/* A key is compared decoded: "checkpoint\u005fseq" is a second
 * checkpoint_seq, and alone it is read as checkpoint_seq and signed
 * canonically (chio's typed body, too), so a signature over the escaped
 * bytes fails. 1E0 is a float, 2^64 no u64. */
Test(rev44_merkle, escaped_keys_and_number_forms_in_a_body_are_not_read_as_signed)
{
    cr_assert_eq(signed_as_written(HEAD "\"checkpoint_seq\":1," TAIL), 0);
    cr_expect_eq(signed_as_written(HEAD "\"checkpoint_seq\":1,\"checkpoint\\u005fseq\":2," TAIL),
                 CHIO_EJSON_DUPKEY);
    cr_expect_eq(signed_as_written(HEAD "\"checkpoint\\u005fseq\":1," TAIL), CHIO_EBADSIG);
    cr_expect_eq(signed_as_written(HEAD "\"checkpoint_seq\":1E0," TAIL), CHIO_EFORMAT);
    cr_expect_eq(signed_as_written(HEAD "\"checkpoint_seq\":18446744073709551616," TAIL),
                 CHIO_EFORMAT);
}
