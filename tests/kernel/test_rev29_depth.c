/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev29_depth.c - calls nested on one thread through
 * more kernels than the thread's per-kernel slots (four): a host whose
 * tool on one kernel calls another kernel back, down to a fifth kernel
 * whose tool calls that fifth kernel again. The per-kernel bound (16
 * deep) never saw the fifth kernel, so the recursion ran until the stack
 * did; the thread's total across kernels (64) now stops it with an
 * invalid_request receipt, and every level above ends normally.
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

/* Kernel i's tool: call kernel i + 1 (the last kernel calls itself). */
static int nesting_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                        size_t len, chio_output *out)
{
    int i = (int)(intptr_t)user, next = i + 1 < NKERNELS ? i + 1 : i;

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

Test(rev29_depth, calls_nested_through_a_fifth_kernel_are_bounded)
{
    int i;

    for (i = 0; i < NKERNELS; i++)
        start_kernel(i);
    g_depth = g_deepest = g_refused_at = 0;
    cr_expect(call_kernel(0), "the outermost call is allowed");
    /* Levels 1-4 are kernels 0-3's tools, then kernel 4 calls itself: the
     * call made from inside 64 calls on this thread is refused. */
    cr_expect_eq(g_refused_at, 65, "refused at depth %d (deepest tool %d)", g_refused_at,
                 g_deepest);
    cr_expect_eq(g_deepest, 64, "the tools went %d deep", g_deepest);
    cr_expect_eq(g_depth, 0);
    for (i = 0; i < NKERNELS; i++)
        chio_kernel_free(g_k[i]);
}
