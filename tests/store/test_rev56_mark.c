/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/store/test_rev56_mark.c - the sentinel's mark moves without
 * allocating.
 *
 * The mark moves on the kernel's commit thread, and a mark that cannot be
 * written fails the kernel closed (review 54). The writer used to build
 * the sentinel's two names with asprintf and write through stdio, so one
 * failed allocation there, under memory pressure that ended a moment
 * later, failed the whole kernel closed for good. CI caught it as a flaky
 * rev33_oom_token::many_callers_while_memory_is_tight_on_every_thread
 * (about one run in ten). Now the writer and the reader use stack buffers
 * only: every allocation failing on the thread changes nothing.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/failalloc.h"
#include "common/testutil.h"
#include "store_db.h"

Test(rev56_mark, the_mark_is_written_and_read_with_every_allocation_failing)
{
    char *dir = testutil_tmpdir();
    char *path = testutil_join(dir, "CHIO-RECEIPT-STORE");
    uint64_t counted, read_back;
    size_t len = 0;
    char *body;
    int e, r;

    cr_assert(fa_active());
    fa_arm(1, FA_THIS_THREAD, FA_FROM_NTH);
    e = chio__store_write_sentinel(dir, 41);
    r = chio__store_sentinel_checkpoint(dir, &read_back);
    counted = fa_disarm();
    cr_assert_eq(e, 0, "the mark was not written: %s", strerror(e));
    cr_assert_eq(r, 0, "the mark was not read: %d", r);
    cr_assert_eq(read_back, 41);
    cr_assert_eq(counted, 0, "the mark's writer and reader allocated %llu times",
                 (unsigned long long)counted);
    body = testutil_read_file(path, &len);
    cr_assert_not_null(body);
    cr_assert_eq(len, strlen("chio.receipt_store.v1\nlast_checkpoint 41\n"));
    cr_assert_eq(memcmp(body, "chio.receipt_store.v1\nlast_checkpoint 41\n", len), 0);
    free(body);
    free(path);
    testutil_rmrf(dir);
    free(dir);
}

Test(rev56_mark, a_name_past_path_max_is_refused_not_truncated)
{
    char *dir = testutil_tmpdir();
    size_t n = strlen(dir);
    char *longdir = malloc(PATH_MAX + 8);
    uint64_t mark = 7;

    cr_assert_not_null(longdir);
    memcpy(longdir, dir, n);
    memset(longdir + n, 'a', PATH_MAX + 7 - n);
    longdir[n] = '/';
    longdir[PATH_MAX + 7] = '\0';
    /* "@dir/aaa...": one name the writer cannot hold, never a shorter one */
    cr_assert_eq(chio__store_write_sentinel(longdir, 3), ENAMETOOLONG);
    cr_assert_eq(chio__store_sentinel_checkpoint(longdir, &mark), ENAMETOOLONG);
    cr_assert_eq(mark, 0);
    free(longdir);
    testutil_rmrf(dir);
    free(dir);
}
