/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/store/test_rev56_audit.c - review 9 (audit): what the store's
 * audit, its opens and a kernel's start say of a log changed behind their
 * back.
 *
 * F1: a tail cut back to a signed head written before the newest
 * checkpoint (between a checkpoint's last receipt and the group that cut
 * it, every head is one), that checkpoint kept with its receipts. A
 * kernel's start refused it ("the log holds checkpoints up to 2
 * (added?)") and told the operator to audit; the audit passed it clean.
 * It now names each such checkpoint ("checkpoint_after_head", exit 1).
 *
 * The log: a real kernel's, 12 receipts, checkpoints of 5 (two), written
 * without WAL syncs; damaged through RocksDB directly (testutil_raw_write)
 * and with heads signed by the kernel's key (one it wrote earlier).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chio/receipt.h"
#include "chio/store.h"
#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "store_internal.h"

#define N     12
#define BATCH 5

static char *dir, *db, *sentinel;

static void setup(void)
{
    chio_kernel_config cfg;
    chio_kernel *k;

    dir = testutil_tmpdir();
    cr_assert_geq(asprintf(&db, "%s/log", dir), 0);
    sentinel = testutil_join(db, "CHIO-RECEIPT-STORE");
    kt_config(&cfg, db);
    cfg.checkpoint_batch_size = BATCH;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    k = kt_kernel(&cfg);
    kt_sign_range(k, 1, N);
    chio_kernel_free(k);
}

static void teardown(void)
{
    testutil_rmrf(dir);
    free(dir);
    free(db);
    free(sentinel);
}

TestSuite(rev56_audit, .init = setup, .fini = teardown);

static cli_result audit(void)
{
    const char *argv[] = {"receipt", "verify", "--receipt-db", db, NULL};

    return testutil_run_cli(argv, NULL, 0);
}

/* Receipt @seq deleted with its chain and id index entries. */
static void delete_receipt(uint64_t seq)
{
    chio_receipt *r = NULL;
    size_t len = 0;
    char *json = testutil_stored(db, 0, seq, &len);

    cr_assert_eq(chio_receipt_parse(json, len, &r, NULL), 0);
    testutil_raw_write(db, "receipt_ids", chio_receipt_id(r), strlen(chio_receipt_id(r)), NULL, 0);
    testutil_raw_write_seq(db, "receipts", seq, NULL, 0);
    testutil_raw_write_seq(db, "chain", seq, NULL, 0);
    chio_receipt_free(r);
    chio_free(json);
}

/* The head the kernel signed in the group commit of receipt @last, before
 * the checkpoint that receipt completed was cut (it names checkpoint
 * @cp), written over the stored one. */
static void write_back_head(uint64_t last, uint64_t cp)
{
    chio__log_head h;
    chio_keypair *kp;
    chio_store *s;
    char *json = NULL;
    size_t len = 0;

    memset(&h, 0, sizeof(h));
    h.last_seq = last;
    h.chain_from = 1;
    h.checkpoint_seq = cp;
    h.time = 2000;
    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_ONLY, &s, NULL), 0);
    cr_assert_eq(chio__store_get_chain(s, last, h.chain, NULL), 0);
    chio_store_close(s);
    cr_assert_eq(chio_keypair_from_seed_hex(TEST_SEED, 64, &kp, NULL), 0);
    cr_assert_eq(chio__log_head_sign(kp, &h, &json, &len), 0);
    chio_keypair_free(kp);
    testutil_raw_write(db, "default", CHIO__META_LOG_HEAD, strlen(CHIO__META_LOG_HEAD), json, len);
    free(json);
}

/* F1. Receipts 11 and 12 (after checkpoint 2, which covers 6..10) deleted
 * with their chain and index entries, and the head signed at receipt 10,
 * which names checkpoint 1, written back; the sentinel and the
 * durable_checkpoint record (both naming checkpoint 2) left as they are.
 * Nothing of the cut remains but checkpoint 2, newer than the head. */
Test(rev56_audit, a_tail_cut_to_a_head_before_the_newest_checkpoint_is_named)
{
    char msg[512];
    cli_result r;

    r = audit();
    cr_assert_eq(r.status, 0, "the log as written: %.600s%.300s", r.out, r.err);
    testutil_cli_free(&r);

    delete_receipt(11);
    delete_receipt(12);
    write_back_head(10, 1);

    /* the kernel's start refuses it and sends the operator to the audit */
    cr_expect_eq(kt_try_start(db, BATCH, msg, sizeof(msg)), CHIO_ECORRUPT, "%s", msg);
    cr_expect_not_null(strstr(msg, "names checkpoint 1 but the log holds checkpoints up to 2"),
                       "%s", msg);
    /* ...which names it: before, exit 0 and no problem line */
    r = audit();
    cr_expect_eq(r.status, 1, "%.600s%.300s", r.out, r.err);
    cr_expect_not_null(strstr(r.out, "{\"problem\":\"checkpoint_after_head\",\"checkpoint_seq\":2,"
                                     "\"head_checkpoint_seq\":1,"),
                       "%.600s", r.out);
    cr_expect_not_null(strstr(r.out, "\"log_problems\":1"), "%.600s", r.out);
    testutil_cli_free(&r);
}

/* F1, the head itself: a head naming the newest checkpoint stored passes
 * (the check is on numbers the head names, not on where it stops). */
Test(rev56_audit, a_head_naming_the_newest_checkpoint_is_not_named)
{
    cli_result r;

    delete_receipt(11);
    delete_receipt(12);
    write_back_head(10, 2);
    r = audit();
    cr_expect_eq(r.status, 0, "%.600s%.300s", r.out, r.err);
    cr_expect_null(strstr(r.out, "checkpoint_after_head"), "%.600s", r.out);
    testutil_cli_free(&r);
    /* the same head naming checkpoint 1: named (fails without the fix) */
    write_back_head(10, 1);
    r = audit();
    cr_expect_eq(r.status, 1, "%.600s%.300s", r.out, r.err);
    cr_expect_not_null(strstr(r.out, "\"problem\":\"checkpoint_after_head\""), "%.600s", r.out);
    testutil_cli_free(&r);
}
