/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/kernel/test_rev62_attenuation.c - review 22 caps L1: a delegation
 * link's reduce_budget (and reduce_total_cost) was compared with each
 * grant of the token on its own, so a token with two grants of srv/read,
 * each with max_invocations 1, under a link limiting srv/read to 1 was
 * allowed 2 calls (the kernel charges a call to any matching grant, one
 * after another: docs/spec-reading.md, "Several grants allowing one
 * call"). Now every grant covering the attenuation's target (its
 * server_id and tool_name "*" or the target's) counts: the sum of their
 * limits above the link's contradicts the link (delegation_invalid on
 * every call), as a covering grant with no limit or a larger one already
 * did. The sum is compared before it is added to, so it cannot wrap.
 *
 * Real kernel and Ed25519; every decision is checked against its receipt
 * (kt_call_read).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chio/chio.h"
#include "common/testutil.h"
#include "kernel/kernelutil.h"
#include "kernel/tokens.h"

#define IAT 1710000000u
#define TTL 1000u

static uint64_t now_v = IAT + 300;

#define GRANT(server, tool, extra) \
    "{\"server_id\":\"" server "\",\"tool_name\":\"" tool "\",\"operations\":[\"invoke\"]" extra "}"
#define READ(extra)  GRANT("srv", "read", extra)
#define BUDGET(n)    ",\"max_invocations\":" #n
#define TOTAL(units) ",\"max_total_cost\":{\"units\":" #units ",\"currency\":\"USD\"}"
#define REDUCE(n)                                                                      \
    "[{\"type\":\"reduce_budget\",\"server_id\":\"srv\",\"tool_name\":\"read\",\"max_" \
    "invocations\":" #n "}]"
#define REDUCE_TOTAL(units)                                                          \
    "[{\"type\":\"reduce_total_cost\",\"server_id\":\"srv\",\"tool_name\":\"read\"," \
    "\"max_total_cost\":{\"units\":" #units ",\"currency\":\"USD\"}}]"

#define NONE    CHIO_CODE_NONE
#define EXHAUST CHIO_CODE_BUDGET_EXHAUSTED
#define DELEG   CHIO_CODE_DELEGATION_INVALID
#define UNSUP   CHIO_CODE_UNSUPPORTED_GRANT

typedef struct sum_row {
    const char *name;
    const char *grants; /* the inside of the grants array */
    const char *att;    /* the link's attenuations */
    const char *why;    /* in chio_capability_contradicts_chain()'s text; NULL: none */
    int ncalls;
    chio_code calls[4]; /* the codes of successive calls of srv/read with {} */
} sum_row;

static const sum_row rows[] = {
    {"two grants of 1 under a link of 1 (the finding)",
     READ(BUDGET(1)) "," READ(BUDGET(1)),
     REDUCE(1),
     "reduce_budget: the grants of the token covering srv/read together have a larger "
     "invocation budget than the link allows (over 1 at grant 1)",
     2,
     {DELEG, DELEG}},
    {"one grant within the link", READ(BUDGET(1)), REDUCE(1), NULL, 2, {NONE, EXHAUST}},
    {"two grants summing to the link",
     READ(BUDGET(1)) "," READ(BUDGET(1)),
     REDUCE(2),
     NULL,
     3,
     {NONE, NONE, EXHAUST}},
    {"two grants summing under the link",
     READ(BUDGET(1)) "," READ(BUDGET(2)),
     REDUCE(5),
     NULL,
     4,
     {NONE, NONE, NONE, EXHAUST}},
    {"a srv/* grant covers the target and counts",
     GRANT("srv", "*", BUDGET(1)) "," READ(BUDGET(1)),
     REDUCE(1),
     "over 1 at grant 1",
     1,
     {DELEG}},
    {"a */* grant covers the target and counts",
     READ(BUDGET(1)) "," GRANT("*", "*", BUDGET(1)),
     REDUCE(1),
     "covering srv/read together",
     1,
     {DELEG}},
    {"a srv/* grant and a srv/read grant summing to the link",
     GRANT("srv", "*", BUDGET(1)) "," READ(BUDGET(1)),
     REDUCE(2),
     NULL,
     3,
     {NONE, NONE, EXHAUST}},
    {"a grant of another tool does not count",
     GRANT("srv", "other", BUDGET(5)) "," READ(BUDGET(1)),
     REDUCE(1),
     NULL,
     2,
     {NONE, EXHAUST}},
    {"a grant of another server does not count",
     GRANT("srv2", "*", BUDGET(5)) "," READ(BUDGET(1)),
     REDUCE(1),
     NULL,
     2,
     {NONE, EXHAUST}},
    {"a covering grant with no limit beside one within",
     READ(BUDGET(1)) "," GRANT("srv", "*", ""),
     REDUCE(1),
     "grant 1 of the token has a larger invocation budget",
     1,
     {DELEG}},
    /* 4294967295 + 1 wraps to 0 in 32 bits */
    {"u32 overflow of the sum",
     READ(BUDGET(4294967295)) "," GRANT("srv", "*", BUDGET(1)),
     REDUCE(4294967295),
     "over 4294967295 at grant 1",
     1,
     {DELEG}},
    {"two u32 maxima",
     READ(BUDGET(4294967295)) "," READ(BUDGET(4294967295)),
     REDUCE(4294967295),
     "over 4294967295 at grant 1",
     1,
     {DELEG}},
    /* reduce_total_cost: a cost cap within the link passes check 4 and
     * check 6 then refuses the cap it does not enforce (unsupported_grant);
     * caps that add up to more are delegation_invalid (check 4) */
    {"total cost caps summing over the link",
     READ(TOTAL(6)) "," READ(TOTAL(5)),
     REDUCE_TOTAL(10),
     "reduce_total_cost: the grants of the token covering srv/read together have a larger total "
     "cost cap than the link allows (over 10 units at grant 1)",
     1,
     {DELEG}},
    {"total cost caps summing to the link",
     READ(TOTAL(5)) "," READ(TOTAL(5)),
     REDUCE_TOTAL(10),
     NULL,
     1,
     {UNSUP}},
    /* 18446744073709551615 + 1 wraps to 0 in 64 bits */
    {"u64 overflow of the cost sum",
     READ(TOTAL(18446744073709551615)) "," GRANT("*", "read", TOTAL(1)),
     REDUCE_TOTAL(18446744073709551615),
     "over 18446744073709551615 units at grant 1",
     1,
     {DELEG}},
};

Test(rev62_attenuation, covering_grants_count_together_against_a_links_budget)
{
    chio_kernel *k = kt_read_kernel(NULL, &now_v, 4);

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char id[32], sid[CHIO_SESSION_ID_LEN + 1], scope[1024], why[400] = "x";
        chio_capability *cap = NULL;
        long link = -2;
        char *tok;
        int rc;

        snprintf(id, sizeof(id), "cap-sum-%zu", i);
        snprintf(scope, sizeof(scope), "{\"grants\":[%s]}", rows[i].grants);
        tok = tk_attenuated(id, scope, IAT, TTL, rows[i].att);
        cr_assert_not_null(tok, "row %zu", i);
        cr_assert_eq(chio_capability_parse(tok, strlen(tok), &cap, NULL), 0, "row %zu", i);
        rc = chio_capability_contradicts_chain(cap, &link, why, sizeof(why));
        if (rows[i].why != NULL) {
            cr_expect_eq(rc, 1, "row %zu (%s): no contradiction found", i, rows[i].name);
            cr_expect_eq(link, 0, "row %zu", i);
            cr_expect_not_null(strstr(why, "delegation link 0, attenuation 0: "), "row %zu: %s", i,
                               why);
            cr_expect_not_null(strstr(why, rows[i].why), "row %zu (%s): '%s' not in '%s'", i,
                               rows[i].name, rows[i].why, why);
        } else {
            cr_expect_eq(rc, 0, "row %zu (%s): %s", i, rows[i].name, why);
            cr_expect_eq(link, -1, "row %zu", i);
        }
        chio_capability_free(cap);
        kt_open1(k, tok, sid);
        for (int c = 0; c < rows[i].ncalls; c++) {
            chio_code got = kt_call_read(k, sid, id);

            cr_expect_eq(got, rows[i].calls[c], "row %zu (%s), call %d: %s, not %s", i,
                         rows[i].name, c, chio_code_name(got), chio_code_name(rows[i].calls[c]));
        }
        free(tok);
    }
    chio_kernel_free(k);
}

/* The deny receipt's reason names the link, the attenuation and where the
 * sum passed the link's limit. */
Test(rev62_attenuation, the_deny_reason_says_the_grants_add_up_to_more)
{
    char sid[CHIO_SESSION_ID_LEN + 1], *tok;
    chio_kernel *k = kt_read_kernel(NULL, &now_v, 4);
    chio_response r;
    chio_error err;
    chio_call c;

    tok = tk_attenuated("cap-sum-reason", "{\"grants\":[" READ(BUDGET(1)) "," READ(BUDGET(1)) "]}",
                        IAT, TTL, REDUCE(1));
    cr_assert_not_null(tok);
    kt_open1(k, tok, sid);
    kt_call_init(&c, sid, "cap-sum-reason", "read", "{}");
    chio_response_init(&r);
    chio_error_init(&err);
    cr_assert_eq(chio_kernel_evaluate(k, &c, &r, &err), 0, "%s", err.message);
    cr_assert_not_null(r.receipt);
    cr_expect_eq(r.verdict, CHIO_VERDICT_DENY);
    cr_expect_eq(r.code, CHIO_CODE_DELEGATION_INVALID, "%s", chio_code_name(r.code));
    cr_expect_not_null(strstr(r.reason, "delegation link 0, attenuation 0: reduce_budget: the "
                                        "grants of the token covering srv/read together"),
                       "%s", r.reason);
    chio_response_destroy(&r);
    free(tok);
    chio_kernel_free(k);
}
