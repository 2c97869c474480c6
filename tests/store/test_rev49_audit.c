/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/store/test_rev49_audit.c - review 49, the audit log as evidence.
 *
 * A kernel writing without WAL syncs (CHIO_DURABILITY_NOSYNC) makes each
 * checkpoint it marks in the sentinel file durable with a small synced
 * write of the store's metadata "durable_checkpoint" (sentinel.c). Before
 * review 49 nothing read that value back: the tail cut back to an earlier
 * head (the newest checkpoint, its receipts, their chain and index entries
 * deleted, the head signed before them written back) with the sentinel
 * edited to match passed the audit and a kernel's start, though the store
 * itself still said that a later checkpoint had been durable. The audit
 * now names it ("durable_checkpoint_lost") and a kernel refuses the log.
 *
 * chio_store_audit_log(), the first audit API, has no `legacy` field: a
 * log stripped of its key record, head, chain and chain_from record (its
 * tail after the last checkpoint cut unseen) passed it clean, while
 * `chio receipt verify` fails it without --allow-legacy. It now counts the
 * receipts no chain covers as invalid and names them ("unchained").
 *
 * A live log with checkpoints off, emptied of every receipt with the
 * anchor and retained_from_seq left as an archiving pass would (which
 * never moves the newest receipt), passed its audit; it is now named
 * ("head_before_log_start").
 *
 * And what a kernel's start leaves to the audit (security.md): a key that
 * is not a sequence number inside the log, before the newest checkpoint.
 *
 * The log: a real kernel's, 8 receipts then 4 more, checkpoints of 4;
 * damaged through RocksDB directly (testutil_raw_write).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chio/receipt.h"
#include "chio/store.h"
#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "store_internal.h"

static char *dir, *db, *head8;
static size_t head8_len;

static void sign(uint64_t from, uint64_t n)
{
    chio_kernel_config cfg;
    chio_kernel *k;

    kt_config(&cfg, db);
    cfg.checkpoint_batch_size = 4;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    k = kt_kernel(&cfg);
    kt_sign_range(k, from, n);
    chio_kernel_free(k);
}

static void setup(void)
{
    chio_store *s = NULL;

    dir = testutil_tmpdir();
    cr_assert_geq(asprintf(&db, "%s/log", dir), 0);
    sign(1, 8);
    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_ONLY, &s, NULL), 0);
    cr_assert_eq(chio__store_get_meta(s, CHIO__META_LOG_HEAD, &head8, &head8_len, NULL), 0);
    chio_store_close(s);
    sign(9, 4);
}

static void teardown(void)
{
    testutil_rmrf(dir);
    free(dir);
    free(db);
    free(head8);
}

TestSuite(rev49_audit, .init = setup, .fini = teardown);

static cli_result audit(void)
{
    const char *argv[] = {"receipt", "verify", "--receipt-db", db, NULL};

    return testutil_run_cli(argv, NULL, 0);
}

static uint64_t durable_mark(void)
{
    chio_store *s = NULL;
    uint64_t v = 0;

    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_ONLY, &s, NULL), 0);
    cr_assert_eq(chio__store_get_meta_u64(s, "durable_checkpoint", &v, NULL), 0);
    chio_store_close(s);
    return v;
}

/* Receipts 9..12 and checkpoint 3 deleted with their chain and index
 * entries, the head signed after receipt 8 written back, and the sentinel
 * edited to name checkpoint 2: everything a rollback to that head needs,
 * but the durable_checkpoint record. */
static void cut_back_to_8(void)
{
    char *path, *old, fmt[64];
    size_t len = 0;
    FILE *f;

    for (uint64_t seq = 9; seq <= 12; seq++) {
        chio_receipt *r = NULL;
        char *json = testutil_stored(db, 0, seq, &len);
        cr_assert_eq(chio_receipt_parse(json, len, &r, NULL), 0);
        testutil_raw_write(db, "receipt_ids", chio_receipt_id(r), strlen(chio_receipt_id(r)), NULL,
                           0);
        testutil_raw_write_seq(db, "receipts", seq, NULL, 0);
        testutil_raw_write_seq(db, "chain", seq, NULL, 0);
        chio_receipt_free(r);
        chio_free(json);
    }
    testutil_raw_write_seq(db, "checkpoints", 3, NULL, 0);
    testutil_raw_write(db, "default", CHIO__META_LOG_HEAD, strlen(CHIO__META_LOG_HEAD), head8,
                       head8_len);
    /* the sentinel's own first line, kept as it was */
    path = testutil_join(db, "CHIO-RECEIPT-STORE");
    f = fopen(path, "r");
    cr_assert_not_null(f);
    old = fgets(fmt, sizeof(fmt), f);
    fclose(f);
    cr_assert_not_null(old);
    f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f, "%slast_checkpoint 2\n", fmt);
    fclose(f);
    free(path);
}

Test(rev49_audit, the_log_audits_clean_and_records_its_durable_checkpoint)
{
    cli_result r = audit();

    cr_expect_eq(r.status, 0, "%s%s", r.out, r.err);
    cr_expect_null(strstr(r.out, "{\"problem\":"), "%s", r.out);
    testutil_cli_free(&r);
    cr_expect_eq(durable_mark(), 3);
}

Test(rev49_audit, a_tail_cut_below_the_durable_checkpoint_is_named_and_refused)
{
    chio_store_audit a;
    chio_store *s = NULL;
    chio_error err;
    char msg[512];
    cli_result r;

    cut_back_to_8();
    r = audit();
    /* before review 49: exit 0, no problem line */
    cr_expect_eq(r.status, 1, "%s%s", r.out, r.err);
    cr_expect_not_null(strstr(r.out, "{\"problem\":\"durable_checkpoint_lost\","
                                     "\"durable_checkpoint\":3,\"last_checkpoint\":2"),
                       "%s%s", r.out, r.err);
    testutil_cli_free(&r);
    /* the library's audit counts it */
    chio_error_init(&err);
    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_ONLY, &s, &err), 0, "%s", err.message);
    memset(&a, 0, sizeof(a));
    cr_expect_eq(chio_store_audit_log(s, NULL, 0, NULL, NULL, &a, &err), 0, "%s", err.message);
    cr_expect_gt(a.invalid, 0);
    chio_store_close(s);
    /* before review 49: the kernel started and continued the log */
    cr_expect_eq(kt_try_start(db, 4, msg, sizeof(msg)), CHIO_ECORRUPT, "%s", msg);
    cr_expect_not_null(strstr(msg, "checkpoint 3 was durable"), "%s", msg);
}

/* A durable_checkpoint record that is not 8 bytes is named as malformed
 * metadata, like the others (review 47), and a kernel refuses it. */
Test(rev49_audit, a_malformed_durable_checkpoint_is_named_and_refused)
{
    char msg[512];
    cli_result r;

    testutil_raw_write(db, "default", "durable_checkpoint", 18, "x", 1);
    r = audit();
    cr_expect_eq(r.status, 1, "%s%s", r.out, r.err);
    cr_expect_not_null(
        strstr(r.out, "{\"problem\":\"bad_metadata\",\"name\":\"durable_checkpoint\""), "%s%s",
        r.out, r.err);
    testutil_cli_free(&r);
    cr_expect_eq(kt_try_start(db, 4, msg, sizeof(msg)), CHIO_ECORRUPT, "%s", msg);
}

/* ---- a junk key in the middle of the receipts
 * --------------------------------------------- */

/* A kernel's start checks the log's ends, and the receipts after the
 * newest checkpoint, which it reads back: a key that is not a sequence
 * number between receipts 5 and 6 (checkpoint 2 covers them), or before
 * the first checkpoint, is left to the audit, as security.md says; the
 * kernel starts. */
Test(rev49_audit, a_junk_key_among_the_checkpointed_receipts_is_left_to_the_audit)
{
    static const unsigned char junk[9] = {0, 0, 0, 0, 0, 0, 0, 5, 'x'};
    static const unsigned char first[1] = {0};
    char msg[512];
    cli_result r;

    testutil_raw_write(db, "receipts", junk, sizeof(junk), "junk", 4);
    /* and one sorting before every checkpoint: the start reads only the
     * newest checkpoint */
    testutil_raw_write(db, "checkpoints", first, sizeof(first), "junk", 4);
    cr_expect_eq(kt_try_start(db, 4, msg, sizeof(msg)), 0, "%s", msg);
    r = audit();
    cr_expect_eq(r.status, 1, "%s%s", r.out, r.err);
    cr_expect_not_null(strstr(r.out, "{\"problem\":\"bad_key\",\"family\":\"receipts\","
                                     "\"key_hex\":\"000000000000000578\""),
                       "%s%s", r.out, r.err);
    cr_expect_not_null(strstr(r.out, "{\"problem\":\"bad_key\",\"family\":\"checkpoints\","
                                     "\"key_hex\":\"00\""),
                       "%s%s", r.out, r.err);
    testutil_cli_free(&r);
}

/* The same key among the receipts after the newest checkpoint, which the
 * start reads back to sign the next one: refused. */
Test(rev49_audit, a_junk_key_after_the_newest_checkpoint_is_refused)
{
    static const unsigned char junk[9] = {0, 0, 0, 0, 0, 0, 0, 13, 'x'};
    char msg[512];

    sign(13, 2);
    testutil_raw_write(db, "receipts", junk, sizeof(junk), "junk", 4);
    cr_expect_eq(kt_try_start(db, 4, msg, sizeof(msg)), CHIO_ECORRUPT, "%s", msg);
    cr_expect_not_null(strstr(msg, "not 8 bytes"), "%s", msg);
}

/* ---- a log stripped to legacy, through the first audit API
 * --------------------------------- */

static void count_line(void *ctx, const char *json, size_t len)
{
    (void)len;
    if (strstr(json, "{\"problem\":\"unchained\",\"receipts\":13,\"legacy\":true") == json)
        (*(int *)ctx)++;
}

/* The key record, the head, the chain_from record and every chain entry
 * deleted, then receipt 14 (after the last checkpoint) cut with its index
 * entry: the log reads as one written before those records. `chio receipt
 * verify` fails it unless --allow-legacy is given; chio_store_audit_log(),
 * which has no `legacy` field, returned it clean (invalid 0, gaps 0) before
 * review 49, though a log cut and marked as an archive fails it. */
Test(rev49_audit, a_log_stripped_to_legacy_fails_the_first_audit_api)
{
    static const char *const meta[] = {CHIO__META_KEY_RECORD, CHIO__META_LOG_HEAD,
                                       CHIO__META_CHAIN_FROM};
    chio_store_audit a;
    chio_store *s = NULL;
    chio_receipt *r14 = NULL;
    chio_error err;
    size_t len = 0;
    char *json;
    int lines = 0;
    cli_result r;

    sign(13, 2);
    json = testutil_stored(db, 0, 14, &len);
    cr_assert_eq(chio_receipt_parse(json, len, &r14, NULL), 0);
    testutil_raw_write(db, "receipt_ids", chio_receipt_id(r14), strlen(chio_receipt_id(r14)), NULL,
                       0);
    testutil_raw_write_seq(db, "receipts", 14, NULL, 0);
    chio_receipt_free(r14);
    chio_free(json);
    for (size_t i = 0; i < sizeof(meta) / sizeof(meta[0]); i++)
        testutil_raw_write(db, "default", meta[i], strlen(meta[i]), NULL, 0);
    for (uint64_t seq = 1; seq <= 14; seq++)
        testutil_raw_write_seq(db, "chain", seq, NULL, 0);
    /* the CLI: legacy, failed without --allow-legacy (as before) */
    r = audit();
    cr_expect_eq(r.status, 1, "%s%s", r.out, r.err);
    cr_expect_not_null(strstr(r.out, "\"legacy\":true,\"unchained\":13"), "%s", r.out);
    testutil_cli_free(&r);
    /* the first API: now failed too, with a line saying why */
    chio_error_init(&err);
    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_ONLY, &s, &err), 0, "%s", err.message);
    memset(&a, 0, sizeof(a));
    cr_expect_eq(chio_store_audit_log(s, NULL, 0, count_line, &lines, &a, &err), 0, "%s",
                 err.message);
    chio_store_close(s);
    cr_expect_eq(a.receipts, 13);
    cr_expect_eq(a.gaps, 0);
    cr_expect_eq(a.invalid, 13);
    cr_expect_eq(lines, 1);
}

/* ---- a live log emptied as if archived
 * ----------------------------------------------------- */

/* Checkpoints off: archiving moves single receipts and always keeps the
 * newest. Every receipt of such a log deleted with its index entry, every
 * chain entry but the last (the anchor an archiving pass leaves) deleted,
 * and retained_from_seq set past the last: the log looks archived whole,
 * which no pass does. Before review 49 the audit passed it (exit 0,
 * receipts 0); a kernel refused it. */
Test(rev49_audit, a_live_log_emptied_as_if_archived_is_named)
{
    chio_kernel_config cfg;
    chio_kernel *k;
    char msg[512];
    unsigned char v[8] = {0, 0, 0, 0, 0, 0, 0, 6};
    cli_result r;

    testutil_rmrf(db);
    kt_config(&cfg, db);
    cfg.checkpoint_batch_size = 0;
    k = kt_kernel(&cfg);
    kt_sign_range(k, 1, 5);
    chio_kernel_free(k);
    for (uint64_t seq = 1; seq <= 5; seq++) {
        chio_receipt *rc = NULL;
        size_t len = 0;
        char *json = testutil_stored(db, 0, seq, &len);
        cr_assert_eq(chio_receipt_parse(json, len, &rc, NULL), 0);
        testutil_raw_write(db, "receipt_ids", chio_receipt_id(rc), strlen(chio_receipt_id(rc)),
                           NULL, 0);
        testutil_raw_write_seq(db, "receipts", seq, NULL, 0);
        if (seq < 5)
            testutil_raw_write_seq(db, "chain", seq, NULL, 0);
        chio_receipt_free(rc);
        chio_free(json);
    }
    testutil_raw_write(db, "default", CHIO__META_RETAINED_SEQ, strlen(CHIO__META_RETAINED_SEQ), v,
                       8);
    r = audit();
    cr_expect_eq(r.status, 1, "%s%s", r.out, r.err);
    cr_expect_not_null(strstr(r.out, "{\"problem\":\"head_before_log_start\",\"seq\":5,"
                                     "\"retained_from_seq\":6"),
                       "%s%s", r.out, r.err);
    testutil_cli_free(&r);
    cr_expect_eq(kt_try_start(db, 0, msg, sizeof(msg)), CHIO_ECORRUPT, "%s", msg);
}
