/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev49_enforce2.c - review 49, second pass over the
 * brace and glob readings of the first (test_rev49_enforce.c): a bash
 * sequence expression over letters, a '*' that matches nothing, and the
 * time a value of many '[' takes. Each row is one constraint (or the
 * forbidden_path guard on /etc/ and /root/), one argument object and the
 * verdict, through the real pipeline (every row leaves a receipt).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

#define NOW 1710000300u

typedef kt_row row; /* allow: 1 allowed, 0 constraint_violated */

/* A sequence expression "{X..Y}" or "{X..Y..N}" whose letters run from a
 * capital to a small one makes the characters between 'Z' and 'a': bash
 * expands "{a..Z..6}" to "a" and "[", so ".{a..Z..6}.]" is ".[.]", which
 * globs to ".." (bash without globskipdots, the default before 5.2), and
 * "{a..Z}" makes a "\" that quote removal drops, so "..{a..Z}" is "..".
 * The brace walk read "{a..Z..6}" as one alternative of letters and dots
 * that cannot make "..": rows 0-3 were allowed under /workspace, though
 * `bash -c "cat $path"` reads /etc/passwd. */
Test(rev49_enforce2, a_letter_sequence_that_makes_a_bracket_or_backslash_is_ambiguous)
{
    static const row rows[] = {
        {KT_PP("/workspace"), "{\"path\":\"/workspace/.{a..Z..6}.]/etc/passwd\"}", 0},
        {KT_PP("/workspace"), "{\"path\":\"/workspace/..{a..Z}/etc/passwd\"}", 0},
        {KT_PP("/workspace"), "{\"path\":\"/workspace/..{Z..a..2}/etc/passwd\"}", 0},
        {KT_PP("/workspace"), "{\"path\":\"/workspace/x/../..{a..Z}\"}", 0},
        /* sequences of one case, or of numbers, make letters and digits */
        {KT_PP("/workspace"), "{\"path\":\"/workspace/{a..z}.txt\"}", 1},
        {KT_PP("/workspace"), "{\"path\":\"/workspace/{A..Z}/x\"}", 1},
        {KT_PP("/workspace"), "{\"path\":\"/workspace/file{1..10}.txt\"}", 1},
        {KT_PP("/workspace"), "{\"path\":\"/workspace/log-{2024..2026}.gz\"}", 1},
        {KT_PP("/workspace"), "{\"path\":\"/workspace/..{a..z}/x\"}", 1},
    };
    kt_run_rows_at(NOW, rows, sizeof(rows) / sizeof(rows[0]));
}

/* The forbidden_path guard read each '*' as one dot, but a '*' may match
 * nothing: dash globs ".*.", ".?*", ".*?" and ".[.]*" to ".." as it does
 * ".?" (checked: `dash -c 'echo /tmp/x/.*./seed'` prints
 * "/tmp/x/../seed"), and ".**" (a run of '*' is one) too. Rows 0-4 were
 * allowed under /etc/. A run of '*' is now read as one dot, and the value
 * read again with every '*' empty. */
Test(rev49_enforce2, the_forbidden_path_guard_reads_a_star_as_a_dot_or_nothing)
{
    static const char *const args[] = {
        "{\"cmd\":\"cat /tmp/.*./etc/passwd\"}",
        "{\"cmd\":\"cat /tmp/.**/etc/passwd\"}",
        "{\"cmd\":\"cat /tmp/.?*/etc/passwd\"}",
        "{\"cmd\":\"cat /tmp/.*?/etc/passwd\"}",
        "{\"cmd\":\"cat /tmp/.[.]*/root/.ssh/id_rsa\"}",
        /* as before */
        "{\"cmd\":\"cat /tmp/.?/etc/passwd\"}",
        /* globs that reach no prefix stay allowed */
        "{\"cmd\":\"rm -rf /tmp/*\"}",
        "{\"cmd\":\"ls /workspace/**/*.c\"}",
        "{\"cmd\":\"cat /home/me/.*rc\"}",
        "{\"cmd\":\"grep -rE \\\"a.*b\\\" /workspace/src\"}",
        "{\"pattern\":\"^/api/v[0-9]+/.*$\"}",
    };
    static const int denied[] = {1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0};
    kt_run_guard_rows_at(NOW, args, denied, sizeof(args) / sizeof(args[0]));
}

/* Under a URL-ish key each word is a host, and r1 read the alternatives
 * of a brace that opens a word as such words; but text glued to the
 * brace joins each alternative, in bash and in curl's URL globbing:
 * `curl '{https://api.example.com/,api.example.com}.evil.com'` and
 * `curl 'api.example.com{.evil.com,}'` fetch api.example.com.evil.com
 * (checked: "Could not resolve host: api.example.com.evil.com"). The
 * text after the '}' was not read at all, nor a brace glued to a bare
 * host. Rows 0-3 were allowed; such a value has no host that can be read
 * unambiguously now. */
Test(rev49_enforce2, text_glued_to_a_brace_joins_each_alternative_host)
{
    static const row rows[] = {
        {KT_DX("api.example.com"),
         "{\"url\":\"{https://api.example.com/,api.example.com}.evil.com\"}", 0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/ api.example.com{.evil.com,}\"}", 0},
        {KT_DX("api.example.com"),
         "{\"url\":\"{https://api.example.com/,api.example.com}{.evil.com,}\"}", 0},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/ --proxy=api.example.com{.evil.com,}\"}", 0},
        /* braces inside a URL's path, or whole URLs as alternatives */
        {KT_DX("api.example.com"),
         "{\"url\":\"{https://api.example.com/a,https://api.example.com/b}\"}", 1},
        {KT_DX("api.example.com"), "{\"url\":\"https://api.example.com/{a,b}.json\"}", 1},
        {KT_DX("api.example.com"), "{\"url\":\"https://api.example.com/v1/{id}/x{y}\"}", 1},
        {KT_DX("api.example.com"),
         "{\"url\":\"https://api.example.com/users/{userId}/posts/{postId}\"}", 1},
        {KT_DX("api.example.com"),
         "{\"body\":\"{\\\"url\\\":\\\"https://api.example.com/\\\",\\\"x\\\":{\\\"a\\\":1}}\"}",
         1},
    };
    kt_run_rows_at(NOW, rows, sizeof(rows) / sizeof(rows[0]));
}

static double seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The guard's glob reading looked for the end of each '[' from the '['
 * on, so a value of many '[' with no ']' took time quadratic in its
 * length: 300 KB of them took 16 s to decide (1 MB, minutes). Now each
 * run of '[' is scanned once: 1 MB of '[' or "[a" is decided in well
 * under a second (the bound here is loose for sanitizer builds). */
Test(rev49_enforce2, a_value_of_many_brackets_is_decided_in_linear_time)
{
    static const char *const pats[] = {"[", "[a", "[."};
    const size_t len = 1u << 20;
    size_t p, i;

    for (p = 0; p < sizeof(pats) / sizeof(pats[0]); p++) {
        size_t pl = strlen(pats[p]);
        char *arg = malloc(len + 32);
        const char *args[1];
        static const int denied[] = {0};
        double t0;

        cr_assert_not_null(arg);
        i = (size_t)snprintf(arg, 32, "{\"path\":\"/x/");
        for (; i < len; i++)
            arg[i] = pats[p][i % pl];
        memcpy(arg + i, "\"}", 3);
        args[0] = arg;
        t0 = seconds();
        kt_run_guard_rows_at(NOW, args, denied, 1);
        cr_assert_lt(seconds() - t0, 20.0, "pattern '%s' took %.1f s", pats[p], seconds() - t0);
        free(arg);
    }
}
