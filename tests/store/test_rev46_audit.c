/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/store/test_rev46_audit.c - review 46, the receipt log audit
 * (`chio receipt verify --receipt-db`) and a chain entry deleted in the
 * middle of the log.
 *
 * The audit checks each receipt's hash chain link against the stored
 * chain value before it. With the entry at k - 1 deleted (its receipt
 * kept), the link at k could not be checked, so a receipt put at k (a
 * copy of an earlier one: identical receipts share an id, so only the
 * original's index entry had to go) was never named; the audit failed on
 * "chain_missing" at k - 1 alone, naming the wrong receipt. It now goes on
 * from the value the missing entry should hold (computed from the sound
 * receipt at k - 1) and names k.
 *
 * The log: a real kernel's, 10 receipts, checkpoints of 4 (receipts 9 and
 * 10 are covered by no checkpoint, so only the chain vouches for them).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/testutil.h"
#include "kernel/kernelutil.h"

#define N 10

static char *dir, *db;

static void setup(void)
{
    chio_kernel_config cfg;
    chio_kernel *k;

    dir = testutil_tmpdir();
    cr_assert_geq(asprintf(&db, "%s/log", dir), 0);
    kt_config(&cfg, db);
    cfg.checkpoint_batch_size = 4;
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
}

TestSuite(rev46_audit, .init = setup, .fini = teardown);

static cli_result audit(void)
{
    const char *argv[] = {"receipt", "verify", "--receipt-db", db, NULL};

    return testutil_run_cli(argv, NULL, 0);
}

/* How many stdout lines name a problem. */
static size_t problem_lines(const cli_result *r)
{
    const char *p = r->out;
    size_t n = 0;

    while ((p = strstr(p, "{\"problem\":")) != NULL) {
        n++;
        p++;
    }
    return n;
}

Test(rev46_audit, a_receipt_replaced_behind_a_deleted_chain_entry_is_named)
{
    size_t len3, len10;
    char *r3 = testutil_stored(db, 0, 3, &len3), *r10 = testutil_stored(db, 0, N, &len10);
    chio_receipt *orig = NULL;
    cli_result r;

    cr_assert_eq(chio_receipt_parse(r10, len10, &orig, NULL), 0);
    testutil_raw_write_seq(db, "chain", N - 1, NULL, 0);
    testutil_raw_write_seq(db, "receipts", N, r3, len3);
    testutil_raw_write(db, "receipt_ids", chio_receipt_id(orig), strlen(chio_receipt_id(orig)),
                       NULL, 0);
    r = audit();
    cr_expect_eq(r.status, 1, "%s", r.out);
    cr_expect_not_null(strstr(r.out, "{\"problem\":\"chain_missing\",\"seq\":9}"), "%s", r.out);
    /* before review 46 nothing named receipt 10 */
    cr_expect_not_null(strstr(r.out, "{\"problem\":\"chain_mismatch\",\"seq\":10,"), "%s", r.out);
    cr_expect_eq(problem_lines(&r), 2, "%s", r.out);
    testutil_cli_free(&r);
    chio_receipt_free(orig);
    chio_free(r3);
    chio_free(r10);
}

/* The entry alone deleted: named, and the receipts around it, sound, are
 * not (the value computed in its place is the one it held). */
Test(rev46_audit, a_deleted_chain_entry_alone_names_only_itself)
{
    cli_result r;

    testutil_raw_write_seq(db, "chain", N - 1, NULL, 0);
    r = audit();
    cr_expect_eq(r.status, 1, "%s", r.out);
    cr_expect_not_null(strstr(r.out, "{\"problem\":\"chain_missing\",\"seq\":9}"), "%s", r.out);
    cr_expect_eq(problem_lines(&r), 1, "%s", r.out);
    testutil_cli_free(&r);
}

/* Two entries in a row deleted, the receipt after them replaced: the value
 * is carried over both, and the replaced receipt is named. */
Test(rev46_audit, a_receipt_replaced_behind_two_deleted_chain_entries_is_named)
{
    size_t len3, len10;
    char *r3 = testutil_stored(db, 0, 3, &len3), *r10 = testutil_stored(db, 0, N, &len10);
    chio_receipt *orig = NULL;
    cli_result r;

    cr_assert_eq(chio_receipt_parse(r10, len10, &orig, NULL), 0);
    testutil_raw_write_seq(db, "chain", N - 2, NULL, 0);
    testutil_raw_write_seq(db, "chain", N - 1, NULL, 0);
    testutil_raw_write_seq(db, "receipts", N, r3, len3);
    testutil_raw_write(db, "receipt_ids", chio_receipt_id(orig), strlen(chio_receipt_id(orig)),
                       NULL, 0);
    r = audit();
    cr_expect_eq(r.status, 1, "%s", r.out);
    cr_expect_not_null(strstr(r.out, "{\"problem\":\"chain_mismatch\",\"seq\":10,"), "%s", r.out);
    testutil_cli_free(&r);
    chio_receipt_free(orig);
    chio_free(r3);
    chio_free(r10);
}
