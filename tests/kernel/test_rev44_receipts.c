/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev44_receipts.c - review 44 of "every denial an agent
 * can cause leaves a receipt" (docs/security.md; spec/kernel.md "The
 * pipeline, in order"):
 *   - ids and names an agent chooses are bounded at 64 KiB each so that,
 *     beside arguments of up to 63 MiB, a receipt stays under the 64 MiB a
 *     receipt may have. The bound counted their bytes, not the bytes the
 *     receipt writes: a control character is written as \u00XX, six bytes
 *     for one. Four ids of 64 KiB of control characters beside arguments
 *     of 63 MiB (a kernel with max_argument_bytes raised to 63 MiB, which
 *     the configuration allows) made a receipt over the limit: the call
 *     was an error (CHIO_ETOOBIG) with no receipt. Ids are now bounded by
 *     their escaped length (request.c): such a call is refused
 *     (invalid_request) before any tool runs, with a receipt that holds
 *     the arguments; and a receipt's parameters give way to a summary
 *     whenever they would not fit beside the rest of it (decision.c).
 * Real kernel, real Ed25519, an in-memory log.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

#define NOW        1710000300u
#define ID_BYTES   ((size_t)64 * 1024)  /* the longest id kept in a receipt */
#define ARGS_BYTES (((size_t)63) << 20) /* the largest arguments kept verbatim */

static uint64_t fixed_clock(void *ctx)
{
    (void)ctx;
    return NOW;
}

/* A host guard that passes and writes its whole details buffer with
 * control characters (each written \u00XX in the receipt). */
static int loud_guard(void *user, const chio_guard_input *in, chio_guard_verdict *verdict,
                      char *details, size_t details_cap)
{
    (void)user;
    (void)in;
    *verdict = CHIO_GUARD_PASS;
    memset(details, '\x05', details_cap - 1);
    details[details_cap - 1] = '\0';
    return 0;
}

/* A kernel taking arguments up to 63 MiB, serving srv/t (echo), with one
 * session holding cap-1; its id into @sid. @secret_guard: with a
 * secret_leak guard (which the arguments below never trip), whose denied
 * calls' parameters are a redacted copy when it flags something. @loud:
 * that many loud_guard()s. */
static chio_kernel *big_kernel(int secret_guard, int loud, char sid[CHIO_SESSION_ID_LEN + 1])
{
    static const char *const patterns[] = {"AKIA[0-9A-Z]{16}"};
    static const char *const tools[] = {"t"};
    chio_kernel_config cfg;
    chio_kernel *k;

    kt_config(&cfg, NULL);
    cfg.clock = fixed_clock;
    cfg.max_argument_bytes = ARGS_BYTES;
    k = kt_kernel(&cfg);
    kt_serve_echo(k, "srv", tools, 1);
    if (secret_guard)
        cr_assert_eq(chio_kernel_add_secret_leak_guard(k, "SecretLeakGuard", patterns, 1, NULL), 0);
    for (int i = 0; i < loud; i++) {
        char name[32];
        snprintf(name, sizeof(name), "loud-%03d", i);
        cr_assert_eq(chio_kernel_add_guard(k, name, loud_guard, NULL, NULL), 0);
    }
    kt_grant_session(k, NOW, "cap-1", "", sid);
    return k;
}

/* @n bytes of the control character @c, NUL-terminated. */
static char *controls(size_t n, char c)
{
    char *s = malloc(n + 1);

    cr_assert_not_null(s);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* {"a":"xx..x"}: canonical JSON of exactly @n bytes. */
static char *args_of(size_t n)
{
    char *s = malloc(n + 1);

    cr_assert_not_null(s);
    memcpy(s, "{\"a\":\"", 6);
    memset(s + 6, 'x', n - 8);
    memcpy(s + n - 2, "\"}", 2);
    s[n] = '\0';
    return s;
}

/* The receipt reads back (what the store and chio keep) and says @v. */
static void expect_readable(const chio_receipt *rec, chio_verdict v)
{
    chio_receipt *back = NULL;
    const char *json;
    size_t len;

    cr_assert_not_null(rec, "a decision without a receipt");
    cr_expect_eq(chio_receipt_verdict(rec), v);
    json = chio_receipt_json(rec, &len);
    cr_expect(len <= CHIO_JSON_MAX_INPUT, "the receipt is %zu bytes", len);
    cr_expect_eq(chio_receipt_parse(json, len, &back, NULL), 0, "the receipt does not read back");
    chio_receipt_free(back);
}

/* Four ids of 64 KiB of control characters beside 63 MiB of arguments:
 * a deny (invalid_request: each id is 384 KiB escaped) with a receipt,
 * never an error with none, and the tool not run. */
static void escaped_ids_call(int secret_guard)
{
    char sid[CHIO_SESSION_ID_LEN + 1];
    chio_kernel *k = big_kernel(secret_guard, 0, sid);
    char *cap = controls(ID_BYTES, '\x01'), *req = controls(ID_BYTES, '\x02');
    char *srv = controls(ID_BYTES, '\x03'), *tool = controls(ID_BYTES, '\x04');
    char *args = args_of(ARGS_BYTES);
    chio_response r;
    chio_error err;
    chio_call c;
    int rc;

    kt_grant_call(&c, sid, cap, args, ARGS_BYTES);
    c.request_id = req;
    c.server_id = srv;
    c.tool_name = tool;
    chio_error_init(&err);
    rc = chio_kernel_evaluate(k, &c, &r, &err);
    cr_assert_eq(rc, 0, "an error with no receipt: %s (%s)%s", chio_strerror(rc), err.message,
                 secret_guard ? " (with a secret_leak guard)" : "");
    cr_expect_eq(r.verdict, CHIO_VERDICT_DENY);
    cr_expect_eq(r.code, CHIO_CODE_INVALID_REQUEST, "%s", r.reason);
    expect_readable(r.receipt, CHIO_VERDICT_DENY);
    chio_response_destroy(&r);
    cr_expect_eq(chio_kernel_unreceipted_errors(k, NULL), 0);
    free(cap);
    free(req);
    free(srv);
    free(tool);
    free(args);
    chio_kernel_free(k);
}

Test(rev44_receipts, escaped_ids_beside_the_largest_arguments_still_leave_a_receipt)
{
    escaped_ids_call(0);
}

/* The same with a secret_leak guard that flags nothing: its denied calls
 * went through redaction, which kept the arguments verbatim without asking
 * whether they fit. */
Test(rev44_receipts, escaped_ids_with_a_secret_guard_still_leave_a_receipt)
{
    escaped_ids_call(1);
}

/* Arguments that fit a receipt alone but not beside the evidence of many
 * host guards (400 x 511 bytes of control characters, about 1.2 MiB
 * escaped): the decision keeps a receipt that reads back, its parameters
 * the summary bound to the arguments' hash, never an error with none. */
Test(rev44_receipts, arguments_that_do_not_fit_beside_guard_evidence_leave_a_summary)
{
    char sid[CHIO_SESSION_ID_LEN + 1];
    chio_kernel *k = big_kernel(0, 400, sid);
    char *args = args_of(ARGS_BYTES);
    chio_response r;
    chio_error err;
    chio_call c;
    int rc;

    kt_grant_call(&c, sid, "cap-1", args, ARGS_BYTES);
    chio_error_init(&err);
    rc = chio_kernel_evaluate(k, &c, &r, &err);
    cr_assert_eq(rc, 0, "an error with no receipt: %s (%s)", chio_strerror(rc), err.message);
    expect_readable(r.receipt, r.verdict);
    cr_expect_not_null(strstr(chio_receipt_json(r.receipt, NULL), "\"redaction_mode\":\"summary\""),
                       "the parameters are a summary");
    chio_response_destroy(&r);
    cr_expect_eq(chio_kernel_unreceipted_errors(k, NULL), 0);
    free(args);
    chio_kernel_free(k);
}
