/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev59_start.c - review 19 of the public API (a note):
 * a kernel whose store cannot open tries the start again on every call
 * and logged kernel_start_failed at error each time (172k lines in 0.3 s
 * from a tight loop: the host's log grows without bound). Now at error
 * at most once a second, with the count of failures logged at debug
 * only since; every call still gets the error.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/testutil.h"
#include "kernel/kernelutil.h"

typedef struct counts {
    unsigned error_lines, debug_lines;
} counts;

static void sink(void *ctx, chio_log_level level, const char *json, size_t len)
{
    counts *c = ctx;

    if (memmem(json, len, "kernel_start_failed", 19) == NULL)
        return;
    if (level == CHIO_LOG_ERROR)
        c->error_lines++;
    else
        c->debug_lines++;
}

Test(rev59_start, a_store_that_cannot_open_is_logged_once_a_second_not_once_a_call)
{
    char *dir = testutil_tmpdir(), *path = NULL;
    chio_kernel_config cfg;
    chio_kernel *k;
    chio_error err;
    counts c = {0, 0};
    unsigned i, calls = 20000;
    struct timespec t0, t1;
    double secs;

    /* a store path whose parent does not exist */
    cr_assert_geq(asprintf(&path, "%s/missing/db", dir), 0);
    kt_config(&cfg, path);
    cfg.log = sink;
    cfg.log_ctx = &c;
    cfg.log_level = CHIO_LOG_DEBUG;
    k = kt_kernel(&cfg);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (i = 0; i < calls; i++) {
        chio_error_init(&err);
        cr_assert_neq(chio_kernel_start(k, &err), 0);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    /* one error line per second begun, the rest at debug: none is lost */
    cr_expect_geq(c.error_lines, 1);
    cr_expect_leq(c.error_lines, (unsigned)secs + 2, "%u error lines in %.2f s", c.error_lines,
                  secs);
    cr_expect_eq(c.error_lines + c.debug_lines, calls);
    chio_kernel_free(k);
    testutil_rmrf(dir);
    free(dir);
    free(path);
}
