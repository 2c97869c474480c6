/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev43_constraints.c - review 43 of the argument
 * constraints and guards (second round): values a tool reads elsewhere
 * than the kernel did. Each row is one constraint, one argument object and
 * the verdict, through the real pipeline (every row leaves a receipt).
 * Each test holds rows that were allowed before its fix, and values that
 * must stay allowed.
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

#define PP KT_PP
#define DX KT_DX
#define DG KT_DG
#define W  PP("/workspace")
#define E  DX("example.com")

/* F1: the NFKC reading (look-alike dots and slashes, fullwidth letters,
 * invisible characters dropped) was made of the value as written only,
 * not of its percent-decoded reading, though security.md lists "each of
 * these again as NFKC": "/workspace/%ef%bc%8e%ef%bc%8e/etc" (U+FF0E twice,
 * encoded) is "/workspace/../etc" to a tool that decodes and then
 * normalises, as "/workspace/\uff0e\uff0e/etc" already was. Rows 0-5
 * were allowed before. */
Test(rev43_constraints, encoded_look_alikes_are_folded_after_decoding)
{
    static const row rows[] = {
        {W, "{\"path\":\"/workspace/%ef%bc%8e%ef%bc%8e/etc/passwd\"}", 0},
        {W, "{\"path\":\"/workspace/a/%E2%80%A5/%E2%80%A5/etc\"}", 0},
        {W, "{\"path\":\"/workspace/..%e2%80%8b/etc\"}", 0},
        {W, "{\"path\":\"/workspace/%ef%b9%92%ef%b9%92/etc\"}", 0},
        {W, "{\"path\":\"/workspace/a/..%ef%bc%8f..%ef%bc%8fetc\"}", 0},
        {W, "{\"path\":\"file:///workspace/%ef%bc%8e%ef%bc%8e/etc\"}", 0},
        {W, "{\"path\":\"/workspace/a\",\"out\":\"-o/workspace/%E2%80%A5/x\"}", 0},
        /* as written, these were denied already */
        {W, "{\"path\":\"/workspace/\\uff0e\\uff0e/etc\"}", 0},
        {W, "{\"path\":\"/workspace/..\\u200b/etc\"}", 0},
        /* legitimate values stay allowed */
        {W, "{\"path\":\"/workspace/caf%C3%A9.txt\"}", 1},
        {W, "{\"path\":\"/workspace/%ef%bc%8e%ef%bc%8ex\"}", 1},
        {W, "{\"path\":\"/workspace/notes%20%E2%80%94%20draft.txt\"}", 1},
        {W, "{\"path\":\"/workspace/%ef%bd%81.txt\"}", 1},
        {W, "{\"path\":\"/workspace/a/%E2%80%A5/b\"}", 1},
        {W, "{\"path\":\"/workspace/%E2%80%A6\"}", 1},
    };
    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

/* The forbidden_path guard reads paths through the same readings:
 * "/%ef%bd%85tc/passwd" (a fullwidth 'e', encoded) is "/etc/passwd" once
 * decoded and folded. Rows 0-2 were allowed before. */
Test(rev43_constraints, the_forbidden_path_guard_folds_encoded_look_alikes)
{
    static const char *const args[] = {
        "{\"path\":\"/%ef%bd%85tc/passwd\"}",
        "{\"path\":\"/tmp/%ef%bc%8e%ef%bc%8e/etc/shadow\"}",
        "{\"path\":\"/r%e2%80%8boot/.ssh/id_rsa\"}",
        "{\"path\":\"/tmp/caf%C3%A9.txt\"}",
        "{\"path\":\"/tmp/%ef%bd%85tc/passwd\"}",
    };
    static const int denied[] = {1, 1, 1, 0, 0};

    kt_run_guard_rows_at(NOW, args, denied, sizeof(args) / sizeof(args[0]));
}

/* F2: a string that is itself JSON (a request body, options a tool
 * parses) was read as text only, so a host or path under a key inside it
 * was not seen: {"body": "{\"host\": \"evil.com\"}"} passed domain_exact
 * example.com though {"host": "evil.com"} is denied. Its members are now
 * read as the arguments' own would be, under the leaf's key; JSON that
 * cannot be read unambiguously (a duplicate key, which readers resolve
 * differently) denies. Rows 0-7 were allowed before. */
Test(rev43_constraints, json_inside_a_string_is_read_as_arguments)
{
    static const row rows[] = {
        {E, "{\"url\":\"https://example.com/\",\"body\":\"{\\\"host\\\":\\\"evil.com\\\"}\"}", 0},
        {E,
         "{\"url\":\"https://example.com/\","
         "\"options\":\"{\\\"proxy\\\":{\\\"server\\\":\\\"evil.com:3128\\\"}}\"}",
         0},
        {E, "{\"url\":\"https://example.com/\",\"body\":\"[{\\\"ip\\\":\\\"10.0.0.1\\\"}]\"}", 0},
        {E, "{\"url\":\"https://example.com/\",\"body\":\"{\\\"host\\\":2130706433}\"}", 0},
        {E,
         "{\"url\":\"https://example.com/\",\"body\":\"{\\\"inner\\\":"
         "\\\"{\\\\\\\"host\\\\\\\":\\\\\\\"evil.com\\\\\\\"}\\\"}\"}",
         0},
        {E,
         "{\"url\":\"https://example.com/\","
         "\"body\":\"{\\\"host\\\":\\\"example.com\\\",\\\"host\\\":\\\"evil.com\\\"}\"}",
         0},
        {W, "{\"path\":\"/workspace/a\",\"opts\":\"{\\\"file\\\":\\\"notes.txt\\\"}\"}", 0},
        {W, "{\"path\":\"/workspace/a\",\"opts\":\"{\\\"file\\\":1}\"}", 0},
        {W,
         "{\"path\":\"/workspace/a\","
         "\"opts\":\"{\\\"dir\\\":\\\"/workspace\\\",\\\"dir\\\":\\\"/etc\\\"}\"}",
         0},
        /* legitimate values stay allowed */
        {E, "{\"url\":\"https://example.com/\",\"body\":\"{\\\"name\\\":\\\"x\\\",\\\"n\\\":3}\"}",
         1},
        {E,
         "{\"url\":\"https://example.com/\","
         "\"body\":\"{\\\"callback\\\":\\\"https://example.com/cb\\\"}\"}",
         1},
        {E, "{\"url\":\"https://example.com/\",\"body\":\"[1,2,3]\"}", 1},
        {E, "{\"url\":\"https://example.com/\",\"body\":\"{}\"}", 1},
        {E, "{\"url\":\"https://example.com/\",\"text\":\"[see](https://example.com/x)\"}", 1},
        {E, "{\"url\":\"https://example.com/\",\"text\":\"[a, b] {c}\"}", 1},
        {W, "{\"path\":\"/workspace/a\",\"opts\":\"{\\\"mode\\\":\\\"r\\\",\\\"n\\\":2}\"}", 1},
        /* JSON in a string names no URL or path of its own */
        {E, "{\"body\":\"{\\\"host\\\":\\\"example.com\\\"}\"}", 0},
        {W, "{\"opts\":\"{\\\"file\\\":\\\"/workspace/b\\\"}\"}", 0},
    };
    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

/* F3: the forbidden_path guard read a string that is itself JSON as text
 * only, so a path written with JSON escapes inside it
 * ({"cfg": "{\"path\": \"\\u002fetc\\u002fpasswd\"}"}: "/etc/passwd" to a
 * tool that parses cfg) was not seen. Its strings are now read as
 * arguments of their own; JSON with a duplicate key denies. Rows 0-4
 * were allowed before. */
Test(rev43_constraints, the_forbidden_path_guard_reads_json_inside_a_string)
{
    static const char *const args[] = {
        "{\"cfg\":\"{\\\"path\\\":\\\"\\\\u002fetc\\\\u002fpasswd\\\"}\"}",
        "{\"cfg\":\"{\\\"p\\\":\\\"/\\\\u0065tc/passwd\\\"}\"}",
        "{\"cfg\":\"[\\\"\\\\u002froot\\\\u002f.ssh\\\\u002fid_rsa\\\"]\"}",
        "{\"cfg\":\"{\\\"a\\\":{\\\"b\\\":\\\"\\\\u002fetc/shadow\\\"}}\"}",
        "{\"cfg\":\"{\\\"p\\\":\\\"/tmp/x\\\",\\\"p\\\":\\\"\\\\u002fetc/x\\\"}\"}",
        /* already denied as text */
        "{\"cfg\":\"{\\\"path\\\":\\\"/etc/passwd\\\"}\"}",
        /* legitimate values stay allowed */
        "{\"cfg\":\"{\\\"path\\\":\\\"\\\\u002ftmp\\\\u002fx\\\"}\"}",
        "{\"cfg\":\"{\\\"name\\\":\\\"etc\\\",\\\"n\\\":1}\"}",
        "{\"cfg\":\"[1,2,3]\"}",
        "{\"note\":\"see \\\\u002fetc in the docs\"}",
    };
    static const int denied[] = {1, 1, 1, 1, 1, 1, 0, 0, 0, 0};

    kt_run_guard_rows_at(NOW, args, denied, sizeof(args) / sizeof(args[0]));
}
