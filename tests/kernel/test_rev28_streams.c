/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev28_streams.c - review 28 of check 11 (stream limits)
 * and nested flows, through the public API with a real kernel and store:
 * the byte limit counts canonical bytes, to the byte; the incomplete
 * output is what the receipt's content_hash binds; a nested request the
 * tool server controls always yields a child receipt the log can read
 * back.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/poll.h"
#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

#define NOW 1710000300u
#define DIR "/tmp/review28-streams"
/* setup()'s stream byte limit 0 (its 0 means the default) */
#define NO_BYTES (UINT64_MAX - 1)

static uint64_t clock_fn(void *ctx)
{
    (void)ctx;
    return NOW;
}

/* What the tools below do, and what they heard. */
typedef struct plan {
    const char *const *chunks; /* the stream tool's chunks, NULL-ended */
    int rcs[16];               /* emit results */
    const char *req;           /* the sample tool's request */
    size_t req_len;
    int elicit;   /* elicitation instead of sampling */
    int repeat;   /* requests made (0: one) */
    int rc;       /* the last one's result */
    int rcs2[32]; /* each one's result */
} plan;

static plan g_plan;
/* The drain test's hand-off: the tool says it runs, then waits for go. */
static int g_running, g_go;
/* The stream-duration test: how long the tool waits between its chunks. */
static unsigned g_pause_ms;
static uint64_t g_duration;      /* max_stream_duration_secs for setup(); 0: the default */
static chio_nested_fn g_handler; /* the nested handler for setup(); NULL: host() */
static const char *g_secret;     /* a secret_leak guard's pattern for setup(), or NULL */
static int g_host_calls;
static chio_kernel *g_k;
static char g_sid[CHIO_SESSION_ID_LEN + 1];

static int stream_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                       size_t len, chio_output *out)
{
    size_t i;

    (void)user;
    (void)tool;
    (void)args;
    (void)len;
    (void)out;
    for (i = 0; g_plan.chunks[i] != NULL && i < 16; i++) {
        if (i > 0 && g_pause_ms > 0) { /* the duration passing is what the test waits for */
            uint64_t until = testutil_now_ms() + g_pause_ms;
            while (testutil_now_ms() < until)
                testutil_nap_ms(5);
        }
        g_plan.rcs[i] = chio_tool_ctx_emit_chunk(ctx, g_plan.chunks[i], strlen(g_plan.chunks[i]));
    }
    if (g_plan.req != NULL) {
        char *reply = NULL;
        size_t rlen = 0;
        g_plan.rc = chio_tool_ctx_sample(ctx, g_plan.req, g_plan.req_len, 0, &reply, &rlen, NULL);
        chio_free(reply);
    }
    return 0;
}

static int sample_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                       size_t len, chio_output *out)
{
    char *reply = NULL;
    size_t rlen = 0;

    (void)user;
    (void)tool;
    int i;

    if (__atomic_load_n(&g_running, __ATOMIC_ACQUIRE) == 1) {
        __atomic_store_n(&g_running, 2, __ATOMIC_RELEASE);
        while (!__atomic_load_n(&g_go, __ATOMIC_ACQUIRE))
            testutil_nap_ms(1);
    }
    for (i = 0; i < (g_plan.repeat ? g_plan.repeat : 1) && i < 32; i++) {
        reply = NULL;
        if (g_plan.elicit)
            g_plan.rc = chio_tool_ctx_elicit(ctx, g_plan.req, g_plan.req_len, &reply, &rlen, NULL);
        else
            g_plan.rc =
                chio_tool_ctx_sample(ctx, g_plan.req, g_plan.req_len, 0, &reply, &rlen, NULL);
        g_plan.rcs2[i] = g_plan.rc;
        chio_free(reply);
    }
    return chio_output_set_json(out, args, len);
}

static int handing_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                        size_t len, chio_output *out);
static int polling_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                        size_t len, chio_output *out);
static int stashing_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                         size_t len, chio_output *out);
static int big_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args, size_t len,
                    chio_output *out);

static int host(void *user, chio_nested_kind kind, const char *session_id, const char *req,
                size_t len, chio_output *reply)
{
    (void)user;
    (void)kind;
    (void)session_id;
    (void)req;
    (void)len;
    g_host_calls++;
    return chio_output_set_json(reply, "\"ok\"", 4);
}

static void reg(const char *server, int streaming,
                int (*fn)(void *, chio_tool_ctx *, const char *, const char *, size_t,
                          chio_output *))
{
    static const char *const tools[] = {"t"};
    chio_tool_server ts;
    chio_error err;

    memset(&ts, 0, sizeof(ts));
    ts.server_id = server;
    ts.tool_names = tools;
    ts.ntools = 1;
    if (streaming)
        ts.invoke_stream = fn;
    else
        ts.invoke = fn;
    cr_assert_eq(chio_kernel_register_tool_server(g_k, &ts, &err), 0, "%s", err.message);
}

/* A kernel on @path (NULL: ephemeral) allowing sampling, with a stream
 * byte limit @stream_bytes (0: the default) and max_argument_bytes
 * @arg_cap (0: the default), and a session holding cap-f for every tool. */
static void setup(const char *path, uint64_t stream_bytes, uint64_t arg_cap)
{
    chio_kernel_config cfg;
    chio_error err;
    const char *caps[1];
    char *tok;

    kt_config(&cfg, path);
    cfg.clock = clock_fn;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    cfg.allow_sampling = 1;
    cfg.allow_elicitation = 1;
    if (stream_bytes)
        cfg.max_stream_total_bytes = stream_bytes == NO_BYTES ? 0 : stream_bytes;
    if (arg_cap)
        cfg.max_argument_bytes = arg_cap;
    if (g_duration)
        cfg.max_stream_duration_secs = g_duration;
    g_k = kt_kernel(&cfg);
    reg("srv-stream", 1, stream_tool);
    reg("srv-sample", 0, sample_tool);
    reg("srv-hand", 1, handing_tool);
    reg("srv-poll", 1, polling_tool);
    reg("srv-stash", 0, stashing_tool);
    reg("srv-big", 1, big_tool);
    cr_assert_eq(chio_kernel_set_nested_handler(g_k, g_handler ? g_handler : host, NULL, &err), 0);
    if (g_secret != NULL)
        cr_assert_eq(chio_kernel_add_secret_leak_guard(g_k, "SecretLeakGuard", &g_secret, 1, &err),
                     0, "%s", err.message);
    tok = tk_token(TK_KERNEL_SEED, "cap-f", TK_AGENT_PUB,
                   "{\"grants\":[{\"server_id\":\"*\",\"tool_name\":\"*\","
                   "\"operations\":[\"invoke\"]}]}",
                   NOW - 10, 100, NULL, 0);
    cr_assert_not_null(tok);
    caps[0] = tok;
    cr_assert_eq(chio_kernel_open_session(g_k, TK_AGENT_PUB, caps, NULL, 1, g_sid, &err), 0, "%s",
                 err.message);
    free(tok);
    memset(&g_plan, 0, sizeof(g_plan));
    g_host_calls = 0;
}

static void call(const char *server, chio_response *r)
{
    chio_call c;
    chio_error err;

    memset(&c, 0, sizeof(c));
    c.session_id = g_sid;
    c.capability_id = "cap-f";
    c.server_id = server;
    c.tool_name = "t";
    c.arguments_json = "{}";
    c.arguments_len = 2;
    chio_error_init(&err);
    memset(r, 0, sizeof(*r));
    cr_assert_eq(chio_kernel_evaluate(g_k, &c, r, &err), 0, "%s", err.message);
    cr_assert_not_null(r->receipt);
}

/* The receipt's content_hash is the SHA-256 of exactly the output the
 * caller got. */
static void expect_hash_binds_output(const chio_response *r)
{
    const chio_json *h = chio_json_get(chio_receipt_root(r->receipt), "content_hash");
    char want[65];
    size_t hlen = 0;
    const char *got = h ? chio_json_string(h, &hlen) : NULL;

    cr_assert_not_null(r->output);
    cr_assert_eq(chio_sha256_hex(r->output, r->output_len, want), 0);
    cr_assert_not_null(got);
    cr_expect(hlen == 64 && memcmp(got, want, 64) == 0, "content_hash %.*s, output hash %s",
              (int)hlen, got, want);
}

/* The child receipt of a nested request refused as one no receipt can
 * hold: the host was not asked, and the receipt (a summary binding the
 * canonical form's hash) reads back. */
static void expect_refused_unrecordable(const chio_response *r, const char *why)
{
    chio_receipt *back = NULL;
    const char *js;
    size_t len;

    cr_expect_eq(g_plan.rc, CHIO_EDENIED, "nested rc %d", g_plan.rc);
    cr_expect_eq(g_host_calls, 0, "the host was asked a question no receipt can record");
    cr_assert_eq(r->nchildren, 1, "no child receipt (nested rc %d)", g_plan.rc);
    js = chio_receipt_json(r->children[0], &len);
    cr_expect_eq(chio_receipt_parse(js, len, &back, NULL), 0,
                 "the child receipt does not read back");
    chio_receipt_free(back);
    cr_expect(len < 4096 && strstr(js, "\"arguments_rejected\"") != NULL &&
                  strstr(js, "chio_omitted_arguments") != NULL && strstr(js, why) != NULL,
              "child receipt: %.600s", js);
    cr_expect(strstr(js, "\"parent_request_id\"") != NULL, "no parent link: %.600s", js);
}

/* The byte limit counts each chunk's canonical form (" 1e20 " is 21
 * bytes, "\u0041" with quotes 3), to the byte: a chunk that reaches the
 * limit exactly is kept, one byte over is dropped; the incomplete output
 * is the chunks before it and the receipt binds that output. A limit of 0
 * allows no byte; UINT64_MAX never wraps. */
Test(rev28_streams, byte_limit_counts_canonical_bytes_to_the_byte)
{
    static const char *const chunks[] = {" 1e20 ", "\"\\u0041\"", "[ 1 , 2 ]", NULL};
    static const struct {
        uint64_t limit;
        int kept; /* chunks kept */
        chio_verdict verdict;
        const char *output;
    } rows[] = {
        {21, 1, CHIO_VERDICT_INCOMPLETE, "[100000000000000000000]"},
        {23, 1, CHIO_VERDICT_INCOMPLETE, "[100000000000000000000]"},
        {24, 2, CHIO_VERDICT_INCOMPLETE, "[100000000000000000000,\"A\"]"},
        {28, 2, CHIO_VERDICT_INCOMPLETE, "[100000000000000000000,\"A\"]"},
        {29, 3, CHIO_VERDICT_ALLOW, "[100000000000000000000,\"A\",[1,2]]"},
        {20, 0, CHIO_VERDICT_INCOMPLETE, "[]"},
        {NO_BYTES, 0, CHIO_VERDICT_INCOMPLETE, "[]"},
        {UINT64_MAX, 3, CHIO_VERDICT_ALLOW, "[100000000000000000000,\"A\",[1,2]]"},
    };
    size_t i;
    int j;

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        chio_response r;

        setup(NULL, rows[i].limit, 0);
        g_plan.chunks = chunks;
        call("srv-stream", &r);
        for (j = 0; j < 3; j++)
            cr_expect_eq(g_plan.rcs[j], j < rows[i].kept ? 0 : CHIO_ESTREAM_LIMIT,
                         "limit %llu chunk %d: rc %d", (unsigned long long)rows[i].limit, j,
                         g_plan.rcs[j]);
        cr_expect_eq(r.verdict, rows[i].verdict, "limit %llu: verdict %d",
                     (unsigned long long)rows[i].limit, r.verdict);
        cr_expect_eq(r.code, rows[i].verdict == CHIO_VERDICT_ALLOW ? CHIO_CODE_NONE
                                                                   : CHIO_CODE_STREAM_LIMIT);
        cr_expect_str_eq(r.output, rows[i].output);
        expect_hash_binds_output(&r);
        chio_response_destroy(&r);
        chio_kernel_free(g_k);
    }
}

/* A nested request nested as deep as the parser takes (the tool server
 * writes it) was answered by the host and signed into a child receipt
 * that chio_receipt_parse() and the store's readers refuse (too deep): now
 * it is refused before the host is asked, arguments_rejected, with a
 * summary child receipt that reads back. */
Test(rev28_streams, deep_nested_request_child_receipt_reads_back)
{
    char path[256], req[400];
    chio_response r;
    size_t i, depth = CHIO_JSON_MAX_DEPTH - 1;

    snprintf(path, sizeof(path), DIR "/deep-%d", (int)getpid());
    setup(path, 0, 0);
    for (i = 0; i < depth; i++)
        req[i] = '[';
    for (i = 0; i < depth; i++)
        req[depth + i] = ']';
    req[2 * depth] = '\0';
    g_plan.req = req;
    g_plan.req_len = 2 * depth;
    call("srv-sample", &r);
    expect_refused_unrecordable(&r, "nests more than");
    chio_response_destroy(&r);
    chio_kernel_free(g_k);
    kt_check_log(path, 0);
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
    char path[256], *req;
    chio_response r;
    size_t i;

    snprintf(path, sizeof(path), DIR "/wide-%d", (int)getpid());
    setup(path, 0, (uint64_t)63 << 20);
    req = malloc(5 * n + 2);
    cr_assert_not_null(req);
    req[0] = '[';
    for (i = 0; i < n; i++)
        memcpy(req + 1 + 5 * i, "1e20,", 5);
    req[5 * n] = ']';
    req[5 * n + 1] = '\0';
    g_plan.req = req;
    g_plan.req_len = 5 * n + 1;
    g_plan.elicit = 1;
    call("srv-sample", &r);
    free(req);
    expect_refused_unrecordable(&r, "fit in a receipt");
    chio_response_destroy(&r);
    chio_kernel_free(g_k);
    kt_check_log(path, 0);
}

/* A NUL character in a nested request does not cost the log a receipt. */
Test(rev28_streams, nested_request_with_nul_child_receipt_reads_back)
{
    static const char req[] = "{\"messages\":[{\"content\":\"a\\u0000b\"}]}";
    char path[256];
    chio_response r;
    chio_receipt *back = NULL;
    const char *js;
    size_t len;

    snprintf(path, sizeof(path), DIR "/nul-%d", (int)getpid());
    setup(path, 0, 0);
    g_plan.req = req;
    g_plan.req_len = sizeof(req) - 1;
    call("srv-sample", &r);
    cr_assert_eq(r.nchildren, 1, "rc %d", g_plan.rc);
    js = chio_receipt_json(r.children[0], &len);
    cr_expect_eq(chio_receipt_parse(js, len, &back, NULL), 0, "nested rc %d", g_plan.rc);
    chio_receipt_free(back);
    chio_response_destroy(&r);
    chio_kernel_free(g_k);
    kt_check_log(path, 0);
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
    g_plan.req = req;
    g_plan.req_len = 1000;
    g_plan.repeat = 20;
    call("srv-sample", &r);
    cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW, "the call: %s", r.reason);
    cr_assert_eq(r.nchildren, 20, "%zu children, last rc %d", r.nchildren, g_plan.rc);
    for (i = 0; i < 20; i++) {
        cr_expect_eq(g_plan.rcs2[i], i < 16 ? 0 : CHIO_EDENIED, "request %zu: rc %d", i,
                     g_plan.rcs2[i]);
        js = chio_receipt_json(r.children[i], &len);
        total += len;
        if (i >= 16)
            cr_expect(strstr(js, "arguments_rejected") != NULL && strstr(js, "together") != NULL &&
                          strstr(js, "xxxxxxxx") == NULL,
                      "child %zu: %.400s", i, js);
    }
    cr_expect_eq(g_host_calls, 16, "the host was asked %d times", g_host_calls);
    cr_expect_lt(total, (size_t)16 * 1024 + 20 * 2048, "child receipts hold %zu bytes", total);
    chio_response_destroy(&r);
    chio_kernel_free(g_k);
}

/* The duration limit runs on the monotonic clock from dispatch, whatever
 * the kernel's clock says (fixed here): past it the next chunk is dropped,
 * a nested request is refused (child receipt stream_limit, host not
 * asked), and the call ends incomplete with the chunks before. */
Test(rev28_streams, duration_limit_uses_the_monotonic_clock)
{
    static const char *const chunks[] = {"\"a\"", "\"b\"", NULL};
    chio_response r;
    const char *js;
    size_t len;

    g_duration = 1;
    setup(NULL, 0, 0);
    g_duration = 0;
    g_plan.chunks = chunks;
    g_plan.req = "{\"messages\":[]}";
    g_plan.req_len = strlen(g_plan.req);
    g_pause_ms = 1100;
    call("srv-stream", &r);
    g_pause_ms = 0;
    cr_expect_eq(g_plan.rcs[0], 0);
    cr_expect_eq(g_plan.rcs[1], CHIO_ESTREAM_LIMIT, "rc %d", g_plan.rcs[1]);
    cr_expect_eq(g_plan.rc, CHIO_EDENIED, "nested rc %d", g_plan.rc);
    cr_expect_eq(g_host_calls, 0);
    cr_expect_eq(r.verdict, CHIO_VERDICT_INCOMPLETE);
    cr_expect_eq(r.code, CHIO_CODE_STREAM_LIMIT);
    cr_expect_str_eq(r.output, "[\"a\"]");
    expect_hash_binds_output(&r);
    cr_assert_eq(r.nchildren, 1);
    js = chio_receipt_json(r.children[0], &len);
    cr_expect(strstr(js, "\"stream_limit\"") != NULL, "%.500s", js);
    cr_expect(strstr(js, "\"parent_request_id\"") != NULL, "%.500s", js);
    chio_response_destroy(&r);
    chio_kernel_free(g_k);
}

static void *call_thread(void *arg)
{
    call("srv-sample", arg);
    return NULL;
}

static void *drain_thread(void *arg)
{
    chio_error err;

    (void)arg;
    return (void *)(intptr_t)chio_kernel_drain(g_k, &err);
}

static int drain_started(void *arg)
{
    chio_kernel_metrics m;

    (void)arg;
    return chio_kernel_metrics_get(g_k, &m) == 0 && m.draining;
}

static int tool_running(void *arg)
{
    (void)arg;
    return __atomic_load_n(&g_running, __ATOMIC_ACQUIRE) == 2;
}

/* A call admitted before a drain makes a nested request while the drain
 * waits for it: the host answers, the child receipt is signed and stored
 * beside the call's, and the drain ends. */
Test(rev28_streams, nested_request_during_drain_gets_its_receipt)
{
    char path[256];
    pthread_t ct, dt;
    chio_response r;
    void *drc;

    snprintf(path, sizeof(path), DIR "/drain-%d", (int)getpid());
    setup(path, 0, 0);
    g_plan.req = "{\"messages\":[]}";
    g_plan.req_len = strlen(g_plan.req);
    __atomic_store_n(&g_running, 1, __ATOMIC_RELEASE);
    cr_assert_eq(pthread_create(&ct, NULL, call_thread, &r), 0);
    cr_assert(testutil_wait_until(tool_running, NULL, 30000), "the tool did not start");
    cr_assert_eq(pthread_create(&dt, NULL, drain_thread, NULL), 0);
    cr_assert(testutil_wait_until(drain_started, NULL, 30000), "the drain did not start");
    __atomic_store_n(&g_go, 1, __ATOMIC_RELEASE);
    pthread_join(ct, NULL);
    pthread_join(dt, &drc);
    __atomic_store_n(&g_running, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&g_go, 0, __ATOMIC_RELEASE);
    cr_expect_eq((intptr_t)drc, 0, "drain: %d", (int)(intptr_t)drc);
    cr_expect_eq(g_plan.rc, 0, "nested rc %d", g_plan.rc);
    cr_expect_eq(g_host_calls, 1);
    cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW);
    cr_expect_eq(r.nchildren, 1);
    chio_response_destroy(&r);
    chio_kernel_free(g_k);
    cr_expect_eq(kt_check_log(path, 0).receipts, 2);
}

/* The recursive host's record: how deep it went, each level's result. */
static int g_depth, g_deepest, g_inner_rc[64];

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
    g_host_calls++;
    if (d > g_deepest)
        g_deepest = d;
    memset(&c, 0, sizeof(c));
    c.session_id = g_sid;
    c.capability_id = "cap-f";
    c.server_id = "srv-sample";
    c.tool_name = "t";
    c.arguments_json = "{}";
    c.arguments_len = 2;
    memset(&r, 0, sizeof(r));
    chio_error_init(&err);
    if (d < 64)
        g_inner_rc[d] = chio_kernel_evaluate(g_k, &c, &r, &err);
    chio_response_destroy(&r);
    g_depth--;
    return chio_output_set_json(reply, "\"ok\"", 4);
}

/* A tool server and an agent that between them recurse (tool -> sampling
 * -> the host runs the model's tool call -> the same tool ...) overran
 * the thread's stack (a crash about 2000 levels down): a call nested more
 * than 16 deep in calls on the same kernel on one thread is now refused
 * with CHIO_ELIMIT, and every level above it ends normally. */
Test(rev28_streams, calls_nested_on_one_thread_are_bounded)
{
    chio_response r;
    int d;

    g_handler = recursive_host;
    setup(NULL, 0, 0);
    g_handler = NULL;
    g_plan.req = "{\"messages\":[]}";
    g_plan.req_len = strlen(g_plan.req);
    g_depth = g_deepest = 0;
    call("srv-sample", &r);
    cr_expect_eq(g_deepest, 16, "the host went %d deep", g_deepest);
    for (d = 1; d < 16; d++)
        cr_expect_eq(g_inner_rc[d], 0, "level %d: rc %d", d, g_inner_rc[d]);
    cr_expect_eq(g_inner_rc[16], CHIO_ELIMIT, "level 16: rc %d", g_inner_rc[16]);
    cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW);
    cr_expect_eq(r.nchildren, 1);
    chio_response_destroy(&r);
    chio_kernel_free(g_k);
}

/* What a thread the tool started got from the tool's context. */
typedef struct foreign {
    chio_tool_ctx *ctx;
    int emit_rc, sample_rc;
} foreign;

static void *foreign_thread(void *arg)
{
    foreign *f = arg;
    char *reply = NULL;
    size_t rlen = 0;

    f->emit_rc = chio_tool_ctx_emit_chunk(f->ctx, "\"theirs\"", 8);
    f->sample_rc = chio_tool_ctx_sample(f->ctx, "{}", 2, 0, &reply, &rlen, NULL);
    chio_free(reply);
    return NULL;
}

static foreign g_foreign;

/* A streaming tool that hands its context to a thread of its own (a
 * reader of the upstream stream) and waits for it. */
static int handing_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                        size_t len, chio_output *out)
{
    pthread_t t;

    (void)user;
    (void)tool;
    (void)args;
    (void)len;
    (void)out;
    g_plan.rcs[0] = chio_tool_ctx_emit_chunk(ctx, "\"mine\"", 6);
    g_foreign.ctx = ctx;
    if (pthread_create(&t, NULL, foreign_thread, &g_foreign) != 0)
        return -1;
    pthread_join(t, NULL);
    return 0;
}

/* The stream and nested calls belong to the thread running the tool (the
 * header says so): one from another thread raced the call's own chunk
 * buffer and child list. It is now refused with CHIO_EINVAL, nothing
 * added to the output, no child receipt, the host not asked. */
Test(rev28_streams, stream_and_nested_calls_from_another_thread_are_refused)
{
    chio_response r;

    setup(NULL, 0, 0);
    memset(&g_foreign, 0, sizeof(g_foreign));
    call("srv-hand", &r);
    cr_expect_eq(g_plan.rcs[0], 0);
    cr_expect_eq(g_foreign.emit_rc, CHIO_EINVAL, "emit rc %d", g_foreign.emit_rc);
    cr_expect_eq(g_foreign.sample_rc, CHIO_EINVAL, "sample rc %d", g_foreign.sample_rc);
    cr_expect_eq(g_host_calls, 0);
    cr_expect_eq(r.nchildren, 0);
    cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW);
    cr_expect_str_eq(r.output, "[\"mine\"]");
    chio_response_destroy(&r);
    chio_kernel_free(g_k);
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
        g_plan.rcs2[i] =
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
    cfg.clock = clock_fn;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    g_k = kt_kernel(&cfg);
    memset(&ts, 0, sizeof(ts));
    ts.server_id = "srv-flags";
    ts.tool_names = tools;
    ts.ntools = 1;
    ts.invoke = flags_tool;
    cr_assert_eq(chio_kernel_register_tool_server(g_k, &ts, &err), 0, "%s", err.message);
    cr_assert_eq(chio_kernel_set_nested_handler(g_k, host, NULL, &err), 0);
    tok = tk_token(TK_KERNEL_SEED, "cap-f", TK_AGENT_PUB,
                   "{\"grants\":[{\"server_id\":\"*\",\"tool_name\":\"*\","
                   "\"operations\":[\"invoke\"]}]}",
                   NOW - 10, 100, NULL, 0);
    caps[0] = tok;
    cr_assert_eq(chio_kernel_open_session(g_k, TK_AGENT_PUB, caps, NULL, 1, g_sid, &err), 0);
    free(tok);
    g_host_calls = 0;
    memset(&c, 0, sizeof(c));
    c.session_id = g_sid;
    c.capability_id = "cap-f";
    c.server_id = "srv-flags";
    c.tool_name = "t";
    c.request_id = "parent-1";
    c.arguments_json = "{}";
    c.arguments_len = 2;
    memset(&r, 0, sizeof(r));
    cr_assert_eq(chio_kernel_evaluate(g_k, &c, &r, &err), 0, "%s", err.message);
    cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW);
    cr_expect_eq(g_host_calls, 0);
    cr_assert_eq(r.nchildren, 3);
    for (i = 0; i < 3; i++) {
        cr_expect_eq(g_plan.rcs2[i], CHIO_EDENIED, "request %zu: rc %d", i, g_plan.rcs2[i]);
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
    cr_expect_eq(g_plan.rcs2[3], CHIO_EJSON_TRUNCATED, "rc %d", g_plan.rcs2[3]);
    cr_expect_eq(g_plan.rcs2[4], CHIO_EJSON_SYNTAX, "rc %d", g_plan.rcs2[4]);
    chio_response_destroy(&r);
    chio_kernel_free(g_k);
}

/* A chunk that is not JSON is dropped and makes the call a tool error
 * (check 10). A later chunk past the byte limit turned it into an
 * incomplete call whose output had a hole where the bad chunk was, looking
 * like a clean prefix of the stream: now the tool error stands. */
Test(rev28_streams, bad_chunk_before_the_limit_stays_a_tool_error)
{
    static const char *const chunks[] = {"1", "{bad", "2", "33", NULL};
    chio_response r;

    setup(NULL, 3, 0);
    g_plan.chunks = chunks;
    call("srv-stream", &r);
    cr_expect_eq(g_plan.rcs[0], 0);
    cr_expect_neq(g_plan.rcs[1], 0);
    cr_expect_eq(g_plan.rcs[2], 0);
    cr_expect_eq(g_plan.rcs[3], CHIO_ESTREAM_LIMIT);
    cr_expect_eq(r.verdict, CHIO_VERDICT_DENY, "verdict %d, output %s", r.verdict,
                 r.output ? r.output : "(none)");
    cr_expect_eq(r.code, CHIO_CODE_TOOL_ERROR);
    cr_expect_null(r.output);
    cr_expect(strstr(r.reason, "invalid chunk") != NULL, "reason: %s", r.reason);
    chio_response_destroy(&r);
    chio_kernel_free(g_k);
}

/* One chunk over the parser's 64 MiB of text is not parsed: a bad chunk
 * (CHIO_ETOOBIG) under any byte limit, the call a tool error. */
Test(rev28_streams, chunk_over_64_mib_of_text_is_a_bad_chunk)
{
    const char *chunks[2] = {NULL, NULL};
    size_t n = CHIO_JSON_MAX_INPUT + 1;
    chio_response r;
    char *big = malloc(n + 1);

    cr_assert_not_null(big);
    memset(big, ' ', n);
    big[0] = '1';
    big[n] = '\0';
    chunks[0] = big;
    setup(NULL, 0, 0);
    g_plan.chunks = chunks;
    call("srv-stream", &r);
    free(big);
    cr_expect_eq(g_plan.rcs[0], CHIO_ETOOBIG, "rc %d", g_plan.rcs[0]);
    cr_expect_eq(r.verdict, CHIO_VERDICT_DENY);
    cr_expect_eq(r.code, CHIO_CODE_TOOL_ERROR);
    chio_response_destroy(&r);
    chio_kernel_free(g_k);
}

/* How long the polling tool below waited for chio_tool_ctx_cancelled(). */
static uint64_t g_waited_ms;
static int g_saw_cancel;

/* A streaming tool waiting for a slow upstream between chunks, polling
 * chio_tool_ctx_cancelled() as the header asks (10 s at most). */
static int polling_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                        size_t len, chio_output *out)
{
    uint64_t t0 = testutil_now_ms();

    (void)user;
    (void)tool;
    (void)args;
    (void)len;
    (void)out;
    g_plan.rcs[0] = chio_tool_ctx_emit_chunk(ctx, "\"a\"", 3);
    while (!(g_saw_cancel = chio_tool_ctx_cancelled(ctx)) && testutil_now_ms() - t0 < 10000)
        testutil_nap_ms(10);
    g_waited_ms = testutil_now_ms() - t0;
    return 0;
}

/* The stream duration was enforced only at the tool's next chunk, nested
 * request or return: a tool waiting upstream and polling
 * chio_tool_ctx_cancelled() never heard of it. Now that says 1 once the
 * duration passed, and the call ends incomplete with its chunks. */
Test(rev28_streams, cancelled_says_stop_once_the_stream_duration_passed)
{
    chio_response r;

    g_duration = 1;
    setup(NULL, 0, 0);
    g_duration = 0;
    call("srv-poll", &r);
    cr_expect_eq(g_plan.rcs[0], 0);
    cr_expect(g_saw_cancel, "chio_tool_ctx_cancelled() said 0 for %llu ms",
              (unsigned long long)g_waited_ms);
    cr_expect_geq(g_waited_ms, 1000);
    cr_expect_eq(r.verdict, CHIO_VERDICT_INCOMPLETE);
    cr_expect_eq(r.code, CHIO_CODE_STREAM_LIMIT);
    cr_expect_str_eq(r.output, "[\"a\"]");
    chio_response_destroy(&r);
    chio_kernel_free(g_k);
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

    g_secret = "7";
    setup(NULL, 0, (uint64_t)6 << 20);
    g_secret = NULL;
    req = malloc(2 * n + 1);
    cr_assert_not_null(req);
    req[0] = '[';
    for (i = 0; i < n; i++)
        memcpy(req + 1 + 2 * i, "7,", 2);
    req[2 * n] = ']';
    g_plan.req = req;
    g_plan.req_len = 2 * n + 1;
    g_plan.elicit = 1;
    call("srv-sample", &r);
    free(req);
    expect_refused_unrecordable(&r, "redacted");
    chio_response_destroy(&r);
    chio_kernel_free(g_k);
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

    g_secret = "7";
    setup(NULL, 0, (uint64_t)6 << 20);
    g_secret = NULL;
    args = malloc(2 * n + 16);
    cr_assert_not_null(args);
    memcpy(args, "{\"a\":[", 6);
    for (i = 0; i < n; i++)
        memcpy(args + 6 + 2 * i, "7,", 2);
    memcpy(args + 6 + 2 * n - 1, "]}", 3);
    memset(&c, 0, sizeof(c));
    c.session_id = g_sid;
    c.capability_id = "cap-f";
    c.server_id = "srv-sample";
    c.tool_name = "t";
    c.arguments_json = args;
    c.arguments_len = strlen(args);
    chio_error_init(&err);
    memset(&r, 0, sizeof(r));
    rc = chio_kernel_evaluate(g_k, &c, &r, &err);
    free(args);
    cr_assert_eq(rc, 0, "no decision: %d %s", rc, err.message);
    cr_expect_eq(r.verdict, CHIO_VERDICT_DENY);
    cr_expect_eq(r.code, CHIO_CODE_GUARD_DENIED);
    js = chio_receipt_json(r.receipt, &len);
    cr_expect(len < 8192 && strstr(js, "chio_omitted_arguments") != NULL, "receipt: %.500s", js);
    chio_response_destroy(&r);
    chio_kernel_free(g_k);
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
    g_host_calls++;
    if (g_stashed != NULL && g_host_calls == 1)
        g_reentry_rc = chio_tool_ctx_sample(g_stashed, "{}", 2, 0, &inner, &ilen, NULL);
    chio_free(inner);
    return chio_output_set_json(reply, "\"ok\"", 4);
}

static int stashing_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                         size_t len, chio_output *out)
{
    g_stashed = ctx;
    return sample_tool(user, ctx, tool, args, len, out);
}

/* A nested request made through the call's context from inside the host's
 * answer to another (on the tool's thread) nested the two: the inner one
 * overwrote the outer one's pre-taken credit (the completion thread's
 * case) and could recurse without bound. It is now refused with
 * CHIO_EINVAL, asking no one and signing nothing. */
Test(rev28_streams, nested_request_from_inside_the_hosts_answer_is_refused)
{
    chio_response r;

    g_handler = reentering_host;
    setup(NULL, 0, 0);
    g_handler = NULL;
    g_plan.req = "{\"messages\":[]}";
    g_plan.req_len = strlen(g_plan.req);
    call("srv-stash", &r);
    g_stashed = NULL;
    cr_expect_eq(g_reentry_rc, CHIO_EINVAL, "inner rc %d", g_reentry_rc);
    cr_expect_eq(g_host_calls, 1, "the host was asked %d times", g_host_calls);
    cr_expect_eq(g_plan.rc, 0);
    cr_expect_eq(r.nchildren, 1);
    cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW);
    chio_response_destroy(&r);
    chio_kernel_free(g_k);
}

/* ---- a stream's peak memory ------------------------------------------------------------ */

#if defined(__SANITIZE_ADDRESS__)
#define RS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RS_ASAN 1
#endif
#endif

#define BIG_CHUNK  ((size_t)1 << 20) /* bytes of one chunk (a JSON string) */
#define BIG_CHUNKS 64

static char *g_big; /* one chunk's text */

static int big_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args, size_t len,
                    chio_output *out)
{
    int i;

    (void)user;
    (void)tool;
    (void)args;
    (void)len;
    (void)out;
    for (i = 0; i < BIG_CHUNKS; i++)
        if (chio_tool_ctx_emit_chunk(ctx, g_big, BIG_CHUNK) != 0)
            return -1;
    return 0;
}

static long status_kib(const char *field)
{
    char line[256];
    long v = -1;
    size_t n = strlen(field);
    FILE *f = fopen("/proc/self/status", "r");

    cr_assert_not_null(f);
    while (fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, field, n) == 0 && line[n] == ':') {
            v = strtol(line + n + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

/* Reset VmHWM to the current RSS (Linux >= 4.0); 0 when it cannot. */
static int reset_peak(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    int ok;

    if (f == NULL)
        return 0;
    ok = fputs("5", f) >= 0;
    return fclose(f) == 0 && ok;
}

/* A streamed output was built in one buffer and then copied whole into
 * another: a stream at its byte limit (256 MiB by default) cost twice its
 * size at the end. The buffer is now handed over as the output: the call's
 * peak memory growth stays near the output's size (least of three runs). */
Test(rev28_streams, a_streamed_output_is_not_copied)
{
    size_t out_bytes = (size_t)BIG_CHUNKS * (BIG_CHUNK + 1) + 1;
    double best = 1e9;
    int run;

#ifdef RS_ASAN
    cr_skip_test("ASan's allocator keeps freed memory: peak RSS says nothing here");
#endif
    g_big = malloc(BIG_CHUNK + 1);
    cr_assert_not_null(g_big);
    memset(g_big, 'x', BIG_CHUNK);
    g_big[0] = '"';
    g_big[BIG_CHUNK - 1] = '"';
    g_big[BIG_CHUNK] = '\0';
    for (run = 0; run < 3; run++) {
        chio_response r;
        long base, peak;

        static const char *const none[] = {NULL};

        setup(NULL, 0, 0);
        g_plan.chunks = none;
        call("srv-stream", &r); /* warm up (no chunks) */
        chio_response_destroy(&r);
        if (!reset_peak()) {
            chio_kernel_free(g_k);
            free(g_big);
            cr_skip_test("no /proc/self/clear_refs: peak RSS cannot be reset");
        }
        base = status_kib("VmRSS");
        call("srv-big", &r);
        peak = status_kib("VmHWM");
        cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW, "%s", r.reason);
        cr_expect_eq(r.output_len, out_bytes);
        chio_response_destroy(&r);
        chio_kernel_free(g_k);
        if ((double)(peak - base) * 1024.0 / (double)out_bytes < best)
            best = (double)(peak - base) * 1024.0 / (double)out_bytes;
    }
    free(g_big);
    cr_log_info("peak RSS growth for a %zu-byte streamed output: %.2fx", out_bytes, best);
    cr_expect(best < 1.5, "peak memory %.2fx the streamed output (want < 1.5x)", best);
}
