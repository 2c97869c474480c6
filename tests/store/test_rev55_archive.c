/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/store/test_rev55_archive.c - an archiving pass whose source log
 * carries the archive record (an archive log, or a live one marked as one
 * by hand) is refused with CHIO_ECORRUPT before anything is opened or
 * moved, as a kernel's start refuses such a log (review 54's audit F2,
 * left open then: `chio receipt archive` still moved receipts from it,
 * and through the CLI too).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chio/store.h"
#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "store_internal.h"

Test(rev55_archive, a_source_log_carrying_the_archive_record_is_not_archived_from)
{
    char *dir = testutil_tmpdir(), *db = testutil_join(dir, "log"),
         *arch = testutil_join(dir, "arch");
    chio_kernel_config cfg;
    chio_archive_report rep;
    chio_store *s = NULL;
    chio_kernel *k;
    chio_error err;
    uint64_t first = 0, last = 0;
    cli_result r;

    kt_config(&cfg, db);
    cfg.checkpoint_batch_size = 0;
    k = kt_kernel(&cfg);
    kt_sign_range(k, 1, 8);
    chio_kernel_free(k);
    testutil_raw_write(db, "default", CHIO__META_ARCHIVE, strlen(CHIO__META_ARCHIVE),
                       "\0\0\0\0\0\0\0\1", 8);

    cr_assert_eq(chio_store_open(db, CHIO_STORE_READ_WRITE, &s, NULL), 0);
    cr_expect_eq(chio_store_archive(s, arch, 0, 1, 0, &rep, &err), CHIO_ECORRUPT);
    cr_expect_not_null(strstr(err.message, "archive"), "%s", err.message);
    cr_expect_eq(rep.receipts_moved, 0);
    cr_expect_eq(chio_store_seq_range(s, &first, &last, NULL), 0);
    cr_expect(first == 1 && last == 8, "the log moved: %llu..%llu", (unsigned long long)first,
              (unsigned long long)last);
    chio_store_close(s);
    cr_expect_neq(access(arch, F_OK), 0, "the archive was created");

    r = testutil_run_cli((const char *const[]){"receipt", "archive", "--receipt-db", db,
                                               "--archive", arch, "--max-size", "1", NULL},
                         NULL, 0);
    cr_expect_neq(r.status, 0, "exit %d: %s%s", r.status, r.out, r.err);
    cr_expect_not_null(strstr(r.err, "archive"), "%s", r.err);
    cr_expect_neq(access(arch, F_OK), 0, "the archive was created");
    testutil_cli_free(&r);
    testutil_rmrf(dir);
    free(arch);
    free(db);
    free(dir);
}
