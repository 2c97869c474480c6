/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/store/test_rev63_archive.c - review 23 (store) F1 and F3.
 *
 * F1: an archiving pass over a log without checkpoints (--by-receipt,
 * checkpoint_batch_size 0: by_receipts() in retention.c) stopped without
 * a word at a receipt it could not read (the log's first, or one in the
 * middle with only its own chain entry recomputed): exit 0, nothing or
 * only the receipts before it moved, no retention_failed logged, and no
 * later pass moved past it. The check run now refuses the pass naming the
 * receipt (CHIO_ECORRUPT, exit 2, nothing moved), as the checkpoint path
 * does since review 22; chio_kernel_run_retention() returns it and logs
 * retention_failed. An unreadable receipt the pass would not move anyway
 * (too young) is left to the audit, as before.
 *
 * F3: a receipt stored under seq 0 (no kernel writes one) made the pass
 * a no-op with exit 0 on both paths. It is refused in the words a
 * kernel's start uses; so is a checkpoint under 0.
 *
 * The logs: a real kernel's, 14 receipts (timestamps 1001..1014),
 * checkpoints of 4 or none, damaged through RocksDB directly.
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

TestSuite(rev63_archive, .init = setup, .fini = teardown);

/* The live log still ends at receipt N and checkpoint @checkpoints and
 * records no new start: nothing moved, and the archive was not created. */
static void expect_nothing_moved(uint64_t checkpoints)
{
    tamper_expect_nothing_moved(db, arc, N, checkpoints, 1);
}

/* Put @val as receipt @seq and recompute its own chain entry only (the
 * reviewer's rechain.py): the link into it checks, nothing signed moves. */
static void rechain_one(uint64_t seq, const char *val)
{
    tamper_put_relinked(db, seq, val, strlen(val));
}

static void expect_refused_cli(const char *older_than, int by_receipt, const char *want,
                               uint64_t checkpoints)
{
    cli_result r = tamper_archive_cli(db, arc, older_than, by_receipt);

    cr_expect_eq(r.status, 2, "%s%s", r.out, r.err);
    cr_expect_not_null(strstr(r.err, want), "%s", r.err);
    cr_expect_not_null(strstr(r.err, "archiving refused, nothing was moved"), "%s", r.err);
    cr_expect(r.out == NULL || r.out[0] == '\0', "%s", r.out);
    testutil_cli_free(&r);
    expect_nothing_moved(checkpoints);
}

/* F1 ---------------------------------------------------------------------------------------- */

/* The reviewer's reproducers (a) and (b): before, exit 0 with
 * {"receipts_moved":0} (and the archive created), or receipts 1..4 moved
 * and every later pass moved nothing. */
Test(rev63_archive, an_unreadable_receipt_refuses_a_pass_by_receipt)
{
    kt_make_log(db, N, 0);
    testutil_raw_write_seq(db, "receipts", 1, "not son", 7);
    expect_refused_cli(NULL, 1, "receipt 1 is unreadable or has no receipt id", 0);
    expect_refused_cli("9999999999", 1, "receipt 1 is unreadable", 0);

    testutil_rmrf(db);
    kt_make_log(db, N, 0);
    rechain_one(5, "{}");
    expect_refused_cli(NULL, 1, "receipt 5 is unreadable or has no receipt id", 0);
    expect_refused_cli("9999999999", 1, "receipt 5 is unreadable", 0);
}

/* Through the library: CHIO_ECORRUPT, an empty report, no archive. */
Test(rev63_archive, the_library_refuses_by_receipt_with_ecorrupt)
{
    chio_store *s = NULL;
    chio_archive_report rep;
    chio_error err;

    kt_make_log(db, N, 0);
    rechain_one(9, "{\"id\":\"short\"}");
    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_WRITE, &s, NULL), 0);
    chio_error_init(&err);
    cr_expect_eq(chio_store_archive(s, arc, 0, 1, 0, &rep, &err), CHIO_ECORRUPT, "%s", err.message);
    chio_store_close(s);
    cr_expect_not_null(strstr(err.message, "receipt 9 is unreadable"), "%s", err.message);
    cr_expect_eq(rep.receipts_moved, 0);
    expect_nothing_moved(0);
}

/* One the pass would not move anyway (its timestamp not older than the
 * cutoff) is left to the audit: the receipts before it move, exit 0. */
Test(rev63_archive, an_unreadable_receipt_too_young_to_move_is_left_to_the_audit)
{
    chio_store *s = NULL;
    chio_archive_report rep;
    chio_error err;

    kt_make_log(db, N, 0);
    rechain_one(5, "{\"timestamp\":5000}");
    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_WRITE, &s, NULL), 0);
    chio_error_init(&err);
    cr_expect_eq(chio_store_archive(s, arc, 1005, 0, 0, &rep, &err), 0, "%s", err.message);
    chio_store_close(s);
    cr_expect_eq(rep.receipts_moved, 4);
    cr_expect_eq(rep.last_seq, 4);
}

/* A kernel with checkpoint_batch_size 0 takes the same path: the pass at
 * start and each chio_kernel_run_retention() refuse and are logged as
 * retention_failed (before: receipts 1..4 moved at start, then rc 0 and
 * nothing logged), and the kernel serves on. */
Test(rev63_archive, a_kernels_retention_by_receipt_reports_and_logs_the_refusal)
{
    chio_archive_report rep;
    chio_receipt *r = NULL;
    chio_kernel *k;
    chio_error err;

    kt_make_log(db, N, 0);
    rechain_one(5, "{}");
    k = tamper_retention_kernel(db, arc, 0);
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_start(k, &err), 0, "%s", err.message);
    chio_error_init(&err);
    cr_expect_eq(chio_kernel_run_retention(k, &rep, &err), CHIO_ECORRUPT, "%s", err.message);
    cr_expect_not_null(strstr(err.message, "receipt 5 is unreadable"), "%s", err.message);
    cr_expect_eq(rep.receipts_moved, 0);
    cr_expect_eq(chio_kernel_run_retention(k, &rep, NULL), CHIO_ECORRUPT);
    cr_expect_eq(chio_kernel_sign_receipt(k, kt_builder(N + 1), &r, NULL), 0);
    chio_receipt_free(r);
    chio_kernel_free(k);
    cr_expect_eq(tamper_count(tamper_logged, "\"retention_failed\""), 3, "%.2000s", tamper_logged);
    cr_expect_eq(tamper_count(tamper_logged, "receipt 5 is unreadable"), 3, "%.2000s",
                 tamper_logged);
    cr_expect(!tamper_exists(arc), "the archive was created");
}

/* F3 ---------------------------------------------------------------------------------------- */

/* A copy of receipt 1 (or checkpoint 1) stored under 0: before, exit 0 with
 * {"receipts_moved":0} on both paths. */
Test(rev63_archive, a_receipt_stored_under_0_refuses_the_pass)
{
    size_t len = 0;
    char *json;

    kt_make_log(db, N, 4);
    json = testutil_stored(db, 0, 1, &len);
    testutil_raw_write_seq(db, "receipts", 0, json, len);
    expect_refused_cli(NULL, 0,
                       "the receipt store holds a receipt numbered 0, which no kernel writes", 3);
    chio_free(json);

    testutil_rmrf(db);
    kt_make_log(db, N, 0);
    json = testutil_stored(db, 0, 1, &len);
    testutil_raw_write_seq(db, "receipts", 0, json, len);
    expect_refused_cli(NULL, 1, "the receipt store holds a receipt numbered 0", 0);
    chio_free(json);

    testutil_rmrf(db);
    kt_make_log(db, N, 4);
    json = testutil_stored(db, 1, 1, &len);
    testutil_raw_write_seq(db, "checkpoints", 0, json, len);
    expect_refused_cli(NULL, 0, "the receipt store holds a checkpoint numbered 0", 3);
    chio_free(json);
}
