/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev55_streams.c - review 5 of stop 55, F1: a streamed
 * tool whose chio_output_set_json() failed before it heard of the byte
 * limit is a tool error (check 10 before 11), as a bad chunk before the
 * limit is; one that failed to set only after a refused chunk stays
 * incomplete with its chunks. Real kernel through the public API
 * (rev28util.h), stream byte limit 12 canonical bytes.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "kernel/rev28util.h"

static int g_set_first; /* 1: the bad set before the chunks, 0: after the refused one */

/* Emit "xxxxx" chunks (7 canonical bytes each) until one is refused at
 * the limit, setting a result that is not JSON before the first chunk or
 * after the refused one (g_set_first); return 0 either way. */
static int set_and_overrun_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                                size_t len, chio_output *out)
{
    int i, rc = 0;

    (void)user;
    (void)tool;
    (void)args;
    (void)len;
    if (g_set_first)
        rs_plan.rc = chio_output_set_json(out, "{bad", 4);
    for (i = 0; i < 10 && rc == 0; i++)
        rc = chio_tool_ctx_emit_chunk(ctx, "\"xxxxx\"", 7);
    rs_plan.rcs[0] = rc;
    if (!g_set_first)
        rs_plan.rc = chio_output_set_json(out, "{bad", 4);
    return 0;
}

static void setup(int set_first)
{
    static const rs_tool extra[] = {{"srv-overrun", 1, set_and_overrun_tool}, {NULL, 0, NULL}};

    rs_setup(NULL, 12, 0, extra);
    g_set_first = set_first;
}

/* Before the fix the call ended incomplete with its truncated chunks, the
 * tool's failure absent from the receipt. */
Test(rev55_streams, a_result_failed_to_set_before_the_byte_limit_is_a_tool_error)
{
    chio_response r;

    setup(1);
    rs_call("srv-overrun", &r);
    cr_expect_eq(rs_plan.rcs[0], CHIO_ESTREAM_LIMIT, "the tool never reached the limit");
    cr_expect_neq(rs_plan.rc, 0);
    cr_expect_eq(r.verdict, CHIO_VERDICT_DENY, "verdict %d, output %s", r.verdict,
                 r.output ? r.output : "(none)");
    cr_expect_eq(r.code, CHIO_CODE_TOOL_ERROR);
    cr_expect_null(r.output);
    cr_expect(strstr(r.reason, "not valid JSON") != NULL, "reason: %s", r.reason);
    chio_response_destroy(&r);
    chio_kernel_free(rs_k);
}

/* The limit came first: what the tool does after it is not a tool error. */
Test(rev55_streams, a_result_failed_to_set_after_the_byte_limit_stays_incomplete)
{
    chio_response r;

    setup(0);
    rs_call("srv-overrun", &r);
    cr_expect_eq(rs_plan.rcs[0], CHIO_ESTREAM_LIMIT);
    cr_expect_neq(rs_plan.rc, 0);
    cr_expect_eq(r.verdict, CHIO_VERDICT_INCOMPLETE, "verdict %d", r.verdict);
    cr_expect_eq(r.code, CHIO_CODE_STREAM_LIMIT);
    cr_expect_str_eq(r.output, "[\"xxxxx\"]");
    rs_expect_hash_binds_output(&r);
    chio_response_destroy(&r);
    chio_kernel_free(rs_k);
}
