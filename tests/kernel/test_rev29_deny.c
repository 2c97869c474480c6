/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev29_deny.c - review 29's sweep of "every denial an
 * agent can cause leaves a receipt" over the prompt get: its arguments are
 * wrapped into the receipt's parameters ({"arguments":..,"name":..}), one
 * level deeper and, canonical, possibly much longer than the text given.
 * Arguments a tool call would take and deny with a receipt
 * (arguments_rejected: 128 levels deep, or over 63 MiB canonical) were an
 * error without a receipt as prompt arguments (invalid_arguments: the
 * wrapper was 129 levels deep, or over the parser's 64 MiB). They are now
 * denied arguments_rejected with a receipt that reads back from the store,
 * its parameters a summary binding the hash of the canonical parameters;
 * so is a resource URI over 64 MiB ({"uri":..} past the parser's limit).
 * Real kernel, real Ed25519, a RocksDB directory read back.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

#define IAT 1710000000u
#define NOW 1710000300u

#define GRANTS                                                                               \
    "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"*\",\"operations\":[\"invoke\"]}]," \
    "\"prompt_grants\":[{\"prompt_name\":\"*\",\"operations\":[\"get\"]}],"                  \
    "\"resource_grants\":[{\"uri_pattern\":\"*\",\"operations\":[\"read\"]}]}"

TestSuite(rev29_deny);

static uint64_t fixed_clock(void *ctx)
{
    (void)ctx;
    return NOW;
}

static int prompt_get(void *user, const char *name, const char *args, size_t len, chio_output *out)
{
    (void)user;
    (void)name;
    (void)args;
    (void)len;
    return chio_output_set_json(out, "\"hello\"", 7);
}

static int resource_read(void *user, const char *uri, chio_output *out)
{
    (void)user;
    (void)uri;
    return chio_output_set_json(out, "\"text\"", 6);
}

static int tool(void *user, chio_tool_ctx *ctx, const char *name, const char *args, size_t len,
                chio_output *out)
{
    (void)user;
    (void)ctx;
    (void)name;
    (void)args;
    (void)len;
    return chio_output_set_json(out, "null", 4);
}

/* A kernel on the store @path with arguments capped at @cap (0: the
 * default), a tool server "srv", a prompt provider and a session holding
 * cap-1. */
static chio_kernel *deny_kernel(const char *path, uint64_t cap, char sid[CHIO_SESSION_ID_LEN + 1])
{
    static const char *const tools[] = {"t"};
    chio_kernel_config cfg;
    chio_tool_server ts;
    chio_prompt_provider pp;
    chio_resource_provider rp;
    chio_kernel *k;
    chio_error err;
    char *tok = tk_token(TK_KERNEL_SEED, "cap-1", TK_AGENT_PUB, GRANTS, IAT, 1000, NULL, 0);
    const char *toks[1] = {tok};

    cr_assert_not_null(tok);
    kt_config(&cfg, path);
    cfg.clock = fixed_clock;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    if (cap != 0)
        cfg.max_argument_bytes = cap;
    k = kt_kernel(&cfg);
    chio_error_init(&err);
    memset(&ts, 0, sizeof(ts));
    ts.server_id = "srv";
    ts.tool_names = tools;
    ts.ntools = 1;
    ts.invoke = tool;
    cr_assert_eq(chio_kernel_register_tool_server(k, &ts, &err), 0, "%s", err.message);
    memset(&pp, 0, sizeof(pp));
    pp.provider_id = "prompts";
    pp.get = prompt_get;
    cr_assert_eq(chio_kernel_register_prompt_provider(k, &pp, &err), 0, "%s", err.message);
    memset(&rp, 0, sizeof(rp));
    rp.provider_id = "resources";
    rp.read = resource_read;
    cr_assert_eq(chio_kernel_register_resource_provider(k, &rp, &err), 0, "%s", err.message);
    cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, toks, NULL, 1, sid, &err), 0, "%s",
                 err.message);
    free(tok);
    return k;
}

/* @d levels of arrays around 1. */
static char *nested_arrays(size_t d)
{
    char *s = malloc(2 * d + 2);

    cr_assert_not_null(s);
    memset(s, '[', d);
    s[d] = '1';
    memset(s + d + 1, ']', d);
    s[2 * d + 1] = '\0';
    return s;
}

/* The stored receipt with id @id, read back from the store at @path. */
static char *stored(const char *path, const char *id)
{
    chio_store *st = NULL;
    chio_error err;
    uint64_t seq = 0;
    char *json = NULL;
    size_t len = 0;

    chio_error_init(&err);
    cr_assert_eq(chio_store_open(path, CHIO_STORE_READ_ONLY, &st, &err), 0, "%s", err.message);
    cr_assert_eq(chio_store_find_receipt(st, id, &seq, &err), 0, "receipt %s not stored: %s", id,
                 err.message);
    cr_assert_eq(chio_store_get_receipt(st, seq, &json, &len, &err), 0, "%s", err.message);
    chio_store_close(st);
    return json;
}

/* A prompt get with @args is denied arguments_rejected, its receipt
 * stored with a summary for parameters; @what names the summary's count
 * of bytes and @why a piece of the reason. */
static void expect_prompt_rejected(uint64_t cap, const char *args, size_t len, const char *what,
                                   const char *why)
{
    char *dir = testutil_tmpdir();
    char sid[CHIO_SESSION_ID_LEN + 1];
    chio_kernel *k = deny_kernel(dir, cap, sid);
    chio_response r;
    chio_error err;
    char *json;

    chio_error_init(&err);
    chio_response_init(&r);
    cr_assert_eq(chio_kernel_get_prompt(k, sid, "req-p", "cap-1", "greet", args, len, &r, &err), 0,
                 "a prompt get with such arguments was an error with no receipt: %s (%s)",
                 err.message, chio_errno_reason(err.code));
    cr_expect_eq(r.verdict, CHIO_VERDICT_DENY);
    cr_expect_eq(r.code, CHIO_CODE_ARGUMENTS_REJECTED, "code %s: %s", chio_code_name(r.code),
                 r.reason);
    cr_expect(strstr(r.reason, why) != NULL, "reason: %s", r.reason);
    cr_assert_not_null(r.receipt);
    cr_expect_eq(chio_kernel_unreceipted_errors(k, NULL), 0);
    cr_assert_eq(chio_kernel_drain(k, &err), 0, "%s", err.message);
    json = stored(dir, chio_receipt_id(r.receipt));
    cr_expect(strstr(json, "\"chio_omitted_arguments\"") != NULL, "%.300s", json);
    cr_expect(strstr(json, what) != NULL, "%.300s", json);
    cr_expect(strstr(json, "\"redaction_mode\":\"summary\"") != NULL, "%.300s", json);
    cr_expect(strstr(json, "\"original_parameter_hash\"") != NULL, "%.300s", json);
    cr_expect(strstr(json, "\"tool_name\":\"prompts/get\"") != NULL, "%.300s", json);
    free(json);
    chio_response_destroy(&r);
    chio_kernel_free(k);
    testutil_rmrf(dir);
    free(dir);
}

/* 128 levels parse (CHIO_JSON_MAX_DEPTH) and a tool call denies them with
 * a receipt; the prompt's wrapper made them 129, which did not parse. */
Test(rev29_deny, prompt_arguments_128_deep_are_denied_with_a_receipt)
{
    /* an object (prompt arguments that are not one are invalid_request) */
    char *deep = nested_arrays(CHIO_JSON_MAX_DEPTH - 1), *args;

    cr_assert(asprintf(&args, "{\"a\":%s}", deep) > 0);
    expect_prompt_rejected(0, args, strlen(args), "\"canonical_bytes\"", "nest more than");
    free(args);
    free(deep);
}

/* The same arguments as a tool call: the behaviour the prompt get now
 * matches. */
Test(rev29_deny, tool_arguments_128_deep_are_denied_with_a_receipt)
{
    char sid[CHIO_SESSION_ID_LEN + 1];
    chio_kernel *k = deny_kernel(NULL, 0, sid);
    char *args = nested_arrays(CHIO_JSON_MAX_DEPTH);
    chio_response r;
    chio_call c;
    chio_error err;

    memset(&c, 0, sizeof(c));
    c.session_id = sid;
    c.capability_id = "cap-1";
    c.server_id = "srv";
    c.tool_name = "t";
    c.arguments_json = args;
    c.arguments_len = strlen(args);
    chio_error_init(&err);
    chio_response_init(&r);
    cr_assert_eq(chio_kernel_evaluate(k, &c, &r, &err), 0, "%s", err.message);
    cr_expect_eq(r.code, CHIO_CODE_ARGUMENTS_REJECTED, "%s", r.reason);
    chio_response_destroy(&r);
    free(args);
    chio_kernel_free(k);
}

/* Prompt arguments within max_argument_bytes whose canonical form is over
 * 63 MiB (1e20 is 4 bytes as text, 21 canonical): the wrapper was over
 * the parser's 64 MiB and the get an error with no receipt. */
Test(rev29_deny, prompt_arguments_too_large_canonical_are_denied_with_a_receipt)
{
    size_t n = (size_t)3600 * 1024, i, o = 0; /* 18 MiB of text, 75 MiB canonical */
    char *args = malloc(5 * n + 8);

    cr_assert_not_null(args);
    memcpy(args, "{\"a\":[", 6); /* an object, as prompt arguments must be */
    o = 6;
    for (i = 0; i < n; i++) {
        memcpy(args + o, i ? ",1e20" : "1e20", i ? 5 : 4);
        o += i ? 5 : 4;
    }
    args[o++] = ']';
    args[o++] = '}';
    expect_prompt_rejected((uint64_t)20 << 20, args, o, "\"canonical_bytes\"", "fit in a receipt");
    free(args);
}

/* Such arguments with a NUL in a string stay what kernel.md lists: an
 * error with no receipt (invalid_arguments), as for a tool call. */
Test(rev29_deny, prompt_arguments_128_deep_with_a_nul_stay_an_error)
{
    char sid[CHIO_SESSION_ID_LEN + 1];
    chio_kernel *k = deny_kernel(NULL, 0, sid);
    char *deep = nested_arrays(CHIO_JSON_MAX_DEPTH - 1), *args;
    chio_response r;
    chio_error err;
    int rc;

    cr_assert(asprintf(&args, "[\"a\\u0000b\",%s]", deep) > 0);
    chio_error_init(&err);
    chio_response_init(&r);
    rc = chio_kernel_get_prompt(k, sid, "req-p", "cap-1", "greet", args, strlen(args), &r, &err);
    cr_expect_eq(rc, CHIO_EINVAL, "rc %d: %s", rc, err.message);
    cr_expect_null(r.receipt);
    cr_expect_eq(chio_kernel_unreceipted_errors(k, "invalid_arguments"), 1);
    chio_response_destroy(&r);
    free(args);
    free(deep);
    chio_kernel_free(k);
}

/* A resource URI too long for a receipt, past the parser's 64 MiB once
 * wrapped as {"uri":..}: denied with a receipt, as a shorter one over
 * 63 MiB was (it was an invalid_arguments error with no receipt). */
Test(rev29_deny, resource_uri_over_64_mib_is_denied_with_a_receipt)
{
    size_t n = CHIO_JSON_MAX_INPUT + 16;
    char sid[CHIO_SESSION_ID_LEN + 1];
    chio_kernel *k = deny_kernel(NULL, 0, sid);
    char *uri = malloc(n + 1);
    chio_response r;
    chio_error err;

    cr_assert_not_null(uri);
    memcpy(uri, "file:///", 8);
    memset(uri + 8, 'a', n - 8);
    uri[n] = '\0';
    chio_error_init(&err);
    chio_response_init(&r);
    cr_assert_eq(chio_kernel_read_resource(k, sid, "req-r", "cap-1", uri, &r, &err), 0,
                 "a long URI was an error with no receipt: %s", err.message);
    cr_expect_eq(r.code, CHIO_CODE_ARGUMENTS_REJECTED, "%s", r.reason);
    cr_expect_not_null(r.receipt);
    chio_response_destroy(&r);
    free(uri);
    chio_kernel_free(k);
}
