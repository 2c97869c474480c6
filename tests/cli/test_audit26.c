/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/cli/test_audit26.c - the receipt log as evidence, review 26: an
 * attacker with write access to the RocksDB directory (no kernel key)
 * against `chio receipt verify --receipt-db` and a kernel reopening the
 * log. Each test builds a log with a real kernel (10 receipts, checkpoints
 * of 4: checkpoint 1 covers 1..4, checkpoint 2 covers 5..8, receipts 9 and
 * 10 are not covered yet), edits the directory through RocksDB and checks
 * what the audit prints and returns, or what a kernel opening it does:
 *
 *  - a tail cut back to an earlier head (its left-over id index entries
 *    were the only trace) and a kernel continuing the log: the new
 *    receipts took the freed numbers and the audit came back clean;
 *  - with a second trusted key (--trusted-key given twice, say a fleet's
 *    keys), a head or checkpoint signed by that key in a store that
 *    belongs to the first was accepted: a tail cut re-signed by it passed;
 *  - a kernel reopening a log whose newest checkpoint was forged, copied
 *    or added behind its back chained its next checkpoint to it;
 *  - a log stripped of its key record, head and chain reads as legacy
 *    (a documented limit: it passes only with --allow-legacy).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chio/checkpoint.h"
#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "kernel/tokens.h"
#include "store_internal.h"

#define N     10
#define BATCH 4

static char *dir, *db;

/* A kernel on the log signs receipts @from..@from + @n - 1; the first
 * call's return code (0 when all were signed). */
static int sign_receipts(uint64_t from, uint64_t n)
{
    chio_kernel_config cfg;
    chio_kernel *k;
    uint64_t i;
    int rc = 0;

    kt_config(&cfg, db);
    cfg.checkpoint_batch_size = BATCH;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    k = kt_kernel(&cfg);
    for (i = from; i < from + n && rc == 0; i++) {
        chio_receipt_builder *b = kt_builder(i);
        chio_receipt *r = NULL;
        chio_receipt_builder_set_timestamp(b, 1000 + i);
        rc = chio_kernel_sign_receipt(k, b, &r, NULL);
        chio_receipt_free(r);
    }
    chio_kernel_free(k);
    return rc;
}

static void setup(void)
{
    dir = testutil_tmpdir();
    cr_assert_geq(asprintf(&db, "%s/log", dir), 0);
    cr_assert_eq(sign_receipts(1, N), 0);
}

static void teardown(void)
{
    testutil_rmrf(dir);
    free(dir);
    free(db);
}

TestSuite(audit26, .init = setup, .fini = teardown);

/* One raw write to column family @cf: put @val (NULL: delete @key). */
static void raw(const char *cf, const void *key, size_t klen, const void *val, size_t vlen)
{
    testutil_raw_write(db, cf, key, klen, val, vlen);
}

static void raw_seq(const char *cf, uint64_t seq, const void *val, size_t vlen)
{
    testutil_raw_write_seq(db, cf, seq, val, vlen);
}

static void raw_meta(const char *name, const void *val, size_t vlen)
{
    raw("default", name, strlen(name), val, vlen);
}

static char *stored(int checkpoint, uint64_t seq, size_t *len)
{
    return testutil_stored(db, checkpoint, seq, len);
}

/* `chio receipt verify --receipt-db` with --trusted-key for each of
 * @keys (NULL-terminated) and @flag (or NULL). */
static cli_result audit(const char *const *keys, const char *flag)
{
    const char *argv[12] = {"receipt", "verify", "--receipt-db", db};
    size_t argc = 4;

    for (; keys != NULL && *keys != NULL && argc + 3 < 12; keys++) {
        argv[argc++] = "--trusted-key";
        argv[argc++] = *keys;
    }
    if (flag != NULL)
        argv[argc++] = flag;
    return testutil_run_cli(argv, NULL, 0);
}

static int kernel_start_rc(char *msg, size_t cap)
{
    chio_kernel_config cfg;
    chio_kernel *k;
    chio_error err;
    int rc;

    kt_config(&cfg, db);
    cfg.checkpoint_batch_size = BATCH;
    k = kt_kernel(&cfg);
    chio_error_init(&err);
    rc = chio_kernel_start(k, &err);
    snprintf(msg, cap, "%s", err.message);
    chio_kernel_free(k);
    return rc;
}

/* ---- the id index as the trace of a rollback ------------------------------------------ */

Test(audit26, a_tail_cut_to_an_earlier_head_still_shows_after_the_kernel_continues)
{
    static const char *const mine[] = {TEST_PUB, NULL};
    char msg[512];
    uint64_t i;
    cli_result r;

    /* The head the kernel signed after receipt 8 written back, receipts 9
     * and 10 and their chain entries deleted, their id index entries left:
     * the audit names them (index_dangling, out of the stored range). */
    testutil_write_head(db, TEST_SEED, 8, 2);
    for (i = 9; i <= N; i++) {
        raw_seq("receipts", i, NULL, 0);
        raw_seq("chain", i, NULL, 0);
    }
    r = audit(mine, NULL);
    cr_expect_eq(r.status, 1, "%s", r.out);
    testutil_cli_free(&r);
    /* A kernel opens it (the head is genuine) and signs new receipts 9..12.
     * Before, the left-over entries now named stored numbers and the audit
     * came back clean: the rollback was laundered by the next restart. */
    cr_assert_eq(kernel_start_rc(msg, sizeof(msg)), 0, "%s", msg);
    cr_assert_eq(sign_receipts(100, 4), 0);
    r = audit(mine, NULL);
    cr_expect_eq(r.status, 1, "%s", r.out);
    cr_expect_not_null(strstr(r.out, "\"problem\":\"index_dangling\""), "%s", r.out);
    cr_expect_not_null(strstr(r.out, "\"indexed_seq\":9}"), "%s", r.out);
    cr_expect_not_null(strstr(r.out, "\"indexed_seq\":10}"), "%s", r.out);
    cr_expect_not_null(strstr(r.out, "\"gaps\":0,\"invalid\":0,"), "%s", r.out);
    cr_expect_not_null(strstr(r.out, "\"log_problems\":2,"), "%s", r.out);
    testutil_cli_free(&r);
}

/* ---- a second trusted key ---------------------------------------------------------------- */

Test(audit26, a_tail_cut_under_a_head_signed_by_another_trusted_key_fails)
{
    char other[65], msg[512];
    const char *both[] = {TEST_PUB, other, NULL};
    size_t len;
    char *json = stored(0, N, &len);
    chio_receipt *rc;
    cli_result r;

    /* Receipt 10 deleted with its chain and index entries, and a head for
     * 9 signed by a key the auditor also trusts (another kernel's): the
     * store belongs to TEST_PUB, so before the audit passed (exit 0). */
    tk_pub(TK_OTHER_SEED, other);
    cr_assert_eq(chio_receipt_parse(json, len, &rc, NULL), 0);
    raw("receipt_ids", chio_receipt_id(rc), strlen(chio_receipt_id(rc)), NULL, 0);
    chio_receipt_free(rc);
    chio_free(json);
    raw_seq("receipts", N, NULL, 0);
    raw_seq("chain", N, NULL, 0);
    testutil_write_head(db, TK_OTHER_SEED, N - 1, 2);
    r = audit(both, NULL);
    cr_expect_eq(r.status, 1, "%s", r.out);
    cr_expect_not_null(strstr(r.out, "{\"problem\":\"invalid_log_head\",\"seq\":9,\"reason\":"
                                     "\"not_the_store_key\","),
                       "%s", r.out);
    testutil_cli_free(&r);
    cr_expect_eq(kernel_start_rc(msg, sizeof(msg)), CHIO_ECORRUPT);
}

Test(audit26, a_checkpoint_re_signed_by_another_trusted_key_is_named)
{
    char other[65];
    const char *both[] = {TEST_PUB, other, NULL};
    size_t len;
    char *two = stored(1, 2, &len), *one = stored(1, 1, &len);
    chio_checkpoint *orig, *prev, *cp;
    chio_keypair *kp;
    const char *json;
    cli_result r;

    /* Checkpoint 2 signed again, same range, root and chain link, by the
     * other trusted key. */
    tk_pub(TK_OTHER_SEED, other);
    cr_assert_eq(chio_checkpoint_parse(two, strlen(two), &orig, NULL), 0);
    cr_assert_eq(chio_checkpoint_parse(one, strlen(one), &prev, NULL), 0);
    cr_assert_eq(chio_keypair_from_seed_hex(TK_OTHER_SEED, 64, &kp, NULL), 0);
    cr_assert_eq(chio_checkpoint_sign(kp, 2, 5, 8, chio_checkpoint_merkle_root(orig), 3000,
                                      chio_checkpoint_body_sha256(prev), &cp, NULL),
                 0);
    json = chio_checkpoint_json(cp, &len);
    raw_seq("checkpoints", 2, json, len);
    r = audit(both, NULL);
    cr_expect_eq(r.status, 1, "%s", r.out);
    cr_expect_not_null(strstr(r.out, "\"checkpoint_seq\":2,\"reason\":\"untrusted\""), "%s", r.out);
    cr_expect_not_null(strstr(r.out, "not the one the store belongs to"), "%s", r.out);
    testutil_cli_free(&r);
    chio_checkpoint_free(cp);
    chio_checkpoint_free(orig);
    chio_checkpoint_free(prev);
    chio_keypair_free(kp);
    chio_free(one);
    chio_free(two);
}

/* ---- the kernel reopening the log -------------------------------------------------------- */

Test(audit26, a_kernel_refuses_a_forged_or_copied_newest_checkpoint)
{
    size_t len, len1;
    char *json = stored(1, 2, &len), *one = stored(1, 1, &len1), *mod, *at, msg[512];
    cli_result r;

    /* Checkpoint 2 edited to end at 7 (its signature breaks): before, a
     * kernel took receipt 8 as pending, cut checkpoint 3 over 8..11 and
     * chained it to the forged body, vouching for it. */
    at = strstr(json, "\"batch_end_seq\":8,");
    cr_assert_not_null(at);
    cr_assert_geq(asprintf(&mod, "%.*s\"batch_end_seq\":7,%s", (int)(at - json), json,
                           at + strlen("\"batch_end_seq\":8,")),
                  0);
    raw_seq("checkpoints", 2, mod, strlen(mod));
    cr_expect_eq(kernel_start_rc(msg, sizeof(msg)), CHIO_ECORRUPT);
    cr_expect_not_null(strstr(msg, "newest checkpoint 2"), "%s", msg);
    /* checkpoint 1 copied over 2: genuine bytes, under the wrong number */
    raw_seq("checkpoints", 2, one, len1);
    cr_expect_eq(kernel_start_rc(msg, sizeof(msg)), CHIO_ECORRUPT);
    cr_expect_not_null(strstr(msg, "newest checkpoint 2"), "%s", msg);
    r = audit(NULL, NULL);
    cr_expect_eq(r.status, 1, "%s", r.out);
    cr_expect_not_null(strstr(r.out, "\"checkpoint_seq\":2,\"reason\":\"numbering\""), "%s", r.out);
    testutil_cli_free(&r);
    /* the genuine one back: the kernel opens it again */
    raw_seq("checkpoints", 2, json, len);
    cr_expect_eq(kernel_start_rc(msg, sizeof(msg)), 0, "%s", msg);
    free(mod);
    chio_free(json);
    chio_free(one);
}

Test(audit26, a_kernel_refuses_a_checkpoint_its_head_does_not_name)
{
    size_t len;
    char *json = stored(1, 2, &len), msg[512];

    /* Checkpoint 2's bytes stored again as checkpoint 3: the signed head
     * names checkpoint 2. Before, a kernel chained checkpoint 4 to it. */
    raw_seq("checkpoints", 3, json, len);
    cr_expect_eq(kernel_start_rc(msg, sizeof(msg)), CHIO_ECORRUPT);
    cr_expect_not_null(strstr(msg, "names checkpoint 2 but the log holds checkpoints up to 3"),
                       "%s", msg);
    chio_free(json);
}

/* ---- a documented limit ------------------------------------------------------------------ */

Test(audit26, a_log_stripped_to_legacy_passes_only_with_allow_legacy)
{
    static const char *const mine[] = {TEST_PUB, NULL};
    size_t len;
    char *json = stored(0, N, &len);
    chio_receipt *rc;
    uint64_t i;
    cli_result r;

    /* Key record, head, chain and chain_from deleted, and receipt 10 (no
     * checkpoint covers it) with its index entry: the log reads as one
     * written before those records (security.md lists this). */
    cr_assert_eq(chio_receipt_parse(json, len, &rc, NULL), 0);
    raw("receipt_ids", chio_receipt_id(rc), strlen(chio_receipt_id(rc)), NULL, 0);
    chio_receipt_free(rc);
    chio_free(json);
    raw_seq("receipts", N, NULL, 0);
    for (i = 1; i <= N; i++)
        raw_seq("chain", i, NULL, 0);
    raw_meta(CHIO__META_LOG_HEAD, NULL, 0);
    raw_meta(CHIO__META_KEY_RECORD, NULL, 0);
    raw_meta(CHIO__META_CHAIN_FROM, NULL, 0);
    r = audit(mine, NULL);
    cr_expect_eq(r.status, 1, "%s", r.out);
    cr_expect_not_null(strstr(r.out, "\"legacy\":true,\"unchained\":9,"), "%s", r.out);
    testutil_cli_free(&r);
    r = audit(mine, "--allow-legacy");
    cr_expect_eq(r.status, 0, "%s", r.out);
    testutil_cli_free(&r);
}
