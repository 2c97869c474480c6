/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev29_depth.c - calls nested on one thread through
 * several kernels: a host whose tool on one kernel calls another kernel
 * back. Calls that go round five kernels are stopped by the thread's total
 * across kernels (64), each kernel being only 13 deep then; a fifth
 * kernel whose tool calls that kernel again is stopped by the per-kernel
 * bound (16 deep). Before review 46 the kernel tracked four kernels a
 * thread was inside, so the fifth kernel's own depth was not seen and only
 * the thread's total stopped it. Either refusal is an invalid_request
 * receipt, and every level above ends normally.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "chio/chio.h"
#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

#define NKERNELS 5
#define LIMIT    300 /* the test's own stop: far past any bound, short of the stack */
#define SCOPE                                                                                \
    "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"*\",\"operations\":[\"invoke\"]}]," \
    "\"resource_grants\":[],\"prompt_grants\":[]}"

TestSuite(rev29_depth);

static chio_kernel *g_k[NKERNELS];
static char g_sid[NKERNELS][CHIO_SESSION_ID_LEN + 1];
static int g_depth, g_deepest, g_refused_at;
static int g_round; /* 1: the calls go round the kernels; 0: the last calls itself */

/* Call tool srv/t on kernel @i; 1 when it was allowed. */
static int call_kernel(int i)
{
    chio_response r;
    chio_call c;
    chio_error err;
    int allowed;

    memset(&c, 0, sizeof(c));
    c.session_id = g_sid[i];
    c.capability_id = "c";
    c.server_id = "srv";
    c.tool_name = "t";
    c.arguments_json = "{}";
    c.arguments_len = 2;
    memset(&r, 0, sizeof(r));
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_evaluate(g_k[i], &c, &r, &err), 0, "depth %d: %s", g_depth,
                 err.message);
    allowed = r.verdict == CHIO_VERDICT_ALLOW;
    if (!allowed && g_refused_at == 0) {
        g_refused_at = g_depth + 1;
        cr_expect_eq(r.code, CHIO_CODE_INVALID_REQUEST, "refused with code %d (%s)", r.code,
                     r.reason);
        cr_expect(strstr(r.reason, "nest") != NULL, "reason: %s", r.reason);
    }
    chio_response_destroy(&r);
    return allowed;
}

/* Kernel i's tool: call kernel i + 1; past the last, kernel 0 again
 * (g_round) or the last kernel itself. */
static int nesting_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                        size_t len, chio_output *out)
{
    int i = (int)(intptr_t)user, next = i + 1 < NKERNELS ? i + 1 : g_round ? 0 : i;

    (void)ctx;
    (void)tool;
    (void)args;
    (void)len;
    if (++g_depth > g_deepest)
        g_deepest = g_depth;
    if (g_depth < LIMIT)
        (void)call_kernel(next);
    g_depth--;
    return chio_output_set_json(out, "\"ok\"", 4);
}

static void start_kernel(int i)
{
    static const char *const tools[] = {"t"};
    chio_kernel_config cfg;
    chio_tool_server ts;
    chio_capability *cap = NULL;
    const char *tok[1];
    chio_error err;

    kt_config(&cfg, NULL);
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    g_k[i] = kt_kernel(&cfg);
    memset(&ts, 0, sizeof(ts));
    ts.server_id = "srv";
    ts.tool_names = tools;
    ts.ntools = 1;
    ts.invoke = nesting_tool;
    ts.user = (void *)(intptr_t)i;
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_register_tool_server(g_k[i], &ts, &err), 0, "%s", err.message);
    cr_assert_eq(chio_kernel_issue_capability(g_k[i], "c", TK_AGENT_PUB, SCOPE, strlen(SCOPE), 0,
                                              3600, &cap, &err),
                 0, "%s", err.message);
    tok[0] = chio_capability_json(cap, NULL);
    cr_assert_eq(chio_kernel_open_session(g_k[i], TK_AGENT_PUB, tok, NULL, 1, g_sid[i], &err), 0,
                 "%s", err.message);
    chio_capability_free(cap);
}

static void run_nesting(int round, int refused_at)
{
    int i;

    for (i = 0; i < NKERNELS; i++)
        start_kernel(i);
    g_round = round;
    g_depth = g_deepest = g_refused_at = 0;
    cr_expect(call_kernel(0), "the outermost call is allowed");
    cr_expect_eq(g_refused_at, refused_at, "refused at depth %d (deepest tool %d)", g_refused_at,
                 g_deepest);
    cr_expect_eq(g_deepest, refused_at - 1, "the tools went %d deep", g_deepest);
    cr_expect_eq(g_depth, 0);
    for (i = 0; i < NKERNELS; i++)
        chio_kernel_free(g_k[i]);
}

Test(rev29_depth, calls_going_round_five_kernels_are_bounded_by_the_threads_total)
{
    /* No kernel is more than 13 deep: the call made from inside 64 calls
     * on this thread is refused. */
    run_nesting(1, 65);
}

Test(rev29_depth, a_fifth_kernel_calling_itself_is_bounded_per_kernel)
{
    /* Levels 1-4 are kernels 0-3's tools, then kernel 4 calls itself: its
     * 17th call on this thread (depth 4 + 16 + 1) is refused. */
    run_nesting(0, 4 + 16 + 1);
}
