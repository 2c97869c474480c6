/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/cli/test_rev30_checkpoints.c - review 30: the checkpoint that
 * straddles chain_from. A legacy log re-pinned by a kernel holds pending
 * receipts from before chain_from; the first checkpoint that kernel cuts
 * covers them and its own. It starts before chain_from, so it passed for
 * one "of the legacy part" and any trusted key could re-sign it, though
 * security.md says only the store's key signs a checkpoint from chain_from
 * on. Real kernel, real RocksDB, the real CLI.
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

#define BATCH 4

static char *dir, *db;

/* A kernel on the log signs receipts @from..@from + @n - 1. */
static void sign_receipts(uint64_t from, uint64_t n)
{
    chio_kernel_config cfg;
    chio_kernel *k;

    kt_config(&cfg, db);
    cfg.checkpoint_batch_size = BATCH;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    k = kt_kernel(&cfg);
    kt_sign_range(k, from, n);
    chio_kernel_free(k);
}

static void raw_meta(const char *name)
{
    testutil_raw_write(db, "default", name, strlen(name), NULL, 0);
}

static void setup(void)
{
    uint64_t i;

    dir = testutil_tmpdir();
    cr_assert_geq(asprintf(&db, "%s/log", dir), 0);
    /* Receipts 1..10, checkpoints 1 (1..4) and 2 (5..8); 9 and 10 pending. */
    sign_receipts(1, 10);
    /* Stripped to a log written before the key record and chain... */
    for (i = 1; i <= 10; i++)
        testutil_raw_write_seq(db, "chain", i, NULL, 0);
    raw_meta(CHIO__META_LOG_HEAD);
    raw_meta(CHIO__META_KEY_RECORD);
    raw_meta(CHIO__META_CHAIN_FROM);
    /* ...and re-pinned by a kernel: chain_from 11, and its checkpoint 3
     * covers 9..12, two legacy receipts and two of its own. */
    sign_receipts(11, 2);
}

static void teardown(void)
{
    testutil_rmrf(dir);
    free(dir);
    free(db);
}

TestSuite(rev30_checkpoints, .init = setup, .fini = teardown);

static cli_result audit(const char *other)
{
    const char *argv[] = {"receipt", "verify",         "--receipt-db", db,   "--trusted-key",
                          TEST_PUB,  "--allow-legacy", NULL,           NULL, NULL};

    if (other != NULL) {
        argv[7] = "--trusted-key";
        argv[8] = other;
    }
    return testutil_run_cli(argv, NULL, 0);
}

/* Checkpoint 3 signed again by @seed: same range, root and chain link. */
static void re_sign_checkpoint_3(const char *seed)
{
    size_t len;
    char *three = testutil_stored(db, 1, 3, &len), *two = testutil_stored(db, 1, 2, &len);
    chio_checkpoint *orig, *prev, *cp;
    chio_keypair *kp;
    const char *json;

    cr_assert_eq(chio_checkpoint_parse(three, strlen(three), &orig, NULL), 0);
    cr_assert_eq(chio_checkpoint_parse(two, strlen(two), &prev, NULL), 0);
    cr_assert_eq(chio_checkpoint_batch_start(orig), 9);
    cr_assert_eq(chio_checkpoint_batch_end(orig), 12);
    cr_assert_eq(chio_keypair_from_seed_hex(seed, 64, &kp, NULL), 0);
    cr_assert_eq(chio_checkpoint_sign(kp, 3, 9, 12, chio_checkpoint_merkle_root(orig), 3000,
                                      chio_checkpoint_body_sha256(prev), &cp, NULL),
                 0);
    json = chio_checkpoint_json(cp, &len);
    testutil_raw_write_seq(db, "checkpoints", 3, json, len);
    chio_checkpoint_free(cp);
    chio_checkpoint_free(orig);
    chio_checkpoint_free(prev);
    chio_keypair_free(kp);
    chio_free(three);
    chio_free(two);
}

Test(rev30_checkpoints, a_checkpoint_across_chain_from_re_signed_by_another_trusted_key_is_named)
{
    char other[65], msg[512];
    chio_kernel_config cfg;
    chio_kernel *k;
    chio_error err;
    cli_result r;
    int rc;

    tk_pub(TK_OTHER_SEED, other);
    r = audit(other);
    cr_expect_eq(r.status, 0, "the re-pinned log verifies: %s", r.out);
    testutil_cli_free(&r);
    re_sign_checkpoint_3(TK_OTHER_SEED);
    r = audit(other);
    cr_expect_eq(r.status, 1, "%s", r.out);
    cr_expect_not_null(strstr(r.out, "\"checkpoint_seq\":3,\"reason\":\"untrusted\""), "%s", r.out);
    testutil_cli_free(&r);
    /* Nor does a kernel chain its next checkpoint to it. */
    kt_config(&cfg, db);
    cfg.checkpoint_batch_size = BATCH;
    k = kt_kernel(&cfg);
    chio_error_init(&err);
    rc = chio_kernel_start(k, &err);
    snprintf(msg, sizeof(msg), "%s", err.message);
    chio_kernel_free(k);
    cr_expect_eq(rc, CHIO_ECORRUPT, "%s", msg);
    cr_expect_not_null(strstr(msg, "newest checkpoint 3"), "%s", msg);
}
