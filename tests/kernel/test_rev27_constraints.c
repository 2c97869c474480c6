/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev27_constraints.c - review 27 of the argument
 * constraints (check 6): arguments a tool would read outside the grant
 * that the kernel allowed before. Each row is one constraint, one argument
 * object and the verdict, through the real pipeline; every row, allowed or
 * denied, must leave a receipt. Each test names the rows that were allowed
 * before its fix.
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

/* A number or boolean where a path goes is a file descriptor to the tool:
 * Python's open(3) and open(True) (fd 1), Node's fs.readFileSync(3). It
 * was skipped (only strings were read), so another string that named a
 * path under the prefix let it through. Rows 0-5 were allowed before. */
Test(rev27_constraints, a_number_or_boolean_where_a_path_goes_denies)
{
    static const row rows[] = {
        {PP("/workspace"), "{\"path\":3,\"note\":\"/workspace/a\"}", 0},
        {PP("/workspace"), "{\"path\":\"/workspace/a\",\"out_file\":1}", 0},
        {PP("/workspace"), "{\"path\":true,\"x\":\"/workspace/a\"}", 0},
        {PP("/workspace"), "{\"paths\":[\"/workspace/a\",4]}", 0},
        {PP("/workspace"), "{\"path\":\"/workspace/a\",\"dir\":3.0}", 0},
        {PP("."), "{\"path\":\"a\",\"file\":0}", 0},
        /* numbers under other keys are not paths; null is no descriptor */
        {PP("/workspace"), "{\"path\":\"/workspace/a\",\"mode\":3,\"force\":true}", 1},
        {PP("/workspace"), "{\"path\":\"/workspace/a\",\"dir\":null}", 1},
        {PP("/workspace"), "{\"path\":3}", 0},
    };
    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

/* A number where a URL or host goes is a host to a tool that builds the
 * URL from it ("http://" + 2130706433 is 127.0.0.1). It was skipped; now
 * its JSON text is read as a bare host, as the same text in a string is.
 * Rows 0-2 were allowed before. */
Test(rev27_constraints, a_number_where_a_host_goes_is_read_as_a_host)
{
    static const row rows[] = {
        {DX("api.example.com"), "{\"url\":\"https://api.example.com/\",\"host\":2130706433}", 0},
        {DG("*.example.com"), "{\"url\":\"https://a.example.com/\",\"address\":167772161}", 0},
        {DX("api.example.com"), "{\"url\":\"https://api.example.com/\",\"proxy\":false}", 0},
        {DX("127.0.0.1"), "{\"host\":2130706433}", 1},
        {DX("127.0.0.1"), "{\"url\":\"http://127.0.0.1/\",\"host\":127.1}", 1},
        {DX("api.example.com"), "{\"url\":\"https://api.example.com/\",\"retries\":3}", 1},
        {DX("api.example.com"), "{\"url\":\"https://api.example.com/\",\"host\":null}", 1},
    };
    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

/* A value encoded twice looks like a path only after the first decode
 * ("%252e%252e%252f" is "%2e%2e%2f", then "../"), so it was not read at
 * all under a key that does not name a path. An encoded '%' now makes a
 * value a path candidate (and a double encoding denies). Rows 0-1 were
 * allowed before. */
Test(rev27_constraints, a_path_encoded_twice_is_read_under_any_key)
{
    static const row rows[] = {
        {PP("/workspace"), "{\"path\":\"/workspace/a\",\"x\":\"%252e%252e%252fetc%252fpasswd\"}",
         0},
        {PP("/workspace"), "{\"path\":\"/workspace/a\",\"x\":\"%25252E%25252E%25255Cetc\"}", 0},
        {PP("/workspace"), "{\"path\":\"/workspace/a\",\"x\":\"50% off\"}", 1},
    };
    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

#define CU(k, v) "{\"type\":\"custom\",\"value\":[\"" k "\",\"" v "\"]}"

/* custom [k, v] held when some member k anywhere was v, so a decoy member
 * made any value pass: {"env":"prod","x":{"env":"staging"}} reaches a tool
 * that reads env as prod. Members named k that disagree are ambiguous: now
 * every member named k must be the string v (and there must be one).
 * Rows 0-3 were allowed before. */
Test(rev27_constraints, custom_holds_only_when_every_member_agrees)
{
    static const row rows[] = {
        {CU("env", "staging"), "{\"env\":\"prod\",\"x\":{\"env\":\"staging\"}}", 0},
        {CU("env", "staging"), "{\"env\":[\"prod\"],\"meta\":[{\"env\":\"staging\"}]}", 0},
        {CU("env", "staging"), "{\"jobs\":[{\"env\":\"staging\"},{\"env\":\"prod\"}]}", 0},
        {CU("env", "staging"), "{\"env\":\"staging\",\"o\":{\"env\":1}}", 0},
        {CU("env", "staging"), "{\"env\":\"staging\"}", 1},
        {CU("env", "staging"), "{\"opts\":{\"env\":\"staging\"},\"n\":1}", 1},
        {CU("env", "staging"), "{\"jobs\":[{\"env\":\"staging\"},{\"env\":\"staging\"}]}", 1},
        {CU("env", "staging"), "{\"environment\":\"prod\",\"env\":\"staging\"}", 1},
        {CU("env", "staging"), "{\"q\":\"env\"}", 0},
    };
    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

/* max_length bounded string values only; an object key is a string a tool
 * reads too ({"files": {NAME: content}} creates NAME). Rows 0-1 were
 * allowed before. */
Test(rev27_constraints, max_length_bounds_object_keys_too)
{
    static const row rows[] = {
        {"{\"type\":\"max_length\",\"value\":8}", "{\"files\":{\"a-very-long-name\":\"x\"}}", 0},
        {"{\"type\":\"max_length\",\"value\":8}", "{\"a-very-long-key\":1}", 0},
        {"{\"type\":\"max_length\",\"value\":8}", "{\"files\":{\"12345678\":\"x\"}}", 1},
        {"{\"type\":\"max_length\",\"value\":8}", "{\"q\":\"123456789\"}", 0},
    };
    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}

/* Fullwidth and small-form dots and slashes are "." and "/" to a reader
 * that applies NFKC or Windows' best-fit code page conversion (a resource
 * URI was already read so, a path was not). Every reading is made again
 * with them folded, and they make a value a path candidate. Rows 0-2 were
 * allowed before. */
Test(rev27_constraints, look_alike_dots_and_slashes_are_read_in_paths)
{
    static const row rows[] = {
        {PP("/workspace"), "{\"path\":\"/workspace/\\uff0e\\uff0e/etc/passwd\"}", 0},
        {PP("/workspace"), "{\"path\":\"/workspace/\\u2024\\u2024\\uff3cetc\"}", 0},
        {PP("/workspace"), "{\"path\":\"/workspace/a\",\"x\":\"\\ufe52\\ufe52\\uff0fsecret\"}", 0},
        {PP("/workspace"), "{\"path\":\"\\uff0fetc\\uff0fpasswd\"}", 0},
        {PP("/workspace"), "{\"path\":\"/workspace/\\uff0etxt\"}", 1},
        {PP("/workspace"), "{\"path\":\"/workspace/a\\uff0fb\"}", 1},
    };
    run_rows(rows, sizeof(rows) / sizeof(rows[0]));
}
