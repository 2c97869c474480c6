/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/store/test_rev60_store.c - review 20 of review 19's fixes, F6:
 * after review 19 api F1 (a directory of no store holding a stranger's
 * link or FIFO is no store), a store written before the sentinel (a
 * legacy one: RocksDB's CURRENT and no CHIO-RECEIPT-STORE) had only the
 * entries named like a store's files checked, and a FIFO named like
 * RocksDB's old table file (NNNNNN.ldb, opened when NNNNNN.sst is
 * missing) hung every open of it, `chio receipt verify --allow-legacy`
 * included. Every entry of such a directory is checked again.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chio/chio.h"
#include "common/testutil.h"

Test(rev60_store, a_fifo_in_a_legacy_store_is_refused_not_read, .timeout = 30)
{
    char *dir = testutil_tmpdir(), *st = NULL, *p = NULL, *q = NULL;
    chio_store *s = NULL;
    chio_error err;
    struct dirent *de;
    DIR *d;
    int i, rc;

    cr_assert_geq(asprintf(&st, "%s/st", dir), 0);
    /* each open and close of a store leaves a flushed table file */
    for (i = 0; i < 4; i++) {
        cr_assert_eq(chio_store_open(st, CHIO_STORE_READ_WRITE, &s, NULL), 0);
        chio_store_close(s);
        s = NULL;
    }
    cr_assert_geq(asprintf(&p, "%s/CHIO-RECEIPT-STORE", st), 0);
    cr_assert_eq(unlink(p), 0);
    free(p);
    p = NULL;
    /* a table file replaced by a FIFO under its legacy name */
    cr_assert_not_null(d = opendir(st));
    while ((de = readdir(d)) != NULL && p == NULL) {
        size_t n = strlen(de->d_name);
        if (n > 4 && strcmp(de->d_name + n - 4, ".sst") == 0) {
            cr_assert_geq(asprintf(&p, "%s/%s", st, de->d_name), 0);
            cr_assert_geq(asprintf(&q, "%s/%.*s.ldb", st, (int)(n - 4), de->d_name), 0);
        }
    }
    closedir(d);
    cr_assert_not_null(p, "no table file was written");
    cr_assert_eq(unlink(p), 0);
    cr_assert_eq(mkfifo(q, 0600), 0);
    chio_error_init(&err);
    rc = chio_store_open(st, CHIO_STORE_READ_ONLY, &s, &err);
    cr_expect_eq(rc, CHIO_ECORRUPT, "%s: %s", chio_errno_name(rc), err.message);
    cr_expect_not_null(strstr(err.message, "FIFO"), "%s", err.message);
    chio_store_close(s);
    testutil_rmrf(dir);
    free(dir);
    free(st);
    free(p);
    free(q);
}
