/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev45_restore.c - a kernel restarting on a store edited
 * behind its back (review 45, restore.c and head.c):
 *
 *   a_receipt_deleted_after_the_newest_checkpoint_with_its_anchor_moved_is_refused
 *       receipt 21 of 23 (checkpoints up to 20) deleted with its id and
 *       chain entries, and chain[20] set to chain[21]: the tail still
 *       hashed to the signed head from the moved anchor, so the kernel
 *       started and signed a checkpoint over the hole.
 *   a_log_starting_past_its_newest_checkpoint_is_refused
 *       receipts 1..22 deleted and retained_from_seq raised to 23, past
 *       the newest checkpoint (it ends at 20), which archiving never does:
 *       the read-back was clamped to the log's start and the kernel went on.
 *   a_legacy_log_ending_at_the_last_sequence_number_is_refused
 *       a log stripped of its key record, head and chain with a receipt
 *       stored under 2^64-1: the next kernel numbered its receipts from 0
 *       and wrote over receipts 1, 2, ...
 *
 * Each store is edited through the store's own batch API, as an attacker
 * with write access to the directory would with any RocksDB client.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "store_internal.h"

static char *dir, *db;

static void setup(void)
{
    dir = testutil_tmpdir();
    cr_assert_geq(asprintf(&db, "%s/db", dir), 0);
}

static void teardown(void)
{
    testutil_rmrf(dir);
    free(dir);
    free(db);
}

TestSuite(rev45_restore, .init = setup, .fini = teardown);

/* A kernel on db signs receipts 1..@n, checkpoints every @batch (0: none),
 * and drains. */
static void make_log(uint32_t batch, uint64_t n)
{
    chio_kernel_config cfg;
    chio_kernel *k;

    kt_config(&cfg, db);
    cfg.checkpoint_batch_size = batch;
    cfg.log_level = CHIO_LOG_ERROR;
    k = kt_kernel(&cfg);
    kt_sign_range(k, 1, n);
    if (batch > 0)
        kt_wait_checkpoint(k, n / batch);
    chio_kernel_free(k);
}

/* The id receipt @seq of @s carries (the caller frees it). */
static char *id_of(chio_store *s, uint64_t seq)
{
    chio_receipt *r = NULL;
    char *json = NULL, *id;
    size_t len = 0;

    cr_assert_eq(chio_store_get_receipt(s, seq, &json, &len, NULL), 0, "receipt %llu",
                 (unsigned long long)seq);
    cr_assert_eq(chio_receipt_parse(json, len, &r, NULL), 0);
    id = strdup(chio_receipt_id(r));
    cr_assert_not_null(id);
    chio_receipt_free(r);
    free(json);
    return id;
}

static void write_batch(chio_store *s, chio__store_batch *b)
{
    chio_error err;

    chio_error_init(&err);
    cr_assert_eq(chio__store_write(s, b, 1, &err), 0, "%s", err.message);
    chio__store_batch_free(b);
}

Test(rev45_restore, a_receipt_deleted_after_the_newest_checkpoint_with_its_anchor_moved_is_refused)
{
    uint8_t link21[32];
    uint64_t last_cp = 0;
    chio__store_batch *b;
    chio_store *s;
    char msg[512], *id;

    make_log(4, 23); /* checkpoint 5 covers 17..20; 21..23 after it */
    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_WRITE, &s, NULL), 0);
    cr_assert_eq(chio_store_last_checkpoint_seq(s, &last_cp, NULL), 0);
    cr_assert_eq(last_cp, 5);
    cr_assert_eq(chio__store_get_chain(s, 21, link21, NULL), 0);
    id = id_of(s, 21);
    b = chio__store_batch_new();
    cr_assert_not_null(b);
    chio__store_batch_delete_receipt(b, s, 21, id);
    chio__store_batch_delete_chain(b, s, 21);
    chio__store_batch_put_chain(b, s, 20, link21); /* the anchor moved past the hole */
    write_batch(s, b);
    chio_store_close(s);
    free(id);

    cr_assert_eq(kt_try_start(db, 4, msg, sizeof(msg)), CHIO_ECORRUPT, "%s", msg);
    cr_expect_not_null(strstr(msg, "receipt 21 is missing"), "%s", msg);
    /* a restart that owes checkpoints (a smaller batch) reads it the same */
    cr_assert_eq(kt_try_start(db, 2, msg, sizeof(msg)), CHIO_ECORRUPT, "%s", msg);
    cr_expect_not_null(strstr(msg, "receipt 21 is missing"), "%s", msg);
}

Test(rev45_restore, a_log_starting_past_its_newest_checkpoint_is_refused)
{
    chio__store_batch *b;
    chio_store *s;
    char msg[512], *id;
    uint64_t seq;

    make_log(4, 23);
    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_WRITE, &s, NULL), 0);
    b = chio__store_batch_new();
    cr_assert_not_null(b);
    /* 1..22 gone, the log said to start at 23; the checkpoints and the
     * chain entries stay: chain[22] anchors 23, which still hashes to the
     * signed head */
    for (seq = 1; seq <= 22; seq++) {
        id = id_of(s, seq);
        chio__store_batch_delete_receipt(b, s, seq, id);
        free(id);
    }
    chio__store_batch_put_meta_u64(b, s, CHIO__META_RETAINED_SEQ, 23);
    write_batch(s, b);
    chio_store_close(s);

    cr_assert_eq(kt_try_start(db, 4, msg, sizeof(msg)), CHIO_ECORRUPT, "%s", msg);
    cr_expect_not_null(strstr(msg, "receipts 21..22 are missing"), "%s", msg);
}

Test(rev45_restore, a_legacy_log_ending_at_the_last_sequence_number_is_refused)
{
    const char *meta[] = {CHIO__META_KEY_RECORD, CHIO__META_LOG_HEAD, CHIO__META_CHAIN_FROM};
    chio__store_batch *b;
    chio_store *s;
    char *json = NULL, *id, msg[512];
    size_t len = 0, i;
    uint64_t first = 0, last = 0, seq;

    make_log(0, 5);
    /* stripped to what a log from before key records looks like */
    for (i = 0; i < sizeof(meta) / sizeof(meta[0]); i++)
        testutil_raw_write(db, "default", meta[i], strlen(meta[i]), NULL, 0);
    for (seq = 1; seq <= 5; seq++)
        testutil_raw_write_seq(db, "chain", seq, NULL, 0);
    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_WRITE, &s, NULL), 0);
    cr_assert_eq(chio_store_get_receipt(s, 5, &json, &len, NULL), 0);
    id = id_of(s, 5);
    b = chio__store_batch_new();
    cr_assert_not_null(b);
    chio__store_batch_put_receipt(b, s, UINT64_MAX, json, len, id);
    write_batch(s, b);
    chio_store_close(s);
    free(json);
    free(id);

    cr_assert_eq(kt_try_start(db, 0, msg, sizeof(msg)), CHIO_ECORRUPT, "%s", msg);
    cr_expect_not_null(strstr(msg, "18446744073709551615"), "%s", msg);
    /* nothing was written: receipt 1 is still the first kernel's, and no
     * receipt 0 appeared */
    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_ONLY, &s, NULL), 0);
    cr_assert_eq(chio_store_seq_range(s, &first, &last, NULL), 0);
    cr_expect_eq(first, 1);
    cr_expect_eq(last, UINT64_MAX);
    chio_store_close(s);
}
