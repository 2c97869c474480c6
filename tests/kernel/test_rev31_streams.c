/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev31_streams.c - review 31 of checks 10 and 11 for
 * streamed tools, through the public API with a real kernel
 * (rev28util.h): a streamed tool that fails without having heard of the
 * duration limit is a tool error (check 10 before 11), one that heard of
 * it (a refused chunk, or chio_tool_ctx_cancelled() on its own thread or
 * another) stays incomplete; a streamed tool whose result failed to set
 * is a tool error, as a plain tool's is. Each call has its one receipt
 * with the verdict it answers.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "common/poll.h"
#include "kernel/rev28util.h"

/* How each tool below ends its wait: it returns a failure (with a message)
 * once the stream duration passed, having emitted one chunk. */
enum wait_kind {
    WAIT_UNSEEN = 0, /* waits on its own clock, never asking the kernel */
    WAIT_POLLED = 1, /* polls chio_tool_ctx_cancelled() on its own thread */
    WAIT_HELPER = 2  /* a thread of its own polls chio_tool_ctx_cancelled() */
};

static enum wait_kind g_wait;
static int g_heard; /* chio_tool_ctx_cancelled() said 1 */

/* A helper thread of the tool polling its context (10 s at most). */
static void *helper_poll(void *arg)
{
    chio_tool_ctx *ctx = arg;
    uint64_t t0 = testutil_now_ms();

    while (!(g_heard = chio_tool_ctx_cancelled(ctx)) && testutil_now_ms() - t0 < 10000)
        testutil_nap_ms(10);
    return NULL;
}

/* Emit one chunk, wait past the 1 s duration limit as g_wait says, then
 * fail with a message (as a tool whose upstream broke). */
static int late_failing_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                             size_t len, chio_output *out)
{
    uint64_t t0 = testutil_now_ms();
    pthread_t t;

    (void)user;
    (void)tool;
    (void)args;
    (void)len;
    rs_plan.rcs[0] = chio_tool_ctx_emit_chunk(ctx, "\"a\"", 3);
    if (g_wait == WAIT_HELPER) {
        if (pthread_create(&t, NULL, helper_poll, ctx) != 0)
            return -1;
        pthread_join(t, NULL);
    } else if (g_wait == WAIT_POLLED) {
        while (!(g_heard = chio_tool_ctx_cancelled(ctx)) && testutil_now_ms() - t0 < 10000)
            testutil_nap_ms(10);
    } else {
        while (testutil_now_ms() - t0 < 1100) /* past the limit, never asking */
            testutil_nap_ms(10);
    }
    chio_output_set_error(out, "upstream reset the connection");
    return -1;
}

/* Emit one chunk, then set a result that is not JSON (ignoring the
 * error) and return 0. */
static int bad_result_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                           size_t len, chio_output *out)
{
    (void)user;
    (void)tool;
    (void)args;
    (void)len;
    rs_plan.rcs[0] = chio_tool_ctx_emit_chunk(ctx, "\"a\"", 3);
    rs_plan.rc = chio_output_set_json(out, "{bad", 4);
    return 0;
}

/* rs_setup() with a 1 s stream duration and this file's tools. */
static void setup(void)
{
    static const rs_tool extra[] = {
        {"srv-late", 1, late_failing_tool}, {"srv-badset", 1, bad_result_tool}, {NULL, 0, NULL}};

    rs_duration = 1;
    rs_setup(NULL, 0, 0, extra);
    rs_duration = 0;
    g_heard = 0;
}

/* The receipt's decision verdict is @want. */
static void expect_receipt_verdict(const chio_response *r, const char *want)
{
    const chio_json *d = chio_json_get(chio_receipt_root(r->receipt), "decision");
    const chio_json *v = chio_json_get(d, "verdict");
    size_t n = 0;
    const char *s = v != NULL ? chio_json_string(v, &n) : NULL;

    cr_assert_not_null(s, "receipt without a decision verdict");
    cr_expect_str_eq(s, want);
}

/* A streamed tool failed after the duration limit passed, without ever
 * hearing of it (no chunk refused, chio_tool_ctx_cancelled() never
 * asked): the limit was found only at its return, and the call was
 * `incomplete` with its chunks, the tool's failure and message lost.
 * Check 10 comes before 11: it is a tool_error deny now, no output. */
Test(rev31_streams, a_tool_failing_without_hearing_of_the_duration_limit_is_a_tool_error)
{
    chio_response r;

    setup();
    g_wait = WAIT_UNSEEN;
    rs_call("srv-late", &r);
    cr_expect_eq(rs_plan.rcs[0], 0);
    cr_expect_eq(r.verdict, CHIO_VERDICT_DENY, "verdict %d, output %s", r.verdict,
                 r.output ? r.output : "(none)");
    cr_expect_eq(r.code, CHIO_CODE_TOOL_ERROR);
    cr_expect_null(r.output);
    cr_expect(strstr(r.reason, "upstream reset the connection") != NULL, "reason: %s", r.reason);
    expect_receipt_verdict(&r, "deny");
    chio_response_destroy(&r);
    chio_kernel_free(rs_k);
}

/* A tool told of the limit by chio_tool_ctx_cancelled(), on its own
 * thread or on a thread of its own, may fail as it stops: the call stays
 * incomplete with its chunks, and the receipt binds that output. */
Test(rev31_streams, a_tool_that_heard_of_the_duration_limit_stays_incomplete)
{
    static const enum wait_kind kinds[] = {WAIT_POLLED, WAIT_HELPER};
    size_t i;

    for (i = 0; i < 2; i++) {
        chio_response r;

        setup();
        g_wait = kinds[i];
        rs_call("srv-late", &r);
        cr_expect(g_heard, "kind %zu: chio_tool_ctx_cancelled() never said 1", i);
        cr_expect_eq(r.verdict, CHIO_VERDICT_INCOMPLETE, "kind %zu: verdict %d", i, r.verdict);
        cr_expect_eq(r.code, CHIO_CODE_STREAM_LIMIT);
        cr_expect_str_eq(r.output, "[\"a\"]");
        rs_expect_hash_binds_output(&r);
        expect_receipt_verdict(&r, "incomplete");
        chio_response_destroy(&r);
        chio_kernel_free(rs_k);
    }
}

/* A plain tool whose chio_output_set_json() failed is a tool error; a
 * streamed one was allowed with its chunks. Now the same tool_error deny,
 * saying why. */
Test(rev31_streams, a_streamed_tool_whose_result_failed_to_set_is_a_tool_error)
{
    chio_response r;

    setup();
    rs_call("srv-badset", &r);
    cr_expect_eq(rs_plan.rcs[0], 0);
    cr_expect_neq(rs_plan.rc, 0);
    cr_expect_eq(r.verdict, CHIO_VERDICT_DENY, "verdict %d, output %s", r.verdict,
                 r.output ? r.output : "(none)");
    cr_expect_eq(r.code, CHIO_CODE_TOOL_ERROR);
    cr_expect_null(r.output);
    cr_expect(strstr(r.reason, "not valid JSON") != NULL, "reason: %s", r.reason);
    expect_receipt_verdict(&r, "deny");
    chio_response_destroy(&r);
    chio_kernel_free(rs_k);
}
