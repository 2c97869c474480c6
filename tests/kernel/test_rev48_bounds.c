/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev48_bounds.c - review 48, a long-running host must
 * not grow, whatever its clock does: the amortised sweep of expired
 * budgets is scheduled on the kernel clock, and a clock that ran ahead
 * once (a misset wall clock corrected by NTP, a restored VM, a test
 * clock) scheduled the next sweep that far ahead; after the clock came
 * back no sweep ran until it caught up again (a year later for a clock a
 * year ahead), and the budgets of expired capabilities piled up for good.
 * A real kernel on RocksDB with a test clock moved by hand.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "kernel/tokens.h"
#include "kernel_internal.h"

#define START 1710000000u
#define YEAR  (365u * 24u * 3600u)

static uint64_t g_now = START;
static char *dir, *db;

static uint64_t test_clock(void *ctx)
{
    (void)ctx;
    return __atomic_load_n(&g_now, __ATOMIC_RELAXED);
}

static void setup(void)
{
    g_now = START;
    dir = testutil_tmpdir();
    cr_assert_geq(asprintf(&db, "%s/db", dir), 0);
}

static void teardown(void)
{
    testutil_rmrf(dir);
    free(dir);
    free(db);
}

TestSuite(rev48_bounds, .init = setup, .fini = teardown);

/* A token of @k's own key for srv/read, valid from now for @ttl seconds,
 * with a budget of 5 invocations. */
static char *budget_token(chio_kernel *k, const char *id, uint64_t ttl)
{
    static const char scope[] = "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"read\","
                                "\"operations\":[\"invoke\"],\"max_invocations\":5}]}";
    chio_capability *cap;
    chio_error err;
    size_t len;
    char *json;

    chio_error_init(&err);
    cr_assert_eq(chio_kernel_issue_capability(k, id, TK_AGENT_PUB, scope, strlen(scope), g_now, ttl,
                                              &cap, &err),
                 0, "%s", err.message);
    json = strdup(chio_capability_json(cap, &len));
    chio_capability_free(cap);
    cr_assert_not_null(json);
    return json;
}

/* One allowed call of @cap in a session of its own, closed after. */
static void call_once(chio_kernel *k, const char *token, const char *cap)
{
    const char *caps[1] = {token};
    char sid[CHIO_SESSION_ID_LEN + 1];
    chio_response r;
    chio_error err;
    chio_call c;

    chio_error_init(&err);
    cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, caps, NULL, 1, sid, &err), 0, "%s",
                 err.message);
    memset(&c, 0, sizeof(c));
    c.session_id = sid;
    c.capability_id = cap;
    c.server_id = "srv";
    c.tool_name = "read";
    chio_response_init(&r);
    cr_assert_eq(chio_kernel_evaluate(k, &c, &r, &err), 0, "%s", err.message);
    cr_assert_eq(r.verdict, CHIO_VERDICT_ALLOW, "%s", r.reason);
    chio_response_destroy(&r);
    cr_assert_eq(chio_kernel_close_session(k, sid, &err), 0, "%s", err.message);
}

/*
 * The clock reads a year ahead while the host closes one session (the
 * close runs the sweep's schedule), then comes back. Afterwards the host
 * makes 20 budgeted tokens a second, each valid for 2 s, over 150 s of
 * kernel time. The table must hold no more than a sweep period's budgets
 * and the live ones, as with a clock that never jumped
 * (rev28_growth::budgets_created_faster_than_one_sweep_drops_do_not_pile_up).
 * Before review 48 the sweep after the jump was due a year ahead, so no
 * budget was dropped again: all 3,000 stayed, and the table grew with
 * every token for as long as the clock took to catch up.
 */
Test(rev48_bounds, a_clock_that_ran_ahead_once_does_not_stop_the_budget_sweep)
{
    static const char *const tools[] = {"read"};
    chio_kernel *k = kt_echo_kernel(db, test_clock, "srv", tools, 1);
    const uint64_t per_sec = 20, secs = 150, ttl = 2;
    char sid[CHIO_SESSION_ID_LEN + 1], id[64], *tok;
    uint64_t s, i;
    size_t n, most = 0;
    chio_error err;

    k->med.sweep_min_rows = 16; /* before any call */
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, NULL, NULL, 0, sid, &err), 0, "%s",
                 err.message);
    __atomic_store_n(&g_now, START + YEAR, __ATOMIC_RELAXED);
    cr_assert_eq(chio_kernel_close_session(k, sid, &err), 0, "%s", err.message);
    __atomic_store_n(&g_now, START, __ATOMIC_RELAXED);
    for (s = 0; s < secs; s++) {
        for (i = 0; i < per_sec; i++) {
            snprintf(id, sizeof(id), "cap-%llu-%llu", (unsigned long long)s, (unsigned long long)i);
            tok = budget_token(k, id, ttl);
            call_once(k, tok, id);
            free(tok);
        }
        n = chio__shmap_count(&k->med.budgets);
        if (n > most)
            most = n;
        __atomic_add_fetch(&g_now, 1, __ATOMIC_RELAXED);
    }
    cr_expect_leq(most, (CHIO__SWEEP_SECS + ttl + 2) * per_sec,
                  "the budgets table reached %zu entries (%llu created, %llu live at most)", most,
                  (unsigned long long)(per_sec * secs), (unsigned long long)(ttl * per_sec));
    chio_kernel_free(k);
}
