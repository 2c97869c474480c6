/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev54_secret_names.c - review 54: a secret in a name
 * the caller chose. The secret_leak guard read the arguments only, so a
 * tool named with an AWS key (an MCP server may list one; the gateway
 * forwards the name) was allowed and the receipt stored the key as its
 * tool_name; out_of_scope's reason quoted an unmatched tool name, and the
 * server and capability ids and an unknown session id were quoted the
 * same way. Now the receipt stores the redaction marker for a tool,
 * server or capability named with a secret and a reason that names the
 * code only, and an unknown session's error does not quote a flagged id.
 * Real kernels and guards.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

#define NOW    1710000300u
#define SECRET "AKIAIOSFODNN7EXAMPLE"

static uint64_t clock_fn(void *ctx)
{
    (void)ctx;
    return NOW;
}

static int g_runs;

static int count_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                      size_t len, chio_output *out)
{
    __atomic_add_fetch(&g_runs, 1, __ATOMIC_SEQ_CST);
    return kt_echo_tool(user, ctx, tool, args, len, out);
}

/* A kernel with a secret_leak guard and the tools "t" and SECRET on srv,
 * and a session holding "cap-t" (srv/t only) and "cap-any" (any tool). */
static chio_kernel *secret_kernel(char sid[CHIO_SESSION_ID_LEN + 1])
{
    static const char *const pats[] = {"AKIA[0-9A-Z]{16}"};
    static const char *const tools[] = {"t", SECRET};
    chio_tool_server ts;
    chio_kernel *k = kt_echo_kernel(NULL, clock_fn, "other", tools, 1);
    char *toks[2];
    const char *caps[2];
    chio_error err;

    chio_error_init(&err);
    memset(&ts, 0, sizeof(ts));
    ts.server_id = "srv";
    ts.tool_names = tools;
    ts.ntools = 2;
    ts.invoke = count_tool;
    cr_assert_eq(chio_kernel_register_tool_server(k, &ts, &err), 0, "%s", err.message);
    cr_assert_eq(chio_kernel_add_secret_leak_guard(k, "SecretLeakGuard", pats, 1, &err), 0, "%s",
                 err.message);
    toks[0] = tk_token(TK_KERNEL_SEED, "cap-t", TK_AGENT_PUB,
                       "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"t\","
                       "\"operations\":[\"invoke\"]}]}",
                       NOW - 10, 100, NULL, 0);
    toks[1] = tk_token(TK_KERNEL_SEED, "cap-any", TK_AGENT_PUB,
                       "{\"grants\":[{\"server_id\":\"*\",\"tool_name\":\"*\","
                       "\"operations\":[\"invoke\"]}]}",
                       NOW - 10, 100, NULL, 0);
    cr_assert(toks[0] != NULL && toks[1] != NULL);
    caps[0] = toks[0];
    caps[1] = toks[1];
    cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, caps, NULL, 2, sid, &err), 0, "%s",
                 err.message);
    free(toks[0]);
    free(toks[1]);
    return k;
}

/* One call; its receipt must exist and hold no SECRET, nor may the
 * reason. Returns the code. */
static chio_code call_clean(chio_kernel *k, const char *sid, const char *cap, const char *server,
                            const char *tool, const char *request_id, const char *row)
{
    chio_response r;
    chio_error err;
    chio_call c;
    const char *js;
    size_t len;
    chio_code code;

    kt_call_init(&c, sid, cap, tool, "{\"q\":1}");
    c.server_id = server;
    c.request_id = request_id;
    chio_error_init(&err);
    chio_response_init(&r);
    cr_assert_eq(chio_kernel_evaluate(k, &c, &r, &err), 0, "%s: %s", row, err.message);
    cr_assert_not_null(r.receipt, "%s: no receipt", row);
    js = chio_receipt_json(r.receipt, &len);
    cr_expect(js != NULL && memmem(js, len, SECRET, strlen(SECRET)) == NULL,
              "%s: the receipt holds the secret: %.*s", row, (int)len, js);
    cr_expect(r.reason == NULL || strstr(r.reason, SECRET) == NULL, "%s: reason %s", row, r.reason);
    code = r.code;
    chio_response_destroy(&r);
    return code;
}

Test(rev54_secret_names, a_name_holding_a_secret_is_never_stored_or_quoted)
{
    char sid[CHIO_SESSION_ID_LEN + 1];
    chio_kernel *k = secret_kernel(sid);
    chio_code code;

    g_runs = 0;
    /* a registered tool named with the key (its server listed it): the
     * call goes on, the receipt stores the marker (before: the key) */
    code = call_clean(k, sid, "cap-any", "srv", SECRET, NULL, "registered tool");
    cr_expect_eq(code, CHIO_CODE_NONE, "%s", chio_code_name(code));
    cr_expect_eq(g_runs, 1, "the tool did not run");
    /* out of scope: the reason quoted the name */
    code = call_clean(k, sid, "cap-t", "srv", SECRET, NULL, "out of scope");
    cr_expect_eq(code, CHIO_CODE_OUT_OF_SCOPE, "%s", chio_code_name(code));
    /* an unknown server and an unknown tool */
    code = call_clean(k, sid, "cap-any", SECRET, "t", NULL, "server id");
    cr_expect_neq(code, CHIO_CODE_NONE);
    code = call_clean(k, sid, "cap-any", "srv", "x" SECRET, NULL, "unregistered tool");
    cr_expect_neq(code, CHIO_CODE_NONE);
    /* a capability id the session does not hold */
    code = call_clean(k, sid, SECRET, "srv", "t", NULL, "capability id");
    cr_expect_neq(code, CHIO_CODE_NONE);
    cr_expect_eq(g_runs, 1, "a tool ran");
    /* unflagged names still work */
    code = call_clean(k, sid, "cap-any", "srv", "t", "req-1", "plain call");
    cr_expect_eq(code, CHIO_CODE_NONE, "%s", chio_code_name(code));
    cr_expect_eq(g_runs, 2);
    chio_kernel_free(k);
}

Test(rev54_secret_names, an_unknown_session_named_with_a_secret_is_not_quoted)
{
    char sid[CHIO_SESSION_ID_LEN + 1];
    chio_kernel *k = secret_kernel(sid);
    chio_response r;
    chio_error err;
    chio_call c;

    kt_call_init(&c, "sess-" SECRET, "cap-any", "t", "{}");
    c.server_id = "srv";
    chio_error_init(&err);
    chio_response_init(&r);
    cr_expect_eq(chio_kernel_evaluate(k, &c, &r, &err), CHIO_ENOSESSION);
    cr_expect(strstr(err.message, SECRET) == NULL, "%s", err.message);
    cr_expect(strstr(err.message, "unknown session") != NULL, "%s", err.message);
    chio_response_destroy(&r);
    chio_error_init(&err);
    cr_expect_eq(chio_kernel_close_session(k, "sess-" SECRET, &err), CHIO_ENOSESSION);
    cr_expect(strstr(err.message, SECRET) == NULL, "%s", err.message);
    chio_kernel_free(k);
}
