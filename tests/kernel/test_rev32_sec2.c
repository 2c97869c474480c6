/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev32_sec2.c - review 32's second look at the
 * secret_leak guard on the kernel's own automaton (regex_nfa.c): a
 * seeded differential against glibc's regexec on random patterns (what
 * the kernel accepts, it answers as glibc does, but for glibc's two
 * nonconforming readings, where glibc matches more, never less), the
 * cost of ordinary host patterns on ordinary arguments (a pattern opening
 * many alternatives was cut off and denied), registration of large
 * patterns, and redaction when the work bound cuts a call off. Real
 * pipeline: chio_kernel_evaluate, an ephemeral store, signed receipts.
 * CHIO_REGEX_DIFF_PATTERNS=N runs the differential over N patterns.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

#define NOW 1710000300u

static uint64_t clock_fn(void *ctx)
{
    (void)ctx;
    return NOW;
}

static double process_cpu(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the cost of ordinary patterns on ordinary arguments --------------------------------- */

/* A kernel serving srv/t (echo) with one secret_leak guard of @patterns. */
static chio_kernel *guarded_kernel(const char *const *patterns, size_t n)
{
    static const char *const tools[] = {"t"};
    chio_kernel *k = kt_echo_kernel(NULL, clock_fn, "srv", tools, 1);
    chio_error err;

    chio_error_init(&err);
    cr_assert_eq(chio_kernel_add_secret_leak_guard(k, "Secrets", patterns, n, &err), 0, "%s",
                 err.message);
    return k;
}

/* Evaluate @args under a fresh token of srv/t; the CPU seconds taken. */
static double timed_call(chio_kernel *k, const char *args, chio_response *r)
{
    static unsigned n;
    char sid[CHIO_SESSION_ID_LEN + 1], id[32];
    chio_error err;
    chio_call c;
    double t0;

    snprintf(id, sizeof(id), "cap-r32s2-%u", ++n);
    kt_grant_session(k, NOW, id, "", sid);
    kt_grant_call(&c, sid, id, args, strlen(args));
    chio_response_init(r);
    chio_error_init(&err);
    t0 = process_cpu();
    cr_assert_eq(chio_kernel_evaluate(k, &c, r, &err), 0, "%s", err.message);
    cr_assert_not_null(r->receipt);
    return process_cpu() - t0;
}

/* {"v":"<words>"}: @n bytes of prose (caller frees). */
static char *prose_value(size_t n)
{
    static const char *const words[] = {"the",    "quick", "brown", "fox",   "jumps",
                                        "over",   "lazy",  "dog",   "value", "user_id",
                                        "return", "12345", "token", "key",   "2024-01-01"};
    char *s = malloc(n + 16);
    size_t i = 6;
    unsigned seed = 7;

    cr_assert_not_null(s);
    memcpy(s, "{\"v\":\"", 6);
    while (i < 6 + n) {
        const char *w = words[(unsigned)rand_r(&seed) % 15];
        size_t l = strlen(w);
        if (i + l + 1 > 6 + n)
            break;
        memcpy(s + i, w, l);
        i += l;
        s[i++] = ' ';
    }
    memcpy(s + i, "\"}", 3);
    return s;
}

Test(rev32_sec2, a_pattern_listing_many_tokens_is_not_cut_off_on_prose)
{
    /* A host's list of known tokens as one alternation: the search
     * entered every alternative at every byte, two steps each, so forty
     * of them (80 steps a byte) spent the guard's bound (64 a byte) on
     * any argument over about 256 KB, and the call was denied "not
     * scanned within the guard's work bound". Now a byte enters only the
     * alternatives that start with it (the automaton's start table). */
    char pat[2048], *args;
    const char *pats[1] = {pat};
    size_t off = 0, i, j;
    unsigned seed = 40;
    chio_kernel *k;
    chio_response r;

    for (i = 0; i < 40; i++) {
        static const char an[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        pat[off++] = i == 0 ? '(' : '|';
        for (j = 0; j < 20; j++)
            pat[off++] = an[(unsigned)rand_r(&seed) % 62];
    }
    memcpy(pat + off, ")", 2);
    k = guarded_kernel(pats, 1);
    args = prose_value(1u << 20);
    timed_call(k, args, &r);
    cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW, "%s", r.reason);
    chio_response_destroy(&r);
    /* and a listed token at the end is found */
    memcpy(args + 6 + (1u << 20) - 40, pat + 22, 20);
    timed_call(k, args, &r);
    cr_expect_eq(r.code, CHIO_CODE_GUARD_DENIED, "%s", chio_code_name(r.code));
    cr_expect_not_null(strstr(r.reason, "matches secret pattern 0"), "%s", r.reason);
    chio_response_destroy(&r);
    free(args);
    chio_kernel_free(k);
}
