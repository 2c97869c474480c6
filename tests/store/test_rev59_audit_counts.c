/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/store/test_rev59_audit_counts.c - review 19 (audit) F1 and F2:
 * what the receipt log audit counts and names.
 *
 * F1: a log whose checkpoints were deleted, swapped or replaced audited
 * with "gaps":0, "invalid":0, "log_problems":0, the clean audit README.md
 * described, and chio_store_audit_log() (v1) reported invalid 0 and gaps
 * 0: only checkpoints_valid < checkpoints showed it. Each invalid
 * checkpoint now counts in log_problems (and so in v1's invalid). And
 * `chio checkpoint prove` said "not covered by a checkpoint yet" for a
 * receipt whose checkpoint was deleted; it now says the covering
 * checkpoint is missing or invalid.
 *
 * F2: the newest receipt replaced and its chain entry deleted was named
 * only chain_missing; the value the link from the entry before gives is
 * now compared with the signed head, as a link mid-log is, and a mismatch
 * named log_head_mismatch.
 *
 * The logs: a real kernel's, 10 receipts, checkpoints of 4 (two) or none,
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

#define N 10

static char *dir, *db;

static void setup(void)
{
    dir = testutil_tmpdir();
    cr_assert_geq(asprintf(&db, "%s/log", dir), 0);
}

static void teardown(void)
{
    testutil_rmrf(dir);
    free(dir);
    free(db);
}

TestSuite(rev59_audit_counts, .init = setup, .fini = teardown);

/* N receipts, checkpoints of @batch (0: none), the kernel gone. */
static void make_log(uint32_t batch)
{
    kt_make_log(db, N, batch);
}

typedef struct audits {
    chio_store_audit v1;
    chio_store_audit_v2 v2;
    char lines[2048]; /* the v2 audit's problem lines */
    size_t used;
} audits;

static void keep_line(void *ctx, const char *json, size_t len)
{
    audits *a = ctx;

    if (a->used + len + 2 < sizeof(a->lines)) {
        memcpy(a->lines + a->used, json, len);
        a->used += len;
        a->lines[a->used++] = '\n';
        a->lines[a->used] = '\0';
    }
}

/* Both library audits of db. */
static audits audit_both(void)
{
    chio_store *s = NULL;
    chio_error err;
    audits a;

    memset(&a, 0, sizeof(a));
    chio_error_init(&err);
    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_ONLY, &s, &err), 0, "%s", err.message);
    cr_assert_eq(chio_store_audit_log(s, NULL, 0, NULL, NULL, &a.v1, &err), 0, "%s", err.message);
    a.v2.size = sizeof(a.v2);
    cr_assert_eq(chio_store_audit_log_v2(s, NULL, 0, keep_line, &a, &a.v2, &err), 0, "%s",
                 err.message);
    chio_store_close(s);
    return a;
}

static cli_result audit_cli(void)
{
    const char *argv[] = {"receipt", "verify", "--receipt-db", db, NULL};

    return testutil_run_cli(argv, NULL, 0);
}

static cli_result prove(const char *seq)
{
    const char *argv[] = {"checkpoint", "prove", "--receipt-db", db, "--seq", seq, NULL};

    return testutil_run_cli(argv, NULL, 0);
}

/* The clean log: the counts a clean audit reads (README.md, cli.md). */
Test(rev59_audit_counts, the_clean_log_reads_zero_everywhere)
{
    audits a;
    cli_result r;

    make_log(4);
    a = audit_both();
    cr_expect(a.v1.gaps == 0 && a.v1.invalid == 0 && a.v2.log_problems == 0, "%s", a.lines);
    cr_expect_eq(a.v1.checkpoints, 2);
    cr_expect_eq(a.v1.checkpoints_valid, 2);
    r = audit_cli();
    cr_expect_eq(r.status, 0, "%.600s", r.out);
    cr_expect_not_null(strstr(r.out, "\"gaps\":0,\"invalid\":0,"), "%.600s", r.out);
    cr_expect_not_null(strstr(r.out, "\"log_problems\":0,"), "%.600s", r.out);
    testutil_cli_free(&r);
}

/* F1: checkpoint 1 deleted. Before: gaps 0, invalid 0, log_problems 0
 * in the CLI's summary and v1's invalid 0. */
Test(rev59_audit_counts, a_deleted_checkpoint_counts_in_log_problems)
{
    audits a;
    cli_result r;

    make_log(4);
    testutil_raw_write_seq(db, "checkpoints", 1, NULL, 0);
    a = audit_both();
    cr_expect_not_null(strstr(a.lines, "\"problem\":\"invalid_checkpoint\",\"checkpoint_seq\":2,"
                                       "\"reason\":\"numbering\""),
                       "%s", a.lines);
    cr_expect_eq(a.v2.log_problems, 1, "%s", a.lines);
    cr_expect_eq(a.v2.base.checkpoints_valid, 0);
    cr_expect_eq(a.v1.gaps, 0);
    cr_expect_eq(a.v1.invalid, 1, "the first audit API counts it in invalid: %s", a.lines);
    r = audit_cli();
    cr_expect_eq(r.status, 1, "%.600s", r.out);
    cr_expect_not_null(strstr(r.out, "\"log_problems\":1,"), "%.600s", r.out);
    testutil_cli_free(&r);
}

/* F1: checkpoints 1 and 2 swapped, and checkpoint 2 replaced with junk:
 * each one named counts once. */
Test(rev59_audit_counts, swapped_and_replaced_checkpoints_count_in_log_problems)
{
    size_t l1 = 0, l2 = 0;
    char *c1, *c2;
    audits a;

    make_log(4);
    c1 = testutil_stored(db, 1, 1, &l1);
    c2 = testutil_stored(db, 1, 2, &l2);
    testutil_raw_write_seq(db, "checkpoints", 1, c2, l2);
    testutil_raw_write_seq(db, "checkpoints", 2, c1, l1);
    a = audit_both();
    cr_expect_eq(a.v2.log_problems, 2, "%s", a.lines);
    cr_expect_eq(a.v1.invalid, 2, "%s", a.lines);
    cr_expect_eq(a.v1.gaps, 0);

    testutil_raw_write_seq(db, "checkpoints", 1, c1, l1);
    testutil_raw_write_seq(db, "checkpoints", 2, "{\"junk\":1}", 10);
    a = audit_both();
    cr_expect_not_null(strstr(a.lines, "\"checkpoint_seq\":2,\"reason\":\"unreadable\""), "%s",
                       a.lines);
    cr_expect_eq(a.v2.log_problems, 1, "%s", a.lines);
    cr_expect_eq(a.v1.invalid, 1, "%s", a.lines);
    chio_free(c1);
    chio_free(c2);
}

/* F1: a checkpoint whose Merkle root no longer matches (a receipt changed
 * in place, its own problem line aside) counts too. */
Test(rev59_audit_counts, a_checkpoint_whose_root_fails_counts_in_log_problems)
{
    size_t len = 0;
    char *r3;
    audits a;

    make_log(4);
    r3 = testutil_stored(db, 0, 3, &len);
    testutil_raw_write_seq(db, "receipts", 2, r3, len);
    a = audit_both();
    cr_expect_not_null(strstr(a.lines, "\"checkpoint_seq\":1,\"reason\":\"merkle_root\""), "%s",
                       a.lines);
    cr_expect_eq(a.v2.log_problems, 1, "%s", a.lines);
    cr_expect_gt(a.v2.base.invalid, 0, "%s", a.lines);
    chio_free(r3);
}

/* F1: `checkpoint prove` for a receipt whose checkpoint is gone. */
Test(rev59_audit_counts, prove_names_a_deleted_covering_checkpoint)
{
    size_t l1 = 0, l2 = 0;
    char *c1, *c2;
    cli_result r;

    make_log(4);
    /* receipt 10 is after the last checkpoint (8): not covered yet */
    r = prove("10");
    cr_expect_eq(r.status, 1, "%s", r.err);
    cr_expect_not_null(strstr(r.err, "receipt 10 is not covered by a checkpoint yet"), "%s", r.err);
    testutil_cli_free(&r);

    c1 = testutil_stored(db, 1, 1, &l1);
    c2 = testutil_stored(db, 1, 2, &l2);
    testutil_raw_write_seq(db, "checkpoints", 1, NULL, 0);
    r = prove("2");
    cr_expect_eq(r.status, 1, "%s", r.err);
    cr_expect_null(strstr(r.err, "not covered by a checkpoint yet"), "%s", r.err);
    cr_expect_not_null(strstr(r.err, "receipt 2 is in no stored checkpoint, but checkpoint 2 "
                                     "covers later receipts (from 5): the checkpoint that covered "
                                     "it is missing or invalid"),
                       "%s", r.err);
    testutil_cli_free(&r);
    /* still provable: receipt 6, in checkpoint 2 */
    r = prove("6");
    cr_expect_eq(r.status, 0, "%s", r.err);
    testutil_cli_free(&r);

    /* swapped: neither is under its own number, so neither covers it */
    testutil_raw_write_seq(db, "checkpoints", 1, c2, l2);
    testutil_raw_write_seq(db, "checkpoints", 2, c1, l1);
    r = prove("2");
    cr_expect_eq(r.status, 1, "%s%s", r.out, r.err);
    cr_expect_not_null(strstr(r.err, "receipt 2 is in no readable checkpoint: checkpoint 1 is "
                                     "unreadable or stored under another number"),
                       "%s", r.err);
    testutil_cli_free(&r);
    chio_free(c1);
    chio_free(c2);
}

/* F2: receipt 10 (the newest, the head's last) replaced with a copy of
 * receipt 3, its chain entry and its id's index entry deleted. Before:
 * only chain_missing 10. */
Test(rev59_audit_counts, a_replaced_newest_receipt_behind_a_deleted_chain_entry_is_named)
{
    chio_receipt *r10 = NULL;
    size_t l3 = 0, l10 = 0;
    char *r3, *j10;
    audits a;

    make_log(0);
    r3 = testutil_stored(db, 0, 3, &l3);
    j10 = testutil_stored(db, 0, N, &l10);
    cr_assert_eq(chio_receipt_parse(j10, l10, &r10, NULL), 0);

    /* the chain entry alone deleted: named, and the head still checks */
    testutil_raw_write_seq(db, "chain", N, NULL, 0);
    a = audit_both();
    cr_expect_not_null(strstr(a.lines, "{\"problem\":\"chain_missing\",\"seq\":10}"), "%s",
                       a.lines);
    cr_expect_null(strstr(a.lines, "log_head_mismatch"), "%s", a.lines);
    cr_expect_eq(a.v2.log_problems, 0, "%s", a.lines);

    /* and the receipt replaced behind it */
    testutil_raw_write_seq(db, "receipts", N, r3, l3);
    testutil_raw_write(db, "receipt_ids", chio_receipt_id(r10), strlen(chio_receipt_id(r10)), NULL,
                       0);
    a = audit_both();
    cr_expect_not_null(strstr(a.lines, "{\"problem\":\"chain_missing\",\"seq\":10}"), "%s",
                       a.lines);
    cr_expect_not_null(strstr(a.lines, "{\"problem\":\"log_head_mismatch\",\"seq\":10,"
                                       "\"derived\":true,"),
                       "%s", a.lines);
    cr_expect_eq(a.v2.log_problems, 1, "%s", a.lines);
    chio_receipt_free(r10);
    chio_free(r3);
    chio_free(j10);
}
