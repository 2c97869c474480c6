/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_budget_grants.c - check 8 with several grants allowing
 * one call, found by the differential check (tests/interop/decide.mjs):
 * as in chio (check_and_increment_budget over resolve_matching_grants),
 * every grant that allows the call is tried, most specific first (server
 * named exactly, tool named exactly, more constraints; ties in token
 * order), and the first with budget left, or without max_invocations,
 * takes the call; budget_exhausted only when all are spent.
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

/* A kernel with echo tools "t" and "u" on server "srv", at NOW, and a
 * session holding the token "cap-g" of @scope; its id in @sid. */
static chio_kernel *session_with(const char *scope, char sid[CHIO_SESSION_ID_LEN + 1])
{
    static const char *const tools[] = {"t", "u"};
    chio_kernel *k = kt_echo_kernel(NULL, clock_fn, "srv", tools, 2);
    char *tok = tk_token(TK_KERNEL_SEED, "cap-g", TK_AGENT_PUB, scope, NOW - 10, 100, NULL, 0);
    const char *caps[1];
    chio_error err;

    cr_assert_not_null(tok);
    caps[0] = tok;
    cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, caps, NULL, 1, sid, &err), 0, "%s",
                 err.message);
    free(tok);
    return k;
}

/* Call @tool with @args; returns the decision's code. */
static chio_code call(chio_kernel *k, const char *sid, const char *tool, const char *args)
{
    chio_response r;
    chio_error err;
    chio_call c;
    chio_code code;

    memset(&c, 0, sizeof(c));
    c.session_id = sid;
    c.capability_id = "cap-g";
    c.server_id = "srv";
    c.tool_name = tool;
    c.arguments_json = args;
    c.arguments_len = strlen(args);
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_evaluate(k, &c, &r, &err), 0, "%s", err.message);
    code = r.code;
    chio_response_destroy(&r);
    return code;
}

/* Tool grants of server "srv" (invoke), with a budget of 1 unless said. */
#define SRV_T    "{\"server_id\":\"srv\",\"tool_name\":\"t\",\"operations\":[\"invoke\"]"
#define SRV_ANY  "{\"server_id\":\"srv\",\"tool_name\":\"*\",\"operations\":[\"invoke\"]"
#define ANY_ANY  "{\"server_id\":\"*\",\"tool_name\":\"*\",\"operations\":[\"invoke\"]"
#define ONE      ",\"max_invocations\":1}"
#define CUSTOM_M ",\"constraints\":[{\"type\":\"custom\",\"value\":[\"m\",\"r\"]}]"

/* Grant 0 is spent after one call; grant 1 (no budget) still allows it.
 * The old kernel charged only the first grant whose constraints held and
 * denied the second call budget_exhausted. */
Test(budget_grants, a_spent_grant_falls_through_to_another_that_allows_the_call)
{
    char sid[CHIO_SESSION_ID_LEN + 1];
    chio_kernel *k = session_with("{\"grants\":[" SRV_T ONE "," SRV_ANY "}]}", sid);

    cr_expect_eq(call(k, sid, "t", "{}"), CHIO_CODE_NONE);
    cr_expect_eq(call(k, sid, "t", "{}"), CHIO_CODE_NONE, "grant 1 has no budget to spend");
    cr_expect_eq(call(k, sid, "t", "{}"), CHIO_CODE_NONE);
    chio_kernel_free(k);
}

/* Two budgeted grants allow "t": 1 + 2 calls, then budget_exhausted. */
Test(budget_grants, exhausted_only_when_every_allowing_grant_is_spent)
{
    char sid[CHIO_SESSION_ID_LEN + 1];
    chio_kernel *k =
        session_with("{\"grants\":[" SRV_T ONE "," ANY_ANY ",\"max_invocations\":2}]}", sid);

    cr_expect_eq(call(k, sid, "t", "{}"), CHIO_CODE_NONE);
    cr_expect_eq(call(k, sid, "t", "{}"), CHIO_CODE_NONE);
    cr_expect_eq(call(k, sid, "t", "{}"), CHIO_CODE_NONE);
    cr_expect_eq(call(k, sid, "t", "{}"), CHIO_CODE_BUDGET_EXHAUSTED);
    chio_kernel_free(k);
}

/* The most specific grant is charged first, whatever the token's order:
 * "t" spends grant 1 (tool named exactly), so "u", which only grant 0
 * allows, keeps grant 0's single call. The old kernel charged grant 0 for
 * "t" (first in the token) and then denied "u" budget_exhausted. */
Test(budget_grants, the_most_specific_grant_is_charged_first)
{
    char sid[CHIO_SESSION_ID_LEN + 1];
    chio_kernel *k = session_with("{\"grants\":[" SRV_ANY ONE "," SRV_T ONE "]}", sid);

    cr_expect_eq(call(k, sid, "t", "{}"), CHIO_CODE_NONE);
    cr_expect_eq(call(k, sid, "u", "{}"), CHIO_CODE_NONE, "grant 0 was not charged for 't'");
    cr_expect_eq(call(k, sid, "t", "{}"), CHIO_CODE_BUDGET_EXHAUSTED);
    chio_kernel_free(k);
}

/* More constraints is more specific; equal specificity keeps token order. */
Test(budget_grants, constraints_rank_grants_and_ties_keep_token_order)
{
    char sid[CHIO_SESSION_ID_LEN + 1];
    chio_kernel *k = session_with(
        "{\"grants\":[" SRV_ANY ONE "," SRV_ANY CUSTOM_M ONE "," SRV_ANY ONE "]}", sid);

    /* m=r: grant 1 (one constraint) before grants 0 and 2. */
    cr_expect_eq(call(k, sid, "t", "{\"m\":\"r\"}"), CHIO_CODE_NONE);
    /* Grant 1 spent; grants 0 then 2 still take one call each. */
    cr_expect_eq(call(k, sid, "t", "{\"m\":\"r\"}"), CHIO_CODE_NONE);
    cr_expect_eq(call(k, sid, "t", "{}"), CHIO_CODE_NONE);
    cr_expect_eq(call(k, sid, "t", "{}"), CHIO_CODE_BUDGET_EXHAUSTED);
    chio_kernel_free(k);
}

/* A grant whose constraints fail is no candidate, even with budget left:
 * the call is constraint_violated only when no grant allows it. */
Test(budget_grants, a_grant_whose_constraints_fail_is_never_charged)
{
    char sid[CHIO_SESSION_ID_LEN + 1];
    chio_kernel *k =
        session_with("{\"grants\":[" SRV_T CUSTOM_M ",\"max_invocations\":5}," SRV_T ONE "]}", sid);

    cr_expect_eq(call(k, sid, "t", "{\"m\":\"w\"}"), CHIO_CODE_NONE);
    cr_expect_eq(call(k, sid, "t", "{\"m\":\"w\"}"), CHIO_CODE_BUDGET_EXHAUSTED);
    cr_expect_eq(call(k, sid, "t", "{\"m\":\"r\"}"), CHIO_CODE_NONE);
    chio_kernel_free(k);
}
