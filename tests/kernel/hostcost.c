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
