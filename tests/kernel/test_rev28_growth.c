/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev28_growth.c - review 28, a long-running host must
 * not grow: the budgets of expired capabilities are dropped as fast as a
 * host creates them, also when it creates more per sweep period than one
 * sweep may drop (the sweep then comes back soon, not a period later);
 * the regex_match pattern cache is bounded in bytes, not only in
 * patterns; and the metrics show what the kernel's tables hold (a session
 * the host never closes stays). Also review 48's case of the sweep: a
 * clock that ran ahead once (a misset wall clock corrected by NTP, a
 * restored VM) scheduled the next sweep that far ahead, and the budgets
 * of expired capabilities piled up until it caught up again. A real
 * kernel on RocksDB with a test clock moved by hand.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "kernel/tokens.h"
#include "kernel_internal.h"
#include "regex_nfa.h"

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

TestSuite(rev28_growth, .init = setup, .fini = teardown);
TestSuite(rev48_bounds, .init = setup, .fini = teardown);

/* A token of @k's own key for the echo tool, valid from now for @ttl
 * seconds, with a budget of 5 invocations. */
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
 * 40 new budgeted tokens a second, each valid for 2 s, over 150 s of
 * kernel time; one sweep may drop 128 budgets (the bound lowered from
 * 65,536 to keep the test small, as the creation rate is: the real one
 * would take over 1,100 a second). The first sweep with something to drop
 * comes a period (60 s) in, and finds 2,400 budgets; the ones after it
 * each drop 128 a second until none is left behind, and then the period
 * starts again: the table never holds more than a period's budgets and
 * the live ones. With the old schedule (one sweep per period, each dropping at
 * most its bound) nearly every budget ever created stayed (about 5,700
 * here), and the table grew with every one created.
 */
/* @per_sec budgeted tokens a second, each valid for @ttl seconds and
 * used once, over @secs seconds of kernel time; the budgets table must
 * never hold more than a sweep period's budgets and the live ones (live:
 * created in the last @ttl seconds; expired ones wait at most a sweep
 * period, amortised, never longer). */
static void budgets_stay_bounded(chio_kernel *k, uint64_t per_sec, uint64_t secs, uint64_t ttl)
{
    uint64_t s, i;
    size_t n, most = 0;
    char id[64], *tok;

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
}

Test(rev28_growth, budgets_created_faster_than_one_sweep_drops_do_not_pile_up)
{
    static const char *const tools[] = {"read"};
    chio_kernel *k = kt_echo_kernel(db, test_clock, "srv", tools, 1);

    k->med.sweep_min_rows = 16; /* before any call */
    k->med.sweep_max_budgets = 128;
    budgets_stay_bounded(k, 40, 150, 2);
    chio_kernel_free(k);
}

/*
 * Review 48: the clock reads a year ahead while the host closes one
 * session (the close runs the sweep's schedule), then comes back.
 * Afterwards the host makes 20 budgeted tokens a second, each valid for
 * 2 s, over 150 s of kernel time, and the table must stay as bounded as
 * with a clock that never jumped (the test above). Before review 48 the
 * sweep after the jump was due a year ahead, so no budget was dropped
 * again: all 3,000 stayed, and the table grew with every token for as
 * long as the clock took to catch up.
 */
Test(rev48_bounds, a_clock_that_ran_ahead_once_does_not_stop_the_budget_sweep)
{
    static const char *const tools[] = {"read"};
    chio_kernel *k = kt_echo_kernel(db, test_clock, "srv", tools, 1);
    char sid[CHIO_SESSION_ID_LEN + 1];
    chio_error err;

    k->med.sweep_min_rows = 16; /* before any call */
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, NULL, NULL, 0, sid, &err), 0, "%s",
                 err.message);
    __atomic_store_n(&g_now, START + YEAR, __ATOMIC_RELAXED);
    cr_assert_eq(chio_kernel_close_session(k, sid, &err), 0, "%s", err.message);
    __atomic_store_n(&g_now, START, __ATOMIC_RELAXED);
    budgets_stay_bounded(k, 20, 150, 2);
    chio_kernel_free(k);
}

/* ---- the pattern cache ---------------------------------------------------------------------- */

static void add_bytes(void *ctx, const void *key, size_t klen, void *value)
{
    const chio__regex *r = value;

    (void)key;
    *(size_t *)ctx += klen + (r->nfa != NULL ? chio__nfa_bytes(r->nfa) : 0);
}

/* One call of @cap (a token whose grant has a regex_match constraint)
 * with arguments @args: 0 and the verdict in *@verdict. */
static void call_args(chio_kernel *k, const char *sid, const char *cap, const char *args,
                      chio_verdict *verdict)
{
    chio_response r;
    chio_error err;
    chio_call c;

    kt_call_init(&c, sid, cap, "read", args);
    chio_error_init(&err);
    chio_response_init(&r);
    cr_assert_eq(chio_kernel_evaluate(k, &c, &r, &err), 0, "%s", err.message);
    *verdict = r.verdict;
    chio_response_destroy(&r);
}

/*
 * 400 tokens, each with its own regex_match pattern of the largest
 * automaton a pattern may build (about 190 KiB: "[a-z]{0,8000}"). The
 * cache was bounded by count alone (4096 patterns, some 780 MiB of these):
 * it held all 400, about 76 MiB. Now it also stays under its byte bound,
 * and every pattern still matches, evicted ones compiled again.
 */
Test(rev28_growth, the_pattern_cache_is_bounded_in_bytes)
{
    static const char *const tools[] = {"read"};
    chio_kernel *k = kt_echo_kernel(db, test_clock, "srv", tools, 1);
    enum { NPAT = 400 };
    char **toks = calloc(NPAT, sizeof(*toks)), sid[CHIO_SESSION_ID_LEN + 1], id[32], scope[256];
    chio_capability *cap;
    chio_verdict v;
    chio_error err;
    size_t i, len, bytes = 0;
    int round;

    cr_assert_not_null(toks);
    chio_error_init(&err);
    for (i = 0; i < NPAT; i++) {
        snprintf(id, sizeof(id), "cap-%zu", i);
        snprintf(scope, sizeof(scope),
                 "{\"grants\":[{\"server_id\":\"srv\",\"tool_name\":\"read\",\"operations\":"
                 "[\"invoke\"],\"constraints\":[{\"type\":\"regex_match\",\"value\":"
                 "\"^p%zu-[a-z]{0,8000}$\"}]}]}",
                 i);
        cr_assert_eq(chio_kernel_issue_capability(k, id, TK_AGENT_PUB, scope, strlen(scope), g_now,
                                                  3600, &cap, &err),
                     0, "%s", err.message);
        toks[i] = strdup(chio_capability_json(cap, &len));
        chio_capability_free(cap);
    }
    cr_assert_eq(
        chio_kernel_open_session(k, TK_AGENT_PUB, (const char *const *)toks, NULL, NPAT, sid, &err),
        0, "%s", err.message);
    for (round = 0; round < 2; round++)
        for (i = 0; i < NPAT; i++) {
            char args[64];
            snprintf(id, sizeof(id), "cap-%zu", i);
            snprintf(args, sizeof(args), "{\"path\":\"p%zu-abc\"}", i);
            call_args(k, sid, id, args, &v);
            cr_assert_eq(v, CHIO_VERDICT_ALLOW, "pattern %zu, round %d", i, round);
            call_args(k, sid, id, "{\"path\":\"p-ABC\"}", &v);
            cr_assert_eq(v, CHIO_VERDICT_DENY, "pattern %zu, round %d", i, round);
        }
    chio__shmap_each(&k->med.regexes, add_bytes, &bytes);
    cr_expect_leq(bytes, CHIO__REGEX_CACHE_BYTES,
                  "the pattern cache holds %zu bytes of patterns and automata (%zu entries)", bytes,
                  chio__shmap_count(&k->med.regexes));
    for (i = 0; i < NPAT; i++)
        free(toks[i]);
    free(toks);
    chio_kernel_free(k);
}

/* ---- what a host can watch ------------------------------------------------------------------ */

/* The value of the sample @name in Prometheus text @text (fails when absent). */
static unsigned long long sample(const char *text, const char *name)
{
    char want[64];
    const char *p;

    snprintf(want, sizeof(want), "\n%s ", name);
    p = strstr(text, want);
    cr_assert_not_null(p, "no sample %s in:\n%s", name, text);
    return strtoull(p + strlen(want), NULL, 10);
}

/*
 * A session stays until the host closes it (the library sets no limit),
 * so a host that forgets to close them grows: the metrics show the open
 * sessions, the revocations and the budgets the kernel holds, and they
 * go down again when sessions close.
 */
Test(rev28_growth, the_metrics_show_what_the_tables_hold)
{
    static const char *const tools[] = {"read"};
    chio_kernel *k = kt_echo_kernel(db, test_clock, "srv", tools, 1);
    char sids[5][CHIO_SESSION_ID_LEN + 1], *tok = budget_token(k, "cap-m", 3600), *text;
    const char *caps[1] = {tok};
    chio_error err;
    size_t len;
    int i;

    chio_error_init(&err);
    for (i = 0; i < 5; i++)
        cr_assert_eq(chio_kernel_open_session(k, TK_AGENT_PUB, caps, NULL, 1, sids[i], &err), 0,
                     "%s", err.message);
    call_once(k, tok, "cap-m");
    cr_assert_eq(chio_kernel_revoke_capability(k, "cap-gone", &err), 0, "%s", err.message);
    cr_assert_eq(chio_kernel_metrics_prometheus(k, &text, &len), 0);
    cr_expect_eq(sample(text, "chio_sessions_open"), 5);
    cr_expect_eq(sample(text, "chio_revocations"), 1);
    cr_expect_eq(sample(text, "chio_budgets"), 1);
    chio_free(text);
    for (i = 0; i < 3; i++)
        cr_assert_eq(chio_kernel_close_session(k, sids[i], &err), 0, "%s", err.message);
    cr_assert_eq(chio_kernel_metrics_prometheus(k, &text, &len), 0);
    cr_expect_eq(sample(text, "chio_sessions_open"), 2);
    chio_free(text);
    free(tok);
    chio_kernel_free(k);
}
