/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/rev32secret.c - see rev32secret.h.
 */
#include "kernel/rev32secret.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "kernel/kernelutil.h"

static uint64_t clock_fn(void *ctx)
{
    (void)ctx;
    return R32S_NOW;
}

double r32s_process_cpu(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

chio_kernel *r32s_guarded_kernel(const char *const *patterns, size_t n)
{
    static const char *const tools[] = {"t"};
    chio_kernel *k = kt_echo_kernel(NULL, clock_fn, "srv", tools, 1);
    chio_error err;

    chio_error_init(&err);
    cr_assert_eq(chio_kernel_add_secret_leak_guard(k, "Secrets", patterns, n, &err), 0, "%s",
                 err.message);
    return k;
}

double r32s_timed_call(chio_kernel *k, const char *args, chio_response *r)
{
    static unsigned n;
    char sid[CHIO_SESSION_ID_LEN + 1], id[32];
    chio_error err;
    chio_call c;
    double t0;

    snprintf(id, sizeof(id), "cap-r32s-%u", ++n);
    kt_grant_session(k, R32S_NOW, id, "", sid);
    kt_grant_call(&c, sid, id, args, strlen(args));
    chio_response_init(r);
    chio_error_init(&err);
    t0 = r32s_process_cpu();
    cr_assert_eq(chio_kernel_evaluate(k, &c, r, &err), 0, "%s", err.message);
    t0 = r32s_process_cpu() - t0;
    cr_assert_not_null(r->receipt);
    return t0;
}

void r32s_run_rows(const char *const *patterns, size_t np, const char *const *denied, size_t nd,
                   const char *const *allowed, size_t na)
{
    chio_kernel *k = r32s_guarded_kernel(patterns, np);
    chio_response r;
    size_t i;

    for (i = 0; i < nd; i++) {
        r32s_timed_call(k, denied[i], &r);
        cr_expect_eq(r.verdict, CHIO_VERDICT_DENY, "row %zu allowed", i);
        cr_expect_eq(r.code, CHIO_CODE_GUARD_DENIED, "row %zu: %s", i, chio_code_name(r.code));
        chio_response_destroy(&r);
    }
    for (i = 0; i < na; i++) {
        r32s_timed_call(k, allowed[i], &r);
        cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW, "row %zu: %s", i, r.reason);
        chio_response_destroy(&r);
    }
    chio_kernel_free(k);
}
