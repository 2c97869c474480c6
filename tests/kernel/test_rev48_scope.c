/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev48_scope.c - review 48 of the domain constraints
 * against chio's kernel, through the real pipeline (a signed token,
 * chio_kernel_evaluate, a receipt for every call).
 *
 * chio lowercases a domain_glob and matches it as written against hosts
 * it reads with their dots trimmed, so a glob ending in '.' matches no
 * host and every call under it is denied. The kernel dropped the glob's
 * final dot and allowed such calls: `*.example.com.` allowed
 * https://api.example.com/. The glob now keeps it. domain_exact is read
 * as a host on both sides (its final dot dropped), as chio's
 * normalize_domain does.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

#define NOW 1710000300u

typedef kt_row row; /* allow: 1 allowed, 0 constraint_violated, KT_UNUSABLE */

#define GLOB(v)  "{\"type\":\"domain_glob\",\"value\":\"" v "\"}"
#define EXACT(v) "{\"type\":\"domain_exact\",\"value\":\"" v "\"}"

Test(rev48_scope, a_domain_glob_ending_in_a_dot_matches_no_host_as_in_chio)
{
    static const row rows[] = {
        /* allowed before review 48 */
        {GLOB("*.example.com."), "{\"url\":\"https://api.example.com/\"}", 0},
        {GLOB("*.example.com."), "{\"url\":\"https://api.example.com./\"}", 0},
        {GLOB("*."), "{\"url\":\"https://api.example.com/\"}", 0},
        /* unchanged: a glob is lowercased, as in chio */
        {GLOB("*.example.com"), "{\"url\":\"https://api.example.com./\"}", 1},
        {GLOB("*.EXAMPLE.com"), "{\"url\":\"https://api.example.com/\"}", 1},
        {GLOB("*.example.com"), "{\"url\":\"https://example.com/\"}", 0},
        /* domain_exact is a host on both sides, its final dot dropped */
        {EXACT("api.example.com."), "{\"url\":\"https://api.example.com/\"}", 1},
        {EXACT("API.example.com"), "{\"url\":\"https://api.example.com./\"}", 1},
        {EXACT("api.example.com"), "{\"url\":\"https://evil.example.com/\"}", 0},
    };
    kt_run_rows_at(NOW, rows, sizeof(rows) / sizeof(rows[0]));
}

static uint64_t at_now(void *ctx)
{
    (void)ctx;
    return NOW;
}

/* Python's json reads NaN, Infinity and -Infinity, so a string holding
 * [NaN,"AKIA..."] is an array with the key in it to a Python tool. It was
 * read as text (our reader refuses it), which an anchored pattern does not
 * match: allowed, and the key stored in the receipt. Now read as Python
 * reads it. Text that is no JSON even to Python stays text. */
Test(rev48_scope, a_secret_in_json_only_python_reads_is_found)
{
    static const char *const tools[] = {"t"};
    static const char *const patterns[] = {"^AKIA[A-Z0-9]{16}$"};
    static const struct {
        const char *args;
        int denied;
    } cases[] = {
        {"{\"q\":\"[NaN,\\\"AKIAABCDEFGHIJKLMNOP\\\"]\"}", 1},
        {"{\"q\":\"{\\\"a\\\":-Infinity,\\\"b\\\":[Infinity,\\\"AKIAABCDEFGHIJKLMNOP\\\"]}\"}", 1},
        {"{\"q\":\"{\\\"AKIAABCDEFGHIJKLMNOP\\\":NaN}\"}", 1},
        /* NaN in a string is no literal: this one is plain JSON */
        {"{\"q\":\"[\\\"NaN\\\",\\\"AKIAABCDEFGHIJKLMNOP\\\"]\"}", 1},
        /* JSON to Python with no secret in it, and text */
        {"{\"q\":\"[NaN,\\\"hello\\\"]\"}", 0},
        {"{\"q\":\"[Infinity war]\"}", 0},
        {"{\"q\":\"[NaNo, AKIAABCDEFGHIJKLMNOP]\"}", 0},
    };
    chio_kernel *k = kt_echo_kernel(NULL, at_now, "srv", tools, 1);
    chio_error err;
    size_t i, len;

    chio_error_init(&err);
    cr_assert_eq(chio_kernel_add_secret_leak_guard(k, "Secrets", patterns, 1, &err), 0, "%s",
                 err.message);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char id[32], sid[CHIO_SESSION_ID_LEN + 1];
        chio_response r;
        chio_call c;
        const char *json;

        snprintf(id, sizeof(id), "cap-py-%zu", i);
        kt_grant_session(k, NOW, id, "", sid);
        kt_grant_call(&c, sid, id, cases[i].args, strlen(cases[i].args));
        chio_response_init(&r);
        cr_assert_eq(chio_kernel_evaluate(k, &c, &r, &err), 0, "%s", err.message);
        cr_assert_not_null(r.receipt);
        json = chio_receipt_json(r.receipt, &len);
        cr_assert_not_null(json);
        if (cases[i].denied) {
            cr_expect_eq(r.code, CHIO_CODE_GUARD_DENIED, "row %zu %s: %s", i, cases[i].args,
                         chio_code_name(r.code));
            cr_expect(strstr(json, "AKIAABCDEFGHIJKLMNOP") == NULL,
                      "row %zu: the receipt holds the key: %.400s", i, json);
        } else {
            cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW, "row %zu %s: %s", i, cases[i].args,
                         r.reason);
        }
        chio_response_destroy(&r);
    }
    chio_kernel_free(k);
}
