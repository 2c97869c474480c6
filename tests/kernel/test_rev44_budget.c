/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev44_budget.c - review 44 of check 8 (invocation
 * budgets) and check 3 (revocation) through the public API on a real
 * RocksDB store: a charge a failing tool took stays spent across a restart,
 * two grants racing from two sessions never overspend their sum across a
 * restart, a revoked delegation ancestor stays revoked after a restart, and
 * a renewal (the id re-issued, expiring later) refused on the spent budget
 * stays refused after a restart once the first token expired; each denial
 * with its signed receipt.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

#define IAT 1710000000u
#define NOW 1710000300u

static char *dir, *db;
static unsigned long ran; /* dispatches of the tools of this file */

static uint64_t clock_now(void *ctx)
{
    (void)ctx;
    return NOW;
}

static void setup(void)
{
    dir = testutil_tmpdir();
    cr_assert_geq(asprintf(&db, "%s/db", dir), 0);
    __atomic_store_n(&ran, 0, __ATOMIC_SEQ_CST);
}

static void teardown(void)
{
    testutil_rmrf(dir);
    free(dir);
    free(db);
}

TestSuite(rev44_budget, .init = setup, .fini = teardown);

static int failing_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                        size_t len, chio_output *out)
{
    (void)user;
    (void)ctx;
    (void)tool;
    (void)args;
    (void)len;
    (void)out;
    __atomic_add_fetch(&ran, 1, __ATOMIC_SEQ_CST);
    return -1;
}

static int counting_tool(void *user, chio_tool_ctx *ctx, const char *tool, const char *args,
                         size_t len, chio_output *out)
{
    (void)user;
    (void)ctx;
    (void)tool;
    __atomic_add_fetch(&ran, 1, __ATOMIC_SEQ_CST);
    return chio_output_set_json(out, args, len);
}

static chio_kernel *tool_kernel(kt_tool_fn fn)
{
    chio_kernel_config cfg;
    chio_kernel *k;

    kt_config(&cfg, db);
    cfg.max_delegation_depth = 4;
    cfg.clock = clock_now;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    k = kt_kernel(&cfg);
    kt_serve_t(k, "srv", 0, fn);
    return k;
}

static uint64_t moving_now; /* the clock of moving_kernel() */

/* tool_kernel(counting_tool) on the clock moving_now. */
static chio_kernel *moving_kernel(void)
{
    chio_kernel_config cfg;
    chio_kernel *k;

    kt_config(&cfg, db);
    cfg.clock = kt_clock_at;
    cfg.clock_ctx = &moving_now;
    cfg.durability = CHIO_DURABILITY_NOSYNC;
    cfg.log_level = CHIO_LOG_ERROR;
    k = kt_kernel(&cfg);
    kt_serve_t(k, "srv", 0, counting_tool);
    return k;
}

static void open_tok(chio_kernel *k, const char *tok, char sid[CHIO_SESSION_ID_LEN + 1])
{
    const char *caps[1] = {tok};
    chio_error err;

    chio_error_init(&err);
    cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, caps, NULL, 1, sid, &err), 0, "%s",
                 err.message);
}

/* One call of srv/t; its code, asserting a receipt whose verdict agrees. */
static chio_code call_t(chio_kernel *k, const char *sid, const char *id)
{
    chio_response r;
    chio_error err;
    chio_call c;
    chio_code code;

    kt_grant_call(&c, sid, id, "{\"x\":1}", 7);
    chio_response_init(&r);
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_evaluate(k, &c, &r, &err), 0, "%s", err.message);
    cr_assert_not_null(r.receipt, "a decision without a receipt");
    code = r.code;
    if (code == CHIO_CODE_NONE)
        cr_assert_eq(r.verdict, CHIO_VERDICT_ALLOW);
    else
        cr_assert_eq(r.verdict, CHIO_VERDICT_DENY);
    chio_response_destroy(&r);
    return code;
}

/* A failing tool keeps the charge: two tool_error receipts spend a budget
 * of two, and a restart does not refund them. */
Test(rev44_budget, a_charge_a_failing_tool_took_stays_spent_across_a_restart)
{
    const char *scope = "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"t\","
                        "\"operations\":[\"invoke\"],\"max_invocations\":2}]}";
    char *tok = tk_token(TK_KERNEL_SEED, "cap-fail", TK_AGENT_PUB, scope, IAT, 1000, NULL, 0);
    char sid[CHIO_SESSION_ID_LEN + 1];
    chio_kernel *k = tool_kernel(failing_tool);

    cr_assert_not_null(tok);
    open_tok(k, tok, sid);
    cr_assert_eq(call_t(k, sid, "cap-fail"), CHIO_CODE_TOOL_ERROR);
    cr_assert_eq(call_t(k, sid, "cap-fail"), CHIO_CODE_TOOL_ERROR);
    cr_assert_eq(call_t(k, sid, "cap-fail"), CHIO_CODE_BUDGET_EXHAUSTED);
    chio_kernel_free(k);
    k = tool_kernel(counting_tool);
    open_tok(k, tok, sid);
    cr_assert_eq(call_t(k, sid, "cap-fail"), CHIO_CODE_BUDGET_EXHAUSTED);
    cr_assert_eq(__atomic_load_n(&ran, __ATOMIC_SEQ_CST), 2);
    chio_kernel_free(k);
    free(tok);
}

typedef struct racer {
    chio_kernel *k;
    const char *sid;
    int allow, exhausted, other;
} racer;

static void *race_one(void *arg)
{
    racer *r = arg;
    chio_code c = call_t(r->k, r->sid, "cap-two");

    if (c == CHIO_CODE_NONE)
        r->allow++;
    else if (c == CHIO_CODE_BUDGET_EXHAUSTED)
        r->exhausted++;
    else
        r->other++;
    return NULL;
}

static int race(chio_kernel *k, const char *s1, const char *s2, int n)
{
    pthread_t th[16];
    racer rs[16];
    int i, allow = 0;

    for (i = 0; i < n; i++) {
        memset(&rs[i], 0, sizeof(rs[i]));
        rs[i].k = k;
        rs[i].sid = i % 2 ? s1 : s2;
        cr_assert_eq(pthread_create(&th[i], NULL, race_one, &rs[i]), 0);
    }
    for (i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
        allow += rs[i].allow;
        cr_assert_eq(rs[i].other, 0);
    }
    return allow;
}

/* A token with two grants allowing the call (3 and 2 invocations), held by
 * two sessions, raced by 16 threads, then again after a restart: 5 allows
 * and 5 dispatches in all. */
Test(rev44_budget, two_grants_two_sessions_and_a_restart_never_overspend)
{
    const char *scope = "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"t\","
                        "\"operations\":[\"invoke\"],\"max_invocations\":3},"
                        "{\"server_id\":\"*\",\"tool_name\":\"*\","
                        "\"operations\":[\"invoke\"],\"max_invocations\":2}]}";
    char *tok = tk_token(TK_KERNEL_SEED, "cap-two", TK_AGENT_PUB, scope, IAT, 1000, NULL, 0);
    char s1[CHIO_SESSION_ID_LEN + 1], s2[CHIO_SESSION_ID_LEN + 1];
    chio_kernel *k = tool_kernel(counting_tool);
    int allow;

    cr_assert_not_null(tok);
    open_tok(k, tok, s1);
    open_tok(k, tok, s2);
    call_t(k, s1, "cap-two");
    allow = 1 + race(k, s1, s2, 4);
    chio_kernel_free(k); /* drains */
    k = tool_kernel(counting_tool);
    open_tok(k, tok, s1);
    open_tok(k, tok, s2);
    allow += race(k, s1, s2, 16);
    cr_assert_eq(allow, 5);
    cr_assert_eq(__atomic_load_n(&ran, __ATOMIC_SEQ_CST), 5);
    chio_kernel_free(k);
    free(tok);
}

/* A delegated token whose ancestor is revoked after one of its three
 * charges: denied capability_revoked with a receipt, before and after a
 * restart, and its tool never runs again; the revocation is exact bytes
 * (another spelling revokes nothing else). */
Test(rev44_budget, a_revoked_ancestor_of_a_budgeted_token_stays_revoked_after_restart)
{
    const char *scope = "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"t\","
                        "\"operations\":[\"invoke\"],\"max_invocations\":3}]}";
    char agent[65], *tok, sid[CHIO_SESSION_ID_LEN + 1];
    chio_kernel *k = tool_kernel(counting_tool);
    chio_error err;
    tk_link l;

    tk_pub(TK_AGENT_SEED, agent);
    l = (tk_link){"cap-parent", TK_OTHER_SEED, agent, IAT, NULL};
    tok = tk_token(TK_KERNEL_SEED, "cap-child", TK_AGENT_PUB, scope, IAT, 1000, &l, 1);
    cr_assert_not_null(tok);
    open_tok(k, tok, sid);
    cr_assert_eq(call_t(k, sid, "cap-child"), CHIO_CODE_NONE);
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_revoke_capability(k, "CAP-PARENT", &err), 0, "%s", err.message);
    cr_assert_eq(call_t(k, sid, "cap-child"), CHIO_CODE_NONE);
    cr_assert_eq(chio_kernel_revoke_capability(k, "cap-parent", &err), 0, "%s", err.message);
    cr_assert_eq(call_t(k, sid, "cap-child"), CHIO_CODE_CAPABILITY_REVOKED);
    cr_assert_eq(chio_kernel_drain(k, NULL), 0);
    cr_assert_eq(chio_kernel_revoke_capability(k, "cap-other", &err), CHIO_EDRAINED);
    chio_kernel_free(k);
    k = tool_kernel(counting_tool);
    cr_assert_eq(chio_kernel_is_revoked(k, "cap-parent"), 1);
    cr_assert_eq(chio_kernel_is_revoked(k, "cap-other"), 0);
    open_tok(k, tok, sid);
    cr_assert_eq(call_t(k, sid, "cap-child"), CHIO_CODE_CAPABILITY_REVOKED);
    cr_assert_eq(__atomic_load_n(&ran, __ATOMIC_SEQ_CST), 2);
    chio_kernel_free(k);
    free(tok);
}

/* Renewal: token B re-issues the id of token A with a later expiry. While
 * A's charges have spent the budget, B is refused budget_exhausted (the
 * budget is the id's), and a running kernel keeps that budget (and so
 * refuses B) until B expires. A restart once A has expired must do the
 * same: before the fix the refusal raised the budget's expiry in memory
 * only, the stored row kept A's, the start dropped it as expired and B
 * found a fresh budget (two more dispatches of a spent budget). */
Test(rev44_budget, a_renewal_refused_on_a_spent_budget_stays_refused_after_a_restart)
{
    const char *scope = "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"t\","
                        "\"operations\":[\"invoke\"],\"max_invocations\":2}]}";
    char *a = tk_token(TK_KERNEL_SEED, "cap-renew", TK_AGENT_PUB, scope, IAT, 1000, NULL, 0);
    char *b = tk_token(TK_KERNEL_SEED, "cap-renew", TK_AGENT_PUB, scope, IAT, 5000, NULL, 0);
    char sa[CHIO_SESSION_ID_LEN + 1], sb[CHIO_SESSION_ID_LEN + 1];
    chio_kernel *k;

    cr_assert_not_null(a);
    cr_assert_not_null(b);
    moving_now = NOW;
    k = moving_kernel();
    open_tok(k, a, sa);
    open_tok(k, b, sb);
    cr_assert_eq(call_t(k, sa, "cap-renew"), CHIO_CODE_NONE);
    cr_assert_eq(call_t(k, sa, "cap-renew"), CHIO_CODE_NONE);
    cr_assert_eq(call_t(k, sb, "cap-renew"), CHIO_CODE_BUDGET_EXHAUSTED);
    moving_now = IAT + 1000; /* A expired, B valid */
    cr_assert_eq(call_t(k, sa, "cap-renew"), CHIO_CODE_CAPABILITY_EXPIRED);
    cr_assert_eq(call_t(k, sb, "cap-renew"), CHIO_CODE_BUDGET_EXHAUSTED);
    chio_kernel_free(k);
    k = moving_kernel();
    open_tok(k, b, sb);
    cr_assert_eq(call_t(k, sb, "cap-renew"), CHIO_CODE_BUDGET_EXHAUSTED,
                 "a restart refilled a budget the running kernel refused");
    cr_assert_eq(call_t(k, sb, "cap-renew"), CHIO_CODE_BUDGET_EXHAUSTED);
    cr_assert_eq(__atomic_load_n(&ran, __ATOMIC_SEQ_CST), 2);
    chio_kernel_free(k);
    free(a);
    free(b);
}
