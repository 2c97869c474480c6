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
#include <locale.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernel/kernelutil.h"
#include "kernel/rev32secret.h"
#include "kernel/tokens.h"
#include "regex_nfa.h"

/* ---- a seeded random ERE, and the same ERE glibc reads as written ------------------------ */

/*
 * Two spellings of one pattern: `own`, what the kernel is given, and
 * `ref`, what glibc is given, with every counted repetition written out
 * ("(x){2,3}" as "((x)(x)((x))?)"): glibc loses anchors in the copies it
 * makes of a repeated group ("(a$){2}" matches "aa"), a nonconforming
 * reading the kernel does not copy (docs/security.md).
 */
#define GEN_CAP 65536 /* each spelling's buffer; a pattern outgrowing it is dropped */

typedef struct rx_gen {
    unsigned seed;
    char *own, *ref, *own_end, *ref_end;
    int anchors; /* '^' or '$' written: glibc reads them next to newlines */
    int full;    /* a spelling outgrew its buffer */
} rx_gen;

static unsigned gen_rand(rx_gen *g, unsigned n)
{
    return (unsigned)rand_r(&g->seed) % n;
}

static void gen_put(rx_gen *g, const char *s)
{
    size_t n = strlen(s);

    if ((size_t)(g->own_end - g->own) <= n || (size_t)(g->ref_end - g->ref) <= n) {
        g->full = 1;
        return;
    }
    memcpy(g->own, s, n);
    g->own += n;
    memcpy(g->ref, s, n);
    g->ref += n;
}

/* Bytes a pattern and a text are made of: letters, digits, '_' (word
 * bytes), punctuation, white space, a newline and bytes >= 0x80. */
static const char gen_bytes[] = "ab_- \n.A1\t\r\x0b\x7f\xff\x01z9Z!/=\x80\xe9";

static char gen_byte(rx_gen *g)
{
    return gen_bytes[gen_rand(g, sizeof(gen_bytes) - 1)];
}

static void gen_alt(rx_gen *g, int depth);

static void gen_bracket(rx_gen *g)
{
    static const char *const cls[] = {"[:alpha:]", "[:digit:]", "[:alnum:]", "[:space:]",
                                      "[:upper:]", "[:lower:]", "[:punct:]", "[:xdigit:]",
                                      "[:blank:]", "[:cntrl:]", "[:graph:]", "[:print:]"};
    unsigned k, n = 1 + gen_rand(g, 4);
    char one[4] = {0};

    gen_put(g, gen_rand(g, 3) == 0 ? "[^" : "[");
    if (gen_rand(g, 6) == 0)
        gen_put(g, "]"); /* first: a member */
    for (k = 0; k < n; k++) {
        char lo = gen_byte(g), hi = gen_byte(g);
        if (lo == '.' || lo == '-')
            lo = 'y';
        if ((unsigned char)hi < (unsigned char)lo || hi == '-')
            hi = lo;
        switch (gen_rand(g, 5)) {
        case 0:
            gen_put(g, cls[gen_rand(g, 12)]);
            break;
        case 1: /* a range */
            one[0] = lo, one[1] = '-', one[2] = hi;
            gen_put(g, one);
            break;
        default:
            one[0] = lo, one[1] = '\0';
            gen_put(g, one);
            break;
        }
    }
    gen_put(g, gen_rand(g, 6) == 0 ? "-]" : "]");
}

static void gen_atom(rx_gen *g, int depth)
{
    static const char *const esc[] = {"\\w", "\\W", "\\s", "\\S", "\\b", "\\B",  "\\<",
                                      "\\>", "\\`", "\\'", "\\.", "\\-", "\\\\", "\\[",
                                      "\\(", "\\*", "\\|", "\\{", "\\}", "\\]",  "\\)",
                                      "\\+", "\\?", "\\^", "\\$", "\\ ", "\\\n"};
    char one[2] = {0};

    switch (gen_rand(g, 12)) {
    case 0:
    case 1:
    case 2:
        one[0] = gen_byte(g);
        gen_put(g, one[0] == '.' ? "a" : one);
        break;
    case 3:
        gen_put(g, ".");
        break;
    case 4:
        gen_put(g, esc[gen_rand(g, sizeof(esc) / sizeof(esc[0]))]);
        break;
    case 5:
        g->anchors = 1;
        gen_put(g, gen_rand(g, 2) ? "^" : "$");
        break;
    case 6:
    case 7:
        gen_bracket(g);
        break;
    default:
        if (depth >= 4) {
            gen_put(g, "a");
            break;
        }
        gen_put(g, "(");
        gen_alt(g, depth + 1);
        gen_put(g, ")");
    }
}

/* Append @n bytes at @s to the glibc spelling only. */
static void ref_add(rx_gen *g, const char *s, size_t n)
{
    if ((size_t)(g->ref_end - g->ref) <= n) {
        g->full = 1;
        return;
    }
    memmove(g->ref, s, n);
    g->ref += n;
}

/* A quantifier on the atom just written (its glibc spelling from @r0). */
static void gen_quant(rx_gen *g, char *r0)
{
    char atom[4096], q[32];
    size_t n = (size_t)(g->ref - r0);
    unsigned lo, hi = 0, k;
    int inf = 0;

    switch (gen_rand(g, 10)) {
    case 0:
        gen_put(g, "*");
        return;
    case 1:
        gen_put(g, "?");
        return;
    case 2:
        lo = 1, inf = 1;
        break;
    case 3:
        lo = hi = gen_rand(g, 4);
        break;
    case 4:
        lo = gen_rand(g, 3), hi = lo + gen_rand(g, 3);
        break;
    case 5:
        lo = gen_rand(g, 3), inf = 1;
        break;
    default:
        return;
    }
    if (inf && lo == 1 && gen_rand(g, 2))
        snprintf(q, sizeof(q), "+");
    else if (inf)
        snprintf(q, sizeof(q), "{%u,}", lo);
    else
        snprintf(q, sizeof(q), "{%u,%u}", lo, hi);
    if (n >= sizeof(atom) || (size_t)(g->own_end - g->own) <= strlen(q)) {
        g->full = 1;
        return;
    }
    memcpy(g->own, q, strlen(q));
    g->own += strlen(q);
    memcpy(atom, r0, n); /* glibc: written out, x+ too ("(x)(x)*") */
    g->ref = r0;
    ref_add(g, "(", 1);
    for (k = 0; k < lo + (unsigned)inf; k++) {
        ref_add(g, "(", 1);
        ref_add(g, atom, n);
        ref_add(g, ")", 1);
    }
    if (inf)
        ref_add(g, "*", 1);
    for (k = lo; !inf && k < hi; k++) {
        ref_add(g, "((", 2);
        ref_add(g, atom, n);
        ref_add(g, ")", 1);
    }
    for (k = lo; !inf && k < hi; k++)
        ref_add(g, ")?", 2);
    ref_add(g, ")", 1);
}

static void gen_alt(rx_gen *g, int depth)
{
    unsigned b, k, nb = 1 + (gen_rand(g, 4) == 0 ? gen_rand(g, 3) : 0);

    for (b = 0; b < nb; b++) {
        unsigned n = gen_rand(g, 4) + (depth == 0);
        if (b > 0)
            gen_put(g, "|");
        for (k = 0; k < n; k++) {
            char *r0 = g->ref;
            gen_atom(g, depth);
            if (gen_rand(g, 3) == 0)
                gen_quant(g, r0);
        }
    }
}

/* A random pattern in @own and @ref (GEN_CAP bytes each); 0 when a
 * spelling outgrew its buffer or glibc's is over 16 KiB. */
static int gen_pattern(rx_gen *g, char *own, char *ref)
{
    g->own = own;
    g->ref = ref;
    g->own_end = own + GEN_CAP;
    g->ref_end = ref + GEN_CAP;
    g->anchors = g->full = 0;
    gen_alt(g, 0);
    *g->own = '\0';
    *g->ref = '\0';
    return !g->full && strlen(ref) < 16384;
}

static void gen_text(rx_gen *g, char *text, size_t n, int newlines)
{
    size_t i;

    for (i = 0; i < n; i++)
        do
            text[i] = gen_byte(g);
        while (!newlines && text[i] == '\n');
    text[n] = '\0';
}

static unsigned diff_patterns(unsigned dflt)
{
    const char *e = getenv("CHIO_REGEX_DIFF_PATTERNS");

    return e != NULL && atoi(e) > 0 ? (unsigned)atoi(e) : dflt;
}

/* Whether the automaton and glibc agree on @text (1), or which matched. */
static int search_both(chio__nfa_run *run, const regex_t *re, const char *text, int *own)
{
    int want = regexec(re, text, 0, NULL, 0) == 0;

    run->work = UINT64_MAX;
    *own = chio__nfa_run_search(run, text, strlen(text));
    return *own == want;
}

Test(rev32_sec2, the_automaton_answers_as_glibc_on_random_patterns)
{
    static char own[GEN_CAP], ref[GEN_CAP];
    locale_t c = newlocale(LC_ALL_MASK, "C", (locale_t)0), prev;
    rx_gen g = {.seed = 3201u};
    unsigned i, j, n = diff_patterns(10000), accepted = 0;
    char text[48];

    cr_assert_neq(c, (locale_t)0);
    prev = uselocale(c);
    for (i = 0; i < n; i++) {
        chio__nfa *nfa = NULL;
        chio__nfa_run run;
        regex_t re;
        int rc, got;
        if (!gen_pattern(&g, own, ref))
            continue;
        rc = chio__nfa_compile(own, &nfa);
        if (rc != 0) { /* refused: glibc refuses it as written too */
            cr_expect_neq(regcomp(&re, own, REG_EXTENDED | REG_NOSUB), 0, "kernel refuses [%s]",
                          own);
            continue;
        }
        cr_assert_eq(regcomp(&re, ref, REG_EXTENDED | REG_NOSUB), 0, "glibc refuses [%s]", ref);
        cr_assert_eq(chio__nfa_run_init(&run, nfa, UINT64_MAX), 0);
        accepted++;
        for (j = 0; j < 60; j++) {
            /* glibc's '^' and '$' also hold next to a newline the match
             * reads: texts without one where the pattern has them */
            gen_text(&g, text, gen_rand(&g, j < 40 ? 12 : 40), !g.anchors);
            cr_assert(search_both(&run, &re, text, &got), "pattern [%s] (glibc [%s]) text [%s]: %d",
                      own, ref, text, got);
        }
        chio__nfa_run_destroy(&run);
        chio__nfa_free(nfa);
        regfree(&re);
    }
    uselocale(prev);
    freelocale(c);
    cr_expect_gt(accepted, n / 2, "%u of %u patterns accepted", accepted, n);
}

Test(rev32_sec2, where_glibc_reads_anchors_otherwise_it_matches_more_never_less)
{
    /* glibc given the pattern as written, on texts with newlines: it
     * differs only where '^'/'$' sit next to a newline the match reads or
     * an anchor sits in a counted copy; there it matches and the kernel,
     * reading POSIX, does not. Never the other way (a deny guard the
     * kernel runs flags nothing glibc would not have). */
    static char own[GEN_CAP], ref[GEN_CAP];
    static const char *const posix[][2] = {
        {"a$\nb", "a\nb"}, {"a\n^b", "a\nb"}, {"(a$){2}", "aa"}, {"(.+\\>){2}", "_a."}};
    locale_t c = newlocale(LC_ALL_MASK, "C", (locale_t)0), prev;
    rx_gen g = {.seed = 3202u};
    unsigned i, j, n = diff_patterns(10000);
    char text[48];

    cr_assert_neq(c, (locale_t)0);
    prev = uselocale(c);
    for (i = 0; i < n; i++) {
        chio__nfa *nfa = NULL;
        chio__nfa_run run;
        regex_t re;
        int got;
        if (!gen_pattern(&g, own, ref) || chio__nfa_compile(own, &nfa) != 0)
            continue;
        cr_assert_eq(regcomp(&re, own, REG_EXTENDED | REG_NOSUB), 0, "glibc refuses [%s]", own);
        cr_assert_eq(chio__nfa_run_init(&run, nfa, UINT64_MAX), 0);
        for (j = 0; j < 60; j++) {
            gen_text(&g, text, gen_rand(&g, 16), 1);
            cr_assert(search_both(&run, &re, text, &got) || !got,
                      "[%s] on [%s]: the kernel matches, glibc does not", own, text);
        }
        chio__nfa_run_destroy(&run);
        chio__nfa_free(nfa);
        regfree(&re);
    }
    uselocale(prev);
    freelocale(c);
    for (i = 0; i < sizeof(posix) / sizeof(posix[0]); i++) {
        chio__nfa *nfa = NULL;
        chio__nfa_run run;
        cr_assert_eq(chio__nfa_compile(posix[i][0], &nfa), 0);
        cr_assert_eq(chio__nfa_run_init(&run, nfa, UINT64_MAX), 0);
        cr_expect_eq(chio__nfa_run_search(&run, posix[i][1], strlen(posix[i][1])), 0,
                     "[%s] matches [%s]", posix[i][0], posix[i][1]);
        chio__nfa_run_destroy(&run);
        chio__nfa_free(nfa);
    }
}

/* ---- the cost of ordinary patterns on ordinary arguments --------------------------------- */

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
    k = r32s_guarded_kernel(pats, 1);
    args = prose_value(1u << 20);
    r32s_timed_call(k, args, &r);
    cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW, "%s", r.reason);
    chio_response_destroy(&r);
    /* and a listed token at the end is found */
    memcpy(args + 6 + (1u << 20) - 40, pat + 22, 20);
    r32s_timed_call(k, args, &r);
    cr_expect_eq(r.code, CHIO_CODE_GUARD_DENIED, "%s", chio_code_name(r.code));
    cr_expect_not_null(strstr(r.reason, "matches secret pattern 0"), "%s", r.reason);
    chio_response_destroy(&r);
    free(args);
    chio_kernel_free(k);
}

/* ---- registration --------------------------------------------------------------------- */

Test(rev32_sec2, patterns_of_64_kib_are_checked_in_bounded_time)
{
    /* any host pattern up to 64 KiB: accepted or refused with a message,
     * in bounded time and memory (the state limit is checked while the
     * pattern is measured, before its automaton is built) */
    static const char *const units[] = {"a",  "a|",     "[[:alpha:]]", "(a)",
                                        "a*", "a{1,2}", "(()){32767}", "\\b",
                                        "^$", "[^a]",   "(a|b){0,3}",  "("};
    static char pat[65537];
    size_t i, n;
    double t0 = r32s_process_cpu();

    for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        chio_error err;
        int rc;
        size_t u = strlen(units[i]);
        for (n = 0; n + u <= 65536; n += u)
            memcpy(pat + n, units[i], u);
        pat[n] = '\0';
        chio_error_init(&err);
        rc = chio_secret_pattern_check(pat, &err);
        cr_expect(rc == 0 || (rc == CHIO_EINVAL && err.message[0] != '\0'), "%s x %zu: %d %s",
                  units[i], n / u, rc, err.message);
    }
    t0 = r32s_process_cpu() - t0;
    cr_expect_lt(t0, 2.0, "checking took %.2f s of CPU", t0);
}

/* ---- redaction when the bound cuts a call off ------------------------------------------- */

Test(rev32_sec2, a_cut_off_call_redacts_every_secret_and_counts_its_markers)
{
    /* Two cheap patterns and one that keeps 300 states alive on base64
     * ('$' keeps its search state by state, without cached transitions):
     * the call's scans are cut off inside the blob. Secrets in a key, a
     * value after the blob and a number are all redacted, the receipt
     * counts what it replaced, and no secret reaches the receipt or the
     * reason. */
    static const char *const pats[] = {"AKIA[0-9A-Z]{16}", "4111[0-9]{12}",
                                       "[A-Za-z0-9+/]{300}==$"};
    static const char *const secrets[] = {"AKIAABCDEFGHIJKLMNOP", "AKIAQRSTUVWXYZ234567",
                                          "4111111111111111"};
    const size_t blob = 512u << 10;
    chio_kernel *k = r32s_guarded_kernel(pats, 3);
    char *args = malloc(blob + 256), *json;
    const chio_json *root, *meta;
    const char *at;
    size_t i, off, len, markers = 0;
    uint64_t redacted = 0;
    unsigned seed = 9;
    chio_response r;

    cr_assert_not_null(args);
    off = (size_t)sprintf(args, "{\"%s\":\"x\",\"blob\":\"", secrets[0]);
    for (i = 0; i < blob; i++)
        args[off++] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
            [(unsigned)rand_r(&seed) % 64];
    off += (size_t)sprintf(args + off, "\",\"w\":\"%s\",\"n\":%s,\"ok\":[\"a\",2]}", secrets[1],
                           secrets[2]);
    r32s_timed_call(k, args, &r);
    cr_expect_eq(r.code, CHIO_CODE_GUARD_DENIED, "%s", chio_code_name(r.code));
    root = chio_receipt_root(r.receipt);
    cr_expect_str_eq(chio_json_string(chio_json_get(root, "redaction_mode"), NULL), "redacted");
    meta = chio_json_get(chio_json_get(root, "metadata"), "redaction");
    cr_assert_eq(chio_json_get_uint64(chio_json_get(meta, "redacted_values"), &redacted), 0);
    cr_assert_eq(chio_json_write_canonical(root, &json, &len), 0);
    for (at = json; (at = strstr(at, "[REDACTED:secret_leak")) != NULL; at++)
        markers++;
    cr_expect_eq(redacted, markers, "redacted_values %llu, markers %zu",
                 (unsigned long long)redacted, markers);
    cr_expect_geq(markers, 4, "the key, the blob, the value and the number: %zu", markers);
    /* the blob matches nothing: it is redacted because it was cut off */
    cr_expect_str_eq(
        chio_json_string(
            chio_json_get(chio_json_get(chio_json_get(root, "action"), "parameters"), "blob"),
            NULL),
        "[REDACTED:secret_leak]");
    for (i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
        cr_expect_null(strstr(json, secrets[i]), "the receipt holds %s", secrets[i]);
        cr_expect_null(strstr(r.reason, secrets[i]), "the reason quotes %s", secrets[i]);
    }
    chio_free(json);
    chio_response_destroy(&r);
    free(args);
    chio_kernel_free(k);
}
