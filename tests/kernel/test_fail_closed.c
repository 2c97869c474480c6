/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_fail_closed.c - the kernel never ignores what a token
 * asks for, and every denial an agent can cause leaves a receipt:
 *   - grants the kernel does not enforce (DPoP, cost caps, unknown grant,
 *     token or link fields, unreadable constraints, unknown fields in
 *     resource and prompt grants) are unusable: unsupported_grant, with a
 *     receipt, never an allow; a plain grant beside them still works;
 *   - refusals of well-formed calls (a capability the session does not
 *     hold, an empty request id, server or tool name, arguments too deep or
 *     too large for a receipt) are deny receipts; what cannot be put in a
 *     receipt stays an error, counted by reason.
 * Real kernel, real Ed25519, ephemeral RocksDB.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "kernel/tokens.h"
#include "kernel_internal.h"

#define IAT 1710000000u
#define NOW 1710000300u

static uint64_t fc_clock(void *ctx)
{
    (void)ctx;
    return NOW;
}

TestSuite(fail_closed);

static int provide(void *user, const char *uri, chio_output *out)
{
    (void)user;
    (void)uri;
    return chio_output_set_json(out, "\"text\"", 6);
}

static chio_kernel *fc_kernel(void)
{
    static const char *const tools[] = {"read", "write"};
    chio_resource_provider rp;
    chio_kernel *k = kt_echo_kernel(NULL, fc_clock, "srv", tools, 2);
    chio_error err;

    chio_error_init(&err);
    memset(&rp, 0, sizeof(rp));
    rp.provider_id = "docs";
    rp.read = provide;
    cr_assert_eq(chio_kernel_register_resource_provider(k, &rp, &err), 0, "%s", err.message);
    return k;
}

/* Open a session holding the given tokens (JSON texts). */
static void fc_open(chio_kernel *k, const char *const *toks, size_t n,
                    char sid[CHIO_SESSION_ID_LEN + 1])
{
    chio_error err;

    chio_error_init(&err);
    cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, toks, NULL, n, sid, &err), 0, "%s",
                 err.message);
}

static char *fc_token(const char *id, const char *scope)
{
    char *t = tk_token(TK_KERNEL_SEED, id, TK_AGENT_PUB, scope, IAT, 1000, NULL, 0);

    cr_assert_not_null(t, "token %s", id);
    return t;
}

static uint64_t fc_signed(chio_kernel *k)
{
    chio_kernel_metrics m;

    chio_kernel_metrics_get(k, &m);
    return m.receipts_signed;
}

/* One call; returns the response (caller destroys it). */
static int fc_call(chio_kernel *k, const char *sid, const char *cap, const char *server,
                   const char *tool, const char *req, const char *args, size_t args_len,
                   chio_response *r, chio_error *err)
{
    chio_call c;

    memset(&c, 0, sizeof(c));
    c.session_id = sid;
    c.capability_id = cap;
    c.server_id = server;
    c.tool_name = tool;
    c.request_id = req;
    c.arguments_json = args;
    c.arguments_len = args_len;
    chio_error_init(err);
    chio_response_init(r);
    return chio_kernel_evaluate(k, &c, r, err);
}

/* The receipt verifies under the kernel key, with parameter_hash valid,
 * and its decision is @verdict (with guard = the code on a deny). */
static void fc_expect_receipt(const chio_response *r, const char *verdict, chio_code code)
{
    chio_receipt_report rep;
    const chio_json *d;
    uint8_t pub[32];

    cr_assert_not_null(r->receipt, "no receipt");
    cr_assert_eq(chio_pubkey_from_hex(TEST_PUB, 64, pub), 0);
    cr_assert_eq(chio_receipt_verify(r->receipt, pub, 1, &rep), 0);
    cr_expect(rep.ok && rep.parameter_hash_valid, "receipt does not verify");
    d = chio_json_get(chio_receipt_root(r->receipt), "decision");
    cr_expect_str_eq(chio_json_string(chio_json_get(d, "verdict"), NULL), verdict);
    cr_expect_eq(r->code, code, "code %s, want %s (%s)", chio_code_name(r->code),
                 chio_code_name(code), r->reason);
    if (code != CHIO_CODE_NONE)
        cr_expect_str_eq(chio_json_string(chio_json_get(d, "guard"), NULL), chio_code_name(code));
}

static void fc_expect(chio_kernel *k, const char *sid, const char *cap, const char *tool,
                      const char *args, chio_code code)
{
    chio_response r;
    chio_error err;
    uint64_t before = fc_signed(k);

    cr_assert_eq(fc_call(k, sid, cap, "srv", tool, "req-1", args, strlen(args), &r, &err), 0,
                 "%s: %s", cap, err.message);
    fc_expect_receipt(&r, code == CHIO_CODE_NONE ? "allow" : "deny", code);
    if (code != CHIO_CODE_NONE)
        cr_expect_null(r.output, "%s: a denied call has output", cap);
    cr_expect_eq(fc_signed(k), before + 1, "%s: one receipt per decision", cap);
    chio_response_destroy(&r);
}

/* ---- A: grants the kernel does not enforce ------------------------------------------------ */

#define GRANT(extra)                                                                               \
    "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"read\",\"operations\":[\"invoke\"]" extra \
    "}]}"

static const struct {
    const char *id, *scope;
    chio_code want;
} grant_rows[] = {
    {"plain", GRANT(""), CHIO_CODE_NONE},
    {"dpop-false", GRANT(",\"dpop_required\":false"), CHIO_CODE_NONE},
    {"budget", GRANT(",\"max_invocations\":100"), CHIO_CODE_NONE},
    {"dpop-true", GRANT(",\"dpop_required\":true"), CHIO_CODE_UNSUPPORTED_GRANT},
    {"cost-per-call", GRANT(",\"max_cost_per_invocation\":{\"units\":5,\"currency\":\"USD\"}"),
     CHIO_CODE_UNSUPPORTED_GRANT},
    {"cost-total-0", GRANT(",\"max_total_cost\":{\"units\":0,\"currency\":\"USD\"}"),
     CHIO_CODE_UNSUPPORTED_GRANT},
    {"cost-total-big", GRANT(",\"max_total_cost\":{\"units\":1000000,\"currency\":\"USD\"}"),
     CHIO_CODE_UNSUPPORTED_GRANT},
    {"unknown-grant-field", GRANT(",\"max_rate_per_minute\":1"), CHIO_CODE_UNSUPPORTED_GRANT},
    {"unknown-constraint",
     GRANT(",\"constraints\":[{\"type\":\"time_window\",\"value\":\"09-17\"}]"),
     CHIO_CODE_UNSUPPORTED_GRANT},
    {"constraint-bad-value", GRANT(",\"constraints\":[{\"type\":\"max_length\",\"value\":\"x\"}]"),
     CHIO_CODE_UNSUPPORTED_GRANT},
    {"constraint-no-value", GRANT(",\"constraints\":[{\"type\":\"path_prefix\"}]"),
     CHIO_CODE_UNSUPPORTED_GRANT},
    {"constraint-extra-field",
     GRANT(",\"constraints\":[{\"type\":\"max_length\",\"value\":100,\"mode\":\"soft\"}]"),
     CHIO_CODE_UNSUPPORTED_GRANT},
    /* a NUL in a constraint's type or custom pair: not the type or pair
     * it starts like ({"q":"abc"} would satisfy custom ["q","abc"]) */
    {"constraint-type-nul",
     GRANT(",\"constraints\":[{\"type\":\"max_length\\u0000x\",\"value\":100}]"),
     CHIO_CODE_UNSUPPORTED_GRANT},
    {"custom-value-nul",
     GRANT(",\"constraints\":[{\"type\":\"custom\",\"value\":[\"q\",\"abc\\u0000x\"]}]"),
     CHIO_CODE_UNSUPPORTED_GRANT},
    {"custom-key-nul",
     GRANT(",\"constraints\":[{\"type\":\"custom\",\"value\":[\"q\\u0000x\",\"abc\"]}]"),
     CHIO_CODE_UNSUPPORTED_GRANT},
    {"custom-plain", GRANT(",\"constraints\":[{\"type\":\"custom\",\"value\":[\"q\",\"abc\"]}]"),
     CHIO_CODE_NONE},
    /* a kind of grant the kernel does not know, beside a plain tool grant */
    {"scope-extra",
     "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"read\",\"operations\":[\"invoke\"]}],"
     "\"deny_grants\":[{\"server_id\":\"srv\",\"tool_name\":\"read\"}]}",
     CHIO_CODE_UNSUPPORTED_GRANT},
    /* an unusable grant beside a plain one: the plain one is used */
    {"mixed",
     "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"read\",\"operations\":[\"invoke\"],"
     "\"dpop_required\":true},{\"server_id\":\"srv\",\"tool_name\":\"*\",\"operations\":"
     "[\"invoke\"]}]}",
     CHIO_CODE_NONE},
    /* an unusable grant beside a plain grant whose constraint fails */
    {"mixed-violated",
     "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"read\",\"operations\":[\"invoke\"],"
     "\"max_total_cost\":{\"units\":1,\"currency\":\"USD\"}},{\"server_id\":\"srv\",\"tool_name\":"
     "\"read\",\"operations\":[\"invoke\"],\"constraints\":[{\"type\":\"max_length\",\"value\":1}"
     "]}]}",
     CHIO_CODE_CONSTRAINT_VIOLATED},
};

Test(fail_closed, grants_the_kernel_does_not_enforce_are_unusable)
{
    chio_kernel *k = fc_kernel();
    const size_t n = sizeof(grant_rows) / sizeof(grant_rows[0]);
    char *toks[sizeof(grant_rows) / sizeof(grant_rows[0])], sid[CHIO_SESSION_ID_LEN + 1];
    size_t i;

    for (i = 0; i < n; i++)
        toks[i] = fc_token(grant_rows[i].id, grant_rows[i].scope);
    fc_open(k, (const char *const *)toks, n, sid);
    for (i = 0; i < n; i++) {
        /* twice: a spent or zero budget the kernel ignored would show here */
        fc_expect(k, sid, grant_rows[i].id, "read", "{\"q\":\"abc\"}", grant_rows[i].want);
        fc_expect(k, sid, grant_rows[i].id, "read", "{\"q\":\"abc\"}", grant_rows[i].want);
    }
    for (i = 0; i < n; i++)
        free(toks[i]);
    chio_kernel_free(k);
}

Test(fail_closed, unknown_link_fields_are_reported_like_token_fields)
{
    char agent_pub[65], *linked, *link_extra;
    chio_capability *cap;
    tk_link link;

    tk_pub(TK_AGENT_SEED, agent_pub);
    memset(&link, 0, sizeof(link));
    link.capability_id = "cap-parent";
    link.delegator_seed = TK_KERNEL_SEED;
    link.delegatee_pub = agent_pub;
    link.timestamp = IAT;
    linked = tk_token(TK_KERNEL_SEED, "cap-link", TK_AGENT_PUB, GRANT(""), IAT, 1000, &link, 1);
    cr_assert_not_null(linked);
    cr_assert_eq(chio_capability_parse(linked, strlen(linked), &cap, NULL), 0);
    cr_expect_null(chio_capability_unknown_field(cap));
    chio_capability_free(cap);
    link_extra = tk_replace(linked, "\"timestamp\"", "\"revocable_by\":\"x\",\"timestamp\"");
    cr_assert_not_null(link_extra);
    cr_assert_eq(chio_capability_parse(link_extra, strlen(link_extra), &cap, NULL), 0);
    /* the kernel reads this as "a field it does not enforce": unusable */
    cr_expect_str_eq(chio_capability_unknown_field(cap), "revocable_by");
    chio_capability_free(cap);
    free(linked);
    free(link_extra);
}

/* A token whose signed body carries a top-level field the kernel does not
 * interpret: issued through chio_capability_issue()'s normal path is not
 * possible (it refuses unknown fields), so sign the body by hand. */
static char *signed_with_extra_field(void)
{
    char issuer[65], body[1024], *out;

    tk_pub(TK_KERNEL_SEED, issuer);
    snprintf(body, sizeof(body),
             "{\"audience\":\"other-service\",\"expires_at\":%u,\"id\":\"cap-extra\","
             "\"issued_at\":%u,\"issuer\":\"%s\",\"scope\":" GRANT(
                 "") ",\"subject\":\"" TK_AGENT_PUB "\"}",
             IAT + 1000, IAT, issuer);
    out = tk_sign_body(TK_KERNEL_SEED, body);
    cr_assert_not_null(out);
    return out;
}

Test(fail_closed, a_signed_field_the_kernel_does_not_interpret_denies)
{
    chio_kernel *k = fc_kernel();
    char sid[CHIO_SESSION_ID_LEN + 1], *tok = signed_with_extra_field();
    const char *toks[1] = {tok};
    chio_capability *cap;

    /* the signature is good: only the unknown field stands in the way */
    cr_assert_eq(chio_capability_parse(tok, strlen(tok), &cap, NULL), 0);
    cr_expect_str_eq(chio_capability_unknown_field(cap), "audience");
    chio_capability_free(cap);
    fc_open(k, toks, 1, sid);
    fc_expect(k, sid, "cap-extra", "read", "{}", CHIO_CODE_UNSUPPORTED_GRANT);
    fc_expect(k, sid, "cap-extra", "write", "{}", CHIO_CODE_OUT_OF_SCOPE);
    free(tok);
    chio_kernel_free(k);
}

Test(fail_closed, resource_grant_with_an_unknown_field_is_unusable)
{
    chio_kernel *k = fc_kernel();
    char sid[CHIO_SESSION_ID_LEN + 1];
    char *ok = fc_token("cap-r", "{\"resource_grants\":[{\"uri_pattern\":\"file:///docs/*\","
                                 "\"operations\":[\"read\"]}]}");
    char *bad =
        fc_token("cap-r-bad", "{\"resource_grants\":[{\"uri_pattern\":\"file:///docs/*\","
                              "\"operations\":[\"read\"],\"mime_types\":[\"text/plain\"]}]}");
    const char *toks[2] = {ok, bad};
    chio_response r;
    chio_error err;

    fc_open(k, toks, 2, sid);
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_read_resource(k, sid, NULL, "cap-r", "file:///docs/a", &r, &err), 0);
    fc_expect_receipt(&r, "allow", CHIO_CODE_NONE);
    chio_response_destroy(&r);
    cr_assert_eq(chio_kernel_read_resource(k, sid, NULL, "cap-r-bad", "file:///docs/a", &r, &err),
                 0);
    fc_expect_receipt(&r, "deny", CHIO_CODE_UNSUPPORTED_GRANT);
    chio_response_destroy(&r);
    free(ok);
    free(bad);
    chio_kernel_free(k);
}

/* ---- C: every denial an agent can cause leaves a receipt ----------------------------------- */

Test(fail_closed, unknown_capability_is_a_deny_receipt_naming_the_id)
{
    chio_kernel *k = fc_kernel();
    char sid[CHIO_SESSION_ID_LEN + 1], *tok = fc_token("cap-1", GRANT(""));
    const char *toks[1] = {tok};
    chio_response r;
    chio_error err;

    fc_open(k, toks, 1, sid);
    cr_assert_eq(fc_call(k, sid, "cap-probe-\xc3\xa9", "srv", "read", "req-9", "{}", 2, &r, &err),
                 0, "%s", err.message);
    fc_expect_receipt(&r, "deny", CHIO_CODE_UNKNOWN_CAPABILITY);
    cr_expect_str_eq(chio_receipt_capability_id(r.receipt), "cap-probe-\xc3\xa9");
    chio_response_destroy(&r);
    /* on resources too */
    cr_assert_eq(chio_kernel_read_resource(k, sid, NULL, "cap-404", "file:///docs/a", &r, &err), 0);
    fc_expect_receipt(&r, "deny", CHIO_CODE_UNKNOWN_CAPABILITY);
    chio_response_destroy(&r);
    cr_expect_eq(chio_kernel_unreceipted_errors(k, NULL), 0);
    free(tok);
    chio_kernel_free(k);
}

Test(fail_closed, empty_names_and_request_ids_are_deny_receipts)
{
    chio_kernel *k = fc_kernel();
    char sid[CHIO_SESSION_ID_LEN + 1], *tok = fc_token("cap-1", GRANT(""));
    const char *toks[1] = {tok};
    chio_response r;
    chio_error err;

    fc_open(k, toks, 1, sid);
    cr_assert_eq(fc_call(k, sid, "cap-1", "srv", "read", "", "{}", 2, &r, &err), 0, "%s",
                 err.message);
    fc_expect_receipt(&r, "deny", CHIO_CODE_INVALID_REQUEST);
    cr_assert_not_null(r.request_id);
    cr_expect_gt(strlen(r.request_id), 0, "the receipt carries a fresh request id");
    chio_response_destroy(&r);
    cr_assert_eq(fc_call(k, sid, "cap-1", "", "read", "req-1", "{}", 2, &r, &err), 0);
    fc_expect_receipt(&r, "deny", CHIO_CODE_INVALID_REQUEST);
    chio_response_destroy(&r);
    cr_assert_eq(fc_call(k, sid, "cap-1", "srv", "", "req-1", "{}", 2, &r, &err), 0);
    fc_expect_receipt(&r, "deny", CHIO_CODE_INVALID_REQUEST);
    chio_response_destroy(&r);
    free(tok);
    chio_kernel_free(k);
}

/* [[[...]]] @depth levels deep */
static char *nested(size_t depth, size_t *len)
{
    char *s = malloc(2 * depth + 1);
    size_t i;

    cr_assert_not_null(s);
    for (i = 0; i < depth; i++) {
        s[i] = '[';
        s[2 * depth - 1 - i] = ']';
    }
    s[2 * depth] = '\0';
    *len = 2 * depth;
    return s;
}

Test(fail_closed, arguments_too_deep_for_a_receipt_are_denied_with_their_hash)
{
    chio_kernel *k = fc_kernel();
    char sid[CHIO_SESSION_ID_LEN + 1], *tok = fc_token("cap-1", GRANT(""));
    char *args, *canon, want[65];
    const char *toks[1] = {tok};
    const chio_json *root, *red, *params;
    chio_response r;
    chio_error err;
    size_t len, clen;

    fc_open(k, toks, 1, sid);
    chio_kernel_revoke_capability(k, "cap-1", NULL); /* even on a revoked capability */
    args = nested(127, &len);
    cr_assert_eq(fc_call(k, sid, "cap-1", "srv", "read", "req-1", args, len, &r, &err), 0, "%s",
                 err.message);
    fc_expect_receipt(&r, "deny", CHIO_CODE_ARGUMENTS_REJECTED);
    root = chio_receipt_root(r.receipt);
    cr_expect_str_eq(chio_json_string(chio_json_get(root, "redaction_mode"), NULL), "summary");
    params = chio_json_get(chio_json_get(root, "action"), "parameters");
    cr_expect_not_null(chio_json_get(params, "chio_omitted_arguments"));
    red = chio_json_get(chio_json_get(root, "metadata"), "redaction");
    cr_assert_not_null(red);
    cr_assert_eq(chio_json_canonicalize(args, len, &canon, &clen, NULL), 0);
    cr_assert_eq(chio_sha256_hex(canon, clen, want), 0);
    cr_expect_str_eq(chio_json_string(chio_json_get(red, "original_parameter_hash"), NULL), want);
    chio_free(canon);
    chio_response_destroy(&r);
    free(args);
    free(tok);
    chio_kernel_free(k);
}

Test(fail_closed, what_cannot_be_put_in_a_receipt_is_an_error_counted_by_reason)
{
    chio_kernel *k = fc_kernel();
    char sid[CHIO_SESSION_ID_LEN + 1], *tok = fc_token("cap-1", GRANT(""));
    const char *toks[1] = {tok};
    chio_response r;
    chio_error err;

    fc_open(k, toks, 1, sid);
    cr_expect_eq(fc_call(k, sid, "cap-1", "srv", "read", "req-\xff", "{}", 2, &r, &err),
                 CHIO_EINVAL);
    cr_expect_eq(fc_call(k, sid, "cap-\xff", "srv", "read", "req-1", "{}", 2, &r, &err),
                 CHIO_EINVAL);
    cr_expect_eq(fc_call(k, sid, "cap-1", "srv", "read", "req-1", "{\"a\":", 5, &r, &err),
                 CHIO_EJSON_TRUNCATED);
    cr_expect_eq(
        fc_call(k, sid, "cap-1", "srv", "read", "req-1", "{\"a\":\"\\u0000\"}", 14, &r, &err),
        CHIO_EINVAL);
    cr_expect_eq(fc_call(k, "sess-nope", "cap-1", "srv", "read", "req-1", "{}", 2, &r, &err),
                 CHIO_ENOSESSION);
    cr_expect_eq(chio_kernel_unreceipted_errors(k, "invalid_arguments"), 4);
    cr_expect_eq(chio_kernel_unreceipted_errors(k, "unknown_session"), 1);
    cr_expect_eq(fc_signed(k), 0, "an error signed a receipt");
    free(tok);
    chio_kernel_free(k);
}

Test(fail_closed, over_long_ids_and_names_are_denied_and_kept_out_of_the_receipt)
{
    chio_kernel *k = fc_kernel();
    char sid[CHIO_SESSION_ID_LEN + 1], *tok = fc_token("cap-1", GRANT("")), *big;
    const char *toks[1] = {tok};
    const char *const which[] = {"capability id", "server id", "tool name", "request id"};
    size_t i, n = 70000;

    fc_open(k, toks, 1, sid);
    big = malloc(n + 1);
    cr_assert_not_null(big);
    memset(big, 'x', n);
    big[n] = '\0';
    for (i = 0; i < 4; i++) {
        chio_response r;
        chio_error err;
        const char *text;
        size_t len;

        cr_assert_eq(fc_call(k, sid, i == 0 ? big : "cap-1", i == 1 ? big : "srv",
                             i == 2 ? big : "read", i == 3 ? big : "req-1", "{}", 2, &r, &err),
                     0, "%s: %s", which[i], err.message);
        fc_expect_receipt(&r, "deny", CHIO_CODE_INVALID_REQUEST);
        text = chio_receipt_json(r.receipt, &len);
        cr_expect_lt(len, 4096, "%s: the receipt holds the long value (%zu bytes)", which[i], len);
        cr_expect_not_null(strstr(text, "[omitted "), "%s: no marker", which[i]);
        chio_response_destroy(&r);
    }
    free(big);
    free(tok);
    chio_kernel_free(k);
}

static int g_runs;

static int counting(void *user, chio_tool_ctx *ctx, const char *tool, const char *args, size_t len,
                    chio_output *out)
{
    __atomic_add_fetch(&g_runs, 1, __ATOMIC_RELAXED);
    return kt_echo_tool(user, ctx, tool, args, len, out);
}

Test(fail_closed, a_store_that_cannot_commit_runs_no_further_tool)
{
    static const char *const tools[] = {"count"};
    char *dir = testutil_tmpdir(), path[512], sid[CHIO_SESSION_ID_LEN + 1];
    char *tok = fc_token("cap-1", "{\"grants\":[{\"server_id\":\"cnt\",\"tool_name\":\"count\","
                                  "\"operations\":[\"invoke\"]}]}");
    const char *toks[1] = {tok};
    chio_kernel_config cfg;
    chio_tool_server ts;
    chio_kernel *k;
    chio_response r;
    chio_error err;
    int rc, runs;

    snprintf(path, sizeof(path), "%s/db", dir);
    kt_config(&cfg, path);
    cfg.clock = fc_clock;
    cfg.log_level = CHIO_LOG_ERROR;
    k = kt_kernel(&cfg);
    memset(&ts, 0, sizeof(ts));
    ts.server_id = "cnt";
    ts.tool_names = tools;
    ts.ntools = 1;
    ts.invoke = counting;
    cr_assert_eq(chio_kernel_register_tool_server(k, &ts, NULL), 0);
    fc_open(k, toks, 1, sid);
    cr_assert_eq(fc_call(k, sid, "cap-1", "cnt", "count", "req-1", "{}", 2, &r, &err), 0);
    chio_response_destroy(&r);
    cr_expect_eq(g_runs, 1);
    /* The next commit fails: that call's tool ran, but its caller gets an
     * error (never an allow without a receipt)... */
    chio__store_fail_writes(chio__kernel_store(k), -1);
    rc = fc_call(k, sid, "cap-1", "cnt", "count", "req-2", "{}", 2, &r, &err);
    cr_expect(rc == CHIO_ESTORE || rc == CHIO_EFAILED, "rc %s", chio_err_name(rc));
    cr_expect_null(r.receipt);
    chio_response_destroy(&r);
    runs = g_runs;
    /* ... and from then on the kernel knows: no tool runs at all. */
    rc = fc_call(k, sid, "cap-1", "cnt", "count", "req-3", "{}", 2, &r, &err);
    cr_expect_eq(rc, CHIO_EFAILED, "rc %s", chio_err_name(rc));
    cr_expect_eq(g_runs, runs, "a tool ran on a kernel that cannot commit");
    cr_expect_eq(chio_kernel_unreceipted_errors(k, "store_failure"), 2);
    chio_response_destroy(&r);
    chio_kernel_free(k);
    testutil_rmrf(dir);
    free(dir);
    free(tok);
}
