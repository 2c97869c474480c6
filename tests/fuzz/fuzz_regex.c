/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz/fuzz_regex.c - libFuzzer target for the regex_match matcher
 * (src/kernel/regex_nfa.h): an ERE from the token's issuer, a string from
 * the agent. Internal API: built with -Isrc/kernel -Isrc/core.
 *
 * Input: the pattern up to the first NUL (at most 256 bytes), the string
 * after it (at most 4 KiB). For every input:
 *   - compiling never crashes and answers 0, CHIO_EINVAL, CHIO_ETOOBIG or
 *     CHIO_ENOMEM, with an automaton exactly when it answers 0;
 *   - a search answers 1, 0 or CHIO_ELIMIT, the same twice in a row, and a
 *     spent budget stays spent;
 *   - for patterns of at most 24 bytes over the letters a and b with
 *     ( ) | * + ? only (read the same way by every POSIX ERE reader; longer
 *     ones can take glibc's regcomp seconds) and a string without a
 *     newline, the answer is glibc regexec's.
 * Any violated invariant calls abort(), which libFuzzer reports as a crash.
 */
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chio/error.h"
#include "regex_nfa.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PATTERN_MAX        256
#define SUBJECT_MAX        4096
#define ORACLE_PATTERN_MAX 24 /* glibc compared on patterns this short */

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_regex: invariant violated: %s\n", what);
    abort();
}

/* Patterns every ERE reader reads alike. */
static int plain(const char *p)
{
    return strspn(p, "ab()|*+?") == strlen(p);
}

static int search(const chio__nfa *nfa, const char *s, size_t n, uint64_t budget)
{
    chio__nfa_run run;
    int got;

    if (chio__nfa_run_init(&run, nfa, budget) != 0)
        return CHIO_ENOMEM;
    got = chio__nfa_run_search(&run, s, n);
    if (got == CHIO_ELIMIT && chio__nfa_run_search(&run, "", 0) != CHIO_ELIMIT)
        fail("a spent budget came back");
    chio__nfa_run_destroy(&run);
    return got;
}

/* One search with cached transitions from the first byte (@cached: the
 * run counts as having spent enough) or state by state only. */
static int search_mode(const chio__nfa *nfa, const char *s, size_t n, int cached)
{
    chio__nfa_run run;
    int got;

    if (chio__nfa_run_init(&run, nfa, (uint64_t)1 << 20) != 0)
        return CHIO_ENOMEM;
    if (cached)
        run.spent = (uint64_t)1 << 32;
    else
        run.nocache = 1;
    got = chio__nfa_run_search(&run, s, n);
    chio__nfa_run_destroy(&run);
    return got;
}

static void compare_with_glibc(const char *pattern, const char *s, size_t n, int got)
{
    regex_t re;

    /* glibc's regcomp is the slow side: its epsilon closure grows
     * exponentially with stacked empty groups and repeats ("(()*+*++*+*"
     * repeated: seconds at 48 bytes, a fuzz timeout in regcomp, not in our
     * matcher). The oracle reads short plain patterns only. */
    if (!plain(pattern) || strlen(pattern) > ORACLE_PATTERN_MAX || memchr(s, '\n', n) != NULL ||
        got == CHIO_ELIMIT)
        return;
    if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
        return; /* glibc refuses some plain patterns ("a**" is fine, "()" too) */
    if ((regexec(&re, s, 0, NULL, 0) == 0) != (got == 1))
        fail("the matcher and glibc disagree on a plain pattern");
    regfree(&re);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char pattern[PATTERN_MAX + 1], subject[SUBJECT_MAX + 1];
    const uint8_t *nul = memchr(data, 0, size);
    size_t plen = nul ? (size_t)(nul - data) : size, slen;
    chio__nfa *nfa = NULL;
    int rc, a, b;

    if (plen > PATTERN_MAX)
        return 0;
    memcpy(pattern, data, plen);
    pattern[plen] = '\0';
    slen = nul ? size - plen - 1 : 0;
    if (slen > SUBJECT_MAX)
        slen = SUBJECT_MAX;
    if (slen > 0)
        memcpy(subject, nul + 1, slen);
    subject[slen] = '\0';
    slen = strlen(subject); /* as regexec reads it: up to a NUL */

    rc = chio__nfa_compile(pattern, &nfa);
    if (rc != 0) {
        if (nfa != NULL)
            fail("a failed compile left an automaton");
        if (rc != CHIO_EINVAL && rc != CHIO_ETOOBIG && rc != CHIO_ENOMEM)
            fail("compile answered an unexpected code");
        return 0;
    }
    if (nfa == NULL || chio__nfa_states(nfa) > CHIO__NFA_MAX_STATES)
        fail("compile answered 0 without a bounded automaton");
    a = search(nfa, subject, slen, (uint64_t)1 << 20);
    b = search(nfa, subject, slen, (uint64_t)1 << 20);
    if (a != b)
        fail("the same search answered twice differently");
    if (a != 0 && a != 1 && a != CHIO_ELIMIT && a != CHIO_ENOMEM)
        fail("search answered an unexpected code");
    if (search(nfa, subject, slen, 0) == 1 && slen > 0)
        fail("a search with no budget found a match in a non-empty string");
    rc = search_mode(nfa, subject, slen, 1);
    b = search_mode(nfa, subject, slen, 0);
    if (rc != CHIO_ELIMIT && rc != CHIO_ENOMEM && b != CHIO_ELIMIT && b != CHIO_ENOMEM && rc != b)
        fail("the cached and the state by state searches disagree");
    compare_with_glibc(pattern, subject, slen, a);
    chio__nfa_free(nfa);
    return 0;
}
