/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev54_escapes.c - review 54: the "%uXXXX" escape.
 * JavaScript's unescape() and .NET's HttpUtility.UrlDecode read
 * "%u002e" as '.', so "/w/%u002e%u002e/etc/passwd" is "/etc/passwd" to a
 * tool that decodes with them; the kernel read it as a name of eight
 * bytes, so path_prefix "/w" held, the forbidden_path guard passed
 * "%u002fetc%u002fshadow" and a resource grant on the prefix pattern
 * "file:///pub/" and a star covered "file:///pub/%u002e%u002e/etc/passwd". A path reading that
 * still holds such an escape after its percent-decode is now ambiguous,
 * as one holding a "%XX" is, and a resource URI holding one is covered
 * only by "*" or its exact pattern. Real kernels, real guards.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

#define IAT 1710000000u
#define NOW 1710000300u

static uint64_t clock_fn(void *ctx)
{
    (void)ctx;
    return NOW;
}

static int read_any(void *user, const char *uri, chio_output *out)
{
    (void)user;
    (void)uri;
    return chio_output_set_json(out, "\"content\"", 9);
}

Test(rev54_escapes, a_u_escape_in_a_path_is_read_as_ambiguous)
{
    static const kt_row rows[] = {
        {KT_PP("/w"), "{\"path\":\"/w/%u002e%u002e/etc/passwd\"}", 0},    /* before: allowed */
        {KT_PP("/w"), "{\"path\":\"/w/a%u002f..%u002f..%u002fetc\"}", 0}, /* before: allowed */
        {KT_PP("/w"), "{\"path\":\"/w/%U002E%U002E/etc\"}", 0},           /* before: allowed */
        {KT_PP("/w"), "{\"path\":\"/w/..%u2216..%u2216etc\"}", 0},        /* before: allowed */
        {KT_PP("/w"), "{\"path\":\"/w/%u00zz\"}", 1},                     /* no escape */
        {KT_PP("/w"), "{\"path\":\"/w/%u002\"}", 1},                      /* three digits */
        {KT_PP("/w"), "{\"path\":\"/w/a\"}", 1},
    };
    static const char *const args[] = {
        "{\"path\":\"%u002fetc%u002fshadow\"}",   /* before: allowed */
        "{\"path\":\"/tmp/%u002e%u002e/etc/x\"}", /* before: allowed */
        "{\"path\":\"/tmp/%u00zz\"}",
        "{\"path\":\"/tmp/x\"}",
    };
    static const int denied[] = {1, 1, 0, 0};

    kt_run_rows(clock_fn, NOW, rows, sizeof(rows) / sizeof(rows[0]));
    kt_run_guard_rows_at(NOW, args, denied, sizeof(args) / sizeof(args[0]));
}

/* One resource read of @uri under @cap, its code (and a receipt). */
static chio_code read_uri(chio_kernel *k, const char *sid, const char *cap, const char *uri)
{
    chio_response r;
    chio_error err;
    chio_code code;

    chio_error_init(&err);
    chio_response_init(&r);
    cr_assert_eq(chio_kernel_read_resource(k, sid, NULL, cap, uri, &r, &err), 0, "%s", err.message);
    cr_assert_not_null(r.receipt, "every decision has a receipt");
    code = r.code;
    chio_response_destroy(&r);
    return code;
}

Test(rev54_escapes, a_u_escape_in_a_resource_uri_is_covered_only_by_star_or_exact)
{
    static const char *const tools[] = {"t"};
    static const struct {
        const char *uri;
        int allow;
    } reads[] = {
        {"file:///pub/%u002e%u002e/etc/passwd", 0}, /* before: allowed */
        {"file:///pub/a%u002f..%u002f..%u002fetc", 0},
        {"file:///pub/%u00zz", 1},
        {"file:///pub/a", 1},
    };
    chio_kernel *k = kt_echo_kernel(NULL, clock_fn, "srv", tools, 1);
    char sid[CHIO_SESSION_ID_LEN + 1], *tok;
    const char *caps[1];
    chio_resource_provider rp;
    chio_error err;
    size_t i;

    chio_error_init(&err);
    memset(&rp, 0, sizeof(rp));
    rp.provider_id = "files";
    rp.read = read_any;
    cr_assert_eq(chio_kernel_register_resource_provider(k, &rp, &err), 0, "%s", err.message);
    tok = tk_token(TK_KERNEL_SEED, "cap-u", TK_AGENT_PUB,
                   "{\"grants\":[],\"resource_grants\":[{\"uri_pattern\":\"file:///pub/*\","
                   "\"operations\":[\"read\"]}]}",
                   IAT, 3600, NULL, 0);
    cr_assert_not_null(tok);
    caps[0] = tok;
    cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, caps, NULL, 1, sid, &err), 0, "%s",
                 err.message);
    for (i = 0; i < sizeof(reads) / sizeof(reads[0]); i++)
        cr_expect_eq(read_uri(k, sid, "cap-u", reads[i].uri),
                     reads[i].allow ? CHIO_CODE_NONE : CHIO_CODE_OUT_OF_SCOPE, "read %zu: %s", i,
                     reads[i].uri);
    free(tok);
    chio_kernel_free(k);
}
