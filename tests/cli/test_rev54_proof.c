/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/cli/test_rev54_proof.c - review 54 (wire review 2, F1 and F2) of
 * `chio checkpoint verify-proof`:
 *
 *  - F1: it hashed a --receipt as written, while `receipt verify` and chio
 *    read it normalised (kernel_key in uppercase or with 0x, the signature
 *    in uppercase, an empty actor_chain, "tenant_id": null). Such a receipt
 *    verified and then failed its inclusion proof. The leaf is now the
 *    receipt's canonical bytes as the library reads it, and text that is no
 *    receipt is refused (exit 2).
 *  - F2: a checkpoint whose signature verifies over an inconsistent body
 *    (tree_size not end - start + 1, start after end, start 0) was reported
 *    as "its signature does not verify"; stderr now names the body check.
 *
 * Real kernel, real RocksDB, the real CLI.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chio/checkpoint.h"
#include "common/testutil.h"
#include "kernel/kernelutil.h"

#define BATCH 4

static char *dir, *db, *proof;

/* Receipts 1..4 and checkpoint 1 over them; the proof of receipt 2. */
static void setup(void)
{
    const char *argv[] = {"checkpoint", "prove", "--receipt-db", NULL, "--seq", "2", NULL};
    chio_kernel_config cfg;
    chio_kernel *k;
    cli_result r;

    dir = testutil_tmpdir();
    cr_assert_geq(asprintf(&db, "%s/log", dir), 0);
    kt_config(&cfg, db);
    cfg.checkpoint_batch_size = BATCH;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    k = kt_kernel(&cfg);
    kt_sign_range(k, 1, BATCH);
    chio_kernel_free(k);
    argv[3] = db;
    r = testutil_run_cli(argv, NULL, 0);
    cr_assert_eq(r.status, 0, "%s %s", r.out, r.err);
    cr_assert_geq(asprintf(&proof, "%s/proof.json", dir), 0);
    cr_assert_eq(testutil_write_file(proof, r.out, r.out_len, 0600), 0);
    testutil_cli_free(&r);
}

static void teardown(void)
{
    testutil_rmrf(dir);
    free(dir);
    free(db);
    free(proof);
}

TestSuite(rev54_proof, .init = setup, .fini = teardown);

/* @text written to @dir/@name; the caller frees the path. */
static char *put(const char *name, const char *text)
{
    char *path;

    cr_assert_geq(asprintf(&path, "%s/%s", dir, name), 0);
    cr_assert_eq(testutil_write_file(path, text, strlen(text), 0600), 0);
    return path;
}

/* `checkpoint verify-proof` of the proof with --receipt @receipt and
 * --checkpoint @cp (NULL: the store's). */
static cli_result verify_proof(const char *receipt, const char *cp)
{
    const char *argv[] = {"checkpoint", "verify-proof", "--receipt", receipt, "--trusted-key",
                          TEST_PUB,     "--receipt-db", db,          proof,   NULL,
                          NULL};

    if (cp != NULL) {
        argv[6] = "--checkpoint";
        argv[7] = cp;
    }
    return testutil_run_cli(argv, NULL, 0);
}

/* @stored with the string value of member @key rewritten by @how
 * ('U' uppercase, 'x' a 0x prefix); malloc'd. */
static char *respell(const char *stored, const char *key, char how)
{
    char pat[64], *out;
    const char *at;
    size_t pre, i;

    snprintf(pat, sizeof(pat), "\"%s\":\"", key);
    at = strstr(stored, pat);
    cr_assert_not_null(at, "%s", key);
    pre = (size_t)(at - stored) + strlen(pat);
    cr_assert_geq(
        asprintf(&out, "%.*s%s%s", (int)pre, stored, how == 'x' ? "0x" : "", stored + pre), 0);
    for (i = pre; how == 'U' && out[i] != '"'; i++)
        if (out[i] >= 'a' && out[i] <= 'f')
            out[i] = (char)(out[i] - 'a' + 'A');
    return out;
}

/* @stored with @member ("key":value,) put first; it must not be there. */
static char *with_member(const char *stored, const char *member)
{
    char *out;

    cr_assert_null(strstr(stored, member), "%s", member);
    cr_assert_geq(asprintf(&out, "{%s,%s", member, stored + 1), 0);
    return out;
}

Test(rev54_proof, a_receipt_verify_accepts_proves_in_each_normalised_spelling)
{
    const char *rv[] = {"receipt", "verify", "--trusted-key", TEST_PUB, NULL, NULL};
    size_t len, i;
    char *stored = testutil_stored(db, 0, 2, &len);
    char *forms[5], *path;
    cli_result r;

    forms[0] = respell(stored, "kernel_key", 'U');
    forms[1] = respell(stored, "kernel_key", 'x');
    forms[2] = respell(stored, "signature", 'U');
    forms[3] = with_member(stored, "\"actor_chain\":[]");
    forms[4] = with_member(stored, "\"tenant_id\":null");
    for (i = 0; i < 5; i++) {
        cr_assert_str_neq(forms[i], stored);
        path = put("form.json", forms[i]);
        rv[4] = path;
        r = testutil_run_cli(rv, NULL, 0);
        cr_assert_eq(r.status, 0, "form %zu: receipt verify: %s %s", i, r.out, r.err);
        testutil_cli_free(&r);
        r = verify_proof(path, NULL);
        cr_expect_eq(r.status, 0, "form %zu: %s %s", i, r.out, r.err);
        cr_expect(strstr(r.out, "\"inclusion_valid\":true,") != NULL, "form %zu: %s", i, r.out);
        cr_expect(strstr(r.out, "\"ok\":true") != NULL, "form %zu: %s", i, r.out);
        testutil_cli_free(&r);
        free(path);
        free(forms[i]);
    }
    /* The stored bytes still prove, from a file and from the store. */
    path = put("stored.json", stored);
    r = verify_proof(path, NULL);
    cr_expect_eq(r.status, 0, "%s %s", r.out, r.err);
    testutil_cli_free(&r);
    {
        const char *argv[] = {"checkpoint", "verify-proof", "--receipt-db", db, proof, NULL};
        r = testutil_run_cli(argv, NULL, 0);
        cr_expect_eq(r.status, 0, "%s %s", r.out, r.err);
        cr_expect(strstr(r.out, "\"ok\":true") != NULL, "%s", r.out);
        testutil_cli_free(&r);
    }
    free(path);
    chio_free(stored);
}

Test(rev54_proof, a_receipt_text_that_is_no_receipt_is_refused)
{
    char *path = put("noreceipt.json", "{\"a\":1}");
    cli_result r = verify_proof(path, NULL);

    cr_expect_eq(r.status, 2, "%s %s", r.out, r.err);
    cr_expect(strstr(r.err, "is not a receipt") != NULL, "%s", r.err);
    cr_expect_eq(r.out_len, 0, "%s", r.out);
    testutil_cli_free(&r);
    free(path);
}

/* Checkpoint 1 of the store re-made with the body members @range
 * (batch_end_seq and batch_start_seq) and tree_size @size, signed by the
 * store's key over that body as written; a file path, malloc'd. */
static char *signed_body(const char *range, unsigned size)
{
    size_t len;
    char *stored = testutil_stored(db, 1, 1, &len), *body, *full, *path, root[65], sighex[129];
    chio_checkpoint *cp;
    chio_keypair *kp;
    uint8_t sig[64];

    cr_assert_eq(chio_checkpoint_parse(stored, len, &cp, NULL), 0);
    testutil_hex(chio_checkpoint_merkle_root(cp), 32, root);
    cr_assert_eq(chio_keypair_from_seed_hex(TEST_SEED, 64, &kp, NULL), 0);
    cr_assert_geq(asprintf(&body,
                           "{%s,\"checkpoint_seq\":1,\"issued_at\":%llu,\"kernel_key\":\"%s\","
                           "\"merkle_root\":\"0x%s\",\"schema\":\"chio.checkpoint_statement.v1\","
                           "\"tree_size\":%u}",
                           range, (unsigned long long)chio_checkpoint_issued_at(cp), TEST_PUB, root,
                           size),
                  0);
    cr_assert_eq(chio_keypair_sign(kp, body, strlen(body), sig), 0);
    testutil_hex(sig, 64, sighex);
    cr_assert_geq(asprintf(&full, "{\"body\":%s,\"signature\":\"%s\"}", body, sighex), 0);
    path = put("cp.json", full);
    free(full);
    free(body);
    chio_keypair_free(kp);
    chio_checkpoint_free(cp);
    chio_free(stored);
    return path;
}

Test(rev54_proof, a_validly_signed_inconsistent_checkpoint_names_the_body_check)
{
    static const struct {
        const char *range;
        unsigned size;
        const char *says;
    } cases[] = {
        {"\"batch_end_seq\":4,\"batch_start_seq\":1", 5,
         "tree_size 5 is not batch_end_seq - batch_start_seq + 1 (4)"},
        {"\"batch_end_seq\":1,\"batch_start_seq\":4", 4,
         "batch_end_seq 1 is before batch_start_seq 4"},
        {"\"batch_end_seq\":3,\"batch_start_seq\":0", 4, "batch_start_seq is 0"},
    };
    size_t i, len;
    char *stored = testutil_stored(db, 0, 2, &len), *receipt = put("r2.json", stored);

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *cp = signed_body(cases[i].range, cases[i].size);
        cli_result r;

        r = verify_proof(receipt, cp);
        cr_expect_eq(r.status, 1, "case %zu: %s %s", i, r.out, r.err);
        cr_expect(strstr(r.out, "\"checkpoint_valid\":false") != NULL, "case %zu: %s", i, r.out);
        cr_expect(strstr(r.err, "its signature verifies but its body is inconsistent") != NULL,
                  "case %zu: %s", i, r.err);
        cr_expect(strstr(r.err, cases[i].says) != NULL, "case %zu: %s", i, r.err);
        cr_expect(strstr(r.err, "does not verify") == NULL, "case %zu: %s", i, r.err);
        testutil_cli_free(&r);
        free(cp);
    }
    free(receipt);
    chio_free(stored);
}
