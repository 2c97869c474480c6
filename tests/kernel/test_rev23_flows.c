/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev23_flows.c - review 23 of checks 10-12 and nested
 * flows: regressions for the holes found, through the public API. A
 * sampling request that carries tools is sampling with tool use whatever
 * the tool claims; nothing reaches the host once the call is cancelled,
 * timed out or past its stream limit; one call's nested requests are
 * bounded; a tool's error text a secret_leak guard flags stays out of the
 * receipt.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

#define NOW 1710000300u

static uint64_t clock_fn(void *ctx)
{
    (void)ctx;
    return NOW;
}

/* What the tools below do, and what the host saw. */
typedef struct plan {
    const char *req; /* the nested request */
    int with_tools;  /* the tool's claim */
    int rc;          /* the nested call's result */
    int cancel;      /* the host's cancel flag; the tool raises it first when set_cancel */
    int set_cancel;
    int loops; /* nested requests made before one failed */
} plan;

static plan g_plan;
static int g_host_calls;

static int host(void *user, chio_nested_kind kind, const char *session_id, const char *req,
                size_t len, chio_output *reply)
{
    (void)user;
    (void)kind;
    (void)session_id;
    (void)req;
    (void)len;
    g_host_calls++;
    return chio_output_set_json(reply, "\"sampled\"", 9);
}

static int sampling_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                         size_t len, chio_output *out)
{
    char *reply = NULL;
    size_t rlen = 0;

    (void)user;
    (void)tool;
    if (g_plan.set_cancel)
        __atomic_store_n(&g_plan.cancel, 1, __ATOMIC_RELAXED);
    g_plan.rc = chio_tool_ctx_sample(ctx, g_plan.req, strlen(g_plan.req), g_plan.with_tools, &reply,
                                     &rlen, NULL);
    chio_free(reply);
    return chio_output_set_json(out, args, len);
}

/* Streams one chunk past the byte limit, then asks for a sample. */
static int streaming_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                          size_t len, chio_output *out)
{
    char *reply = NULL;
    size_t rlen = 0;

    (void)user;
    (void)tool;
    (void)args;
    (void)len;
    (void)out;
    cr_expect_eq(chio_tool_ctx_emit_chunk(ctx, "\"0123456789abcdef\"", 18), CHIO_ESTREAM_LIMIT);
    g_plan.rc = chio_tool_ctx_sample(ctx, "{\"messages\":[]}", 15, 0, &reply, &rlen, NULL);
    chio_free(reply);
    return 0;
}

static int flooding_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                         size_t len, chio_output *out)
{
    char *reply;
    size_t rlen;

    (void)user;
    (void)tool;
    for (g_plan.loops = 0; g_plan.loops < 5000; g_plan.loops++) {
        reply = NULL;
        g_plan.rc = chio_tool_ctx_sample(ctx, "{\"messages\":[]}", 15, 0, &reply, &rlen, NULL);
        chio_free(reply);
        if (g_plan.rc != 0)
            break;
    }
    return chio_output_set_json(out, args, len);
}

static int leaking_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                        size_t len, chio_output *out)
{
    (void)user;
    (void)ctx;
    (void)tool;
    (void)args;
    (void)len;
    /* The secret straddles the 255-byte cut of the stored message. */
    if (strcmp(args, "{\"q\":2}") == 0)
        chio_output_set_error(out,
                              "upstream refused the request; a long explanation follows, "
                              "padded to put the key across the cut: "
                              "................................................................"
                              "..........................................................."
                              "........................key AKIAABCDEFGHIJKLMNOP");
    else
        chio_output_set_error(out, "upstream refused key sk-live-abc123def456");
    return -1;
}

static int leaking_reader(void *user, const char *uri, chio_output *out)
{
    (void)user;
    (void)uri;
    chio_output_set_error(out, "cannot open: token sk-live-abc123def456 expired");
    return -1;
}

static chio_kernel *g_k;
static uint64_t g_cap; /* max_argument_bytes; 0 = the default */
static char g_sid[CHIO_SESSION_ID_LEN + 1];

static void reg(const char *server, int streaming, kt_tool_fn fn)
{
    kt_serve_t(g_k, server, streaming, fn);
}

/* A kernel that allows sampling but not its tool use, one server per tool
 * above, a secret_leak guard, and a session holding cap-f for every tool. */
static void setup(uint64_t stream_bytes)
{
    static const char *const pats[] = {"sk-live-[a-z0-9]+", "AKIA[A-Z0-9]{16}"};
    chio_kernel_config cfg;
    chio_resource_provider rp;
    chio_error err;
    const char *caps[1];
    char *tok;

    kt_config(&cfg, NULL);
    cfg.clock = clock_fn;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    cfg.allow_sampling = 1;
    cfg.allow_sampling_tool_use = 0;
    if (stream_bytes)
        cfg.max_stream_total_bytes = stream_bytes;
    if (g_cap)
        cfg.max_argument_bytes = g_cap;
    g_k = kt_kernel(&cfg);
    reg("srv-sample", 0, sampling_tool);
    reg("srv-stream", 1, streaming_tool);
    reg("srv-flood", 0, flooding_tool);
    reg("srv-leak", 0, leaking_tool);
    memset(&rp, 0, sizeof(rp));
    rp.provider_id = "rp-leak";
    rp.read = leaking_reader;
    cr_assert_eq(chio_kernel_register_resource_provider(g_k, &rp, &err), 0, "%s", err.message);
    cr_assert_eq(chio_kernel_set_nested_handler(g_k, host, NULL, &err), 0);
    cr_assert_eq(chio_kernel_add_secret_leak_guard(g_k, "SecretLeakGuard", pats, 2, &err), 0);
    tok = tk_token(TK_KERNEL_SEED, "cap-f", TK_AGENT_PUB,
                   "{\"grants\":[{\"server_id\":\"*\",\"tool_name\":\"*\","
                   "\"operations\":[\"invoke\"]}],"
                   "\"resource_grants\":[{\"uri_pattern\":\"*\",\"operations\":[\"read\"]}]}",
                   NOW - 10, 100, NULL, 0);
    cr_assert_not_null(tok);
    caps[0] = tok;
    cr_assert_eq(chio_kernel_open_session(g_k, TK_AGENT_PUB, caps, NULL, 1, g_sid, &err), 0, "%s",
                 err.message);
    free(tok);
    memset(&g_plan, 0, sizeof(g_plan));
    g_host_calls = 0;
}

static const char *g_args = "{\"q\":1}";

static void call(const char *server, const chio_call_options *opts, chio_response *r)
{
    chio_call c;
    chio_error err;

    memset(&c, 0, sizeof(c));
    c.session_id = g_sid;
    c.capability_id = "cap-f";
    c.server_id = server;
    c.tool_name = "t";
    c.arguments_json = g_args;
    c.arguments_len = strlen(g_args);
    chio_error_init(&err);
    memset(r, 0, sizeof(*r));
    cr_assert_eq(chio_kernel_evaluate_ex(g_k, &c, opts, r, &err), 0, "%s", err.message);
    cr_assert_not_null(r->receipt);
}

static int child_says(const chio_response *r, size_t i, const char *needle)
{
    size_t len;
    const char *js;

    if (i >= r->nchildren)
        return 0;
    js = chio_receipt_json(r->children[i], &len);
    return js != NULL && strstr(js, needle) != NULL;
}

/* Whether a sampling request asks for tool use is read from the request,
 * not taken from the tool's with_tools flag: every spelling of a tool
 * member is refused without allow_sampling_tool_use, with a child receipt. */
Test(rev23_flows, sampling_request_with_tools_needs_tool_use)
{
    static const struct {
        const char *req;
        int allowed;
    } rows[] = {
        {"{\"messages\":[],\"tools\":[{\"name\":\"rm\"}]}", 0},
        {"{\"messages\":[],\"tools\":[]}", 0},
        {"{\"messages\":[],\"toolChoice\":{\"mode\":\"required\"}}", 0},
        {"{\"messages\":[],\"tool_choice\":\"auto\"}", 0},
        {"{\"messages\":[],\"\\u0074ools\":[{\"name\":\"rm\"}]}", 0},
        {"{\"messages\":[],\"TOOLS\":[{\"name\":\"rm\"}]}", 0},
        {"{\"method\":\"sampling/createMessage\",\"params\":{\"tools\":[]}}", 0},
        /* review 54: at any depth, and a request that is no object (its
         * tools could be anywhere); both were plain sampling */
        {"{\"request\":{\"tools\":[]}}", 0},
        {"[{\"params\":{\"tools\":[1]}}]", 0},
        {"{\"messages\":[{\"content\":{\"toolUseId\":\"x\"}}]}", 0},
        {"[\"tools\"]", 0},
        {"{\"messages\":[]}", 1},
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"list tools\"}]}", 1},
        {"{\"messages\":[{\"role\":\"user\",\"content\":{\"type\":\"text\",\"text\":\"tools\"}}]}",
         1},
    };
    size_t i;

    setup(0);
    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        chio_response r;
        int before = g_host_calls;

        g_plan.req = rows[i].req;
        g_plan.with_tools = 0;
        call("srv-sample", NULL, &r);
        cr_expect_eq(r.nchildren, 1, "row %zu: %zu child receipts", i, r.nchildren);
        if (rows[i].allowed) {
            cr_expect_eq(g_plan.rc, 0, "row %zu (%s): refused", i, rows[i].req);
            cr_expect_eq(g_host_calls, before + 1, "row %zu: host not asked", i);
        } else {
            cr_expect_eq(g_plan.rc, CHIO_EDENIED, "row %zu (%s): rc %d", i, rows[i].req, g_plan.rc);
            cr_expect_eq(g_host_calls, before, "row %zu (%s): the host was asked", i, rows[i].req);
            cr_expect(child_says(&r, 0, "sampling_tool_use_not_allowed"),
                      "row %zu: child receipt does not name the refusal", i);
        }
        chio_response_destroy(&r);
    }
    chio_kernel_free(g_k);
}

/* A tool of a cancelled call (or one past its timeout) gets no more
 * answers from the host; its request is refused with a child receipt. */
Test(rev23_flows, nested_request_after_cancel_is_refused)
{
    chio_call_options o;
    chio_response r;

    setup(0);
    g_plan.req = "{\"messages\":[]}";
    g_plan.set_cancel = 1;
    memset(&o, 0, sizeof(o));
    o.cancel = &g_plan.cancel;
    call("srv-sample", &o, &r);
    cr_expect_eq(r.verdict, CHIO_VERDICT_CANCELLED);
    cr_expect_eq(g_plan.rc, CHIO_EDENIED, "rc %d", g_plan.rc);
    cr_expect_eq(g_host_calls, 0, "the host answered a cancelled call's tool");
    cr_expect_eq(r.nchildren, 1);
    cr_expect(child_says(&r, 0, "\"cancelled\""), "child receipt does not say cancelled");
    chio_response_destroy(&r);
    chio_kernel_free(g_k);
}

/* Past its stream limit the call is over (incomplete): no more host
 * answers for its tool. */
Test(rev23_flows, nested_request_after_stream_limit_is_refused)
{
    chio_response r;

    setup(8);
    call("srv-stream", NULL, &r);
    cr_expect_eq(r.verdict, CHIO_VERDICT_INCOMPLETE);
    cr_expect_eq(r.code, CHIO_CODE_STREAM_LIMIT);
    cr_expect_eq(g_plan.rc, CHIO_EDENIED, "rc %d", g_plan.rc);
    cr_expect_eq(g_host_calls, 0, "the host answered past the stream limit");
    cr_expect_eq(r.nchildren, 1);
    cr_expect(child_says(&r, 0, "stream_limit"), "child receipt does not say stream_limit");
    chio_response_destroy(&r);
    chio_kernel_free(g_k);
}

/* A tool that loops on sampling cannot grow one call's child receipts
 * without bound: past the cap the request fails and the call is a
 * tool_error deny whose receipt says why. */
Test(rev23_flows, nested_requests_per_call_are_bounded)
{
    chio_response r;

    setup(0);
    call("srv-flood", NULL, &r);
    cr_expect_eq(g_plan.rc, CHIO_ELIMIT, "rc %d after %d requests", g_plan.rc, g_plan.loops);
    cr_expect_eq(g_plan.loops, 1024);
    cr_expect_eq(r.nchildren, 1024);
    cr_expect_eq(g_host_calls, 1024);
    cr_expect_eq(r.verdict, CHIO_VERDICT_DENY);
    cr_expect_eq(r.code, CHIO_CODE_TOOL_ERROR);
    cr_expect(strstr(r.reason, "nested requests") != NULL, "reason: %s", r.reason);
    chio_response_destroy(&r);
    chio_kernel_free(g_k);
}

/* A tool's error text that a secret_leak guard flags is withheld from the
 * receipt and the reason, as the value would be from a denied call's
 * parameters. */
Test(rev23_flows, tool_error_text_with_a_secret_is_withheld)
{
    chio_response r;
    const char *js;
    size_t len;

    setup(0);
    call("srv-leak", NULL, &r);
    cr_expect_eq(r.verdict, CHIO_VERDICT_DENY);
    cr_expect_eq(r.code, CHIO_CODE_TOOL_ERROR);
    js = chio_receipt_json(r.receipt, &len);
    cr_assert_not_null(js);
    cr_expect(strstr(js, "sk-live-abc123def456") == NULL, "receipt leaks the secret: %s", js);
    cr_expect(strstr(r.reason, "sk-live-abc123def456") == NULL, "reason: %s", r.reason);
    cr_expect(strstr(r.reason, "withheld") != NULL, "reason: %s", r.reason);
    chio_response_destroy(&r);
    chio_kernel_free(g_k);
}

/* The same for a resource provider's read error. */
Test(rev23_flows, provider_error_text_with_a_secret_is_withheld)
{
    chio_response r;
    chio_error err;
    const char *js;
    size_t len;

    setup(0);
    memset(&r, 0, sizeof(r));
    cr_assert_eq(chio_kernel_read_resource(g_k, g_sid, NULL, "cap-f", "file:///x", &r, &err), 0,
                 "%s", err.message);
    cr_expect_eq(r.verdict, CHIO_VERDICT_DENY);
    cr_expect_eq(r.code, CHIO_CODE_TOOL_ERROR);
    js = chio_receipt_json(r.receipt, &len);
    cr_assert_not_null(js);
    cr_expect(strstr(js, "sk-live-abc123def456") == NULL, "receipt leaks the secret: %s", js);
    cr_expect(strstr(r.reason, "withheld") != NULL, "reason: %s", r.reason);
    chio_response_destroy(&r);
    chio_kernel_free(g_k);
}

/* A nested request is held to max_argument_bytes like a call's arguments:
 * over it, the host is not asked and the child receipt stores a summary
 * bound to the raw text's hash, not the text. */
Test(rev23_flows, nested_request_over_argument_cap_is_summarised)
{
    static const char big[] = "{\"messages\":[{\"role\":\"user\",\"content\":\"0123456789\"}]}";
    chio_response r;
    const char *js;
    size_t len;

    g_cap = 32;
    setup(0);
    g_plan.req = big;
    call("srv-sample", NULL, &r);
    cr_expect_eq(g_plan.rc, CHIO_EDENIED, "rc %d", g_plan.rc);
    cr_expect_eq(g_host_calls, 0, "the host was asked");
    cr_assert_eq(r.nchildren, 1);
    js = chio_receipt_json(r.children[0], &len);
    cr_expect(strstr(js, "0123456789") == NULL, "the child receipt stores the text: %s", js);
    cr_expect(strstr(js, "chio_omitted_arguments") != NULL, "%s", js);
    cr_expect(strstr(js, "arguments_rejected") != NULL, "%s", js);
    chio_response_destroy(&r);
    chio_kernel_free(g_k);
    g_cap = 0;
}

/* A secret the 255-byte cut of the stored message would split (so that
 * the cut text no longer matches its pattern) is found in the whole
 * message; no prefix of it reaches the receipt. */
Test(rev23_flows, tool_error_secret_across_the_cut_is_withheld)
{
    chio_response r;
    const char *js;
    size_t len;

    setup(0);
    g_args = "{\"q\":2}";
    call("srv-leak", NULL, &r);
    g_args = "{\"q\":1}";
    cr_expect_eq(r.code, CHIO_CODE_TOOL_ERROR);
    js = chio_receipt_json(r.receipt, &len);
    cr_assert_not_null(js);
    cr_expect(strstr(js, "AKIAABCD") == NULL, "receipt holds part of the key: %s", js);
    cr_expect(strstr(r.reason, "withheld") != NULL, "reason: %s", r.reason);
    chio_response_destroy(&r);
    chio_kernel_free(g_k);
}
