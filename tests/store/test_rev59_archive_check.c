/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/store/test_rev59_archive_check.c - review 19 (audit) F3: an
 * archiving pass checks what it moves.
 *
 * `chio receipt archive` (chio_store_archive(), a kernel's retention pass)
 * moved a tampered prefix into the archive with exit 0 and no warning,
 * after which the live log audited clean: the evidence was left only in
 * the archive. The pass now checks every range it would move before it
 * moves any (the receipts follow each other, each hash chain link, the
 * link into the first receipt that stays, each moved checkpoint's number,
 * signature, Merkle root and its successor's previous_checkpoint_sha256)
 * and refuses (CHIO_ECORRUPT, exit 2) naming the sequence number: nothing
 * moves, the archive is not even created.
 *
 * The logs: a real kernel's, 14 receipts, checkpoints of 4 (three: 1..4,
 * 5..8, 9..12) or none, damaged through RocksDB directly.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "chio/merkle.h"
#include "chio/receipt.h"
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

TestSuite(rev59_archive_check, .init = setup, .fini = teardown);

/* N receipts, checkpoints of @batch (0: none), the kernel gone. */
static void make_log(uint32_t batch)
{
    kt_make_log(db, N, batch);
}

/* Receipt @seq's bytes replaced with receipt @from's; with @relink its
 * chain entry recomputed from the one before, as an attacker without the
 * key would. */
static void replace_receipt(uint64_t seq, uint64_t from, int relink)
{
    size_t len = 0;
    char *json = testutil_stored(db, 0, from, &len);

    if (relink)
        tamper_put_relinked(db, seq, json, len);
    else
        testutil_raw_write_seq(db, "receipts", seq, json, len);
    chio_free(json);
}

static cli_result archive_cli(int by_receipt)
{
    return tamper_archive_cli(db, arc, NULL, by_receipt);
}

/* The live log still holds every receipt and checkpoint it had. */
static void expect_nothing_moved(uint64_t checkpoints)
{
    chio_store *s = NULL;
    uint64_t first = 0, last = 0, last_cp = 0;

    cr_expect(!tamper_exists(arc), "the archive was created");
    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_ONLY, &s, NULL), 0);
    cr_expect_eq(chio_store_seq_range(s, &first, &last, NULL), 0);
    cr_expect_eq(chio_store_last_checkpoint_seq(s, &last_cp, NULL), 0);
    chio_store_close(s);
    cr_expect_eq(first, 1);
    cr_expect_eq(last, N);
    cr_expect_eq(last_cp, checkpoints);
}

/* The reviewer's reproducer: receipt 2 replaced with a copy of receipt 3
 * and its id's index entry deleted. Before: exit 0, receipts 1..8 and
 * checkpoints 1, 2 archived, and the live log audited clean. */
Test(rev59_archive_check, a_tampered_prefix_is_not_archived)
{
    chio_receipt *r2 = NULL;
    size_t len = 0;
    char *j2;
    cli_result r;

    make_log(4);
    j2 = testutil_stored(db, 0, 2, &len);
    cr_assert_eq(chio_receipt_parse(j2, len, &r2, NULL), 0);
    replace_receipt(2, 3, 0);
    testutil_raw_write(db, "receipt_ids", chio_receipt_id(r2), strlen(chio_receipt_id(r2)), NULL,
                       0);
    r = archive_cli(0);
    cr_expect_eq(r.status, 2, "%s%s", r.out, r.err);
    cr_expect_not_null(strstr(r.err, "receipt 2 is not the one the hash chain recorded at its "
                                     "position"),
                       "%s", r.err);
    cr_expect_not_null(strstr(r.err, "archiving refused, nothing was moved"), "%s", r.err);
    cr_expect(r.out == NULL || r.out[0] == '\0', "%s", r.out);
    testutil_cli_free(&r);
    expect_nothing_moved(3);
    chio_receipt_free(r2);
    chio_free(j2);
}

/* The tamper in the second range moved: nothing moves, not even the
 * first range, which is clean. */
Test(rev59_archive_check, a_tamper_in_a_later_range_moves_nothing)
{
    chio_store *s = NULL;
    chio_archive_report rep;
    chio_error err;

    make_log(4);
    replace_receipt(6, 7, 0);
    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_WRITE, &s, NULL), 0);
    chio_error_init(&err);
    cr_expect_eq(chio_store_archive(s, arc, 0, 1, 1, &rep, &err), CHIO_ECORRUPT, "%s", err.message);
    chio_store_close(s);
    cr_expect_not_null(strstr(err.message, "receipt 6 is not the one"), "%s", err.message);
    cr_expect_eq(rep.receipts_moved, 0);
    cr_expect_eq(rep.checkpoints_moved, 0);
    expect_nothing_moved(3);
}

/* A receipt replaced with its chain entry recomputed: the next link
 * names it; the last of a range relinked: the checkpoint's root. */
Test(rev59_archive_check, relinked_receipts_are_named_by_the_next_link_or_the_root)
{
    cli_result r;

    make_log(4);
    replace_receipt(2, 3, 1);
    r = archive_cli(0);
    cr_expect_eq(r.status, 2, "%s%s", r.out, r.err);
    cr_expect_not_null(strstr(r.err, "receipt 3 is not the one the hash chain recorded"), "%s",
                       r.err);
    testutil_cli_free(&r);
    expect_nothing_moved(3);

    testutil_rmrf(db);
    make_log(4);
    replace_receipt(8, 7, 1);
    r = archive_cli(0);
    cr_expect_eq(r.status, 2, "%s%s", r.out, r.err);
    cr_expect_not_null(strstr(r.err, "the stored receipts 5..8 do not rebuild the Merkle root "
                                     "checkpoint 2 signed"),
                       "%s", r.err);
    testutil_cli_free(&r);
    expect_nothing_moved(3);
}

/* A moved checkpoint whose signature no longer verifies (one hex digit
 * of it changed): before, it moved with exit 0, and the live log's first
 * checkpoint names it by a hash nothing then checked. */
Test(rev59_archive_check, a_checkpoint_that_does_not_verify_is_not_archived)
{
    size_t len = 0;
    char *c2, *sig;
    cli_result r;

    make_log(4);
    c2 = testutil_stored(db, 1, 2, &len);
    sig = strstr(c2, "\"signature\":\"");
    cr_assert_not_null(sig, "%s", c2);
    sig += strlen("\"signature\":\"");
    *sig = *sig == '0' ? '1' : '0';
    testutil_raw_write_seq(db, "checkpoints", 2, c2, len);
    chio_free(c2);
    r = archive_cli(0);
    cr_expect_eq(r.status, 2, "%s%s", r.out, r.err);
    cr_expect_not_null(strstr(r.err, "checkpoint 2 does not verify"), "%s", r.err);
    testutil_cli_free(&r);
    expect_nothing_moved(3);
}

/* Without checkpoints (--by-receipt): a relinked receipt in the middle is
 * named by the next link, the last one to move by the link into the
 * first that stays, and a deleted one as missing. */
Test(rev59_archive_check, by_receipt_checks_the_links_and_the_gaps)
{
    cli_result r;

    make_log(0);
    replace_receipt(4, 3, 1);
    r = archive_cli(1);
    cr_expect_eq(r.status, 2, "%s%s", r.out, r.err);
    cr_expect_not_null(strstr(r.err, "receipt 5 is not the one the hash chain recorded"), "%s",
                       r.err);
    testutil_cli_free(&r);
    expect_nothing_moved(0);

    testutil_rmrf(db);
    make_log(0);
    replace_receipt(N - 1, 3, 1); /* the last to move: N stays */
    r = archive_cli(1);
    cr_expect_eq(r.status, 2, "%s%s", r.out, r.err);
    cr_expect_not_null(strstr(r.err, "receipt 14 is not the one the hash chain recorded at its "
                                     "position (chain_mismatch: it stays, so the last receipt to "
                                     "move before it"),
                       "%s", r.err);
    testutil_cli_free(&r);
    expect_nothing_moved(0);

    testutil_rmrf(db);
    make_log(0);
    testutil_raw_write_seq(db, "receipts", 5, NULL, 0);
    r = archive_cli(1);
    cr_expect_eq(r.status, 2, "%s%s", r.out, r.err);
    cr_expect_not_null(strstr(r.err, "receipt 5 is missing (the next stored is 6)"), "%s", r.err);
    testutil_cli_free(&r);
    cr_expect(!tamper_exists(arc));
}

/* An intact log still archives, and both logs audit clean. */
Test(rev59_archive_check, an_intact_log_still_archives)
{
    const char *live[] = {"receipt", "verify", "--receipt-db", db, NULL};
    const char *both[] = {"receipt", "verify", "--receipt-db", db, "--archive", arc, NULL};
    cli_result r;

    make_log(4);
    r = archive_cli(0);
    cr_expect_eq(r.status, 0, "%s%s", r.out, r.err);
    cr_expect_not_null(strstr(r.out, "\"last_seq\":8,"), "%s", r.out);
    cr_expect_not_null(strstr(r.out, "\"receipts_moved\":8}"), "%s", r.out);
    testutil_cli_free(&r);
    r = testutil_run_cli(live, NULL, 0);
    cr_expect_eq(r.status, 0, "%.600s", r.out);
    testutil_cli_free(&r);
    r = testutil_run_cli(both, NULL, 0);
    cr_expect_eq(r.status, 0, "%.800s%s", r.out, r.err);
    testutil_cli_free(&r);
    /* and once more: the next range is checked from the anchor left */
    r = archive_cli(0);
    cr_expect_eq(r.status, 0, "%s%s", r.out, r.err);
    cr_expect_not_null(strstr(r.out, "\"receipts_moved\":0"), "%s", r.out);
    testutil_cli_free(&r);

    testutil_rmrf(db);
    testutil_rmrf(arc);
    make_log(0);
    r = archive_cli(1);
    cr_expect_eq(r.status, 0, "%s%s", r.out, r.err);
    cr_expect_not_null(strstr(r.out, "\"receipts_moved\":13}"), "%s", r.out);
    testutil_cli_free(&r);
    r = testutil_run_cli(both, NULL, 0);
    cr_expect_eq(r.status, 0, "%.800s%s", r.out, r.err);
    testutil_cli_free(&r);
}
