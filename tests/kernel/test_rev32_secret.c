/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev32_secret.c - review 32 of the secret_leak guard's
 * cost (the "Bounded" standard: what an agent sends cannot make a call's
 * CPU or memory unbounded). glibc's regexec, which searched the guard's
 * patterns before, took 52 s for one call with 200 KB of 'a' under
 * "[a-z0-9]+@example\.com", and its regcomp 22 s and 8 GB to register
 * "x{1,32767}". The patterns now go through the kernel's own automaton
 * (src/kernel/regex_nfa.c) with a work bound per call. These tests run
 * the real pipeline (chio_kernel_evaluate, an ephemeral store, signed
 * receipts) and read the calling thread's CPU time; they also hold the
 * automaton to glibc's answers on the patterns a host writes.
 */
#include <criterion/criterion.h>
#include <locale.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernel/kernelutil.h"
#include "kernel/rev32secret.h"
#include "kernel/tokens.h"
#include "regex_nfa.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SL_SLOW 8.0 /* sanitizers run this code several times slower */
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SL_SLOW 8.0
#endif
#endif
#ifndef SL_SLOW
#define SL_SLOW 1.0
#endif

/* {"v":"<c x n>"} (caller frees). */
static char *long_value(char c, size_t n)
{
    char *s = malloc(n + 16);

    cr_assert_not_null(s);
    memcpy(s, "{\"v\":\"", 6);
    memset(s + 6, c, n);
    memcpy(s + 6 + n, "\"}", 3);
    return s;
}

/* The receipt of @r verifies under the kernel key. */
static void expect_verifies(const chio_response *r)
{
    chio_receipt_report rep;
    uint8_t pub[32];

    cr_assert_eq(chio_pubkey_from_hex(TEST_PUB, 64, pub), 0);
    cr_assert_eq(chio_receipt_verify(r->receipt, pub, 1, &rep), 0);
    cr_expect(rep.ok, "the receipt does not verify");
}

/* ---- a search costs time linear in the argument ------------------------------------------ */

Test(rev32_secret, an_agents_long_argument_costs_linear_time_under_an_ordinary_pattern)
{
    /* glibc: 15 s for 100 KB, 52 s for 200 KB (quadratic) */
    static const char *const pats[] = {"[a-z0-9]+@example\\.com"};
    chio_kernel *k = r32s_guarded_kernel(pats, 1);
    char *args = long_value('a', 200000);
    chio_response r;
    double cpu = r32s_timed_call(k, args, &r);

    cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW, "%s", r.reason);
    cr_expect_lt(cpu, 2.0 * SL_SLOW, "one call took %.2f s of CPU", cpu);
    expect_verifies(&r);
    chio_response_destroy(&r);
    free(args);

    /* and a match at the end of a long run is still found */
    args = long_value('a', 200000);
    memcpy(args + 6 + 200000 - 12, "@example.com", 12);
    cpu = r32s_timed_call(k, args, &r);
    cr_expect_eq(r.code, CHIO_CODE_GUARD_DENIED, "%s", chio_code_name(r.code));
    cr_expect_lt(cpu, 2.0 * SL_SLOW, "one call took %.2f s of CPU", cpu);
    expect_verifies(&r);
    chio_response_destroy(&r);
    free(args);
    chio_kernel_free(k);
}

Test(rev32_secret, a_pattern_that_keeps_many_states_alive_is_cut_off_and_denies)
{
    /* On a long run of 'a' and 'b' at random, (a|b){60} keeps about
     * sixty threads alive at every byte, in sets that do not repeat (so
     * cached transitions do not help): past the guard's work bound (64
     * steps a byte) the search stops and the string is flagged (fail
     * closed). */
    static const char *const pats[] = {"(a|b)*a(a|b){60}x"};
    chio_kernel *k = r32s_guarded_kernel(pats, 1);
    char *args = long_value('a', 1 << 20);
    const chio_json *root, *meta, *params;
    chio_response r;
    char *json;
    const char *at;
    size_t i, markers = 0, len;
    double cpu;
    uint64_t redacted = 0;
    uint32_t x = 2463534242u;

    for (i = 0; i < (1u << 20); i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5; /* xorshift32 */
        if (x & 1u)
            args[6 + i] = 'b';
    }
    cpu = r32s_timed_call(k, args, &r);
    cr_expect_eq(r.code, CHIO_CODE_GUARD_DENIED, "%s", chio_code_name(r.code));
    cr_expect_not_null(strstr(r.reason, "work bound"), "%s", r.reason);
    cr_expect_lt(cpu, 3.0 * SL_SLOW, "one call took %.2f s of CPU", cpu);
    expect_verifies(&r);
    /* the value is redacted, and the receipt counts what it replaced */
    root = chio_receipt_root(r.receipt);
    cr_expect_str_eq(chio_json_string(chio_json_get(root, "redaction_mode"), NULL), "redacted");
    meta = chio_json_get(chio_json_get(root, "metadata"), "redaction");
    cr_assert_eq(chio_json_get_uint64(chio_json_get(meta, "redacted_values"), &redacted), 0);
    params = chio_json_get(chio_json_get(root, "action"), "parameters");
    cr_assert_eq(chio_json_write_canonical(params, &json, &len), 0);
    for (at = json; (at = strstr(at, "[REDACTED:secret_leak")) != NULL; at++)
        markers++;
    chio_free(json);
    cr_expect_eq(redacted, markers, "redacted_values %llu, markers %zu",
                 (unsigned long long)redacted, markers);
    cr_expect_geq(markers, 1);
    chio_response_destroy(&r);
    free(args);

    /* the same pattern on ordinary text still answers exactly */
    cpu = r32s_timed_call(
        k, "{\"v\":\"ab aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}", &r);
    cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW, "%s", r.reason);
    chio_response_destroy(&r);
    chio_kernel_free(k);
}

Test(rev32_secret, many_short_strings_cost_no_more_than_their_bytes)
{
    /* a start that opens 200 states on every string, however short: each
     * string's reading is paid for by its bytes, so the call is cut off
     * (denied) instead of costing strings x states (the word anchor keeps
     * the automaton entering its whole start: without one, a start table
     * enters only what reads the next byte, nothing at a string's end) */
    char pat[1024], *args;
    const char *pats[1] = {pat};
    chio_kernel *k;
    chio_response r;
    size_t i, n = 200000, off;
    double cpu;

    off = (size_t)snprintf(pat, sizeof(pat), "(x?){200}\\<y");
    cr_assert_lt(off, sizeof(pat));
    k = r32s_guarded_kernel(pats, 1);
    args = malloc(8 + 3 * n);
    cr_assert_not_null(args);
    off = 0;
    args[off++] = '[';
    for (i = 0; i < n; i++) {
        memcpy(args + off, "\"\",", 3);
        off += 3;
    }
    args[off - 1] = ']';
    args[off] = '\0';
    cpu = r32s_timed_call(k, args, &r);
    cr_expect_eq(r.code, CHIO_CODE_GUARD_DENIED, "%s", chio_code_name(r.code));
    cr_expect_lt(cpu, 3.0 * SL_SLOW, "one call took %.2f s of CPU", cpu);
    expect_verifies(&r);
    chio_response_destroy(&r);
    free(args);
    chio_kernel_free(k);
}

/* ---- registration ----------------------------------------------------------------------- */

Test(rev32_secret, patterns_outside_what_the_kernel_reads_are_refused_at_registration)
{
    static const char *const bad[] = {
        "(a)\\1",  /* back-reference */
        "\\d{16}", /* glibc reads \d as 'd': never what the host meant */
        "[[.a.]]",
        "[[=a=]]",
        "x{1,9000}",         /* about 18000 states: too large */
        "x{1,32767}",        /* glibc: 22 s and 8 GB to compile */
        "(x{1,255}){1,255}", /* too large, refused while counting */
        "[a-",
    };
    static const char *const good[] = {
        "AKIA[0-9A-Z]{16}",
        "-----BEGIN [A-Z ]*PRIVATE KEY-----",
        "gh[pousr]_[A-Za-z0-9]{36}",
        "sk-[A-Za-z0-9_-]{20,}",
        "xox[baprs]-[A-Za-z0-9-]{10,}",
        "\\w+@\\w+\\.com",
        "x{1,5000}",
        "^(password|secret)=[^&]+$",
        "\\bAKIA[0-9A-Z]{16}\\b",
        "\\<token\\>",
        "\\Bx",
        "[[:digit:]]{3}-[[:digit:]]{4}",
    };
    const char *one[1];
    chio_error err;
    size_t i;
    double t0 = r32s_process_cpu();

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        chio_kernel *k = kt_echo_kernel(NULL, NULL, "srv", (const char *const[]){"t"}, 1);
        one[0] = bad[i];
        chio_error_init(&err);
        cr_expect_eq(chio_secret_pattern_check(bad[i], &err), CHIO_EINVAL, "%s", bad[i]);
        cr_expect_neq(err.message[0], '\0', "%s: no message", bad[i]);
        chio_error_init(&err);
        cr_expect_eq(chio_kernel_add_secret_leak_guard(k, "S", one, 1, &err), CHIO_EINVAL, "%s",
                     bad[i]);
        cr_expect_not_null(strstr(err.message, "secret pattern 0"), "%s: %s", bad[i], err.message);
        chio_kernel_free(k);
    }
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        chio_error_init(&err);
        cr_expect_eq(chio_secret_pattern_check(good[i], &err), 0, "%s: %s", good[i], err.message);
    }
    cr_expect_eq(chio_secret_pattern_check(NULL, &err), CHIO_EINVAL);
    t0 = r32s_process_cpu() - t0;
    cr_expect_lt(t0, 2.0 * SL_SLOW, "checking the patterns took %.2f s of CPU", t0);
}

/* ---- the automaton reads a host's patterns as glibc did --------------------------------- */

/* A random string over @alpha, @n bytes. */
static void random_text(unsigned *seed, const char *alpha, char *out, size_t n)
{
    size_t i, na = strlen(alpha);

    for (i = 0; i < n; i++)
        out[i] = alpha[(size_t)rand_r(seed) % na];
    out[n] = '\0';
}

Test(rev32_secret, the_automaton_agrees_with_glibc_on_secret_patterns)
{
    static const struct {
        const char *pattern, *alpha;
    } rows[] = {
        {"AKIA[0-9A-Z]{16}", "AKI0123XYZ"},
        {"-----BEGIN [A-Z ]*PRIVATE KEY-----", "-BEGIN PRVATKY"},
        {"gh[pousr]_[A-Za-z0-9]{3}", "ghpo_aZ9"},
        {"sk-[A-Za-z0-9_-]{4,}", "sk-a_9"},
        {"xox[baprs]-[A-Za-z0-9-]{2,}", "xobap-z"},
        {"^(password|secret)=[^&]+$", "pas=&wordecrt"},
        {"(ab|a)(bc|c)?$", "abc"},
        {"[[:digit:]]{2}-[[:alpha:]]+", "12-ab"},
        {"a.c|b[^a]d", "abcd\n"},
        {"(x|xy)*y{2,3}z?", "xyz"},
        {"\\w+@\\w+\\.com", "a@.com_1"},
        {"\\s[[:upper:]]\\S", " \tAb"},
        /* the GNU word anchors glibc reads, which host patterns use */
        {"\\bAK[0-9]{2}\\b", "AK12 _-"},
        {"\\Bk\\B|x\\b", "kx k_"},
        {"\\<ab|b\\>", "ab b."},
        {"\\`a|b\\'", "ab"},
        {"(\\b|c)d", "cd d"},
    };
    locale_t c = newlocale(LC_ALL_MASK, "C", (locale_t)0), prev;
    unsigned seed = 32;
    size_t i, j;
    char text[40];

    cr_assert_neq(c, (locale_t)0);
    prev = uselocale(c);
    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        regex_t re;
        chio__nfa *nfa = NULL;
        chio__nfa_run run;

        cr_assert_eq(regcomp(&re, rows[i].pattern, REG_EXTENDED | REG_NOSUB), 0, "%s",
                     rows[i].pattern);
        cr_assert_eq(chio__nfa_compile(rows[i].pattern, &nfa), 0, "%s", rows[i].pattern);
        cr_assert_eq(chio__nfa_run_init(&run, nfa, UINT64_MAX), 0);
        for (j = 0; j < 3000; j++) {
            size_t n = (size_t)rand_r(&seed) % 32;
            int want, got;
            random_text(&seed, rows[i].alpha, text, n);
            want = regexec(&re, text, 0, NULL, 0) == 0;
            got = chio__nfa_run_search(&run, text, n);
            cr_assert_eq(got, want, "%s on \"%s\": automaton %d, glibc %d", rows[i].pattern, text,
                         got, want);
        }
        chio__nfa_run_destroy(&run);
        chio__nfa_free(nfa);
        regfree(&re);
    }
    uselocale(prev);
    freelocale(c);
}
