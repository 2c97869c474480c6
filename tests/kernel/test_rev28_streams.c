/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev28_streams.c - review 28 of check 11, stream
 * limits, through the public API with a real kernel (rev28util.h): the
 * byte limit counts canonical bytes, to the byte, and the incomplete
 * output is what the receipt's content_hash binds; the duration runs on
 * the monotonic clock and chio_tool_ctx_cancelled() tells a waiting tool;
 * a bad chunk keeps the call a tool error; chunks only from the tool's
 * thread; the output is not copied at the end.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/poll.h"
#include "kernel/kernelutil.h"
#include "kernel/rev28util.h"

static int handing_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                        size_t len, chio_output *out);
static int polling_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                        size_t len, chio_output *out);
static int big_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args, size_t len,
                    chio_output *out);

/* rs_setup() with this file's tools besides. */
static void setup(const char *path, uint64_t stream_bytes, uint64_t arg_cap)
{
    static const rs_tool extra[] = {{"srv-hand", 1, handing_tool},
                                    {"srv-poll", 1, polling_tool},
                                    {"srv-big", 1, big_tool},
                                    {NULL, 0, NULL}};

    rs_setup(path, stream_bytes, arg_cap, extra);
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
        rs_plan.chunks = chunks;
        rs_call("srv-stream", &r);
        for (j = 0; j < 3; j++)
            cr_expect_eq(rs_plan.rcs[j], j < rows[i].kept ? 0 : CHIO_ESTREAM_LIMIT,
                         "limit %llu chunk %d: rc %d", (unsigned long long)rows[i].limit, j,
                         rs_plan.rcs[j]);
        cr_expect_eq(r.verdict, rows[i].verdict, "limit %llu: verdict %d",
                     (unsigned long long)rows[i].limit, r.verdict);
        cr_expect_eq(r.code, rows[i].verdict == CHIO_VERDICT_ALLOW ? CHIO_CODE_NONE
                                                                   : CHIO_CODE_STREAM_LIMIT);
        cr_expect_str_eq(r.output, rows[i].output);
        rs_expect_hash_binds_output(&r);
        chio_response_destroy(&r);
        chio_kernel_free(rs_k);
    }
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

    rs_duration = 1;
    setup(NULL, 0, 0);
    rs_duration = 0;
    rs_plan.chunks = chunks;
    rs_plan.req = "{\"messages\":[]}";
    rs_plan.req_len = strlen(rs_plan.req);
    rs_pause_ms = 1100;
    rs_call("srv-stream", &r);
    rs_pause_ms = 0;
    cr_expect_eq(rs_plan.rcs[0], 0);
    cr_expect_eq(rs_plan.rcs[1], CHIO_ESTREAM_LIMIT, "rc %d", rs_plan.rcs[1]);
    cr_expect_eq(rs_plan.rc, CHIO_EDENIED, "nested rc %d", rs_plan.rc);
    cr_expect_eq(rs_host_calls, 0);
    cr_expect_eq(r.verdict, CHIO_VERDICT_INCOMPLETE);
    cr_expect_eq(r.code, CHIO_CODE_STREAM_LIMIT);
    cr_expect_str_eq(r.output, "[\"a\"]");
    rs_expect_hash_binds_output(&r);
    cr_assert_eq(r.nchildren, 1);
    js = chio_receipt_json(r.children[0], &len);
    cr_expect(strstr(js, "\"stream_limit\"") != NULL, "%.500s", js);
    cr_expect(strstr(js, "\"parent_request_id\"") != NULL, "%.500s", js);
    chio_response_destroy(&r);
    chio_kernel_free(rs_k);
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
    rs_plan.rcs[0] = chio_tool_ctx_emit_chunk(ctx, "\"mine\"", 6);
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
    rs_call("srv-hand", &r);
    cr_expect_eq(rs_plan.rcs[0], 0);
    cr_expect_eq(g_foreign.emit_rc, CHIO_EINVAL, "emit rc %d", g_foreign.emit_rc);
    cr_expect_eq(g_foreign.sample_rc, CHIO_EINVAL, "sample rc %d", g_foreign.sample_rc);
    cr_expect_eq(rs_host_calls, 0);
    cr_expect_eq(r.nchildren, 0);
    cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW);
    cr_expect_str_eq(r.output, "[\"mine\"]");
    chio_response_destroy(&r);
    chio_kernel_free(rs_k);
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
    rs_plan.chunks = chunks;
    rs_call("srv-stream", &r);
    cr_expect_eq(rs_plan.rcs[0], 0);
    cr_expect_neq(rs_plan.rcs[1], 0);
    cr_expect_eq(rs_plan.rcs[2], 0);
    cr_expect_eq(rs_plan.rcs[3], CHIO_ESTREAM_LIMIT);
    cr_expect_eq(r.verdict, CHIO_VERDICT_DENY, "verdict %d, output %s", r.verdict,
                 r.output ? r.output : "(none)");
    cr_expect_eq(r.code, CHIO_CODE_TOOL_ERROR);
    cr_expect_null(r.output);
    cr_expect(strstr(r.reason, "invalid chunk") != NULL, "reason: %s", r.reason);
    chio_response_destroy(&r);
    chio_kernel_free(rs_k);
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
    rs_plan.chunks = chunks;
    rs_call("srv-stream", &r);
    free(big);
    cr_expect_eq(rs_plan.rcs[0], CHIO_ETOOBIG, "rc %d", rs_plan.rcs[0]);
    cr_expect_eq(r.verdict, CHIO_VERDICT_DENY);
    cr_expect_eq(r.code, CHIO_CODE_TOOL_ERROR);
    chio_response_destroy(&r);
    chio_kernel_free(rs_k);
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
    rs_plan.rcs[0] = chio_tool_ctx_emit_chunk(ctx, "\"a\"", 3);
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

    rs_duration = 1;
    setup(NULL, 0, 0);
    rs_duration = 0;
    rs_call("srv-poll", &r);
    cr_expect_eq(rs_plan.rcs[0], 0);
    cr_expect(g_saw_cancel, "chio_tool_ctx_cancelled() said 0 for %llu ms",
              (unsigned long long)g_waited_ms);
    cr_expect_geq(g_waited_ms, 1000);
    cr_expect_eq(r.verdict, CHIO_VERDICT_INCOMPLETE);
    cr_expect_eq(r.code, CHIO_CODE_STREAM_LIMIT);
    cr_expect_str_eq(r.output, "[\"a\"]");
    chio_response_destroy(&r);
    chio_kernel_free(rs_k);
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
        rs_plan.chunks = none;
        rs_call("srv-stream", &r); /* warm up (no chunks) */
        chio_response_destroy(&r);
        if (!kt_reset_peak()) {
            chio_kernel_free(rs_k);
            free(g_big);
            cr_skip_test("no /proc/self/clear_refs: peak RSS cannot be reset");
        }
        base = kt_status_kib("VmRSS");
        rs_call("srv-big", &r);
        peak = kt_status_kib("VmHWM");
        cr_expect_eq(r.verdict, CHIO_VERDICT_ALLOW, "%s", r.reason);
        cr_expect_eq(r.output_len, out_bytes);
        chio_response_destroy(&r);
        chio_kernel_free(rs_k);
        if ((double)(peak - base) * 1024.0 / (double)out_bytes < best)
            best = (double)(peak - base) * 1024.0 / (double)out_bytes;
    }
    free(g_big);
    cr_log_info("peak RSS growth for a %zu-byte streamed output: %.2fx", out_bytes, best);
    cr_expect(best < 1.5, "peak memory %.2fx the streamed output (want < 1.5x)", best);
}
