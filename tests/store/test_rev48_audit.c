/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/store/test_rev48_audit.c - review 48, the audit of an archive and
 * the live log together (`chio receipt verify --receipt-db LIVE --archive
 * ARCH`) against keys no kernel writes.
 *
 * Each log's own audit names a key that is not an 8-byte sequence number
 * ("bad_key") and goes on (review 47). The check of the seam between the
 * two logs read the older log's last receipt and checkpoint numbers with a
 * strict read, so a junk key at the archive's end stopped the whole audit
 * (exit 2, "a receipts key is not 8 bytes") before the live log was
 * checked. The seam now steps over such keys; the archive's audit names
 * them.
 *
 * The log: a real kernel's, 10 receipts, checkpoints of 4; receipts 1-4
 * archived by checkpoint; damaged through RocksDB directly
 * (testutil_raw_write).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chio/store.h"
#include "common/testutil.h"
#include "kernel/kernelutil.h"

#define N 10

static char *dir, *db, *arch;

static void setup(void)
{
    chio_kernel_config cfg;
    chio_archive_report rep;
    chio_error err;
    chio_kernel *k;
    chio_store *s;

    dir = testutil_tmpdir();
    cr_assert_geq(asprintf(&db, "%s/log", dir), 0);
    cr_assert_geq(asprintf(&arch, "%s/arch", dir), 0);
    kt_config(&cfg, db);
    cfg.checkpoint_batch_size = 4;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    k = kt_kernel(&cfg);
    kt_sign_range(k, 1, N);
    chio_kernel_free(k);
    chio_error_init(&err);
    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_WRITE, &s, &err), 0, "%s", err.message);
    memset(&rep, 0, sizeof(rep));
    cr_assert_eq(chio_store_archive(s, arch, 0, 1, 1, &rep, &err), 0, "%s", err.message);
    chio_store_close(s);
}

static void teardown(void)
{
    testutil_rmrf(dir);
    free(dir);
    free(db);
    free(arch);
}

TestSuite(rev48_audit, .init = setup, .fini = teardown);

static cli_result audit_both(void)
{
    const char *argv[] = {"receipt", "verify", "--receipt-db", db, "--archive", arch, NULL};

    return testutil_run_cli(argv, NULL, 0);
}

Test(rev48_audit, the_archive_and_the_live_log_audit_clean_together)
{
    cli_result r = audit_both();

    cr_expect_eq(r.status, 0, "%s%s", r.out, r.err);
    cr_expect_null(strstr(r.out, "{\"problem\":"), "%s", r.out);
    testutil_cli_free(&r);
}

/* A 9-byte key of 0xff bytes sorts after every receipt of the archive:
 * the seam's read of the archive's last receipt met it first. */
Test(rev48_audit, a_junk_key_at_the_archives_end_is_named_and_the_audit_goes_on)
{
    static const unsigned char junk[9] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    cli_result r;

    testutil_raw_write(arch, "receipts", junk, sizeof(junk), "junk", 4);
    testutil_raw_write(arch, "checkpoints", junk, sizeof(junk), "junk", 4);
    r = audit_both();
    /* before review 48: exit 2, "audit stopped", the live log unchecked */
    cr_expect_eq(r.status, 1, "%s%s", r.out, r.err);
    cr_expect_null(strstr(r.err, "not 8 bytes"), "%s", r.err);
    cr_expect_not_null(strstr(r.out, "{\"problem\":\"bad_key\",\"family\":\"receipts\","
                                     "\"key_hex\":\"ffffffffffffffffff\""),
                       "%s%s", r.out, r.err);
    cr_expect_not_null(strstr(r.out, "{\"problem\":\"bad_key\",\"family\":\"checkpoints\","
                                     "\"key_hex\":\"ffffffffffffffffff\""),
                       "%s%s", r.out, r.err);
    /* the seam itself is intact: no seam problem is made up */
    cr_expect_null(strstr(r.out, "{\"problem\":\"seam_"), "%s", r.out);
    testutil_cli_free(&r);
}

/* The same key at the start of the archive (a 1-byte 0x00 key sorts
 * before every receipt) is named too, and the seam holds. */
Test(rev48_audit, a_junk_key_at_the_archives_start_is_named)
{
    static const unsigned char junk[1] = {0};
    cli_result r;

    testutil_raw_write(arch, "receipts", junk, sizeof(junk), "junk", 4);
    r = audit_both();
    cr_expect_eq(r.status, 1, "%s%s", r.out, r.err);
    cr_expect_not_null(strstr(r.out, "{\"problem\":\"bad_key\",\"family\":\"receipts\","
                                     "\"key_hex\":\"00\""),
                       "%s%s", r.out, r.err);
    cr_expect_null(strstr(r.out, "{\"problem\":\"seam_"), "%s", r.out);
    testutil_cli_free(&r);
}

/* The lenient reads are the audit's only: a kernel still refuses to start
 * on a log whose receipts or checkpoints end in a junk key (it would
 * continue numbering from a log it cannot read), and the open that an
 * auditor makes still succeeds. */
static void expect_start_refused(const char *family)
{
    static const unsigned char junk[9] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    chio_kernel_config cfg;
    chio_kernel *k = NULL;
    chio_error err;
    int rc;

    testutil_raw_write(db, family, junk, sizeof(junk), "junk", 4);
    kt_config(&cfg, db);
    cfg.checkpoint_batch_size = 4;
    chio_error_init(&err);
    rc = chio_kernel_new(&cfg, &k, &err);
    if (rc == 0)
        rc = chio_kernel_start(k, &err);
    cr_expect_eq(rc, CHIO_ECORRUPT, "%s: start gave %s: %s", family, chio_errno_name(rc),
                 err.message);
    chio_kernel_free(k);
}

Test(rev48_audit, a_kernel_refuses_a_log_whose_receipts_end_in_a_junk_key)
{
    expect_start_refused("receipts");
}

Test(rev48_audit, a_kernel_refuses_a_log_whose_checkpoints_end_in_a_junk_key)
{
    cli_result r;

    expect_start_refused("checkpoints");
    r = testutil_run_cli((const char *const[]){"receipt", "verify", "--receipt-db", db, NULL}, NULL,
                         0);
    cr_expect_eq(r.status, 1, "%s%s", r.out, r.err);
    cr_expect_not_null(strstr(r.out, "{\"problem\":\"bad_key\",\"family\":\"checkpoints\""), "%s%s",
                       r.out, r.err);
    testutil_cli_free(&r);
}
