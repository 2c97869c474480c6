/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev44_constraints.c - review 44 of the constraints
 * other than path_prefix and the domain ones: the custom [k, v]
 * constraint read as a tool reads its arguments. Each row is one
 * constraint, one argument object and the verdict, through the real
 * pipeline (every row leaves a receipt). Each test holds rows that were
 * allowed before its fix, and values that must stay allowed.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

#define NOW 1710000300u

typedef kt_row row; /* allow: 1 allowed, 0 constraint_violated */

static void run_rows(const row *rows, size_t n)
{
    kt_run_rows_at(NOW, rows, n);
}

#define CU(k, v) "{\"type\":\"custom\",\"value\":[\"" k "\",\"" v "\"]}"

/* F1: Go's encoding/json (1.21 and later) matches a member name to a
 * field by unicode.ToUpper(unicode.ToLower(r)) of each code point, which
 * is 'I' for U+0130 (capital I with dot above: its lower case is 'i')
 * and for U+0131 (dotless i: its upper case is 'I'); the kernel folded
 * only U+017F and U+212A, so {"id": "42", "\u0131d": "7"} held
 * custom ["id", "42"] while the tool's Id was "7" (the last member
 * wins). Rows 0-4 were allowed before. */
Test(rev44_constraints, custom_folds_dotted_and_dotless_i_as_go_does)
{
    static const row rows[] = {
        {CU("id", "42"), "{\"id\":\"42\",\"\\u0131d\":\"7\"}", 0},
        {CU("id", "42"), "{\"id\":\"42\",\"\\u0130d\":\"7\"}", 0},
        {CU("id", "42"), "{\"id\":\"42\",\"\\u0130D\":\"7\"}", 0},
        {CU("link", "a"), "{\"link\":\"a\",\"x\":{\"L\\u0130NK\":\"b\"}}", 0},
        {CU("pid", "1"), "{\"pid\":\"1\",\"p\\u0131d\":\"0\"}", 0},
        /* agreeing members, and names that fold elsewhere, stay allowed */
        {CU("id", "42"), "{\"id\":\"42\",\"\\u0131d\":\"42\"}", 1},
        {CU("id", "42"), "{\"id\":\"42\",\"\\u00ecd\":\"7\"}", 1},
        {CU("id", "42"), "{\"id\":\"42\",\"idx\":\"7\"}", 1},
    };
    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

/* F2: a custom key that is not ASCII was compared by its bytes, but a
 * case-folding decoder folds every letter: {"\u043a\u043b\u044e\u0447":
 * "a", "\u041a\u041b\u042e\u0427": "b"} (Cyrillic "key" and "KEY") sets
 * the field to "b" in Go. With no Unicode case tables in the kernel, two
 * non-ASCII code points are taken to fold alike (which can only deny).
 * Rows 0-2 were allowed before. */
Test(rev44_constraints, custom_folds_non_ascii_letters)
{
    static const row rows[] = {
        {CU("\\u043a\\u043b\\u044e\\u0447", "a"),
         "{\"\\u043a\\u043b\\u044e\\u0447\":\"a\",\"\\u041a\\u041b\\u042e\\u0427\":\"b\"}", 0},
        {CU("caf\\u00e9", "a"), "{\"caf\\u00e9\":\"a\",\"CAF\\u00c9\":\"b\"}", 0},
        {CU("\\u03c3x", "a"), "{\"\\u03c3x\":\"a\",\"\\u03a3X\":\"b\"}", 0},
        /* as before: the same name in ASCII case */
        {CU("caf\\u00e9", "a"), "{\"caf\\u00e9\":\"a\",\"CAf\\u00e9\":\"b\"}", 0},
        /* agreeing, and other shapes, stay allowed */
        {CU("caf\\u00e9", "a"), "{\"caf\\u00e9\":\"a\",\"CAF\\u00c9\":\"a\"}", 1},
        {CU("caf\\u00e9", "a"), "{\"caf\\u00e9\":\"a\",\"cafe\":\"b\"}", 1},
        {CU("caf\\u00e9", "a"), "{\"caf\\u00e9\":\"a\",\"caf\\u00e9s\":\"b\"}", 1},
        {CU("caf\\u00e9", "a"), "{\"caf\\u00e9\":\"a\"}", 1},
        {CU("env", "prod"), "{\"env\":\"prod\",\"\\uff45nv\":\"dev\"}", 1},
    };
    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

/* F3: path_prefix and the domain constraints read a string argument that
 * is itself JSON (options a tool parses) as the arguments it holds; the
 * custom constraint did not, so {"env": "prod", "opts": "{\"env\":
 * \"staging\"}"} held custom ["env", "prod"] though a tool that parses
 * opts reads env "staging", as it would from a nested object (which
 * denied: rev27_constraints::custom_holds_only_when_every_member_agrees).
 * JSON in a string that cannot be read unambiguously (a duplicate key,
 * more than CHIO__EMBEDDED_MAX layers) denies, as it does for path_prefix.
 * Rows 0-5 were allowed before. */
Test(rev44_constraints, custom_reads_json_held_in_a_string)
{
    static const row rows[] = {
        {CU("env", "prod"), "{\"env\":\"prod\",\"opts\":\"{\\\"env\\\":\\\"staging\\\"}\"}", 0},
        {CU("env", "prod"), "{\"env\":\"prod\",\"opts\":\" [{\\\"ENV\\\":\\\"staging\\\"}] \"}", 0},
        {CU("env", "prod"), "{\"env\":\"prod\",\"a\":[\"{\\\"x\\\":{\\\"env\\\":1}}\"]}", 0},
        /* two layers: a string in the string */
        {CU("env", "prod"),
         "{\"env\":\"prod\",\"o\":\"{\\\"p\\\":\\\"{\\\\\\\"env\\\\\\\":\\\\\\\"dev\\\\\\\"}\\\"}"
         "\"}",
         0},
        /* a duplicate key inside: readers take the first or the last */
        {CU("env", "prod"),
         "{\"env\":\"prod\",\"opts\":\"{\\\"env\\\":\\\"prod\\\",\\\"env\\\":\\\"dev\\\"}\"}", 0},
        /* five layers of JSON in strings: more than the kernel reads */
        {CU("env", "prod"),
         "{\"env\":\"prod\",\"o\":\"[\\\"[\\\\\\\"[\\\\\\\\\\\\\\\"["
         "\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\"[]"
         "\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\"]\\\\\\\\\\\\\\\"]\\\\\\\"]\\\"]\"}",
         0},
        /* agreeing members, text that is not JSON, and JSON without the
         * key stay allowed; a member only in the string is not enough */
        {CU("env", "prod"), "{\"env\":\"prod\",\"opts\":\"{\\\"env\\\":\\\"prod\\\"}\"}", 1},
        {CU("env", "prod"), "{\"env\":\"prod\",\"note\":\"[a](https://x) {env}\"}", 1},
        {CU("env", "prod"),
         "{\"env\":\"prod\",\"opts\":\"{\\\"depth\\\":2,\\\"tags\\\":[\\\"a\\\"]}\"}", 1},
        {CU("env", "prod"), "{\"env\":\"prod\",\"o\":\"[\\\"[\\\\\\\"[]\\\\\\\"]\\\"]\"}", 1},
        /* four layers: as many as the kernel reads */
        {CU("env", "prod"),
         "{\"env\":\"prod\",\"o\":\"[\\\"[\\\\\\\"[\\\\\\\\\\\\\\\"[]\\\\\\\\\\\\\\\"]\\\\\\\"]"
         "\\\"]\"}",
         1},
        {CU("env", "prod"), "{\"opts\":\"{\\\"env\\\":\\\"prod\\\"}\"}", 0},
    };
    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

/* F4: a string argument that is JSON only to a lenient reader was read
 * as text by every constraint that reads JSON held in a string
 * (path_prefix, the domain constraints, custom): a lone surrogate escape
 * (JavaScript's JSON.parse and Python's json take it, Go reads U+FFFD),
 * a number out of range (1e400: inf to Python, Infinity to JavaScript)
 * or Python's NaN and -Infinity made ours refuse it, so
 * {"url": "https://example.com/", "opts": "{\"host\": \"evil\\u002ecom\",
 * \"x\": 1e400}"} held domain_exact example.com while a Python tool that
 * parses opts reads the host evil.com. Such a string cannot be read
 * unambiguously: it denies. Rows 0-5 were allowed before. */
#define OPTS(inner) "{\"url\":\"https://example.com/\",\"opts\":\"" inner "\"}"
#define EVIL        "{\\\"host\\\":\\\"evil\\\\u002ecom\\\","
Test(rev44_constraints, json_a_lenient_reader_takes_is_not_text)
{
    static const row rows[] = {
        {KT_DX("example.com"), OPTS(EVIL "\\\"x\\\":1e400}"), 0},
        {KT_DX("example.com"), OPTS(EVIL "\\\"x\\\":\\\"\\\\ud800\\\"}"), 0},
        {KT_DX("example.com"), OPTS(EVIL "\\\"x\\\":NaN}"), 0},
        {KT_DX("example.com"), OPTS(EVIL "\\\"x\\\":-Infinity}"), 0},
        {CU("env", "prod"),
         "{\"env\":\"prod\",\"opts\":\"{\\\"env\\\":\\\"staging\\\",\\\"x\\\":1e400}\"}", 0},
        {CU("env", "prod"),
         "{\"env\":\"prod\",\"opts\":\"{\\\"env\\\":\\\"dev\\\",\\\"x\\\":\\\"\\\\udfff\\\"}\"}",
         0},
        /* as before: a path named in the text is read by its words */
        {KT_PP("/workspace"),
         "{\"path\":\"/workspace/a\",\"opts\":\"{\\\"path\\\":\\\"/etc/"
         "passwd\\\",\\\"x\\\":\\\"\\\\ud800\\\"}\"}",
         0},
        /* JSON ours reads, and text, stay allowed */
        {KT_DX("example.com"), OPTS("{\\\"host\\\":\\\"example.com\\\",\\\"x\\\":1e300}"), 1},
        {KT_DX("example.com"), OPTS("{\\\"x\\\":\\\"\\\\ud83d\\\\ude00\\\"}"), 1},
        {KT_DX("example.com"), OPTS("[a](https://example.com/)"), 1},
        {KT_DX("example.com"), OPTS("[NaN is not a number](https://example.com/)"), 1},
        {CU("env", "prod"), "{\"env\":\"prod\",\"opts\":\"{\\\"x\\\":-1.5e300}\"}", 1},
    };
    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

/* The forbidden_path guard reads JSON held in a string the same way
 * (chio__each_embedded): "/etc/passwd" written with escapes in JSON that
 * only a lenient reader takes was text to it. Rows 0-1 were allowed
 * before. */
Test(rev44_constraints, the_forbidden_path_guard_reads_lenient_json_too)
{
    static const char *const args[] = {
        "{\"opts\":\"{\\\"path\\\":\\\"\\\\u002fetc\\\\u002fpasswd\\\",\\\"x\\\":1e400}\"}",
        "{\"opts\":\"{\\\"path\\\":\\\"\\\\u002fetc\\\\u002fpasswd\\\",\\\"x\\\":NaN}\"}",
        "{\"opts\":\"{\\\"path\\\":\\\"\\\\u002fetc\\\\u002fpasswd\\\"}\"}",
        "{\"opts\":\"{\\\"path\\\":\\\"\\\\u002ftmp\\\\u002fx\\\",\\\"x\\\":1e300}\"}",
    };
    static const int denied[] = {1, 1, 1, 0};

    kt_run_guard_rows_at(NOW, args, denied, sizeof(args) / sizeof(args[0]));
}
