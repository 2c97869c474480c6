/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev33_regex_check.c - chio_regex_constraint_check()
 * says exactly which regex_match patterns the kernel enforces: for each
 * pattern below, the check accepts it if and only if a call whose
 * arguments match it is allowed through the real pipeline (a refused
 * pattern denies every call under its grant, constraint_violated). The
 * MCP gateway checks its policy's grants with it; before, it asked glibc's
 * regcomp, which accepted "\d" (the kernel denies every call under it)
 * and refused chio's "(?:" (the kernel reads it).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chio/error.h"
#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

#define NOW 1710000300u

static uint64_t clock_fn(void *ctx)
{
    (void)ctx;
    return NOW;
}

/* One call of srv/t with {"q":@value} under a grant carrying regex_match
 * @pattern (JSON string body); 1 when it was allowed. */
static int allowed(chio_kernel *k, const char *pattern, const char *value)
{
    chio_response r;
    char *args;
    int allow;

    cr_assert(asprintf(&args, "{\"q\":\"%s\"}", value) > 0);
    kt_regex_call(k, NOW, pattern, args, &r);
    allow = r.verdict == CHIO_VERDICT_ALLOW;
    if (!allow)
        cr_expect_eq(r.code, CHIO_CODE_CONSTRAINT_VIOLATED, "%s: %s", pattern, r.reason);
    chio_response_destroy(&r);
    free(args);
    return allow;
}

TestSuite(rev33_regex_check);

Test(rev33_regex_check, the_check_accepts_exactly_the_patterns_the_kernel_enforces)
{
    /* pattern (JSON string body), a value it matches as chio reads it */
    static const struct {
        const char *pattern, *value;
    } rows[] = {
        {"^(?:ab)+$", "abab"},
        {"^[a-z0-9_]{1,64}$", "file_1"},
        {"^/workspace/.*", "/workspace/a"},
        {"a+?b", "aab"},
        {"^\\\\d+$", "123"},
        {"(?i)abc", "abc"},
        {"x{1,32767}", "x"},
        {"(", "("},
        {"[\\\\w]", "a"},
        {"^\\\\bword", "word"},
        {"(a)\\\\1", "aa"},
        {"^é+$", "éé"},
        {"[é]", "é"},
        {"^.$", "é"},
    };
    static const char *const tools[] = {"t"};
    chio_kernel *k = kt_echo_kernel(NULL, clock_fn, "srv", tools, 1);
    size_t i;

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char *pat = NULL;
        chio_error err;
        int rc;

        /* the JSON body's escapes undone: "\\\\" is one backslash */
        cr_assert_not_null(pat = strdup(rows[i].pattern));
        for (char *p = pat, *q = pat;; p++) {
            if (p[0] == '\\' && p[1] == '\\')
                p++;
            if ((*q++ = *p) == '\0')
                break;
        }
        chio_error_init(&err);
        rc = chio_regex_constraint_check(pat, &err);
        cr_expect(rc == 0 || rc == CHIO_EINVAL, "%s: %d", pat, rc);
        if (rc != 0)
            cr_expect(err.message[0] != '\0', "%s: no reason", pat);
        cr_expect_eq(rc == 0, allowed(k, rows[i].pattern, rows[i].value),
                     "%s: the check says %d, the kernel disagrees (%s)", pat, rc, err.message);
        free(pat);
    }
    chio_kernel_free(k);
}

Test(rev33_regex_check, a_null_pattern_is_einval)
{
    chio_error err;

    chio_error_init(&err);
    cr_expect_eq(chio_regex_constraint_check(NULL, &err), CHIO_EINVAL);
    cr_expect(err.message[0] != '\0');
    cr_expect_eq(chio_regex_constraint_check("ok", NULL), 0);
}
