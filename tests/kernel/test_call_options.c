/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_call_options.c - what chio_call_options adds:
 * CHIO_CALL_DECIDE_ONLY (evaluate.h): the pipeline decides, signs and
 * commits without running a tool. An allow needs no registered tool and
 * carries output `null` (content_hash of `null`) even when a tool of that
 * name is registered (it is not run); scope, guards and cancellation still
 * deny with a receipt; unknown flag bits are refused with CHIO_EINVAL and
 * nothing signed. And cancellation of resource reads and prompt gets
 * (chio_kernel_read_resource_ex / _get_prompt_ex): cancelled before the
 * provider runs, it is not asked; cancelled while it runs, its answer is
 * dropped; both give a signed `cancelled` receipt; flags are refused. And
 * CHIO_TOOL_SERVER_ANY_TOOL: a server registered without names answers for
 * any tool the scope allows, even one it added after sessions opened.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "chio/chio.h"
#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

/* sha256_hex("null"): the content hash of a call without output. */
#define NULL_HASH "74234e98afe7498fb5daf1f36ac2d78acc339464f950703b8c019892f982b90b"

static const char *const tools[] = {"read"};
static const char scope[] =
    "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"read\",\"operations\":[\"invoke\"]},"
    "{\"server_id\":\"host\",\"tool_name\":\"run\",\"operations\":[\"invoke\"],"
    "\"constraints\":[{\"type\":\"max_length\",\"value\":20}]}]}";
static const char *const forbidden[] = {"/etc/"};

static chio_kernel *kernel_and_session(char sid[CHIO_SESSION_ID_LEN + 1])
{
    chio_kernel *k = kt_echo_kernel(NULL, NULL, "srv", tools, 1);
    chio_capability *cap = NULL;
    const char *tok;
    chio_error err;

    chio_error_init(&err);
    cr_assert_eq(chio_kernel_add_forbidden_path_guard(k, "forbidden_path", forbidden, 1, &err), 0,
                 "%s", err.message);
    cr_assert_eq(chio_kernel_issue_capability(k, "cap-do", TK_AGENT_PUB, scope, strlen(scope), 0,
                                              3600, &cap, &err),
                 0, "%s", err.message);
    tok = chio_capability_json(cap, NULL);
    cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, &tok, NULL, 1, sid, &err), 0, "%s",
                 err.message);
    chio_capability_free(cap);
    return k;
}

static int decide(chio_kernel *k, const char *sid, const char *server, const char *tool,
                  const char *args, uintptr_t flags, const int *cancel, chio_response *r,
                  chio_error *err)
{
    chio_call_options o;
    chio_call c;

    memset(&c, 0, sizeof(c));
    c.session_id = sid;
    c.capability_id = "cap-do";
    c.server_id = server;
    c.tool_name = tool;
    c.arguments_json = args;
    c.arguments_len = strlen(args);
    memset(&o, 0, sizeof(o));
    o.flags = flags;
    o.cancel = cancel;
    chio_error_init(err);
    return chio_kernel_evaluate_ex(k, &c, &o, r, err);
}

static uint64_t signed_count(const chio_kernel *k)
{
    chio_kernel_metrics m;

    cr_assert_eq(chio_kernel_metrics_get(k, &m), 0);
    return m.receipts_signed;
}

static void expect_receipt(const chio_response *r, chio_verdict v, const char *hash)
{
    chio_receipt_report rep;
    const char *json;

    cr_assert_not_null(r->receipt);
    cr_expect_eq(chio_receipt_verdict(r->receipt), v);
    cr_assert_eq(chio_receipt_verify(r->receipt, NULL, 0, &rep), 0);
    cr_expect(rep.signature_valid && rep.receipt_id_valid && rep.parameter_hash_valid);
    json = chio_receipt_json(r->receipt, NULL);
    if (hash != NULL)
        cr_expect(strstr(json, hash) != NULL, "content_hash is not %s: %s", hash, json);
}

Test(decide_only, allows_an_unregistered_tool_in_scope_without_running_anything)
{
    char sid[CHIO_SESSION_ID_LEN + 1];
    chio_kernel *k = kernel_and_session(sid);
    chio_response r;
    chio_error err;

    /* Without the flag the tool must be registered. */
    cr_assert_eq(decide(k, sid, "host", "run", "{\"cmd\":\"ls\"}", 0, NULL, &r, &err), 0, "%s",
                 err.message);
    cr_expect_eq(r.verdict, CHIO_VERDICT_DENY);
    cr_expect_eq(r.code, CHIO_CODE_TOOL_NOT_REGISTERED);
    chio_response_destroy(&r);
    /* With it, the decision is an allow with the output of "no output". */
    cr_assert_eq(
        decide(k, sid, "host", "run", "{\"cmd\":\"ls\"}", CHIO_CALL_DECIDE_ONLY, NULL, &r, &err), 0,
        "%s", err.message);
    cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW, "%s", r.reason);
    cr_expect_str_eq(r.output, "null");
    expect_receipt(&r, CHIO_VERDICT_ALLOW, NULL_HASH);
    cr_expect_str_eq(chio_receipt_tool_server(r.receipt), "host");
    cr_expect_str_eq(chio_receipt_tool_name(r.receipt), "run");
    chio_response_destroy(&r);
    chio_kernel_free(k);
}

Test(decide_only, a_registered_tool_is_not_run)
{
    char sid[CHIO_SESSION_ID_LEN + 1];
    chio_kernel *k = kernel_and_session(sid);
    chio_response r;
    chio_error err;

    /* The echo tool answers with its arguments when it runs... */
    cr_assert_eq(decide(k, sid, "srv", "read", "{\"x\":1}", 0, NULL, &r, &err), 0);
    cr_expect_str_eq(r.output, "{\"x\":1}");
    chio_response_destroy(&r);
    /* ...and not at all under the flag. */
    cr_assert_eq(decide(k, sid, "srv", "read", "{\"x\":1}", CHIO_CALL_DECIDE_ONLY, NULL, &r, &err),
                 0);
    cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW);
    cr_expect_str_eq(r.output, "null");
    expect_receipt(&r, CHIO_VERDICT_ALLOW, NULL_HASH);
    chio_response_destroy(&r);
    chio_kernel_free(k);
}

Test(decide_only, scope_constraints_guards_and_cancellation_still_deny_with_receipts)
{
    char sid[CHIO_SESSION_ID_LEN + 1];
    chio_kernel *k = kernel_and_session(sid);
    const int cancelled = 1;
    chio_response r;
    chio_error err;
    uint64_t before = signed_count(k);

    cr_assert_eq(decide(k, sid, "host", "other", "{}", CHIO_CALL_DECIDE_ONLY, NULL, &r, &err), 0);
    cr_expect_eq(r.code, CHIO_CODE_OUT_OF_SCOPE, "%s", chio_code_name(r.code));
    expect_receipt(&r, CHIO_VERDICT_DENY, NULL);
    chio_response_destroy(&r);

    cr_assert_eq(decide(k, sid, "host", "run", "{\"cmd\":\"a string longer than twenty\"}",
                        CHIO_CALL_DECIDE_ONLY, NULL, &r, &err),
                 0);
    cr_expect_eq(r.verdict, CHIO_VERDICT_DENY, "a constraint must still hold");
    expect_receipt(&r, CHIO_VERDICT_DENY, NULL);
    chio_response_destroy(&r);

    cr_assert_eq(decide(k, sid, "host", "run", "{\"p\":\"/etc/shadow\"}", CHIO_CALL_DECIDE_ONLY,
                        NULL, &r, &err),
                 0);
    cr_expect_eq(r.code, CHIO_CODE_GUARD_DENIED, "%s", chio_code_name(r.code));
    expect_receipt(&r, CHIO_VERDICT_DENY, NULL);
    chio_response_destroy(&r);

    cr_assert_eq(decide(k, sid, "host", "run", "{}", CHIO_CALL_DECIDE_ONLY, &cancelled, &r, &err),
                 0);
    cr_expect_eq(r.verdict, CHIO_VERDICT_CANCELLED);
    cr_expect_null(r.output);
    chio_response_destroy(&r);
    cr_expect_eq(signed_count(k), before + 4);
    chio_kernel_free(k);
}

Test(decide_only, unknown_flag_bits_are_refused_and_sign_nothing)
{
    char sid[CHIO_SESSION_ID_LEN + 1];
    chio_kernel *k = kernel_and_session(sid);
    uintptr_t bits[] = {2, 4, (uintptr_t)1 << (sizeof(uintptr_t) * 8 - 1),
                        CHIO_CALL_DECIDE_ONLY | 8};
    chio_response r;
    chio_error err;
    uint64_t before = signed_count(k);
    size_t i;

    for (i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
        cr_expect_eq(decide(k, sid, "host", "run", "{}", bits[i], NULL, &r, &err), CHIO_EINVAL,
                     "bits %#lx", (unsigned long)bits[i]);
        cr_expect(strstr(err.message, "flags") != NULL, "%s", err.message);
        cr_expect_null(r.receipt);
        chio_response_destroy(&r);
    }
    cr_expect_eq(signed_count(k), before);
    cr_expect_eq(chio_kernel_unreceipted_errors(k, "invalid_arguments"),
                 sizeof(bits) / sizeof(bits[0]));
    chio_kernel_free(k);
}

/* ---- resource reads and prompt gets ------------------------------------------------------ */

typedef struct prov_state {
    int calls;
    int *cancel_while_running; /* set to 1 by the provider when non-NULL */
} prov_state;

static int res_read(void *user, const char *uri, chio_output *out)
{
    prov_state *st = user;

    (void)uri;
    st->calls++;
    if (st->cancel_while_running != NULL)
        __atomic_store_n(st->cancel_while_running, 1, __ATOMIC_SEQ_CST);
    return chio_output_set_json(out, "{\"text\":\"secret content\"}", 25);
}

static int prompt_get(void *user, const char *name, const char *args, size_t len, chio_output *out)
{
    prov_state *st = user;

    (void)name;
    (void)args;
    (void)len;
    st->calls++;
    if (st->cancel_while_running != NULL)
        __atomic_store_n(st->cancel_while_running, 1, __ATOMIC_SEQ_CST);
    return chio_output_set_json(out, "\"hello\"", 7);
}

static const char pscope[] =
    "{\"resource_grants\":[{\"uri_pattern\":\"file:///*\",\"operations\":[\"read\"]}],"
    "\"prompt_grants\":[{\"prompt_name\":\"*\",\"operations\":[\"get\"]}]}";

static chio_kernel *provider_kernel(prov_state *st, char sid[CHIO_SESSION_ID_LEN + 1])
{
    chio_kernel *k = kt_echo_kernel(NULL, NULL, "srv", tools, 1);
    chio_resource_provider rp;
    chio_prompt_provider pp;
    chio_capability *cap = NULL;
    const char *tok;
    chio_error err;

    memset(&rp, 0, sizeof(rp));
    rp.provider_id = "files";
    rp.read = res_read;
    rp.user = st;
    memset(&pp, 0, sizeof(pp));
    pp.provider_id = "prompts";
    pp.get = prompt_get;
    pp.user = st;
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_register_resource_provider(k, &rp, &err), 0, "%s", err.message);
    cr_assert_eq(chio_kernel_register_prompt_provider(k, &pp, &err), 0, "%s", err.message);
    cr_assert_eq(chio_kernel_issue_capability(k, "cap-do", TK_AGENT_PUB, pscope, strlen(pscope), 0,
                                              3600, &cap, &err),
                 0, "%s", err.message);
    tok = chio_capability_json(cap, NULL);
    cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, &tok, NULL, 1, sid, &err), 0, "%s",
                 err.message);
    chio_capability_free(cap);
    return k;
}

static int named(chio_kernel *k, const char *sid, int prompt, const chio_call_options *o,
                 chio_response *r, chio_error *err)
{
    chio_error_init(err);
    if (prompt)
        return chio_kernel_get_prompt_ex(k, sid, NULL, "cap-do", "greet", "{}", 2, o, r, err);
    return chio_kernel_read_resource_ex(k, sid, NULL, "cap-do", "file:///a.txt", o, r, err);
}

static void expect_cancelled(const chio_response *r)
{
    cr_expect_eq(r->verdict, CHIO_VERDICT_CANCELLED, "%s", chio_verdict_name(r->verdict));
    cr_expect_eq(r->code, CHIO_CODE_CANCELLED);
    cr_expect_null(r->output);
    expect_receipt(r, CHIO_VERDICT_CANCELLED, NULL);
}

Test(provider_cancel, cancelled_before_the_provider_runs_it_is_not_asked)
{
    char sid[CHIO_SESSION_ID_LEN + 1];
    prov_state st = {0, NULL};
    chio_kernel *k = provider_kernel(&st, sid);
    int cancel = 1, prompt;
    chio_call_options o;
    chio_response r;
    chio_error err;

    memset(&o, 0, sizeof(o));
    o.cancel = &cancel;
    for (prompt = 0; prompt < 2; prompt++) {
        cr_assert_eq(named(k, sid, prompt, &o, &r, &err), 0, "%s", err.message);
        expect_cancelled(&r);
        chio_response_destroy(&r);
    }
    cr_expect_eq(st.calls, 0, "a cancelled request reached its provider");
    /* Not cancelled (and NULL options): the provider answers. */
    cancel = 0;
    for (prompt = 0; prompt < 2; prompt++) {
        cr_assert_eq(named(k, sid, prompt, prompt ? NULL : &o, &r, &err), 0, "%s", err.message);
        cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW, "%s", r.reason);
        cr_expect_not_null(r.output);
        chio_response_destroy(&r);
    }
    cr_expect_eq(st.calls, 2);
    chio_kernel_free(k);
}

Test(provider_cancel, cancelled_while_the_provider_runs_its_answer_is_dropped)
{
    char sid[CHIO_SESSION_ID_LEN + 1];
    int cancel = 0, prompt;
    prov_state st = {0, &cancel};
    chio_kernel *k = provider_kernel(&st, sid);
    chio_call_options o;
    chio_response r;
    chio_error err;

    memset(&o, 0, sizeof(o));
    o.cancel = &cancel;
    for (prompt = 0; prompt < 2; prompt++) {
        cancel = 0;
        cr_assert_eq(named(k, sid, prompt, &o, &r, &err), 0, "%s", err.message);
        expect_cancelled(&r);
        chio_response_destroy(&r);
    }
    cr_expect_eq(st.calls, 2);
    chio_kernel_free(k);
}

Test(provider_cancel, flags_and_reserved_bytes_are_refused_and_sign_nothing)
{
    char sid[CHIO_SESSION_ID_LEN + 1];
    prov_state st = {0, NULL};
    chio_kernel *k = provider_kernel(&st, sid);
    uint64_t before = signed_count(k);
    chio_call_options o;
    chio_response r;
    chio_error err;
    int prompt;

    for (prompt = 0; prompt < 2; prompt++) {
        memset(&o, 0, sizeof(o));
        o.flags = CHIO_CALL_DECIDE_ONLY;
        cr_expect_eq(named(k, sid, prompt, &o, &r, &err), CHIO_EINVAL);
        cr_expect(strstr(err.message, "flags") != NULL, "%s", err.message);
        chio_response_destroy(&r);
        memset(&o, 0, sizeof(o));
        o.reserved[0] = &o;
        cr_expect_eq(named(k, sid, prompt, &o, &r, &err), CHIO_EINVAL);
        chio_response_destroy(&r);
    }
    cr_expect_eq(st.calls, 0);
    cr_expect_eq(signed_count(k), before);
    chio_kernel_free(k);
}

/* ---- CHIO_TOOL_SERVER_ANY_TOOL -------------------------------------------------------------- */

static int named_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                      size_t len, chio_output *out)
{
    char buf[64];
    int n;

    (void)ctx;
    (void)args;
    (void)len;
    ++*(int *)user;
    if (strcmp(tool, "gone") == 0) {
        chio_output_set_error(out, "no such tool");
        return -1;
    }
    n = snprintf(buf, sizeof(buf), "\"ran %s\"", tool);
    return chio_output_set_json(out, buf, (size_t)n);
}

Test(any_tool, a_server_answers_for_every_tool_name_the_scope_allows)
{
    static const char anyscope[] =
        "{\"grants\":[{\"server_id\":\"mcp\",\"tool_name\":\"*\",\"operations\":[\"invoke\"]}]}";
    chio_kernel_config cfg;
    chio_tool_server ts;
    chio_capability *cap = NULL;
    char sid[CHIO_SESSION_ID_LEN + 1];
    const char *tok;
    chio_kernel *k;
    chio_response r;
    chio_error err;
    chio_call c;
    int runs = 0;

    kt_config(&cfg, NULL);
    k = kt_kernel(&cfg);
    memset(&ts, 0, sizeof(ts));
    ts.server_id = "mcp";
    ts.invoke = named_tool;
    ts.user = &runs;
    ts.flags = CHIO_TOOL_SERVER_ANY_TOOL;
    chio_error_init(&err);
    /* Names with the flag, and unknown bits, are refused. */
    {
        static const char *const one[] = {"x"};
        chio_tool_server bad = ts;

        bad.tool_names = one;
        bad.ntools = 1;
        cr_expect_eq(chio_kernel_register_tool_server(k, &bad, &err), CHIO_EINVAL);
        bad = ts;
        bad.flags = 6;
        cr_expect_eq(chio_kernel_register_tool_server(k, &bad, &err), CHIO_EINVAL);
        cr_expect(strstr(err.message, "flags") != NULL, "%s", err.message);
    }
    cr_assert_eq(chio_kernel_register_tool_server(k, &ts, &err), 0, "%s", err.message);
    cr_assert_eq(chio_kernel_issue_capability(k, "cap-any", TK_AGENT_PUB, anyscope,
                                              strlen(anyscope), 0, 3600, &cap, &err),
                 0, "%s", err.message);
    tok = chio_capability_json(cap, NULL);
    cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, &tok, NULL, 1, sid, &err), 0, "%s",
                 err.message);
    chio_capability_free(cap);

    memset(&c, 0, sizeof(c));
    c.session_id = sid;
    c.capability_id = "cap-any";
    c.server_id = "mcp";
    /* Any name reaches the server, including one added after the session opened... */
    c.tool_name = "added_later";
    cr_assert_eq(chio_kernel_evaluate(k, &c, &r, &err), 0, "%s", err.message);
    cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW, "%s", r.reason);
    cr_expect_str_eq(r.output, "\"ran added_later\"");
    chio_response_destroy(&r);
    /* ...one it does not have is its to refuse: a tool error with a receipt... */
    c.tool_name = "gone";
    cr_assert_eq(chio_kernel_evaluate(k, &c, &r, &err), 0, "%s", err.message);
    cr_expect_eq(r.code, CHIO_CODE_TOOL_ERROR, "%s", chio_code_name(r.code));
    cr_expect_not_null(r.receipt);
    chio_response_destroy(&r);
    /* ...and another server is still not registered. */
    c.server_id = "other";
    c.tool_name = "x";
    cr_assert_eq(chio_kernel_evaluate(k, &c, &r, &err), 0, "%s", err.message);
    cr_expect_eq(r.verdict, CHIO_VERDICT_DENY);
    chio_response_destroy(&r);
    cr_expect_eq(runs, 2);
    chio_kernel_free(k);
}
