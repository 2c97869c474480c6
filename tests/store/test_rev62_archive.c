/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/store/test_rev62_archive.c - review 22 (store) F1 and F2.
 *
 * F1: an archiving pass over a log with checkpoints (chio_store_archive(),
 * `chio receipt archive`, a kernel's retention) stopped without a word
 * where the checkpoints did not give it its next range: a receipt missing
 * from a range it would move (the log's first included), one unreadable,
 * checkpoint 1 deleted or unreadable. It exited 0 having moved nothing or
 * only the ranges before, and no later pass moved past that point. The
 * check run now refuses the pass (CHIO_ECORRUPT, exit 2) naming the
 * receipt or checkpoint, nothing moved; a kernel's
 * chio_kernel_run_retention() returns the refusal and logs it
 * ("retention_failed"), as at start.
 *
 * F2: a receipt put after the last checkpoint of an archive that holds
 * checkpoints (replayed, its chain link recomputed) passed that archive's
 * audit alone; archiving moves whole checkpoint ranges, so no pass puts
 * one there. The audit names it (receipt_after_last_checkpoint, counted in
 * log_problems, exit 1); archives without checkpoints and live logs are
 * read as before.
 *
 * The logs: a real kernel's, 14 receipts, checkpoints of 4 (three: 1..4,
 * 5..8, 9..12) or none, damaged through RocksDB directly.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "chio/kernel.h"
#include "chio/merkle.h"
#include "chio/store.h"
#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "store/tamperutil.h"
#include "store_internal.h"

#define N 14

static char *dir, *db, *arc;

static void setup(void)
{
    tamper_paths(&dir, &db, &arc);
}

static void teardown(void)
{
    tamper_paths_free(dir, db, arc);
}

TestSuite(rev62_archive, .init = setup, .fini = teardown);

static cli_result archive_cli(const char *older_than)
{
    return tamper_archive_cli(db, arc, older_than, 0);
}

/* The live log still ends at receipt N and checkpoint @checkpoints, and
 * still records its start at receipt 1: nothing moved. */
static void expect_nothing_moved(uint64_t checkpoints)
{
    tamper_expect_nothing_moved(db, arc, N, checkpoints, 2);
}

/* A fresh log with receipt @seq deleted; the CLI pass must refuse it
 * naming @want, exit 2. */
static void expect_refused(uint64_t seq, const char *older_than, const char *want)
{
    cli_result r;

    testutil_rmrf(db);
    testutil_rmrf(arc);
    kt_make_log(db, N, 4);
    testutil_raw_write_seq(db, "receipts", seq, NULL, 0);
    r = archive_cli(older_than);
    cr_expect_eq(r.status, 2, "receipt %llu: %s%s", (unsigned long long)seq, r.out, r.err);
    cr_expect_not_null(strstr(r.err, want), "%s", r.err);
    cr_expect_not_null(strstr(r.err, "archiving refused, nothing was moved"), "%s", r.err);
    cr_expect(r.out == NULL || r.out[0] == '\0', "%s", r.out);
    testutil_cli_free(&r);
    expect_nothing_moved(3);
}

/* The reviewer's reproducers: receipt 2 (first range) or 6 (second range)
 * deleted; before, exit 0 with {"receipts_moved":0} or only range 1 moved.
 * So for the log's first receipt, a range's last, and by age. */
Test(rev62_archive, a_receipt_missing_from_a_checkpoint_range_refuses_the_pass)
{
    expect_refused(2, NULL,
                   "receipt 2 is missing (checkpoint 1 covers receipts 1..4; the next "
                   "stored is 3)");
    expect_refused(6, NULL,
                   "receipt 6 is missing (checkpoint 2 covers receipts 5..8; the next "
                   "stored is 7)");
    expect_refused(1, NULL,
                   "receipt 1 is missing (checkpoint 1 covers receipts 1..4; the next "
                   "stored is 2)");
    expect_refused(8, NULL,
                   "receipt 8 is missing (checkpoint 2 covers receipts 5..8, and none "
                   "of its receipts from 8 on is stored)");
    expect_refused(6, "9999999999", "receipt 6 is missing (checkpoint 2 covers");
}

/* Through the library: CHIO_ECORRUPT, an empty report, no archive. */
Test(rev62_archive, the_library_refuses_with_ecorrupt_and_moves_nothing)
{
    chio_store *s = NULL;
    chio_archive_report rep;
    chio_error err;

    kt_make_log(db, N, 4);
    testutil_raw_write_seq(db, "receipts", 7, NULL, 0);
    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_WRITE, &s, NULL), 0);
    chio_error_init(&err);
    cr_expect_eq(chio_store_archive(s, arc, 0, 1, 1, &rep, &err), CHIO_ECORRUPT, "%s", err.message);
    chio_store_close(s);
    cr_expect_not_null(strstr(err.message, "receipt 7 is missing"), "%s", err.message);
    cr_expect_eq(rep.receipts_moved, 0);
    cr_expect_eq(rep.checkpoints_moved, 0);
    expect_nothing_moved(3);
}

/* Checkpoint 1 deleted, or one unreadable: before, the loop did not start
 * and the pass exited 0 having moved nothing. */
Test(rev62_archive, a_deleted_first_checkpoint_refuses_the_pass)
{
    cli_result r;

    kt_make_log(db, N, 4);
    testutil_raw_write_seq(db, "checkpoints", 1, NULL, 0);
    r = archive_cli(NULL);
    cr_expect_eq(r.status, 2, "%s%s", r.out, r.err);
    cr_expect_not_null(strstr(r.err, "checkpoint 1 is missing (the first stored is 2)"), "%s",
                       r.err);
    testutil_cli_free(&r);
    expect_nothing_moved(3);

    testutil_rmrf(db);
    kt_make_log(db, N, 4);
    testutil_raw_write_seq(db, "checkpoints", 2, "junk", 4);
    r = archive_cli(NULL);
    cr_expect_eq(r.status, 2, "%s%s", r.out, r.err);
    cr_expect_not_null(strstr(r.err, "checkpoint 2 is unreadable"), "%s", r.err);
    testutil_cli_free(&r);
    expect_nothing_moved(3);
}

/* A receipt that cannot be read in a range to move: before, the range
 * was not eligible and the pass stopped there, exit 0. */
Test(rev62_archive, an_unreadable_receipt_in_a_range_refuses_the_pass)
{
    cli_result r;

    kt_make_log(db, N, 4);
    testutil_raw_write_seq(db, "receipts", 3, "{}", 2);
    r = archive_cli(NULL);
    cr_expect_eq(r.status, 2, "%s%s", r.out, r.err);
    cr_expect_not_null(strstr(r.err, "receipt 3 is unreadable"), "%s", r.err);
    testutil_cli_free(&r);
    expect_nothing_moved(3);
}

/* A range the pass would not move anyway (too young) is left to the
 * audit, as --by-receipt leaves receipts after the eligible ones: the
 * pass moves nothing and is no failure. */
Test(rev62_archive, a_hole_in_a_range_too_young_to_move_is_left_to_the_audit)
{
    chio_store *s = NULL;
    chio_archive_report rep;
    chio_error err;

    kt_make_log(db, N, 4);
    testutil_raw_write_seq(db, "receipts", 6, NULL, 0);
    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_WRITE, &s, NULL), 0);
    chio_error_init(&err);
    cr_expect_eq(chio_store_archive(s, arc, 1, 0, 1, &rep, &err), 0, "%s", err.message);
    chio_store_close(s);
    cr_expect_eq(rep.receipts_moved, 0);
}

/* A kernel's retention takes the same path: chio_kernel_run_retention()
 * returns the refusal (before: 0, nothing moved), each failed pass is
 * logged as retention_failed (before: only the one at start), and the
 * kernel serves on. */
Test(rev62_archive, a_kernels_retention_reports_and_logs_the_refusal)
{
    chio_archive_report rep;
    chio_receipt *r = NULL;
    chio_kernel *k;
    chio_error err;

    kt_make_log(db, N, 4);
    testutil_raw_write_seq(db, "receipts", 6, NULL, 0);
    k = tamper_retention_kernel(db, arc, 4);
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_start(k, &err), 0, "%s", err.message);
    chio_error_init(&err);
    cr_expect_eq(chio_kernel_run_retention(k, &rep, &err), CHIO_ECORRUPT, "%s", err.message);
    cr_expect_not_null(strstr(err.message, "receipt 6 is missing"), "%s", err.message);
    cr_expect_eq(rep.receipts_moved, 0);
    cr_expect_eq(chio_kernel_run_retention(k, &rep, NULL), CHIO_ECORRUPT);
    cr_expect_eq(chio_kernel_sign_receipt(k, kt_builder(N + 1), &r, NULL), 0);
    chio_receipt_free(r);
    chio_kernel_free(k);
    cr_expect_eq(tamper_count(tamper_logged, "\"retention_failed\""), 3, "%s", tamper_logged);
    cr_expect_eq(tamper_count(tamper_logged, "receipt 6 is missing"), 3, "%s", tamper_logged);
    cr_expect(!tamper_exists(arc), "the archive was created");
}

/* F2 ---------------------------------------------------------------------------------------- */

static void audit_cli(const char *store, int want_status, const char *want)
{
    const char *argv[] = {"receipt", "verify", "--receipt-db", store, "--allow-archive", NULL};
    cli_result r = testutil_run_cli(argv, NULL, 0);

    cr_expect_eq(r.status, want_status, "%.800s%.400s", r.out, r.err);
    if (want != NULL)
        cr_expect_not_null(strstr(r.out, want), "%.800s", r.out);
    else
        cr_expect_null(strstr(r.out, "receipt_after_last_checkpoint"), "%.800s", r.out);
    testutil_cli_free(&r);
}

/* Archive receipts 1..8 (checkpoints 1 and 2) of a log with checkpoints. */
static void make_archive(void)
{
    cli_result r;

    kt_make_log(db, N, 4);
    r = archive_cli(NULL);
    cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
    cr_assert_not_null(strstr(r.out, "\"receipts_moved\":8}"), "%s", r.out);
    testutil_cli_free(&r);
}

/* The reviewer's reproducer: receipt 3 replayed as receipt 9 of the
 * archive, its chain link recomputed. Before, exit 0 and log_problems 0. */
Test(rev62_archive, a_receipt_replayed_past_an_archives_last_checkpoint_is_named)
{
    chio_store_audit_v2 v;
    chio_store *s = NULL;
    size_t len = 0;
    char *json;

    make_archive();
    audit_cli(arc, 0, NULL);
    json = testutil_stored(arc, 0, 3, &len);
    tamper_put_relinked(arc, 9, json, len);
    chio_free(json);
    audit_cli(arc, 1,
              "{\"problem\":\"receipt_after_last_checkpoint\",\"seq\":9,\"checkpoint_seq\":2,"
              "\"batch_end_seq\":8,");

    memset(&v, 0, sizeof(v));
    v.size = sizeof(v);
    v.allow_archive = 1;
    cr_assert_eq(chio_store_open(arc, CHIO_STORE_READ_ONLY, &s, NULL), 0);
    cr_expect_eq(chio_store_audit_log_v2(s, NULL, 0, NULL, NULL, &v, NULL), 0);
    chio_store_close(s);
    cr_expect_eq(v.log_problems, 1);
    cr_expect_eq(v.base.gaps, 0);
    cr_expect_eq(v.base.invalid, 0);
}

/* The archive's last checkpoint deleted: its receipts are now after the
 * last one (before, the archive audited clean alone). */
Test(rev62_archive, an_archives_last_checkpoint_deleted_names_its_receipts)
{
    make_archive();
    testutil_raw_write_seq(arc, "checkpoints", 2, NULL, 0);
    audit_cli(arc, 1, "{\"problem\":\"receipt_after_last_checkpoint\",\"seq\":5,");
}

/* Unaffected: a live log's receipts after its newest checkpoint, and an
 * archive of a log without checkpoints (archived by single receipts). */
Test(rev62_archive, live_logs_and_archives_without_checkpoints_are_read_as_before)
{
    const char *argv[] = {"receipt",    "archive", "--receipt-db", db,  "--archive", arc,
                          "--max-size", "1",       "--by-receipt", NULL};
    const char *live[] = {"receipt", "verify", "--receipt-db", db, NULL};
    cli_result r;

    make_archive();
    r = testutil_run_cli(live, NULL, 0); /* receipts 13, 14 after checkpoint 3 */
    cr_expect_eq(r.status, 0, "%.800s%.400s", r.out, r.err);
    testutil_cli_free(&r);

    testutil_rmrf(db);
    testutil_rmrf(arc);
    kt_make_log(db, N, 0);
    r = testutil_run_cli(argv, NULL, 0);
    cr_expect_eq(r.status, 0, "%s%s", r.out, r.err);
    cr_expect_not_null(strstr(r.out, "\"receipts_moved\":13}"), "%s", r.out);
    testutil_cli_free(&r);
    audit_cli(arc, 0, NULL);
    r = testutil_run_cli(live, NULL, 0);
    cr_expect_eq(r.status, 0, "%.800s%.400s", r.out, r.err);
    testutil_cli_free(&r);
}
