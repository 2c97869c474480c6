/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev33_regex_cache.c - cached transitions in the
 * kernel's regex search (src/kernel/regex_nfa_search.c): a pattern that
 * keeps many states alive on long arguments, in sets that repeat, is
 * answered exactly within the work bound instead of being cut off (before,
 * "[A-Za-z0-9+/]{86}==" as a secret pattern denied every argument holding
 * more than about 175 KB of base64, and a regex_match "[a-z]{200}X" every
 * argument over about 80 KB); and the cached search answers as the state
 * by state one does, on random patterns and strings.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chio/error.h"
#include "kernel/kernelutil.h"
#include "kernel/rev32secret.h"
#include "kernel/tokens.h"
#include "regex_nfa.h"

#define B64 "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

static uint32_t next_rand(uint32_t *x)
{
    *x ^= *x << 13, *x ^= *x >> 17, *x ^= *x << 5;
    return *x;
}

/* {"blob":"<n random characters of @alphabet><tail>"} (caller frees). */
static char *blob_args(size_t n, const char *alphabet, const char *tail, uint32_t seed)
{
    size_t na = strlen(alphabet), off, i;
    char *s = malloc(n + strlen(tail) + 16);

    cr_assert_not_null(s);
    off = (size_t)sprintf(s, "{\"blob\":\"");
    for (i = 0; i < n; i++)
        s[off++] = alphabet[next_rand(&seed) % na];
    off += (size_t)sprintf(s + off, "%s\"}", tail);
    return s;
}

TestSuite(rev33_regex_cache);

Test(rev33_regex_cache, a_base64_secret_pattern_reads_a_megabyte_of_base64_exactly)
{
    static const char *const pats[] = {"[A-Za-z0-9+/]{86}=="};
    chio_kernel *k = r32s_guarded_kernel(pats, 1);
    char *clean = blob_args(1u << 20, B64, "", 7), *key;
    chio_response r;
    const chio_json *params;

    /* no "==" anywhere: nothing matches, and the search is not cut off */
    r32s_timed_call(k, clean, &r);
    cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW, "%s: %s", chio_code_name(r.code), r.reason);
    chio_response_destroy(&r);
    /* the same blob ending in a padded key: found, denied and redacted */
    key = blob_args(1u << 20, B64, "==", 7);
    r32s_timed_call(k, key, &r);
    cr_expect_eq(r.code, CHIO_CODE_GUARD_DENIED, "%s", chio_code_name(r.code));
    cr_expect(r.reason != NULL && strstr(r.reason, "work bound") == NULL, "%s", r.reason);
    params = chio_json_get(chio_json_get(chio_receipt_root(r.receipt), "action"), "parameters");
    cr_expect_str_eq(chio_json_string(chio_json_get(params, "blob"), NULL),
                     "[REDACTED:secret_leak]");
    chio_response_destroy(&r);
    free(clean);
    free(key);
    chio_kernel_free(k);
}

static uint64_t clock_fn(void *ctx)
{
    (void)ctx;
    return R32S_NOW;
}

Test(rev33_regex_cache, a_regex_match_with_a_long_count_reads_a_megabyte_exactly)
{
    static const char *const tools[] = {"t"};
    chio_kernel *k = kt_echo_kernel(NULL, clock_fn, "srv", tools, 1);
    char *yes = blob_args(1u << 20, "abcdefghijklmnopqrstuvwxyz", "X", 11);
    char *no = blob_args(1u << 20, "abcdefghijklmnopqrstuvwxyz", "", 11);
    chio_response r;

    /* 200 states alive at every byte: 2^24 steps ran out after about
     * 80 KB; the sets repeat, so the cached search reads every byte */
    kt_regex_call(k, R32S_NOW, "[a-z]{200}X", yes, &r);
    cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW, "%s: %s", chio_code_name(r.code), r.reason);
    chio_response_destroy(&r);
    kt_regex_call(k, R32S_NOW, "[a-z]{200}X", no, &r);
    cr_expect_eq(r.code, CHIO_CODE_CONSTRAINT_VIOLATED, "%s", chio_code_name(r.code));
    cr_expect(r.reason != NULL && strstr(r.reason, "no argument matches") != NULL, "%s", r.reason);
    chio_response_destroy(&r);
    free(yes);
    free(no);
    chio_kernel_free(k);
}

/* ---- the cached search answers as the state by state one ---------------------------------- */

static const char *const pieces[] = {"a",  "b",  "c",         "[ab]", ".",      "(a|bc)", "a*",
                                     "b+", "c?", "(ab){2,3}", "[^a]", "(a|b)*", "(|x)",   "x{1,5}"};

static void random_pattern(uint32_t *x, char *out, size_t cap)
{
    int n = 1 + (int)(next_rand(x) % 6), i;

    out[0] = '\0';
    if (next_rand(x) % 4 == 0)
        strncat(out, "^", cap - strlen(out) - 1);
    for (i = 0; i < n; i++)
        strncat(out, pieces[next_rand(x) % (sizeof(pieces) / sizeof(pieces[0]))],
                cap - strlen(out) - 1);
}

Test(rev33_regex_cache, cached_and_state_by_state_searches_agree)
{
    uint32_t x = 88172645u;
    int p, i, cached = 0;

    for (p = 0; p < 300; p++) {
        char pat[128], s[48];
        chio__nfa *a = NULL;
        chio__nfa_run fast, slow;

        random_pattern(&x, pat, sizeof(pat));
        if (chio__nfa_compile(pat, &a) != 0)
            continue;
        cr_assert_eq(chio__nfa_run_init(&fast, a, CHIO__NFA_WORK_MAX), 0);
        cr_assert_eq(chio__nfa_run_init(&slow, a, CHIO__NFA_WORK_MAX), 0);
        slow.nocache = 1;
        if (p % 2 == 0)
            fast.spent = (uint64_t)1 << 32; /* cached from the first byte */
        for (i = 0; i < 2000; i++) {
            int len = (int)(next_rand(&x) % (sizeof(s) - 1)), j, mine, theirs;
            for (j = 0; j < len; j++)
                s[j] = "abcx"[next_rand(&x) % 4];
            s[len] = '\0';
            mine = chio__nfa_run_search(&fast, s, (size_t)len);
            theirs = chio__nfa_run_search(&slow, s, (size_t)len);
            if (mine != theirs) {
                cr_expect_eq(mine, theirs, "'%s' on '%s': cached %d, state by state %d", pat, s,
                             mine, theirs);
                break;
            }
        }
        cached += fast.dfa != NULL && !fast.nocache;
        chio__nfa_run_destroy(&fast);
        chio__nfa_run_destroy(&slow);
        chio__nfa_free(a);
    }
    /* the comparison is worth something only where the cache ran */
    cr_expect_gt(cached, 200, "only %d patterns searched with the cache", cached);
}
