/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/hostcost.c - see hostcost.h.
 */
#include "kernel/hostcost.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernel/kernelutil.h"

uint64_t hc_clock(void *ctx)
{
    (void)ctx;
    return 1710000300u;
}

double hc_call_cpu(chio_kernel *k, const char *sid, const char *key, const char *pre,
                   const char *unit, const char *post, size_t n)
{
    static const char url[] = "{\"url\":\"https://api.example.com/\",\"";
    size_t h = sizeof(url) - 1 + strlen(key) + 3, p = strlen(pre), u = strlen(unit),
           t = strlen(post), i;
    char *args = malloc(h + p + n + u + t + 3);
    struct timespec a, b;
    chio_response r;
    chio_error err;
    chio_call c;

    cr_assert_not_null(args);
    memcpy(args, url, sizeof(url) - 1);
    memcpy(args + sizeof(url) - 1, key, strlen(key));
    memcpy(args + h - 3, "\":\"", 3);
    memcpy(args + h, pre, p);
    for (i = 0; i < n; i += u)
        memcpy(args + h + p + i, unit, u);
    memcpy(args + h + p + i, post, t);
    memcpy(args + h + p + i + t, "\"}", 3);
    kt_grant_call(&c, sid, "cap-cost", args, h + p + i + t + 2);
    chio_response_init(&r);
    chio_error_init(&err);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
    cr_assert_eq(chio_kernel_evaluate(k, &c, &r, &err), 0, "%s", err.message);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
    chio_response_destroy(&r);
    free(args);
    return (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
}

void hc_expect_linear(chio_kernel *k, const char *sid, const char *tag,
                      const char *const (*cases)[3], size_t n, size_t small, double ratio)
{
    double t1, t4;
    size_t i;

    for (i = 0; i < n; i++) {
        (void)hc_call_cpu(k, sid, "cmd", cases[i][0], cases[i][1], cases[i][2], small / 4);
        t1 = hc_call_cpu(k, sid, "cmd", cases[i][0], cases[i][1], cases[i][2], small);
        t4 = hc_call_cpu(k, sid, "cmd", cases[i][0], cases[i][1], cases[i][2], 4 * small);
        fprintf(stderr, "%s cost '%s%s': %zuK %.4f s, %zuK %.4f s, ratio %.2f\n", tag, cases[i][0],
                cases[i][1], small >> 10, t1, (4 * small) >> 10, t4, t4 / (t1 > 0 ? t1 : 1e-9));
        cr_expect_lt(t4, ratio * t1 + 0.05,
                     "'%s': %zu KiB took %.4f s, %zu KiB %.4f s (ratio %.1f)", cases[i][1],
                     small >> 10, t1, (4 * small) >> 10, t4, t4 / (t1 > 0 ? t1 : 1e-9));
    }
}
