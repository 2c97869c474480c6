/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev28_nested.c - review 28 of nested flows (sampling,
 * sampling with tools, elicitation), through the public API with a real
 * kernel and store (rev28util.h): a nested request the tool server
 * controls always gets a child receipt the log reads back, asked of the
 * host only when it does (too deep, too large, redacted too large, past
 * the call's budget); refused flows one child receipt each, linked to the
 * parent; a nested request during a drain; recursion through the host
 * bounded; one nested request of a call at a time.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/poll.h"
#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "kernel/rev28util.h"
#include "kernel/tokens.h"

static int stashing_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                         size_t len, chio_output *out);

/* rs_setup() with this file's tool besides. */
static void setup(const char *path, uint64_t stream_bytes, uint64_t arg_cap)
{
    static const rs_tool extra[] = {{"srv-stash", 0, stashing_tool}, {NULL, 0, NULL}};

    rs_setup(path, stream_bytes, arg_cap, extra);
}

/* A nested request nested as deep as the parser takes (the tool server
 * writes it) was answered by the host and signed into a child receipt
 * that chio_receipt_parse() and the store's readers refuse (too deep): now
 * it is refused before the host is asked, arguments_rejected, with a
 * summary child receipt that reads back. */
Test(rev28_streams, deep_nested_request_child_receipt_reads_back)
{
    char path[512], req[400], *dir = testutil_tmpdir();
    chio_response r;
    size_t i, depth = CHIO_JSON_MAX_DEPTH - 1;

    snprintf(path, sizeof(path), "%s/receipts", dir);
    setup(path, 0, 0);
    for (i = 0; i < depth; i++)
        req[i] = '[';
    for (i = 0; i < depth; i++)
        req[depth + i] = ']';
    req[2 * depth] = '\0';
    rs_plan.req = req;
    rs_plan.req_len = 2 * depth;
    rs_call("srv-sample", &r);
    rs_expect_refused_unrecordable(&r, "nests more than");
    chio_response_destroy(&r);
    chio_kernel_free(rs_k);
    kt_check_log(path, 0);
    testutil_rmrf(dir);
    free(dir);
}

/* A nested request whose canonical form outgrows what a receipt can hold
 * (the tool server writes numbers that canonicalise four times longer:
 * "1e20" is 100000000000000000000), under max_argument_bytes as text, was
 * answered by the host and then left without a child receipt (the signer
 * refused it, CHIO_ETOOBIG): now it is refused before the host is asked,
 * with a summary child receipt. (Elicitation: a sampling request that
 * large was refused as asking for tool use, its tools unreadable.) */
Test(rev28_streams, expanding_nested_request_child_receipt_reads_back)
{
    const size_t n = 3200000; /* 5 bytes each as text, 22 canonical: over 64 MiB */
    char path[512], *req, *dir = testutil_tmpdir();
    chio_response r;
    size_t i;

    snprintf(path, sizeof(path), "%s/receipts", dir);
    setup(path, 0, (uint64_t)63 << 20);
    req = malloc(5 * n + 2);
    cr_assert_not_null(req);
    req[0] = '[';
    for (i = 0; i < n; i++)
        memcpy(req + 1 + 5 * i, "1e20,", 5);
    req[5 * n] = ']';
    req[5 * n + 1] = '\0';
    rs_plan.req = req;
    rs_plan.req_len = 5 * n + 1;
    rs_plan.elicit = 1;
    rs_call("srv-sample", &r);
    free(req);
    rs_expect_refused_unrecordable(&r, "fit in a receipt");
    chio_response_destroy(&r);
    chio_kernel_free(rs_k);
    kt_check_log(path, 0);
    testutil_rmrf(dir);
    free(dir);
}

/* A NUL character in a nested request does not cost the log a receipt. */
Test(rev28_streams, nested_request_with_nul_child_receipt_reads_back)
{
    static const char req[] = "{\"messages\":[{\"content\":\"a\\u0000b\"}]}";
    char path[512], *dir = testutil_tmpdir();
    chio_response r;
    chio_receipt *back = NULL;
    const char *js;
    size_t len;

    snprintf(path, sizeof(path), "%s/receipts", dir);
    setup(path, 0, 0);
    rs_plan.req = req;
    rs_plan.req_len = sizeof(req) - 1;
    rs_call("srv-sample", &r);
    cr_assert_eq(r.nchildren, 1, "rc %d", rs_plan.rc);
    js = chio_receipt_json(r.children[0], &len);
    cr_expect_eq(chio_receipt_parse(js, len, &back, NULL), 0, "nested rc %d", rs_plan.rc);
    chio_receipt_free(back);
    chio_response_destroy(&r);
    chio_kernel_free(rs_k);
    kt_check_log(path, 0);
    testutil_rmrf(dir);
    free(dir);
}

/* One call's child receipts are held until it returns: a tool server
 * making 1024 nested requests of max_argument_bytes each (4 MiB by
 * default) had the kernel hold 4 GiB of receipts for one call. Together
 * they now hold at most 16 x max_argument_bytes verbatim; past it a
 * request is refused (arguments_rejected, host not asked) with a summary
 * child receipt, and the tool may go on. */
Test(rev28_streams, nested_request_text_per_call_is_bounded)
{
    char req[1001];
    chio_response r;
    size_t total = 0, len, i;
    const char *js;

    setup(NULL, 0, 1024);
    memset(req, 'x', sizeof(req));
    memcpy(req, "{\"messages\":[{\"content\":\"", 25);
    memcpy(req + 1000 - 4, "\"}]}", 4);
    req[1000] = '\0';
    rs_plan.req = req;
    rs_plan.req_len = 1000;
    rs_plan.repeat = 20;
    rs_call("srv-sample", &r);
    cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW, "the call: %s", r.reason);
    cr_assert_eq(r.nchildren, 20, "%zu children, last rc %d", r.nchildren, rs_plan.rc);
    for (i = 0; i < 20; i++) {
        cr_expect_eq(rs_plan.rcs2[i], i < 16 ? 0 : CHIO_EDENIED, "request %zu: rc %d", i,
                     rs_plan.rcs2[i]);
        js = chio_receipt_json(r.children[i], &len);
        total += len;
        if (i >= 16)
            cr_expect(strstr(js, "arguments_rejected") != NULL && strstr(js, "together") != NULL &&
                          strstr(js, "xxxxxxxx") == NULL,
                      "child %zu: %.400s", i, js);
    }
    cr_expect_eq(rs_host_calls, 16, "the host was asked %d times", rs_host_calls);
    cr_expect_lt(total, (size_t)16 * 1024 + 20 * 2048, "child receipts hold %zu bytes", total);
    chio_response_destroy(&r);
    chio_kernel_free(rs_k);
}

static void *call_thread(void *arg)
{
    rs_call("srv-sample", arg);
    return NULL;
}

static void *drain_thread(void *arg)
{
    chio_error err;

    (void)arg;
    return (void *)(intptr_t)chio_kernel_drain(rs_k, &err);
}

static int drain_started(void *arg)
{
    chio_kernel_metrics m;

    (void)arg;
    return chio_kernel_metrics_get(rs_k, &m) == 0 && m.draining;
}

static int tool_running(void *arg)
{
    (void)arg;
    return __atomic_load_n(&rs_running, __ATOMIC_ACQUIRE) == 2;
}

/* A call admitted before a drain makes a nested request while the drain
 * waits for it: the host answers, the child receipt is signed and stored
 * beside the call's, and the drain ends. */
Test(rev28_streams, nested_request_during_drain_gets_its_receipt)
{
    char path[512], *dir = testutil_tmpdir();
    pthread_t ct, dt;
    chio_response r;
    void *drc;

    snprintf(path, sizeof(path), "%s/receipts", dir);
    setup(path, 0, 0);
    rs_plan.req = "{\"messages\":[]}";
    rs_plan.req_len = strlen(rs_plan.req);
    __atomic_store_n(&rs_running, 1, __ATOMIC_RELEASE);
    cr_assert_eq(pthread_create(&ct, NULL, call_thread, &r), 0);
    cr_assert(testutil_wait_until(tool_running, NULL, 30000), "the tool did not start");
    cr_assert_eq(pthread_create(&dt, NULL, drain_thread, NULL), 0);
    cr_assert(testutil_wait_until(drain_started, NULL, 30000), "the drain did not start");
    __atomic_store_n(&rs_go, 1, __ATOMIC_RELEASE);
    pthread_join(ct, NULL);
    pthread_join(dt, &drc);
    __atomic_store_n(&rs_running, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&rs_go, 0, __ATOMIC_RELEASE);
    cr_expect_eq((intptr_t)drc, 0, "drain: %d", (int)(intptr_t)drc);
    cr_expect_eq(rs_plan.rc, 0, "nested rc %d", rs_plan.rc);
    cr_expect_eq(rs_host_calls, 1);
    cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW);
    cr_expect_eq(r.nchildren, 1);
    chio_response_destroy(&r);
    chio_kernel_free(rs_k);
    cr_expect_eq(kt_check_log(path, 0).receipts, 2);
    testutil_rmrf(dir);
    free(dir);
}

/* The recursive host's record: how deep it went, each level's result. */
static int g_depth, g_deepest, g_inner_rc[64];
static chio_code g_inner_code[64];

/* A sampling handler that runs the model's tool call through the kernel
 * on its own thread: the model asks for the same tool again, whose tool
 * asks for sampling again. */
static int recursive_host(void *user, chio_nested_kind kind, const char *session_id,
                          const char *req, size_t len, chio_output *reply)
{
    chio_response r;
    chio_call c;
    chio_error err;
    int d = ++g_depth;

    (void)user;
    (void)kind;
    (void)session_id;
    (void)req;
    (void)len;
    rs_host_calls++;
    if (d > g_deepest)
        g_deepest = d;
    memset(&c, 0, sizeof(c));
    c.session_id = rs_sid;
    c.capability_id = "cap-f";
    c.server_id = "srv-sample";
    c.tool_name = "t";
    c.arguments_json = "{}";
    c.arguments_len = 2;
    memset(&r, 0, sizeof(r));
    chio_error_init(&err);
    if (d < 64) {
        g_inner_rc[d] = chio_kernel_evaluate(rs_k, &c, &r, &err);
        g_inner_code[d] = r.code;
    }
    chio_response_destroy(&r);
    g_depth--;
    return chio_output_set_json(reply, "\"ok\"", 4);
}

/* A tool server and an agent that between them recurse (tool -> sampling
 * -> the host runs the model's tool call -> the same tool ...) overran
 * the thread's stack (a crash about 2000 levels down): a call made from
 * inside 16 calls on the same kernel on one thread is now denied
 * (invalid_request, with its receipt; its tool does not run), and every
 * level above it ends normally. */
Test(rev28_streams, calls_nested_on_one_thread_are_bounded)
{
    chio_response r;
    int d;

    rs_handler = recursive_host;
    setup(NULL, 0, 0);
    rs_handler = NULL;
    rs_plan.req = "{\"messages\":[]}";
    rs_plan.req_len = strlen(rs_plan.req);
    g_depth = g_deepest = 0;
    rs_call("srv-sample", &r);
    cr_expect_eq(g_deepest, 16, "the host went %d deep", g_deepest);
    for (d = 1; d <= 16; d++)
        cr_expect_eq(g_inner_rc[d], 0, "level %d: rc %d", d, g_inner_rc[d]);
    for (d = 1; d < 16; d++)
        cr_expect_eq(g_inner_code[d], CHIO_CODE_NONE, "level %d: code %d", d, g_inner_code[d]);
    cr_expect_eq(g_inner_code[16], CHIO_CODE_INVALID_REQUEST, "level 16: code %d",
                 g_inner_code[16]);
    cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW);
    cr_expect_eq(r.nchildren, 1);
    chio_response_destroy(&r);
    chio_kernel_free(rs_k);
}

/* A string member of a receipt's metadata.receipt_context, or "". */
static const char *meta(const chio_receipt *rec, const char *key, char *buf, size_t cap)
{
    const chio_json *m = chio_json_get(chio_receipt_root(rec), "metadata");
    const chio_json *rc = m ? chio_json_get(m, "receipt_context") : NULL;
    const chio_json *v = rc ? chio_json_get(rc, key) : NULL;
    size_t n = 0;
    const char *s = v ? chio_json_string(v, &n) : NULL;

    snprintf(buf, cap, "%.*s", s ? (int)n : 0, s ? s : "");
    return buf;
}

static int flags_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                      size_t len, chio_output *out)
{
    static const char *const reqs[] = {"{\"messages\":[]}", "{\"messages\":[],\"tools\":[]}",
                                       "{\"message\":\"name?\"}", "{\"messages\":[", "[1,]"};
    char *reply;
    size_t rlen, i;

    (void)user;
    (void)tool;
    for (i = 0; i < 5; i++) {
        reply = NULL;
        rs_plan.rcs2[i] =
            i == 2 ? chio_tool_ctx_elicit(ctx, reqs[i], strlen(reqs[i]), &reply, &rlen, NULL)
                   : chio_tool_ctx_sample(ctx, reqs[i], strlen(reqs[i]), 0, &reply, &rlen, NULL);
        chio_free(reply);
    }
    return chio_output_set_json(out, args, len);
}

/* With every flow off, each refused request gets one deny child receipt
 * naming its flag, linked to the parent's request id, with an id of its
 * own in order; a request that is not JSON fails with the parser's code,
 * asks no one and signs nothing; the call itself goes on. */
Test(rev28_streams, refused_flows_one_child_receipt_each_linked_to_the_parent)
{
    /* sampling off: a request with tools is refused for sampling first */
    static const char *const codes[] = {"sampling_not_allowed", "sampling_not_allowed",
                                        "elicitation_not_allowed"};
    chio_kernel_config cfg;
    chio_tool_server ts;
    const char *tools[] = {"t"}, *caps[1], *js;
    chio_response r;
    chio_error err;
    chio_call c;
    char *tok, buf[256], want[256];
    size_t i, len;

    kt_config(&cfg, NULL);
    cfg.clock = rs_clock;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    rs_k = kt_kernel(&cfg);
    memset(&ts, 0, sizeof(ts));
    ts.server_id = "srv-flags";
    ts.tool_names = tools;
    ts.ntools = 1;
    ts.invoke = flags_tool;
    cr_assert_eq(chio_kernel_register_tool_server(rs_k, &ts, &err), 0, "%s", err.message);
    cr_assert_eq(chio_kernel_set_nested_handler(rs_k, rs_host, NULL, &err), 0);
    tok = tk_token(TK_KERNEL_SEED, "cap-f", TK_AGENT_PUB,
                   "{\"grants\":[{\"server_id\":\"*\",\"tool_name\":\"*\","
                   "\"operations\":[\"invoke\"]}]}",
                   RS_NOW - 10, 100, NULL, 0);
    caps[0] = tok;
    cr_assert_eq(chio_kernel_open_session(rs_k, TK_AGENT_PUB, caps, NULL, 1, rs_sid, &err), 0);
    free(tok);
    rs_host_calls = 0;
    memset(&c, 0, sizeof(c));
    c.session_id = rs_sid;
    c.capability_id = "cap-f";
    c.server_id = "srv-flags";
    c.tool_name = "t";
    c.request_id = "parent-1";
    c.arguments_json = "{}";
    c.arguments_len = 2;
    memset(&r, 0, sizeof(r));
    cr_assert_eq(chio_kernel_evaluate(rs_k, &c, &r, &err), 0, "%s", err.message);
    cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW);
    cr_expect_eq(rs_host_calls, 0);
    cr_assert_eq(r.nchildren, 3);
    for (i = 0; i < 3; i++) {
        cr_expect_eq(rs_plan.rcs2[i], CHIO_EDENIED, "request %zu: rc %d", i, rs_plan.rcs2[i]);
        js = chio_receipt_json(r.children[i], &len);
        snprintf(want, sizeof(want), "\"%s\"", codes[i]);
        cr_expect(strstr(js, want) != NULL, "child %zu: %.600s", i, js);
        cr_expect_eq(chio_receipt_verdict(r.children[i]), CHIO_VERDICT_DENY);
        cr_expect_str_eq(meta(r.children[i], "parent_request_id", buf, sizeof(buf)), "parent-1");
        snprintf(want, sizeof(want), "parent-1/nested-%zu", i + 1);
        cr_expect_str_eq(meta(r.children[i], "request_id", buf, sizeof(buf)), want);
        cr_expect_str_eq(chio_receipt_capability_id(r.children[i]), "cap-f");
        cr_expect_str_eq(chio_receipt_tool_server(r.children[i]), "srv-flags");
    }
    cr_expect_str_eq(chio_receipt_tool_name(r.children[2]), "elicitation/create");
    cr_expect_eq(rs_plan.rcs2[3], CHIO_EJSON_TRUNCATED, "rc %d", rs_plan.rcs2[3]);
    cr_expect_eq(rs_plan.rcs2[4], CHIO_EJSON_SYNTAX, "rc %d", rs_plan.rcs2[4]);
    chio_response_destroy(&r);
    chio_kernel_free(rs_k);
}

/* A nested request's child receipt stores its copy with flagged values
 * redacted, and a marker is longer than a short flagged value (a number 7
 * flagged by a secret_leak guard becomes "[REDACTED:secret_leak]"): a
 * request under max_argument_bytes whose redacted copy outgrew what a
 * receipt holds was answered by the host and then left without a child
 * receipt (the signer refused it). Now it is refused before the host is
 * asked, with a summary child receipt. */
Test(rev28_streams, nested_request_whose_redacted_copy_outgrows_a_receipt)
{
    const size_t n = 2700000; /* "7," each; 25 bytes each redacted: over 64 MiB */
    chio_response r;
    char *req;
    size_t i;

    rs_secret = "7";
    setup(NULL, 0, (uint64_t)6 << 20);
    rs_secret = NULL;
    req = malloc(2 * n + 1);
    cr_assert_not_null(req);
    req[0] = '[';
    for (i = 0; i < n; i++)
        memcpy(req + 1 + 2 * i, "7,", 2);
    req[2 * n] = ']';
    rs_plan.req = req;
    rs_plan.req_len = 2 * n + 1;
    rs_plan.elicit = 1;
    rs_call("srv-sample", &r);
    free(req);
    rs_expect_refused_unrecordable(&r, "redacted");
    chio_response_destroy(&r);
    chio_kernel_free(rs_k);
}

/* The same for a call's own arguments: a call a secret_leak guard denies
 * stores its arguments redacted, and a redacted copy that outgrew a
 * receipt left the decision without one (an error, CHIO_ETOOBIG). Now the
 * receipt stores a summary binding the canonical arguments' hash. */
Test(rev28_streams, denied_call_whose_redacted_arguments_outgrow_a_receipt)
{
    const size_t n = 2700000;
    chio_response r;
    chio_call c;
    chio_error err;
    char *args;
    const char *js;
    size_t i, len;
    int rc;

    rs_secret = "7";
    setup(NULL, 0, (uint64_t)6 << 20);
    rs_secret = NULL;
    args = malloc(2 * n + 16);
    cr_assert_not_null(args);
    memcpy(args, "{\"a\":[", 6);
    for (i = 0; i < n; i++)
        memcpy(args + 6 + 2 * i, "7,", 2);
    memcpy(args + 6 + 2 * n - 1, "]}", 3);
    memset(&c, 0, sizeof(c));
    c.session_id = rs_sid;
    c.capability_id = "cap-f";
    c.server_id = "srv-sample";
    c.tool_name = "t";
    c.arguments_json = args;
    c.arguments_len = strlen(args);
    chio_error_init(&err);
    memset(&r, 0, sizeof(r));
    rc = chio_kernel_evaluate(rs_k, &c, &r, &err);
    free(args);
    cr_assert_eq(rc, 0, "no decision: %d %s", rc, err.message);
    cr_expect_eq(r.verdict, CHIO_VERDICT_DENY);
    cr_expect_eq(r.code, CHIO_CODE_GUARD_DENIED);
    js = chio_receipt_json(r.receipt, &len);
    cr_expect(len < 8192 && strstr(js, "chio_omitted_arguments") != NULL, "receipt: %.500s", js);
    chio_response_destroy(&r);
    chio_kernel_free(rs_k);
}

/* The context of the call whose tool asked, kept where the host's handler
 * below finds it, and what the handler heard asking again through it. */
static chio_tool_ctx *g_stashed;
static int g_reentry_rc = 1;

static int reentering_host(void *user, chio_nested_kind kind, const char *session_id,
                           const char *req, size_t len, chio_output *reply)
{
    char *inner = NULL;
    size_t ilen = 0;

    (void)user;
    (void)kind;
    (void)session_id;
    (void)req;
    (void)len;
    rs_host_calls++;
    if (g_stashed != NULL && rs_host_calls == 1)
        g_reentry_rc = chio_tool_ctx_sample(g_stashed, "{}", 2, 0, &inner, &ilen, NULL);
    chio_free(inner);
    return chio_output_set_json(reply, "\"ok\"", 4);
}

static int stashing_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                         size_t len, chio_output *out)
{
    g_stashed = ctx;
    return rs_sample_tool(user, ctx, tool, args, len, out);
}

/* A nested request made through the call's context from inside the host's
 * answer to another (on the tool's thread) nested the two: the inner one
 * overwrote the outer one's pre-taken credit (the completion thread's
 * case) and could recurse without bound. It is now refused with
 * CHIO_EINVAL, asking no one and signing nothing. */
Test(rev28_streams, nested_request_from_inside_the_hosts_answer_is_refused)
{
    chio_response r;

    rs_handler = reentering_host;
    setup(NULL, 0, 0);
    rs_handler = NULL;
    rs_plan.req = "{\"messages\":[]}";
    rs_plan.req_len = strlen(rs_plan.req);
    rs_call("srv-stash", &r);
    g_stashed = NULL;
    cr_expect_eq(g_reentry_rc, CHIO_EINVAL, "inner rc %d", g_reentry_rc);
    cr_expect_eq(rs_host_calls, 1, "the host was asked %d times", rs_host_calls);
    cr_expect_eq(rs_plan.rc, 0);
    cr_expect_eq(r.nchildren, 1);
    cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW);
    chio_response_destroy(&r);
    chio_kernel_free(rs_k);
}
