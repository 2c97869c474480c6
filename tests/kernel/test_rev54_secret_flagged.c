/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev54_secret_flagged.c - chio_kernel_secret_flagged(),
 * the public question a host asks before quoting text the kernel never
 * checked (the MCP gateway's methods and ids, review 54): the guards'
 * reading of a string argument, no flag without a secret_leak guard, and
 * a fail-closed answer to a call it cannot read.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "kernel/kernelutil.h"

static uint64_t clock_fn(void *ctx)
{
    (void)ctx;
    return 1710000300u;
}

static chio_kernel *kernel(int guard)
{
    static const char *const pats[] = {"AKIA[0-9A-Z]{16}"};
    static const char *const tools[] = {"t"};
    chio_kernel *k = kt_echo_kernel(NULL, clock_fn, "srv", tools, 1);
    chio_error err;

    chio_error_init(&err);
    if (guard)
        cr_assert_eq(chio_kernel_add_secret_leak_guard(k, "secret", pats, 1, &err), 0, "%s",
                     err.message);
    return k;
}

static int flagged(chio_kernel *k, const char *text)
{
    int f = -1;

    cr_assert_eq(chio_kernel_secret_flagged(k, text, strlen(text), &f), 0);
    return f;
}

Test(rev54_secret_flagged, the_guards_reading_of_a_string_is_asked)
{
    chio_kernel *k = kernel(1);

    cr_expect_eq(flagged(k, "x/AKIAZZZZZZZZZZZZZZ03"), 1);
    cr_expect_eq(flagged(k, "x/AKIA%5AZZZZZZZZZZZZZ03"), 1, "decoded as the guard decodes");
    cr_expect_eq(flagged(k, "x/plain-method"), 0);
    cr_expect_eq(flagged(k, ""), 0);
    chio_kernel_free(k);
}

Test(rev54_secret_flagged, nothing_is_flagged_without_a_secret_leak_guard)
{
    chio_kernel *k = kernel(0);

    cr_expect_eq(flagged(k, "x/AKIAZZZZZZZZZZZZZZ03"), 0);
    chio_kernel_free(k);
}

Test(rev54_secret_flagged, a_call_it_cannot_read_fails_closed)
{
    chio_kernel *k = kernel(1);
    int f = 0;

    cr_expect_eq(chio_kernel_secret_flagged(NULL, "x", 1, &f), CHIO_EINVAL);
    cr_expect_eq(f, 1, "a NULL kernel leaves the text flagged");
    f = 0;
    cr_expect_eq(chio_kernel_secret_flagged(k, NULL, 1, &f), CHIO_EINVAL);
    cr_expect_eq(f, 1, "a NULL text leaves it flagged");
    cr_expect_eq(chio_kernel_secret_flagged(k, "x", 1, NULL), CHIO_EINVAL);
    chio_kernel_free(k);
}
