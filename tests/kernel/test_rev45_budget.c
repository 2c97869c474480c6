/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev45_budget.c - the budget sweep and tokens of one id
 * held by open sessions (review 45, budget_held.c):
 *
 *   a_held_renewal_keeps_the_budget_its_predecessor_spent
 *       tokens A (expiring first) and B (later) of one id and grant,
 *       max_invocations 1, each in a session; A charges the budget, then
 *       expires and the sweep runs: it dropped the budget (its expiry was
 *       A's alone) and B's first call found a fresh one, so the grant ran
 *       twice. Now the budget stays while B is held, B is refused, and the
 *       budget and the held entry go once both sessions are closed.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "kernel/tokens.h"
#include "kernel_internal.h"

#define IAT 1710000000u

static uint64_t g_now;
static char *dir, *db;

static void setup(void)
{
    g_now = IAT + 300;
    dir = testutil_tmpdir();
    cr_assert_geq(asprintf(&db, "%s/db", dir), 0);
}

static void teardown(void)
{
    testutil_rmrf(dir);
    free(dir);
    free(db);
}

TestSuite(rev45_budget, .init = setup, .fini = teardown);

/* A token of @id for srv/read with max_invocations 1, valid for @ttl s. */
static char *token(const char *id, uint64_t ttl)
{
    char *t = tk_token(TK_KERNEL_SEED, id, TK_AGENT_PUB,
                       "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"read\","
                       "\"operations\":[\"invoke\"],\"max_invocations\":1}]}",
                       IAT, ttl, NULL, 0);

    cr_assert_not_null(t);
    return t;
}

/* The code of one call of srv/read under @cap in @sid (a receipt each). */
static chio_code code_of(chio_kernel *k, const char *sid, const char *cap)
{
    chio_call c;
    chio_response r;
    chio_error err;
    chio_code code;

    kt_call_init(&c, sid, cap, "read", "{}");
    chio_error_init(&err);
    chio_response_init(&r);
    cr_assert_eq(chio_kernel_evaluate(k, &c, &r, &err), 0, "%s", err.message);
    cr_assert_not_null(r.receipt);
    code = r.code;
    chio_response_destroy(&r);
    return code;
}

Test(rev45_budget, a_held_renewal_keeps_the_budget_its_predecessor_spent)
{
    chio_kernel *k = kt_read_kernel(db, &g_now, CHIO_DEFAULT_MAX_DELEGATION_DEPTH);
    char *a = token("cap-x", 1000), *b = token("cap-x", 5000), *c = token("cap-x", 9000);
    char sa[CHIO_SESSION_ID_LEN + 1], sb[CHIO_SESSION_ID_LEN + 1], sc[CHIO_SESSION_ID_LEN + 1];

    kt_open1(k, a, sa);
    kt_open1(k, b, sb); /* held before A charges */
    cr_expect_eq(code_of(k, sa, "cap-x"), CHIO_CODE_NONE);
    cr_expect_eq(chio__shmap_count(&k->med.budgets), 1);

    g_now = IAT + 1000; /* A expired; B valid until IAT + 5000 */
    cr_expect_eq(chio__reclaim_sweep(k, g_now, 1), 0, "B is held: the budget stays");
    cr_expect_eq(chio__shmap_count(&k->med.budgets), 1);
    cr_expect_eq(code_of(k, sa, "cap-x"), CHIO_CODE_CAPABILITY_EXPIRED);
    cr_expect_eq(code_of(k, sb, "cap-x"), CHIO_CODE_BUDGET_EXHAUSTED,
                 "the grant ran once under this id: B may not run it again");

    /* Bounded: with neither held, the expired budget and the entries go. */
    cr_assert_eq(chio_kernel_close_session(k, sa, NULL), 0);
    cr_expect_eq(chio__shmap_count(&k->med.held), 1, "B's session still holds the id");
    cr_assert_eq(chio_kernel_close_session(k, sb, NULL), 0);
    cr_expect_eq(chio__shmap_count(&k->med.held), 0);
    /* B's refusal raised the budget's expiry to B's (review 44): it goes
     * once B has expired too. */
    cr_expect_eq(chio__reclaim_sweep(k, g_now, 1), 0);
    g_now = IAT + 5000;
    cr_expect_eq(chio__reclaim_sweep(k, g_now, 1), 1);
    cr_expect_eq(chio__shmap_count(&k->med.budgets), 0);

    /* A token presented after the sweep starts afresh (the documented
     * reclaiming; docs/spec-reading.md, "Budgets of an id used again"). */
    kt_open1(k, c, sc);
    cr_expect_eq(code_of(k, sc, "cap-x"), CHIO_CODE_NONE);
    chio_kernel_free(k);
    free(a);
    free(b);
    free(c);
}

Test(rev45_budget, a_session_that_failed_to_open_holds_nothing)
{
    chio_kernel *k = kt_read_kernel(db, &g_now, CHIO_DEFAULT_MAX_DELEGATION_DEPTH);
    char *a = token("cap-y", 1000), *b = token("cap-y", 5000);
    const char *both[2];
    char sid[CHIO_SESSION_ID_LEN + 1];

    both[0] = a;
    both[1] = b; /* one id, other bytes: refused */
    cr_expect_eq(chio_kernel_open_session(k, TK_AGENT_PUB, both, NULL, 2, sid, NULL),
                 CHIO_EDUPLICATE);
    cr_expect_eq(chio__shmap_count(&k->med.held), 0);
    kt_open1(k, a, sid);
    cr_expect_eq(chio__shmap_count(&k->med.held), 1);
    cr_assert_eq(chio_kernel_close_session(k, sid, NULL), 0);
    cr_expect_eq(chio__shmap_count(&k->med.held), 0);
    chio_kernel_free(k);
    free(a);
    free(b);
}
